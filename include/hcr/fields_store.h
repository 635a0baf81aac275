/*
 * The engine's per-field state in PostgreSQL (table cluster_fields), and the
 * append-only cluster_events. Saving writes only what changed, so a poll that
 * observes nothing new writes no row at all.
 */
#ifndef HCR_FIELDS_STORE_H
#define HCR_FIELDS_STORE_H

#include <jansson.h>

#include "hcr/engine.h"
#include "hcr/store.h"

/* Loads every field of `cluster_id` into `out` (which must be empty). */
int hcr_fields_load(PGconn *conn, const char *cluster_id, hcr_fieldset *out, hcr_error *err);

/* A deep copy of `fs` into `out` (which must be empty). */
void hcr_fieldset_clone(hcr_fieldset *out, const hcr_fieldset *fs);

/*
 * Writes the difference between `before` (what was loaded) and `after`: one
 * statement upserting changed fields, one deleting vanished ones. *written
 * (may be NULL) receives the number of rows written.
 */
int hcr_fields_save(PGconn *conn, const char *cluster_id, const hcr_fieldset *before,
		    const hcr_fieldset *after, int *written, hcr_error *err);

/* True when saving `after` over `before` would write anything. */
bool hcr_fieldset_differs(const hcr_fieldset *before, const hcr_fieldset *after);

/*
 * Appends the engine's events (a JSON array, borrowed) for a cluster, in one
 * statement. `actor` is who caused them ("token:alice", "reconciler").
 */
int hcr_events_append(PGconn *conn, const char *cluster_id, const char *actor, json_t *events,
		      hcr_error *err);

#endif
