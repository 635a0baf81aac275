/*
 * GET /v1/events: the append-only history of every cluster's desired,
 * observed, applied and ownership changes, and of config sync's results
 * (kinds "sync.*", which may be about a kubeconfig context rather than a
 * registered cluster), filtered and paginated, or as a live Server-Sent
 * Events stream (Accept: text/event-stream).
 *
 * A stream holds its connection's own thread (the API serves one thread per
 * connection) and looks for new events twice a second; it resumes after the
 * Last-Event-ID a reconnecting client sends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_int.h"
#include "hcr/log.h"
#include "hcr/names.h"
#include "store_sql.h"

/* Values keep their nulls: only the envelope's empty fields are dropped. */
#define EVENT_JSON                                                                            \
	"(jsonb_strip_nulls(jsonb_build_object('id', e.id, 'cluster', coalesce(c.name, "      \
	"e.context), "                                                                        \
	"'clusterId', c.id, 'context', e.context, "                                           \
	"'at', " HCR_SQL_TS("e.at") ", 'actor', e.actor, 'kind', e.kind, 'path', e.path, "    \
				    "'operation', e.operation_id, 'message', e.message)) || " \
				    "jsonb_build_object('old', e.old_value, 'new', e.new_value))"

/*
 * Filters shared by the list and the stream: $1 cluster (a registered
 * cluster's name or id, or a context's name, bare or as "context:NAME"),
 * $2 path (config sync's paths are "Kind/namespace/name"), $3 kind ("sync.*"
 * is every kind that starts with "sync."), $4 since, $5 until.
 */
#define EVENT_FILTERS                                                                \
	"($1::text IS NULL OR c.name = $1 OR c.id::text = $1 OR e.context = $1 "     \
	"     OR 'context:' || e.context = $1) "                                     \
	"AND ($2::text IS NULL OR e.path = $2 OR starts_with(e.path, $2 || '.') "    \
	"     OR starts_with(e.path, $2 || '[') OR starts_with(e.path, $2 || '/')) " \
	"AND ($3::text IS NULL OR e.kind = $3 "                                      \
	"     OR (right($3, 2) = '.*' AND starts_with(e.kind, left($3, -1)))) "      \
	"AND ($4::timestamptz IS NULL OR e.at >= $4::timestamptz) "                  \
	"AND ($5::timestamptz IS NULL OR e.at < $5::timestamptz) "

static int parse_id(const char *s, const char *what, long long *out, hcr_error *err)
{
	char *end;

	*out = 0;
	if (!s)
		return HCR_OK;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || end == s || *end || *out < 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
				     "%s must be an event id (a non-negative integer)", what);
	return HCR_OK;
}

/* Checks since/until are timestamps PostgreSQL understands, with a clear error otherwise. */
static int check_time(PGconn *conn, const char *v, const char *name, hcr_error *err)
{
	const char *params[1] = {v};
	hcr_error e2;

	if (!v)
		return HCR_OK;
	if (hcr_store_query(conn, NULL, "SELECT $1::timestamptz", 1, params, &e2) == HCR_OK)
		return HCR_OK;
	if (e2.code[0] && strcmp(e2.code, HCR_ERR_UNAVAILABLE) == 0) {
		*err = e2;
		return HCR_EUPSTREAM;
	}
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
		      "query parameter \"%s\" is not a timestamp", name);
	hcr_error_hint(err, "use RFC 3339, for example 2026-11-21T18:00:00Z");
	return HCR_EINVALID;
}

struct stream {
	hcr_api *api;
	char *filters[5];
	long long after;
	hcr_buf pending; /* formatted events not yet handed to libmicrohttpd */
	size_t offset;
	int idle_ticks;
};

static void stream_free(void *cls)
{
	struct stream *s = cls;
	int i;

	for (i = 0; i < 5; i++)
		free(s->filters[i]);
	hcr_buf_free(&s->pending);
	free(s);
}

