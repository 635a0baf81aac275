/*
 * Unit tests for src/metrics.c: request counters, the cumulative latency
 * histogram, pool metrics only with a store, the dropped-series counter,
 * concurrent observers, and reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/error.h"
#include "hcr/mem.h"
#include "hcr/metrics.h"
#include "hcr/store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CLUSTERS "/v1/clusters"
#define CLUSTER  "/v1/clusters/{id}"

static int reset(void **state)
{
	(void)state;
	hcr_metrics_reset();
	return 0;
}

static char *render(hcr_store *store)
{
	hcr_buf b = {0};

	hcr_metrics_render(&b, store, "1.2.3-test");
	return b.data;
}

/* The value of the sample line that starts with `series` followed by a space, or -1. */
static long long sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void assert_sample(const char *text, const char *series, long long want)
{
	long long got = sample(text, series);

	if (got != want)
		fail_msg("%s: got %lld, want %lld\n%s", series, got, want, text);
}

static void test_metrics__counts_requests_by_route_method_and_status(void **state)
{
	char *text;

	(void)state;
	hcr_metrics_observe_request(CLUSTERS, "GET", 200, 0.001);
	hcr_metrics_observe_request(CLUSTERS, "GET", 200, 0.001);
	hcr_metrics_observe_request(CLUSTERS, "GET", 200, 0.001);
	hcr_metrics_observe_request(CLUSTERS, "POST", 201, 0.01);
	hcr_metrics_observe_request(CLUSTERS, "POST", 422, 0.01);
	hcr_metrics_observe_request(CLUSTER, "GET", 404, 0.01);
	hcr_metrics_observe_request("unmatched", "GET", 404, 0.0001);
	text = render(NULL);
	assert_non_null(strstr(text, "# TYPE hcr_http_requests_total counter\n"));
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"GET\",status=\"200\"}", 3);
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"POST\",status=\"201\"}",
		1);
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"POST\",status=\"422\"}",
		1);
	assert_sample(text,
		      "hcr_http_requests_total{route=\"/v1/clusters/"
		      "{id}\",method=\"GET\",status=\"404\"}",
		      1);
	assert_sample(text,
		      "hcr_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}",
		      1);
	/* No series that was never observed. */
	assert_int_equal(sample(text, "hcr_http_requests_total{route=\"/v1/clusters\",method="
				      "\"DELETE\",status=\"200\"}"),
			 -1);
	assert_sample(text, "hcr_metrics_series_dropped_total", 0);
	assert_sample(text, "hcr_build_info{version=\"1.2.3-test\"}", 1);
	free(text);
}

static void test_metrics__histogram_buckets_are_cumulative(void **state)
{
	static const struct {
		const char *le;
		long long count;
	} want[] = {
		/* observations: 0.0005, 0.003, 0.003, 0.02, 0.7, 30 */
		{"0.001", 1}, {"0.0025", 1}, {"0.005", 3}, {"0.01", 3}, {"0.025", 4},
		{"0.05", 4},  {"0.1", 4},    {"0.25", 4},  {"0.5", 4},  {"1", 5},
		{"2.5", 5},   {"5", 5},      {"+Inf", 6},
	};
	char *text, series[160];
	size_t i;

	(void)state;
	hcr_metrics_observe_request(CLUSTER, "GET", 200, 0.0005);
	hcr_metrics_observe_request(CLUSTER, "GET", 200, 0.003);
	hcr_metrics_observe_request(CLUSTER, "PATCH", 200, 0.003);
	hcr_metrics_observe_request(CLUSTER, "GET", 500, 0.02);
	hcr_metrics_observe_request(CLUSTER, "DELETE", 204, 0.7);
	hcr_metrics_observe_request(CLUSTER, "GET", 200, 30);
	/* Another route has its own histogram. */
	hcr_metrics_observe_request(CLUSTERS, "GET", 200, 0.003);
	text = render(NULL);
	assert_non_null(strstr(text, "# TYPE hcr_http_request_duration_seconds histogram\n"));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		snprintf(series, sizeof(series),
			 "hcr_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"}",
			 CLUSTER, want[i].le);
		assert_sample(text, series, want[i].count);
	}
	assert_sample(text, "hcr_http_request_duration_seconds_count{route=\"/v1/clusters/{id}\"}",
		      6);
	assert_non_null(strstr(text, "hcr_http_request_duration_seconds_sum{route=\"/v1/clusters/"
				     "{id}\"} 30.726500\n"));

	/* A 3 ms request is in le=0.005 and above, not in le=0.0025. */
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters\",le=\"0.0025\"}",
		0);
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters\",le=\"0.005\"}", 1);
	assert_sample(text,
		      "hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters\",le=\"5\"}",
		      1);
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters\",le=\"+Inf\"}", 1);
	assert_sample(text, "hcr_http_request_duration_seconds_count{route=\"/v1/clusters\"}", 1);
	free(text);
}

