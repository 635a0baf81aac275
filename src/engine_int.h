/*
 * Internal contract between the sync engine's files (src/engine*.c): parsed
 * paths, value comparison that knows about versions and "absent", field
 * status transitions and the event record. Nothing outside the engine uses it.
 */
#ifndef HCR_ENGINE_INT_H
#define HCR_ENGINE_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "hcr/engine.h"

/*
 * A path taken apart. "nodeGroups[ng-a].labels.env" gives top "nodeGroups",
 * pool "ng-a", sub "labels", key "env"; "tags.team" gives top "tags", key
 * "team"; "nodeGroups[ng-a]" gives top and pool with `exists` set.
 */
typedef struct hcr_epath {
	char *top;                   /* the top-level member */
	char *pool;                  /* the pool name, or NULL */
	char *sub;                   /* the member inside the pool item, or NULL */
	char *key;                   /* the map key, or NULL */
	bool exists;                 /* a pool-existence path */
	const hcr_field_spec *spec;  /* the spec governing the path, or NULL */
	const hcr_field_spec *pools; /* the POOLS spec when `pool` is set */
} hcr_epath;

/* Parses `path`; false (and nothing to free) when it is malformed. */
bool hcr_engine_path_parse(hcr_epath *out, const hcr_catalog *cat, const char *path);
void hcr_engine_path_free(hcr_epath *p);
/* The spec whose pattern is exactly `name` (no pool part), or NULL. */
const hcr_field_spec *hcr_engine_spec_top(const hcr_catalog *cat, const char *name, size_t len);
/* The spec "<top>[].<sub>", or NULL. */
const hcr_field_spec *hcr_engine_spec_sub(const hcr_catalog *cat, const char *top, const char *sub,
					  size_t len);
/* Whether `path` is `prefix` itself or lies under it ("nodeGroups[a]" and "nodeGroups[a].x"). */
bool hcr_engine_path_under(const char *path, const char *prefix);

/*
 * Equality of two values of the field governed by `spec`: NULL (absent) and
 * JSON null are the same; irreversible fields compare as versions.
 */
bool hcr_engine_veq(const hcr_field_spec *spec, const json_t *a, const json_t *b);
/* As hcr_engine_veq, but an `applied` of NULL (never applied) equals nothing. */
bool hcr_engine_aeq(const hcr_field_spec *spec, const json_t *desired, const json_t *applied);
/* Whether hcr can push a change of this field to an existing cluster. */
bool hcr_engine_pushable(const hcr_field_spec *spec);
/* Whether the field is compared with the cloud after creation at all. */
bool hcr_engine_diffed(const hcr_field_spec *spec);
/* JSON true. */
bool hcr_engine_is_true(const json_t *v);

/* Replaces *slot with a deep copy of `v` (NULL stays NULL). */
void hcr_engine_jset(json_t **slot, const json_t *v);
/* Replaces *slot with a copy of `s`. */
void hcr_engine_sset(char **slot, const char *s);

/*
 * Appends {"kind", "path", "old", "new", "operation", "message"} to `events`
 * (borrowed; NULL records nothing). Values are copied.
 */
void hcr_engine_event(json_t *events, const char *kind, const char *path, const json_t *old,
		      const json_t *nv, const char *operation, const char *message);

/*
 * Moves `f` to `st` with `reason` at `now`. Entering pending, applying, failed
 * or blocked (or a new reason for the last two) appends an event of that kind.
 */
void hcr_engine_set_status(hcr_field *f, hcr_field_status st, const char *reason, double now,
			   json_t *events);

/*
 * Hands a field back to the cloud: owner external, desired, applied and status
 * cleared (an operation in flight keeps it applying). `events` NULL: quietly.
 */
void hcr_engine_release(hcr_field *f, double now, json_t *events);

/* The desired object of one pool (for its create operation): a new reference. */
json_t *hcr_engine_pool_object(const hcr_fieldset *fs, const hcr_catalog *cat,
			       const char *pool_path);

#endif
