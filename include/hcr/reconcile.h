/*
 * The reconciler: the refresher and the pusher (hcr reconcile, and a thread
 * of hcr run).
 *
 * One libev loop per reconciler. It claims due clusters from PostgreSQL in
 * batches under row leases (so any number of reconcilers share a database and
 * each cluster has one owner at a time), observes them through their provider,
 * lets the sync engine decide, persists what changed, and pushes pending
 * changes one cloud operation at a time, each recorded before it is sent and
 * sent with its id as the idempotency token. LISTEN/NOTIFY wakes it when a
 * desired configuration changes. Cloud calls go through libcurl multi on the
 * same loop and a token bucket per cloud account and region.
 */
#ifndef HCR_RECONCILE_H
#define HCR_RECONCILE_H

#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/store.h"

typedef struct hcr_reconciler hcr_reconciler;

/* The channel edits are announced on; the payload is the cluster's id. */
#define HCR_NOTIFY_CHANNEL "hcr_reconcile"

/*
 * Creates a reconciler. `cfg`, `store` and `key` are borrowed and must outlive
 * it; `conninfo` is used for its own LISTEN connection.
 */
int hcr_reconciler_new(hcr_reconciler **out, const hcr_config *cfg, const char *conninfo,
		       hcr_store *store, const hcr_master_key *key, hcr_error *err);

/* Runs the loop on the calling thread until hcr_reconciler_stop is called. */
void hcr_reconciler_run(hcr_reconciler *r);

/* Asks the loop to stop; safe from any thread. Work in flight is released. */
void hcr_reconciler_stop(hcr_reconciler *r);

/* Frees a stopped reconciler. NULL is ignored. */
void hcr_reconciler_free(hcr_reconciler *r);

/* Polling interval in seconds for a provider, from the configuration. */
int hcr_reconcile_interval(const hcr_config *cfg, const char *provider);

#endif
