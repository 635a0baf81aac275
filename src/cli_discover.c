/*
 * `hcr discover`: the clusters that a stored cloud credential can see, and
 * which of them hcr already has (POST /v1/discover, operator role).
 *
 * Discovery registers nothing. The CLI passes the user's location options
 * through as they are and leaves checking them to the API, so that a new
 * provider's options need no CLI change. The table is sorted by cloud name;
 * its last line counts what is not registered and shows the registration
 * call for one of them, with the location fields that provider needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/cli.h"

static const char usage[] =
	"usage: hcr discover --credential NAME [--provider eks|aks|gke] [--region R]\n"
	"                    [--resource-group G] [--project P] [--location L]\n"
	"\n"
	"  list the clusters a stored cloud credential can see, and the hcr name of\n"
	"  those already registered (needs the operator role); registers nothing\n"
	"\n"
	"  --credential NAME    the credential to look with (required)\n"
	"  --provider P         eks, aks or gke (default: the credential's provider)\n"
	"  --region R           EKS: the AWS region to look in\n"
	"  --resource-group G   AKS: only this resource group\n"
	"  --project P          GKE: the project\n"
	"  --location L         GKE: a region or zone; AKS: a location\n"
	"\n"
	"  -o json|yaml prints the API's JSON (or YAML) instead of the table.\n";

/* A command-line option and the member of the request body it fills. */
struct flag {
	const char *flag;
	const char *member;
	const char *value;
};

/* The location members, as the API names them in requests and answers. */
static const char *const location_members[] = {"region", "resourceGroup", "project", "location"};

/* ---- the table --------------------------------------------------------------------------- */

/* A member of the cluster, else of the answer's top level, else of the request. */
static const char *lookup(const json_t *cluster, const json_t *answer, const json_t *request,
			  const char *key)
{
	const char *v = hcr_cli_str(cluster, key);

	if (!v)
		v = hcr_cli_str(answer, key);
	if (!v)
		v = hcr_cli_str(request, key);
	return v;
}

/* Where a cluster is: region (EKS), resourceGroup/location (AKS), project/location (GKE). */
static char *where(const json_t *c, const json_t *answer, const json_t *request)
{
	const char *region = lookup(c, answer, request, "region");
	const char *rg = lookup(c, answer, request, "resourceGroup");
	const char *project = lookup(c, answer, request, "project");
	const char *loc = lookup(c, answer, request, "location");

	if (rg)
		return loc ? hcr_sprintf("%s/%s", rg, loc) : hcr_strdup(rg);
	if (project && loc)
		return hcr_sprintf("%s/%s", project, loc);
	if (loc)
		return hcr_strdup(loc);
	return hcr_strdup(region ? region : "-");
}

/* What hcr calls a registered cluster: its name, else its id; "-" when not registered. */
static const char *registered_as(const json_t *c)
{
	const json_t *reg = json_object_get(c, "cluster");

	if (!json_is_true(json_object_get(c, "registered")))
		return "-";
	if (hcr_cli_str(reg, "name"))
		return hcr_cli_str(reg, "name");
	return hcr_cli_str(reg, "id") ? hcr_cli_str(reg, "id") : "yes";
}

/* A cluster of the answer (borrowed) and its cloud name, for sorting. */
struct row {
	const json_t *c;
	const char *name;
};

static int by_cloud_name(const void *a, const void *b)
{
	const char *x = ((const struct row *)a)->name, *y = ((const struct row *)b)->name;
	int c;

	if (!x || !y)
		return x ? -1 : (y ? 1 : 0);
	/* For people: "Demo" next to "demo", not before every lower-case name. */
	c = strcasecmp(x, y);
	return c ? c : strcmp(x, y);
}

/* The clusters of the answer, sorted by cloud name; a new array of *n borrowed rows. */
static struct row *sorted(const json_t *clusters, size_t *n)
{
	struct row *rows;
	size_t i;

