/*
 * The sync engine: pure functions over jansson documents, no I/O.
 *
 * For every leaf path of a cluster's configuration the engine keeps what users
 * asked for (desired), what the cloud said (observed, with the time that
 * observation *started*), what hcr last applied successfully (applied, with its
 * operation and completion time) and who owns the field. From those it decides,
 * on every poll, whether a field is in sync, waits to be pushed, adopts a change
 * made outside hcr, is in conflict, or is blocked; it groups pending fields into
 * the provider's operations; and it records every change as an event.
 *
 * Paths:
 *   kubernetesVersion                    a leaf (any JSON value: string, bool, number,
 *                                        array of scalars, struct object)
 *   tags.team                            one key of a map field (catalog kind MAP)
 *   nodeGroups[ng-a]                     the existence of a pool (catalog kind POOLS);
 *                                        its value is true when the pool exists
 *   nodeGroups[ng-a].desiredSize         a leaf inside a pool
 *   nodeGroups[ng-a].labels.env          one key of a map inside a pool
 * Pools are matched by their name field (catalog pool_key), never by position.
 *
 * A managed field whose desired value is JSON null is a managed *absence*: a map
 * key hcr is to remove, or a pool hcr is to delete. (desired == NULL, the C
 * pointer, means the field is not managed at all.)
 *
 * Times are seconds since the epoch as doubles. All json_t arguments are
 * *borrowed* unless said otherwise; json_t results are *new* references.
 */
#ifndef HCR_ENGINE_H
#define HCR_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/error.h"

/* ---- the field catalog (one per provider) ------------------------------------------------ */

typedef enum {
	HCR_FK_LEAF = 0, /* compared and applied as a whole value */
	HCR_FK_MAP = 1,  /* an object of string keys, compared and owned key by key */
	HCR_FK_POOLS = 2 /* an array of objects keyed by `pool_key` */
} hcr_field_kind;

typedef enum {
	HCR_MUT_MUTABLE = 0,
	HCR_MUT_IMMUTABLE = 1,   /* fixed once the cluster (or pool) exists */
	HCR_MUT_CREATE_ONLY = 2, /* only meaningful in a create call; never diffed afterwards */
} hcr_mutability;

typedef struct hcr_field_spec {
	/*
	 * Pattern: "kubernetesVersion", "tags", "nodeGroups", "nodeGroups[].desiredSize",
	 * "nodeGroups[].labels". "[]" stands for any pool name.
	 */
	const char *pattern;
	hcr_field_kind kind;
	/*
	 * Operations run in ascending order; equal orders may share a batch.
	 * HCR_FK_POOLS: the order of the pool's create operation.
	 */
	int order;
	/* The provider operation that changes this field ("UpdateClusterVersion"). */
	const char *operation;
	hcr_mutability mutability;
	/* Version-like: the cloud never goes back, so an edit to a lower value is refused. */
	bool irreversible;
	/* HCR_FK_POOLS only: the items' name field ("nodegroupName", "name"). */
	const char *pool_key;
	/* HCR_FK_POOLS only: operations that create and delete a pool. */
	const char *create_operation;
	const char *delete_operation;
} hcr_field_spec;

typedef struct hcr_catalog {
	const char *provider;
	const hcr_field_spec *specs;
	size_t nspecs;
} hcr_catalog;

/* The spec governing `path` (pool names and map keys matched), or NULL if none. */
const hcr_field_spec *hcr_catalog_find(const hcr_catalog *cat, const char *path);

/* ---- per-field state --------------------------------------------------------------------- */

typedef enum { HCR_OWNER_EXTERNAL = 0, HCR_OWNER_HCR = 1 } hcr_owner;

typedef enum {
	HCR_FS_IN_SYNC = 0,
	HCR_FS_PENDING = 1,  /* desired differs and will be pushed */
	HCR_FS_APPLYING = 2, /* an operation carrying it is in flight or awaits confirmation */
	HCR_FS_FAILED =
		3, /* its last operation failed; reason holds the cloud's code and message */
	HCR_FS_CONFLICT = 4, /* edited here and moved in the cloud since the last apply */
	HCR_FS_BLOCKED = 5,  /* cannot be pushed: immutable, downgrade, ... (reason says why) */
} hcr_field_status;

