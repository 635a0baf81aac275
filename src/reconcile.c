/*
 * The reconciler's loop: claiming due clusters, and the life of one unit of
 * work (one cluster, one claim) from loading its state to releasing its lease.
 *
 * A unit of work is a small state machine driven by provider callbacks:
 *
 *   load ─┬─ operation in flight ──> poll it ──> done ──> observe
 *         ├─ pending creation ─────> create ──> (poll later)
 *         └─ otherwise ────────────> observe ──> refresh ──> push one operation
 *
 * and always ends in finish(), which releases the lease and sets the next
 * poll time. The database is reached through the store's pool with short
 * statements; the cloud only through providers on this loop.
 */
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hcr/credentials.h"
#include "hcr/fields_store.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/metrics.h"
#include "hcr/provider.h"
#include "hcr/ratelimit.h"
#include "hcr/reconcile.h"
#include "reconcile_int.h"

int hcr_reconcile_interval(const hcr_config *cfg, const char *provider)
{
	int v = 0;

	if (strcmp(provider, "eks") == 0)
		v = cfg->poll_interval_eks_s;
	else if (strcmp(provider, "aks") == 0)
		v = cfg->poll_interval_aks_s;
	else if (strcmp(provider, "gke") == 0)
		v = cfg->poll_interval_gke_s;
	else if (strcmp(provider, "fake") == 0)
		v = cfg->poll_interval_fake_s;
	return v > 0 ? v : cfg->rec_interval_s;
}

/* ---- finishing a unit of work ------------------------------------------------------------ */

/* Seconds until the next poll: the interval with jitter, or back-off after failures. */
static double next_delay(const struct work *w)
{
	const hcr_config *cfg = w->r->cfg;
	double j = (double)cfg->rec_jitter_percent / 100.0;
	double u = (double)rand() / RAND_MAX; /* jitter needs no cryptographic randomness */

	double d;

	if (w->delay_s >= 0) {
		d = w->delay_s;
	} else if (w->failed) {
		d = 5.0 * pow(2.0, w->failures > 10 ? 10 : w->failures);
		if (d > cfg->rec_backoff_max_s)
			d = cfg->rec_backoff_max_s;
		d *= 0.5 + 0.5 * u;
	} else {
		d = hcr_reconcile_interval(cfg, w->provider) * (1.0 - j + 2.0 * j * u);
	}
	return d < w->retry_after_s ? w->retry_after_s : d;
}

/*
 * Notes the cloud's Retry-After (a provider result's "retryAfterS", on success
 * or failure): the next poll of this cluster, or of its operation, waits at
 * least that long, capped at the back-off maximum.
 */
void hcr_work_retry_after(struct work *w, const json_t *result)
{
	json_t *v = json_object_get(result, "retryAfterS");
	double s;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return;
	s = (double)json_integer_value(v);
	if (s > w->r->cfg->rec_backoff_max_s)
		s = w->r->cfg->rec_backoff_max_s;
	if (s > w->retry_after_s)
		w->retry_after_s = s;
}

static void work_free(struct work *w)
{
	hcr_reconciler *r = w->r;

	ev_timer_stop(r->loop, &w->wait);
	if (w->prev)
		w->prev->next = w->next;
	else
		r->works = w->next;
	if (w->next)
		w->next->prev = w->prev;
	hcr_fieldset_free(&w->fs);
	hcr_fieldset_free(&w->before);
	json_decref(w->events);
	json_decref(w->secret);
	json_decref(w->desired_doc);
	json_decref(w->op_changes);
	free(w->op_handle);
	free(w->op_operation);
	free(w->op_pool);
	free(w->observed_hash);
	free(w->error_text);
	free(w);
	r->inflight--;
}

/*
 * Whether enough room is free to be worth a claim: claiming one or two clusters
 * after every finished poll costs a query each; waiting for a tenth of the
 * concurrency (or a batch) to free up keeps claims few and full.
 */
