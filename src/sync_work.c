/*
 * The workers: a queue of objects to reconcile (and prune passes), and the
 * threads that do it. Level-triggered: an item says only "look at this
 * object again"; the worker reads the source object as it is now and makes
 * each target agree with it. An item queued again while a worker has it is
 * done once more afterwards; one that failed comes back after a back-off
 * (1 s doubling to 60 s).
 *
 * The safety rules (docs/sync/config-sync.md) live here:
 *   - an object in a target is changed or deleted only when its origin marks
 *     say it is the copy of this very source object (hcr_sync_decide);
 *     anything else there is reported and left alone;
 *   - a copy is deleted only on a positive statement: a watch said the
 *     source was DELETED, a fresh read of the source no longer names the
 *     target, or a prune after a complete, non-empty list found it orphaned,
 *     within the guard (sync.max_delete_percent), and a fresh read of its
 *     source agrees; a failed read deletes nothing;
 *   - two names for one API server, or a name for the source's own server,
 *     are refused; a copy is never a source.
 * Each worker has its own connections (the client is one thread at a time),
 * renewed every round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/kube_norm.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "sync_int.h"

enum item_state { ITEM_QUEUED, ITEM_DELAYED, ITEM_INFLIGHT };

/* Writes show up in managedFields under this manager. */
static const hcr_kube_write_opts writer = {.field_manager = "hcr-config-sync"};

struct sync_item {
	char *key;
	sync_source *src;
	int kind;
	char *ns, *name; /* name NULL: a prune pass */
	enum item_state state;
	bool dirty; /* queued again while in flight */
	int failures;
	double ready_at;
	struct sync_item *next;
};

struct conn {
	hcr_kube *k;
	unsigned gen;
};

struct sync_worker {
	hcr_sync *s;
	pthread_t thread;
	bool started;
	hcr_sync_map *conns; /* ref -> struct conn */
};

/* ---- the queue -------------------------------------------------------------------------------- */

static void item_free(void *p)
{
	struct sync_item *it = p;

	free(it->key);
	free(it->ns);
	free(it->name);
	free(it);
}

/* Under s->lock. */
static void push_ready(hcr_sync *s, struct sync_item *it)
{
	it->state = ITEM_QUEUED;
	it->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = it;
	else
		s->ready_head = it;
	s->ready_tail = it;
	pthread_cond_broadcast(&s->cond);
}

static void unlink_delayed(hcr_sync *s, struct sync_item *it)
{
	struct sync_item **p;

	for (p = &s->delayed; *p; p = &(*p)->next) {
		if (*p == it) {
			*p = it->next;
			return;
		}
	}
}

void hcr_sync_enqueue(hcr_sync *s, sync_source *src, int kind, const char *ns, const char *name)
{
	char *key = name ? hcr_sprintf("%zu/%d/%s/%s", src->index, kind, ns, name)
			 : hcr_sprintf("%zu/%d/#prune", src->index, kind);
	struct sync_item *it;

	pthread_mutex_lock(&s->lock);
	if (!s->items)
		s->items = hcr_sync_map_new(item_free);
	it = hcr_sync_map_get(s->items, key);
	if (!it) {
		it = hcr_calloc(1, sizeof(*it));
		it->key = key;
		key = NULL;
		it->src = src;
		it->kind = kind;
		it->ns = hcr_strdup(ns);
		it->name = hcr_strdup(name);
		hcr_sync_map_put(s->items, it->key, it);
		push_ready(s, it);
	} else if (it->state == ITEM_DELAYED) {
		unlink_delayed(s, it);
		push_ready(s, it);
	} else if (it->state == ITEM_INFLIGHT) {
		it->dirty = true;
	}
	pthread_mutex_unlock(&s->lock);
	free(key);
}

/* The next ready item, or NULL once the worker stops. */
static struct sync_item *take(hcr_sync *s)
{
	struct sync_item *it = NULL;

