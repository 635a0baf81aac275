/*
 * Comparing two Kubernetes clusters (or two namespaces), and creating in the
 * target what is missing there: the engine behind `hcr compare` and
 * `POST /v1/compare`. docs/sync/compare.md explains the design and its
 * choices.
 *
 * Compare: both sides are discovered and listed at the same time (one thread
 * per side, each on its own connection). Each listed object is kept only as
 * a compact summary: its group, kind, namespace, name, the SHA-256 of its
 * normalised form (hcr/kube_norm.h) and its skip reason. Objects are matched
 * on (group, kind, namespace, name), never on apiVersion. With a diff, every
 * normalised object is also written to an unlinked temporary file (Secret
 * values replaced by keyed digests first, so no Secret value reaches the
 * disk), and the two versions of each differing object are read back from it.
 *
 * Create and update: objects are read from the source (left) cluster,
 * prepared with hcr_kube_prepare_create and written to the target (right)
 * cluster in dependency order. A create never overwrites: an object that
 * already exists is reported as such. An update is only ever made to objects
 * named one by one.
 *
 * The functions block; each uses the connections it is given from its own
 * threads only while it runs (the caller must not use them meanwhile).
 * Errors name the cluster and the object or collection concerned.
 */
#ifndef HCR_KUBE_COMPARE_H
#define HCR_KUBE_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/error.h"
#include "hcr/kube.h"

/* What a row says about one (group, kind, namespace, name). */
typedef enum {
	HCR_CMP_EQUAL = 0,  /* on both sides, equal after normalisation */
	HCR_CMP_DIFFERENT,  /* on both sides, different */
	HCR_CMP_LEFT_ONLY,  /* only in the left cluster */
	HCR_CMP_RIGHT_ONLY, /* only in the right cluster */
} hcr_cmp_state;

/* Which rows a result shows (the Compare & Sync screen's views). */
typedef enum {
	HCR_CMP_VIEW_ALL = 0,      /* "all": every row */
	HCR_CMP_VIEW_MATCHING,     /* "matching": on both sides, equal or not */
	HCR_CMP_VIEW_NON_MATCHING, /* "non-matching": on one side only */
	HCR_CMP_VIEW_LEFT,         /* "left": every left object (left join) */
	HCR_CMP_VIEW_RIGHT,        /* "right": every right object (right join) */
	HCR_CMP_VIEW_DIFFERENT,    /* "different": on both sides and different */
} hcr_cmp_view;

/* "equal", "different", "left-only", "right-only". */
const char *hcr_cmp_state_name(hcr_cmp_state s);
/* "all", "matching", ...; and back (false for an unknown name). */
const char *hcr_cmp_view_name(hcr_cmp_view v);
bool hcr_cmp_view_parse(hcr_cmp_view *out, const char *name);
/* Whether a row in state `s` is shown by view `v`. */
bool hcr_cmp_view_shows(hcr_cmp_view v, hcr_cmp_state s);

typedef struct hcr_cmp_opts {
	/*
	 * Namespaces. `namespace_name` compares namespace N on both sides
	 * (namespaced kinds only, unless a cluster-scoped kind is named in
	 * `kinds`). `left_namespace` and `right_namespace` (both or neither)
	 * compare two namespaces with each other: objects are then matched on
	 * (group, kind, name), and metadata.namespace is left out of the
	 * comparison. All NULL: every namespace and the cluster-scoped kinds.
	 */
	const char *namespace_name;
	const char *left_namespace;
	const char *right_namespace;
	/*
	 * Kinds as kubectl names them ("deploy", "configmaps",
	 * "widgets.example.com"), each resolved on both sides; a kind served
	 * on one side only is compared there (all its objects are one-sided)
	 * and reported in the result's "kinds". NULL or empty: every listable
	 * kind either side serves, except the kinds that are never copied
	 * (events, leases, nodes, endpoints, endpoint slices, metrics, ...;
	 * docs/sync/compare.md has the list).
	 */
	const char *const *kinds;
	size_t nkinds;
	hcr_cmp_view view;
	bool diff;               /* a unified diff for each shown "different" row */
	bool include_skipped;    /* show objects that belong to their cluster (see below) */
	unsigned int norm_flags; /* hcr_kube_normalise flags (HCR_KUBE_KEEP_*) */
	const char *spill_dir;   /* where the diff's temporary file goes; NULL: $TMPDIR or /tmp */
	long page_size;          /* list page size; 0: the connection's (500) */
} hcr_cmp_opts;

/*
 * One row. Strings are borrowed from the result. `skip_reason` is not NULL
 * for objects that belong to their cluster (hcr_kube_skip_reason of the left
 * object, else of the right one: "cluster CA bundle", "owned by a
 * controller"); such rows are hidden unless include_skipped is set, and
 * never count as differences.
 */
typedef struct hcr_cmp_row {
	const char *group; /* "" for the core group */
	const char *kind;
	const char *namespace_name; /* NULL for cluster-scoped objects */
	const char *name;
	hcr_cmp_state state;
	const char *skip_reason;
	const char *diff; /* with opts.diff, for shown "different" rows; else NULL */
	bool shown;       /* in the view (and not hidden as skipped) */
} hcr_cmp_row;

typedef struct hcr_cmp_result hcr_cmp_result;

/*
 * Compares `left` and `right` (open connections; used from two threads, one
 * each, while this runs). `opts` may be NULL (every kind, all namespaces,
 * view all, no diff). On success *out is new; free it with
 * hcr_cmp_result_free.
 *
 * Fails, with `err` naming the cluster and the collection or kind, when
 * either side cannot be discovered or listed (unreachable, unauthorised, a
 * Forbidden list, a 5xx after retries), when a name in `kinds` is served by
 * neither side, or on bad options (HCR_EINVALID). A compare is never partial:
 * one failed list fails it, so that objects missing from an unread list are
 * never reported as missing.
 */
