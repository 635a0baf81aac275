/*
 * Config sync's results: one row in cluster_events per thing that happened
 * to one object in one target (sync.created, sync.updated, sync.deleted) and
 * per thing that could not be done (sync.foreign, sync.refused, sync.failed),
 * and one log line each. Objects that were already up to date write nothing.
 *
 * A problem that persists is written once, not every round: the last kind
 * and message per key ("this object to that target") is remembered, and an
 * event is written only when it changes; a success forgets it, so the next
 * failure is reported again. The memory is the process's: a restart reports
 * persisting problems once more.
 *
 * Events name the cluster they are about: a registered cluster by its id,
 * anything else (a kubeconfig context, a name that did not resolve) in the
 * `context` column (schema/0005_sync_events.sql). Nothing here ever holds a
 * Secret's values: messages come from hcr and from Kubernetes' Status
 * messages, which name keys but never values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/metrics.h"
#include "sync_int.h"

static bool is_change(const char *kind)
{
	return strcmp(kind, "sync.created") == 0 || strcmp(kind, "sync.updated") == 0 ||
	       strcmp(kind, "sync.deleted") == 0;
}

static bool repeated(hcr_sync *s, const sync_event *ev)
{
	char *now;
	const char *last;
	bool same;

	if (!ev->dedup)
		return false;
	if (is_change(ev->kind)) {
		/* A change is always written, and whatever failed before is fine now. */
		hcr_sync_outcome_ok(s, ev->dedup);
		return false;
	}
	now = hcr_sprintf("%s\n%s", ev->kind, ev->message);
	pthread_mutex_lock(&s->events_lock);
	last = hcr_sync_map_get(s->outcomes, ev->dedup);
	same = last && strcmp(last, now) == 0;
	if (!same)
		hcr_sync_map_put(s->outcomes, ev->dedup, now);
	else
		free(now);
	pthread_mutex_unlock(&s->events_lock);
	return same;
}

void hcr_sync_outcome_ok(hcr_sync *s, const char *dedup)
{
	pthread_mutex_lock(&s->events_lock);
	free(hcr_sync_map_take(s->outcomes, dedup));
	pthread_mutex_unlock(&s->events_lock);
}

void hcr_sync_outcomes_free(hcr_sync *s)
{
	hcr_sync_map_free(s->outcomes);
	s->outcomes = NULL;
}

static void log_event(const sync_event *ev, const char *cluster)
{
	char m[700], c[300];
	bool change = is_change(ev->kind);

	hcr_log_quote(m, sizeof(m), ev->message);
	hcr_log_quote(c, sizeof(c), cluster);
	if (change)
		hcr_log_info("sync", "%s cluster=%s object=%s message=%s", ev->kind, c,
			     ev->path[0] ? ev->path : "-", m);
	else
		hcr_log_warn("sync", "%s cluster=%s object=%s message=%s", ev->kind, c,
			     ev->path[0] ? ev->path : "-", m);
}

static void count(const char *kind)
{
	static const struct {
		const char *kind;
		hcr_metric_counter c;
	} map[] = {
		{"sync.created", HCR_M_SYNC_CREATED}, {"sync.updated", HCR_M_SYNC_UPDATED},
		{"sync.deleted", HCR_M_SYNC_DELETED}, {"sync.foreign", HCR_M_SYNC_FOREIGN},
		{"sync.refused", HCR_M_SYNC_REFUSED}, {"sync.failed", HCR_M_SYNC_FAILED},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(kind, map[i].kind) == 0)
			hcr_metrics_count(map[i].c, 1);
}

void hcr_sync_event(hcr_sync *s, const sync_event *ev)
{
	const char *id = ev->where ? ev->where->cluster_id : NULL;
	const char *context = NULL;
	char *old_text = NULL, *new_text = NULL;
	const char *params[7];
	PGconn *conn = NULL;
	hcr_error err;

	/* A registered cluster by id; a context (or a name that did not resolve) by name. */
	if (!id)
		context = ev->where && ev->where->display ? ev->where->display : ev->where_name;
	if (!id && context && strncmp(context, "context:", 8) == 0)
		context += 8;
	if (!id && (!context || !*context))
		context = "?";
	count(ev->kind);
	if (repeated(s, ev)) {
		json_decref(ev->old_value);
		json_decref(ev->new_value);
		return;
	}
	log_event(ev, id && ev->where->display ? ev->where->display : context);
	if (!s->store)
		goto done;
	old_text = ev->old_value ? json_dumps(ev->old_value, JSON_COMPACT) : NULL;
	new_text = ev->new_value ? json_dumps(ev->new_value, JSON_COMPACT) : NULL;
	params[0] = id;
	params[1] = id ? NULL : context;
	params[2] = ev->kind;
	params[3] = ev->path && *ev->path ? ev->path : NULL;
	params[4] = old_text;
	params[5] = new_text;
	params[6] = ev->message;
	if (hcr_store_acquire(s->store, &conn, &err) == HCR_OK) {
		if (hcr_store_query(conn, NULL,
				    "INSERT INTO cluster_events (cluster_id, context, actor, kind, "
				    "path, old_value, new_value, message) VALUES ($1::uuid, $2, "
				    "'sync', $3, $4, $5::jsonb, $6::jsonb, $7)",
				    7, params, &err) != HCR_OK)
			hcr_log_warn("sync", "cannot record event kind=%s error=\"%s\"", ev->kind,
				     err.message);
		hcr_store_release(s->store, conn);
	} else {
		hcr_log_warn("sync", "cannot record event kind=%s error=\"%s\"", ev->kind,
			     err.message);
	}
done:
	free(old_text);
	free(new_text);
	json_decref(ev->old_value);
	json_decref(ev->new_value);
}
