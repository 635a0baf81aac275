/*
 * Clusters hcr creates and deletes in their cloud: the reconciler's side of
 * a cluster's life before it is active and after a user deleted it.
 *
 *   pending_create ── record CreateCluster, state creating ──> create ──> poll
 *        ──> succeeded: active, observe at once (the plan then creates the pools)
 *        ──> failed or refused: create_failed (not polled; last_error says why)
 *   deleting ── record DeleteCluster ──> destroy ──> poll ──> gone: the row is removed
 *
 * The same two rules as for field operations keep this safe: an operation is
 * recorded before it is sent, in the transaction that checks the cluster's
 * version under a row lock (so a delete that raced a creation wins and nothing
 * is sent), and its id is the cloud's idempotency token, so a creation whose
 * answer was lost is sent again without making a second cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/log.h"
#include "hcr/metrics.h"
#include "hcr/names.h"
#include "reconcile_int.h"

#define CREATE_OP "CreateCluster"
#define DELETE_OP "DeleteCluster"

static bool op_is(const struct work *w, const char *kind)
{
	return w->op_id[0] && w->op_operation && strcmp(w->op_operation, kind) == 0;
}

/* Records `kind` as the cluster's planned operation (and `state`, may be NULL). */
static int record(struct work *w, const char *kind, json_t *changes, const char *state,
		  hcr_error *err)
{
	char *text = json_dumps(changes, JSON_COMPACT);
	const char *params[4];
	struct hcr_stmt stmt = {"INSERT INTO operations (id, cluster_id, kind, changes, op_order) "
				"VALUES ($1::uuid, $2::uuid, $3, $4::jsonb, 0)",
				4, params};
	int rc;

	rc = hcr_uuid_generate(w->op_id, err);
	if (rc == HCR_OK) {
		params[0] = w->op_id;
		params[1] = w->id;
		params[2] = kind;
		params[3] = text;
		rc = hcr_work_save_with(w, NULL, NULL, state, &stmt, err);
	}
	free(text);
	if (rc != HCR_OK) {
		w->op_id[0] = '\0';
		return rc;
	}
	snprintf(w->op_state, sizeof(w->op_state), "planned");
	free(w->op_operation);
	w->op_operation = hcr_strdup(kind);
	json_decref(w->op_changes);
	w->op_changes = json_incref(changes);
	return HCR_OK;
}

/* The operation was accepted and has a handle: poll it soon. */
static void started(struct work *w, const char *handle)
{
	hcr_work_op_update(
		w,
		"UPDATE operations SET state = 'started', started_at = now(), handle = $2 "
		"WHERE id = $1::uuid AND $3::text IS NULL",
		handle, NULL);
	free(w->op_handle);
	w->op_handle = hcr_strdup(handle);
	snprintf(w->op_state, sizeof(w->op_state), "started");
	w->delay_s = w->r->cfg->rec_op_poll_ms / 1000.0;
	hcr_work_finish(w);
}

/* Not known to have reached the cloud: stays planned, sent again (same token) later. */
static void retry_later(struct work *w, const hcr_error *err)
{
	hcr_work_op_update(w,
			   "UPDATE operations SET attempt = attempt + 1 "
			   "WHERE id = $1::uuid AND $2::text IS NULL AND $3::text IS NULL",
			   NULL, NULL);
	hcr_work_fail(w, err);
	hcr_work_finish(w);
}

static void reason_of(char *out, size_t size, const hcr_error *err)
{
	snprintf(out, size, "%s", err->detail[0] ? err->detail : err->message);
}

/* ---- creating ------------------------------------------------------------------------------ */

