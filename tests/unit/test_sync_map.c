/*
 * Unit tests for src/sync_map.c, the string-keyed hash table behind config
 * sync's object tables and work queue: values are found, replaced (the old
 * one released), taken out (not released), removed while iterating, and the
 * table keeps all of them while it grows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "sync_int.h"

static int released;

static void release(void *p)
{
	released++;
	free(p);
}

static void test_sync_map__put_get_replace_take(void **state)
{
	hcr_sync_map *m = hcr_sync_map_new(release);
	char *v;

	(void)state;
	released = 0;
	assert_null(hcr_sync_map_get(m, "a"));
	hcr_sync_map_put(m, "a", hcr_strdup("1"));
	hcr_sync_map_put(m, "b", hcr_strdup("2"));
	assert_string_equal(hcr_sync_map_get(m, "a"), "1");
	hcr_sync_map_put(m, "a", hcr_strdup("3")); /* replaces, releasing "1" */
	assert_int_equal(released, 1);
	assert_string_equal(hcr_sync_map_get(m, "a"), "3");
	assert_int_equal(hcr_sync_map_count(m), 2);
	v = hcr_sync_map_take(m, "a");
	assert_string_equal(v, "3");
	assert_int_equal(released, 1); /* taken, not released */
	free(v);
	assert_null(hcr_sync_map_take(m, "a"));
	assert_int_equal(hcr_sync_map_count(m), 1);
	hcr_sync_map_free(m);
	assert_int_equal(released, 2);
}

static bool drop_odd(const char *key, void *value, void *payload)
{
	int *seen = payload;

	(*seen)++;
	(void)key;
	return atoi(value) % 2 == 1;
}

static void test_sync_map__grows_and_removes_while_iterating(void **state)
{
	hcr_sync_map *m = hcr_sync_map_new(release);
	char key[32];
	int i, seen = 0;

	(void)state;
	released = 0;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns-%d/name", i);
		hcr_sync_map_put(m, key, hcr_sprintf("%d", i));
	}
	assert_int_equal(hcr_sync_map_count(m), 5000);
	for (i = 0; i < 5000; i += 499) {
		snprintf(key, sizeof(key), "ns-%d/name", i);
		assert_int_equal(atoi(hcr_sync_map_get(m, key)), i);
	}
	hcr_sync_map_each(m, drop_odd, &seen);
	assert_int_equal(seen, 5000);
	assert_int_equal(released, 2500);
	assert_int_equal(hcr_sync_map_count(m), 2500);
	assert_null(hcr_sync_map_get(m, "ns-1/name"));
	assert_string_equal(hcr_sync_map_get(m, "ns-2/name"), "2");
	hcr_sync_map_free(m);
	assert_int_equal(released, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_map__put_get_replace_take),
		cmocka_unit_test(test_sync_map__grows_and_removes_while_iterating),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