	pthread_mutex_lock(&s->lock);
	while (!hcr_sync_stopping(s)) {
		double now = hcr_sync_now(), next = 0;
		struct sync_item **p = &s->delayed;

		while (*p) {
			struct sync_item *d = *p;

			if (d->ready_at <= now) {
				*p = d->next;
				push_ready(s, d);
			} else {
				if (next == 0 || d->ready_at < next)
					next = d->ready_at;
				p = &d->next;
			}
		}
		if (s->ready_head) {
			it = s->ready_head;
			s->ready_head = it->next;
			if (!s->ready_head)
				s->ready_tail = NULL;
			it->next = NULL;
			it->state = ITEM_INFLIGHT;
			break;
		}
		if (next > 0) {
			struct timespec until;
			double end;

			clock_gettime(CLOCK_REALTIME, &until);
			end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + (next - now);
			until.tv_sec = (time_t)end;
			until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
			pthread_cond_timedwait(&s->cond, &s->lock, &until);
		} else {
			pthread_cond_wait(&s->cond, &s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return it;
}

static double backoff_s(int failures)
{
	double d = 1.0;

	while (failures-- > 1 && d < SYNC_BACKOFF_S)
		d *= 2;
	return d > SYNC_BACKOFF_S ? SYNC_BACKOFF_S : d;
}

static void done(hcr_sync *s, struct sync_item *it, bool retry)
{
	pthread_mutex_lock(&s->lock);
	it->failures = retry ? it->failures + 1 : 0;
	if (it->dirty) {
		it->dirty = false;
		push_ready(s, it);
	} else if (retry) {
		it->state = ITEM_DELAYED;
		it->ready_at = hcr_sync_now() + backoff_s(it->failures);
		it->next = s->delayed;
		s->delayed = it;
		pthread_cond_broadcast(&s->cond);
	} else {
		hcr_sync_map_take(s->items, it->key);
		item_free(it);
	}
	pthread_mutex_unlock(&s->lock);
}

void hcr_sync_queue_free(hcr_sync *s)
{
	hcr_sync_map_free(s->items);
	s->items = NULL;
	s->ready_head = s->ready_tail = s->delayed = NULL;
}

/* ---- connections and small helpers ------------------------------------------------------------- */

static void conn_free(void *p)
{
	struct conn *c = p;

	hcr_kube_close(c->k);
	free(c);
}

static hcr_kube *conn_get(struct sync_worker *w, const sync_cluster *c, hcr_error *err)
{
	unsigned gen = atomic_load(&w->s->generation);
	struct conn *cn = hcr_sync_map_get(w->conns, c->ref ? c->ref : "");
	hcr_kube *k = NULL;

	if (cn && cn->gen == gen)
		return cn->k;
	if (cn)
		conn_free(hcr_sync_map_take(w->conns, c->ref));
	if (hcr_sync_open(&k, w->s, c, err) != HCR_OK)
		return NULL;
	cn = hcr_calloc(1, sizeof(*cn));
	cn->k = k;
	cn->gen = gen;
	hcr_sync_map_put(w->conns, c->ref, cn);
	return k;
}

static void conn_drop(struct sync_worker *w, const sync_cluster *c)
{
	struct conn *cn = c->ref ? hcr_sync_map_take(w->conns, c->ref) : NULL;

	if (cn)
		conn_free(cn);
}

static void wipe(json_t *v, int depth)
{
	const char *key;
	json_t *x;
	size_t i;

	/* Values shared with another document (refcount > 1) are not ours to wipe. */
	if (!v || v->refcount > 1 || depth > 64)
		return;
	if (json_is_string(v)) {
		/* jansson gives no writable access; the string is ours and about to go. */
		hcr_crypto_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, x)
		{
			wipe(x, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			wipe(x, depth + 1);
		}
	}
}

/* Wipes every string in `v` (Secret data travels in them), then releases it. */
static void wipe_decref(json_t *v)
{
	wipe(v, 0);
	json_decref(v);
}

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* What one reconcile is about, for messages and events. */
struct subject {
	struct sync_worker *w;
	sync_source *src;
	int kind;
	const char *ns, *name;
	const char *uid; /* the source object's, when known */
	char what[700];  /* `ConfigMap app/settings of cluster "a"` */
};

static json_t *event_value(const struct subject *sub, const char *tcluster, const char *tns,
			   const hcr_error *err)
{
	json_t *v = json_pack("{s:{s:s, s:s, s:s, s:s}}", "source", "cluster", sub->src->c.display,
			      "kind", hcr_sync_kind_name(sub->kind), "namespace", sub->ns, "name",
			      sub->name);

	if (tcluster)
		json_object_set_new(v, "target",
				    json_pack("{s:s, s:s*, s:s}", "cluster", tcluster, "namespace",
					      tns, "name", sub->name));
	if (err && err->detail[0])
		json_object_set_new(v, "detail", json_string(err->detail));
	if (err && err->hint[0])
		json_object_set_new(v, "hint", json_string(err->hint));
	return v;
}

/* One event about `sub` in target `t` (resolved or not: `tname`), de-duplicated per target. */
static void report(const struct subject *sub, const char *kind, const sync_cluster *t,
		   const char *tname, const char *tns, const hcr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void report(const struct subject *sub, const char *kind, const sync_cluster *t,
		   const char *tname, const char *tns, const hcr_error *err, const char *fmt, ...)
{
	char msg[1024], path[600], dedup[1200];
	va_list ap;
	sync_event ev = {.kind = kind,
			 .where = t,
			 .where_name = tname,
			 .path = path,
			 .message = msg,
			 .dedup = dedup};

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s/%s", hcr_sync_kind_name(sub->kind), tns ? tns : sub->ns,
		 sub->name);
	snprintf(dedup, sizeof(dedup), "obj\n%s\n%d\n%s/%s\n%s", sub->src->c.name, sub->kind,
		 sub->ns, sub->name, tname ? tname : "");
	/* An event about the source itself names no target. */
	ev.new_value = event_value(
		sub, t == &sub->src->c ? NULL : (t && t->display ? t->display : tname), tns, err);
	hcr_sync_event(sub->src->s, &ev);
}

static void report_ok(const struct subject *sub, const char *tname)
{
	char dedup[1200];

	snprintf(dedup, sizeof(dedup), "obj\n%s\n%d\n%s/%s\n%s", sub->src->c.name, sub->kind,
		 sub->ns, sub->name, tname ? tname : "");
	hcr_sync_outcome_ok(sub->src->s, dedup);
}

/* A request to target `t` failed: trip the breaker when it did not answer. True: retry. */
static bool target_failed(struct sync_worker *w, const sync_cluster *t, int rc,
			  const hcr_error *err)
{
	if (hcr_sync_unreachable(rc, err)) {
		hcr_sync_down_mark(w->s, t->server_key, err);
		conn_drop(w, t);
	}
	return rc == HCR_EUPSTREAM || rc == HCR_ECONFLICT || rc == HCR_EDENIED;
}

/* ---- one target ------------------------------------------------------------------------------- */

/* Creates `desired` in namespace `tns` of `t`, creating the namespace when allowed. */
static int create_copy(const struct subject *sub, hcr_kube *k, const sync_cluster *t,
		       const char *tns, json_t *desired, hcr_error *err)
{
	const hcr_kube_resource *res = &hcr_sync_res[sub->kind];
	json_t *nsobj = NULL;
	hcr_error e2;
	int rc = hcr_kube_create(NULL, k, res, tns, desired, &writer, err);

	if (rc != HCR_ENOTFOUND)
		return rc;
	/* Not found on a create: the namespace is missing (or the API is away). */
	rc = hcr_kube_get(&nsobj, k, &hcr_sync_namespace_res, NULL, tns, &e2);
	json_decref(nsobj);
	if (rc != HCR_ENOTFOUND)
		return HCR_ENOTFOUND; /* `err` has the create's own answer */
	if (!sub->w->s->cfg->sync_create_namespaces) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "namespace \"%s\" does not exist in cluster \"%s\"", tns, t->display);
		hcr_error_hint(err, "create it, or set sync.create_namespaces: true to let hcr "
				    "create missing namespaces");
		return HCR_EINVALID;
	}
	nsobj = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
			  "metadata", "name", tns, "labels", HCR_SYNC_LABEL_CREATED_BY,
			  "config-sync");
	rc = hcr_kube_create(NULL, k, &hcr_sync_namespace_res, NULL, nsobj, &writer, err);
	json_decref(nsobj);
	if (rc != HCR_OK && rc != HCR_ECONFLICT)
		return rc;
	if (rc == HCR_OK) {
		char path[300];
		sync_event ev = {.kind = "sync.created", .where = t, .path = path};
		char msg[1400];

		snprintf(path, sizeof(path), "Namespace/%s", tns);
		snprintf(msg, sizeof(msg),
			 "created namespace \"%s\" in cluster \"%s\" for the copy "
			 "of %s",
			 tns, t->display, sub->what);
		ev.message = msg;
		ev.new_value = event_value(sub, t->display, tns, NULL);
		hcr_sync_event(sub->w->s, &ev);
	}
	return hcr_kube_create(NULL, k, res, tns, desired, &writer, err);
}

