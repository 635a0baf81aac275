/*
 * One cluster's poll: load its state, observe it, let the engine decide,
 * persist what changed, push one operation, track operations to their end.
 *
 * Two rules keep users' changes safe here:
 *  - every save checks the cluster's version under a row lock; an edit made
 *    through the API while this poll ran wins, and this poll's results are
 *    dropped (the edit also woke the cluster, so it is polled again at once);
 *  - an operation is written to the database, with its fields marked
 *    applying, before it is sent; its id is the cloud's idempotency token, so
 *    a poll that finds it unsent (a crash, a lost response) sends it again
 *    without it ever being applied twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcr/credentials.h"
#include "hcr/crypto.h"
#include "hcr/fields_store.h"
#include "hcr/log.h"
#include "hcr/metrics.h"
#include "hcr/names.h"
#include "hcr/provider_run.h"
#include "reconcile_int.h"

double hcr_work_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- providers --------------------------------------------------------------------------- */

int hcr_reconcile_providers_init(hcr_reconciler *r, hcr_buf *served, hcr_error *err)
{
	static const char *const names[] = {"eks", "aks", "gke", "fake"};
	size_t i;
	int rc;

	hcr_buf_puts(served, "{");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const hcr_provider_ops *ops = hcr_provider_lookup(names[i]);
		hcr_provider_config pc;
		struct provider_slot *slot;

		if (!ops || !hcr_provider_config_for(&pc, r->cfg, names[i]))
			continue;
		pc.http = r->http;
		slot = &r->providers[r->nproviders];
		rc = ops->create_instance(&slot->inst, &pc, err);
		if (rc != HCR_OK)
			return rc;
		slot->ops = ops;
		r->nproviders++;
		hcr_buf_printf(served, "%s%s", served->len > 1 ? "," : "", names[i]);
	}
	hcr_buf_puts(served, "}");
	return HCR_OK;
}

void hcr_reconcile_providers_free(hcr_reconciler *r)
{
	size_t i;

	for (i = 0; i < r->nproviders; i++)
		r->providers[i].ops->free_instance(r->providers[i].inst);
	r->nproviders = 0;
}

static const struct provider_slot *slot_for(hcr_reconciler *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nproviders; i++)
		if (strcmp(r->providers[i].ops->name, name) == 0)
			return &r->providers[i];
	return NULL;
}

/* ---- persistence --------------------------------------------------------------------------- */

void hcr_work_op_clear(struct work *w)
{
	w->op_id[0] = '\0';
	w->op_state[0] = '\0';
	free(w->op_handle);
	free(w->op_operation);
	free(w->op_pool);
	json_decref(w->op_changes);
	w->op_handle = w->op_operation = w->op_pool = NULL;
	w->op_changes = NULL;
}

/* Seconds an opened credential is reused before it is read and opened again. */
#define CRED_CACHE_S 60.0

/*
 * The credential's secret, opened at most once a minute per credential (and
 * again at once when the credential row changes): thousands of clusters share
 * a few credentials, and every poll needs one.
 */
