/*
 * The operator CLI's entry point: global options, where the API's URL and
 * token come from, and dispatch to the commands.
 *
 * Each setting is taken from the first place that has it: the flag, the
 * environment (HCR_URL, HCR_TOKEN, HCR_CA_FILE), the file
 * ~/.config/hcr/config (or $XDG_CONFIG_HOME/hcr/config), then the default:
 * http://127.0.0.1:8080, and the token that `make run` leaves in
 * ./var/admin-token. The file is either `key = value` lines or YAML with the
 * same keys, read with libyaml. Settings are resolved per key, so a file can
 * hold the token while HCR_URL picks the server.
 */
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "hcr/cli.h"

#define DEFAULT_URL        "http://127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE "var/admin-token"
#define MAX_CONFIG_BYTES   ((size_t)64 * 1024)

static const char usage[] =
	"usage: hcr <command> [options]\n"
	"\n"
	"operator commands (clients of a running hcr):\n"
	"  clusters ls                     list clusters\n"
	"  clusters show NAME|ID           one cluster: fields, operation in flight, drift\n"
	"  config set NAME PATH=VALUE...   change desired configuration\n"
	"  config edit NAME                edit the desired configuration in $EDITOR\n"
	"  drift                           fields that are not in sync\n"
	"  events                          the history of changes\n"
	"  discover --credential NAME      clusters a cloud credential can see, registered or not\n"
	"  compare --left A --right B      two clusters' Kubernetes objects side by side; create\n"
	"                                  what is missing (runs here, against each cluster)\n"
	"\n"
	"global options (anywhere on the line):\n"
	"  --url URL        hcr's API (HCR_URL; default " DEFAULT_URL ")\n"
	"  --token TOKEN    API token (HCR_TOKEN; default ./" DEFAULT_TOKEN_FILE ")\n"
	"  --insecure       do not verify hcr's TLS certificate (HCR_CA_FILE names a CA)\n"
	"  -o, --output F   table (default), json or yaml\n"
	"\n"
	"Settings may also live in ~/.config/hcr/config (url = ..., token = ...).\n"
	"Run \"hcr <command> --help\" for a command's options; docs/cli.md has examples.\n";

static const char *const commands[] = {"clusters", "config",   "drift",
				       "events",   "discover", "compare"};

bool hcr_cli_handles(const char *cmd)
{
	size_t i;

	for (i = 0; cmd && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i]) == 0)
			return true;
	return false;
}

int hcr_cli_usage_error(const char *text, const char *fmt, ...)
{
	va_list ap;

	fputs("hcr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", text);
	return HCR_CLI_EXIT_USAGE;
}

int hcr_cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len) != 0)
		return 0;
	if (arg[len] == '=') {
		*value = arg + len + 1;
		return 1;
	}
	if (arg[len] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

int hcr_cli_fail(const hcr_error *err)
{
	hcr_cli_print_error(err);
	return HCR_CLI_EXIT_FAIL;
}

/* ---- settings ---------------------------------------------------------------------------- */

struct settings {
	char *url, *token, *ca_file;
	const char *token_from;
};

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static char *unquote(char *s)
{
	size_t len = strlen(s);

	if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0]) {
		s[len - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* Stores `value` for `key` unless an earlier source set it. */
static int file_set(struct settings *st, const char *path, size_t line, const char *key,
		    const char *value, hcr_error *err)
{
	char **slot = NULL;

	if (strcmp(key, "url") == 0)
		slot = &st->url;
	else if (strcmp(key, "token") == 0)
		slot = &st->token;
	else if (strcmp(key, "ca_file") == 0)
		slot = &st->ca_file;
	if (!slot) {
		hcr_error_set(err, HCR_EINVALID, "config", "%s:%zu: unknown key \"%s\"", path, line,
			      key);
		hcr_error_hint(err, "the keys are url, token and ca_file");
		return HCR_EINVALID;
	}
	if (!*slot && *value) {
		*slot = hcr_strdup(value);
		if (slot == &st->token)
			st->token_from = "the config file";
	}
	return HCR_OK;
}

/* `key = value` lines; '#' starts a comment line. */
static int parse_lines(struct settings *st, const char *path, char *text, hcr_error *err)
{
	char *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key;
		int rc;

		n++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			hcr_error_set(err, HCR_EINVALID, "config", "%s:%zu: expected key = value",
				      path, n);
			return HCR_EINVALID;
		}
		*eq = '\0';
		key = trim(line);
		rc = file_set(st, path, n, key, unquote(trim(eq + 1)), err);
		if (rc != HCR_OK)
			return rc;
	}
	return HCR_OK;
}