static const char *other_origin(const json_t *live, char *buf, size_t size)
{
	hcr_sync_origin o;
	json_t *keep = NULL;

	if (!hcr_sync_origin_read(&o, &keep, live)) {
		snprintf(buf, size, "another source");
		return buf;
	}
	snprintf(buf, size, "%s/%s of cluster \"%s\"", o.namespace, o.name, o.cluster);
	json_decref(keep);
	return buf;
}

/* Makes target `t` hold an up-to-date copy of `src_obj`. True: try again later. */
static bool ensure_copy(const struct subject *sub, const sync_cluster *t, json_t *src_obj)
{
	struct sync_worker *w = sub->w;
	const hcr_kube_resource *res = &hcr_sync_res[sub->kind];
	const char *tns = t->ns ? t->ns : sub->ns;
	json_t *desired = NULL, *live = NULL;
	char hash[65], other[600];
	hcr_kube *k;
	hcr_error err;
	hcr_sync_action action;
	bool retry = false;
	int rc;

	rc = hcr_sync_copy_build(&desired, hash, src_obj, sub->src->c.display, sub->src->server_id,
				 tns, &err);
	if (rc != HCR_OK) {
		report(sub, "sync.failed", t, t->name, tns, &err, "cannot copy %s: %s", sub->what,
		       err.message);
		return false;
	}
	if (hcr_sync_down(w->s, t->server_key, &err)) {
		report(sub, "sync.failed", t, t->name, tns, &err,
		       "cannot copy %s to cluster \"%s\": %s", sub->what, t->display, err.message);
		retry = true;
		goto done;
	}
	k = conn_get(w, t, &err);
	rc = k ? hcr_kube_get(&live, k, res, tns, sub->name, &err) : HCR_ERROR;
	if (rc != HCR_OK && rc != HCR_ENOTFOUND) {
		report(sub, "sync.failed", t, t->name, tns, &err,
		       "cannot copy %s to cluster \"%s\": %s", sub->what, t->display, err.message);
		retry = !k || target_failed(w, t, rc, &err);
		goto done;
	}
	hcr_sync_down_clear(w->s, t->server_key);
	action = hcr_sync_decide(desired, rc == HCR_OK ? live : NULL);
	switch (action) {
	case HCR_SYNC_UNCHANGED:
		report_ok(sub, t->name);
		break;
	case HCR_SYNC_FOREIGN:
		hcr_error_clear(&err);
		hcr_error_hint(&err, "hcr never changes or deletes an object it did not make; "
				     "delete or rename it to let the copy in");
		report(sub, "sync.foreign", t, t->name, tns, &err,
		       "%s %s/%s in cluster \"%s\" was not made by hcr: it is left alone and %s "
		       "is not copied there",
		       res->kind, tns, sub->name, t->display, sub->what);
		break;
	case HCR_SYNC_OTHER_SOURCE:
		hcr_error_clear(&err);
		hcr_error_hint(&err, "two sources want the same copy; rename one of them");
		report(sub, "sync.foreign", t, t->name, tns, &err,
		       "%s %s/%s in cluster \"%s\" is the copy of %s %s: it is left alone and %s "
		       "is not copied there",
		       res->kind, tns, sub->name, t->display, res->kind,
		       other_origin(live, other, sizeof(other)), sub->what);
		break;
	case HCR_SYNC_CREATE:
		rc = create_copy(sub, k, t, tns, desired, &err);
		if (rc == HCR_OK)
			report(sub, "sync.created", t, t->name, tns, NULL,
			       "copied %s to cluster \"%s\"", sub->what, t->display);
		else if (rc == HCR_ECONFLICT)
			retry = true; /* made meanwhile: look again */
		else {
			report(sub, "sync.failed", t, t->name, tns, &err,
			       "cannot copy %s to cluster \"%s\": %s", sub->what, t->display,
			       err.message);
			retry = target_failed(w, t, rc, &err);
		}
		break;
	case HCR_SYNC_UPDATE:
		json_object_set_new(json_object_get(desired, "metadata"), "resourceVersion",
				    json_string(meta_str(live, "resourceVersion")));
		rc = hcr_kube_update(NULL, k, res, tns, desired, &writer, &err);
		if (rc == HCR_OK)
			report(sub, "sync.updated", t, t->name, tns, NULL,
			       "updated the copy of %s in cluster \"%s\"", sub->what, t->display);
		else if (rc == HCR_ECONFLICT)
			retry = true; /* changed meanwhile: read it again */
		else {
			report(sub, "sync.failed", t, t->name, tns, &err,
			       "cannot update the copy of %s in cluster \"%s\": %s", sub->what,
			       t->display, err.message);
			retry = target_failed(w, t, rc, &err);
		}
		break;
	case HCR_SYNC_RECREATE: {
		hcr_kube_delete_opts d = {.uid = meta_str(live, "uid"),
					  .resource_version = meta_str(live, "resourceVersion")};

		rc = hcr_kube_delete(NULL, k, res, tns, sub->name, &d, &err);
		if (rc == HCR_OK)
			rc = hcr_kube_create(NULL, k, res, tns, desired, &writer, &err);
		if (rc == HCR_OK)
			report(sub, "sync.updated", t, t->name, tns, NULL,
			       "replaced the copy of %s in cluster \"%s\" (it is immutable)",
			       sub->what, t->display);
		else if (rc == HCR_ECONFLICT || rc == HCR_ENOTFOUND)
			retry = true;
		else {
			report(sub, "sync.failed", t, t->name, tns, &err,
			       "cannot replace the copy of %s in cluster \"%s\": %s", sub->what,
			       t->display, err.message);
			retry = target_failed(w, t, rc, &err);
		}
		break;
	}
	}
done:
	wipe_decref(desired);
	wipe_decref(live);
	return retry;
}

