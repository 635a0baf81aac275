/*
 * The watchers: for each source cluster and kind (ConfigMaps, Secrets), one
 * thread that lists every object in every namespace, page by page, keeps a
 * compact record of those that ask to be copied (or did: uid, the names they
 * want, where copies may be), then watches from the list's resourceVersion.
 * Each change queues the object for a worker; every sync.resync_s the list
 * is read again (a full resync), which is also when stale copies are pruned.
 * A 410 (too old) lists again at once; any other failure waits (1 s doubling
 * to 60 s) and tries again on a new connection (fresh credentials).
 *
 * What a list may change is limited on purpose. A list that fails part way
 * changes nothing. A list that is empty (an RBAC gap, a wrong cluster, a
 * restore in progress) changes nothing either and is reported. Only a
 * complete, non-empty list may mark the kind as fit for pruning, and pruning
 * has its own guard (sync_work.c). An object that vanishes between two lists
 * is dropped from the table; its copies are left to the prune, which checks
 * it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/log.h"
#include "hcr/mem.h"
#include "sync_int.h"

void hcr_sync_object_free(void *p)
{
	sync_object *o = p;

	if (!o)
		return;
	free(o->uid);
	hcr_sync_names_free(&o->wanted);
	hcr_sync_names_free(&o->placed);
	free(o);
}

struct watcher {
	sync_source *src;
	int kind;
};

static bool src_stopping(const sync_source *src)
{
	return atomic_load(&src->stop) || hcr_sync_stopping(src->s);
}

/* hcr_kube_watch's cancel check: a stopping worker ends its open watches at once. */
static bool watch_cancelled(void *arg)
{
	return src_stopping(arg);
}

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/*
 * Records what `obj` asks for in `objects` (the lock of its source held, or a
 * table nobody else sees). `old` (may be the same table) is where an earlier
 * record is looked up. True when the object is of interest: it is annotated,
 * or was. Its wanted names are added to `seen`.
 */
static bool note(hcr_sync_map *objects, hcr_sync_map *old, const json_t *obj, bool deleted,
		 hcr_sync_names *seen, char *key, size_t keylen)
{
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
	const char *uid = meta_str(obj, "uid");
	hcr_sync_names wanted = {0};
	bool annotated = false;
	sync_object *o, *prev;
	hcr_error ignored;
	size_t i;

	if (!ns || !name)
		return false;
	snprintf(key, keylen, "%s/%s", ns, name);
	prev = hcr_sync_map_get(old, key);
	o = hcr_sync_map_get(objects, key);
	if (deleted) {
		if (!o)
			return false;
		o->deleted = true;
		o->annotated = false;
		hcr_sync_names_free(&o->wanted);
		return true;
	}
	/* A name list that does not parse is still "annotated": the worker reports it. */
	hcr_sync_wanted(&wanted, &annotated, obj, &ignored);
	if (!annotated && !prev && !o) {
		hcr_sync_names_free(&wanted);
		return false;
	}
	if (!o) {
		o = hcr_calloc(1, sizeof(*o));
		if (prev)
			for (i = 0; i < prev->placed.n; i++)
				hcr_sync_names_add(&o->placed, prev->placed.v[i]);
		hcr_sync_map_put(objects, key, o);
	}
	free(o->uid);
	o->uid = hcr_strdup(uid);
	hcr_sync_names_free(&o->wanted);
	o->wanted = wanted;
	o->annotated = annotated;
	o->deleted = false;
	for (i = 0; i < wanted.n; i++)
		hcr_sync_names_add(seen, wanted.v[i]);
	return true;
}

/* ---- the list --------------------------------------------------------------------------------- */

struct listing {
	sync_source *src;
	int kind;
	hcr_sync_map *fresh;
	size_t count;
	hcr_sync_names seen;
};

static int on_item(json_t *item, void *p)
{
	struct listing *l = p;
	sync_source *src = l->src;
	char key[600];

	l->count++;
	pthread_mutex_lock(&src->lock);
	note(l->fresh, src->kinds[l->kind].objects, item, false, &l->seen, key, sizeof(key));
	pthread_mutex_unlock(&src->lock);
	return src_stopping(src) ? 1 : 0;
}

