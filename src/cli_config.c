/*
 * `hcr config set` and `hcr config edit`: change a cluster's desired
 * configuration with a JSON merge patch under If-Match.
 *
 * Both read the cluster first, for its ETag and its current documents, and
 * send the patch with If-Match. When someone else changed the cluster in
 * between, hcr answers 412 and nothing is written; the CLI says so plainly
 * and does not retry by itself, since the other change may make this one
 * wrong. `config edit` keeps the edited file whenever it sends nothing, so an
 * edit is never lost to a typo or a race.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hcr/cli.h"

#define MAX_EDIT_BYTES ((size_t)16 * 1024 * 1024)

static const char usage[] =
	"usage: hcr config set NAME PATH=VALUE [PATH=VALUE ...]\n"
	"       hcr config edit NAME\n"
	"\n"
	"  set    change fields of the desired configuration:\n"
	"           kubernetesVersion=1.30         a field (kept a string: \"1.30\")\n"
	"           tags.team=payments             one key of a map\n"
	"           nodeGroups[ng-a].desiredSize=5 a field of one node pool\n"
	"           'nodeGroups=[{...}]'           the whole pool list, as JSON\n"
	"           kubernetesVersion=null         hand a field back (hcr stops managing it)\n"
	"           tags.team=null                 remove a tag from the cluster\n"
	"         VALUE is JSON when it parses as JSON, else a string; quote it as\n"
	"         JSON ('tags.n=\"5\"') to force a string\n"
	"  edit   edit the desired configuration as JSON in $VISUAL or $EDITOR (vi);\n"
	"         a field deleted in the editor is handed back, a deleted map key is\n"
	"         removed from the cluster\n"
	"\n"
	"Both send a JSON merge patch with If-Match; if someone else changed the\n"
	"cluster in the meantime, nothing is written and the command says so.\n";

/* The cluster as read before the edit. */
struct cluster {
	hcr_cli_resp resp;
	const char *id, *name;
	long long version;
};

static int load(hcr_cli *cli, const char *name, struct cluster *c)
{
	hcr_buf path = {0};
	hcr_error err;
	int rc;

	memset(c, 0, sizeof(*c));
	hcr_buf_puts(&path, "/v1/clusters/");
	hcr_cli_path_segment(&path, name);
	rc = hcr_cli_request(cli, "GET", path.data, NULL, -1, &c->resp, &err);
	hcr_buf_free(&path);
	if (rc != HCR_OK)
		return hcr_cli_fail(&err);
	c->id = hcr_cli_str(c->resp.json, "id");
	c->name = hcr_cli_str(c->resp.json, "name");
	c->version = c->resp.version;
	if (c->version < 0 && json_is_integer(json_object_get(c->resp.json, "version")))
		c->version = json_integer_value(json_object_get(c->resp.json, "version"));
	if (!c->id || !c->name || c->version < 0) {
		hcr_error_set(&err, HCR_EUPSTREAM, "http",
			      "the answer for cluster \"%s\" has no id, name or version", name);
		return hcr_cli_fail(&err);
	}
	return HCR_CLI_EXIT_OK;
}

/* "  tags.team = "x"" for each leaf of the patch. */
static void list_changes(const json_t *patch, const char *prefix)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)patch, key, v)
	{
		char *path = *prefix ? hcr_sprintf("%s.%s", prefix, key) : hcr_strdup(key);

		if (json_is_object(v) && json_object_size(v)) {
			list_changes(v, path);
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			char *clean_path = hcr_cli_clean(path), *clean = hcr_cli_clean(text);

			printf("  %s = %.200s%s\n", clean_path, clean,
			       strlen(clean) > 200 ? "..." : "");
			free(clean_path);
			free(clean);
			free(text);
		}
		free(path);
	}
}

/*
 * PATCHes the config. `kept` is the file that holds the user's edit (edit) or
 * NULL (set), for the hints.
 */