typedef enum {
	HCR_POLICY_ADOPT = 0,          /* external changes to managed fields are adopted */
	HCR_POLICY_ENFORCE = 1,        /* external changes to managed fields are pushed back */
	HCR_POLICY_PREFER_UPSTREAM = 2 /* like adopt, and on conflict the cloud wins */
} hcr_policy;

typedef struct hcr_field {
	char *path;
	hcr_owner owner;
	json_t *desired; /* owned; NULL = not managed */
	double desired_at;
	json_t *observed;   /* owned; NULL = absent in the cloud (or never observed) */
	double observed_at; /* start time of the observation that produced `observed` */
	/*
	 * owned; the merge base: the value hcr last applied successfully, or the
	 * value a fresh observation showed while the field was managed and in
	 * sync, or the cloud's value when a user took the field over. NULL = none
	 * (a pool with no base was never created nor seen by hcr: never deleted).
	 */
	json_t *applied;
	char *applied_op;  /* operation id of the last successful apply, or NULL */
	double applied_at; /* its completion time (or the start of the agreeing observation) */
	char *inflight_op; /* operation id carrying this field now, or NULL */
	/*
	 * owned; the value the in-flight operation carries (JSON null for a
	 * removal), so that an edit made while it runs is neither lost nor taken
	 * for applied. NULL when nothing is in flight; a fieldset restored without
	 * it falls back to `desired` when the operation finishes.
	 */
	json_t *sent;
	hcr_field_status status;
	char *reason; /* for failed / blocked / conflict, or NULL */
	double since; /* when `status` last changed */
} hcr_field;

/* All fields of one cluster, kept sorted by path. */
typedef struct hcr_fieldset {
	hcr_field *items;
	size_t n, cap;
} hcr_fieldset;

void hcr_fieldset_free(hcr_fieldset *fs);
/* The field at `path`, or NULL. */
hcr_field *hcr_fieldset_get(const hcr_fieldset *fs, const char *path);
/* The field at `path`, created (external, nothing set) if missing. */
hcr_field *hcr_fieldset_upsert(hcr_fieldset *fs, const char *path);
/* A deep copy of `src` into `out` (which is overwritten, not freed). */
void hcr_fieldset_copy(hcr_fieldset *out, const hcr_fieldset *src);

/* ---- documents and paths ----------------------------------------------------------------- */

/*
 * Flattens a configuration document into {path: value} following the
 * catalog: maps key by key, pools by name (plus the pool-existence path), the
 * rest as leaves. Fields the catalog does not know are kept as leaves.
 * Fails (HCR_EINVALID) for a pool without a name or two pools with one name.
 */
int hcr_engine_flatten(json_t **out, const hcr_catalog *cat, json_t *doc, hcr_error *err);

/*
 * Compares two versions by their leading dot-separated numbers, missing ones
 * counting as 0: "1.29" < "1.30" == "1.30.0" < "1.30.2"; "1.30-eks-abc" and
 * "v1.30" compare as "1.30". Returns false (and leaves *out) when either does
 * not start with a number.
 */
bool hcr_version_compare(const char *a, const char *b, int *out);

/* The inverse of hcr_engine_flatten (pools rebuilt in name order). */
json_t *hcr_engine_unflatten(const hcr_catalog *cat, json_t *flat);

/* The desired document: every managed field's desired value. */
json_t *hcr_engine_desired(const hcr_catalog *cat, const hcr_fieldset *fs);
/* The observed document. */
json_t *hcr_engine_observed(const hcr_catalog *cat, const hcr_fieldset *fs);
/* The effective document: observed overlaid with every managed desired value. */
json_t *hcr_engine_effective(const hcr_catalog *cat, const hcr_fieldset *fs);

/* ---- events ------------------------------------------------------------------------------ */