static sync_object *object_copy(const sync_object *o)
{
	sync_object *c = hcr_calloc(1, sizeof(*c));
	size_t i;

	c->uid = hcr_strdup(o->uid);
	for (i = 0; i < o->wanted.n; i++)
		hcr_sync_names_add(&c->wanted, o->wanted.v[i]);
	for (i = 0; i < o->placed.n; i++)
		hcr_sync_names_add(&c->placed, o->placed.v[i]);
	c->annotated = o->annotated;
	c->deleted = o->deleted;
	return c;
}

/* What the fresh table takes over from the old one when a list completes. */
struct carry {
	hcr_sync_map *fresh;
	hcr_sync_names *seen;
	size_t vanished;
};

static bool carry_over(const char *key, void *value, void *payload)
{
	struct carry *c = payload;
	sync_object *old = value, *now = hcr_sync_map_get(c->fresh, key);
	size_t i;

	if (now) {
		/* A worker may have moved `placed` since the list read the object. */
		hcr_sync_names_free(&now->placed);
		for (i = 0; i < old->placed.n; i++)
			hcr_sync_names_add(&now->placed, old->placed.v[i]);
	} else if (old->deleted) {
		/* A DELETED event whose copies a worker has still to remove. */
		hcr_sync_map_put(c->fresh, key, object_copy(old));
	} else {
		/* Gone without a DELETED event: the prune looks where its copies may be. */
		for (i = 0; i < old->placed.n; i++)
			hcr_sync_names_add(c->seen, old->placed.v[i]);
		c->vanished++;
	}
	return false;
}

struct queueing {
	sync_source *src;
	int kind;
};

static bool queue_each(const char *key, void *value, void *payload)
{
	struct queueing *q = payload;
	char ns[300];
	const char *slash = strchr(key, '/');

	(void)value;
	if (!slash || (size_t)(slash - key) >= sizeof(ns))
		return false;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	hcr_sync_enqueue(q->src->s, q->src, q->kind, ns, slash + 1);
	return false;
}

/*
 * Lists `kind` in every namespace and, when the list is complete and not
 * empty, makes it the object table and queues every object and a prune.
 * An empty list changes nothing (*empty is set, and `err` says why that is
 * reported); a failed one neither. *rv: the list's resourceVersion to watch
 * from (new; NULL after a failure).
 */
static int relist(sync_source *src, int kind, hcr_kube *k, char **rv, bool *empty, hcr_error *err)
{
	hcr_sync *s = src->s;
	struct listing l = {.src = src, .kind = kind};
	struct carry c = {0};
	struct queueing q = {.src = src, .kind = kind};
	hcr_kube_list_opts lo = {0};
	hcr_sync_map *old;
	int rc;

	*rv = NULL;
	*empty = false;
	l.fresh = hcr_sync_map_new(hcr_sync_object_free);
	rc = hcr_kube_list(k, &hcr_sync_res[kind], &lo, on_item, &l, rv, err);
	if (rc != HCR_OK || src_stopping(src) || l.count == 0) {
		size_t had;

		pthread_mutex_lock(&src->lock);
		src->kinds[kind].list_ok = false;
		had = hcr_sync_map_count(src->kinds[kind].objects);
		pthread_mutex_unlock(&src->lock);
		hcr_sync_map_free(l.fresh);
		hcr_sync_names_free(&l.seen);
		if (rc == HCR_OK && !src_stopping(src)) {
			/* Reported only when it matters: when it would have removed something. */
			*empty = had > 0;
			hcr_log_debug("sync", "empty list cluster=%s kind=%s known=%zu",
				      src->c.display, hcr_sync_kind_name(kind), had);
			hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				      "the list of %ss in cluster \"%s\" is empty: no copy of its "
				      "%ss is deleted while it is",
				      hcr_sync_kind_name(kind), src->c.display,
				      hcr_sync_kind_name(kind));
			hcr_error_hint(err, "an empty list proves nothing (a permission gap, the "
					    "wrong cluster, a restore in progress); copies are "
					    "pruned again after a list that is not empty");
			return HCR_OK;
		}
		free(*rv);
		*rv = NULL;
		return rc == HCR_OK ? HCR_ERROR : rc;
	}
	c.fresh = l.fresh;
	c.seen = &l.seen;
	pthread_mutex_lock(&src->lock);
	old = src->kinds[kind].objects;
	hcr_sync_map_each(old, carry_over, &c);
	src->kinds[kind].objects = l.fresh;
	src->kinds[kind].list_ok = true;
	hcr_sync_map_each(l.fresh, queue_each, &q);
	pthread_mutex_unlock(&src->lock);
	hcr_sync_map_free(old);
	hcr_sync_seen_add(s, &l.seen);
	if (c.vanished || hcr_log_enabled(HCR_LOG_DEBUG))
		hcr_log_write(c.vanished ? HCR_LOG_INFO : HCR_LOG_DEBUG, "sync",
			      "listed cluster=%s kind=%s objects=%zu annotated=%zu vanished=%zu",
			      src->c.display, hcr_sync_kind_name(kind), l.count,
			      hcr_sync_map_count(l.fresh), c.vanished);
	hcr_sync_enqueue(s, src, kind, NULL, NULL);
	hcr_sync_names_free(&l.seen);
	return HCR_OK;
}

