/*
 * `hcr drift` and `hcr events`: what is out of sync, and what happened, once
 * or live.
 *
 * Live views read GET /v1/events as Server-Sent Events. `events --follow`
 * prints each event as it arrives, resuming after the last one it printed
 * when the stream drops. `drift --watch` refetches GET /v1/drift shortly
 * after events (a burst of events costs one refetch) and every 5 s anyway,
 * so it stays current even when the stream is down. Both stop cleanly on
 * Ctrl-C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcr/cli.h"

#define VALUE_COLS      32
#define REFRESH_S       5.0  /* drift --watch refetches at least this often */
#define SETTLE_S        0.3  /* ...and this long after an event, to take a burst at once */
#define RECONNECT_S     2.0  /* pause before reconnecting a dropped stream */
#define EVENTS_PAGE_MAX 1000 /* the API's largest page */

static const char drift_usage[] =
	"usage: hcr drift [--provider P] [--state S] [--cluster C] [--watch]\n"
	"\n"
	"Fields hcr manages that are not in sync, and changes made outside hcr in the\n"
	"last 24 hours.\n"
	"  --provider P   only clusters of provider P\n"
	"  --state S      pending, applying, failed, conflict, blocked or in_sync\n"
	"  --cluster C    one cluster (name or id)\n"
	"  --watch        keep the view current (live from the event stream, and every\n"
	"                 5 s); stop with Ctrl-C\n";

static const char events_usage[] =
	"usage: hcr events [--cluster C] [--path P] [--kind K] [--since T] [--until T]\n"
	"                  [--limit N] [--follow]\n"
	"\n"
	"The history of changes, oldest first (the newest N events).\n"
	"  --cluster C    one cluster (name or id)\n"
	"  --path P       one field and what is below it (tags, nodeGroups[ng-a])\n"
	"  --kind K       one kind: desired_set, applying, applied, failed, adopted,\n"
	"                 external_change, conflict, ...\n"
	"  --since T      from time T: RFC 3339 (2026-11-21T18:00:00Z) or an age (10m,\n"
	"                 2h, 3d)\n"
	"  --until T      before time T\n"
	"  --limit N      the newest N events (default 50; 10 with --follow)\n"
	"  --follow       then print new events as they happen; stop with Ctrl-C\n";

static void pause_s(double secs)
{
	double end = hcr_cli_now() + secs;

	while (!hcr_cli_interrupted() && hcr_cli_now() < end)
		usleep(50 * 1000);
}

/* Parses the options named in `names` into `values`; returns 0 or an exit code. */
static int options(int argc, char **argv, const char *const *names, const char **values,
		   const char *flag, bool *flag_set, const char *text)
{
	int i, m, k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(text, stdout);
			return -1;
		}
		if (strcmp(argv[i], flag) == 0) {
			*flag_set = true;
			continue;
		}
		for (k = 0, m = 0; names[k] && m == 0; k++)
			m = hcr_cli_option(argc, argv, &i, names[k], &values[k]);
		if (m < 0)
			return hcr_cli_usage_error(text, "option %s needs a value", argv[i]);
		if (m == 0)
			return hcr_cli_usage_error(text, "unexpected argument \"%s\"", argv[i]);
	}
	return 0;
}

/* ---- drift ------------------------------------------------------------------------------- */

struct drift_view {
	hcr_cli *cli;
	hcr_buf path;
	char *last_doc;   /* the last document shown, to tell whether anything changed */
	char *last_error; /* the last error shown, so that a long outage prints it once */
	bool dirty;       /* an event arrived since the last fetch */
	double dirty_at;
	bool tty;
};

