/*
 * Config sync: ConfigMaps and Secrets annotated `hcr.io/sync-clusters: "b,c"`
 * (or Kubed's `kubed.appscode.com/sync-contexts`) are copied into the named
 * clusters, kept equal to their source, and removed when the source goes or
 * stops naming the cluster. It runs in the sibling worker (hcr sync, and a
 * thread of hcr run). docs/sync/config-sync.md is the design and the list of
 * safety rules; this header is the contract.
 *
 * The worker is a set of threads using the blocking Kubernetes client
 * (hcr/kube.h): per source cluster and kind, one thread lists and watches; a
 * few worker threads reconcile queued objects against their targets. Results
 * go to the event history (cluster_events, kinds "sync.*") and the log, never
 * with a Secret's values.
 *
 * The second half of this header is the pure part (no I/O), exposed for the
 * unit tests: which clusters an object asks for, the origin marks, the copy,
 * the decision, the deletion guard.
 */
#ifndef HCR_SYNC_H
#define HCR_SYNC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/store.h"

/* ---- the worker ---------------------------------------------------------------------- */

typedef struct hcr_sync hcr_sync;

/*
 * Creates the worker. `cfg`, `store` and `key` are borrowed and must outlive
 * it. Nothing is read or contacted yet: a missing or broken sync.kubeconfig,
 * a database that is away and clusters that do not answer are reported while
 * it runs, never here. Fails only on a value of sync.sources that cannot be
 * parsed (HCR_EINVALID).
 */
int hcr_sync_new(hcr_sync **out, const hcr_config *cfg, hcr_store *store, const hcr_master_key *key,
		 hcr_error *err);

/*
 * Runs the worker on the calling thread until hcr_sync_stop: starts the
 * worker threads and, every sync.resync_s, works out the set of source
 * clusters and starts a watcher for each new one. Returns once every thread
 * it started has ended. With no sources (no kubeconfig, no registered
 * clusters) it just waits.
 */
void hcr_sync_run(hcr_sync *s);

/*
 * Asks the worker to stop; safe from any thread (not from a signal handler).
 * Requests in flight finish or time out; an open watch ends at its next event
 * or bookmark, or when its server-side timeout (at most 30 s) passes.
 */
void hcr_sync_stop(hcr_sync *s);

/* Frees a worker whose hcr_sync_run has returned (or never ran). NULL is ignored. */
void hcr_sync_free(hcr_sync *s);

/* ---- the pure part --------------------------------------------------------------------- */

#define HCR_SYNC_ANNOTATION        "hcr.io/sync-clusters"
#define HCR_SYNC_KUBED_ANNOTATION  "kubed.appscode.com/sync-contexts"
#define HCR_SYNC_ORIGIN_ANNOTATION "hcr.io/origin"
#define HCR_SYNC_LABEL_CLUSTER     "hcr.io/origin-cluster"
#define HCR_SYNC_LABEL_NAMESPACE   "hcr.io/origin-namespace"
#define HCR_SYNC_LABEL_NAME        "hcr.io/origin-name"
/* On namespaces config sync created (sync.create_namespaces). */
#define HCR_SYNC_LABEL_CREATED_BY "hcr.io/created-by"

/* An annotation may name at most this many clusters; more is refused. */
#define HCR_SYNC_MAX_TARGETS 64
/* The deletion guard (hcr_sync_guard_allows) applies from this many deletions on. */
#define HCR_SYNC_GUARD_MIN 10

/* A list of cluster names, each a new string. */
typedef struct hcr_sync_names {
	char **v;
	size_t n;
} hcr_sync_names;

void hcr_sync_names_free(hcr_sync_names *names);
bool hcr_sync_names_has(const hcr_sync_names *names, const char *name);
/* Appends a copy of `name` unless it is there already. */
void hcr_sync_names_add(hcr_sync_names *names, const char *name);

/*
 * Splits a comma-separated list ("b, c,,b") into names, trimmed, without
 * empties or repeats, in order. HCR_EINVALID when it names more than
 * HCR_SYNC_MAX_TARGETS, or a name longer than 253 bytes or with a control
 * character. `out` is filled (and must be freed) also on failure.
 */
int hcr_sync_split_names(hcr_sync_names *out, const char *list, hcr_error *err);

/*
 * The clusters `obj` (borrowed) asks to be copied to: the names of
 * hcr.io/sync-clusters followed by those of kubed.appscode.com/sync-contexts,
 * as hcr_sync_split_names. *annotated says whether either annotation is
 * present (an empty value is present and names nothing).
 */
int hcr_sync_wanted(hcr_sync_names *out, bool *annotated, const json_t *obj, hcr_error *err);

/*
 * Whether `obj` carries any origin mark (one of the hcr.io/origin-* labels or
 * the hcr.io/origin annotation): such an object is a copy, and a copy is never
 * a source, whatever its annotations say.
 */
bool hcr_sync_is_copy(const json_t *obj);