/*
 * Deletes the copy of the subject in namespace `tns` of `t`, if it is there
 * and is ours. HCR_OK when no copy is left there (also when the object there
 * is not ours: that one was never ours to delete).
 */
static int remove_copy(const struct subject *sub, const sync_cluster *t, const char *tns,
		       const char *why, bool *retry)
{
	struct sync_worker *w = sub->w;
	const hcr_kube_resource *res = &hcr_sync_res[sub->kind];
	json_t *live = NULL, *keep = NULL;
	hcr_sync_origin o;
	hcr_kube_delete_opts d = {0};
	hcr_kube *k;
	hcr_error err;
	int rc;

	if (hcr_sync_down(w->s, t->server_key, &err)) {
		*retry = true;
		rc = HCR_EUPSTREAM;
		goto fail;
	}
	k = conn_get(w, t, &err);
	rc = k ? hcr_kube_get(&live, k, res, tns, sub->name, &err) : HCR_ERROR;
	if (rc == HCR_ENOTFOUND)
		return HCR_OK;
	if (rc != HCR_OK) {
		*retry = !k || target_failed(w, t, rc, &err);
		goto fail;
	}
	if (!hcr_sync_origin_read(&o, &keep, live) ||
	    !hcr_sync_origin_is(&o, sub->src->c.display, sub->src->server_id, sub->ns, sub->name,
				sub->uid)) {
		hcr_log_debug("sync", "not removing %s/%s in cluster=%s: not this source's copy",
			      tns, sub->name, t->display);
		json_decref(keep);
		wipe_decref(live);
		return HCR_OK;
	}
	json_decref(keep);
	d.uid = meta_str(live, "uid");
	d.resource_version = meta_str(live, "resourceVersion");
	rc = hcr_kube_delete(NULL, k, res, tns, sub->name, &d, &err);
	wipe_decref(live);
	if (rc == HCR_OK)
		report(sub, "sync.deleted", t, t->name, tns, NULL,
		       "deleted the copy of %s from cluster \"%s\": %s", sub->what, t->display,
		       why);
	if (rc == HCR_OK || rc == HCR_ENOTFOUND)
		return HCR_OK;
	*retry = rc == HCR_ECONFLICT || target_failed(w, t, rc, &err);
	if (rc == HCR_ECONFLICT)
		return rc; /* changed meanwhile: the next look decides again */
fail:
	report(sub, "sync.failed", t, t->name, tns, &err,
	       "cannot delete the copy of %s from cluster \"%s\": %s", sub->what, t->display,
	       err.message);
	return rc;
}