/* A YAML mapping of scalars, read with libyaml. */
static int parse_yaml(struct settings *st, const char *path, const char *text, hcr_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *pair;
	int rc = HCR_OK;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		hcr_error_set(err, HCR_EINVALID, "config", "%s:%zu: not valid YAML", path,
			      parser.problem_mark.line + 1);
		hcr_error_detail(err, "%s", parser.problem ? parser.problem : "unknown error");
		yaml_parser_delete(&parser);
		return HCR_EINVALID;
	}
	root = yaml_document_get_root_node(&doc);
	if (root && root->type != YAML_MAPPING_NODE) {
		rc = hcr_error_set(err, HCR_EINVALID, "config",
				   "%s: expected url, token and ca_file keys", path);
		goto done;
	}
	for (pair = root ? root->data.mapping.pairs.start : NULL;
	     root && pair < root->data.mapping.pairs.top && rc == HCR_OK; pair++) {
		yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(&doc, pair->value);

		if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			rc = hcr_error_set(err, HCR_EINVALID, "config",
					   "%s:%zu: expected a key and a plain value", path,
					   (k ? k->start_mark.line : 0) + 1);
			break;
		}
		rc = file_set(st, path, k->start_mark.line + 1, (const char *)k->data.scalar.value,
			      (const char *)v->data.scalar.value, err);
	}
done:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* Whether the first meaningful line looks like `key = value` rather than YAML. */
static bool looks_like_lines(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");
		size_t skip = strspn(p, " \t\r");

		if (skip < len && p[skip] != '#') {
			size_t key = strspn(p + skip, "abcdefghijklmnopqrstuvwxyz_");
			const char *after = p + skip + key;

			after += strspn(after, " \t");
			return key > 0 && *after == '=';
		}
		p += len + (p[len] == '\n');
	}
	return false;
}

static char *read_small_file(const char *path, size_t max, hcr_error *err)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;

	if (!f) {
		if (errno == ENOENT)
			return NULL;
		hcr_error_set(err, HCR_ERROR, "config", "cannot read \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(errno));
		return NULL;
	}
	text = hcr_malloc(max + 1);
	n = fread(text, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(text);
		hcr_error_set(err, HCR_EINVALID, "config", "\"%s\" is larger than %zu bytes", path,
			      max);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static char *config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && *xdg)
		return hcr_sprintf("%s/hcr/config", xdg);
	if (home && *home)
		return hcr_sprintf("%s/.config/hcr/config", home);
	return NULL;
}

static int read_config_file(struct settings *st, hcr_error *err)
{
	char *path = config_path(), *text;
	bool had_token = st->token != NULL;
	struct stat sb;
	int rc;

	if (!path)
		return HCR_OK;
	hcr_error_clear(err);
	text = read_small_file(path, MAX_CONFIG_BYTES, err);
	if (!text) {
		free(path);
		return err->message[0] ? HCR_EINVALID : HCR_OK;
	}
	rc = looks_like_lines(text) ? parse_lines(st, path, text, err)
				    : parse_yaml(st, path, text, err);
	if (rc == HCR_OK && !had_token && st->token && stat(path, &sb) == 0 && (sb.st_mode & 077))
		fprintf(stderr,
			"hcr: warning: %s holds an API token and others may read it; "
			"run chmod 600 on it\n",
			path);
	free(text);
	free(path);
	return rc;
}

static char *first_line(const char *path)
{
	hcr_error err;
	char *text = read_small_file(path, 4096, &err), *s;

	if (!text)
		return NULL;
	s = trim(text);
	s[strcspn(s, "\r\n")] = '\0';
	s = *s ? hcr_strdup(s) : NULL;
	free(text);
	return s;
}

static void env_default(char **slot, const char *name)
{
	const char *v = getenv(name);

	if (!*slot && v && *v)
		*slot = hcr_strdup(v);
}

static int check_settings(hcr_cli *cli, hcr_error *err)
{
	const char *p;
	size_t len;

	if (strncmp(cli->url, "http://", 7) != 0 && strncmp(cli->url, "https://", 8) != 0) {
		hcr_error_set(err, HCR_EINVALID, "config", "invalid hcr URL \"%s\"", cli->url);
		hcr_error_hint(err, "use http://HOST:PORT or https://HOST:PORT (--url or HCR_URL)");
		return HCR_EINVALID;
	}
	len = strlen(cli->url);
	while (len > 8 && cli->url[len - 1] == '/')
		cli->url[--len] = '\0';
	/* A token goes into a header: refuse what could end or split it, without echoing it. */
	for (p = cli->token; p && *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			hcr_error_set(err, HCR_EINVALID, "config",
				      "the API token (from %s) contains spaces or control "
				      "characters",
				      cli->token_from);
			hcr_error_hint(err, "a token is \"hcr_\" and 43 more characters");
			return HCR_EINVALID;
		}
	return HCR_OK;
}