/*
 * `s` as a label value: itself when it is one (at most 63 bytes of
 * [A-Za-z0-9._-], alphanumeric at both ends, or empty); else its letters,
 * digits, dots, dashes and underscores, cut to 50 bytes and trimmed to
 * alphanumerics, then "-" and the first 12 hex digits of its SHA-256, so that
 * two names that sanitise alike still differ. Writes at most 64 bytes.
 */
void hcr_sync_label_value(char out[64], const char *s);

/* Where a copy came from, read from its marks. Strings are borrowed from the object. */
typedef struct hcr_sync_origin {
	const char *cluster;   /* the source cluster's name */
	const char *server;    /* hcr_sync_server_id of its API server; may be NULL */
	const char *namespace; /* the source object's namespace */
	const char *name;
	const char *uid;  /* the source object's uid; may be NULL */
	const char *hash; /* hcr_sync_copy_build's hash when it was written; may be NULL */
} hcr_sync_origin;

/*
 * Reads the origin marks of `obj` (borrowed; the strings live as long as it
 * does). True only for a copy hcr made: the hcr.io/origin annotation is a JSON
 * object with string "cluster", "namespace" and "name", and the label
 * hcr.io/origin-cluster is the label value of that cluster. A hand-made or
 * half-stripped imitation is not ours, and so is never changed or deleted.
 * The strings point into a JSON value kept alive by `keep` (new; json_decref
 * it when done; NULL when false is returned).
 */
bool hcr_sync_origin_read(hcr_sync_origin *out, json_t **keep, const json_t *obj);

/*
 * Builds the copy of `src` (a ConfigMap or Secret, borrowed, as read from
 * source cluster `cluster`) to write into namespace `ns` of a target: what a
 * create in another cluster may carry (hcr_kube_prepare_create: no uid,
 * ownerReferences, finalizers, status, ...), without the sync annotations
 * (they would make the copy sync onwards) nor the last-applied annotation,
 * with the origin labels and the hcr.io/origin annotation {cluster, server
 * (`server_id`, may be NULL), namespace, name, uid, hash}. `hash` receives the content hash of what is
 * copied (data, binaryData, type, immutable, and the copied labels and
 * annotations; not the namespace, so every target gets the same). *out is
 * new. HCR_EINVALID when `src` is not a named ConfigMap or Secret.
 */
int hcr_sync_copy_build(json_t **out, char hash[65], const json_t *src, const char *cluster,
			const char *server_id, const char *ns, hcr_error *err);

/*
 * Whether origin `o` names the source object for a deletion: the same source
 * uid (`uid`, may be NULL), or the same cluster name, API server id,
 * namespace and name. The server id makes a context that now points at
 * another cluster a different source, whose reads never delete the old
 * cluster's copies.
 */
bool hcr_sync_origin_is(const hcr_sync_origin *o, const char *cluster, const char *server_id,
			const char *ns, const char *name, const char *uid);

/*
 * A short id of the API server at `url` for origin marks: the first 16 hex
 * digits of the SHA-256 of hcr_sync_server_key(url) (the URL itself is not
 * written into other clusters). Writes 17 bytes.
 */
void hcr_sync_server_id(char out[17], const char *url);

typedef enum {
	HCR_SYNC_CREATE,       /* no object there: create the copy */
	HCR_SYNC_UNCHANGED,    /* our copy, up to date */
	HCR_SYNC_UPDATE,       /* our copy, out of date: update it */
	HCR_SYNC_RECREATE,     /* our copy, out of date and immutable (or a new Secret type) */
	HCR_SYNC_FOREIGN,      /* an object hcr did not make: never touched */
	HCR_SYNC_OTHER_SOURCE, /* a copy of another source object: never touched */
} hcr_sync_action;

/*
 * What to do with `live` (the target's object of the copy's name, borrowed;
 * NULL when there is none) to make it `desired` (from hcr_sync_copy_build).
 * `live` is ours when its marks are (hcr_sync_origin_read) and name the same
 * source object: the same source uid, or the same source cluster, namespace
 * and name (a source deleted and created again). Ours is up to date when its
 * recorded hash is the desired one and its data, binaryData, type and
 * immutable still equal the source's (a copy edited in the target is put
 * back; labels or annotations other tools added to it are left alone until the
 * source changes).
 */
hcr_sync_action hcr_sync_decide(const json_t *desired, const json_t *live);

/* "create", "unchanged", ... */
const char *hcr_sync_action_name(hcr_sync_action a);

/*
 * The deletion guard of a list-driven prune: may `deletes` of the source's
 * `copies` copies be deleted in one pass, given sync.max_delete_percent?
 * 100: always; 0: never; otherwise yes below HCR_SYNC_GUARD_MIN deletions or
 * when they are at most that percentage of the copies.
 */
bool hcr_sync_guard_allows(size_t deletes, size_t copies, int max_percent);

/*
 * The API server URL `url` in a form two names for one server share: scheme
 * and host lower case, the scheme's default port written out, no trailing
 * '/'; the path is kept (a proxy may serve several clusters under one host).
 * New string.
 */
char *hcr_sync_server_key(const char *url);

#endif