/* ---- one object ------------------------------------------------------------------------------- */

/* Whether `obj` (read just now) is not to be synced at all; reported when so. */
static bool refuse_source(const struct subject *sub, json_t *obj, const hcr_sync_names *wanted,
			  bool annotated, int wanted_rc, const hcr_error *werr)
{
	const sync_cluster *c = &sub->src->c;
	const char *reason = NULL;
	json_t *probe = NULL;
	hcr_error err;
	char hash[65];

	if (hcr_sync_is_copy(obj)) {
		if (annotated) {
			hcr_error_clear(&err);
			hcr_error_hint(&err, "annotate the object it is a copy of instead");
			report(sub, "sync.refused", c, c->name, sub->ns, &err,
			       "%s is a copy made by hcr: a copy is never synced onwards",
			       sub->what);
		}
		return true;
	}
	if (wanted_rc != HCR_OK) {
		report(sub, "sync.refused", c, c->name, sub->ns, werr,
		       "%s is not synced: its annotation does not parse: %s", sub->what,
		       werr->message);
		return true;
	}
	if (wanted->n == 0)
		return false;
	if (hcr_sync_copy_build(&probe, hash, obj, c->display, sub->src->server_id, sub->ns,
				&err) == HCR_OK)
		reason = hcr_kube_skip_reason(probe);
	wipe_decref(probe);
	if (reason) {
		report(sub, "sync.refused", c, c->name, sub->ns, NULL,
		       "%s is not synced: it is a %s, which belongs to its cluster", sub->what,
		       reason);
		return true;
	}
	report_ok(sub, c->name);
	return false;
}

/* The usable targets among `wanted` (resolved into t[]); the rest are reported. */
static void sort_targets(const struct subject *sub, const hcr_sync_names *wanted, sync_cluster *t,
			 bool *usable)
{
	const sync_cluster *src = &sub->src->c;
	size_t i, j;

	for (i = 0; i < wanted->n; i++) {
		hcr_sync_cluster_resolve(sub->w->s, wanted->v[i], &t[i]);
		if (t[i].status != HCR_OK) {
			report(sub, "sync.failed", &t[i], wanted->v[i], NULL, &t[i].err,
			       "cannot copy %s to \"%s\": %s", sub->what, wanted->v[i],
			       t[i].err.message);
		} else if (strcmp(t[i].server_key, src->server_key) == 0) {
			report(sub, "sync.refused", &t[i], t[i].name, t[i].ns ? t[i].ns : sub->ns,
			       NULL,
			       "cannot copy %s to \"%s\": that is the API server it is in (%s)",
			       sub->what, wanted->v[i], t[i].server);
		} else {
			usable[i] = true;
		}
	}
	for (i = 0; i < wanted->n; i++) {
		const char *other = NULL;

		for (j = 0; j < wanted->n && !other; j++)
			if (j != i && t[i].status == HCR_OK && t[j].status == HCR_OK &&
			    strcmp(t[i].server_key, t[j].server_key) == 0)
				other = wanted->v[j];
		if (!other || !usable[i])
			continue;
		usable[i] = false;
		report(sub, "sync.refused", &t[i], t[i].name, t[i].ns ? t[i].ns : sub->ns, NULL,
		       "cannot copy %s to \"%s\": \"%s\" is the same API server (%s); two names "
		       "for one cluster are refused, and neither gets a copy",
		       sub->what, wanted->v[i], other, t[i].server);
	}
}

