/*
 * The clusters config sync knows: the contexts of sync.kubeconfig and the
 * clusters registered in hcr, found by the names annotations and
 * sync.sources use ("b", "context:b", "cluster:prod"), with the rules of
 * hcr_kube_target_open. A name resolves to the API server it points at; two
 * names are the same cluster when their servers are (hcr_sync_server_key),
 * which is how duplicates and "a cluster synced to itself" are caught.
 *
 * Resolutions are cached for one round (sync.resync_s), so a registered
 * cluster's provider is asked for credentials once a round per worker, not
 * once per object. A server that does not answer trips a breaker: the
 * objects for it fail at once for a while instead of each waiting for the
 * connect timeout, and the other targets keep moving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/provider.h"
#include "sync_int.h"

struct down {
	double until;
	double span;
	hcr_error err;
};

void hcr_sync_cluster_clear(sync_cluster *c)
{
	free(c->name);
	free(c->ref);
	free(c->display);
	free(c->cluster_id);
	free(c->server);
	free(c->server_key);
	free(c->ns);
	memset(c, 0, sizeof(*c));
}

void hcr_sync_cluster_copy(sync_cluster *out, const sync_cluster *c)
{
	out->name = hcr_strdup(c->name);
	out->ref = hcr_strdup(c->ref);
	out->display = hcr_strdup(c->display);
	out->cluster_id = hcr_strdup(c->cluster_id);
	out->server = hcr_strdup(c->server);
	out->server_key = hcr_strdup(c->server_key);
	out->ns = hcr_strdup(c->ns);
	out->status = c->status;
	out->err = c->err;
}

static void cluster_free(void *p)
{
	hcr_sync_cluster_clear(p);
	free(p);
}

/* ---- the kubeconfig ------------------------------------------------------------------------ */

void hcr_sync_kubeconfig_load(hcr_sync *s)
{
	hcr_kubeconfig *kc = NULL;
	hcr_error err;
	char text[sizeof(s->kc_error)];

	if (!s->cfg->sync_kubeconfig || s->kc)
		return;
	if (hcr_kubeconfig_load(&kc, s->cfg->sync_kubeconfig, &err) == HCR_OK) {
		hcr_log_info("sync", "kubeconfig loaded path=%s contexts=%zu",
			     s->cfg->sync_kubeconfig, hcr_kubeconfig_context_count(kc));
		s->kc = kc;
		return;
	}
	snprintf(text, sizeof(text), "%.250s%s%.250s", err.message, err.detail[0] ? ": " : "",
		 err.detail);
	pthread_mutex_lock(&s->clusters_lock);
	if (strcmp(text, s->kc_error) != 0) {
		snprintf(s->kc_error, sizeof(s->kc_error), "%s", text);
		hcr_log_error("sync",
			      "cannot load sync.kubeconfig, its contexts cannot be used until it "
			      "loads (tried again every round) error=\"%s\"",
			      text);
	}
	pthread_mutex_unlock(&s->clusters_lock);
}

void hcr_sync_context_refs(hcr_sync *s, hcr_sync_names *out)
{
	const hcr_kubeconfig *kc = s->kc;
	size_t i, n = kc ? hcr_kubeconfig_context_count(kc) : 0;

	for (i = 0; i < n; i++) {
		char *ref = hcr_sprintf("context:%s", hcr_kubeconfig_context_name(kc, i));

		hcr_sync_names_add(out, ref);
		free(ref);
	}
}

/* ---- registered clusters --------------------------------------------------------------------- */

/* A registered cluster by name or id: 1 found (id, name new), 0 not, -1 the database failed. */
static int find_cluster(hcr_sync *s, const char *name, char **id, char **cname, hcr_error *err)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	const char *params[1] = {name};
	int found = -1;

	if (!s->store)
		return 0;
	if (hcr_store_acquire(s->store, &conn, err) != HCR_OK)
		return -1;
	if (hcr_store_query(conn, &res,
			    "SELECT id::text, name FROM clusters WHERE name = $1 OR id::text = $1 "
			    "LIMIT 1",
			    1, params, err) == HCR_OK) {
		found = PQntuples(res) > 0;
		if (found) {
			*id = hcr_store_strdup(res, 0, 0);
			*cname = hcr_store_strdup(res, 0, 1);
		}
	}
	PQclear(res);
	hcr_store_release(s->store, conn);
	return found;
}

