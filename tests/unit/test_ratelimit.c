/*
 * Unit tests for src/ratelimit.c: token buckets driven by a fake clock. Most
 * cases are tables of (key, time, expected outcome, expected wait).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hcr/ratelimit.h"

struct step {
	const char *key;
	double now;
	bool ok;
	double wait; /* expected *wait_s */
};

#define EU "eks:cred-1:eu-west-1"
#define US "eks:cred-1:us-east-1"

static void run_steps(hcr_ratelimit *rl, const struct step *steps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		double wait = -1;
		bool ok = hcr_ratelimit_take(rl, steps[i].key, steps[i].now, &wait);
		double diff = wait - steps[i].wait;

		if (ok != steps[i].ok || diff > 1e-9 || diff < -1e-9)
			fail_msg("step %zu (%s at %.3f): got %s wait %.9f, want %s wait %.9f", i,
				 steps[i].key, steps[i].now, ok ? "ok" : "refused", wait,
				 steps[i].ok ? "ok" : "refused", steps[i].wait);
	}
}

static hcr_ratelimit *limiter(double rate, double burst, size_t max_buckets)
{
	hcr_ratelimit_opts opts = {.rate = rate, .burst = burst, .max_buckets = max_buckets};
	hcr_ratelimit *rl = NULL;
	hcr_error err;

	if (hcr_ratelimit_new(&rl, &opts, &err) != HCR_OK)
		fail_msg("hcr_ratelimit_new: %s", err.message);
	return rl;
}

