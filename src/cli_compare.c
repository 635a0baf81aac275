/*
 * `hcr compare`: two clusters (or namespaces) side by side, a diff of what
 * differs, and creating in the right cluster what only the left one has
 * (docs/cli.md, docs/sync/compare.md).
 *
 * Unlike the other CLI commands, compare runs its engine here, in the CLI
 * process (hcr/kube_compare.h): the Kubernetes API of each cluster is called
 * from this machine, as kubectl would. A cluster is a context of the
 * kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config), or a cluster
 * registered in hcr, whose short-lived credentials the CLI asks the hcr
 * server for (POST /v1/clusters/{id}/kube-credentials, admin role). A bare
 * name is a context when the kubeconfig has one of that name, else a
 * registered cluster; "context:NAME" and "cluster:NAME" say which.
 *
 * Exit codes, as diff(1): 0 the clusters are the same (in the view) or every
 * write succeeded; 1 they differ, or some write failed; 2 trouble (bad
 * options, a cluster that cannot be read): then nothing was written.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/cli.h"
#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "hcr/kube_compare.h"
#include "hcr/log.h"

#define EXIT_SAME    0
#define EXIT_DIFFER  1
#define EXIT_TROUBLE 2
#define MAX_LIST     4096

static const char usage[] =
	"usage: hcr compare --left A --right B [--namespace N | --left-namespace N "
	"--right-namespace M]\n"
	"                   [--kind K,...] [--view V] [--diff] [--include-skipped]\n"
	"                   [--kubeconfig PATH]\n"
	"       hcr compare --left A --right B --create-missing [--select OBJ,...] [--apply]\n"
	"       hcr compare --left A --right B --update OBJ,... [--apply]\n"
	"\n"
	"  compare the Kubernetes objects of two clusters, matched on group, kind,\n"
	"  namespace and name; create in B what only A has; make chosen objects of B\n"
	"  match A. Runs here, against each cluster's API.\n"
	"\n"
	"  --left A, --right B     kubeconfig contexts or clusters registered in hcr\n"
	"                          (\"context:NAME\" or \"cluster:NAME\" to say which)\n"
	"  --kubeconfig PATH       the kubeconfig (default: $KUBECONFIG, ~/.kube/config)\n"
	"  -n, --namespace N       compare namespace N on both sides\n"
	"  --left-namespace N, --right-namespace M\n"
	"                          compare namespace N of A with namespace M of B\n"
	"  --kind K,...            kinds as kubectl names them (default: every kind\n"
	"                          except events, leases, nodes, endpoints, ...)\n"
	"  --view V                all (default), matching, non-matching, left, right,\n"
	"                          different\n"
	"  --diff                  a unified diff of each different object (Secret\n"
	"                          values masked)\n"
	"  --include-skipped       show objects that belong to their cluster\n"
	"                          (service account tokens, kube-root-ca.crt, ...)\n"
	"  --create-missing        create in B the objects only A has (all of them, or\n"
	"                          --select); never overwrites\n"
	"  --select OBJ,...        KIND/NAMESPACE/NAME or KIND/NAME, e.g. deploy/web/api\n"
	"  --update OBJ,...        make these existing objects of B match A\n"
	"  --apply                 write; without it a create or update is a dry run\n"
	"  --crd-timeout SECONDS   wait this long for a new CRD to be Established (60)\n"
	"\n"
	"  exit status: 0 same (or every write done), 1 different (or a write failed),\n"
	"  2 trouble. -o json|yaml prints the whole report.\n";

typedef struct args {
	const char *left, *right, *kubeconfig;
	const char *ns, *left_ns, *right_ns, *view;
	char **kinds, **select, **update;
	size_t nkinds, nselect, nupdate;
	bool diff, include_skipped, create_missing, apply;
	long crd_timeout_s;
} args;

/* Appends the comma-separated items of `v` to the list. */
static int add_list(char ***list, size_t *n, const char *v)
{
	char *copy = hcr_strdup(v), *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_LIST) {
			free(copy);
			return -1;
		}
		*list = hcr_realloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = hcr_strdup(tok);
	}
	free(copy);
	return 0;
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int parse(args *a, int argc, char **argv)
{
	static const struct {
		const char *flag;
		size_t off;
	} strings[] = {
		{"--left", offsetof(args, left)},
		{"--right", offsetof(args, right)},
		{"--kubeconfig", offsetof(args, kubeconfig)},
		{"--namespace", offsetof(args, ns)},
		{"-n", offsetof(args, ns)},
		{"--left-namespace", offsetof(args, left_ns)},
		{"--right-namespace", offsetof(args, right_ns)},
		{"--view", offsetof(args, view)},
	};
	const char *v = NULL;
	int i, m;
	size_t k;

	a->crd_timeout_s = 60;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		for (k = 0, m = 0; k < sizeof(strings) / sizeof(strings[0]); k++)
			if ((m = hcr_cli_option(argc, argv, &i, strings[k].flag, &v)) != 0)
				break;
		if (m < 0 || (m > 0 && !*v))
			return hcr_cli_usage_error(usage, "option %s needs a value", arg);
		if (m > 0) {
			*(const char **)(void *)((char *)a + strings[k].off) = v;
			continue;
		}
		if ((m = hcr_cli_option(argc, argv, &i, "--kind", &v)) != 0 ||
		    (m = hcr_cli_option(argc, argv, &i, "--select", &v)) != 0 ||
		    (m = hcr_cli_option(argc, argv, &i, "--update", &v)) != 0) {
			char ***list = strncmp(arg, "--kind", 6) == 0     ? &a->kinds
				       : strncmp(arg, "--select", 8) == 0 ? &a->select
									  : &a->update;
			size_t *n = list == &a->kinds    ? &a->nkinds
				    : list == &a->select ? &a->nselect
							 : &a->nupdate;

			if (m < 0 || !*v)
				return hcr_cli_usage_error(usage, "option %s needs a value", arg);
			if (add_list(list, n, v) != 0)
				return hcr_cli_usage_error(usage, "too many values for %s", arg);
		} else if ((m = hcr_cli_option(argc, argv, &i, "--crd-timeout", &v)) != 0) {
			char *end;

			a->crd_timeout_s = m > 0 ? strtol(v, &end, 10) : -1;
			if (m < 0 || *end || a->crd_timeout_s < 1 || a->crd_timeout_s > 3600)
				return hcr_cli_usage_error(usage,
							   "--crd-timeout takes seconds, 1 to "
							   "3600");
		} else if (strcmp(arg, "--diff") == 0) {
			a->diff = true;
		} else if (strcmp(arg, "--include-skipped") == 0) {
			a->include_skipped = true;
		} else if (strcmp(arg, "--create-missing") == 0) {
			a->create_missing = true;
		} else if (strcmp(arg, "--apply") == 0) {
			a->apply = true;
		} else {
			return hcr_cli_usage_error(usage, "unexpected argument \"%s\"", arg);
		}
	}
	if (!a->left || !a->right)
		return hcr_cli_usage_error(usage, "compare needs --left and --right");
	if (!a->left_ns != !a->right_ns)
		return hcr_cli_usage_error(usage, "--left-namespace and --right-namespace go "
						  "together");
	if (a->ns && a->left_ns)
		return hcr_cli_usage_error(usage, "give --namespace, or --left-namespace and "
						  "--right-namespace, not both");
	if (a->create_missing && a->nupdate)
		return hcr_cli_usage_error(usage, "--create-missing and --update are separate "
						  "requests; give one");
	if (a->nselect && !a->create_missing)
		return hcr_cli_usage_error(usage, "--select chooses what --create-missing "
						  "creates");
	if (a->apply && !a->create_missing && !a->nupdate)
		return hcr_cli_usage_error(usage, "--apply goes with --create-missing or --update");
	if ((a->create_missing || a->nupdate) && (a->diff || a->view))
		return hcr_cli_usage_error(usage, "--diff and --view are for the compare, not "
						  "for writes");
	return 0;
}