static int credential(struct work *w, PGconn *conn, hcr_error *err)
{
	hcr_reconciler *r = w->r;
	double now = ev_now(r->loop);
	struct cred_cache **pp, *c;
	char provider[8];
	int rc;

	for (pp = &r->creds; (c = *pp) != NULL; pp = &c->next) {
		if (strcmp(c->id, w->credential_id) != 0)
			continue;
		if (c->updated == w->credential_updated && now - c->opened < CRED_CACHE_S) {
			w->secret = json_incref(c->secret);
			return HCR_OK;
		}
		*pp = c->next;
		json_decref(c->secret);
		free(c);
		break;
	}
	rc = hcr_credentials_open(conn, w->credential, r->key, &w->secret, provider, err);
	if (rc != HCR_OK)
		return rc;
	c = hcr_calloc(1, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", w->credential_id);
	c->updated = w->credential_updated;
	c->opened = now;
	c->secret = json_incref(w->secret);
	c->next = r->creds;
	r->creds = c;
	return HCR_OK;
}

void hcr_reconcile_creds_free(hcr_reconciler *r)
{
	while (r->creds) {
		struct cred_cache *c = r->creds;

		r->creds = c->next;
		json_decref(c->secret);
		free(c);
	}
}

/* Loads the credential (the operation in flight came with the claim). */
static int load(struct work *w, hcr_error *err)
{
	hcr_reconciler *r = w->r;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_store_acquire(r->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = credential(w, conn, err);
	hcr_store_release(r->store, conn);
	if (rc == HCR_OK)
		w->ref.secret = w->secret;
	return rc;
}

/* Loads the fields, once per unit of work, when something needs deciding. */
static int load_fields(struct work *w, hcr_error *err)
{
	PGconn *conn = NULL;
	int rc;

	if (w->fields_loaded)
		return HCR_OK;
	rc = hcr_store_acquire(w->r->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_fields_load(conn, w->id, &w->fs, err);
	hcr_store_release(w->r->store, conn);
	if (rc == HCR_OK) {
		hcr_fieldset_clone(&w->before, &w->fs);
		w->fields_loaded = true;
	}
	return rc;
}

/* Every field in sync with nothing in flight: the next unchanged poll can skip them. */
static bool fields_settled(const hcr_fieldset *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->items[i].status != HCR_FS_IN_SYNC || fs->items[i].inflight_op)
			return false;
	return true;
}

/* Checks, under the row lock, that nobody edited the cluster since it was claimed. */
static int lock_version(PGconn *conn, struct work *w, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {w->id};
	int rc;

	rc = hcr_store_query(conn, &res,
			     "SELECT version FROM clusters WHERE id = $1::uuid FOR UPDATE", 1,
			     params, err);
	if (rc != HCR_OK)
		return rc;
	if (PQntuples(res) != 1)
		rc = hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				   "cluster \"%s\" was deleted during its poll", w->name);
	else if (strtoll(PQgetvalue(res, 0, 0), NULL, 10) != w->version)
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "cluster \"%s\" was edited during its poll", w->name);
	PQclear(res);
	return rc;
}

/*
 * Whether `events` record a change made outside hcr (a console edit, a pool
 * made or deleted elsewhere, a value adopted). Such a change advances the
 * cluster's version, so that an edit made from a view loaded before it (its
 * If-Match) is refused with 412 instead of writing that view's stale values
 * back (rancher#29023, eks-operator#469).
 */
static bool outside_change(json_t *events)
{
	static const char *const kinds[] = {"external_change",   "pool_external", "adopted",
					    "downgrade_adopted", "conflict",      NULL};
	json_t *e;
	size_t i, k;

	json_array_foreach(events, i, e)
	{
		const char *kind = json_string_value(json_object_get(e, "kind"));

		for (k = 0; kind && kinds[k]; k++)
			if (strcmp(kind, kinds[k]) == 0)
				return true;
	}
	return false;
}

/*
 * Writes fields, events and the cluster row's changes in one transaction.
 * `observed` (may be NULL) is the cloud's document when it changed; `state`
 * (may be NULL) the cluster's new state; `extra` (may be NULL) runs in the
 * same transaction, so an operation's record and its fields' state can never
 * disagree after a crash.
 */
