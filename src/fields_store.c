/*
 * Per-field state in cluster_fields. Rows go to PostgreSQL as one JSON array
 * expanded with jsonb_to_recordset, so a cluster with many changed fields
 * costs one round trip, and a poll that changed nothing costs none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/fields_store.h"
#include "hcr/mem.h"

static json_t *cell_json(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

static double cell_time(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtod(PQgetvalue(res, row, col), NULL);
}

int hcr_fields_load(PGconn *conn, const char *cluster_id, hcr_fieldset *out, hcr_error *err)
{
	const char *params[1] = {cluster_id};
	PGresult *res = NULL;
	int rc, i;

	rc = hcr_store_query(
		conn, &res,
		"SELECT path, owner, desired, extract(epoch FROM desired_at), observed, "
		"extract(epoch FROM observed_started_at), applied, "
		"applied_operation_id, extract(epoch FROM applied_at), "
		"inflight_operation_id, state, state_reason, "
		"extract(epoch FROM state_since), sent "
		"FROM cluster_fields WHERE cluster_id = $1::uuid ORDER BY path",
		1, params, err);
	if (rc != HCR_OK)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		hcr_field *f = hcr_fieldset_upsert(out, PQgetvalue(res, i, 0));

		hcr_owner_parse(PQgetvalue(res, i, 1), &f->owner);
		f->desired = cell_json(res, i, 2);
		f->desired_at = cell_time(res, i, 3);
		f->observed = cell_json(res, i, 4);
		f->observed_at = cell_time(res, i, 5);
		f->applied = cell_json(res, i, 6);
		f->applied_op = hcr_store_strdup(res, i, 7);
		f->applied_at = cell_time(res, i, 8);
		f->inflight_op = hcr_store_strdup(res, i, 9);
		hcr_field_status_parse(PQgetvalue(res, i, 10), &f->status);
		f->reason = hcr_store_strdup(res, i, 11);
		f->since = cell_time(res, i, 12);
		f->sent = cell_json(res, i, 13);
	}
	PQclear(res);
	return HCR_OK;
}

void hcr_fieldset_clone(hcr_fieldset *out, const hcr_fieldset *fs)
{
	hcr_fieldset_copy(out, fs);
}

static bool json_same(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b);
}

static bool str_same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool field_same(const hcr_field *a, const hcr_field *b)
{
	return a->owner == b->owner && json_same(a->desired, b->desired) &&
	       a->desired_at == b->desired_at && json_same(a->observed, b->observed) &&
	       a->observed_at == b->observed_at && json_same(a->applied, b->applied) &&
	       str_same(a->applied_op, b->applied_op) && a->applied_at == b->applied_at &&
	       str_same(a->inflight_op, b->inflight_op) && json_same(a->sent, b->sent) &&
	       a->status == b->status && str_same(a->reason, b->reason) && a->since == b->since;
}

bool hcr_fieldset_differs(const hcr_fieldset *before, const hcr_fieldset *after)
{
	size_t i;

	if (before->n != after->n)
		return true;
	for (i = 0; i < after->n; i++) {
		const hcr_field *b = hcr_fieldset_get(before, after->items[i].path);

		if (!b || !field_same(&after->items[i], b))
			return true;
	}
	return false;
}

/* A time for jsonb_to_recordset: a number, or null for "never". */
static json_t *time_json(double t)
{
	return t > 0 ? json_real(t) : json_null();
}

static json_t *row_json(const hcr_field *f)
{
	json_t *row = json_object();

	json_object_set_new(row, "path", json_string(f->path));
	json_object_set_new(row, "owner", json_string(hcr_owner_name(f->owner)));
	/* Values are wrapped so that a JSON null value and "absent" stay distinct. */
	json_object_set_new(row, "desired",
			    f->desired ? json_pack("[O]", f->desired) : json_null());
	json_object_set_new(row, "desired_at", time_json(f->desired_at));
	json_object_set_new(row, "observed",
			    f->observed ? json_pack("[O]", f->observed) : json_null());
	json_object_set_new(row, "observed_at", time_json(f->observed_at));
	json_object_set_new(row, "applied",
			    f->applied ? json_pack("[O]", f->applied) : json_null());
	json_object_set_new(row, "applied_op",
			    f->applied_op ? json_string(f->applied_op) : json_null());
	json_object_set_new(row, "applied_at", time_json(f->applied_at));
	json_object_set_new(row, "inflight_op",
			    f->inflight_op ? json_string(f->inflight_op) : json_null());
	json_object_set_new(row, "sent", f->sent ? json_pack("[O]", f->sent) : json_null());
	json_object_set_new(row, "state", json_string(hcr_field_status_name(f->status)));
	json_object_set_new(row, "reason", f->reason ? json_string(f->reason) : json_null());
	json_object_set_new(row, "since", time_json(f->since));
	return row;
}