static bool room_to_claim(const hcr_reconciler *r)
{
	int room = r->cfg->rec_concurrency - r->inflight;
	int want = r->cfg->rec_concurrency / 10;

	if (want > r->cfg->rec_batch_size)
		want = r->cfg->rec_batch_size;
	return room >= (want > 1 ? want : 1);
}

/* Releases the lease and schedules the next poll; the unit of work ends here. */
void hcr_work_finish(struct work *w)
{
	hcr_reconciler *r = w->r;
	PGconn *conn = NULL;
	hcr_error err;
	char delay[32], failures[16];
	const char *params[5];

	snprintf(delay, sizeof(delay), "%.3f", next_delay(w));
	snprintf(failures, sizeof(failures), "%d", w->failed ? w->failures + 1 : 0);
	params[0] = w->id;
	params[1] = r->owner;
	params[2] = delay;
	params[3] = failures;
	if (hcr_store_acquire(r->store, &conn, &err) == HCR_OK) {
		/* An edit that arrived while we worked (wake) is handled at once. */
		if (hcr_store_query(
			    conn, NULL,
			    "UPDATE cluster_schedule SET lease_owner = NULL, "
			    "lease_expires_at = NULL, last_polled_at = now(), "
			    "failure_count = $4::int, "
			    "next_poll_at = CASE WHEN wake THEN now() "
			    "ELSE now() + make_interval(secs => $3::float8) END, wake = false "
			    "WHERE cluster_id = $1::uuid AND lease_owner = $2",
			    4, params, &err) != HCR_OK)
			hcr_log_warn("reconcile", "could not release lease cluster=%s error=%s",
				     w->name, err.message);
		hcr_store_release(r->store, conn);
	} else {
		/* The lease expires by itself; another pass will pick the cluster up. */
		hcr_log_warn("reconcile", "could not release lease cluster=%s error=%s", w->name,
			     err.message);
	}
	r->polls++;
	hcr_metrics_count(HCR_M_POLLS, 1);
	if (w->failed)
		hcr_metrics_count(HCR_M_POLL_FAILURES, 1);
	work_free(w);
	hcr_metrics_set_inflight(r->inflight);
	if (r->stopping && r->inflight == 0)
		ev_break(r->loop, EVBREAK_ALL);
	else if (!r->stopping && r->backlog && room_to_claim(r))
		hcr_reconciler_kick(r);
}