int hcr_work_save_with(struct work *w, json_t *observed, const char *hash, const char *state,
		       const struct hcr_stmt *extra, hcr_error *err)
{
	hcr_reconciler *r = w->r;
	const hcr_catalog *cat = w->prov->ops->catalog;
	bool fields_changed = hcr_fieldset_differs(&w->before, &w->fs);
	/* The desired document is made of the fields: it can only change with them. */
	json_t *desired =
		fields_changed || !w->desired_doc ? hcr_engine_desired(cat, &w->fs) : NULL;
	bool desired_changed = desired && (!w->desired_doc || !json_equal(desired, w->desired_doc));
	bool state_changed = state && strcmp(state, w->state) != 0;
	bool settled = fields_settled(&w->fs);
	bool settled_changed = settled != w->settled;
	bool outside = outside_change(w->events);
	bool bumped = desired_changed || outside;
	char *desired_text = NULL, *observed_text = NULL, at[32];
	PGconn *conn = NULL;
	const char *params[8];
	int rc = HCR_OK, written = 0;

	/* Nothing new: no statement at all, not even a row lock. */
	if (!extra && !desired_changed && !observed && !state_changed && !settled_changed &&
	    json_array_size(w->events) == 0 && !fields_changed)
		goto done;
	rc = hcr_store_acquire(r->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_begin(conn, err);
	if (rc == HCR_OK)
		rc = lock_version(conn, w, err);
	if (rc == HCR_OK && extra)
		rc = hcr_store_query(conn, NULL, extra->sql, extra->nparams, extra->params, err);
	if (rc == HCR_OK)
		rc = hcr_fields_save(conn, w->id, &w->before, &w->fs, &written, err);
	if (rc == HCR_OK)
		rc = hcr_events_append(conn, w->id, "reconciler", w->events, err);
	if (rc == HCR_OK &&
	    (desired_changed || observed || state_changed || settled_changed || outside)) {
		desired_text = desired_changed ? json_dumps(desired, JSON_COMPACT) : NULL;
		observed_text =
			observed ? json_dumps(observed, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		snprintf(at, sizeof(at), "%.6f", w->observed_at);
		params[0] = w->id;
		params[1] = desired_text;
		params[2] = observed_text;
		params[3] = observed ? hash : NULL;
		params[4] = at;
		params[5] = state_changed ? state : NULL;
		params[6] = settled ? "true" : "false";
		params[7] = bumped ? "1" : "0";
		rc = hcr_store_query(
			conn, NULL,
			"UPDATE clusters SET desired = coalesce($2::jsonb, desired), "
			"version = version + $8::int, "
			"observed = coalesce($3::jsonb, observed), "
			"observed_hash = coalesce($4, observed_hash), "
			"observed_started_at = CASE WHEN $3 IS NULL THEN observed_started_at "
			"  ELSE to_timestamp($5::float8) END, "
			"state = coalesce($6, state), busy = coalesce($6, state) = 'updating', "
			"last_error = CASE WHEN $6 IS NULL THEN last_error ELSE NULL END, "
			"updated_at = CASE WHEN $2 IS NULL AND $6 IS NULL THEN updated_at "
			"  ELSE now() END, settled = $7::boolean "
			"WHERE id = $1::uuid",
			8, params, err);
	}
	if (rc == HCR_OK)
		rc = hcr_store_commit(conn, err);
	if (rc != HCR_OK) {
		hcr_store_rollback(conn);
		goto done;
	}
	/* What is in the database is now the baseline for the next save. */
	hcr_fieldset_free(&w->before);
	hcr_fieldset_clone(&w->before, &w->fs);
	json_array_clear(w->events);
	if (desired_changed) {
		json_decref(w->desired_doc);
		w->desired_doc = json_incref(desired);
	}
	if (bumped)
		w->version++;
	if (observed) {
		free(w->observed_hash);
		w->observed_hash = hcr_strdup(hash);
	}
	if (state_changed)
		snprintf(w->state, sizeof(w->state), "%s", state);
	w->settled = settled;
done:
	if (conn)
		hcr_store_release(r->store, conn);
	free(desired_text);
	free(observed_text);
	json_decref(desired);
	return rc;
}

static int save(struct work *w, json_t *observed, const char *hash, const char *state,
		hcr_error *err)
{
	return hcr_work_save_with(w, observed, hash, state, NULL, err);
}

/* Runs one statement about the cluster's operation ($1 = op id, then `extra`). */
void hcr_work_op_update(struct work *w, const char *sql, const char *p2, const char *p3)
{
	PGconn *conn = NULL;
	hcr_error err;
	const char *params[3] = {w->op_id, p2, p3};

	if (hcr_store_acquire(w->r->store, &conn, &err) != HCR_OK ||
	    hcr_store_query(conn, NULL, sql, 3, params, &err) != HCR_OK)
		hcr_log_warn("reconcile", "cannot record operation cluster=%s op=%s error=%s",
			     w->name, w->op_id, err.message);
	if (conn)
		hcr_store_release(w->r->store, conn);
}

/* A save that lost to a concurrent edit ends the poll quietly: the edit woke it. */
void hcr_work_save_failed(struct work *w, const hcr_error *err)
{
	if (strcmp(err->code, HCR_ERR_CONFLICT) == 0) {
		hcr_log_debug("reconcile", "edited during poll; polling again cluster=%s", w->name);
		w->delay_s = 0;
	} else {
		hcr_work_fail(w, err);
	}
	hcr_work_finish(w);
}

/* ---- operations ------------------------------------------------------------------------- */

static void field_op_done(struct work *w, bool success, const char *reason)
{
	int rc;
	hcr_error err;
	double at = hcr_work_now();
	char *id = hcr_strdup(w->op_id);
	const char *params[2] = {id, reason};
	struct hcr_stmt record = {
		success ? "UPDATE operations SET state = 'succeeded', completed_at = now() "
			  "WHERE id = $1::uuid"
			: "UPDATE operations SET state = 'failed', completed_at = now(), "
			  "error_code = split_part($2, ':', 1), error_message = $2 "
			  "WHERE id = $1::uuid",
		success ? 1 : 2, params};

	hcr_engine_op_finished(&w->fs, id, success, reason, at, w->events);
	hcr_metrics_count(success ? HCR_M_OPS_SUCCEEDED : HCR_M_OPS_FAILED, 1);
	hcr_log_info("reconcile", "operation finished cluster=%s op=%s operation=%s result=%s%s%s",
		     w->name, id, w->op_operation ? w->op_operation : "?",
		     success ? "succeeded" : "failed", reason ? " reason=" : "",
		     reason ? reason : "");
	/* The cloud is done with it either way; the next observation says more. */
	rc = hcr_work_save_with(w, NULL, NULL, "active", &record, &err);
	free(id);
	hcr_work_op_clear(w);
	if (rc != HCR_OK) {
		hcr_work_save_failed(w, &err);
		return;
	}
	if (success) {
		/* Our own change is done: look at the cloud now rather than in five minutes. */
		hcr_work_call(w, hcr_work_observe);
		return;
	}
	w->failed = true;
	hcr_work_finish(w);
}

/* An operation ended: a cluster's creation or deletion, or a change to its fields. */
static void op_done(struct work *w, bool success, const char *reason)
{
	if (!hcr_work_lifecycle_done(w, success, reason))
		field_op_done(w, success, reason);
}

static void on_polled(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct work *w = payload;
	const char *state = json_string_value(json_object_get(result, "state"));

	hcr_work_retry_after(w, result);
	if (status == HCR_ENOTFOUND) {
		op_done(w, false, "OperationNotFound: the cloud no longer knows this operation");
		return;
	}
	if (status != HCR_OK || !state) {
		hcr_error e2;

		if (status == HCR_OK)
			hcr_error_set(&e2, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "operation status without a state");
		hcr_work_fail(w, status == HCR_OK ? &e2 : err);
		hcr_work_finish(w);
		return;
	}
	if (strcmp(state, "running") == 0) {
		w->delay_s = w->r->cfg->rec_op_poll_ms / 1000.0;
		hcr_work_finish(w);
	} else if (strcmp(state, "succeeded") == 0) {
		op_done(w, true, NULL);
	} else {
		json_t *e = json_object_get(result, "error");
		char reason[512];

		snprintf(reason, sizeof(reason), "%s: %s",
			 json_string_value(json_object_get(e, "code"))
				 ? json_string_value(json_object_get(e, "code"))
				 : state,
			 json_string_value(json_object_get(e, "message"))
				 ? json_string_value(json_object_get(e, "message"))
				 : "the operation did not succeed");
		op_done(w, false, reason);
	}
}

void hcr_work_poll_op(struct work *w)
{
	hcr_error err;
	int rc = w->prov->ops->poll_operation(w->prov->inst, &w->ref, w->op_handle, on_polled, w);

	if (rc != HCR_EAGAIN) {
		hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "provider could not start polling operation %s", w->op_id);
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
	}
}

/* The cloud was busy with an update of its own: the fields go back to pending. */
static void op_busy(struct work *w)
{
	hcr_error err;
	size_t i;
	const char *params[1] = {w->op_id};
	struct hcr_stmt record = {
		"UPDATE operations SET state = 'cancelled', completed_at = now(), "
		"error_code = 'busy', error_message = 'the cloud was busy with "
		"another update' WHERE id = $1::uuid",
		1, params};
	int rc;

	for (i = 0; i < w->fs.n; i++) {
		hcr_field *f = &w->fs.items[i];

		if (f->inflight_op && strcmp(f->inflight_op, w->op_id) == 0) {
			free(f->inflight_op);
			f->inflight_op = NULL;
			f->status = HCR_FS_PENDING;
		}
	}
	w->delay_s = w->r->cfg->rec_op_poll_ms / 1000.0;
	rc = hcr_work_save_with(w, NULL, NULL, NULL, &record, &err);
	hcr_work_op_clear(w);
	if (rc != HCR_OK) {
		hcr_work_save_failed(w, &err);
		return;
	}
	hcr_work_finish(w);
}

static void on_applied(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct work *w = payload;
	const char *handle = json_string_value(json_object_get(result, "handle"));

	hcr_work_retry_after(w, result);
	if (status == HCR_OK && json_is_true(json_object_get(result, "done"))) {
		hcr_work_op_update(w,
				   "UPDATE operations SET state = 'started', started_at = now() "
				   "WHERE id = $1::uuid AND $2::text IS NULL AND $3::text IS NULL",
				   NULL, NULL);
		op_done(w, true, NULL);
		return;
	}
	if (status == HCR_OK && handle) {
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
		return;
	}
	if (status == HCR_ECONFLICT) {
		op_busy(w);
		return;
	}
	if (status == HCR_EUPSTREAM || status == HCR_OK) {
		hcr_error e2;

		/* It may or may not have reached the cloud: it stays planned and is sent
		 * again, with the same token, on the next poll. */
		if (status == HCR_OK)
			hcr_error_set(&e2, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "the cloud accepted the operation without a handle");
		hcr_work_op_update(w,
				   "UPDATE operations SET attempt = attempt + 1 "
				   "WHERE id = $1::uuid AND $2::text IS NULL AND $3::text IS NULL",
				   NULL, NULL);
		hcr_work_fail(w, status == HCR_OK ? &e2 : err);
		hcr_work_finish(w);
		return;
	}
	{
		char reason[1200];

		snprintf(reason, sizeof(reason), "%s", err->detail[0] ? err->detail : err->message);
		op_done(w, false, reason);
	}
}

static void step_send_op(struct work *w)
{
	hcr_planned_op op = {0};
	hcr_error err;
	int rc;

	op.operation = w->op_operation;
	op.pool = w->op_pool;
	op.order = w->op_order;
	op.changes = w->op_changes;
	rc = w->prov->ops->apply(w->prov->inst, &w->ref, &op, w->op_id, on_applied, w);
	if (rc == HCR_EINVALID) {
		/* Refused before any call: sending it again would be refused again. */
		op_done(w, false,
			"InvalidChange: the provider refused to send this change (hcr's log says "
			"why); edit the field");
		return;
	}
	if (rc != HCR_EAGAIN) {
		hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "provider could not start operation %s", w->op_operation);
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
	}
}