/* ---- the watch -------------------------------------------------------------------------------- */

static int on_event(hcr_kube_event_type type, json_t *obj, void *p)
{
	struct watcher *w = p;
	sync_source *src = w->src;
	hcr_sync_names seen = {0};
	char key[600];
	bool queue;

	if (type == HCR_KUBE_BOOKMARK)
		return src_stopping(src) ? 1 : 0;
	pthread_mutex_lock(&src->lock);
	queue = note(src->kinds[w->kind].objects, src->kinds[w->kind].objects, obj,
		     type == HCR_KUBE_DELETED, &seen, key, sizeof(key));
	pthread_mutex_unlock(&src->lock);
	if (queue) {
		hcr_sync_seen_add(src->s, &seen);
		hcr_sync_enqueue(src->s, src, w->kind, meta_str(obj, "namespace"),
				 meta_str(obj, "name"));
	}
	hcr_sync_names_free(&seen);
	return src_stopping(src) ? 1 : 0;
}

/* Reports a failed list or watch of a source (once until it changes). */
static void read_failed(sync_source *src, int kind, int rc, const hcr_error *err)
{
	char dedup[600], msg[1400];
	sync_event ev = {.kind = rc == HCR_ENOTFOUND ? "sync.refused" : "sync.failed",
			 .where = &src->c,
			 .path = hcr_sync_kind_name(kind),
			 .message = msg,
			 .dedup = dedup};

	snprintf(dedup, sizeof(dedup), "read\n%s\n%d", src->c.name, kind);
	if (rc == HCR_ENOTFOUND)
		snprintf(msg, sizeof(msg), "%s", err->message);
	else if (strncmp(err->message, "cannot list ", 12) == 0)
		snprintf(msg, sizeof(msg),
			 "%s; no copy of its %ss is changed or deleted until it "
			 "can be read",
			 err->message, hcr_sync_kind_name(kind));
	else
		snprintf(msg, sizeof(msg),
			 "cannot list the %ss of cluster \"%s\": %s; no copy of "
			 "them is changed or deleted until they can be read",
			 hcr_sync_kind_name(kind), src->c.display, err->message);
	ev.new_value =
		json_pack("{s:{s:s, s:s}, s:s*, s:s*}", "source", "cluster", src->c.display, "kind",
			  hcr_sync_kind_name(kind), "detail", err->detail[0] ? err->detail : NULL,
			  "hint", err->hint[0] ? err->hint : NULL);
	hcr_sync_event(src->s, &ev);
}

static void read_ok(sync_source *src, int kind)
{
	char dedup[600];

	snprintf(dedup, sizeof(dedup), "read\n%s\n%d", src->c.name, kind);
	hcr_sync_outcome_ok(src->s, dedup);
}