/* Records a failure of this poll (not of a field): logged, shown, backed off. */
void hcr_work_fail(struct work *w, const hcr_error *err)
{
	PGconn *conn = NULL;
	hcr_error e2;
	char *last = NULL;
	const char *params[2];

	w->failed = true;
	hcr_log_warn("reconcile", "poll failed cluster=%s code=%s error=%s%s%s", w->name, err->code,
		     err->message, err->detail[0] ? " detail=" : "", err->detail);
	{
		char at[32];
		time_t t = time(NULL);
		struct tm tm;
		json_t *o;

		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o = json_pack("{s:s, s:s, s:s?, s:s}", "code", err->code, "message", err->message,
			      "detail", err->detail[0] ? err->detail : NULL, "at", at);

		last = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	params[0] = w->id;
	params[1] = last;
	if (hcr_store_acquire(w->r->store, &conn, &e2) == HCR_OK) {
		hcr_store_query(
			conn, NULL,
			"UPDATE clusters SET last_error = $2::jsonb, state = CASE "
			"WHEN state IN ('pending_create', 'creating', 'deleting') THEN state "
			"ELSE 'failed' END WHERE id = $1::uuid",
			2, params, &e2);
		hcr_store_release(w->r->store, conn);
	}
	free(last);
}

/* ---- rate-limited provider calls ------------------------------------------------------- */

static void on_wait(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct work *w = t->data;

	(void)loop;
	(void)revents;
	w->resume(w);
}

/*
 * Runs `step` now if the cloud account's bucket has a token, else after the
 * wait the bucket says. Every provider call goes through here.
 */
void hcr_work_call(struct work *w, void (*step)(struct work *w))
{
	hcr_reconciler *r = w->r;
	double wait = hcr_ratelimit_reserve(r->rl, w->rl_key, ev_now(r->loop));

	if (wait <= 0) {
		step(w);
		return;
	}
	r->throttled++;
	hcr_metrics_count(HCR_M_THROTTLED, 1);
	w->resume = step;
	ev_timer_stop(r->loop, &w->wait);
	ev_timer_set(&w->wait, wait, 0);
	ev_timer_start(r->loop, &w->wait);
}

/* ---- claiming ------------------------------------------------------------------------------ */

static struct work *work_new(hcr_reconciler *r, PGresult *res, int i)
{
	struct work *w = hcr_calloc(1, sizeof(*w));

	w->r = r;
	w->delay_s = -1;
	snprintf(w->id, sizeof(w->id), "%s", PQgetvalue(res, i, 0));
	snprintf(w->name, sizeof(w->name), "%s", PQgetvalue(res, i, 1));
	snprintf(w->provider, sizeof(w->provider), "%s", PQgetvalue(res, i, 2));
	snprintf(w->cloud_name, sizeof(w->cloud_name), "%s", PQgetvalue(res, i, 3));
	snprintf(w->region, sizeof(w->region), "%s", PQgetvalue(res, i, 4));
	snprintf(w->location, sizeof(w->location), "%s", PQgetvalue(res, i, 5));
	snprintf(w->resource_group, sizeof(w->resource_group), "%s", PQgetvalue(res, i, 6));
	snprintf(w->project, sizeof(w->project), "%s", PQgetvalue(res, i, 7));
	snprintf(w->credential, sizeof(w->credential), "%s", PQgetvalue(res, i, 8));
	hcr_policy_parse(PQgetvalue(res, i, 9), &w->policy);
	snprintf(w->state, sizeof(w->state), "%s", PQgetvalue(res, i, 10));
	w->imported = PQgetvalue(res, i, 11)[0] == 't';
	w->failures = atoi(PQgetvalue(res, i, 12));
	w->desired_doc = hcr_store_json_cell(res, i, 13);
	w->observed_hash = hcr_store_strdup(res, i, 14);
	w->version = strtoll(PQgetvalue(res, i, 15), NULL, 10);
	snprintf(w->credential_id, sizeof(w->credential_id), "%s", PQgetvalue(res, i, 16));
	w->credential_updated = strtod(PQgetvalue(res, i, 17), NULL);
	if (!PQgetisnull(res, i, 18)) {
		snprintf(w->op_id, sizeof(w->op_id), "%s", PQgetvalue(res, i, 18));
		snprintf(w->op_state, sizeof(w->op_state), "%s", PQgetvalue(res, i, 19));
		w->op_handle = hcr_store_strdup(res, i, 20);
		w->op_operation = hcr_store_strdup(res, i, 21);
		w->op_pool = hcr_store_strdup(res, i, 22);
		w->op_changes = hcr_store_json_cell(res, i, 23);
		w->op_order = atoi(PQgetvalue(res, i, 24));
	}
	w->settled = PQgetvalue(res, i, 25)[0] == 't';
	w->woken = PQgetvalue(res, i, 26)[0] == 't';
	snprintf(w->rl_key, sizeof(w->rl_key), "%s:%s:%s%s%s", w->provider, w->credential_id,
		 w->region, w->location, w->resource_group);
	w->ref.id = w->id;
	w->ref.name = w->name;
	w->ref.cloud_name = w->cloud_name;
	w->ref.region = w->region[0] ? w->region : NULL;
	w->ref.location = w->location[0] ? w->location : NULL;
	w->ref.resource_group = w->resource_group[0] ? w->resource_group : NULL;
	w->ref.project = w->project[0] ? w->project : NULL;
	w->events = json_array();
	ev_init(&w->wait, on_wait);
	w->wait.data = w;
	w->next = r->works;
	if (r->works)
		r->works->prev = w;
	r->works = w;
	r->inflight++;
	return w;
}

/* Claims up to `n` due clusters this reconciler can serve; returns how many. */
static int claim(hcr_reconciler *r, int n)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	hcr_error err;
	char limit[16], lease[16];
	const char *params[4];
	int rc, i, got = 0;
	struct work **batch;

	snprintf(limit, sizeof(limit), "%d", n);
	snprintf(lease, sizeof(lease), "%d", r->cfg->rec_lease_s);
	params[0] = r->owner;
	params[1] = limit;
	params[2] = lease;
	params[3] = r->served;
	if (hcr_store_acquire(r->store, &conn, &err) != HCR_OK) {
		hcr_log_warn("reconcile", "cannot claim clusters error=%s", err.message);
		return 0;
	}
	rc = hcr_store_query(
		conn, &res,
		"WITH due AS (SELECT s.cluster_id, s.wake FROM cluster_schedule s "
		"  JOIN clusters c ON c.id = s.cluster_id "
		"  WHERE s.next_poll_at <= now() "
		"  AND (s.lease_owner IS NULL OR s.lease_expires_at < now()) "
		"  AND c.provider = ANY($4::text[]) "
		"  AND c.state <> 'create_failed' "
		"  ORDER BY s.next_poll_at LIMIT $2::int FOR UPDATE OF s SKIP LOCKED), "
		"claimed AS (UPDATE cluster_schedule s SET lease_owner = $1, wake = false, "
		"  lease_expires_at = now() + make_interval(secs => $3::int) "
		"  FROM due WHERE s.cluster_id = due.cluster_id "
		"  RETURNING s.cluster_id, s.failure_count, due.wake) "
		"SELECT c.id, c.name, c.provider, c.cloud_name, coalesce(c.region, ''), "
		"coalesce(c.location, ''), coalesce(c.resource_group, ''), coalesce(c.project, "
		"''), "
		"cr.name, c.policy, c.state, c.imported, claimed.failure_count, c.desired, "
		"c.observed_hash, c.version, cr.id, extract(epoch FROM cr.updated_at), "
		"o.id, o.state, o.handle, o.kind, o.pool, o.changes, o.op_order, "
		"c.settled, claimed.wake "
		"FROM claimed JOIN clusters c ON c.id = claimed.cluster_id "
		"JOIN credentials cr ON cr.id = c.credential_id "
		/* The operation in flight, if any: one round trip for everything a poll needs
		 * before its fields. */
		"LEFT JOIN LATERAL (SELECT id, state, handle, kind, pool, changes, op_order "
		"  FROM operations WHERE cluster_id = c.id AND state IN ('planned', 'started') "
		"  ORDER BY created_at LIMIT 1) o ON true",
		4, params, &err);
	hcr_store_release(r->store, conn);
	if (rc != HCR_OK) {
		hcr_log_warn("reconcile", "cannot claim clusters error=%s", err.message);
		return 0;
	}
	got = PQntuples(res);
	batch = hcr_calloc((size_t)got + 1, sizeof(struct work *));
	for (i = 0; i < got; i++)
		batch[i] = work_new(r, res, i);
	PQclear(res);
	/* Start after the whole batch is registered: a start may finish synchronously. */
	for (i = 0; i < got; i++)
		hcr_work_start(batch[i]);
	free(batch);
	return got;
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	hcr_reconciler *r = t->data;
	int room, got, want;

	(void)loop;
	(void)revents;
	r->kicked = false;
	if (r->stopping)
		return;
	room = r->cfg->rec_concurrency - r->inflight;
	if (room <= 0) {
		r->backlog = true;
		return;
	}
	want = room < r->cfg->rec_batch_size ? room : r->cfg->rec_batch_size;
	got = claim(r, want);
	/* A full batch means more may be due: come back at once instead of in a second. */
	r->backlog = got == want;
	if (r->backlog)
		hcr_reconciler_kick(r);
}