static void drift_table(const json_t *doc, FILE *f)
{
	static const char *const heads[] = {"CLUSTER",  "PATH",    "STATE", "DESIRED",
					    "OBSERVED", "APPLIED", "SINCE", "REASON"};
	static const char *const ext_heads[] = {"AT", "CLUSTER", "PATH", "OLD", "NEW"};
	hcr_cli_table *t = hcr_cli_table_new(8, heads), *x = hcr_cli_table_new(5, ext_heads);
	time_t now = time(NULL);
	const json_t *d;
	size_t i;

	for (i = 3; i <= 5; i++)
		hcr_cli_table_width(t, i, 0, VALUE_COLS);
	hcr_cli_table_width(t, 7, 0, 80);
	json_array_foreach(json_object_get(doc, "items"), i, d)
	{
		char *v[3], age[32];
		const char *row[8];

		v[0] = hcr_cli_value_text(json_object_get(d, "desired"));
		v[1] = hcr_cli_value_text(json_object_get(d, "observed"));
		v[2] = hcr_cli_value_text(json_object_get(d, "applied"));
		row[0] = hcr_cli_str(d, "cluster");
		row[1] = hcr_cli_str(d, "path");
		row[2] = hcr_cli_str(d, "state");
		row[3] = v[0];
		row[4] = v[1];
		row[5] = v[2];
		row[6] = hcr_cli_age(json_object_get(d, "since"), now, age, sizeof(age));
		row[7] = hcr_cli_str(d, "reason");
		hcr_cli_table_add(t, row);
		free(v[0]);
		free(v[1]);
		free(v[2]);
	}
	if (hcr_cli_table_rows(t))
		hcr_cli_table_print(t, f);
	else
		fprintf(f, "no drift: every field hcr manages is in sync\n");
	hcr_cli_table_width(x, 3, 0, VALUE_COLS);
	hcr_cli_table_width(x, 4, 0, VALUE_COLS);
	json_array_foreach(json_object_get(doc, "externalChanges"), i, d)
	{
		char *o = hcr_cli_value_text(json_object_get(d, "old"));
		char *n = hcr_cli_value_text(json_object_get(d, "new"));
		const char *row[5] = {hcr_cli_str(d, "at"), hcr_cli_str(d, "cluster"),
				      hcr_cli_str(d, "path"), o, n};

		hcr_cli_table_add(x, row);
		free(o);
		free(n);
	}
	if (hcr_cli_table_rows(x)) {
		fprintf(f, "\nChanged outside hcr (last 24 hours):\n");
		hcr_cli_table_print(x, f);
	}
	hcr_cli_table_free(t);
	hcr_cli_table_free(x);
}

/* Fetches and shows the drift; in a watch, only when it changed (or, on a terminal, always). */
static int drift_show(struct drift_view *w, bool watching)
{
	hcr_cli_resp r;
	hcr_error err;
	char *doc, stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	rc = hcr_cli_request(w->cli, "GET", w->path.data, NULL, -1, &r, &err);
	if (rc != HCR_OK) {
		if (!watching || !w->last_error || strcmp(w->last_error, err.message) != 0)
			hcr_cli_print_error(&err);
		free(w->last_error);
		w->last_error = hcr_strdup(err.message);
		hcr_cli_resp_free(&r);
		return rc;
	}
	free(w->last_error);
	w->last_error = NULL;
	doc = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
	if (watching && !w->tty && w->last_doc && doc && strcmp(doc, w->last_doc) == 0) {
		free(doc);
		hcr_cli_resp_free(&r);
		return HCR_OK;
	}
	if (watching && w->tty) {
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		printf("\033[H\033[2J%s: hcr drift at %s (Ctrl-C to stop)\n\n", w->cli->url, stamp);
	} else if (watching && w->last_doc && w->cli->format == HCR_CLI_TABLE) {
		printf("\n");
	}
	if (w->cli->format == HCR_CLI_TABLE) {
		drift_table(r.json, stdout);
	} else {
		if (watching && w->cli->format == HCR_CLI_YAML)
			printf("---\n");
		hcr_cli_print_doc(w->cli->format, r.json, stdout);
	}
	fflush(stdout);
	free(w->last_doc);
	w->last_doc = doc;
	hcr_cli_resp_free(&r);
	return HCR_OK;
}

static void drift_on_event(long long id, const char *event, json_t *data, void *payload)
{
	struct drift_view *w = payload;

	(void)id;
	(void)event;
	(void)data;
	if (!w->dirty) {
		w->dirty = true;
		w->dirty_at = hcr_cli_now();
	}
}

static int drift_watch(struct drift_view *w, const char *cluster)
{
	hcr_cli_sse *sse = NULL;
	hcr_buf path = {0};
	hcr_error err;
	double last_fetch = hcr_cli_now(), reopen_at = 0;
	bool stream_down = false, warned = false;
	int code = HCR_CLI_EXIT_OK;

	hcr_buf_puts(&path, "/v1/events");
	hcr_cli_query(&path, "cluster", cluster);
	hcr_cli_sse_open(&sse, w->cli, path.data, 0, drift_on_event, w);
	while (!hcr_cli_interrupted()) {
		double now;

		if (!stream_down) {
			int rc = hcr_cli_sse_poll(sse, 250, &err);

			if (rc != HCR_OK && rc != HCR_EUPSTREAM) {
				code = hcr_cli_fail(&err); /* refused: retrying will not help */
				break;
			}
			if (rc != HCR_OK) {
				if (!warned)
					fprintf(stderr,
						"hcr: live updates stopped (%s); refreshing every "
						"%.0f s\n",
						err.message, REFRESH_S);
				warned = true;
				stream_down = true;
				reopen_at = hcr_cli_now() + REFRESH_S;
			}
		} else {
			pause_s(0.25);
		}
		now = hcr_cli_now();
		if (stream_down && now >= reopen_at) {
			hcr_cli_sse_reopen(sse);
			stream_down = false;
		}
		if ((w->dirty && now - w->dirty_at >= SETTLE_S) || now - last_fetch >= REFRESH_S) {
			w->dirty = false;
			last_fetch = now;
			drift_show(w, true);
		}
	}
	hcr_cli_sse_free(sse);
	hcr_buf_free(&path);
	return code;
}