/* Registered clusters whose provider gives Kubernetes credentials, as "cluster:NAME". */
static void registered_refs(hcr_sync *s, hcr_sync_names *out)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	hcr_error err;
	int i;

	if (!s->store || hcr_store_acquire(s->store, &conn, &err) != HCR_OK)
		return;
	if (hcr_store_query(conn, &res,
			    "SELECT name, provider FROM clusters WHERE state NOT IN "
			    "('pending_create', 'creating', 'create_failed', 'deleting') "
			    "ORDER BY name",
			    0, NULL, &err) == HCR_OK) {
		for (i = 0; i < PQntuples(res); i++) {
			const hcr_provider_ops *ops = hcr_provider_lookup(PQgetvalue(res, i, 1));
			char *ref;

			if (!ops || !ops->kube_credentials)
				continue;
			ref = hcr_sprintf("cluster:%s", PQgetvalue(res, i, 0));
			hcr_sync_names_add(out, ref);
			free(ref);
		}
	} else {
		hcr_log_warn("sync", "cannot list registered clusters error=\"%s\"", err.message);
	}
	PQclear(res);
	hcr_store_release(s->store, conn);
}

void hcr_sync_source_names(hcr_sync *s, hcr_sync_names *out)
{
	size_t i;

	for (i = 0; i < s->specs.n; i++) {
		const char *w = s->specs.v[i];

		if (strcmp(w, "none") == 0)
			continue;
		if (strcmp(w, "contexts") == 0 || strcmp(w, "all") == 0)
			hcr_sync_context_refs(s, out);
		if (strcmp(w, "clusters") == 0 || strcmp(w, "all") == 0)
			registered_refs(s, out);
		if (strcmp(w, "contexts") != 0 && strcmp(w, "clusters") != 0 &&
		    strcmp(w, "all") != 0)
			hcr_sync_names_add(out, w);
	}
}

/* ---- resolving a name ------------------------------------------------------------------------ */

static void fail(sync_cluster *c, const hcr_error *err)
{
	c->status = HCR_ERROR;
	c->err = *err;
}

static hcr_kube_targets targets_of(hcr_sync *s)
{
	hcr_kube_targets t = {.cfg = s->cfg,
			      .store = s->store,
			      .key = s->key,
			      .kubeconfig = s->kc,
			      .opts = &s->kopts};

	return t;
}

static void resolve_context(hcr_sync *s, const char *ctx, sync_cluster *c)
{
	hcr_kube_context *kctx = NULL;
	hcr_error err;

	c->display = hcr_strdup(ctx);

	if (!s->kc) {
		if (s->cfg->sync_kubeconfig) {
			hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				      "context \"%s\" cannot be used: sync.kubeconfig \"%s\" did "
				      "not load",
				      ctx, s->cfg->sync_kubeconfig);
			pthread_mutex_lock(&s->clusters_lock);
			hcr_error_detail(&err, "%s", s->kc_error);
			pthread_mutex_unlock(&s->clusters_lock);
			hcr_error_hint(&err, "fix the file; hcr tries to load it every round");
		} else {
			hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				      "no kubeconfig context \"%s\": sync.kubeconfig is not set",
				      ctx);
		}
		fail(c, &err);
		return;
	}
	if (!hcr_kubeconfig_has_context(s->kc, ctx)) {
		hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
			      "no kubeconfig context \"%s\" in \"%s\"", ctx,
			      hcr_kubeconfig_path(s->kc));
		fail(c, &err);
		return;
	}
	if (hcr_kubeconfig_resolve(&kctx, s->kc, ctx, &err) != HCR_OK) {
		fail(c, &err);
		return;
	}
	c->ref = hcr_sprintf("context:%s", ctx);
	c->server = hcr_strdup(kctx->server);
	c->ns = hcr_strdup(kctx->namespace_name);
	hcr_kube_context_free(kctx);
}

static void resolve_cluster(hcr_sync *s, const char *name, sync_cluster *c)
{
	hcr_kube_targets t = targets_of(s);
	hcr_kube *k = NULL;
	hcr_error err;
	char *id = NULL, *cname = NULL, *ref;
	int found = find_cluster(s, name, &id, &cname, &err);

	if (found <= 0) {
		if (found == 0)
			hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				      "no registered cluster is named \"%s\"", name);
		fail(c, &err);
		return;
	}
	/* Events name the cluster by its id from here on, also when it cannot be opened. */
	c->display = cname;
	c->cluster_id = id;
	ref = hcr_sprintf("cluster:%s", cname);
	if (hcr_kube_target_open(&k, &t, ref, &err) != HCR_OK) {
		fail(c, &err);
		free(ref);
		return;
	}
	c->ref = ref;
	c->server = hcr_strdup(hcr_kube_server(k));
	hcr_kube_close(k);
}