/* Records the first planned operation, marks its fields applying, then sends it. */
static void step_push(struct work *w)
{
	const hcr_catalog *cat = w->prov->ops->catalog;
	hcr_plan plan = {0};
	hcr_error err;
	char *changes = NULL, order[16];
	const char *params[6];
	struct hcr_stmt record = {
		"INSERT INTO operations (id, cluster_id, kind, pool, changes, op_order, paths) "
		"SELECT $1::uuid, $2::uuid, $3, $4, $5::jsonb, $6::int, "
		"array(SELECT jsonb_object_keys($5::jsonb))",
		6, params};
	int rc;

	rc = hcr_engine_plan(&w->fs, cat, &plan, &err);
	if (rc != HCR_OK || plan.n == 0) {
		if (rc != HCR_OK)
			hcr_work_fail(w, &err);
		hcr_plan_free(&plan);
		hcr_work_finish(w);
		return;
	}
	rc = hcr_uuid_generate(w->op_id, &err);
	if (rc != HCR_OK) {
		hcr_plan_free(&plan);
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
		return;
	}
	changes = json_dumps(plan.ops[0].changes, JSON_COMPACT);
	snprintf(order, sizeof(order), "%d", plan.ops[0].order);
	params[0] = w->op_id;
	params[1] = w->id;
	params[4] = changes;
	params[5] = order;
	snprintf(w->op_state, sizeof(w->op_state), "planned");
	w->op_operation = hcr_strdup(plan.ops[0].operation);
	w->op_pool = hcr_strdup(plan.ops[0].pool);
	w->op_changes = json_incref(plan.ops[0].changes);
	w->op_order = plan.ops[0].order;
	params[2] = w->op_operation;
	params[3] = w->op_pool;
	hcr_engine_op_started(&w->fs, &plan.ops[0], w->op_id, hcr_work_now(), w->events);
	hcr_plan_free(&plan);
	/* The operation and its fields' "applying" commit together, or neither does
	 * and nothing is sent. */
	rc = hcr_work_save_with(w, NULL, NULL, "updating", &record, &err);
	free(changes);
	if (rc != HCR_OK) {
		hcr_work_op_clear(w);
		hcr_work_save_failed(w, &err);
		return;
	}
	hcr_log_info("reconcile", "sending operation cluster=%s op=%s operation=%s%s%s", w->name,
		     w->op_id, w->op_operation, w->op_pool ? " pool=" : "",
		     w->op_pool ? w->op_pool : "");
	hcr_metrics_count(HCR_M_OPS_STARTED, 1);
	hcr_work_call(w, step_send_op);
}