int hcr_cli_drift(hcr_cli *cli, int argc, char **argv)
{
	static const char *const names[] = {"--provider", "--state", "--cluster", NULL};
	const char *values[3] = {NULL, NULL, NULL};
	struct drift_view w = {0};
	bool watch = false;
	int code;

	code = options(argc, argv, names, values, "--watch", &watch, drift_usage);
	if (code)
		return code < 0 ? HCR_CLI_EXIT_OK : code;
	w.cli = cli;
	w.tty = isatty(STDOUT_FILENO) != 0;
	hcr_buf_puts(&w.path, "/v1/drift");
	hcr_cli_query(&w.path, "provider", values[0]);
	hcr_cli_query(&w.path, "state", values[1]);
	hcr_cli_query(&w.path, "cluster", values[2]);
	if (watch)
		hcr_cli_catch_signals();
	code = drift_show(&w, watch) == HCR_OK ? HCR_CLI_EXIT_OK : HCR_CLI_EXIT_FAIL;
	if (code == HCR_CLI_EXIT_OK && watch)
		code = drift_watch(&w, values[2]);
	hcr_buf_free(&w.path);
	free(w.last_doc);
	free(w.last_error);
	return code;
}

/* ---- events ------------------------------------------------------------------------------ */

/* The filters of GET /v1/events, in the order the command keeps them. */
static const char *const event_filters[] = {"cluster", "path", "kind", "since", "until"};

static const char *const event_heads[] = {"AT",  "CLUSTER", "KIND",  "PATH",
					  "OLD", "NEW",     "ACTOR", "MESSAGE"};

struct follow {
	hcr_cli *cli;
	hcr_cli_table *table;
	bool announce; /* say so when the stream drops: an event came since the last warning */
};

static void event_row(const json_t *e, hcr_cli_table *t, FILE *stream)
{
	char *o = hcr_cli_value_text(json_object_get(e, "old"));
	char *n = hcr_cli_value_text(json_object_get(e, "new"));
	const char *row[8] = {hcr_cli_str(e, "at"),
			      hcr_cli_str(e, "cluster"),
			      hcr_cli_str(e, "kind"),
			      hcr_cli_str(e, "path"),
			      o,
			      n,
			      hcr_cli_str(e, "actor"),
			      hcr_cli_str(e, "message")};

	if (stream)
		hcr_cli_table_stream(t, row, stream);
	else
		hcr_cli_table_add(t, row);
	free(o);
	free(n);
}

/* One event as scripts get it while following: a JSON line, or a YAML document. */
static void event_doc(hcr_cli_format format, const json_t *e)
{
	char *line;

	if (format == HCR_CLI_YAML) {
		printf("---\n");
		hcr_cli_print_doc(format, e, stdout);
		return;
	}
	line = json_dumps(e, JSON_COMPACT);
	if (line)
		printf("%s\n", line);
	free(line);
}

/* "10m" -> the RFC 3339 time ten minutes ago; anything else is passed on as it is. */
static char *when(const char *s)
{
	char *end, buf[32];
	double n = strtod(s, &end);
	time_t t;
	struct tm tm;

	if (end == s || n < 0 || !*end || end[1] || !strchr("smhdw", *end))
		return hcr_strdup(s);
	n *= *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 604800;
	t = time(NULL) - (time_t)n;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return hcr_strdup(buf);
}

static void follow_on_event(long long id, const char *event, json_t *data, void *payload)
{
	struct follow *f = payload;

	(void)id;
	if (!data || strcmp(event, "cluster-event") != 0)
		return;
	f->announce = true;
	if (f->cli->format == HCR_CLI_TABLE)
		event_row(data, f->table, stdout);
	else
		event_doc(f->cli->format, data);
	fflush(stdout);
}

static int follow(hcr_cli *cli, hcr_cli_table *t, const char *path, long long last_id)
{
	struct follow f = {cli, t, true};
	hcr_cli_sse *sse = NULL;
	hcr_error err;
	int code = HCR_CLI_EXIT_OK;

	hcr_cli_sse_open(&sse, cli, path, last_id, follow_on_event, &f);
	while (!hcr_cli_interrupted()) {
		int rc = hcr_cli_sse_poll(sse, 500, &err);

		if (rc == HCR_OK)
			continue;
		if (rc != HCR_EUPSTREAM) {
			code = hcr_cli_fail(&err); /* refused: retrying will not help */
			break;
		}
		if (f.announce)
			fprintf(stderr, "hcr: event stream interrupted (%s); reconnecting\n",
				err.message);
		f.announce = false;
		pause_s(RECONNECT_S);
		hcr_cli_sse_reopen(sse); /* resumes after the last event printed */
	}
	hcr_cli_sse_free(sse);
	return code;
}

