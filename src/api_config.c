/*
 * A cluster's configuration through the API: the full view (desired,
 * observed, applied, effective, per-field state, the operation in flight),
 * edits with JSON merge patches under If-Match, drift, and "poll now".
 *
 * Edits go through the sync engine like everything else: a set field becomes
 * managed, null releases it, immutable fields and version downgrades are
 * refused naming the path. An accepted edit wakes the reconciler through
 * NOTIFY in the same transaction, so it is pushed within a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "hcr/clusters.h"
#include "hcr/fields_store.h"
#include "hcr/names.h"
#include "hcr/provider.h"
#include "hcr/reconcile.h"
#include "store_sql.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cluster's identity row, locked when `lock`. */
struct cluster_row {
	char id[40];
	char name[72];
	char provider[8];
	char state[20];
	long long version;
	const hcr_catalog *cat;
};

static int cluster_row_load(PGconn *conn, const char *id_or_name, bool lock,
			    struct cluster_row *out, hcr_error *err)
{
	const char *params[1] = {id_or_name};
	PGresult *res = NULL;
	const hcr_provider_ops *ops;
	char sql[256];
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT id, name, provider, state, version FROM clusters WHERE %s%s",
		 hcr_uuid_valid(id_or_name) ? "id = $1::uuid" : "name = $1",
		 lock ? " FOR UPDATE" : "");
	rc = hcr_store_query(conn, &res, sql, 1, params, err);
	if (rc != HCR_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
			      "cluster \"%s\" does not exist", id_or_name);
		hcr_error_hint(err, "list clusters with GET /v1/clusters");
		return HCR_ENOTFOUND;
	}
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->provider, sizeof(out->provider), "%s", PQgetvalue(res, 0, 2));
	snprintf(out->state, sizeof(out->state), "%s", PQgetvalue(res, 0, 3));
	out->version = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	ops = hcr_provider_lookup(out->provider);
	out->cat = ops ? ops->catalog : NULL;
	return HCR_OK;
}

static json_t *time_or_null(double t)
{
	char buf[40];
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return json_null();
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03dZ",
		 (int)((t - (double)s) * 1000));
	return json_string(buf);
}

static json_t *value_or_null(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

/* The engine's drift report with times as RFC 3339, like every time in the API. */
static json_t *drift_json(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *items = hcr_engine_drift(cat, fs), *item;
	size_t i;

	json_array_foreach(items, i, item)
	{
		json_t *since = json_object_get(item, "since");

		if (json_is_number(since))
			json_object_set_new(item, "since", time_or_null(json_number_value(since)));
	}
	return items;
}

static json_t *fields_json(const hcr_fieldset *fs)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:o, s:o, s:o, s:s?, s:s?, s:o}",
				  "path", f->path, "owner",
				  f->owner == HCR_OWNER_HCR ? "hcr" : "external", "state",
				  hcr_field_status_name(f->status), "reason", f->reason, "desired",
				  value_or_null(f->desired), "observed", value_or_null(f->observed),
				  "applied", value_or_null(f->applied), "observedAt",
				  time_or_null(f->observed_at), "appliedAt",
				  time_or_null(f->applied_at), "appliedOperation", f->applied_op,
				  "operation", f->inflight_op, "since", time_or_null(f->since)));
	}
	return arr;
}

/* The document built from each field's applied value. */
static json_t *applied_doc(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *flat = json_object(), *doc;
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->items[i].applied)
			json_object_set(flat, fs->items[i].path, fs->items[i].applied);
	doc = hcr_engine_unflatten(cat, flat);
	json_decref(flat);
	return doc;
}