/* ---- opening the clusters ---------------------------------------------------------------- */

typedef struct kc_state {
	const char *path; /* --kubeconfig, or NULL: the default files */
	hcr_kubeconfig *kc;
	bool tried;
	hcr_error err; /* why it could not be loaded */
} kc_state;

static const hcr_kubeconfig *kubeconfig(kc_state *s)
{
	if (!s->tried) {
		s->tried = true;
		hcr_error_clear(&s->err);
		if (s->path)
			hcr_kubeconfig_load(&s->kc, s->path, &s->err);
		else
			hcr_kubeconfig_load_default(&s->kc, &s->err);
	}
	return s->kc;
}

/* A registered cluster, through the hcr server's short-lived credentials. */
static int open_registered(hcr_kube **out, const hcr_cli *cli, const char *name, hcr_error *err)
{
	hcr_cli_resp r = {0};
	hcr_buf path = {0};
	json_t *tok;
	int rc;

	hcr_buf_puts(&path, "/v1/clusters/");
	hcr_cli_path_segment(&path, name);
	hcr_buf_puts(&path, "/kube-credentials");
	rc = hcr_cli_request(cli, "POST", path.data, NULL, -1, &r, err);
	hcr_buf_free(&path);
	if (rc == HCR_OK)
		rc = hcr_kube_open_creds(out, name, r.json, NULL, err);
	tok = json_object_get(r.json, "token");
	if (json_is_string(tok))
		hcr_crypto_wipe((char *)json_string_value(tok), json_string_length(tok));
	tok = json_object_get(r.json, "kubeconfig");
	if (json_is_string(tok))
		hcr_crypto_wipe((char *)json_string_value(tok), json_string_length(tok));
	if (r.body.data)
		hcr_crypto_wipe(r.body.data, r.body.len);
	hcr_cli_resp_free(&r);
	return rc;
}

