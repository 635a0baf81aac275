/*
 * `hcr clusters ls` and `hcr clusters show`: the cluster list (following the
 * API's pages) and one cluster in full: its summary, every field's owner and
 * state, the operation in flight, and recent drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcr/cli.h"

#define PAGE_MAX   500 /* the API's largest page */
#define VALUE_COLS 40  /* how wide a value column may grow */

static const char usage[] =
	"usage: hcr clusters ls [--provider P] [--prefix NAME] [--limit N]\n"
	"       hcr clusters show NAME|ID\n"
	"\n"
	"  ls     list clusters, sorted by name; follows the API's pages\n"
	"         --provider P   only eks, aks or gke clusters\n"
	"         --prefix NAME  only names starting with NAME\n"
	"         --limit N      at most N clusters (default: all)\n"
	"  show   one cluster: summary, fields (PATH OWNER STATE DESIRED OBSERVED\n"
	"         APPLIED SINCE), the operation in flight, and recent drift\n"
	"\n"
	"  -o json|yaml prints the API's JSON (or YAML) instead of tables.\n";

static const char *yes_no(const json_t *v)
{
	return json_is_true(v) ? "yes" : "no";
}

/* Where the cluster lives, by provider: region, resource group, project/location. */
static char *location(const json_t *c)
{
	const char *region = hcr_cli_str(c, "region"), *loc = hcr_cli_str(c, "location");
	const char *rg = hcr_cli_str(c, "resourceGroup"), *project = hcr_cli_str(c, "project");

	if (rg)
		return loc ? hcr_sprintf("%s/%s", rg, loc) : hcr_strdup(rg);
	if (project && loc)
		return hcr_sprintf("%s/%s", project, loc);
	if (loc)
		return hcr_strdup(loc);
	return hcr_strdup(region ? region : "-");
}

static int parse_count(const char *s, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return (end == s || *end || *out < 1) ? -1 : 0;
}

/* ---- ls ---------------------------------------------------------------------------------- */

static void print_list(const json_t *items)
{
	static const char *const heads[] = {"NAME",   "PROVIDER", "LOCATION", "STATE",
					    "POLICY", "BUSY",     "VERSION",  "AGE"};
	hcr_cli_table *t = hcr_cli_table_new(8, heads);
	time_t now = time(NULL);
	const json_t *c;
	size_t i;

	json_array_foreach(items, i, c)
	{
		char *loc = location(c),
		     *version = hcr_cli_value_text(json_object_get(c, "version"));
		char age[32];
		const char *row[8] = {
			hcr_cli_str(c, "name"),
			hcr_cli_str(c, "provider"),
			loc,
			hcr_cli_str(c, "state"),
			hcr_cli_str(c, "policy"),
			yes_no(json_object_get(c, "busy")),
			version,
			hcr_cli_age(json_object_get(c, "createdAt"), now, age, sizeof(age))};

		hcr_cli_table_add(t, row);
		free(loc);
		free(version);
	}
	if (hcr_cli_table_rows(t))
		hcr_cli_table_print(t, stdout);
	else
		fprintf(stderr, "no clusters found\n");
	hcr_cli_table_free(t);
}

static int list(hcr_cli *cli, int argc, char **argv)
{
	const char *provider = NULL, *prefix = NULL, *limit_s = NULL, *v = NULL;
	long limit = 0;
	json_t *items = json_array(), *next = json_null(), *out;
	hcr_buf path = {0};
	hcr_error err;
	int i, m, code = HCR_CLI_EXIT_OK;

	for (i = 1; i < argc; i++) {
		if ((m = hcr_cli_option(argc, argv, &i, "--provider", &v)) != 0)
			provider = v;
		else if ((m = hcr_cli_option(argc, argv, &i, "--prefix", &v)) != 0)
			prefix = v;
		else if ((m = hcr_cli_option(argc, argv, &i, "--limit", &v)) != 0)
			limit_s = v;
		else
			m = -2;
		if (m == -1 || m == -2) {
			code = hcr_cli_usage_error(usage,
						   m == -1 ? "option %s needs a value"
							   : "unexpected argument \"%s\"",
						   argv[i]);
			goto done;
		}
	}
	if (limit_s && parse_count(limit_s, &limit) != 0) {
		code = hcr_cli_usage_error(usage, "--limit must be a positive number");
		goto done;
	}
	for (;;) {
		hcr_cli_resp r;
		long page = PAGE_MAX;
		char page_s[24];
		const json_t *got;

		if (limit && limit - (long)json_array_size(items) < page)
			page = limit - (long)json_array_size(items);
		snprintf(page_s, sizeof(page_s), "%ld", page);
		path.len = 0;
		hcr_buf_puts(&path, "/v1/clusters");
		hcr_cli_query(&path, "provider", provider);
		hcr_cli_query(&path, "name_prefix", prefix);
		hcr_cli_query(&path, "cursor", json_string_value(next));
		hcr_cli_query(&path, "limit", page_s);
		if (hcr_cli_request(cli, "GET", path.data, NULL, -1, &r, &err) != HCR_OK) {
			hcr_cli_resp_free(&r);
			code = hcr_cli_fail(&err);
			goto done;
		}
		got = json_object_get(r.json, "items");
		if (json_is_array(got))
			json_array_extend(items, (json_t *)got);
		json_decref(next);
		next = json_incref(json_object_get(r.json, "nextCursor"));
		if (!next)
			next = json_null();
		hcr_cli_resp_free(&r);
		if (!json_is_string(next) || (limit && (long)json_array_size(items) >= limit))
			break;
	}
	if (cli->format == HCR_CLI_TABLE) {
		print_list(items);
	} else {
		out = json_pack("{s:O, s:O}", "items", items, "nextCursor", next);
		hcr_cli_print_doc(cli->format, out, stdout);
		json_decref(out);
	}
done:
	hcr_buf_free(&path);
	json_decref(items);
	json_decref(next);
	return code;
}