/* Adds the sync model's view of a cluster to its row's JSON (`out`, borrowed). */
static int add_sync_view(PGconn *conn, const struct cluster_row *row, json_t *out, hcr_error *err)
{
	hcr_fieldset fs = {0};
	PGresult *res = NULL;
	const char *params[1] = {row->id};
	int rc;

	rc = hcr_fields_load(conn, row->id, &fs, err);
	if (rc != HCR_OK)
		goto done;
	if (row->cat) {
		json_object_set_new(out, "desired", hcr_engine_desired(row->cat, &fs));
		json_object_set_new(out, "applied", applied_doc(row->cat, &fs));
		json_object_set_new(out, "effective", hcr_engine_effective(row->cat, &fs));
		json_object_set_new(out, "drift", drift_json(row->cat, &fs));
	}
	json_object_set_new(out, "fields", fields_json(&fs));
	rc = hcr_store_query(conn, &res,
			     "SELECT jsonb_build_object('id', id, 'operation', kind, 'pool', pool, "
			     "'state', state, 'handle', handle, 'changes', changes, 'attempt', "
			     "attempt, 'createdAt', " HCR_SQL_TS(
				     "created_at") ") "
						   "FROM operations WHERE cluster_id = $1::uuid "
						   "AND state IN ('planned', 'started') ORDER BY "
						   "created_at LIMIT 1",
			     1, params, err);
	if (rc != HCR_OK)
		goto done;
	json_object_set_new(out, "operation",
			    PQntuples(res) ? hcr_store_json_cell(res, 0, 0) : json_null());
done:
	PQclear(res);
	hcr_fieldset_free(&fs);
	return rc;
}

int hcr_api_cluster_view(PGconn *conn, const char *id_or_name, json_t **out, long long *version,
			 hcr_error *err)
{
	struct cluster_row row;
	int rc;

	/*
	 * One snapshot for the cluster row, its fields and its operation: read in
	 * separate statements, a save committed in between would show fields in
	 * sync with an observation the row does not have yet.
	 */
	*out = NULL;
	rc = hcr_store_query(conn, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
			     err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_clusters_get(conn, id_or_name, out, version, err);
	if (rc == HCR_OK)
		rc = cluster_row_load(conn, id_or_name, false, &row, err);
	if (rc == HCR_OK)
		rc = add_sync_view(conn, &row, *out, err);
	if (rc == HCR_OK)
		rc = hcr_store_commit(conn, err);
	else
		hcr_store_rollback(conn);
	if (rc != HCR_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- PATCH /v1/clusters/{id}/config ------------------------------------------------------ */

static int precondition(struct cluster_row *row, long long if_match, hcr_resp *resp, hcr_error *err)
{
	/*
	 * "*" is refused too: an edit must be made against a version its author has
	 * seen, or a stale pool list could bring back a pool whose deletion in the
	 * cloud was adopted a moment ago.
	 */
	if (if_match <= 0) {
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_PRECONDITION_REQUIRED,
			      "editing a configuration needs an If-Match header with a version");
		hcr_error_hint(err, "GET the cluster and send its ETag back: If-Match: \"%lld\"",
			       row->version);
		return HCR_ECONFLICT;
	}
	if (if_match != row->version) {
		snprintf(resp->etag, sizeof(resp->etag), "\"%lld\"", row->version);
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_PRECONDITION,
			      "cluster \"%s\" has changed: it is at version %lld, If-Match asked "
			      "for %lld",
			      row->name, row->version, if_match);
		hcr_error_detail(err, "current version: %lld", row->version);
		hcr_error_hint(err, "GET the cluster again, reapply your edit, and send the new "
				    "ETag");
		return HCR_ECONFLICT;
	}
	return HCR_OK;
}

static int edit(PGconn *conn, hcr_req *req, json_t *patch, long long if_match, hcr_resp *resp,
		struct cluster_row *row, hcr_error *err)
{
	hcr_fieldset before = {0}, fs = {0};
	hcr_edit_opts o = {0};
	json_t *events = json_array(), *desired = NULL;
	char *desired_text = NULL;
	const char *params[2];
	int rc;

	rc = cluster_row_load(conn, req->params[0], true, row, err);
	if (rc != HCR_OK)
		goto done;
	snprintf(req->target, sizeof(req->target), "cluster:%s", row->name);
	rc = precondition(row, if_match, resp, err);
	if (rc != HCR_OK)
		goto done;
	if (!row->cat) {
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "%s clusters cannot be edited by this build of hcr",
				   row->provider);
		hcr_error_hint(err,
			       "the %s provider is not available yet; its configuration is "
			       "shown but not managed",
			       row->provider);
		goto done;
	}
	rc = hcr_fields_load(conn, row->id, &before, err);
	if (rc != HCR_OK)
		goto done;
	hcr_fieldset_clone(&fs, &before);
	o.cat = row->cat;
	o.exists = strcmp(row->state, "pending_create") != 0;
	o.now = now_s();
	rc = hcr_engine_edit(&fs, &o, patch, events, err);
	if (rc != HCR_OK)
		goto done;
	/* An edit that changes nothing writes nothing and wakes nobody. */
	if (!hcr_fieldset_differs(&before, &fs) && json_array_size(events) == 0)
		goto done;
	rc = hcr_fields_save(conn, row->id, &before, &fs, NULL, err);
	if (rc == HCR_OK)
		rc = hcr_events_append(conn, row->id, req->actor, events, err);
	if (rc != HCR_OK)
		goto done;
	desired = hcr_engine_desired(row->cat, &fs);
	desired_text = json_dumps(desired, JSON_COMPACT);
	params[0] = row->id;
	params[1] = desired_text;
	rc = hcr_store_query(conn, NULL,
			     "UPDATE clusters SET desired = $2::jsonb, version = version + 1, "
			     "updated_at = now() WHERE id = $1::uuid",
			     2, params, err);
	if (rc == HCR_OK)
		rc = hcr_clusters_wake(conn, row->id, err);
done:
	free(desired_text);
	json_decref(desired);
	json_decref(events);
	hcr_fieldset_free(&before);
	hcr_fieldset_free(&fs);
	return rc;
}