/* Puts "cannot open the left cluster "x": " before the message, keeping its end. */
static void prefix(hcr_error *err, const char *side, const char *name)
{
	char *msg = hcr_sprintf("cannot open the %s cluster \"%s\": %s", side, name, err->message);
	size_t n = strlen(msg);

	if (n >= sizeof(err->message))
		n = sizeof(err->message) - 1;
	memcpy(err->message, msg, n);
	err->message[n] = '\0';
	free(msg);
}

static int open_side(hcr_kube **out, const hcr_cli *cli, kc_state *kcs, const char *side,
		     const char *name, hcr_error *err)
{
	const hcr_kubeconfig *kc;
	int rc;

	*out = NULL;
	if (strncmp(name, "cluster:", 8) == 0) {
		rc = open_registered(out, cli, name + 8, err);
	} else if (strncmp(name, "context:", 8) == 0) {
		kc = kubeconfig(kcs);
		if (!kc) {
			*err = kcs->err;
			rc = HCR_EINVALID;
		} else {
			rc = hcr_kube_open(out, kc, name + 8, NULL, err);
		}
	} else {
		kc = kubeconfig(kcs);
		if (kc && hcr_kubeconfig_has_context(kc, name)) {
			rc = hcr_kube_open(out, kc, name, NULL, err);
		} else if (!kc && kcs->path) {
			/* A kubeconfig named on the command line must work. */
			*err = kcs->err;
			rc = HCR_EINVALID;
		} else {
			rc = open_registered(out, cli, name, err);
			if (rc == HCR_ENOTFOUND) {
				hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
					      "no kubeconfig context and no cluster registered in "
					      "hcr is named \"%s\"",
					      name);
				if (!kc)
					hcr_error_detail(err, "%s", kcs->err.message);
				hcr_error_hint(err,
					       "kubectl config get-contexts lists the contexts "
					       "(--kubeconfig names another file); hcr clusters "
					       "ls lists registered clusters");
			}
		}
	}
	if (rc != HCR_OK)
		prefix(err, side, name);
	return rc;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Text from a cluster, with control characters other than newline and tab shown as '?'. */
static void print_clean(const char *s, FILE *f)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		fputc((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : c, f);
	}
}

/* "Deployment.apps", "ConfigMap": the kind as kubectl shows it. New string. */
static char *kind_name(const char *group, const char *kind)
{
	return *group ? hcr_sprintf("%s.%s", kind, group) : hcr_strdup(kind);
}

