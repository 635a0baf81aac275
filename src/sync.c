/*
 * The sibling worker's config sync: its life (new, run, stop, free) and the
 * round it repeats every sync.resync_s: load the kubeconfig if it has not
 * loaded yet, renew cached resolutions and connections (credentials of
 * registered clusters expire), work out the source clusters from
 * sync.sources, and start a watcher for each new one (stop those that went).
 *
 * Sources are told apart by the API server they point at: two names for one
 * server are one source, read once under the first name (a kubeconfig often
 * has an admin and a read-only context for the same cluster); the others are
 * reported. Stopping a source never deletes anything: only what a source says
 * can delete its copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/sync.h"
#include "sync_int.h"

const hcr_kube_resource hcr_sync_res[SYNC_KINDS] = {
	{.group = "",
	 .version = "v1",
	 .api_version = "v1",
	 .kind = "ConfigMap",
	 .plural = "configmaps",
	 .singular = "configmap",
	 .namespaced = true,
	 .verbs = 0xff},
	{.group = "",
	 .version = "v1",
	 .api_version = "v1",
	 .kind = "Secret",
	 .plural = "secrets",
	 .singular = "secret",
	 .namespaced = true,
	 .verbs = 0xff},
};

const hcr_kube_resource hcr_sync_namespace_res = {.group = "",
						  .version = "v1",
						  .api_version = "v1",
						  .kind = "Namespace",
						  .plural = "namespaces",
						  .singular = "namespace",
						  .namespaced = false,
						  .verbs = 0xff};

const char *hcr_sync_kind_name(int kind)
{
	return hcr_sync_res[kind].kind;
}

double hcr_sync_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool hcr_sync_stopping(const hcr_sync *s)
{
	return atomic_load(&s->stopping);
}

bool hcr_sync_sleep(hcr_sync *s, double seconds, const atomic_bool *also)
{
	struct timespec until;
	double end;

	clock_gettime(CLOCK_REALTIME, &until);
	end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + seconds;
	until.tv_sec = (time_t)end;
	until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
	pthread_mutex_lock(&s->lock);
	while (!hcr_sync_stopping(s) && !(also && atomic_load(also))) {
		if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
			break; /* timed out */
	}
	pthread_mutex_unlock(&s->lock);
	return !hcr_sync_stopping(s);
}

void hcr_sync_seen_add(hcr_sync *s, const hcr_sync_names *names)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < names->n; i++)
		hcr_sync_names_add(&s->seen, names->v[i]);
	pthread_mutex_unlock(&s->lock);
}

/* ---- life ----------------------------------------------------------------------------------- */

int hcr_sync_new(hcr_sync **out, const hcr_config *cfg, hcr_store *store, const hcr_master_key *key,
		 hcr_error *err)
{
	hcr_sync *s = hcr_calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	s->cfg = cfg;
	s->store = store;
	s->key = key;
	s->kopts.request_timeout_ms = cfg->sync_request_timeout_ms;
	s->kopts.user_agent = "hcr-sync";
	rc = hcr_sync_split_names(&s->specs, cfg->sync_sources ? cfg->sync_sources : "contexts",
				  err);
	if (rc != HCR_OK) {
		hcr_error_hint(err, "sync.sources is a comma-separated list of cluster names and "
				    "the words contexts, clusters, all and none");
		hcr_sync_names_free(&s->specs);
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->clusters_lock, NULL);
	pthread_mutex_init(&s->events_lock, NULL);
	hcr_sync_clusters_renew(s);
	s->down = hcr_sync_map_new(free);
	s->outcomes = hcr_sync_map_new(free);
	*out = s;
	return HCR_OK;
}

void hcr_sync_stop(hcr_sync *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void hcr_sync_free(hcr_sync *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nsources; i++) {
		sync_source *src = s->sources[i];
		int k;

		for (k = 0; k < SYNC_KINDS; k++)
			hcr_sync_map_free(src->kinds[k].objects);
		hcr_sync_cluster_clear(&src->c);
		pthread_mutex_destroy(&src->lock);
		free(src);
	}
	free(s->sources);
	hcr_sync_queue_free(s);
	hcr_sync_outcomes_free(s);
	hcr_sync_map_free(s->resolved);
	hcr_sync_map_free(s->down);
	hcr_sync_names_free(&s->seen);
	hcr_sync_names_free(&s->specs);
	hcr_kubeconfig_free(s->kc);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->clusters_lock);
	pthread_mutex_destroy(&s->events_lock);
	free(s);
}

/* ---- the round ------------------------------------------------------------------------------ */

static sync_source *find_source(hcr_sync *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nsources; i++)
		if (strcmp(s->sources[i]->c.name, name) == 0)
			return s->sources[i];
	return NULL;
}

static sync_source *source_new(hcr_sync *s, const sync_cluster *c)
{
	sync_source *src = hcr_calloc(1, sizeof(*src));
	int k;

	src->s = s;
	hcr_sync_cluster_copy(&src->c, c);
	hcr_sync_label_value(src->label, c->display);
	hcr_sync_server_id(src->server_id, c->server);
	pthread_mutex_init(&src->lock, NULL);
	for (k = 0; k < SYNC_KINDS; k++)
		src->kinds[k].objects = hcr_sync_map_new(hcr_sync_object_free);
	pthread_mutex_lock(&s->lock);
	src->index = s->nsources;
	s->sources = hcr_realloc(s->sources, (s->nsources + 1) * sizeof(sync_source *));
	s->sources[s->nsources++] = src;
	pthread_mutex_unlock(&s->lock);
	return src;
}

