/*
 * Unit tests for src/mem.c: the growable buffer (growth, NUL termination,
 * binary data), formatted strings and string copies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"

static void test_mem__buf_starts_empty_and_terminated(void **state)
{
	hcr_buf b = {0};

	(void)state;
	hcr_buf_append(&b, "", 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	hcr_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Freeing twice, or a buffer never used, is harmless. */
	hcr_buf_free(&b);
}

static void test_mem__buf_grows_and_keeps_everything(void **state)
{
	hcr_buf b = {0};
	char want[10001];
	size_t i;

	(void)state;
	/* 10000 single bytes: many reallocations, each keeping what came before. */
	for (i = 0; i < 10000; i++) {
		char c = (char)('a' + i % 26);

		hcr_buf_append(&b, &c, 1);
		want[i] = c;
		if (b.data[b.len] != '\0' || b.len != i + 1 || b.cap <= b.len)
			fail_msg("after %zu bytes: len %zu cap %zu", i + 1, b.len, b.cap);
	}
	want[10000] = '\0';
	assert_int_equal(strlen(b.data), 10000);
	assert_string_equal(b.data, want);
	hcr_buf_free(&b);

	/* One append larger than any doubling step. */
	{
		char *big = malloc(100000);

		memset(big, 'z', 100000);
		hcr_buf_puts(&b, "head:");
		hcr_buf_append(&b, big, 100000);
		assert_int_equal(b.len, 100005);
		assert_true(b.cap >= 100006);
		assert_memory_equal(b.data, "head:zzz", 8);
		assert_int_equal(b.data[100004], 'z');
		assert_int_equal(b.data[100005], '\0');
		free(big);
		hcr_buf_free(&b);
	}
}

static void test_mem__buf_holds_binary_data(void **state)
{
	static const unsigned char bin[] = {0x00, 0xff, 0x00, 'x', 0x7f};
	hcr_buf b = {0};

	(void)state;
	hcr_buf_append(&b, bin, sizeof(bin));
	hcr_buf_append(&b, bin, sizeof(bin));
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, bin, sizeof(bin));
	assert_memory_equal(b.data + 5, bin, sizeof(bin));
	assert_int_equal(b.data[10], '\0');
	hcr_buf_free(&b);
}

static void test_mem__buf_puts_and_printf_append(void **state)
{
	hcr_buf b = {0};
	char longer[600];

	(void)state;
	hcr_buf_puts(&b, "a=");
	hcr_buf_printf(&b, "%d", 42);
	hcr_buf_puts(&b, "");
	hcr_buf_printf(&b, " b=%s c=%.2f", "x y", 1.5);
	assert_string_equal(b.data, "a=42 b=x y c=1.50");
	assert_int_equal(b.len, strlen("a=42 b=x y c=1.50"));

	/* A formatted piece longer than the buffer's first capacity. */
	memset(longer, 'q', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	hcr_buf_printf(&b, "[%s]", longer);
	assert_int_equal(b.len, strlen("a=42 b=x y c=1.50") + 601);
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	hcr_buf_free(&b);
}

static void test_mem__sprintf(void **state)
{
	char *s;
	char big[5000];

	(void)state;
	s = hcr_sprintf("%s-%03d-%c", "node", 7, 'x');
	assert_string_equal(s, "node-007-x");
	free(s);
	s = hcr_sprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = hcr_sprintf("<%s>", big);
	assert_int_equal(strlen(s), 5000 + 1);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[5000], '>');
	free(s);
}

static void test_mem__strdup_and_strndup(void **state)
{
	char *s;

	(void)state;
	assert_null(hcr_strdup(NULL));
	s = hcr_strdup("hello");
	assert_string_equal(s, "hello");
	free(s);
	s = hcr_strdup("");
	assert_string_equal(s, "");
	free(s);

	s = hcr_strndup("hello world", 5);
	assert_string_equal(s, "hello");
	free(s);
	s = hcr_strndup("hello", 0);
	assert_string_equal(s, "");
	free(s);
	/* Exactly n bytes, even past a NUL (PQgetvalue of bytea text, for example). */
	s = hcr_strndup("ab\0cd", 5);
	assert_memory_equal(s, "ab\0cd", 5);
	assert_int_equal(s[5], '\0');
	free(s);
}

static void test_mem__alloc_wrappers_accept_zero(void **state)
{
	static const unsigned char zero[32];
	void *p;

	(void)state;
	/* Zero-sized requests still give a pointer that can be freed or grown. */
	p = hcr_malloc(0);
	assert_non_null(p);
	p = hcr_realloc(p, 16);
	assert_non_null(p);
	memset(p, 1, 16);
	free(p);
	p = hcr_calloc(0, 8);
	assert_non_null(p);
	free(p);
	p = hcr_calloc(4, 8);
	assert_non_null(p);
	assert_memory_equal(p, zero, sizeof(zero));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem__buf_starts_empty_and_terminated),
		cmocka_unit_test(test_mem__buf_grows_and_keeps_everything),
		cmocka_unit_test(test_mem__buf_holds_binary_data),
		cmocka_unit_test(test_mem__buf_puts_and_printf_append),
		cmocka_unit_test(test_mem__sprintf),
		cmocka_unit_test(test_mem__strdup_and_strndup),
		cmocka_unit_test(test_mem__alloc_wrappers_accept_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
