/*
 * What the src/sync_*.c files share and nobody else needs: the worker's
 * state, its sources and their object tables, the work queue, resolved
 * clusters and the event writer. docs/sync/config-sync.md explains the design.
 *
 * Locks: `hcr_sync.lock` guards the queue, the source list, the names seen
 * and the stop flag's condition variable; each source's `lock` guards its
 * object tables; `clusters_lock` guards resolved clusters and the breaker;
 * `events_lock` the last outcomes. A thread holding a source's lock may take
 * hcr_sync.lock (to enqueue), never the other way round. No lock is held
 * across a request to a cluster or the database.
 */
#ifndef HCR_SYNC_INT_H
#define HCR_SYNC_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "hcr/kube.h"
#include "hcr/kube_targets.h"
#include "hcr/sync.h"

/* The kinds config sync copies, and the namespace it may create. */
enum { SYNC_CONFIGMAPS = 0, SYNC_SECRETS = 1, SYNC_KINDS = 2 };
/*
 * Core v1 resources, not discovered: their names and paths are fixed in every
 * Kubernetes version, and discovery would cost a dozen requests per
 * connection for nothing.
 */
extern const hcr_kube_resource hcr_sync_res[SYNC_KINDS];
extern const hcr_kube_resource hcr_sync_namespace_res;

#define SYNC_WORKERS    4  /* threads reconciling queued objects */
#define SYNC_WATCH_S    30 /* longest watch request; a stop waits for at most this */
#define SYNC_BACKOFF_S  60 /* longest wait before a failed list, watch or object is retried */
#define SYNC_DOWN_MIN_S 5  /* a target that failed to connect is skipped this long at first */

/* ---- a string-keyed hash table (sync_map.c) ------------------------------------------------- */

typedef struct hcr_sync_map hcr_sync_map;

/* `free_value` (may be NULL) releases a value when it is replaced or removed. */
hcr_sync_map *hcr_sync_map_new(void (*free_value)(void *));
void hcr_sync_map_free(hcr_sync_map *m);
void *hcr_sync_map_get(const hcr_sync_map *m, const char *key);
/* Sets `key` (copied) to `value` (owned by the map from now), freeing a value it replaces. */
void hcr_sync_map_put(hcr_sync_map *m, const char *key, void *value);
/* Removes `key` and returns its value without freeing it (NULL when absent). */
void *hcr_sync_map_take(hcr_sync_map *m, const char *key);
size_t hcr_sync_map_count(const hcr_sync_map *m);
/* Calls `cb` for each entry in no particular order; `cb` returning true removes (frees) it. */
void hcr_sync_map_each(hcr_sync_map *m, bool (*cb)(const char *key, void *value, void *payload),
		       void *payload);

/* ---- clusters (sync_clusters.c) ---------------------------------------------------------------- */

/* A cluster name as the worker resolved it (a context of sync.kubeconfig or a registered cluster). */
typedef struct sync_cluster {
	char *name;       /* as written: "b", "context:b", "cluster:prod" */
	char *ref;        /* explicit, for hcr_kube_target_open: "context:b", "cluster:prod" */
	char *display;    /* "b", "prod": in origin marks and messages */
	char *cluster_id; /* a registered cluster's id; NULL for a context */
	char *server;     /* the API server's URL */
	char *server_key; /* hcr_sync_server_key(server) */
	char *ns;         /* the context's namespace; NULL when none */
	int status;       /* HCR_OK, or why the name cannot be used (in err) */
	hcr_error err;
} sync_cluster;

void hcr_sync_cluster_clear(sync_cluster *c);
void hcr_sync_cluster_copy(sync_cluster *out, const sync_cluster *c);

/*
 * Resolves `name` into *out (cleared first; clear it when done), through a
 * cache renewed every round. Blocks (a registered cluster's provider is asked
 * for credentials). A failure is in out->status / out->err, never returned.
 */
void hcr_sync_cluster_resolve(hcr_sync *s, const char *name, sync_cluster *out);

/* Forgets every resolution (a new round: credentials and kubeconfig may have changed). */
void hcr_sync_clusters_renew(hcr_sync *s);

/*
 * The breaker: a target whose server did not answer is skipped for a while
 * (5 s, doubling to 60 s) instead of holding a worker on every object.
 * hcr_sync_down returns true (and the error it failed with) while it lasts.
 */
bool hcr_sync_down(hcr_sync *s, const char *server_key, hcr_error *err);
void hcr_sync_down_mark(hcr_sync *s, const char *server_key, const hcr_error *err);
void hcr_sync_down_clear(hcr_sync *s, const char *server_key);

/* Loads sync.kubeconfig when it is set and not loaded yet; the error is logged once. */
void hcr_sync_kubeconfig_load(hcr_sync *s);

/*
 * The source names for this round, from sync.sources: explicit references
 * ("context:a", "cluster:prod") and names as written. *out is filled; free it.
 */
void hcr_sync_source_names(hcr_sync *s, hcr_sync_names *out);