	*n = json_array_size(clusters);
	rows = hcr_calloc(*n ? *n : 1, sizeof(*rows));
	for (i = 0; i < *n; i++) {
		rows[i].c = json_array_get(clusters, i);
		rows[i].name = hcr_cli_str(rows[i].c, "cloudName");
	}
	qsort(rows, *n, sizeof(*rows), by_cloud_name);
	return rows;
}

/* Whether registering a cluster of `provider` takes location member `key` (docs/api.md). */
static bool takes_member(const char *provider, const char *key)
{
	if (strcmp(provider, "aks") == 0)
		return strcmp(key, "resourceGroup") == 0 || strcmp(key, "location") == 0;
	if (strcmp(provider, "gke") == 0)
		return strcmp(key, "project") == 0 || strcmp(key, "location") == 0;
	if (strcmp(provider, "eks") == 0 || strcmp(provider, "fake") == 0)
		return strcmp(key, "region") == 0;
	return true; /* a provider this CLI does not know: pass on what there is */
}

/*
 * The body that registers `c` as an imported cluster: its cloud name in lower
 * case as the hcr name (hcr names are lower case; cloudName keeps the cloud's
 * spelling when it differs), and the location members its provider takes.
 */
static json_t *register_body(const json_t *c, const json_t *answer, const json_t *request)
{
	const char *provider = lookup(NULL, answer, request, "provider");
	const char *cloud = hcr_cli_str(c, "cloudName");
	const char *credential = lookup(NULL, answer, request, "credential");
	char *name = hcr_strdup(cloud ? cloud : "NAME");
	json_t *body = json_object();
	size_t i;

	if (!provider)
		provider = "eks";
	for (i = 0; name[i]; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	json_object_set_new(body, "name", json_string(name));
	json_object_set_new(body, "provider", json_string(provider));
	json_object_set_new(body, "imported", json_true());
	json_object_set_new(body, "credential", json_string(credential));
	if (cloud && strcmp(cloud, name) != 0)
		json_object_set_new(body, "cloudName", json_string(cloud));
	for (i = 0; i < sizeof(location_members) / sizeof(location_members[0]); i++) {
		const char *key = location_members[i], *v = lookup(c, answer, request, key);

		if (v && takes_member(provider, key))
			json_object_set_new(body, key, json_string(v));
	}
	free(name);
	return body;
}

/* "2 clusters, 1 not registered: register it with POST /v1/clusters {...}" */
static void print_summary(const struct row *rows, size_t n, const json_t *answer,
			  const json_t *request)
{
	const json_t *first = NULL;
	size_t i, missing = 0;
	json_t *body;
	char *text, *line, *clean;

	for (i = 0; i < n; i++) {
		if (!json_is_true(json_object_get(rows[i].c, "registered"))) {
			if (!first)
				first = rows[i].c;
			missing++;
		}
	}
	if (!missing) {
		printf("%zu cluster%s, all registered\n", n, n == 1 ? "" : "s");
		return;
	}
	/* The names came from the cloud: cleaned like every other cell. */
	body = register_body(first, answer, request);
	text = json_dumps(body, 0);
	line = hcr_sprintf("%zu cluster%s, %zu not registered: register %s with POST "
			   "/v1/clusters%s %s",
			   n, n == 1 ? "" : "s", missing, missing == 1 ? "it" : "each",
			   missing == 1 ? "" : ", for example", text ? text : "{}");
	clean = hcr_cli_clean(line);
	printf("%s\n", clean);
	free(clean);
	free(line);
	free(text);
	json_decref(body);
}

static void print_table(const json_t *answer, const json_t *request)
{
	static const char *const heads[] = {"CLOUD NAME", "REGION/LOCATION", "STATUS", "VERSION",
					    "REGISTERED AS"};
	hcr_cli_table *t = hcr_cli_table_new(5, heads);
	size_t n, i;
	struct row *rows = sorted(json_object_get(answer, "clusters"), &n);

	for (i = 0; i < n; i++) {
		const json_t *c = rows[i].c;
		char *loc = where(c, answer, request);
		char *version = hcr_cli_value_text(json_object_get(c, "version"));
		const char *row[5] = {rows[i].name, loc, hcr_cli_str(c, "status"), version,
				      registered_as(c)};

		hcr_cli_table_add(t, row);
		free(loc);
		free(version);
	}
	if (n) {
		hcr_cli_table_print(t, stdout);
		print_summary(rows, n, answer, request);
	} else {
		const char *credential = lookup(NULL, answer, request, "credential");
		char *loc = where(NULL, answer, request), *msg, *clean;
		bool somewhere = strcmp(loc, "-") != 0;

		msg = hcr_sprintf("no clusters found with credential \"%s\"%s%s",
				  credential ? credential : "-", somewhere ? " in " : "",
				  somewhere ? loc : "");
		clean = hcr_cli_clean(msg);
		fprintf(stderr, "%s\n", clean);
		free(clean);
		free(msg);
		free(loc);
	}
	free(rows);
	hcr_cli_table_free(t);
}

/* ---- the command ------------------------------------------------------------------------- */

/* Takes the options into `opts`; returns 0, or the exit code of a usage error it printed. */
static int parse(int argc, char **argv, struct flag *opts, size_t nopts)
{
	const char *v = NULL;
	int i, m = 0;
	size_t k;

	for (i = 1; i < argc; i++) {
		for (k = 0; k < nopts; k++)
			if ((m = hcr_cli_option(argc, argv, &i, opts[k].flag, &v)) != 0)
				break;
		if (m < 0)
			return hcr_cli_usage_error(usage, "option %s needs a value", argv[i]);
		if (k == nopts)
			return hcr_cli_usage_error(usage, "unexpected argument \"%s\"", argv[i]);
		if (!*v)
			return hcr_cli_usage_error(usage, "option %s needs a value", opts[k].flag);
		opts[k].value = v;
	}
	return 0;
}

int hcr_cli_discover(hcr_cli *cli, int argc, char **argv)
{
	struct flag opts[] = {
		{"--credential", "credential", NULL}, {"--provider", "provider", NULL},
		{"--region", "region", NULL},         {"--resource-group", "resourceGroup", NULL},
		{"--project", "project", NULL},       {"--location", "location", NULL},
	};
	size_t nopts = sizeof(opts) / sizeof(opts[0]), k;
	hcr_cli_resp r = {0};
	json_t *request = NULL;
	hcr_error err;
	int i, code;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return HCR_CLI_EXIT_OK;
		}
	code = parse(argc, argv, opts, nopts);
	if (code != HCR_CLI_EXIT_OK)
		return code;
	if (!opts[0].value)
		return hcr_cli_usage_error(usage, "discover needs --credential NAME (the stored "
						  "cloud credential to look with)");
	/* Provider first, then credential and the location, as the API documents them. */
	request = json_pack("{s:s*, s:s}", "provider", opts[1].value, "credential", opts[0].value);
	for (k = 2; k < nopts; k++)
		if (opts[k].value)
			json_object_set_new(request, opts[k].member, json_string(opts[k].value));

	if (hcr_cli_request(cli, "POST", "/v1/discover", request, -1, &r, &err) != HCR_OK) {
		/* An hcr from before discovery answers 404 for the route itself. */
		if (r.status == 404 && strncmp(err.message, "no such endpoint", 16) == 0 &&
		    !err.hint[0])
			hcr_error_hint(&err, "this hcr has no discovery yet; upgrade it");
		code = hcr_cli_fail(&err);
		goto done;
	}
	if (cli->format != HCR_CLI_TABLE)
		hcr_cli_print_doc(cli->format, r.json, stdout);
	else
		print_table(r.json, request);
	code = HCR_CLI_EXIT_OK;
done:
	hcr_cli_resp_free(&r);
	json_decref(request);
	return code;
}