/*
 * Every function below that changes state appends events to `events` (a JSON
 * array, borrowed; NULL records nothing): {"kind", "path", "old", "new",
 * "operation", "message"}; "operation" is the operation id where there is one.
 * Kinds:
 *   desired_set        a user set a field (new JSON null: remove the key / delete the pool)
 *   released           a user handed a field back to the cloud
 *   observed_changed   the cloud value of a managed field changed, or a field was first seen
 *   external_change    the cloud value of an unmanaged field changed
 *   pool_external      a pool hcr does not manage appeared in the cloud
 *   adopted            a change made outside hcr became the desired value
 *   downgrade_adopted  the cloud is ahead on an irreversible field; its value was adopted
 *   conflict           edited here and changed in the cloud since the last apply
 *   pending, applying, failed, blocked   the field entered that state
 *   op_succeeded       the operation carrying the field succeeded (applied changed)
 *   applied            an observation confirmed the value (applying -> in sync)
 */

/* ---- user edits -------------------------------------------------------------------------- */

typedef struct hcr_edit_opts {
	const hcr_catalog *cat;
	/* Whether the cluster already exists in the cloud (immutable fields are then fixed). */
	bool exists;
	double now;
} hcr_edit_opts;

/*
 * Applies a JSON merge patch (RFC 7396) to the effective document. A field set
 * to a value becomes managed (owner hcr); a leaf, a whole map or a whole pool
 * list set to null is released (owner external, desired removed; nothing is
 * pushed for it). A map *key* set to null is removed from the cloud (desired
 * becomes JSON null); to hand single keys back, release the map. An object
 * value of a leaf field is merged into the field's current value.
 * Arrays replace as a whole, so a pool list in the patch is the complete
 * desired pool list:
 *  - a managed pool missing from it is deleted if hcr had applied it (created
 *    it, or it was confirmed while managed), else simply forgotten; an
 *    external pool missing from it stays external and is never deleted;
 *  - inside a listed pool that exists in the cloud, only values that differ
 *    from the cloud's claim a field (the list is sent whole, so echoing the
 *    cloud's value, say a launch template Terraform owns, takes nothing over);
 *    managed fields missing from the item are released, and managed keys
 *    missing from a map that is in the item are removed.
 * Refused with HCR_EINVALID naming the path: a change to an immutable,
 * create-only or uncatalogued field of an existing cluster (or existing pool),
 * and a lower value for an irreversible field than the one observed, applied
 * or in flight (a pending, never-sent upgrade may be lowered again).
 * On failure `fs` and `events` are unchanged.
 */
int hcr_engine_edit(hcr_fieldset *fs, const hcr_edit_opts *o, json_t *patch, json_t *events,
		    hcr_error *err);

/*
 * A created cluster: every field of `config` becomes managed. The create call
 * carries the cluster's own fields, so they are applied (at `now`) and wait in
 * applying for the first observation. Pools are not assumed created with the
 * cluster: they start pending, so the first observation either finds them
 * (in sync) or the plan creates them. Refresh before the first plan.
 */
int hcr_engine_init_created(hcr_fieldset *fs, const hcr_catalog *cat, json_t *config, double now,
			    json_t *events, hcr_error *err);

/* ---- refresh ----------------------------------------------------------------------------- */

typedef struct hcr_refresh_opts {
	const hcr_catalog *cat;
	hcr_policy policy;
	/* The cloud says the cluster or a pool is updating, or hcr has an operation in flight. */
	bool busy;
	/* When this observation started (before the first cloud call). */
	double observed_at;
	double now;
} hcr_refresh_opts;