/* Every context of the kubeconfig as "context:NAME" (prune candidates). */
void hcr_sync_context_refs(hcr_sync *s, hcr_sync_names *out);

/* Opens a connection to a resolved cluster (hcr_kube_target_open on its ref). */
int hcr_sync_open(hcr_kube **out, hcr_sync *s, const sync_cluster *c, hcr_error *err);

/* True for errors that mean the server did not answer (HCR_EUPSTREAM from transport). */
bool hcr_sync_unreachable(int rc, const hcr_error *err);

/* ---- sources and their objects (sync_watch.c) ------------------------------------------------- */

/* What the worker knows of one annotated (or once annotated) source object. */
typedef struct sync_object {
	char *uid;
	hcr_sync_names wanted; /* the names it asks for, as last seen */
	hcr_sync_names placed; /* names it was reconciled against: copies may be there */
	bool annotated;
	bool deleted; /* a watch said DELETED: its copies go */
} sync_object;

void hcr_sync_object_free(void *o);

typedef struct sync_source {
	hcr_sync *s;
	size_t index;
	sync_cluster c;     /* as resolved when it started */
	char label[64];     /* hcr_sync_label_value(c.display) */
	char server_id[17]; /* hcr_sync_server_id(c.server): in origin marks */
	atomic_bool stop;
	bool running;
	pthread_mutex_t lock;
	struct {
		hcr_sync_map *objects; /* "ns/name" -> sync_object */
		bool list_ok;          /* the last list was complete and not empty */
		pthread_t thread;
		bool started;
	} kinds[SYNC_KINDS];
} sync_source;

/* Starts / stops (and joins) a source's two watchers. Stopping deletes nothing. */
void hcr_sync_source_start(sync_source *src);
void hcr_sync_source_stop(sync_source *src);

/* ---- the queue and the workers (sync_work.c) ------------------------------------------------ */

/* Queues the reconcile of one object (ns/name) or, with name NULL, a prune pass. */
void hcr_sync_enqueue(hcr_sync *s, sync_source *src, int kind, const char *ns, const char *name);
void hcr_sync_workers_start(hcr_sync *s);
void hcr_sync_workers_join(hcr_sync *s);
void hcr_sync_queue_free(hcr_sync *s);

/* ---- events (sync_events.c) -------------------------------------------------------------------- */

typedef struct sync_event {
	const char *kind; /* "sync.created", "sync.failed", ... */
	/*
	 * The cluster it is about: a registered cluster's id, else its display
	 * name, else `where_name` (a name that did not resolve) identifies it.
	 */
	const sync_cluster *where;
	const char *where_name;
	const char *path;  /* "ConfigMap/ns/name", "Secret" */
	json_t *old_value; /* stolen; may be NULL */
	json_t *new_value; /* stolen; may be NULL */
	const char *message;
	/* Repeats of the same kind and message under this key are not written again. */
	const char *dedup;
} sync_event;

/* Writes the event (unless it repeats) and logs it. Never fails: a database away is logged. */
void hcr_sync_event(hcr_sync *s, const sync_event *ev);
/* The thing under `dedup` is fine now: its next failure is reported again. */
void hcr_sync_outcome_ok(hcr_sync *s, const char *dedup);
void hcr_sync_outcomes_free(hcr_sync *s);

/* ---- the worker (sync.c) ----------------------------------------------------------------------- */

struct sync_item;
struct sync_worker;

struct hcr_sync {
	const hcr_config *cfg;
	hcr_store *store;
	const hcr_master_key *key;
	hcr_kube_opts kopts;
	hcr_sync_names specs; /* sync.sources, split */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;
	atomic_uint generation; /* bumped every round: connections older than it reopen */

	/* Set once (NULL -> loaded), then read without a lock. */
	hcr_kubeconfig *_Atomic kc;
	char kc_error[512]; /* the last load failure, logged once; under clusters_lock */

	pthread_mutex_t clusters_lock;
	hcr_sync_map *resolved; /* name -> sync_cluster */
	hcr_sync_map *down;     /* server key -> struct down */

	/* Under `lock`. */
	hcr_sync_names seen; /* every target name seen since start */
	sync_source **sources;
	size_t nsources;
	hcr_sync_map *items; /* queued or in-flight work by key */
	struct sync_item *ready_head, *ready_tail, *delayed;
	struct sync_worker *workers;
	size_t nworkers;

	pthread_mutex_t events_lock;
	hcr_sync_map *outcomes; /* dedup key -> last "kind\nmessage" */
};

/* Waits up to `seconds`, or until the worker stops or `also` (may be NULL) is set. */
bool hcr_sync_sleep(hcr_sync *s, double seconds, const atomic_bool *also);
/* True once hcr_sync_stop was called. */
bool hcr_sync_stopping(const hcr_sync *s);
double hcr_sync_now(void);
/* Adds names to the set of targets seen (candidates for pruning). Takes `lock`. */
void hcr_sync_seen_add(hcr_sync *s, const hcr_sync_names *names);

/* "ConfigMap" / "Secret" */
const char *hcr_sync_kind_name(int kind);

#endif