/* Fetches events after s->after into s->pending; returns how many. */
static int stream_fetch(struct stream *s)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	hcr_error err;
	char after[32];
	const char *params[6];
	int i, n = 0;

	snprintf(after, sizeof(after), "%lld", s->after);
	for (i = 0; i < 5; i++)
		params[i] = s->filters[i];
	params[5] = after;
	if (hcr_store_acquire(s->api->store, &conn, &err) != HCR_OK)
		return 0; /* the database is away: try again at the next tick */
	if (hcr_store_query(conn, &res,
			    "SELECT e.id, " EVENT_JSON " FROM cluster_events e "
			    "LEFT JOIN clusters c ON c.id = e.cluster_id WHERE " EVENT_FILTERS
			    "AND e.id > $6::bigint ORDER BY e.id LIMIT 500",
			    6, params, &err) == HCR_OK) {
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			s->after = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			hcr_buf_printf(&s->pending, "id: %lld\nevent: %s\ndata: %s\n\n", s->after,
				       "cluster-event", PQgetvalue(res, i, 1));
		}
	}
	PQclear(res);
	hcr_store_release(s->api->store, conn);
	return n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t left;

	(void)pos;
	while (s->offset >= s->pending.len) {
		s->pending.len = 0;
		s->offset = 0;
		if (stream_fetch(s) > 0)
			break;
		/* A comment line now and then keeps proxies from closing an idle stream. */
		if (++s->idle_ticks >= 30) {
			s->idle_ticks = 0;
			hcr_buf_puts(&s->pending, ": keep-alive\n\n");
			break;
		}
		usleep(500 * 1000);
	}
	s->idle_ticks = 0;
	left = s->pending.len - s->offset;
	if (left > max)
		left = max;
	memcpy(buf, s->pending.data + s->offset, left);
	s->offset += left;
	return (ssize_t)left;
}

int hcr_api_events_list(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	const char *accept = hcr_api_header(req, "Accept");
	const char *f[5] = {hcr_api_query(req, "cluster"), hcr_api_query(req, "path"),
			    hcr_api_query(req, "kind"), hcr_api_query(req, "since"),
			    hcr_api_query(req, "until")};
	const char *limit_s = hcr_api_query(req, "limit");
	long long before = 0, limit = 100, last = 0;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char before_s[32], limit_b[24];
	const char *params[7];
	int rc, i, n;
	json_t *items;

	rc = parse_id(hcr_api_query(req, "cursor"), "query parameter \"cursor\"", &before, err);
	if (rc == HCR_OK && limit_s) {
		rc = parse_id(limit_s, "query parameter \"limit\"", &limit, err);
		if (rc == HCR_OK && (limit < 1 || limit > 1000))
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
					   "query parameter \"limit\" must be from 1 to 1000");
	}
	if (rc == HCR_OK)
		rc = parse_id(hcr_api_header(req, "Last-Event-ID"), "header Last-Event-ID", &last,
			      err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = check_time(conn, f[3], "since", err);
	if (rc == HCR_OK)
		rc = check_time(conn, f[4], "until", err);
	if (rc != HCR_OK || (accept && strstr(accept, "text/event-stream"))) {
		hcr_store_release(req->api->store, conn);
		if (rc != HCR_OK)
			return rc;
		{
			struct stream *s = hcr_calloc(1, sizeof(*s));

			s->api = req->api;
			for (i = 0; i < 5; i++)
				s->filters[i] = hcr_strdup(f[i]);
			s->after = last;
			if (!last) {
				/* A new watcher starts from now, not from the beginning of time. */
				PGconn *c2 = NULL;
				PGresult *r2 = NULL;

				if (hcr_store_acquire(req->api->store, &c2, err) != HCR_OK) {
					stream_free(s);
					return HCR_EUPSTREAM;
				}
				if (hcr_store_query(
					    c2, &r2,
					    "SELECT coalesce(max(id), 0) FROM cluster_events", 0,
					    NULL, err) == HCR_OK)
					s->after = strtoll(PQgetvalue(r2, 0, 0), NULL, 10);
				PQclear(r2);
				hcr_store_release(req->api->store, c2);
			}
			resp->stream = MHD_create_response_from_callback(
				MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
			resp->status = 200;
			resp->content_type = "text/event-stream";
			return HCR_OK;
		}
	}
	snprintf(before_s, sizeof(before_s), "%lld", before);
	snprintf(limit_b, sizeof(limit_b), "%lld", limit + 1);
	for (i = 0; i < 5; i++)
		params[i] = f[i];
	params[5] = before ? before_s : NULL;
	params[6] = limit_b;
	rc = hcr_store_query(conn, &res,
			     "SELECT " EVENT_JSON ", e.id FROM cluster_events e "
			     "LEFT JOIN clusters c ON c.id = e.cluster_id WHERE " EVENT_FILTERS
			     "AND ($6::bigint IS NULL OR e.id < $6::bigint) "
			     "ORDER BY e.id DESC LIMIT $7::int",
			     7, params, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		return rc;
	n = PQntuples(res);
	items = hcr_store_json_rows(res, 0, (int)limit);
	hcr_api_reply(resp, 200,
		      json_pack("{s:o, s:o}", "items", items, "nextCursor",
				n > limit ? json_string(PQgetvalue(res, (int)limit - 1, 1))
					  : json_null()));
	PQclear(res);
	return HCR_OK;
}