int hcr_fields_save(PGconn *conn, const char *cluster_id, const hcr_fieldset *before,
		    const hcr_fieldset *after, int *written, hcr_error *err)
{
	json_t *rows = json_array(), *gone = json_array();
	char *rows_text = NULL, *gone_text = NULL;
	const char *params[2];
	size_t i;
	int rc = HCR_OK, n = 0;

	for (i = 0; i < after->n; i++) {
		const hcr_field *a = &after->items[i];
		const hcr_field *b = hcr_fieldset_get(before, a->path);

		if (!b || !field_same(a, b))
			json_array_append_new(rows, row_json(a));
	}
	for (i = 0; i < before->n; i++)
		if (!hcr_fieldset_get(after, before->items[i].path))
			json_array_append_new(gone, json_string(before->items[i].path));

	params[0] = cluster_id;
	if (json_array_size(rows) > 0) {
		rows_text = json_dumps(rows, JSON_COMPACT);
		params[1] = rows_text;
		rc = hcr_store_query(
			conn, NULL,
			"INSERT INTO cluster_fields AS f (cluster_id, path, owner, desired, "
			"desired_at, "
			"observed, observed_started_at, applied, applied_operation_id, applied_at, "
			"inflight_operation_id, sent, state, state_reason, state_since) "
			"SELECT $1::uuid, r.path, r.owner, r.desired->0, "
			"to_timestamp(r.desired_at), "
			"r.observed->0, to_timestamp(r.observed_at), r.applied->0, "
			"r.applied_op::uuid, to_timestamp(r.applied_at), r.inflight_op::uuid, "
			"r.sent->0, r.state, "
			"r.reason, coalesce(to_timestamp(r.since), now()) "
			"FROM jsonb_to_recordset($2::jsonb) AS r(path text, owner text, desired "
			"jsonb, "
			"desired_at float8, observed jsonb, observed_at float8, applied jsonb, "
			"applied_op text, applied_at float8, inflight_op text, sent jsonb, state "
			"text, reason text, "
			"since float8) "
			"ON CONFLICT (cluster_id, path) DO UPDATE SET owner = excluded.owner, "
			"desired = excluded.desired, desired_at = excluded.desired_at, "
			"observed = excluded.observed, observed_started_at = "
			"excluded.observed_started_at, "
			"applied = excluded.applied, applied_operation_id = "
			"excluded.applied_operation_id, "
			"applied_at = excluded.applied_at, "
			"inflight_operation_id = excluded.inflight_operation_id, sent = "
			"excluded.sent, "
			"state = excluded.state, "
			"state_reason = excluded.state_reason, state_since = excluded.state_since",
			2, params, err);
		n += (int)json_array_size(rows);
	}
	if (rc == HCR_OK && json_array_size(gone) > 0) {
		gone_text = json_dumps(gone, JSON_COMPACT);
		params[1] = gone_text;
		rc = hcr_store_query(
			conn, NULL,
			"DELETE FROM cluster_fields WHERE cluster_id = $1::uuid AND path IN "
			"(SELECT jsonb_array_elements_text($2::jsonb))",
			2, params, err);
		n += (int)json_array_size(gone);
	}
	if (written)
		*written = rc == HCR_OK ? n : 0;
	free(rows_text);
	free(gone_text);
	json_decref(rows);
	json_decref(gone);
	return rc;
}

int hcr_events_append(PGconn *conn, const char *cluster_id, const char *actor, json_t *events,
		      hcr_error *err)
{
	const char *params[3];
	char *text;
	int rc;

	if (!events || json_array_size(events) == 0)
		return HCR_OK;
	text = json_dumps(events, JSON_COMPACT);
	params[0] = cluster_id;
	params[1] = actor;
	params[2] = text;
	rc = hcr_store_query(
		conn, NULL,
		"INSERT INTO cluster_events (cluster_id, actor, kind, path, old_value, new_value, "
		"operation_id, message) "
		"SELECT $1::uuid, $2, e->>'kind', e->>'path', e->'old', e->'new', "
		"(e->>'operation')::uuid, e->>'message' "
		"FROM jsonb_array_elements($3::jsonb) AS e",
		3, params, err);
	free(text);
	return rc;
}
