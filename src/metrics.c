/*
 * Prometheus metrics. Series are keyed by static route and method strings, so
 * the table is small and bounded (routes x methods x statuses); a linear scan
 * under one mutex is cheaper than anything cleverer at this size.
 */
#include <pthread.h>
#include <string.h>

#include "hcr/metrics.h"

#define MAX_SERIES 256
#define MAX_ROUTES 64

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	const char *route;
	const char *method;
	int status;
	unsigned long long count;
};

struct route_hist {
	const char *route;
	unsigned long long bucket[NBUCKETS];
	unsigned long long count;
	double sum;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long long counters[HCR_M_RECONCILE_COUNTERS];
static _Atomic long inflight;

static const struct {
	const char *name;
	const char *help;
} counter_info[HCR_M_RECONCILE_COUNTERS] = {
	{"hcr_reconcile_polls_total", "Cluster polls finished."},
	{"hcr_reconcile_poll_failures_total", "Cluster polls that failed."},
	{"hcr_reconcile_operations_started_total", "Cloud operations sent."},
	{"hcr_reconcile_operations_succeeded_total", "Cloud operations that succeeded."},
	{"hcr_reconcile_operations_failed_total", "Cloud operations that failed."},
	{"hcr_reconcile_throttled_total", "Cloud calls delayed by a rate limit."},
	{"hcr_reconcile_notifies_total", "Edit notifications received."},
	{"hcr_sync_created_total", "Config sync: copies created."},
	{"hcr_sync_updated_total", "Config sync: copies updated or replaced."},
	{"hcr_sync_deleted_total", "Config sync: copies deleted."},
	{"hcr_sync_foreign_total", "Config sync: objects in the way that hcr did not make."},
	{"hcr_sync_refused_total", "Config sync: refusals (same server twice, guard, empty list)."},
	{"hcr_sync_failed_total", "Config sync: failed reads and writes."},
};

void hcr_metrics_count(hcr_metric_counter c, unsigned long long n)
{
	if (c < HCR_M_RECONCILE_COUNTERS)
		counters[c] += n;
}

void hcr_metrics_set_inflight(long n)
{
	inflight = n;
}
static struct series series[MAX_SERIES];
static int nseries;
static unsigned long long dropped;
static struct route_hist hists[MAX_ROUTES];
static int nhists;

void hcr_metrics_observe_request(const char *route, const char *method, int status, double seconds)
{
	int i;
	size_t b;
	struct route_hist *h = NULL;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nseries; i++) {
		if (series[i].status == status && strcmp(series[i].route, route) == 0 &&
		    strcmp(series[i].method, method) == 0)
			break;
	}
	if (i == nseries && nseries < MAX_SERIES) {
		series[i].route = route;
		series[i].method = method;
		series[i].status = status;
		series[i].count = 0;
		nseries++;
	}
	if (i < nseries)
		series[i].count++;
	else
		dropped++;

	for (i = 0; i < nhists; i++)
		if (strcmp(hists[i].route, route) == 0)
			h = &hists[i];
	if (!h && nhists < MAX_ROUTES) {
		h = &hists[nhists++];
		memset(h, 0, sizeof(*h));
		h->route = route;
	}
	if (h) {
		for (b = 0; b < NBUCKETS; b++)
			if (seconds <= buckets[b])
				h->bucket[b]++;
		h->count++;
		h->sum += seconds;
	}
	pthread_mutex_unlock(&lock);
}