/* Reconciles one object with every cluster it names, and every cluster it named. True: retry. */
static bool reconcile(struct sync_worker *w, struct sync_item *it)
{
	sync_source *src = it->src;
	const hcr_kube_resource *res = &hcr_sync_res[it->kind];
	struct subject sub = {.w = w, .src = src, .kind = it->kind, .ns = it->ns, .name = it->name};
	hcr_sync_names placed = {0}, wanted = {0}, now_placed = {0};
	sync_cluster *t = NULL;
	bool *usable = NULL, deleted = false, retry = false, annotated = false, found;
	json_t *obj = NULL;
	char key[600], *uid = NULL, *fresh_uid = NULL;
	sync_object *o;
	hcr_error err, werr;
	hcr_kube *k;
	size_t i, j;
	int rc, wrc;

	snprintf(key, sizeof(key), "%s/%s", it->ns, it->name);
	snprintf(sub.what, sizeof(sub.what), "%s %s/%s of cluster \"%s\"", res->kind, it->ns,
		 it->name, src->c.display);
	pthread_mutex_lock(&src->lock);
	o = hcr_sync_map_get(src->kinds[it->kind].objects, key);
	found = o != NULL;
	if (o) {
		deleted = o->deleted;
		uid = hcr_strdup(o->uid);
		for (i = 0; i < o->placed.n; i++)
			hcr_sync_names_add(&placed, o->placed.v[i]);
	}
	pthread_mutex_unlock(&src->lock);
	if (!found)
		return false;
	sub.uid = uid;

	if (!deleted) {
		k = conn_get(w, &src->c, &err);
		rc = k ? hcr_kube_get(&obj, k, res, it->ns, it->name, &err) : HCR_ERROR;
		if (rc == HCR_ENOTFOUND)
			goto out; /* a DELETED event or the next list decides, never this read */
		if (rc != HCR_OK) {
			report(&sub, "sync.failed", &src->c, src->c.name, it->ns, &err,
			       "cannot read %s: %s; its copies are left as they are", sub.what,
			       err.message);
			if (hcr_sync_unreachable(rc, &err))
				conn_drop(w, &src->c);
			retry = true;
			goto out;
		}
		fresh_uid = hcr_strdup(meta_str(obj, "uid"));
		if (fresh_uid)
			sub.uid = fresh_uid;
		wrc = hcr_sync_wanted(&wanted, &annotated, obj, &werr);
		if (refuse_source(&sub, obj, &wanted, annotated, wrc, &werr))
			goto out; /* nothing is created, changed or deleted for it */
		hcr_sync_seen_add(w->s, &wanted);
	}

	t = hcr_calloc(wanted.n ? wanted.n : 1, sizeof(*t));
	usable = hcr_calloc(wanted.n ? wanted.n : 1, sizeof(*usable));
	sort_targets(&sub, &wanted, t, usable);
	for (i = 0; i < wanted.n && !hcr_sync_stopping(w->s); i++)
		if (usable[i])
			retry |= ensure_copy(&sub, &t[i], obj);

	/* Everything it names stays "placed"; what it named and no longer does is removed. */
	for (i = 0; i < wanted.n; i++)
		hcr_sync_names_add(&now_placed, wanted.v[i]);
	for (i = 0; i < placed.n; i++) {
		sync_cluster pc;
		const char *tns;
		bool same = false;

		if (hcr_sync_names_has(&wanted, placed.v[i]))
			continue;
		hcr_sync_cluster_resolve(w->s, placed.v[i], &pc);
		if (pc.status != HCR_OK) {
			report(&sub, "sync.failed", &pc, placed.v[i], NULL, &pc.err,
			       "cannot delete the copy of %s from \"%s\": %s", sub.what,
			       placed.v[i], pc.err.message);
			hcr_sync_names_add(&now_placed, placed.v[i]);
			hcr_sync_cluster_clear(&pc);
			continue;
		}
		tns = pc.ns ? pc.ns : it->ns;
		/* Another name for a server and namespace it still wants: the same copy. */
		for (j = 0; j < wanted.n && !same; j++)
			same = usable[j] && strcmp(t[j].server_key, pc.server_key) == 0 &&
			       strcmp(t[j].ns ? t[j].ns : it->ns, tns) == 0;
		if (!same && strcmp(pc.server_key, src->c.server_key) != 0 &&
		    remove_copy(&sub, &pc, tns,
				deleted ? "its source was deleted"
					: "its source no longer names it",
				&retry) != HCR_OK)
			hcr_sync_names_add(&now_placed, placed.v[i]);
		hcr_sync_cluster_clear(&pc);
	}

	pthread_mutex_lock(&src->lock);
	o = hcr_sync_map_get(src->kinds[it->kind].objects, key);
	if (o) {
		hcr_sync_names_free(&o->placed);
		o->placed = now_placed;
		now_placed = (hcr_sync_names){0};
		if (o->placed.n == 0 && (o->deleted || !o->annotated))
			hcr_sync_object_free(hcr_sync_map_take(src->kinds[it->kind].objects, key));
	}
	pthread_mutex_unlock(&src->lock);
out:
	for (i = 0; t && i < wanted.n; i++)
		hcr_sync_cluster_clear(&t[i]);
	free(t);
	free(usable);
	wipe_decref(obj);
	hcr_sync_names_free(&placed);
	hcr_sync_names_free(&wanted);
	hcr_sync_names_free(&now_placed);
	free(uid);
	free(fresh_uid);
	return retry;
}

/* ---- the prune -------------------------------------------------------------------------------- */

struct found {
	char *ns, *name, *uid, *rv; /* the copy */
	char *ons;                  /* its source's namespace (the name is the same) */
	size_t t;                   /* which candidate target */
	hcr_sync_names wanted;      /* what its source asks for, by the object table */
	bool known;                 /* the source is in the table */
	bool orphan;
};

struct finding {
	sync_source *src;
	struct found *v;
	size_t n;
	size_t t;
};

static int on_copy(json_t *item, void *p)
{
	struct finding *f = p;
	hcr_sync_origin o;
	json_t *keep = NULL;

	/* Only copies made from this source's API server: a repointed context prunes nothing. */
	if (hcr_sync_origin_read(&o, &keep, item) && meta_str(item, "namespace") &&
	    meta_str(item, "name") &&
	    hcr_sync_origin_is(&o, f->src->c.display, f->src->server_id, o.namespace,
			       meta_str(item, "name"), NULL)) {
		struct found *x;

		f->v = hcr_realloc(f->v, (f->n + 1) * sizeof(*f->v));
		x = &f->v[f->n++];
		memset(x, 0, sizeof(*x));
		x->ns = hcr_strdup(meta_str(item, "namespace"));
		x->name = hcr_strdup(meta_str(item, "name"));
		x->uid = hcr_strdup(meta_str(item, "uid"));
		x->rv = hcr_strdup(meta_str(item, "resourceVersion"));
		x->ons = hcr_strdup(o.namespace);
		x->t = f->t;
	}
	json_decref(keep);
	return hcr_sync_stopping(f->src->s) ? 1 : 0;
}