static void test_ratelimit__burst_then_refill(void **state)
{
	/* 2 tokens per second, burst 3. */
	static const struct step steps[] = {
		{EU, 100.0, true, 0},
		{EU, 100.0, true, 0},
		{EU, 100.0, true, 0},
		{EU, 100.0, false, 0.5},
		{EU, 100.25, false, 0.25},
		{EU, 100.5, true, 0},
		{EU, 100.5, false, 0.5},
		{EU, 101.5, true, 0},
		{EU, 101.5, true, 0},
		{EU, 101.5, false, 0.5},
		/* A long pause refills only up to the burst. */
		{EU, 200.0, true, 0},
		{EU, 200.0, true, 0},
		{EU, 200.0, true, 0},
		{EU, 200.0, false, 0.5},
	};
	hcr_ratelimit *rl = limiter(2, 3, 0);

	(void)state;
	run_steps(rl, steps, sizeof(steps) / sizeof(steps[0]));
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__coming_back_after_wait_succeeds(void **state)
{
	/* Awkward rates and clock values: the promised wait must always be enough. */
	static const double rates[] = {3.0, 7.0, 0.3, 1000.0 / 3.0, 12345.678};
	static const double starts[] = {0.1, 1.0 / 3.0, 1.7e9 + 0.123, 86400.77};
	size_t r, s;

	(void)state;
	for (r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		for (s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
			hcr_ratelimit *rl = limiter(rates[r], 1, 0);
			double now = starts[s], wait = 0;
			int i;

			assert_true(hcr_ratelimit_take(rl, "k", now, &wait));
			for (i = 0; i < 50; i++) {
				assert_false(hcr_ratelimit_take(rl, "k", now, &wait));
				assert_true(wait > 0);
				now += wait;
				if (!hcr_ratelimit_take(rl, "k", now, &wait))
					fail_msg("rate %g start %g step %d: refused after waiting",
						 rates[r], starts[s], i);
			}
			hcr_ratelimit_free(rl);
		}
	}
}

static void test_ratelimit__keys_are_independent(void **state)
{
	static const struct step steps[] = {
		{EU, 10.0, true, 0},    {EU, 10.0, false, 1.0}, {US, 10.0, true, 0},
		{US, 10.0, false, 1.0}, {EU, 10.5, false, 0.5}, {US, 11.0, true, 0},
		{EU, 11.0, true, 0},
	};
	hcr_ratelimit *rl = limiter(1, 1, 0);

	(void)state;
	run_steps(rl, steps, sizeof(steps) / sizeof(steps[0]));
	assert_int_equal(hcr_ratelimit_buckets(rl), 2);
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__per_key_override(void **state)
{
	/* Default 1/s burst 1; EU exactly 10/s burst 2; every "gke:" key 4/s burst 1. */
	static const struct step steps[] = {
		{EU, 0.0, true, 0},
		{EU, 0.0, true, 0},
		{EU, 0.0, false, 0.1},
		{US, 0.0, true, 0},
		{US, 0.0, false, 1.0},
		{"gke:p1:europe-west1", 0.0, true, 0},
		{"gke:p1:europe-west1", 0.0, false, 0.25},
		{"gke:p2:us-central1", 0.0, true, 0},
		{"gke:p2:us-central1", 0.0, false, 0.25},
		/* The longer prefix wins over "gke:". */
		{"gke:p9:asia-east1", 0.0, true, 0},
		{"gke:p9:asia-east1", 0.0, true, 0},
		{"gke:p9:asia-east1", 0.0, true, 0},
		{"gke:p9:asia-east1", 0.0, false, 0.01},
	};
	hcr_ratelimit *rl = limiter(1, 1, 0);
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_ratelimit_set(rl, EU, 10, 2, &err), HCR_OK);
	assert_int_equal(hcr_ratelimit_set(rl, "gke:*", 4, 1, &err), HCR_OK);
	assert_int_equal(hcr_ratelimit_set(rl, "gke:p9:*", 100, 3, &err), HCR_OK);
	run_steps(rl, steps, sizeof(steps) / sizeof(steps[0]));
	hcr_ratelimit_free(rl);
}

/*
 * Waiters that arrive together are booked one slot apart, so a burst of
 * callers cannot go through at once after a shared wait.
 */
static void test_ratelimit__reservations_are_spaced_by_the_rate(void **state)
{
	hcr_ratelimit *rl = limiter(10, 2, 0);
	double waits[6];
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		waits[i] = hcr_ratelimit_reserve(rl, "k", 100.0);
	/* Two go at once (the burst), then one every 0.1 s. */
	assert_true(waits[0] == 0.0 && waits[1] == 0.0);
	for (i = 2; i < 6; i++)
		assert_true(waits[i] > (i - 1) * 0.1 - 1e-9 && waits[i] < (i - 1) * 0.1 + 1e-9);
	/* Once the debt is repaid, the next caller goes at once. */
	assert_true(hcr_ratelimit_reserve(rl, "k", 100.0 + 0.4 + 0.1) == 0.0);
	/* 100 callers at 10/s: the last is booked about 9.8 s out, never earlier. */
	for (i = 0; i < 99; i++)
		hcr_ratelimit_reserve(rl, "j", 0.0);
	waits[0] = hcr_ratelimit_reserve(rl, "j", 0.0);
	assert_true(waits[0] > 9.8 - 1e-9 && waits[0] < 9.8 + 1e-9);
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__override_applies_to_existing_bucket(void **state)
{
	hcr_ratelimit *rl = limiter(1, 5, 0);
	hcr_error err;
	double wait;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_true(hcr_ratelimit_take(rl, EU, 0, &wait));
	/* 2 tokens left; the new burst of 1 caps them, and the new rate is 4/s. */
	assert_int_equal(hcr_ratelimit_set(rl, EU, 4, 1, &err), HCR_OK);
	assert_true(hcr_ratelimit_take(rl, EU, 0, &wait));
	assert_false(hcr_ratelimit_take(rl, EU, 0, &wait));
	assert_true(wait > 0.25 - 1e-9 && wait < 0.25 + 1e-9);
	/* Setting it again replaces the override rather than adding another. */
	assert_int_equal(hcr_ratelimit_set(rl, EU, 2, 1, &err), HCR_OK);
	assert_false(hcr_ratelimit_take(rl, EU, 0, &wait));
	assert_true(wait > 0.5 - 1e-9 && wait < 0.5 + 1e-9);
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__invalid_limits_are_refused(void **state)
{
	static const struct {
		double rate, burst;
	} bad[] = {{-1, 5}, {1, 0.5}, {1, -3}, {INFINITY, 1}, {NAN, 1}, {1, INFINITY}};
	hcr_ratelimit *rl = limiter(1, 1, 0);
	hcr_ratelimit *other = NULL;
	hcr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hcr_ratelimit_opts opts = {.rate = bad[i].rate, .burst = bad[i].burst};

		assert_int_equal(hcr_ratelimit_new(&other, &opts, &err), HCR_EINVALID);
		assert_null(other);
		assert_int_equal(hcr_ratelimit_set(rl, "k", bad[i].rate, bad[i].burst, &err),
				 HCR_EINVALID);
	}
	/* A rate of 0 in a set is refused too (in opts it means "the default"). */
	assert_int_equal(hcr_ratelimit_set(rl, "k", 0, 1, &err), HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__defaults_apply(void **state)
{
	hcr_ratelimit *rl = NULL;
	hcr_error err;
	double wait;
	int i;

	(void)state;
	assert_int_equal(hcr_ratelimit_new(&rl, NULL, &err), HCR_OK);
	/* Default: burst 20 at 10 per second. */
	for (i = 0; i < 20; i++)
		assert_true(hcr_ratelimit_take(rl, "k", 5.0, NULL));
	assert_false(hcr_ratelimit_take(rl, "k", 5.0, &wait));
	assert_true(wait > 0.1 - 1e-9 && wait < 0.1 + 1e-9);
	hcr_ratelimit_free(rl);
	hcr_ratelimit_free(NULL);
}

static void test_ratelimit__clock_going_back_adds_nothing(void **state)
{
	static const struct step steps[] = {
		{"k", 50.0, true, 0},
		{"k", 40.0, false, 1.0 + 10.0}, /* the token comes at 51, 11 s after "now" */
		{"k", 50.5, false, 0.5},
		{"k", 51.0, true, 0},
	};
	hcr_ratelimit *rl = limiter(1, 1, 0);

	(void)state;
	run_steps(rl, steps, sizeof(steps) / sizeof(steps[0]));
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__idle_buckets_are_evicted(void **state)
{
	hcr_ratelimit *rl = limiter(10, 2, 0);
	char key[64];
	int i;

	(void)state;
	/* 100,000 keys, one per millisecond: each refills in 0.2 s, so few stay. */
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "aks:sub-%d:westeurope", i);
		assert_true(hcr_ratelimit_take(rl, key, i * 0.001, NULL));
		if (hcr_ratelimit_buckets(rl) > 250)
			fail_msg("after %d keys %zu buckets", i + 1, hcr_ratelimit_buckets(rl));
	}
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__hard_cap_bounds_busy_keys(void **state)
{
	hcr_ratelimit *rl = limiter(0.001, 1, 64);
	char key[64];
	double wait;
	int i;

	(void)state;
	/* Nothing ever refills here, so only the cap can bound the table. */
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "gke:p-%d:us-central1", i);
		assert_true(hcr_ratelimit_take(rl, key, 1.0, NULL));
		assert_true(hcr_ratelimit_buckets(rl) <= 64);
	}
	assert_int_equal(hcr_ratelimit_buckets(rl), 64);
	/* The most recent keys are still remembered as empty. */
	assert_false(hcr_ratelimit_take(rl, key, 1.0, &wait));
	assert_true(wait > 999.0);
	hcr_ratelimit_free(rl);
}

static void test_ratelimit__eviction_never_forgets_a_drained_bucket(void **state)
{
	/* "hot" is drained, then many other keys come and go while it stays empty. */
	hcr_ratelimit *rl = limiter(1, 1, 0);
	char key[32];
	double wait;
	int i;

	(void)state;
	assert_true(hcr_ratelimit_take(rl, "hot", 0.0, NULL));
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(hcr_ratelimit_take(rl, key, 0.0005 * i, NULL));
	}
	assert_false(hcr_ratelimit_take(rl, "hot", 0.5, &wait));
	assert_true(wait > 0.5 - 1e-9 && wait < 0.5 + 1e-9);
	hcr_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit__burst_then_refill),
		cmocka_unit_test(test_ratelimit__coming_back_after_wait_succeeds),
		cmocka_unit_test(test_ratelimit__keys_are_independent),
		cmocka_unit_test(test_ratelimit__per_key_override),
		cmocka_unit_test(test_ratelimit__override_applies_to_existing_bucket),
		cmocka_unit_test(test_ratelimit__invalid_limits_are_refused),
		cmocka_unit_test(test_ratelimit__defaults_apply),
		cmocka_unit_test(test_ratelimit__reservations_are_spaced_by_the_rate),
		cmocka_unit_test(test_ratelimit__clock_going_back_adds_nothing),
		cmocka_unit_test(test_ratelimit__idle_buckets_are_evicted),
		cmocka_unit_test(test_ratelimit__hard_cap_bounds_busy_keys),
		cmocka_unit_test(test_ratelimit__eviction_never_forgets_a_drained_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