void hcr_metrics_render(hcr_buf *out, hcr_store *store, const char *version)
{
	int i;
	size_t b;

	pthread_mutex_lock(&lock);
	hcr_buf_puts(out,
		     "# HELP hcr_http_requests_total API requests by route, method and status.\n"
		     "# TYPE hcr_http_requests_total counter\n");
	for (i = 0; i < nseries; i++)
		hcr_buf_printf(out,
			       "hcr_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} "
			       "%llu\n",
			       series[i].route, series[i].method, series[i].status,
			       series[i].count);
	hcr_buf_puts(out, "# HELP hcr_http_request_duration_seconds API request latency by route.\n"
			  "# TYPE hcr_http_request_duration_seconds histogram\n");
	for (i = 0; i < nhists; i++) {
		for (b = 0; b < NBUCKETS; b++)
			hcr_buf_printf(out,
				       "hcr_http_request_duration_seconds_bucket{route=\"%s\","
				       "le=\"%g\"} %llu\n",
				       hists[i].route, buckets[b], hists[i].bucket[b]);
		hcr_buf_printf(out,
			       "hcr_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
			       "%llu\n",
			       hists[i].route, hists[i].count);
		hcr_buf_printf(out, "hcr_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			       hists[i].route, hists[i].sum);
		hcr_buf_printf(out, "hcr_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			       hists[i].route, hists[i].count);
	}
	hcr_buf_printf(out,
		       "# HELP hcr_metrics_series_dropped_total Requests not counted because the "
		       "series table was full.\n"
		       "# TYPE hcr_metrics_series_dropped_total counter\n"
		       "hcr_metrics_series_dropped_total %llu\n",
		       dropped);
	pthread_mutex_unlock(&lock);

	if (store) {
		hcr_store_stats st;

		hcr_store_get_stats(store, &st);
		hcr_buf_printf(
			out,
			"# HELP hcr_db_pool_connections Database pool connections by state.\n"
			"# TYPE hcr_db_pool_connections gauge\n"
			"hcr_db_pool_connections{state=\"size\"} %d\n"
			"hcr_db_pool_connections{state=\"in_use\"} %d\n"
			"hcr_db_pool_connections{state=\"connected\"} %d\n"
			"# HELP hcr_db_pool_acquires_total Connections lent out by the pool.\n"
			"# TYPE hcr_db_pool_acquires_total counter\n"
			"hcr_db_pool_acquires_total %llu\n"
			"# HELP hcr_db_pool_waits_total Acquisitions that waited for a free "
			"connection.\n"
			"# TYPE hcr_db_pool_waits_total counter\n"
			"hcr_db_pool_waits_total %llu\n"
			"# HELP hcr_db_pool_timeouts_total Acquisitions that gave up waiting.\n"
			"# TYPE hcr_db_pool_timeouts_total counter\n"
			"hcr_db_pool_timeouts_total %llu\n"
			"# HELP hcr_db_reconnects_total Reconnections to the database.\n"
			"# TYPE hcr_db_reconnects_total counter\n"
			"hcr_db_reconnects_total %llu\n"
			"# HELP hcr_db_errors_total Failures to reach the database.\n"
			"# TYPE hcr_db_errors_total counter\n"
			"hcr_db_errors_total %llu\n",
			st.size, st.in_use, st.connected, st.acquires, st.waits, st.timeouts,
			st.reconnects, st.errors);
	}
	{
		int c;

		for (c = 0; c < HCR_M_RECONCILE_COUNTERS; c++)
			hcr_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
				       counter_info[c].name, counter_info[c].help,
				       counter_info[c].name, counter_info[c].name,
				       (unsigned long long)counters[c]);
		hcr_buf_printf(out,
			       "# HELP hcr_reconcile_inflight Clusters being worked on now.\n"
			       "# TYPE hcr_reconcile_inflight gauge\nhcr_reconcile_inflight %ld\n",
			       (long)inflight);
	}
	hcr_buf_printf(out,
		       "# HELP hcr_build_info Build information.\n"
		       "# TYPE hcr_build_info gauge\n"
		       "hcr_build_info{version=\"%s\"} 1\n",
		       version);
}

void hcr_metrics_reset(void)
{
	pthread_mutex_lock(&lock);
	nseries = 0;
	nhists = 0;
	dropped = 0;
	pthread_mutex_unlock(&lock);
}