/*
 * Records an observation and decides each field (DESIGN's refresh rules):
 *  - observed values are recorded for every path (an event when one changes);
 *  - while busy, nothing else happens;
 *  - an observation that started before a field's last apply completed is
 *    stale for that field: it never adopts or conflicts;
 *  - managed, desired != observed:
 *      desired != applied -> pending (and conflict, recorded, when the cloud
 *        also moved away from applied; with prefer_upstream the cloud wins);
 *      desired == applied -> adopt (desired := applied := observed), or with
 *        enforce, pending;
 *  - irreversible fields are adopted when the cloud is ahead, never pushed back;
 *  - a pool observed but never applied by hcr and not desired is external;
 *    a managed pool that hcr applied and that vanished from the cloud is
 *    adopted as deleted (not recreated) unless the policy is enforce;
 *  - an applying field whose observed value now equals desired becomes in sync;
 *  - a failed field stays failed (the plan retries it) until the cloud shows
 *    its desired value or a user edits it;
 *  - fields with an operation in flight (inflight_op) are only observed.
 * A managed field that agrees with a fresh observation takes it as its applied
 * value: that is the base against which later cloud changes are judged.
 * An observation older than one already recorded for a field is ignored for it.
 * Returns whether any field now needs a push in *pending (may be NULL).
 * Fails (fs unchanged) only when `observed_doc` cannot be flattened.
 */
int hcr_engine_refresh(hcr_fieldset *fs, const hcr_refresh_opts *o, json_t *observed_doc,
		       json_t *events, bool *pending, hcr_error *err);

/* ---- push -------------------------------------------------------------------------------- */

typedef struct hcr_planned_op {
	char *operation; /* the catalog's operation name */
	char *pool;      /* the pool it targets, or NULL for the cluster */
	int order;
	json_t *changes; /* {path: desired value or null for removal}, new */
} hcr_planned_op;

typedef struct hcr_plan {
	hcr_planned_op *ops;
	size_t n;
} hcr_plan;

/*
 * Groups every pending field into operations: one per (operation, pool), in
 * catalog order; pool creation before changes to that pool, pool deletion
 * last. Pending, conflict (the local edit wins: prefer_upstream never leaves a
 * field in conflict) and failed fields (retried; the caller paces retries with
 * back-off) are planned; blocked, applying, in-flight and create-only fields
 * are not. A pool create carries the pool's whole desired object as
 * {"nodeGroups[ng-a]": {...}} and stands for all of its fields; a delete is
 * {"nodeGroups[ng-a]": null}. The plan is a pure function of `fs`.
 */
int hcr_engine_plan(const hcr_fieldset *fs, const hcr_catalog *cat, hcr_plan *out, hcr_error *err);
void hcr_plan_free(hcr_plan *plan);

/*
 * Marks the op's fields (for a pool create, every managed field of the pool)
 * applying under `op_id` and remembers the values sent.
 */
void hcr_engine_op_started(hcr_fieldset *fs, const hcr_planned_op *op, const char *op_id,
			   double now, json_t *events);

/*
 * Records an operation's end. On success the fields' applied values become
 * what was sent, with `op_id` and `completed_at`; they stay applying until an
 * observation that started after `completed_at` shows the value. On failure
 * the fields become failed with `reason` ("<code>: <message>"). A field edited
 * while the operation ran becomes pending instead (its new value is pushed next).
 */
void hcr_engine_op_finished(hcr_fieldset *fs, const char *op_id, bool success, const char *reason,
			    double completed_at, json_t *events);

/* ---- drift -------------------------------------------------------------------------------- */

/*
 * The drift report of one cluster: a new array of {"path", "state", "reason",
 * "since", "desired", "observed", "applied"} for every managed field whose
 * effective and observed values differ or whose state is not in_sync
 * (create-only and uncatalogued fields, never compared, only when not in sync).
 * Values compare as the catalog says (versions as versions).
 */
json_t *hcr_engine_drift(const hcr_catalog *cat, const hcr_fieldset *fs);

const char *hcr_field_status_name(hcr_field_status s);
bool hcr_field_status_parse(const char *name, hcr_field_status *out);
const char *hcr_owner_name(hcr_owner o);
bool hcr_owner_parse(const char *name, hcr_owner *out);
const char *hcr_policy_name(hcr_policy p);
bool hcr_policy_parse(const char *name, hcr_policy *out);

#endif