static void found_free(struct finding *f, size_t from)
{
	size_t i;

	for (i = from; i < f->n; i++) {
		free(f->v[i].ns);
		free(f->v[i].name);
		free(f->v[i].uid);
		free(f->v[i].rv);
		free(f->v[i].ons);
		hcr_sync_names_free(&f->v[i].wanted);
	}
	f->n = from;
}

/* Does a target named in `wanted` hold its copy in namespace `ns` of `t`? Unknown counts as yes. */
static bool still_wanted(hcr_sync *s, const hcr_sync_names *wanted, const sync_cluster *t,
			 const char *ons, const char *ns)
{
	size_t i;
	bool yes = false;

	for (i = 0; i < wanted->n && !yes; i++) {
		sync_cluster c;

		hcr_sync_cluster_resolve(s, wanted->v[i], &c);
		yes = c.status != HCR_OK || (strcmp(c.server_key, t->server_key) == 0 &&
					     strcmp(c.ns ? c.ns : ons, ns) == 0);
		hcr_sync_cluster_clear(&c);
	}
	return yes;
}

/* The clusters that may hold copies of `src`: one name per server, not its own. */
static size_t prune_candidates(hcr_sync *s, const sync_source *src, sync_cluster **out)
{
	hcr_sync_names names = {0};
	sync_cluster *cand = NULL;
	size_t n = 0, i, j;

	hcr_sync_context_refs(s, &names);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->seen.n; i++)
		hcr_sync_names_add(&names, s->seen.v[i]);
	for (i = 0; i < s->nsources; i++)
		hcr_sync_names_add(&names, s->sources[i]->c.name);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < names.n; i++) {
		sync_cluster c;

		hcr_sync_cluster_resolve(s, names.v[i], &c);
		for (j = 0; j < n && c.status == HCR_OK; j++)
			if (strcmp(cand[j].server_key, c.server_key) == 0)
				break;
		if (c.status != HCR_OK || j < n || strcmp(c.server_key, src->c.server_key) == 0) {
			hcr_sync_cluster_clear(&c);
			continue;
		}
		cand = hcr_realloc(cand, (n + 1) * sizeof(*cand));
		cand[n++] = c;
	}
	hcr_sync_names_free(&names);
	*out = cand;
	return n;
}

/* Deletes orphan copy `x` after its source, read again, agrees. */
static void prune_one(struct sync_worker *w, sync_source *src, int kind, const struct found *x,
		      const sync_cluster *t)
{
	const hcr_kube_resource *res = &hcr_sync_res[kind];
	struct subject sub = {.w = w, .src = src, .kind = kind, .ns = x->ons, .name = x->name};
	hcr_kube_delete_opts d = {.uid = x->uid, .resource_version = x->rv};
	hcr_sync_names wanted = {0};
	json_t *obj = NULL;
	hcr_kube *k;
	hcr_error err;
	bool annotated = false;
	int rc;

	snprintf(sub.what, sizeof(sub.what), "%s %s/%s of cluster \"%s\"", res->kind, x->ons,
		 x->name, src->c.display);
	k = conn_get(w, &src->c, &err);
	rc = k ? hcr_kube_get(&obj, k, res, x->ons, x->name, &err) : HCR_ERROR;
	if (rc == HCR_OK) {
		if (hcr_sync_wanted(&wanted, &annotated, obj, &err) != HCR_OK)
			goto done; /* an annotation that does not parse: keep */
		if (!hcr_sync_is_copy(obj) && still_wanted(w->s, &wanted, t, x->ons, x->ns))
			goto done; /* it names this target after all */
	} else if (rc != HCR_ENOTFOUND) {
		goto done; /* a failed read deletes nothing */
	}
	k = conn_get(w, t, &err);
	rc = k ? hcr_kube_delete(NULL, k, res, x->ns, x->name, &d, &err) : HCR_ERROR;
	if (rc == HCR_OK)
		report(&sub, "sync.deleted", t, t->name, x->ns, NULL,
		       "deleted the copy of %s from cluster \"%s\": %s", sub.what, t->display,
		       obj ? "its source no longer names it" : "its source is gone");
	else if (rc != HCR_ENOTFOUND && rc != HCR_ECONFLICT)
		report(&sub, "sync.failed", t, t->name, x->ns, &err,
		       "cannot delete the copy of %s from cluster \"%s\": %s", sub.what, t->display,
		       err.message);
done:
	hcr_sync_names_free(&wanted);
	wipe_decref(obj);
}

/*
 * Finds and deletes the copies of `src`'s objects of `kind` whose source is
 * gone or no longer names their cluster. Runs only after a complete,
 * non-empty list, within the guard, and re-reads each source before deleting.
 */