static void create_finished(struct work *w, bool success, const char *reason)
{
	hcr_error err;
	char *last = NULL;
	const char *params[3] = {w->op_id, w->id, NULL};
	struct hcr_stmt ok = {"UPDATE operations SET state = 'succeeded', completed_at = now() "
			      "WHERE id = $1::uuid",
			      1, params};
	/* The state and last_error change with the operation's record, in one go. */
	struct hcr_stmt failed = {
		"WITH op AS (UPDATE operations SET state = 'failed', completed_at = now(), "
		"  error_code = split_part($3::jsonb->>'message', ':', 1), "
		"  error_message = $3::jsonb->>'message' WHERE id = $1::uuid RETURNING 1) "
		"UPDATE clusters SET state = 'create_failed', busy = false, last_error = "
		"$3::jsonb, "
		"  updated_at = now() WHERE id = $2::uuid",
		3, params};
	int rc;

	json_array_append_new(w->events, json_pack("{s:s, s:s, s:s?}", "kind",
						   success ? "created" : "create_failed",
						   "operation", w->op_id, "message", reason));
	hcr_metrics_count(success ? HCR_M_OPS_SUCCEEDED : HCR_M_OPS_FAILED, 1);
	if (success) {
		hcr_log_info("reconcile", "cluster created cluster=%s op=%s", w->name, w->op_id);
		rc = hcr_work_save_with(w, NULL, NULL, "active", &ok, &err);
	} else {
		json_t *o =
			json_pack("{s:s, s:s, s:s}", "code", "create_failed", "message",
				  reason ? reason : "the cloud did not create the cluster", "hint",
				  "read the reason, then delete the cluster from hcr (and from "
				  "the cloud if it left one behind) and register it again");

		last = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		params[2] = last;
		hcr_log_warn("reconcile", "cluster creation failed cluster=%s op=%s reason=%s",
			     w->name, w->op_id, reason ? reason : "?");
		rc = hcr_work_save_with(w, NULL, NULL, NULL, &failed, &err);
	}
	free(last);
	hcr_work_op_clear(w);
	if (rc != HCR_OK) {
		hcr_work_save_failed(w, &err);
		return;
	}
	if (success) {
		/* The cluster exists: observe it now; the plan then creates its pools. */
		hcr_work_call(w, hcr_work_observe);
		return;
	}
	hcr_work_finish(w);
}

static void on_create_sent(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct work *w = payload;
	const char *handle = json_string_value(json_object_get(result, "handle"));
	char reason[1200];

	hcr_work_retry_after(w, result);
	if (status == HCR_OK && json_is_true(json_object_get(result, "done"))) {
		create_finished(w, true, NULL);
	} else if (status == HCR_OK && handle) {
		hcr_log_info("reconcile", "cluster creation started cluster=%s op=%s", w->name,
			     w->op_id);
		started(w, handle);
	} else if (status == HCR_OK || status == HCR_EUPSTREAM || status == HCR_EDENIED) {
		hcr_error e2;

		if (status == HCR_OK)
			hcr_error_set(&e2, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "the cloud accepted the creation without a handle");
		retry_later(w, status == HCR_OK ? &e2 : err);
	} else {
		/* Refused (invalid, or the name is taken): trying again changes nothing. */
		reason_of(reason, sizeof(reason), err);
		create_finished(w, false, reason);
	}
}

static void step_send_create(struct work *w)
{
	hcr_error err;
	int rc = w->prov->ops->create(w->prov->inst, &w->ref, w->op_changes, w->op_id,
				      on_create_sent, w);

	if (rc == HCR_EAGAIN)
		return;
	if (rc == HCR_EINVALID) {
		create_finished(w, false,
				"InvalidConfiguration: the provider refused the cluster's "
				"configuration before calling the cloud (the log says why)");
		return;
	}
	hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL, "provider could not start the creation");
	retry_later(w, &err);
}

void hcr_work_create(struct work *w)
{
	hcr_error err;
	json_t *config;

	if (op_is(w, CREATE_OP) && strcmp(w->op_state, "started") == 0 && w->op_handle) {
		hcr_work_call(w, hcr_work_poll_op);
		return;
	}
	if (op_is(w, CREATE_OP)) {
		/* Recorded, maybe sent: again with the same token. */
		hcr_work_call(w, step_send_create);
		return;
	}
	if (!w->prov->ops->create) {
		create_finished(w, false, "NotSupported: this provider cannot create clusters");
		return;
	}
	config = w->desired_doc ? json_incref(w->desired_doc) : json_object();
	if (record(w, CREATE_OP, config, "creating", &err) != HCR_OK) {
		json_decref(config);
		hcr_work_save_failed(w, &err);
		return;
	}
	json_decref(config);
	hcr_log_info("reconcile", "creating cluster cluster=%s op=%s", w->name, w->op_id);
	hcr_metrics_count(HCR_M_OPS_STARTED, 1);
	hcr_work_call(w, step_send_create);
}

/* ---- deleting ------------------------------------------------------------------------------ */

