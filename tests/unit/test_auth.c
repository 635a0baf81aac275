/*
 * Unit tests for src/auth.c: token generation, shape checks, hashing, the
 * Authorization header and the role order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hcr/auth.h"
#include "hcr/crypto.h"
#include "hcr/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A token of the right shape: "hcr_" and 43 base64url digits. */
#define GOOD_TOKEN "hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_"

static void test_auth__generate_has_token_shape(void **state)
{
	char tok[HCR_TOKEN_LEN + 1];
	hcr_error err;
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		memset(tok, 'x', sizeof(tok));
		assert_int_equal(hcr_token_generate(tok, &err), HCR_OK);
		assert_int_equal(strlen(tok), HCR_TOKEN_LEN);
		assert_memory_equal(tok, "hcr_", 4);
		assert_null(strchr(tok, '='));
		assert_null(strchr(tok, '+'));
		assert_null(strchr(tok, '/'));
		assert_true(hcr_token_well_formed(tok));
	}
}

static void test_auth__generate_is_unique(void **state)
{
	enum { N = 64 };
	char toks[N][HCR_TOKEN_LEN + 1];
	hcr_error err;
	int i, j;

	(void)state;
	for (i = 0; i < N; i++)
		assert_int_equal(hcr_token_generate(toks[i], &err), HCR_OK);
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			assert_string_not_equal(toks[i], toks[j]);
}

static void test_auth__generate_uses_whole_alphabet(void **state)
{
	/* Over many tokens, '-' and '_' (the base64url digits) must appear. */
	bool dash = false, underscore = false;
	char tok[HCR_TOKEN_LEN + 1];
	hcr_error err;
	int i;

	(void)state;
	for (i = 0; i < 500 && !(dash && underscore); i++) {
		assert_int_equal(hcr_token_generate(tok, &err), HCR_OK);
		dash = dash || strchr(tok, '-') != NULL;
		underscore = underscore || strchr(tok, '_') != NULL;
	}
	assert_true(dash);
	assert_true(underscore);
}