/* Fetches the newest `limit` events into `items` (newest first), page by page. */
static int fetch_events(hcr_cli *cli, const char *const *filters, long limit, json_t *items,
			json_t **next)
{
	hcr_buf path = {0};
	hcr_error err;
	int k, code = HCR_CLI_EXIT_OK;

	do {
		hcr_cli_resp r;
		char page[24];
		long want = limit - (long)json_array_size(items);

		snprintf(page, sizeof(page), "%ld",
			 want < EVENTS_PAGE_MAX ? want : EVENTS_PAGE_MAX);
		path.len = 0;
		hcr_buf_puts(&path, "/v1/events");
		for (k = 0; k < 5; k++)
			hcr_cli_query(&path, event_filters[k], filters[k]);
		hcr_cli_query(&path, "cursor", json_string_value(*next));
		hcr_cli_query(&path, "limit", page);
		if (hcr_cli_request(cli, "GET", path.data, NULL, -1, &r, &err) != HCR_OK) {
			hcr_cli_resp_free(&r);
			code = hcr_cli_fail(&err);
			break;
		}
		json_array_extend(items, json_object_get(r.json, "items"));
		json_decref(*next);
		*next = json_incref(json_object_get(r.json, "nextCursor"));
		hcr_cli_resp_free(&r);
	} while (json_is_string(*next) && (long)json_array_size(items) < limit);
	hcr_buf_free(&path);
	return code;
}

int hcr_cli_events(hcr_cli *cli, int argc, char **argv)
{
	static const char *const names[] = {"--cluster", "--path",  "--kind", "--since",
					    "--until",   "--limit", NULL};
	static const size_t min_widths[] = {24, 12, 16, 28, 12, 12, 21, 0};
	const char *values[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	char *times[2] = {NULL, NULL}, *end;
	const char *filters[5];
	json_t *items = json_array(), *next = NULL, *out;
	hcr_cli_table *t = NULL;
	hcr_buf path = {0};
	bool follow_on = false;
	long limit;
	size_t i;
	int code;

	code = options(argc, argv, names, values, "--follow", &follow_on, events_usage);
	if (code) {
		code = code < 0 ? HCR_CLI_EXIT_OK : code;
		goto done;
	}
	limit = follow_on ? 10 : 50;
	if (values[5]) {
		limit = strtol(values[5], &end, 10);
		if (end == values[5] || *end || limit < 1) {
			code = hcr_cli_usage_error(events_usage,
						   "--limit must be a positive number");
			goto done;
		}
	}
	for (i = 0; i < 2; i++)
		times[i] = values[3 + i] ? when(values[3 + i]) : NULL;
	filters[0] = values[0];
	filters[1] = values[1];
	filters[2] = values[2];
	filters[3] = times[0];
	filters[4] = times[1];
	code = fetch_events(cli, filters, limit, items, &next);
	if (code != HCR_CLI_EXIT_OK)
		goto done;
	if (cli->format != HCR_CLI_TABLE && !follow_on) {
		out = json_pack("{s:O, s:o}", "items", items, "nextCursor",
				next ? json_incref(next) : json_null());
		hcr_cli_print_doc(cli->format, out, stdout);
		json_decref(out);
		goto done;
	}
	t = hcr_cli_table_new(8, event_heads);
	for (i = 0; i < 8; i++)
		hcr_cli_table_width(t, i, follow_on ? min_widths[i] : 0,
				    i == 4 || i == 5 ? VALUE_COLS : (i == 7 ? 80 : 0));
	for (i = json_array_size(items); i-- > 0;) {
		if (cli->format == HCR_CLI_TABLE)
			event_row(json_array_get(items, i), t, NULL);
		else
			event_doc(cli->format, json_array_get(items, i));
	}
	if (cli->format == HCR_CLI_TABLE && (hcr_cli_table_rows(t) || follow_on))
		hcr_cli_table_print(t, stdout);
	else if (cli->format == HCR_CLI_TABLE)
		fprintf(stderr, "no events found\n");
	if (!follow_on)
		goto done;
	fflush(stdout);
	hcr_cli_catch_signals();
	hcr_buf_puts(&path, "/v1/events");
	for (i = 0; i < 5; i++)
		hcr_cli_query(&path, event_filters[i], filters[i]);
	code = follow(cli, t, path.data,
		      json_integer_value(json_object_get(json_array_get(items, 0), "id")));
done:
	hcr_buf_free(&path);
	hcr_cli_table_free(t);
	free(times[0]);
	free(times[1]);
	json_decref(items);
	json_decref(next);
	return code;
}