static void delete_finished(struct work *w, bool success, const char *reason)
{
	PGconn *conn = NULL;
	hcr_error err;
	const char *params[1] = {w->id};
	int rc;

	hcr_metrics_count(success ? HCR_M_OPS_SUCCEEDED : HCR_M_OPS_FAILED, 1);
	if (!success) {
		hcr_work_op_update(w,
				   "UPDATE operations SET state = 'failed', completed_at = now(), "
				   "error_code = split_part($2, ':', 1), error_message = $2 "
				   "WHERE id = $1::uuid AND $3::text IS NULL",
				   reason, NULL);
		hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "the cloud did not delete cluster \"%s\"", w->cloud_name);
		snprintf(err.detail, sizeof(err.detail), "%s", reason ? reason : "");
		hcr_error_hint(&err, "hcr tries again with back-off; the reason is the cloud's");
		hcr_work_op_clear(w);
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
		return;
	}
	/* Gone from the cloud: forget it (its fields, events and operations go with it). */
	rc = hcr_store_acquire(w->r->store, &conn, &err);
	if (rc == HCR_OK) {
		rc = hcr_store_query(
			conn, NULL,
			"DELETE FROM clusters WHERE id = $1::uuid AND state = 'deleting'", 1,
			params, &err);
		hcr_store_release(w->r->store, conn);
	}
	if (rc != HCR_OK) {
		hcr_work_fail(w, &err);
	} else {
		hcr_log_info("reconcile", "cluster deleted in its cloud and forgotten cluster=%s",
			     w->name);
	}
	hcr_work_op_clear(w);
	hcr_work_finish(w);
}

static void on_destroy_sent(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct work *w = payload;
	const char *handle = json_string_value(json_object_get(result, "handle"));
	char reason[1200];

	hcr_work_retry_after(w, result);
	if ((status == HCR_OK && json_is_true(json_object_get(result, "done"))) ||
	    status == HCR_ENOTFOUND) {
		delete_finished(w, true, NULL);
	} else if (status == HCR_OK && handle) {
		hcr_log_info("reconcile", "cluster deletion started cluster=%s op=%s", w->name,
			     w->op_id);
		started(w, handle);
	} else if (status == HCR_ECONFLICT) {
		/* Busy (an update or a creation still running): ask again soon. */
		w->delay_s = w->r->cfg->rec_op_poll_ms / 1000.0;
		hcr_work_finish(w);
	} else if (status == HCR_EINVALID) {
		reason_of(reason, sizeof(reason), err);
		delete_finished(w, false, reason);
	} else {
		hcr_error e2;

		if (status == HCR_OK)
			hcr_error_set(&e2, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "the cloud accepted the deletion without a handle");
		retry_later(w, status == HCR_OK ? &e2 : err);
	}
}

static void step_send_destroy(struct work *w)
{
	hcr_error err;
	int rc = w->prov->ops->destroy(w->prov->inst, &w->ref, on_destroy_sent, w);

	if (rc == HCR_EAGAIN)
		return;
	hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL, "provider could not start the deletion");
	retry_later(w, &err);
}

void hcr_work_delete(struct work *w)
{
	hcr_error err;
	json_t *none;

	if (w->op_id[0] && !op_is(w, DELETE_OP)) {
		/* Whatever was in flight no longer matters: the cluster is going away. */
		hcr_work_op_update(
			w,
			"UPDATE operations SET state = 'cancelled', completed_at = now(), "
			"error_code = 'cluster_deleted', error_message = 'the cluster is "
			"being deleted' WHERE id = $1::uuid AND $2::text IS NULL "
			"AND $3::text IS NULL",
			NULL, NULL);
		hcr_work_op_clear(w);
	}
	if (op_is(w, DELETE_OP) && strcmp(w->op_state, "started") == 0 && w->op_handle) {
		hcr_work_call(w, hcr_work_poll_op);
		return;
	}
	if (op_is(w, DELETE_OP)) {
		hcr_work_call(w, step_send_destroy);
		return;
	}
	if (!w->prov->ops->destroy) {
		hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
			      "the %s provider cannot delete clusters", w->provider);
		hcr_error_hint(&err, "DELETE with ?retain=true to forget it and leave it running");
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
		return;
	}
	none = json_object();
	if (record(w, DELETE_OP, none, NULL, &err) != HCR_OK) {
		json_decref(none);
		hcr_work_save_failed(w, &err);
		return;
	}
	json_decref(none);
	hcr_log_info("reconcile", "deleting cluster in its cloud cluster=%s op=%s", w->name,
		     w->op_id);
	hcr_metrics_count(HCR_M_OPS_STARTED, 1);
	hcr_work_call(w, step_send_destroy);
}

bool hcr_work_lifecycle_done(struct work *w, bool success, const char *reason)
{
	if (op_is(w, CREATE_OP)) {
		create_finished(w, success, reason);
		return true;
	}
	if (op_is(w, DELETE_OP)) {
		delete_finished(w, success, reason);
		return true;
	}
	return false;
}
