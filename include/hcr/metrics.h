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

/* Forgets every counter (tests). */
void hcr_metrics_reset(void);

#endif