/* ---- show -------------------------------------------------------------------------------- */

static void line(const char *label, const char *value)
{
	char *clean = hcr_cli_clean(value ? value : "-");

	printf("%-13s%s\n", label, clean);
	free(clean);
}

static void print_summary(const json_t *c, time_t now)
{
	char *loc = location(c), *buf, *v;
	const char *cloud = hcr_cli_str(c, "cloudName");
	char age[32];
	const json_t *last_error = json_object_get(c, "lastError");

	line("Name:", hcr_cli_str(c, "name"));
	line("ID:", hcr_cli_str(c, "id"));
	buf = hcr_sprintf("%s, %s%s%s%s",
			  hcr_cli_str(c, "provider") ? hcr_cli_str(c, "provider") : "-", loc,
			  cloud ? " (cloud name " : "", cloud ? cloud : "", cloud ? ")" : "");
	line("Provider:", buf);
	free(buf);
	line("Credential:", hcr_cli_str(c, "credential"));
	buf = hcr_sprintf("%s%s", hcr_cli_str(c, "state") ? hcr_cli_str(c, "state") : "-",
			  json_is_true(json_object_get(c, "busy")) ? " (busy)" : "");
	line("State:", buf);
	free(buf);
	line("Policy:", hcr_cli_str(c, "policy"));
	line("Imported:", yes_no(json_object_get(c, "imported")));
	v = hcr_cli_value_text(json_object_get(c, "version"));
	line("Version:", v);
	free(v);
	if (hcr_cli_str(c, "observedAt")) {
		buf = hcr_sprintf(
			"%s (%s ago)", hcr_cli_str(c, "observedAt"),
			hcr_cli_age(json_object_get(c, "observedAt"), now, age, sizeof(age)));
		line("Observed:", buf);
		free(buf);
	} else {
		line("Observed:", "never");
	}
	buf = hcr_sprintf("%s by %s",
			  hcr_cli_str(c, "createdAt") ? hcr_cli_str(c, "createdAt") : "-",
			  hcr_cli_str(c, "createdBy") ? hcr_cli_str(c, "createdBy") : "-");
	line("Created:", buf);
	free(buf);
	if (last_error && !json_is_null(last_error)) {
		v = hcr_cli_value_text(last_error);
		line("Last error:", v);
		free(v);
	}
	free(loc);
}

static void print_fields(const json_t *fields, time_t now)
{
	static const char *const heads[] = {"PATH",     "OWNER",   "STATE", "DESIRED",
					    "OBSERVED", "APPLIED", "SINCE"};
	hcr_cli_table *t = hcr_cli_table_new(7, heads);
	const json_t *f;
	size_t i;

	for (i = 3; i <= 5; i++)
		hcr_cli_table_width(t, i, 0, VALUE_COLS);
	json_array_foreach(fields, i, f)
	{
		char *d = hcr_cli_value_text(json_object_get(f, "desired"));
		char *o = hcr_cli_value_text(json_object_get(f, "observed"));
		char *a = hcr_cli_value_text(json_object_get(f, "applied"));
		char age[32];
		const char *row[7] = {
			hcr_cli_str(f, "path"),
			hcr_cli_str(f, "owner"),
			hcr_cli_str(f, "state"),
			d,
			o,
			a,
			hcr_cli_age(json_object_get(f, "since"), now, age, sizeof(age))};

		hcr_cli_table_add(t, row);
		free(d);
		free(o);
		free(a);
	}
	printf("\nFields:\n");
	if (hcr_cli_table_rows(t))
		hcr_cli_table_print(t, stdout);
	else
		printf("  none yet (the cluster has not been observed)\n");
	hcr_cli_table_free(t);
}

