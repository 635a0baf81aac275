/*
 * Unit tests for src/error.c: the setters, the error code to HTTP status
 * table (every HCR_ERR_* code), NULL errors, and long texts cut to fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hcr/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_error__set_fills_code_and_message_and_returns_status(void **state)
{
	hcr_error err;
	int rc;

	(void)state;
	hcr_error_clear(&err);
	rc = hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "cluster \"%s\" does not exist",
			   "prod-eu");
	assert_int_equal(rc, HCR_ENOTFOUND);
	assert_string_equal(err.code, "not_found");
	assert_string_equal(err.message, "cluster \"prod-eu\" does not exist");
	assert_string_equal(err.detail, "");
	assert_string_equal(err.hint, "");
}

static void test_error__set_clears_detail_and_hint_of_an_earlier_error(void **state)
{
	hcr_error err;

	(void)state;
	hcr_error_clear(&err);
	hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "database is unavailable");
	hcr_error_detail(&err, "connection refused on %s", "/tmp/.s.PGSQL.5432");
	hcr_error_hint(&err, "check that PostgreSQL is running");
	assert_string_equal(err.detail, "connection refused on /tmp/.s.PGSQL.5432");
	assert_string_equal(err.hint, "check that PostgreSQL is running");
	/* Detail and hint keep the other fields. */
	assert_string_equal(err.code, "unavailable");
	assert_string_equal(err.message, "database is unavailable");

	hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID, "field \"name\" is required");
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "field \"name\" is required");
	assert_string_equal(err.detail, "");
	assert_string_equal(err.hint, "");
}

static void test_error__null_code_is_internal(void **state)
{
	hcr_error err;

	(void)state;
	hcr_error_set(&err, HCR_ERROR, NULL, "something broke");
	assert_string_equal(err.code, "internal");
	assert_int_equal(hcr_error_http_status(&err), 500);
}

static void test_error__null_err_is_ignored(void **state)
{
	(void)state;
	/* Callers that do not care about the text pass NULL: only the status comes back. */
	assert_int_equal(hcr_error_set(NULL, HCR_ECONFLICT, HCR_ERR_CONFLICT, "x %d", 1),
			 HCR_ECONFLICT);
	assert_int_equal(hcr_error_set(NULL, HCR_OK, HCR_ERR_CONFLICT, "x"), HCR_OK);
	hcr_error_detail(NULL, "detail %s", "x");
	hcr_error_hint(NULL, "hint %s", "x");
	hcr_error_clear(NULL);
	assert_int_equal(hcr_error_http_status(NULL), 500);
}

static void test_error__clear_empties_every_field(void **state)
{
	hcr_error err;

	(void)state;
	memset(&err, 'x', sizeof(err));
	hcr_error_clear(&err);
	assert_string_equal(err.code, "");
	assert_string_equal(err.message, "");
	assert_string_equal(err.detail, "");
	assert_string_equal(err.hint, "");
}

static void test_error__http_status_of_every_code(void **state)
{
	static const struct {
		const char *code;
		int http;
	} cases[] = {
		{HCR_ERR_BAD_REQUEST, 400},
		{HCR_ERR_INVALID_JSON, 400},
		{HCR_ERR_UNAUTHORIZED, 401},
		{HCR_ERR_FORBIDDEN, 403},
		{HCR_ERR_NOT_FOUND, 404},
		{HCR_ERR_METHOD_NOT_ALLOWED, 405},
		{HCR_ERR_CONFLICT, 409},
		{HCR_ERR_PRECONDITION, 412},
		{HCR_ERR_TOO_LARGE, 413},
		{HCR_ERR_INVALID, 422},
		{HCR_ERR_INTERNAL, 500},
		{HCR_ERR_UNAVAILABLE, 503},
		/* Refused configuration at start never reaches a client: the fallback. */
		{HCR_ERR_CONFIG, 500},
		/* Unknown or empty codes, and near misses, are 500. */
		{"", 500},
		{"no_such_code", 500},
		{"NOT_FOUND", 500},
		{"not_found ", 500},
		{"invalid_jso", 500},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_error err;

		hcr_error_clear(&err);
		snprintf(err.code, sizeof(err.code), "%s", cases[i].code);
		if (hcr_error_http_status(&err) != cases[i].http)
			fail_msg("code \"%s\": got %d, want %d", cases[i].code,
				 hcr_error_http_status(&err), cases[i].http);
	}
}