static void test_metrics__bucket_bounds_are_inclusive(void **state)
{
	char *text;

	(void)state;
	/* Prometheus buckets count observations <= le. */
	hcr_metrics_observe_request(CLUSTER, "GET", 200, 0.005);
	hcr_metrics_observe_request(CLUSTER, "GET", 200, 1.0);
	text = render(NULL);
	assert_sample(text,
		      "hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/"
		      "{id}\",le=\"0.005\"}",
		      1);
	assert_sample(text,
		      "hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/"
		      "{id}\",le=\"0.0025\"}",
		      0);
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/{id}\",le=\"1\"}",
		2);
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/{id}\",le=\"0.5\"}",
		1);
	free(text);
}

static void test_metrics__pool_metrics_only_with_a_store(void **state)
{
	hcr_store *store = NULL;
	hcr_error err;
	char *text;

	(void)state;
	text = render(NULL);
	assert_null(strstr(text, "hcr_db_"));
	assert_non_null(strstr(text, "hcr_build_info"));
	free(text);

	/* Connections are made lazily: a pool of 3 that never connected. */
	assert_int_equal(hcr_store_open(&store, "host=/nonexistent dbname=hcr", 3, 1, &err),
			 HCR_OK);
	text = render(store);
	assert_sample(text, "hcr_db_pool_connections{state=\"size\"}", 3);
	assert_sample(text, "hcr_db_pool_connections{state=\"in_use\"}", 0);
	assert_sample(text, "hcr_db_pool_connections{state=\"connected\"}", 0);
	assert_sample(text, "hcr_db_pool_acquires_total", 0);
	assert_sample(text, "hcr_db_pool_waits_total", 0);
	assert_sample(text, "hcr_db_pool_timeouts_total", 0);
	assert_sample(text, "hcr_db_reconnects_total", 0);
	assert_sample(text, "hcr_db_errors_total", 0);
	assert_non_null(strstr(text, "# TYPE hcr_db_pool_connections gauge\n"));
	assert_non_null(strstr(text, "hcr_build_info"));
	free(text);
	hcr_store_close(store);
}

static void test_metrics__full_series_table_counts_dropped(void **state)
{
	char *text;
	int status;

	(void)state;
	/* 300 distinct statuses on one route: more series than the table holds (256). */
	for (status = 100; status < 400; status++)
		hcr_metrics_observe_request(CLUSTERS, "GET", status, 0.001);
	/* An existing series still counts once the table is full. */
	hcr_metrics_observe_request(CLUSTERS, "GET", 100, 0.001);
	text = render(NULL);
	assert_sample(text, "hcr_metrics_series_dropped_total", 44);
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"GET\",status=\"100\"}", 2);
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"GET\",status=\"355\"}", 1);
	assert_int_equal(sample(text, "hcr_http_requests_total{route=\"/v1/"
				      "clusters\",method=\"GET\",status=\"356\"}"),
			 -1);
	/* The histogram is not limited by the series table. */
	assert_sample(text, "hcr_http_request_duration_seconds_count{route=\"/v1/clusters\"}", 301);
	free(text);
}

static void *observe_many(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		hcr_metrics_observe_request(CLUSTER, "GET", 200, 0.002);
	return NULL;
}

static void test_metrics__concurrent_observers_lose_nothing(void **state)
{
	pthread_t th[4];
	char *text;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, observe_many, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	text = render(NULL);
	assert_sample(text,
		      "hcr_http_requests_total{route=\"/v1/clusters/"
		      "{id}\",method=\"GET\",status=\"200\"}",
		      4000);
	assert_sample(text,
		      "hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/"
		      "{id}\",le=\"0.0025\"}",
		      4000);
	assert_sample(text,
		      "hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters/"
		      "{id}\",le=\"0.001\"}",
		      0);
	free(text);
}

static void test_metrics__reset_forgets_everything(void **state)
{
	char *text;
	int status;

	(void)state;
	for (status = 100; status < 400; status++)
		hcr_metrics_observe_request(CLUSTERS, "GET", status, 0.001);
	hcr_metrics_reset();
	text = render(NULL);
	assert_null(strstr(text, "hcr_http_requests_total{"));
	assert_null(strstr(text, "hcr_http_request_duration_seconds_bucket{"));
	assert_sample(text, "hcr_metrics_series_dropped_total", 0);
	free(text);

	/* Counting starts again from zero. */
	hcr_metrics_observe_request(CLUSTERS, "GET", 200, 0.001);
	text = render(NULL);
	assert_sample(
		text,
		"hcr_http_requests_total{route=\"/v1/clusters\",method=\"GET\",status=\"200\"}", 1);
	assert_sample(
		text,
		"hcr_http_request_duration_seconds_bucket{route=\"/v1/clusters\",le=\"+Inf\"}", 1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_metrics__counts_requests_by_route_method_and_status,
				       reset),
		cmocka_unit_test_setup(test_metrics__histogram_buckets_are_cumulative, reset),
		cmocka_unit_test_setup(test_metrics__bucket_bounds_are_inclusive, reset),
		cmocka_unit_test_setup(test_metrics__pool_metrics_only_with_a_store, reset),
		cmocka_unit_test_setup(test_metrics__full_series_table_counts_dropped, reset),
		cmocka_unit_test_setup(test_metrics__concurrent_observers_lose_nothing, reset),
		cmocka_unit_test_setup(test_metrics__reset_forgets_everything, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