int hcr_api_config_patch(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	struct cluster_row row = {0};
	json_t *patch = NULL, *out = NULL;
	PGconn *conn = NULL;
	long long if_match, version = 0;
	int rc;

	rc = hcr_api_if_match(req, &if_match, err);
	if (rc == HCR_OK)
		rc = hcr_api_body_object(req, &patch, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_begin(conn, err);
	if (rc == HCR_OK)
		rc = edit(conn, req, patch, if_match, resp, &row, err);
	if (rc == HCR_OK)
		rc = hcr_store_commit(conn, err);
	else
		hcr_store_rollback(conn);
	if (rc == HCR_OK)
		rc = hcr_api_cluster_view(conn, row.id, &out, &version, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		goto done;
	snprintf(resp->etag, sizeof(resp->etag), "\"%lld\"", version);
	hcr_api_reply(resp, 200, out);
done:
	json_decref(patch);
	return rc;
}

/* ---- POST /v1/clusters/{id}/refresh ----------------------------------------------------- */

int hcr_api_cluster_refresh(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	struct cluster_row row;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = cluster_row_load(conn, req->params[0], false, &row, err);
	if (rc == HCR_OK) {
		snprintf(req->target, sizeof(req->target), "cluster:%s", row.name);
		rc = hcr_clusters_wake(conn, row.id, err);
	}
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 202,
			      json_pack("{s:s, s:s}", "cluster", row.name, "status", "scheduled"));
	return rc;
}

/* ---- drift --------------------------------------------------------------------------------- */

#define EXTERNAL_CHANGES                                                                           \
	"SELECT coalesce(jsonb_agg(jsonb_build_object('cluster', c.name, 'path', e.path, "         \
	"'old', e.old_value, 'new', e.new_value, 'at', " HCR_SQL_TS(                               \
		"e.at") ") ORDER BY e.id "                                                         \
			"DESC), '[]') FROM (SELECT * FROM cluster_events e WHERE e.kind = "        \
			"'external_change' "                                                       \
			"AND e.at > now() - interval '24 hours' %s ORDER BY e.id DESC LIMIT 100) " \
			"e "                                                                       \
			"JOIN clusters c ON c.id = e.cluster_id"

int hcr_api_cluster_drift(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	struct cluster_row row;
	hcr_fieldset fs = {0};
	PGconn *conn = NULL;
	PGresult *res = NULL;
	const char *params[1];
	char sql[1024];
	json_t *out = NULL;
	int rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = cluster_row_load(conn, req->params[0], false, &row, err);
	if (rc == HCR_OK)
		rc = hcr_fields_load(conn, row.id, &fs, err);
	if (rc == HCR_OK) {
		params[0] = row.id;
		snprintf(sql, sizeof(sql), EXTERNAL_CHANGES, "AND e.cluster_id = $1::uuid");
		rc = hcr_store_query(conn, &res, sql, 1, params, err);
	}
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK) {
		out = json_pack("{s:s, s:s, s:o, s:o}", "cluster", row.name, "id", row.id, "fields",
				row.cat ? drift_json(row.cat, &fs) : json_array(),
				"externalChanges", hcr_store_json_cell(res, 0, 0));
		hcr_api_reply(resp, 200, out);
	}
	PQclear(res);
	hcr_fieldset_free(&fs);
	return rc;
}