static bool prune(struct sync_worker *w, sync_source *src, int kind)
{
	hcr_sync *s = w->s;
	const hcr_kube_resource *res = &hcr_sync_res[kind];
	struct finding f = {.src = src};
	sync_cluster *cand = NULL;
	char selector[128], dedup[600];
	size_t ncand, i, orphans = 0;
	bool ok;

	pthread_mutex_lock(&src->lock);
	ok = src->kinds[kind].list_ok;
	pthread_mutex_unlock(&src->lock);
	if (!ok)
		return false;
	ncand = prune_candidates(s, src, &cand);
	snprintf(selector, sizeof(selector), "%s=%s", HCR_SYNC_LABEL_CLUSTER, src->label);
	for (i = 0; i < ncand && !hcr_sync_stopping(s); i++) {
		hcr_kube_list_opts lo = {.label_selector = selector};
		size_t start = f.n;
		hcr_error err;
		hcr_kube *k;
		int rc;

		if (hcr_sync_down(s, cand[i].server_key, &err))
			continue;
		f.t = i;
		k = conn_get(w, &cand[i], &err);
		rc = k ? hcr_kube_list(k, res, &lo, on_copy, &f, NULL, &err) : HCR_ERROR;
		if (rc != HCR_OK) {
			/* Not knowing every copy there, prune none of them. */
			found_free(&f, start);
			hcr_log_warn("sync", "cannot list copies cluster=%s kind=%s error=\"%s\"",
				     cand[i].display, res->kind, err.message);
			if (k)
				target_failed(w, &cand[i], rc, &err);
		}
	}
	pthread_mutex_lock(&src->lock);
	ok = src->kinds[kind].list_ok;
	for (i = 0; i < f.n; i++) {
		char key[600];
		sync_object *o;
		size_t j;

		snprintf(key, sizeof(key), "%s/%s", f.v[i].ons, f.v[i].name);
		o = hcr_sync_map_get(src->kinds[kind].objects, key);
		if (!o || o->deleted)
			continue;
		f.v[i].known = true;
		for (j = 0; j < o->wanted.n; j++)
			hcr_sync_names_add(&f.v[i].wanted, o->wanted.v[j]);
	}
	pthread_mutex_unlock(&src->lock);
	if (!ok)
		goto done; /* a list failed meanwhile */
	for (i = 0; i < f.n; i++) {
		f.v[i].orphan =
			!still_wanted(s, &f.v[i].wanted, &cand[f.v[i].t], f.v[i].ons, f.v[i].ns);
		orphans += f.v[i].orphan;
	}
	snprintf(dedup, sizeof(dedup), "guard\n%s\n%d", src->c.name, kind);
	if (!hcr_sync_guard_allows(orphans, f.n, s->cfg->sync_max_delete_percent)) {
		char msg[700];
		hcr_error hint;
		sync_event ev = {.kind = "sync.refused",
				 .where = &src->c,
				 .path = res->kind,
				 .message = msg,
				 .dedup = dedup};

		snprintf(msg, sizeof(msg),
			 "refusing to delete %zu of the %zu copies of %ss of cluster \"%s\" whose "
			 "source is gone: more than sync.max_delete_percent (%d%%) in one pass",
			 orphans, f.n, res->kind, src->c.display, s->cfg->sync_max_delete_percent);
		hcr_error_clear(&hint);
		hcr_error_hint(&hint,
			       "if the sources really went, raise sync.max_delete_percent (100: no "
			       "limit) or delete the copies, labelled %s, by hand",
			       selector);
		ev.new_value =
			json_pack("{s:{s:s, s:s}, s:i, s:i, s:s}", "source", "cluster",
				  src->c.display, "kind", res->kind, "orphans", (json_int_t)orphans,
				  "copies", (json_int_t)f.n, "hint", hint.hint);
		hcr_sync_event(s, &ev);
		goto done;
	}
	hcr_sync_outcome_ok(s, dedup);
	for (i = 0; i < f.n && !hcr_sync_stopping(s); i++)
		if (f.v[i].orphan)
			prune_one(w, src, kind, &f.v[i], &cand[f.v[i].t]);
done:
	found_free(&f, 0);
	free(f.v);
	for (i = 0; i < ncand; i++)
		hcr_sync_cluster_clear(&cand[i]);
	free(cand);
	return false;
}

/* ---- the threads ------------------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct sync_worker *w = arg;
	struct sync_item *it;

	while ((it = take(w->s)) != NULL) {
		bool retry = it->name ? reconcile(w, it) : prune(w, it->src, it->kind);

		done(w->s, it, retry);
	}
	hcr_sync_map_free(w->conns);
	w->conns = NULL;
	return NULL;
}

void hcr_sync_workers_start(hcr_sync *s)
{
	size_t i;

	s->workers = hcr_calloc(SYNC_WORKERS, sizeof(*s->workers));
	s->nworkers = SYNC_WORKERS;
	for (i = 0; i < s->nworkers; i++) {
		struct sync_worker *w = &s->workers[i];

		w->s = s;
		w->conns = hcr_sync_map_new(conn_free);
		w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
		if (!w->started) {
			hcr_log_error("sync", "cannot start a worker thread");
			hcr_sync_map_free(w->conns);
			w->conns = NULL;
		}
	}
}

void hcr_sync_workers_join(hcr_sync *s)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->nworkers; i++)
		if (s->workers[i].started)
			pthread_join(s->workers[i].thread, NULL);
	free(s->workers);
	s->workers = NULL;
	s->nworkers = 0;
}
