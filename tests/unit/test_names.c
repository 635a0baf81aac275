/*
 * Unit tests for src/names.c: the object name rule (the same as the schema's
 * CHECK constraint) and the UUID shape check, as tables of cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hcr/error.h"
#include "hcr/names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define N64 "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abcd"

static void test_names__name_rule(void **state)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{"a", true},         {"7", true},
		{"prod", true},      {"prod-eu", true},
		{"prod.eu_1", true}, {"a-b.c_d", true},
		{"0abc9", true},     {"a--b", true},
		{"a..b", true},      {N64, true},
		{N64 "e", false}, /* 65 characters */
		{"", false},         {"-prod", false},
		{"prod-", false},    {".prod", false},
		{"prod.", false},    {"_prod", false},
		{"prod_", false},    {"Prod", false},
		{"prod-EU", false},  {"prod eu", false},
		{"prod/eu", false},  {"prod:eu", false},
		{"prod\neu", false}, {"caf\xc3\xa9", false},
		{"-", false},        {".", false},
	};
	size_t i;

	(void)state;
	assert_int_equal(strlen(N64), 64);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (hcr_name_valid(cases[i].name) != cases[i].valid)
			fail_msg("\"%s\": got %s", cases[i].name,
				 cases[i].valid ? "invalid" : "valid");
	assert_false(hcr_name_valid(NULL));
}

static void test_names__check_names_the_field_and_the_rule(void **state)
{
	hcr_error err;

	(void)state;
	hcr_error_clear(&err);
	assert_int_equal(hcr_name_check("prod-eu", "name", &err), HCR_OK);
	assert_string_equal(err.code, "");

	assert_int_equal(hcr_name_check("Prod", "credential", &err), HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "field \"credential\" is not a valid name");
	assert_non_null(strstr(err.hint, "1 to 64 lower-case letters"));
	assert_int_equal(hcr_error_http_status(&err), 422);

	/* Ids and names share URLs: a name with the shape of a UUID would be taken for an id. */
	assert_true(hcr_name_valid("12345678-1234-1234-1234-123456789abc"));
	assert_int_equal(hcr_name_check("12345678-1234-1234-1234-123456789abc", "name", &err),
			 HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "field \"name\" must not look like an id");
	/* Almost a UUID is fine. */
	assert_int_equal(hcr_name_check("12345678-1234-1234-1234-123456789abcd", "name", &err),
			 HCR_OK);

	assert_int_equal(hcr_name_check(NULL, "name", &err), HCR_EINVALID);
	assert_string_equal(err.message, "field \"name\" is not a valid name");
}

static void test_names__uuid_shape(void **state)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{"123e4567-e89b-12d3-a456-426614174000", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"123E4567-E89B-12D3-A456-426614174000",
		 true}, /* PostgreSQL reads upper case too */
		{"", false},
		{"123e4567e89b12d3a456426614174000", false},      /* no hyphens */
		{"123e4567-e89b-12d3-a456-42661417400", false},   /* 35 */
		{"123e4567-e89b-12d3-a456-4266141740000", false}, /* 37 */
		{"123e4567-e89b-12d3-a456_426614174000", false},
		{"123e4567-e89b-12d3a-456-426614174000", false}, /* hyphen moved */
		{"123e4567-e89b-12d3-a456-42661417400g", false},
		{"{123e4567-e89b-12d3-a456-426614174000}", false},
		{" 123e4567-e89b-12d3-a456-42661417400", false},
		{"prod-eu", false},
		{"------------------------------------", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (hcr_uuid_valid(cases[i].s) != cases[i].valid)
			fail_msg("\"%s\": got %s", cases[i].s,
				 cases[i].valid ? "invalid" : "valid");
	assert_false(hcr_uuid_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names__name_rule),
		cmocka_unit_test(test_names__check_names_the_field_and_the_rule),
		cmocka_unit_test(test_names__uuid_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