/* ---- observing --------------------------------------------------------------------------- */

static void on_observed(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct work *w = payload;
	hcr_refresh_opts o = {0};
	hcr_error e2;
	json_t *doc = json_object_get(result, "document");
	bool busy = json_is_true(json_object_get(result, "busy")), pending = false, same;
	char hash[65], *text;
	int rc;

	hcr_work_retry_after(w, result);
	if (status != HCR_OK) {
		hcr_work_fail(w, err);
		hcr_work_finish(w);
		return;
	}
	if (!json_is_true(json_object_get(result, "exists")) || !json_is_object(doc)) {
		hcr_error_set(&e2, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
			      "cluster \"%s\" was not found in %s", w->cloud_name, w->provider);
		hcr_error_hint(&e2, "check the cluster's name and location, or delete it from hcr");
		hcr_work_fail(w, &e2);
		hcr_work_finish(w);
		return;
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	hcr_crypto_sha256_hex(hash, text, strlen(text));
	free(text);
	same = w->observed_hash && strcmp(w->observed_hash, hash) == 0;
	/*
	 * The cloud says exactly what it said last time, every field was in sync,
	 * and nobody asked for anything: there is nothing to decide or write.
	 */
	if (same && w->settled && !w->woken &&
	    strcmp(w->state, busy ? "updating" : "active") == 0) {
		hcr_work_finish(w);
		return;
	}
	rc = load_fields(w, &e2);
	if (rc == HCR_OK) {
		o.cat = w->prov->ops->catalog;
		o.policy = w->policy;
		o.busy = busy;
		o.observed_at = w->observed_at;
		o.now = hcr_work_now();
		rc = hcr_engine_refresh(&w->fs, &o, doc, w->events, &pending, &e2);
	}
	if (rc != HCR_OK) {
		hcr_work_fail(w, &e2);
		hcr_work_finish(w);
		return;
	}
	rc = save(w, same ? NULL : doc, hash, busy ? "updating" : "active", &e2);
	if (rc != HCR_OK) {
		hcr_work_save_failed(w, &e2);
		return;
	}
	if (pending && !busy) {
		hcr_work_call(w, step_push);
		return;
	}
	hcr_work_finish(w);
}

void hcr_work_observe(struct work *w)
{
	hcr_error err;
	int rc;

	/* The time the observation *started*: what the engine's stale guard compares. */
	w->observed_at = hcr_work_now();
	rc = w->prov->ops->observe(w->prov->inst, &w->ref, on_observed, w);
	if (rc != HCR_EAGAIN) {
		hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "provider could not start observing");
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
	}
}

void hcr_work_start(struct work *w)
{
	hcr_error err;

	w->prov = slot_for(w->r, w->provider);
	if (!w->prov) {
		hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL, "provider %s is not available",
			      w->provider);
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
		return;
	}
	/* With an operation in flight, its fields are needed whatever the cloud says. */
	if (load(w, &err) != HCR_OK || (w->op_id[0] && load_fields(w, &err) != HCR_OK)) {
		hcr_work_fail(w, &err);
		hcr_work_finish(w);
		return;
	}
	if (strcmp(w->state, "deleting") == 0)
		hcr_work_delete(w);
	else if (strcmp(w->state, "pending_create") == 0 || strcmp(w->state, "creating") == 0)
		hcr_work_create(w);
	else if (w->op_id[0] && strcmp(w->op_state, "started") == 0 && w->op_handle)
		hcr_work_call(w, hcr_work_poll_op);
	else if (w->op_id[0])
		/* Recorded but maybe never sent (a crash, a lost answer): send it again
		 * with the same token; the cloud answers with the first attempt's handle. */
		hcr_work_call(w, step_send_op);
	else
		hcr_work_call(w, hcr_work_observe);
}