int hcr_cmp_run(hcr_cmp_result **out, hcr_kube *left, hcr_kube *right, const hcr_cmp_opts *opts,
		hcr_error *err);

/* Rows sorted by group, kind, namespace and name (borrowed; *n rows). */
const hcr_cmp_row *hcr_cmp_result_rows(const hcr_cmp_result *r, size_t *n);

/* Whether any shown row is not "equal" (the CLI's exit code 1). */
bool hcr_cmp_result_differs(const hcr_cmp_result *r);

/*
 * The result as the API answers it (new reference): {"left": {"cluster",
 * "server", "namespace"?}, "right": {...}, "view", "summary": {"objects",
 * "equal", "different", "leftOnly", "rightOnly", "skipped", "shown"},
 * "kinds": [{"group", "kind", "namespaced", "left", "right", "leftObjects",
 * "rightObjects"}], "items": [{"group", "kind", "namespace"?, "name",
 * "state", "skipReason"?, "diff"?}] (shown rows only), "seconds": {...}}.
 * docs/api.md has an example.
 */
json_t *hcr_cmp_result_json(const hcr_cmp_result *r);

void hcr_cmp_result_free(hcr_cmp_result *r);

/* ---- create and update (src/kube_create.c) ------------------------------------------- */

typedef enum {
	HCR_CMP_CREATE = 0, /* create what is missing in the target; never overwrite */
	HCR_CMP_UPDATE,     /* make chosen existing objects match the source */
} hcr_cmp_write_mode;

typedef struct hcr_cmp_write_opts {
	hcr_cmp_write_mode mode;
	/* dryRun=All on every write: the target's server checks each one and stores nothing. */
	bool dry_run;
	/*
	 * Objects chosen one by one, as "KIND/NAMESPACE/NAME" or, for
	 * cluster-scoped kinds, "KIND/NAME" (KIND as kubectl names it:
	 * "deploy", "configmaps", "Widget.example.com"); a namespaced kind
	 * given as "KIND/NAME" takes namespace_name (or left_namespace). The
	 * skip rules do not apply to chosen objects. Required for an update.
	 * For a create, NULL or empty means every left-only row of `compare`.
	 */
	const char *const *select;
	size_t nselect;
	/* A compare of the same two clusters (for a create of every left-only row). */
	const hcr_cmp_result *compare;
	/* As in hcr_cmp_opts: the target namespace is right_namespace when given. */
	const char *namespace_name;
	const char *left_namespace;
	const char *right_namespace;
	/* How long to wait for each new CustomResourceDefinition to be Established; 0: 60 s. */
	long crd_timeout_ms;
	unsigned int norm_flags; /* hcr_kube_prepare_create flags */
} hcr_cmp_write_opts;

/*
 * Creates (or updates) objects of `source` in `target`. Every object gets a
 * row in the report, *out (new): {"mode": "create"|"update", "dryRun",
 * "source": {"cluster"}, "target": {"cluster"}, "summary": {"created",
 * "exists", "skipped", "failed", "updated", "unchanged"}, "items": [{"group",
 * "kind", "namespace"?, "name", "result", "reason"?, "error"?: {"message",
 * "detail"?, "hint"?}, "note"?}]} in the order the writes were made.
 *
 * Create: dependency order (namespaces; CRDs, then a wait until each is
 * Established; RBAC and service accounts; ConfigMaps and Secrets; storage;
 * Services; workloads; autoscalers and disruption budgets; ingresses; the
 * rest; webhooks and API services last), then group, kind, namespace, name.
 * A missing target namespace is created first, from the source's. Results:
 * "created"; "exists" (AlreadyExists: never overwritten); "skipped" with the
 * skip reason (objects that belong to their cluster, unless chosen);
 * "failed" with the API's message. In a dry run, an object whose namespace
 * or CRD this run creates cannot be checked by the server (it stores
 * nothing) and says so in "note".
 *
 * Update: for each chosen object, the source's prepared object replaces the
 * target's, keeping the target's resourceVersion, finalizers and
 * ownerReferences (PUT, so a concurrent change fails with a conflict).
 * Results: "updated", "unchanged" (already equal after normalisation, no
 * write), "failed" (also when the object is missing on either side).
 *
 * Fails as a whole, before writing anything, when a chosen object cannot be
 * resolved, when an object's kind is not served by the target and its CRD
 * is not among the objects to create (the message names the object, the
 * kind and the target cluster), or when reading the target fails for the
 * cluster's reasons (unreachable, unauthorised). Returns HCR_OK when every
 * object got its row, failed ones included.
 */
int hcr_cmp_write(json_t **out, hcr_kube *source, hcr_kube *target, const hcr_cmp_write_opts *opts,
		  hcr_error *err);

/* Whether a write report (from hcr_cmp_write) has a "failed" row. */
bool hcr_cmp_write_failed(const json_t *report);

/*
 * The order rank of a (group, kind) in a create (lower first); exposed for
 * tests. Unknown kinds (custom resources) rank after the built-in ones and
 * before webhooks and API services.
 */
int hcr_cmp_kind_rank(const char *group, const char *kind);

/*
 * Whether (group, plural) is left out of a default compare (events, leases,
 * nodes, ...); exposed for tests.
 */
bool hcr_cmp_kind_excluded(const char *group, const char *plural);

#endif