/*
 * Fleet drift: SQL finds the clusters that may drift (a managed field not in
 * sync, or whose desired and observed values differ as JSON); the engine then
 * decides for each, comparing as the catalog says (versions as versions, a
 * removed key as absent), exactly as the per-cluster report does.
 */
static int fleet_drift(PGconn *conn, const char *const params[3], const char *state, json_t *items,
		       hcr_error *err)
{
	PGresult *res = NULL;
	int rc, i;

	rc = hcr_store_query(
		conn, &res,
		"SELECT c.id, c.name, c.provider FROM clusters c "
		"WHERE ($1::text IS NULL OR c.provider = $1) "
		"AND ($3::text IS NULL OR c.name = $3 OR c.id::text = $3) "
		"AND EXISTS (SELECT 1 FROM cluster_fields f WHERE f.cluster_id = c.id "
		"  AND f.owner = 'hcr' AND (f.state <> 'in_sync' OR f.desired IS DISTINCT FROM "
		"  f.observed) AND ($2::text IS NULL OR $2 = 'in_sync' OR f.state = $2)) "
		"ORDER BY c.name LIMIT 1000",
		3, params, err);
	for (i = 0; rc == HCR_OK && i < PQntuples(res); i++) {
		const hcr_provider_ops *ops = hcr_provider_lookup(PQgetvalue(res, i, 2));
		hcr_fieldset fs = {0};
		json_t *drift, *item;
		size_t k;

		if (!ops)
			continue;
		rc = hcr_fields_load(conn, PQgetvalue(res, i, 0), &fs, err);
		if (rc != HCR_OK)
			break;
		drift = drift_json(ops->catalog, &fs);
		json_array_foreach(drift, k, item)
		{
			if (state &&
			    strcmp(state, json_string_value(json_object_get(item, "state"))) != 0)
				continue;
			json_object_set_new(item, "cluster", json_string(PQgetvalue(res, i, 1)));
			json_object_set_new(item, "id", json_string(PQgetvalue(res, i, 0)));
			json_object_set_new(item, "provider", json_string(PQgetvalue(res, i, 2)));
			json_array_append(items, item);
		}
		json_decref(drift);
		hcr_fieldset_free(&fs);
	}
	PQclear(res);
	return rc;
}

int hcr_api_drift(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	const char *provider = hcr_api_query(req, "provider");
	const char *state = hcr_api_query(req, "state");
	const char *cluster = hcr_api_query(req, "cluster");
	const char *params[3] = {provider, state, cluster};
	PGconn *conn = NULL;
	PGresult *ext = NULL;
	json_t *items = json_array();
	char sql[1024];
	int rc;

	if (state && strcmp(state, "pending") != 0 && strcmp(state, "applying") != 0 &&
	    strcmp(state, "failed") != 0 && strcmp(state, "conflict") != 0 &&
	    strcmp(state, "blocked") != 0 && strcmp(state, "in_sync") != 0) {
		json_decref(items);
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
				     "query parameter \"state\" must be pending, applying, failed, "
				     "conflict, blocked or in_sync");
	}
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK) {
		json_decref(items);
		return rc;
	}
	rc = fleet_drift(conn, params, state, items, err);
	if (rc == HCR_OK) {
		snprintf(sql, sizeof(sql), EXTERNAL_CHANGES,
			 "AND ($1::text IS NULL OR e.cluster_id IN (SELECT id FROM clusters WHERE "
			 "provider = $1)) AND ($3::text IS NULL OR e.cluster_id IN (SELECT id FROM "
			 "clusters WHERE name = $3 OR id::text = $3)) AND ($2::text IS NULL OR "
			 "$2 = $2)");
		rc = hcr_store_query(conn, &ext, sql, 3, params, err);
	}
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 200,
			      json_pack("{s:O, s:o}", "items", items, "externalChanges",
					hcr_store_json_cell(ext, 0, 0)));
	json_decref(items);
	PQclear(ext);
	return rc;
}