static int resolve(hcr_cli *cli, struct settings *st, hcr_error *err)
{
	const char *env_token = getenv("HCR_TOKEN");
	int rc;

	if (st->token)
		st->token_from = "--token";
	else if (env_token && *env_token)
		st->token_from = "HCR_TOKEN";
	env_default(&st->url, "HCR_URL");
	env_default(&st->token, "HCR_TOKEN");
	env_default(&st->ca_file, "HCR_CA_FILE");
	rc = read_config_file(st, err);
	if (rc != HCR_OK)
		return rc;
	if (!st->url)
		st->url = hcr_strdup(DEFAULT_URL);
	if (!st->token) {
		st->token = first_line(DEFAULT_TOKEN_FILE);
		if (st->token)
			st->token_from = "./" DEFAULT_TOKEN_FILE;
	}
	cli->url = st->url;
	cli->token = st->token;
	cli->ca_file = st->ca_file;
	cli->token_from = st->token_from;
	memset(st, 0, sizeof(*st));
	return check_settings(cli, err);
}

/* ---- the global options ------------------------------------------------------------------ */

static int parse_format(const char *v, hcr_cli_format *out)
{
	if (strcmp(v, "table") == 0)
		*out = HCR_CLI_TABLE;
	else if (strcmp(v, "json") == 0)
		*out = HCR_CLI_JSON;
	else if (strcmp(v, "yaml") == 0)
		*out = HCR_CLI_YAML;
	else
		return -1;
	return 0;
}

/*
 * Takes the global options out of argv (they may appear anywhere) and leaves
 * the command's own arguments in `rest`, argv[1] first. Returns 0, or the
 * exit code of a usage error it printed.
 */
static int take_globals(hcr_cli *cli, struct settings *st, int argc, char **argv, char **rest,
			int *nrest)
{
	int i, m;
	const char *v = NULL;

	*nrest = 0;
	for (i = 1; i < argc; i++) {
		if ((m = hcr_cli_option(argc, argv, &i, "--url", &v)) != 0) {
			if (m < 0)
				return hcr_cli_usage_error(usage, "option --url needs a value");
			free(st->url);
			st->url = hcr_strdup(v);
		} else if ((m = hcr_cli_option(argc, argv, &i, "--token", &v)) != 0) {
			if (m < 0)
				return hcr_cli_usage_error(usage, "option --token needs a value");
			free(st->token);
			st->token = hcr_strdup(v);
		} else if (strcmp(argv[i], "--insecure") == 0) {
			cli->insecure = true;
		} else if ((m = hcr_cli_option(argc, argv, &i, "--output", &v)) != 0 ||
			   (m = hcr_cli_option(argc, argv, &i, "-o", &v)) != 0 ||
			   strncmp(argv[i], "-o", 2) == 0) {
			if (m == 0) /* -ojson */
				v = argv[i] + 2;
			if (m < 0)
				return hcr_cli_usage_error(usage, "option -o needs a value");
			if (parse_format(v, &cli->format) != 0)
				return hcr_cli_usage_error(usage,
							   "unknown output format \"%s\" (use "
							   "table, json or yaml)",
							   v);
		} else {
			rest[(*nrest)++] = argv[i];
		}
	}
	rest[*nrest] = NULL;
	return 0;
}

static bool wants_help(char **args, int n)
{
	int i;

	for (i = 1; i < n; i++)
		if (strcmp(args[i], "-h") == 0 || strcmp(args[i], "--help") == 0)
			return true;
	return false;
}

int hcr_cli_main(int argc, char **argv)
{
	hcr_cli cli = {0};
	struct settings st = {0};
	hcr_error err;
	char **rest = hcr_calloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, code;

	hcr_error_clear(&err);
	code = take_globals(&cli, &st, argc, argv, rest, &nrest);
	if (code != HCR_CLI_EXIT_OK)
		goto done;
	/* Help needs no settings, so a broken config file cannot hide it. */
	if (!wants_help(rest, nrest) && resolve(&cli, &st, &err) != HCR_OK) {
		code = hcr_cli_fail(&err);
		goto done;
	}
	if (nrest == 0) { /* main() hands over only argv[1] among the commands; be safe anyway */
		code = hcr_cli_usage_error(usage, "a command is needed");
		goto done;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "hcr: cannot initialise libcurl\n");
		code = HCR_CLI_EXIT_FAIL;
		goto done;
	}
	if (strcmp(rest[0], "clusters") == 0)
		code = hcr_cli_clusters(&cli, nrest, rest);
	else if (strcmp(rest[0], "config") == 0)
		code = hcr_cli_config(&cli, nrest, rest);
	else if (strcmp(rest[0], "drift") == 0)
		code = hcr_cli_drift(&cli, nrest, rest);
	else if (strcmp(rest[0], "discover") == 0)
		code = hcr_cli_discover(&cli, nrest, rest);
	else if (strcmp(rest[0], "compare") == 0)
		code = hcr_cli_compare(&cli, nrest, rest);
	else
		code = hcr_cli_events(&cli, nrest, rest);
	curl_global_cleanup();
done:
	free(st.url);
	free(st.token);
	free(st.ca_file);
	free(cli.url);
	free(cli.token);
	free(cli.ca_file);
	free(rest);
	return code;
}