void hcr_reconciler_kick(hcr_reconciler *r)
{
	if (r->kicked || r->stopping)
		return;
	r->kicked = true;
	ev_feed_event(r->loop, &r->tick, EV_TIMER);
}

/* ---- LISTEN/NOTIFY ----------------------------------------------------------------------- */

static void listen_close(hcr_reconciler *r)
{
	if (r->listen_active)
		ev_io_stop(r->loop, &r->listen_io);
	r->listen_active = false;
	if (r->listen)
		PQfinish(r->listen);
	r->listen = NULL;
}

static void on_notify(struct ev_loop *loop, ev_io *io, int revents)
{
	hcr_reconciler *r = io->data;
	PGnotify *n;
	int count = 0;

	(void)loop;
	(void)revents;
	if (!PQconsumeInput(r->listen)) {
		hcr_log_warn("reconcile", "lost the LISTEN connection; polling every second until "
					  "it is back");
		listen_close(r);
		return;
	}
	while ((n = PQnotifies(r->listen)) != NULL) {
		count++;
		PQfreemem(n);
	}
	if (count > 0) {
		r->notifies += (unsigned long long)count;
		hcr_metrics_count(HCR_M_NOTIFIES, (unsigned long long)count);
		hcr_reconciler_kick(r);
	}
}