static void test_auth__well_formed(void **state)
{
	static const struct {
		const char *token;
		bool ok;
	} cases[] = {
		{GOOD_TOKEN, true},
		{"hcr_0000000000000000000000000000000000000000000", true},
		{NULL, false},
		{"", false},
		{"hcr_", false},
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-", false},   /* 46 */
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_A", false}, /* 48 */
		{"HCR_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_", false},  /* prefix case */
		{"hcx_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_", false},
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_abcd", false},  /* no prefix */
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO+/", false},  /* standard base64 */
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-=", false},  /* padding */
		{"hcr_abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNO-", false},  /* space */
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-\n", false}, /* newline */
		{"hcr_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\xc3\xa9-", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (hcr_token_well_formed(cases[i].token) != cases[i].ok)
			fail_msg("well_formed(\"%s\") should be %s",
				 cases[i].token ? cases[i].token : "(null)",
				 cases[i].ok ? "true" : "false");
}

static void test_auth__hash_is_sha256_of_the_whole_token(void **state)
{
	char a[65], b[65], expect[65];

	(void)state;
	hcr_token_hash(a, GOOD_TOKEN);
	hcr_crypto_sha256_hex(expect, GOOD_TOKEN, strlen(GOOD_TOKEN));
	assert_string_equal(a, expect);
	/* Known value: sha256("hcr_test"), from Python's hashlib. */
	hcr_token_hash(a, "hcr_test");
	assert_string_equal(a, "994fe9d01a84e3dff2818ffbafde8a42832dd76b65e6f31b5cc1c51af0d8d344");
	/* The prefix is part of what is hashed. */
	hcr_token_hash(b, GOOD_TOKEN + 4);
	assert_string_not_equal(expect, b);
}

static void test_auth__token_from_header(void **state)
{
	static const struct {
		const char *header;
		const char *token; /* NULL: refused */
	} cases[] = {
		{"Bearer " GOOD_TOKEN, GOOD_TOKEN},
		{"bearer " GOOD_TOKEN, GOOD_TOKEN},
		{"BEARER " GOOD_TOKEN, GOOD_TOKEN},
		{"BeArEr " GOOD_TOKEN, GOOD_TOKEN},
		{"Bearer    " GOOD_TOKEN, GOOD_TOKEN},
		/* Not checked for shape here: that is hcr_token_well_formed's job. */
		{"Bearer abc", "abc"},
		{NULL, NULL},
		{"", NULL},
		{"Bearer", NULL},
		{"Bearer ", NULL},
		{"Bearer     ", NULL},
		{"Bearer" GOOD_TOKEN, NULL},
		{"Bearer\t" GOOD_TOKEN, NULL},
		{"Bearer " GOOD_TOKEN " ", NULL},
		{"Bearer " GOOD_TOKEN "\t", NULL},
		{"Bearer " GOOD_TOKEN "\r\n", NULL},
		{"Bearer " GOOD_TOKEN " extra", NULL},
		{" Bearer " GOOD_TOKEN, NULL},
		{"Basic dXNlcjpwYXNz", NULL},
		{"Token " GOOD_TOKEN, NULL},
		{"Bearers " GOOD_TOKEN, NULL},
		{GOOD_TOKEN, NULL},
		{"garbage", NULL},
		{"\x01\x02\x03", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = hcr_token_from_header(cases[i].header);

		if (!cases[i].token) {
			if (got)
				fail_msg("case %zu: header accepted, token \"%s\"", i, got);
			continue;
		}
		if (!got)
			fail_msg("case %zu: header \"%s\" refused", i, cases[i].header);
		assert_string_equal(got, cases[i].token);
		/* A pointer into the header, not a copy. */
		assert_true(got >= cases[i].header &&
			    got < cases[i].header + strlen(cases[i].header));
	}
}

static void test_auth__role_parse_and_name(void **state)
{
	static const struct {
		const char *name;
		hcr_role role;
	} cases[] = {
		{"viewer", HCR_ROLE_VIEWER}, {"operator", HCR_ROLE_OPERATOR},
		{"admin", HCR_ROLE_ADMIN},   {"Admin", HCR_ROLE_NONE},
		{"ADMIN", HCR_ROLE_NONE},    {"admin ", HCR_ROLE_NONE},
		{"root", HCR_ROLE_NONE},     {"none", HCR_ROLE_NONE},
		{"", HCR_ROLE_NONE},         {NULL, HCR_ROLE_NONE},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_role r = hcr_role_parse(cases[i].name);

		assert_int_equal(r, cases[i].role);
		/* Names round-trip for the real roles. */
		if (r != HCR_ROLE_NONE)
			assert_string_equal(hcr_role_name(r), cases[i].name);
	}
	assert_string_equal(hcr_role_name(HCR_ROLE_NONE), "none");
	assert_string_equal(hcr_role_name((hcr_role)42), "none");
	assert_string_equal(hcr_role_name((hcr_role)-1), "none");
}

static void test_auth__role_allows(void **state)
{
	static const struct {
		hcr_role have;
		hcr_role need;
		bool ok;
	} cases[] = {
		{HCR_ROLE_VIEWER, HCR_ROLE_VIEWER, true},
		{HCR_ROLE_VIEWER, HCR_ROLE_OPERATOR, false},
		{HCR_ROLE_VIEWER, HCR_ROLE_ADMIN, false},
		{HCR_ROLE_OPERATOR, HCR_ROLE_VIEWER, true},
		{HCR_ROLE_OPERATOR, HCR_ROLE_OPERATOR, true},
		{HCR_ROLE_OPERATOR, HCR_ROLE_ADMIN, false},
		{HCR_ROLE_ADMIN, HCR_ROLE_VIEWER, true},
		{HCR_ROLE_ADMIN, HCR_ROLE_OPERATOR, true},
		{HCR_ROLE_ADMIN, HCR_ROLE_ADMIN, true},
		{HCR_ROLE_NONE, HCR_ROLE_NONE, false},
		{HCR_ROLE_NONE, HCR_ROLE_VIEWER, false},
		{HCR_ROLE_VIEWER, HCR_ROLE_NONE, true},
		{(hcr_role)42, HCR_ROLE_VIEWER, false},
		{(hcr_role)-1, HCR_ROLE_NONE, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (hcr_role_allows(cases[i].have, cases[i].need) != cases[i].ok)
			fail_msg("case %zu: allows(%d, %d) should be %s", i, (int)cases[i].have,
				 (int)cases[i].need, cases[i].ok ? "true" : "false");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth__generate_has_token_shape),
		cmocka_unit_test(test_auth__generate_is_unique),
		cmocka_unit_test(test_auth__generate_uses_whole_alphabet),
		cmocka_unit_test(test_auth__well_formed),
		cmocka_unit_test(test_auth__hash_is_sha256_of_the_whole_token),
		cmocka_unit_test(test_auth__token_from_header),
		cmocka_unit_test(test_auth__role_parse_and_name),
		cmocka_unit_test(test_auth__role_allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