static void resolve(hcr_sync *s, const char *name, sync_cluster *c)
{
	hcr_error err;
	char *id = NULL, *cname = NULL;
	bool ctx;
	int found;

	c->name = hcr_strdup(name);
	if (strncmp(name, "context:", 8) == 0) {
		resolve_context(s, name + 8, c);
	} else if (strncmp(name, "cluster:", 8) == 0) {
		resolve_cluster(s, name + 8, c);
	} else {
		ctx = hcr_kubeconfig_has_context(s->kc, name);
		found = find_cluster(s, name, &id, &cname, &err);
		free(id);
		free(cname);
		if (found < 0) {
			fail(c, &err);
		} else if (ctx && found) {
			hcr_error_set(
				&err, HCR_EINVALID, HCR_ERR_INVALID,
				"\"%s\" is both a registered cluster and a kubeconfig context",
				name);
			hcr_error_hint(&err, "say which: \"cluster:%s\" or \"context:%s\"", name,
				       name);
			fail(c, &err);
		} else if (found) {
			resolve_cluster(s, name, c);
		} else if (ctx || (s->cfg->sync_kubeconfig && !s->kc)) {
			/* A context; or maybe one, of a kubeconfig that did not load (said so). */
			resolve_context(s, name, c);
		} else {
			hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				      "no registered cluster or kubeconfig context is named \"%s\"",
				      name);
			hcr_error_hint(&err, "hcr clusters ls lists registered clusters%s",
				       s->kc ? "; kubectl config get-contexts lists contexts" : "");
			fail(c, &err);
		}
	}
	if (c->status == HCR_OK)
		c->server_key = hcr_sync_server_key(c->server);
}

void hcr_sync_cluster_resolve(hcr_sync *s, const char *name, sync_cluster *out)
{
	sync_cluster *cached, *fresh;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->clusters_lock);
	cached = hcr_sync_map_get(s->resolved, name);
	if (cached)
		hcr_sync_cluster_copy(out, cached);
	pthread_mutex_unlock(&s->clusters_lock);
	if (cached)
		return;
	/* Resolved without the lock: two threads may both do it once; the last one is kept. */
	fresh = hcr_calloc(1, sizeof(*fresh));
	resolve(s, name, fresh);
	hcr_sync_cluster_copy(out, fresh);
	pthread_mutex_lock(&s->clusters_lock);
	hcr_sync_map_put(s->resolved, name, fresh);
	pthread_mutex_unlock(&s->clusters_lock);
}

void hcr_sync_clusters_renew(hcr_sync *s)
{
	pthread_mutex_lock(&s->clusters_lock);
	hcr_sync_map_free(s->resolved);
	s->resolved = hcr_sync_map_new(cluster_free);
	pthread_mutex_unlock(&s->clusters_lock);
}

int hcr_sync_open(hcr_kube **out, hcr_sync *s, const sync_cluster *c, hcr_error *err)
{
	hcr_kube_targets t = targets_of(s);

	*out = NULL;
	if (c->status != HCR_OK) {
		*err = c->err;
		return c->status;
	}
	return hcr_kube_target_open(out, &t, c->ref, err);
}

/* ---- the breaker ----------------------------------------------------------------------------- */

bool hcr_sync_unreachable(int rc, const hcr_error *err)
{
	/* The client's transport errors carry no HTTP status; a Status answer's detail does. */
	return rc == HCR_EUPSTREAM && !strstr(err->detail, "HTTP ");
}

bool hcr_sync_down(hcr_sync *s, const char *server_key, hcr_error *err)
{
	struct down *d;
	bool down = false;

	pthread_mutex_lock(&s->clusters_lock);
	d = hcr_sync_map_get(s->down, server_key);
	if (d && d->until > hcr_sync_now()) {
		down = true;
		*err = d->err;
	}
	pthread_mutex_unlock(&s->clusters_lock);
	return down;
}

void hcr_sync_down_mark(hcr_sync *s, const char *server_key, const hcr_error *err)
{
	struct down *d;

	pthread_mutex_lock(&s->clusters_lock);
	d = hcr_sync_map_get(s->down, server_key);
	if (!d) {
		d = hcr_calloc(1, sizeof(*d));
		hcr_sync_map_put(s->down, server_key, d);
	}
	d->span = d->span > 0 ? d->span * 2 : SYNC_DOWN_MIN_S;
	if (d->span > SYNC_BACKOFF_S)
		d->span = SYNC_BACKOFF_S;
	d->until = hcr_sync_now() + d->span;
	d->err = *err;
	pthread_mutex_unlock(&s->clusters_lock);
}

void hcr_sync_down_clear(hcr_sync *s, const char *server_key)
{
	pthread_mutex_lock(&s->clusters_lock);
	free(hcr_sync_map_take(s->down, server_key));
	pthread_mutex_unlock(&s->clusters_lock);
}