/* Reports a source that cannot be read, once until it changes. */
static void source_problem(hcr_sync *s, const sync_cluster *c, const char *name, const char *kind,
			   const char *message, const hcr_error *err)
{
	char dedup[600];
	sync_event ev = {.kind = kind,
			 .where = c,
			 .where_name = name,
			 .path = "",
			 .message = message,
			 .dedup = dedup};

	snprintf(dedup, sizeof(dedup), "source\n%s", name);
	ev.new_value = json_pack("{s:{s:s}, s:s*, s:s*}", "source", "cluster",
				 c && c->display ? c->display : name, "detail",
				 err && err->detail[0] ? err->detail : NULL, "hint",
				 err && err->hint[0] ? err->hint : NULL);
	hcr_sync_event(s, &ev);
}

static void sync_round(hcr_sync *s)
{
	hcr_sync_names names = {0}, keep = {0};
	sync_cluster *chosen = NULL;
	size_t nchosen = 0, i, j;

	hcr_sync_kubeconfig_load(s);
	atomic_fetch_add(&s->generation, 1);
	hcr_sync_clusters_renew(s);
	hcr_sync_source_names(s, &names);
	for (i = 0; i < names.n && !hcr_sync_stopping(s); i++) {
		sync_cluster c;
		char msg[1024], dedup[600];

		hcr_sync_cluster_resolve(s, names.v[i], &c);
		hcr_sync_names_add(&keep, names.v[i]);
		if (c.status != HCR_OK) {
			snprintf(msg, sizeof(msg), "cannot read source cluster \"%s\": %s",
				 names.v[i], c.err.message);
			source_problem(s, &c, names.v[i], "sync.failed", msg, &c.err);
			hcr_sync_cluster_clear(&c);
			continue;
		}
		for (j = 0; j < nchosen; j++)
			if (strcmp(chosen[j].server_key, c.server_key) == 0)
				break;
		if (j < nchosen) {
			snprintf(msg, sizeof(msg),
				 "source \"%s\" is the same API server as \"%s\" (%s): its objects "
				 "are read once, as \"%s\"",
				 c.display, chosen[j].display, c.server, chosen[j].display);
			source_problem(s, &c, names.v[i], "sync.refused", msg, NULL);
			hcr_sync_cluster_clear(&c);
			continue;
		}
		snprintf(dedup, sizeof(dedup), "source\n%s", names.v[i]);
		hcr_sync_outcome_ok(s, dedup);
		chosen = hcr_realloc(chosen, (nchosen + 1) * sizeof(*chosen));
		chosen[nchosen++] = c;
	}
	/* Start the new ones; stop those no longer named (a failed resolution keeps its watcher). */
	for (i = 0; i < nchosen && !hcr_sync_stopping(s); i++) {
		sync_source *src;

		pthread_mutex_lock(&s->lock);
		src = find_source(s, chosen[i].name);
		pthread_mutex_unlock(&s->lock);
		if (src && src->running)
			continue;
		if (!src) {
			src = source_new(s, &chosen[i]);
		} else {
			hcr_sync_cluster_clear(&src->c);
			hcr_sync_cluster_copy(&src->c, &chosen[i]);
			hcr_sync_label_value(src->label, src->c.display);
			hcr_sync_server_id(src->server_id, src->c.server);
		}
		hcr_log_info("sync", "reading source cluster=%s server=%s", src->c.display,
			     src->c.server);
		hcr_sync_source_start(src);
	}
	for (i = 0; i < s->nsources; i++) {
		sync_source *src = s->sources[i];

		if (src->running && !hcr_sync_names_has(&keep, src->c.name)) {
			hcr_log_info("sync", "no longer a source cluster=%s", src->c.display);
			hcr_sync_source_stop(src);
		}
	}
	for (i = 0; i < nchosen; i++)
		hcr_sync_cluster_clear(&chosen[i]);
	free(chosen);
	hcr_sync_names_free(&names);
	hcr_sync_names_free(&keep);
}

void hcr_sync_run(hcr_sync *s)
{
	size_t i;

	hcr_log_info("sync", "config sync started sources=\"%s\" kubeconfig=%s resync_s=%d",
		     s->cfg->sync_sources ? s->cfg->sync_sources : "contexts",
		     s->cfg->sync_kubeconfig ? s->cfg->sync_kubeconfig : "none",
		     s->cfg->sync_resync_s);
	hcr_sync_workers_start(s);
	while (!hcr_sync_stopping(s)) {
		sync_round(s);
		hcr_sync_sleep(s, s->cfg->sync_resync_s, NULL);
	}
	for (i = 0; i < s->nsources; i++)
		if (s->sources[i]->running)
			hcr_sync_source_stop(s->sources[i]);
	hcr_sync_workers_join(s);
	hcr_log_info("sync", "config sync stopped");
}