/* (Re)opens the LISTEN connection; called at start and from the tick when it is down. */
static void listen_open(hcr_reconciler *r)
{
	PGresult *res;

	r->listen = PQconnectdb(r->conninfo);
	if (PQstatus(r->listen) != CONNECTION_OK) {
		listen_close(r);
		return;
	}
	res = PQexec(r->listen, "LISTEN " HCR_NOTIFY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		listen_close(r);
		return;
	}
	PQclear(res);
	PQsetnonblocking(r->listen, 1);
	ev_io_init(&r->listen_io, on_notify, PQsocket(r->listen), EV_READ);
	r->listen_io.data = r;
	ev_io_start(r->loop, &r->listen_io);
	r->listen_active = true;
}

/*
 * Extends the leases of every cluster being worked on, so that a poll slowed by
 * rate limits or a slow cloud is never taken over by another reconciler.
 */
static void renew_leases(hcr_reconciler *r)
{
	PGconn *conn = NULL;
	hcr_error err;
	char lease[16];
	const char *params[2] = {r->owner, lease};

	snprintf(lease, sizeof(lease), "%d", r->cfg->rec_lease_s);
	if (hcr_store_acquire(r->store, &conn, &err) != HCR_OK ||
	    hcr_store_query(conn, NULL,
			    "UPDATE cluster_schedule SET lease_expires_at = now() + "
			    "make_interval(secs => $2::int) WHERE lease_owner = $1",
			    2, params, &err) != HCR_OK)
		hcr_log_warn("reconcile", "cannot renew leases error=%s", err.message);
	if (conn)
		hcr_store_release(r->store, conn);
}

static void on_heartbeat(struct ev_loop *loop, ev_timer *t, int revents)
{
	hcr_reconciler *r = t->data;

	(void)revents;
	if (!r->listen && !r->stopping)
		listen_open(r);
	if (r->inflight > 0 && ev_now(loop) - r->leases_renewed >= r->cfg->rec_lease_s / 3.0) {
		renew_leases(r);
		r->leases_renewed = ev_now(loop);
	}
	hcr_reconciler_kick(r);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	hcr_reconciler *r = a->data;

	(void)revents;
	r->stopping = true;
	ev_timer_stop(loop, &r->heartbeat);
	listen_close(r);
	/* Work only waiting for its turn at the rate limit is handed back at once. */
	{
		struct work *w = r->works;

		while (w) {
			struct work *next = w->next;

			if (ev_is_active(&w->wait)) {
				ev_timer_stop(loop, &w->wait);
				w->delay_s = 0;
				hcr_work_finish(w);
			}
			w = next;
		}
	}
	if (r->inflight == 0)
		ev_break(loop, EVBREAK_ALL);
	/* Otherwise the last unit of work to finish breaks the loop. */
}