static void print_operation(const json_t *op, time_t now)
{
	char age[32], *changes;
	const char *pool = hcr_cli_str(op, "pool");

	if (!json_is_object(op)) {
		printf("\nOperation in flight: none\n");
		return;
	}
	changes = hcr_cli_value_text(json_object_get(op, "changes"));
	printf("\nOperation in flight:\n");
	line("  Kind:", hcr_cli_str(op, "operation"));
	line("  State:", hcr_cli_str(op, "state"));
	if (pool)
		line("  Pool:", pool);
	line("  Started:", hcr_cli_age(json_object_get(op, "createdAt"), now, age, sizeof(age)));
	line("  ID:", hcr_cli_str(op, "id"));
	line("  Changes:", changes);
	free(changes);
}

static void print_drift(const json_t *drift, time_t now)
{
	static const char *const heads[] = {"PATH",     "STATE", "DESIRED",
					    "OBSERVED", "SINCE", "REASON"};
	hcr_cli_table *t = hcr_cli_table_new(6, heads);
	const json_t *d;
	size_t i;

	hcr_cli_table_width(t, 2, 0, VALUE_COLS);
	hcr_cli_table_width(t, 3, 0, VALUE_COLS);
	hcr_cli_table_width(t, 5, 0, 80);
	json_array_foreach(drift, i, d)
	{
		char *want = hcr_cli_value_text(json_object_get(d, "desired"));
		char *seen = hcr_cli_value_text(json_object_get(d, "observed"));
		char age[32];
		const char *row[6] = {
			hcr_cli_str(d, "path"),
			hcr_cli_str(d, "state"),
			want,
			seen,
			hcr_cli_age(json_object_get(d, "since"), now, age, sizeof(age)),
			hcr_cli_str(d, "reason")};

		hcr_cli_table_add(t, row);
		free(want);
		free(seen);
	}
	if (hcr_cli_table_rows(t)) {
		printf("\nDrift:\n");
		hcr_cli_table_print(t, stdout);
	} else {
		printf("\nDrift: none, every field hcr manages is in sync\n");
	}
	hcr_cli_table_free(t);
}

static void print_external(const json_t *changes)
{
	static const char *const heads[] = {"AT", "PATH", "OLD", "NEW"};
	hcr_cli_table *t;
	const json_t *e;
	size_t i;

	if (!json_array_size(changes))
		return;
	t = hcr_cli_table_new(4, heads);
	hcr_cli_table_width(t, 2, 0, VALUE_COLS);
	hcr_cli_table_width(t, 3, 0, VALUE_COLS);
	json_array_foreach(changes, i, e)
	{
		char *o = hcr_cli_value_text(json_object_get(e, "old"));
		char *n = hcr_cli_value_text(json_object_get(e, "new"));
		const char *row[4] = {hcr_cli_str(e, "at"), hcr_cli_str(e, "path"), o, n};

		hcr_cli_table_add(t, row);
		free(o);
		free(n);
	}
	printf("\nChanged outside hcr (last 24 hours):\n");
	hcr_cli_table_print(t, stdout);
	hcr_cli_table_free(t);
}

static int show(hcr_cli *cli, int argc, char **argv)
{
	hcr_cli_resp r = {0}, dr = {0};
	hcr_buf path = {0};
	hcr_error err;
	time_t now = time(NULL);
	int code = HCR_CLI_EXIT_OK;

	if (argc < 2)
		return hcr_cli_usage_error(usage, "clusters show needs a cluster name or id");
	if (argc > 2 || argv[1][0] == '-')
		return hcr_cli_usage_error(usage, "unexpected argument \"%s\"",
					   argv[argc > 2 ? 2 : 1]);
	hcr_buf_puts(&path, "/v1/clusters/");
	hcr_cli_path_segment(&path, argv[1]);
	if (hcr_cli_request(cli, "GET", path.data, NULL, -1, &r, &err) != HCR_OK) {
		code = hcr_cli_fail(&err);
		goto done;
	}
	if (cli->format != HCR_CLI_TABLE) {
		hcr_cli_print_doc(cli->format, r.json, stdout);
		goto done;
	}
	print_summary(r.json, now);
	print_fields(json_object_get(r.json, "fields"), now);
	print_operation(json_object_get(r.json, "operation"), now);
	print_drift(json_object_get(r.json, "drift"), now);
	/* The external changes are only on the drift endpoint; a failure there costs one section. */
	hcr_buf_puts(&path, "/drift");
	if (hcr_cli_request(cli, "GET", path.data, NULL, -1, &dr, &err) == HCR_OK)
		print_external(json_object_get(dr.json, "externalChanges"));
done:
	hcr_cli_resp_free(&r);
	hcr_cli_resp_free(&dr);
	hcr_buf_free(&path);
	return code;
}

int hcr_cli_clusters(hcr_cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return HCR_CLI_EXIT_OK;
		}
	if (!sub)
		return hcr_cli_usage_error(usage, "clusters needs a subcommand: ls or show");
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
		return list(cli, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0 || strcmp(sub, "get") == 0)
		return show(cli, argc - 1, argv + 1);
	return hcr_cli_usage_error(usage, "unknown clusters subcommand \"%s\"", sub);
}