static void print_compare_table(const json_t *doc, bool mapping, bool skipped)
{
	static const char *const heads[] = {"KIND", "NAMESPACE", "NAME", "STATE", "SKIPPED"};
	static const char *const mheads[] = {"KIND", "NAME", "STATE", "SKIPPED"};
	size_t ncols = (mapping ? 3 : 4) + (skipped ? 1 : 0);
	hcr_cli_table *t = hcr_cli_table_new(ncols, mapping ? mheads : heads);
	json_t *items = json_object_get(doc, "items"), *it, *sum, *kinds;
	size_t i;

	json_array_foreach(items, i, it)
	{
		char *kind = kind_name(hcr_cli_str(it, "group"), hcr_cli_str(it, "kind"));
		const char *cells[5];
		size_t c = 0;

		cells[c++] = kind;
		if (!mapping)
			cells[c++] = hcr_cli_str(it, "namespace");
		cells[c++] = hcr_cli_str(it, "name");
		cells[c++] = hcr_cli_str(it, "state");
		if (skipped)
			cells[c++] = hcr_cli_str(it, "skipReason");
		hcr_cli_table_add(t, cells);
		free(kind);
	}
	if (hcr_cli_table_rows(t))
		hcr_cli_table_print(t, stdout);
	else
		fprintf(stderr, "no objects in view \"%s\"\n", hcr_cli_str(doc, "view"));
	hcr_cli_table_free(t);

	json_array_foreach(items, i, it)
	{
		const char *diff = hcr_cli_str(it, "diff");

		if (diff && *diff) {
			fputc('\n', stdout);
			print_clean(diff, stdout);
		}
	}

	kinds = json_object_get(doc, "kinds");
	json_array_foreach(kinds, i, it)
	{
		bool l = json_is_string(json_object_get(it, "left"));
		bool r = json_is_string(json_object_get(it, "right"));

		if (l != r) {
			char *kind = kind_name(hcr_cli_str(it, "group"), hcr_cli_str(it, "kind"));
			char *line = hcr_sprintf(
				"note: %s is served by cluster \"%s\" only", kind,
				hcr_cli_str(json_object_get(doc, l ? "left" : "right"), "cluster"));
			char *clean = hcr_cli_clean(line);

			printf("%s\n", clean);
			free(clean);
			free(line);
			free(kind);
		}
	}
	sum = json_object_get(doc, "summary");
	printf("%lld objects: %lld equal, %lld different, %lld left only, %lld right only",
	       json_integer_value(json_object_get(sum, "objects")) -
		       json_integer_value(json_object_get(sum, "skipped")),
	       json_integer_value(json_object_get(sum, "equal")),
	       json_integer_value(json_object_get(sum, "different")),
	       json_integer_value(json_object_get(sum, "leftOnly")),
	       json_integer_value(json_object_get(sum, "rightOnly")));
	if (json_integer_value(json_object_get(sum, "skipped")))
		printf("; %lld more belong to their cluster%s",
		       json_integer_value(json_object_get(sum, "skipped")),
		       skipped ? "" : " (--include-skipped shows them)");
	printf("\n");
}