static int send_patch(hcr_cli *cli, const struct cluster *c, const json_t *patch, const char *kept)
{
	hcr_cli_resp r;
	hcr_buf path = {0};
	hcr_error err;
	int rc, code = HCR_CLI_EXIT_OK;

	hcr_buf_puts(&path, "/v1/clusters/");
	hcr_cli_path_segment(&path, c->id);
	hcr_buf_puts(&path, "/config");
	rc = hcr_cli_request(cli, "PATCH", path.data, patch, c->version, &r, &err);
	if (rc != HCR_OK) {
		if (r.status == 412) {
			char detail[sizeof(err.message)];

			snprintf(detail, sizeof(detail), "%s", err.message);
			hcr_error_set(&err, HCR_ECONFLICT, HCR_ERR_PRECONDITION,
				      "cluster \"%s\" was changed by someone else %s; nothing was "
				      "written",
				      c->name,
				      kept ? "while you were editing" : "since it was read");
			hcr_error_detail(&err, "%s", detail);
			if (kept)
				hcr_error_hint(
					&err,
					"your edit is kept in %s; run \"hcr config edit %s\" "
					"again and reapply it",
					kept, c->name);
			else
				hcr_error_hint(&err,
					       "check the cluster (hcr clusters show %s) and "
					       "run the command again",
					       c->name);
		} else if (kept) {
			hcr_error_hint(&err, "%s%snothing was written; your edit is kept in %s",
				       err.hint, err.hint[0] ? "; " : "", kept);
		}
		code = hcr_cli_fail(&err);
		goto done;
	}
	if (cli->format != HCR_CLI_TABLE) {
		hcr_cli_print_doc(cli->format, r.json, stdout);
		goto done;
	}
	printf("cluster \"%s\" updated to version %lld\n", c->name,
	       r.version >= 0 ? r.version
			      : (long long)json_integer_value(json_object_get(r.json, "version")));
	list_changes(patch, "");
done:
	hcr_cli_resp_free(&r);
	hcr_buf_free(&path);
	return code;
}

/* ---- set --------------------------------------------------------------------------------- */

static int set(hcr_cli *cli, int argc, char **argv)
{
	struct cluster c;
	json_t *patch = NULL;
	const json_t *current, *desired;
	hcr_error err;
	int i, code;

	if (argc < 2)
		return hcr_cli_usage_error(usage, "config set needs a cluster name");
	if (argv[1][0] == '-')
		return hcr_cli_usage_error(usage, "unknown option \"%s\"", argv[1]);
	if (argc < 3)
		return hcr_cli_usage_error(usage, "config set needs at least one PATH=VALUE");
	/* Check the assignments' shapes, and that they agree, before asking the server anything. */
	patch = json_object();
	for (i = 2; i < argc; i++)
		if (hcr_cli_patch_assign(patch, argv[i], NULL, NULL, &err) != HCR_OK) {
			json_decref(patch);
			return hcr_cli_usage_error(usage, "%s", err.message);
		}
	json_decref(patch);
	patch = NULL;
	code = load(cli, argv[1], &c);
	if (code != HCR_CLI_EXIT_OK)
		goto done;
	current = json_object_get(c.resp.json, "effective");
	if (!json_is_object(current))
		current = json_object_get(c.resp.json, "observed");
	desired = json_object_get(c.resp.json, "desired");
	patch = json_object();
	for (i = 2; i < argc; i++)
		if (hcr_cli_patch_assign(patch, argv[i], current, desired, &err) != HCR_OK) {
			code = hcr_cli_usage_error(usage, "%s", err.message);
			goto done;
		}
	code = send_patch(cli, &c, patch, NULL);
done:
	json_decref(patch);
	hcr_cli_resp_free(&c.resp);
	return code;
}

/* ---- edit -------------------------------------------------------------------------------- */

/* Runs the user's editor on `file` the way git does: through the shell, so it may have flags. */
static int run_editor(const char *file, hcr_error *err)
{
	const char *editor = getenv("VISUAL");
	struct sigaction ignore, old_int, old_quit;
	char *script;
	pid_t pid;
	int status = 0;

	if (!editor || !*editor)
		editor = getenv("EDITOR");
	if (!editor || !*editor)
		editor = "vi";
	script = hcr_sprintf("%s \"$1\"", editor);
	fflush(NULL);
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&ignore.sa_mask);
	/* Ctrl-C belongs to the editor while it runs. */
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execl("/bin/sh", "sh", "-c", script, editor, file, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	free(script);
	if (pid < 0)
		return hcr_error_set(err, HCR_ERROR, "editor", "cannot start the editor: %s",
				     strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		hcr_error_set(err, HCR_ERROR, "editor", "the editor \"%s\" %s %d; nothing was sent",
			      editor, WIFEXITED(status) ? "exited with status" : "died of signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		hcr_error_hint(err, "choose an editor with VISUAL or EDITOR");
		return HCR_ERROR;
	}
	return HCR_OK;
}

static int write_file(const char *path, int fd, const char *text, hcr_error *err)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			hcr_error_set(err, HCR_ERROR, "editor", "cannot write \"%s\": %s", path,
				      strerror(errno));
			return HCR_ERROR;
		}
		off += (size_t)n;
	}
	return HCR_OK;
}