static double backoff(int failures)
{
	double d = 1.0;

	while (failures-- > 0 && d < SYNC_BACKOFF_S)
		d *= 2;
	return d > SYNC_BACKOFF_S ? SYNC_BACKOFF_S : d;
}

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	sync_source *src = w->src;
	hcr_sync *s = src->s;
	hcr_kube *k = NULL;
	char *rv = NULL;
	double next_list = 0;
	int failures = 0, rc;
	hcr_error err;

	while (!src_stopping(src)) {
		hcr_kube_watch_opts wo = {0};
		hcr_kube_watch_end end;
		double left, started;

		if (!k && hcr_sync_open(&k, s, &src->c, &err) != HCR_OK) {
			read_failed(src, w->kind, HCR_ERROR, &err);
			hcr_sync_sleep(s, backoff(failures++), &src->stop);
			continue;
		}
		if (!rv || hcr_sync_now() >= next_list) {
			bool empty;

			free(rv);
			rc = relist(src, w->kind, k, &rv, &empty, &err);
			if (src_stopping(src))
				break;
			if (rc != HCR_OK) {
				read_failed(src, w->kind, rc, &err);
				hcr_kube_close(k);
				k = NULL;
				hcr_sync_sleep(s, backoff(failures++), &src->stop);
				continue;
			}
			if (empty)
				read_failed(src, w->kind, HCR_ENOTFOUND, &err);
			else
				read_ok(src, w->kind);
			failures = 0;
			next_list = hcr_sync_now() + s->cfg->sync_resync_s;
			if (!rv)
				rv = hcr_strdup(""); /* a list without a version: watch from now */
		}
		left = next_list - hcr_sync_now();
		wo.resource_version = rv;
		wo.timeout_s = left > SYNC_WATCH_S ? SYNC_WATCH_S : (left < 1 ? 1 : (long)left);
		wo.cancelled = watch_cancelled;
		wo.cancel_arg = src;
		started = hcr_sync_now();
		rc = hcr_kube_watch(k, &hcr_sync_res[w->kind], &wo, on_event, w, &end, &err);
		if (end.resource_version) {
			free(rv);
			rv = end.resource_version;
		}
		if (rc == HCR_OK && end.events == 0 && hcr_sync_now() - started < 0.5 &&
		    !src_stopping(src)) {
			/* A server (or a proxy) that ends watches at once: do not spin. */
			hcr_sync_sleep(s, backoff(failures++), &src->stop);
			continue;
		}
		if (rc == HCR_OK)
			continue;
		if (end.expired) {
			free(rv);
			rv = NULL; /* list again now */
			continue;
		}
		hcr_log_warn("sync", "watch failed cluster=%s kind=%s error=\"%s\"", src->c.display,
			     hcr_sync_kind_name(w->kind), err.message);
		hcr_kube_close(k);
		k = NULL;
		hcr_sync_sleep(s, backoff(failures++), &src->stop);
	}
	hcr_kube_close(k);
	free(rv);
	free(w);
	return NULL;
}

void hcr_sync_source_start(sync_source *src)
{
	int kind;

	atomic_store(&src->stop, false);
	for (kind = 0; kind < SYNC_KINDS; kind++) {
		struct watcher *w = hcr_calloc(1, sizeof(*w));

		w->src = src;
		w->kind = kind;
		src->kinds[kind].started =
			pthread_create(&src->kinds[kind].thread, NULL, watcher_main, w) == 0;
		if (!src->kinds[kind].started) {
			hcr_log_error("sync", "cannot start a watcher thread cluster=%s",
				      src->c.display);
			free(w);
		}
	}
	src->running = true;
}

void hcr_sync_source_stop(sync_source *src)
{
	int kind;

	atomic_store(&src->stop, true);
	/* Sleeping watchers wake on the worker's condition variable. */
	pthread_mutex_lock(&src->s->lock);
	pthread_cond_broadcast(&src->s->cond);
	pthread_mutex_unlock(&src->s->lock);
	for (kind = 0; kind < SYNC_KINDS; kind++) {
		if (src->kinds[kind].started)
			pthread_join(src->kinds[kind].thread, NULL);
		src->kinds[kind].started = false;
	}
	src->running = false;
}