static void print_write_table(const json_t *doc)
{
	static const char *const heads[] = {"KIND", "NAMESPACE", "NAME", "RESULT", "DETAIL"};
	hcr_cli_table *t = hcr_cli_table_new(5, heads);
	json_t *items = json_object_get(doc, "items"), *it, *sum, *v;
	bool dry = json_is_true(json_object_get(doc, "dryRun"));
	const char *target = hcr_cli_str(json_object_get(doc, "target"), "cluster");
	const char *key;
	size_t i, n = 0;

	hcr_cli_table_width(t, 4, 0, 100);
	json_array_foreach(items, i, it)
	{
		char *kind = kind_name(hcr_cli_str(it, "group"), hcr_cli_str(it, "kind"));
		const json_t *e = json_object_get(it, "error");
		const char *detail = hcr_cli_str(it, "reason");
		const char *cells[5];

		if (!detail)
			detail = hcr_cli_str(e, "message");
		if (!detail)
			detail = hcr_cli_str(it, "note");
		cells[0] = kind;
		cells[1] = hcr_cli_str(it, "namespace");
		cells[2] = hcr_cli_str(it, "name");
		cells[3] = hcr_cli_str(it, "result");
		cells[4] = detail ? detail : "";
		hcr_cli_table_add(t, cells);
		free(kind);
	}
	if (hcr_cli_table_rows(t))
		hcr_cli_table_print(t, stdout);
	else
		fprintf(stderr, "nothing to %s\n",
			strcmp(hcr_cli_str(doc, "mode"), "create") == 0
				? "create: no object is missing"
				: "update");
	hcr_cli_table_free(t);
	/* The whole error (detail, hint) of each failed object. */
	json_array_foreach(items, i, it)
	{
		const json_t *e = json_object_get(it, "error");

		hcr_error err;

		if (!e)
			continue;
		fputc('\n', stderr);
		hcr_error_clear(&err);
		snprintf(err.message, sizeof(err.message), "%s", hcr_cli_str(e, "message"));
		snprintf(err.detail, sizeof(err.detail), "%s",
			 hcr_cli_str(e, "detail") ? hcr_cli_str(e, "detail") : "");
		snprintf(err.hint, sizeof(err.hint), "%s",
			 hcr_cli_str(e, "hint") ? hcr_cli_str(e, "hint") : "");
		hcr_cli_print_error(&err);
	}
	sum = json_object_get(doc, "summary");
	json_object_foreach(sum, key, v)
	{
		printf("%s%lld %s", n++ ? ", " : "", json_integer_value(v), key);
	}
	printf("\n");
	if (dry) {
		char *line =
			hcr_sprintf("dry run: nothing was written to cluster \"%s\" (its server "
				    "checked each write with dryRun=All); run again with "
				    "--apply to write",
				    target ? target : "?");
		char *clean = hcr_cli_clean(line);

		printf("%s\n", clean);
		free(clean);
		free(line);
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static int run(const hcr_cli *cli, const args *a, hcr_kube *left, hcr_kube *right, json_t **doc,
	       bool *differs, hcr_error *err)
{
	hcr_cmp_opts co = {
		.namespace_name = a->ns,
		.left_namespace = a->left_ns,
		.right_namespace = a->right_ns,
		.kinds = (const char *const *)a->kinds,
		.nkinds = a->nkinds,
		.diff = a->diff,
		.include_skipped = a->include_skipped,
	};
	hcr_cmp_write_opts wo = {
		.mode = a->nupdate ? HCR_CMP_UPDATE : HCR_CMP_CREATE,
		.dry_run = !a->apply,
		.namespace_name = a->ns,
		.left_namespace = a->left_ns,
		.right_namespace = a->right_ns,
		.crd_timeout_ms = a->crd_timeout_s * 1000,
	};
	hcr_cmp_result *cmp = NULL;
	int rc = HCR_OK;

	(void)cli;
	if (a->view && !hcr_cmp_view_parse(&co.view, a->view))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "unknown view \"%s\": use all, matching, non-matching, "
				     "left, right or different",
				     a->view);
	/* A compare for itself, or to find what a create of everything missing needs. */
	if (!a->nupdate && !a->nselect) {
		rc = hcr_cmp_run(&cmp, left, right, &co, err);
		if (rc != HCR_OK)
			return rc;
		if (!a->create_missing) {
			*doc = hcr_cmp_result_json(cmp);
			*differs = hcr_cmp_result_differs(cmp);
			hcr_cmp_result_free(cmp);
			return HCR_OK;
		}
	}
	wo.select = (const char *const *)(a->nupdate ? a->update : a->select);
	wo.nselect = a->nupdate ? a->nupdate : a->nselect;
	wo.compare = cmp;
	rc = hcr_cmp_write(doc, left, right, &wo, err);
	if (rc == HCR_OK)
		*differs = hcr_cmp_write_failed(*doc);
	hcr_cmp_result_free(cmp);
	return rc;
}

int hcr_cli_compare(hcr_cli *cli, int argc, char **argv)
{
	args a = {0};
	kc_state kcs = {0};
	hcr_kube *left = NULL, *right = NULL;
	json_t *doc = NULL;
	bool differs = false;
	hcr_error err;
	int i, code;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return HCR_CLI_EXIT_OK;
		}
	hcr_error_clear(&err);
	code = parse(&a, argc, argv);
	if (code != 0 || !a.left || !a.right) {
		code = code ? code : HCR_CLI_EXIT_USAGE;
		goto done;
	}
	/* The engine logs for the server; here the report says it all. */
	hcr_log_set_level(HCR_LOG_WARN);
	kcs.path = a.kubeconfig;
	if (open_side(&left, cli, &kcs, "left", a.left, &err) != HCR_OK ||
	    open_side(&right, cli, &kcs, "right", a.right, &err) != HCR_OK ||
	    run(cli, &a, left, right, &doc, &differs, &err) != HCR_OK) {
		hcr_cli_print_error(&err);
		code = EXIT_TROUBLE;
		goto done;
	}
	if (cli->format != HCR_CLI_TABLE)
		hcr_cli_print_doc(cli->format, doc, stdout);
	else if (a.create_missing || a.nupdate)
		print_write_table(doc);
	else
		print_compare_table(doc, a.left_ns != NULL, a.include_skipped);
	code = differs ? EXIT_DIFFER : EXIT_SAME;
done:
	json_decref(doc);
	hcr_kube_close(left);
	hcr_kube_close(right);
	hcr_kubeconfig_free(kcs.kc);
	free_list(a.kinds, a.nkinds);
	free_list(a.select, a.nselect);
	free_list(a.update, a.nupdate);
	return code;
}