static char *read_file(const char *path, size_t *len, hcr_error *err)
{
	FILE *f = fopen(path, "r");
	char *text;

	if (!f) {
		hcr_error_set(err, HCR_ERROR, "editor", "cannot read \"%s\": %s", path,
			      strerror(errno));
		return NULL;
	}
	text = hcr_malloc(MAX_EDIT_BYTES + 1);
	*len = fread(text, 1, MAX_EDIT_BYTES + 1, f);
	fclose(f);
	if (*len > MAX_EDIT_BYTES) {
		free(text);
		hcr_error_set(err, HCR_EINVALID, "editor", "the edited file is larger than %zu MiB",
			      MAX_EDIT_BYTES >> 20);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* Asks "edit again?" when a person is at the terminal; false for scripts. */
static bool again(void)
{
	char answer[16];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return false;
	fprintf(stderr, "edit again? [Y/n] ");
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] != 'n' && answer[0] != 'N';
}

/*
 * Runs the editor until the file holds a JSON object (or the user gives up).
 * Returns the new document (a new reference), or NULL with `*code` set; NULL
 * with HCR_CLI_EXIT_OK means nothing changed.
 */
static json_t *edit_loop(const char *path, const char *original, int *code, bool *keep)
{
	hcr_error err;
	json_error_t jerr;
	json_t *doc = NULL;
	char *text;
	size_t len;

	for (;;) {
		if (run_editor(path, &err) != HCR_OK) {
			*code = hcr_cli_fail(&err);
			return NULL; /* a failed editor is how one cancels (vi's :cq) */
		}
		text = read_file(path, &len, &err);
		if (!text) {
			*keep = true;
			*code = hcr_cli_fail(&err);
			return NULL;
		}
		if (strcmp(text, original) == 0) {
			free(text);
			*code = HCR_CLI_EXIT_OK;
			return NULL;
		}
		doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
		free(text);
		if (json_is_object(doc))
			return doc;
		if (doc)
			hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				      "the edited configuration must be a JSON object");
		else {
			hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID_JSON,
				      "the edited configuration is not valid JSON at line %d, "
				      "column %d",
				      jerr.line, jerr.column);
			hcr_error_detail(&err, "%s", jerr.text);
		}
		json_decref(doc);
		doc = NULL;
		hcr_error_hint(&err, "nothing was sent; your edit is kept in %s", path);
		hcr_cli_print_error(&err);
		if (!again()) {
			*keep = true;
			*code = HCR_CLI_EXIT_FAIL;
			return NULL;
		}
	}
}

static int edit(hcr_cli *cli, int argc, char **argv)
{
	struct cluster c;
	const json_t *desired;
	json_t *empty = NULL, *doc = NULL, *patch = NULL;
	const char *tmp = getenv("TMPDIR");
	char *path = NULL, *original = NULL;
	hcr_error err;
	bool keep_file = false;
	int fd = -1, code;

	if (argc < 2)
		return hcr_cli_usage_error(usage, "config edit needs a cluster name");
	if (argc > 2 || argv[1][0] == '-')
		return hcr_cli_usage_error(usage, "unexpected argument \"%s\"",
					   argv[argc > 2 ? 2 : 1]);
	code = load(cli, argv[1], &c);
	if (code != HCR_CLI_EXIT_OK)
		goto done;
	desired = json_object_get(c.resp.json, "desired");
	if (!json_is_object(desired))
		desired = empty = json_object();
	original = json_dumps(desired, JSON_INDENT(2));
	original = hcr_realloc(original, strlen(original) + 2);
	strcat(original, "\n");
	path = hcr_sprintf("%s/hcr-edit-XXXXXX.json", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemps(path, 5);
	if (fd < 0) {
		hcr_error_set(&err, HCR_ERROR, "editor", "cannot create a file to edit in %s: %s",
			      tmp && *tmp ? tmp : "/tmp", strerror(errno));
		code = hcr_cli_fail(&err);
		free(path);
		path = NULL;
		goto done;
	}
	if (write_file(path, fd, original, &err) != HCR_OK) {
		code = hcr_cli_fail(&err);
		goto done;
	}
	close(fd);
	fd = -1;
	doc = edit_loop(path, original, &code, &keep_file);
	if (!doc) {
		if (code == HCR_CLI_EXIT_OK)
			printf("no changes\n");
		if (keep_file)
			goto keep;
		goto done;
	}
	patch = hcr_cli_merge_diff(desired, doc);
	if (!json_object_size(patch)) {
		printf("no changes\n");
		goto done;
	}
	code = send_patch(cli, &c, patch, path);
	if (code != HCR_CLI_EXIT_OK)
		goto keep;
done:
	if (path)
		unlink(path);
keep:
	if (fd >= 0)
		close(fd);
	free(path);
	free(original);
	json_decref(patch);
	json_decref(doc);
	json_decref(empty);
	hcr_cli_resp_free(&c.resp);
	return code;
}

int hcr_cli_config(hcr_cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return HCR_CLI_EXIT_OK;
		}
	if (!sub)
		return hcr_cli_usage_error(usage, "config needs a subcommand: set or edit");
	if (strcmp(sub, "set") == 0)
		return set(cli, argc - 1, argv + 1);
	if (strcmp(sub, "edit") == 0)
		return edit(cli, argc - 1, argv + 1);
	return hcr_cli_usage_error(usage, "unknown config subcommand \"%s\"", sub);
}