int hcr_reconciler_new(hcr_reconciler **out, const hcr_config *cfg, const char *conninfo,
		       hcr_store *store, const hcr_master_key *key, hcr_error *err)
{
	hcr_reconciler *r = hcr_calloc(1, sizeof(*r));
	hcr_http_opts hopts = {0};
	hcr_buf served = {0};
	char host[64] = "host";
	int rc;

	*out = NULL;
	r->cfg = cfg;
	r->store = store;
	r->key = key;
	r->conninfo = hcr_strdup(conninfo);
	r->loop = ev_loop_new(EVFLAG_AUTO);
	gethostname(host, sizeof(host) - 1);
	snprintf(r->owner, sizeof(r->owner), "%s:%ld:%lx", host, (long)getpid(),
		 (unsigned long)r & 0xffffff);
	hopts.default_timeout_ms = cfg->rec_request_timeout_ms;
	hopts.max_connections = cfg->rec_concurrency < 1024 ? cfg->rec_concurrency : 1024;
	hopts.max_host_connections = hopts.max_connections;
	rc = hcr_http_new(&r->http, r->loop, &hopts, err);
	if (rc != HCR_OK)
		goto fail;
	{
		hcr_ratelimit_opts ro = {0};

		ro.rate = cfg->rec_rate_per_s;
		ro.burst = cfg->rec_burst;
		rc = hcr_ratelimit_new(&r->rl, &ro, err);
	}
	if (rc != HCR_OK)
		goto fail;
	rc = hcr_reconcile_providers_init(r, &served, err);
	if (rc != HCR_OK)
		goto fail;
	r->served = served.data;
	ev_init(&r->tick, on_tick);
	r->tick.data = r;
	ev_timer_init(&r->heartbeat, on_heartbeat, 0, 1.0);
	r->heartbeat.data = r;
	ev_async_init(&r->stop, on_stop);
	r->stop.data = r;
	ev_async_start(r->loop, &r->stop);
	*out = r;
	return HCR_OK;
fail:
	hcr_buf_free(&served);
	hcr_reconciler_free(r);
	return rc;
}

void hcr_reconciler_run(hcr_reconciler *r)
{
	hcr_log_info("reconcile", "started owner=%s providers=%s concurrency=%d interval_s=%d",
		     r->owner, r->served, r->cfg->rec_concurrency, r->cfg->rec_interval_s);
	listen_open(r);
	if (!r->listen)
		hcr_log_warn("reconcile", "cannot LISTEN for edits yet; polling every second");
	r->leases_renewed = ev_now(r->loop);
	ev_timer_start(r->loop, &r->heartbeat);
	hcr_reconciler_kick(r);
	ev_run(r->loop, 0);
	hcr_log_info("reconcile", "stopped polls=%llu", r->polls);
}

void hcr_reconciler_stop(hcr_reconciler *r)
{
	ev_async_send(r->loop, &r->stop);
}

void hcr_reconciler_free(hcr_reconciler *r)
{
	if (!r)
		return;
	{
		struct work *w = r->works;

		while (w) {
			struct work *next = w->next;

			work_free(w);
			w = next;
		}
	}
	listen_close(r);
	hcr_reconcile_providers_free(r);
	hcr_reconcile_creds_free(r);
	hcr_http_free(r->http);
	hcr_ratelimit_free(r->rl);
	if (r->loop)
		ev_loop_destroy(r->loop);
	free(r->served);
	free(r->conninfo);
	free(r);
}