static void test_error__codes_are_the_documented_strings(void **state)
{
	(void)state;
	/* These strings are the API's error.code values: clients match on them. */
	assert_string_equal(HCR_ERR_BAD_REQUEST, "bad_request");
	assert_string_equal(HCR_ERR_INVALID_JSON, "invalid_json");
	assert_string_equal(HCR_ERR_UNAUTHORIZED, "unauthorized");
	assert_string_equal(HCR_ERR_FORBIDDEN, "forbidden");
	assert_string_equal(HCR_ERR_NOT_FOUND, "not_found");
	assert_string_equal(HCR_ERR_METHOD_NOT_ALLOWED, "method_not_allowed");
	assert_string_equal(HCR_ERR_CONFLICT, "conflict");
	assert_string_equal(HCR_ERR_PRECONDITION, "precondition_failed");
	assert_string_equal(HCR_ERR_TOO_LARGE, "payload_too_large");
	assert_string_equal(HCR_ERR_INVALID, "invalid");
	assert_string_equal(HCR_ERR_INTERNAL, "internal");
	assert_string_equal(HCR_ERR_UNAVAILABLE, "unavailable");
}

static void test_error__long_texts_are_truncated_and_terminated(void **state)
{
	char big[3000];
	hcr_error err;

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	memset(&err, 'x', sizeof(err));
	hcr_error_set(&err, HCR_ERROR, "a_code_much_longer_than_thirty_one_characters", "%s", big);
	assert_int_equal(strlen(err.code), sizeof(err.code) - 1);
	assert_memory_equal(err.code, "a_code_much_longer_than_thirty_one_characters",
			    sizeof(err.code) - 1);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
	assert_int_equal(err.message[0], 'm');
	assert_int_equal(err.message[sizeof(err.message) - 2], 'm');

	hcr_error_detail(&err, "%s", big);
	assert_int_equal(strlen(err.detail), sizeof(err.detail) - 1);
	hcr_error_hint(&err, "%s", big);
	assert_int_equal(strlen(err.hint), sizeof(err.hint) - 1);
	/* The fields do not run into each other. */
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
	assert_int_equal(strlen(err.code), sizeof(err.code) - 1);
}

static void test_error__status_names(void **state)
{
	static const struct {
		int status;
		const char *name;
	} cases[] = {
		{HCR_OK, "ok"},
		{HCR_ERROR, "error"},
		{HCR_ENOTFOUND, "not found"},
		{HCR_ECONFLICT, "conflict"},
		{HCR_EINVALID, "invalid"},
		{HCR_EUPSTREAM, "upstream failure"},
		{HCR_EAGAIN, "in progress"},
		{HCR_EDENIED, "denied"},
		{-100, "error"},
		{7, "error"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (strcmp(hcr_status_name(cases[i].status), cases[i].name) != 0)
			fail_msg("status %d: got \"%s\", want \"%s\"", cases[i].status,
				 hcr_status_name(cases[i].status), cases[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error__set_fills_code_and_message_and_returns_status),
		cmocka_unit_test(test_error__set_clears_detail_and_hint_of_an_earlier_error),
		cmocka_unit_test(test_error__null_code_is_internal),
		cmocka_unit_test(test_error__null_err_is_ignored),
		cmocka_unit_test(test_error__clear_empties_every_field),
		cmocka_unit_test(test_error__http_status_of_every_code),
		cmocka_unit_test(test_error__codes_are_the_documented_strings),
		cmocka_unit_test(test_error__long_texts_are_truncated_and_terminated),
		cmocka_unit_test(test_error__status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
