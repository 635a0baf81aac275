/*
 * Prometheus metrics for the API: requests by route, method and status, a
 * latency histogram by route, the database pool, and build info. Thread-safe.
 */
#ifndef HCR_METRICS_H
#define HCR_METRICS_H

#include "hcr/mem.h"
#include "hcr/store.h"

/*
 * Counts one finished request. `route` is the route's pattern
 * ("/v1/clusters/{id}") or "unmatched", never the raw path, so that the
 * number of series stays bounded. The strings must be static.
 */
void hcr_metrics_observe_request(const char *route, const char *method, int status, double seconds);

/*
 * Appends the text exposition format (version 0.0.4) to `out`. `store` may be
 * NULL (no pool metrics then).
 */
void hcr_metrics_render(hcr_buf *out, hcr_store *store, const char *version);

/* Reconciler and config sync counters (any thread). */
typedef enum {
	HCR_M_POLLS = 0,     /* clusters polled (units of work finished) */
	HCR_M_POLL_FAILURES, /* polls that failed (cloud or database) */
	HCR_M_OPS_STARTED,   /* cloud operations sent */
	HCR_M_OPS_SUCCEEDED, /* cloud operations that succeeded */
	HCR_M_OPS_FAILED,    /* cloud operations that failed */
	HCR_M_THROTTLED,     /* calls delayed by a rate limit */
	HCR_M_NOTIFIES,      /* edit notifications received */
	/* Config sync (hcr sync): results per object and target, repeats included. */
	HCR_M_SYNC_CREATED,      /* copies created */
	HCR_M_SYNC_UPDATED,      /* copies updated (or replaced) */
	HCR_M_SYNC_DELETED,      /* copies deleted */
	HCR_M_SYNC_FOREIGN,      /* objects in the way that hcr did not make, left alone */
	HCR_M_SYNC_REFUSED,      /* refused: two names for a server, a guard, an empty list... */
	HCR_M_SYNC_FAILED,       /* failed reads and writes */
	HCR_M_RECONCILE_COUNTERS /* count of the above */
} hcr_metric_counter;

void hcr_metrics_count(hcr_metric_counter c, unsigned long long n);
/* Clusters a reconciler is working on now (set by the reconciler). */
void hcr_metrics_set_inflight(long n);

/* Forgets every counter (tests). */
void hcr_metrics_reset(void);

#endif
