/*
 * Unit tests for src/json.c: request bodies that are not JSON are refused with
 * the line and column of the mistake, typed getters name the field as the user
 * wrote it, and only_keys names the first unknown key.
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

#include "hcr/error.h"
#include "hcr/json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static json_t *doc(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

static void test_json__parse_object_accepts_an_object(void **state)
{
	const char *body = "{\"name\": \"prod\", \"n\": 3}";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	hcr_error_clear(&err);
	assert_int_equal(hcr_json_parse_object(&out, body, strlen(body), &err), HCR_OK);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "name")), "prod");
	assert_int_equal(json_integer_value(json_object_get(out, "n")), 3);
	json_decref(out);
}

static void test_json__parse_object_only_reads_len_bytes(void **state)
{
	/* The body is not NUL-terminated where it ends: what follows is not part of it. */
	const char *buf = "{\"a\": 1}garbage";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_json_parse_object(&out, buf, 8, &err), HCR_OK);
	assert_int_equal(json_integer_value(json_object_get(out, "a")), 1);
	json_decref(out);
}

static void test_json__parse_errors_say_where(void **state)
{
	static const struct {
		const char *body;
		const char *code;
		const char *message;
		const char *in_detail; /* NULL: no detail expected */
	} cases[] = {
		{"", "invalid_json", "request body is empty; a JSON object is expected", NULL},
		{"{\"a\": tru}", "invalid_json",
		 "request body is not valid JSON at line 1, column 9", "invalid token"},
		{"{\n  \"a\": 1,\n  \"b\": x\n}", "invalid_json",
		 "request body is not valid JSON at line 3, column 8", "invalid token"},
		{"{\"a\": 1, \"a\": 2}", "invalid_json",
		 "request body is not valid JSON at line 1, column 12", "duplicate object key"},
		{"{} x", "invalid_json", "request body is not valid JSON at line 1, column 4",
		 "end of file expected"},
		{"{\"a\": 1,}", "invalid_json",
		 "request body is not valid JSON at line 1, column 9", NULL},
		{"[1, 2]", "invalid", "request body must be a JSON object", NULL},
		{"\n\n   }", "invalid_json", "request body is not valid JSON at line 3, column 4",
		 NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *out = (json_t *)0x1;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_json_parse_object(&out, cases[i].body, strlen(cases[i].body), &err);
		if (rc != HCR_EINVALID || out != NULL || strcmp(err.code, cases[i].code) != 0 ||
		    strcmp(err.message, cases[i].message) != 0 ||
		    (cases[i].in_detail && !strstr(err.detail, cases[i].in_detail)))
			fail_msg("case %zu (%s): got %d %s \"%s\" detail \"%s\"", i, cases[i].body,
				 rc, err.code, err.message, err.detail);
		assert_int_equal(hcr_error_http_status(&err),
				 strcmp(cases[i].code, "invalid_json") == 0 ? 400 : 422);
	}
}

/*
 * A scalar is valid JSON (RFC 8259), so the user must hear that the body is
 * not an object, as the header promises, not that it is not JSON.
 */
static void test_json__parse_scalar_body_is_not_an_object(void **state)
{
	static const char *const bodies[] = {"\"text\"", "null", "42", "true"};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bodies); i++) {
		json_t *out = (json_t *)0x1;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_json_parse_object(&out, bodies[i], strlen(bodies[i]), &err);
		if (rc != HCR_EINVALID || out != NULL || strcmp(err.code, "invalid") != 0 ||
		    strcmp(err.message, "request body must be a JSON object") != 0)
			fail_msg("body %s: got %d %s \"%s\"", bodies[i], rc, err.code, err.message);
	}
}

static void test_json__opt_string(void **state)
{
	json_t *obj = doc("{\"s\": \"v\", \"e\": \"\", \"n\": null, \"i\": 1, \"o\": {}}");
	const char *out;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_json_opt_string(&out, obj, "s", "s", &err), HCR_OK);
	assert_string_equal(out, "v");
	/* Present but empty: still a string. */
	assert_int_equal(hcr_json_opt_string(&out, obj, "e", "e", &err), HCR_OK);
	assert_string_equal(out, "");
	out = "stale";
	assert_int_equal(hcr_json_opt_string(&out, obj, "missing", "missing", &err), HCR_OK);
	assert_null(out);
	out = "stale";
	assert_int_equal(hcr_json_opt_string(&out, obj, "n", "n", &err), HCR_OK);
	assert_null(out);

	assert_int_equal(hcr_json_opt_string(&out, obj, "i", "eks.accessKeyId", &err),
			 HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "field \"eks.accessKeyId\" must be a string");
	assert_int_equal(hcr_json_opt_string(&out, obj, "o", "o", &err), HCR_EINVALID);
	assert_string_equal(err.message, "field \"o\" must be a string");
	json_decref(obj);
}

static void test_json__req_string(void **state)
{
	static const struct {
		const char *key;
		int rc;
		const char *message;
	} cases[] = {
		{"s", HCR_OK, NULL},
		{"missing", HCR_EINVALID, "field \"x.y\" is required"},
		{"n", HCR_EINVALID, "field \"x.y\" is required"},
		{"e", HCR_EINVALID, "field \"x.y\" is required"},
		{"b", HCR_EINVALID, "field \"x.y\" must be a string"},
		{"a", HCR_EINVALID, "field \"x.y\" must be a string"},
	};
	json_t *obj = doc("{\"s\": \"v\", \"e\": \"\", \"n\": null, \"b\": true, \"a\": []}");
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *out = NULL;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_json_req_string(&out, obj, cases[i].key, "x.y", &err);
		if (rc != cases[i].rc ||
		    (cases[i].message && (strcmp(err.message, cases[i].message) != 0 ||
					  strcmp(err.code, "invalid") != 0)))
			fail_msg("case %s: got %d %s \"%s\"", cases[i].key, rc, err.code,
				 err.message);
		if (rc == HCR_OK)
			assert_string_equal(out, "v");
	}
	json_decref(obj);
}

static void test_json__opt_bool(void **state)
{
	json_t *obj = doc("{\"t\": true, \"f\": false, \"n\": null, \"s\": \"true\", \"i\": 1}");
	hcr_error err;
	bool b;

	(void)state;
	b = false;
	assert_int_equal(hcr_json_opt_bool(&b, obj, "t", "t", &err), HCR_OK);
	assert_true(b);
	assert_int_equal(hcr_json_opt_bool(&b, obj, "f", "f", &err), HCR_OK);
	assert_false(b);
	/* Absent or null: the default the caller set stays. */
	b = true;
	assert_int_equal(hcr_json_opt_bool(&b, obj, "missing", "missing", &err), HCR_OK);
	assert_true(b);
	assert_int_equal(hcr_json_opt_bool(&b, obj, "n", "n", &err), HCR_OK);
	assert_true(b);
	b = false;
	assert_int_equal(hcr_json_opt_bool(&b, obj, "n", "n", &err), HCR_OK);
	assert_false(b);
	/* A string or a number is not a boolean, and the value is untouched. */
	b = true;
	assert_int_equal(hcr_json_opt_bool(&b, obj, "s", "retain", &err), HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "field \"retain\" must be true or false");
	assert_true(b);
	assert_int_equal(hcr_json_opt_bool(&b, obj, "i", "i", &err), HCR_EINVALID);
	assert_true(b);
	json_decref(obj);
}

static void test_json__only_keys_names_the_unknown_key(void **state)
{
	static const char *const allowed[] = {"name", "provider", "eks", NULL};
	static const char *const none[] = {NULL};
	json_t *ok = doc("{\"name\": 1, \"eks\": 2}");
	json_t *empty = doc("{}");
	json_t *bad = doc("{\"name\": 1, \"regoin\": 2}");
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_json_only_keys(ok, allowed, "", &err), HCR_OK);
	assert_int_equal(hcr_json_only_keys(empty, none, "", &err), HCR_OK);
	assert_int_equal(hcr_json_only_keys(empty, allowed, "", &err), HCR_OK);

	hcr_error_clear(&err);
	assert_int_equal(hcr_json_only_keys(bad, allowed, "", &err), HCR_EINVALID);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message, "unknown field \"regoin\"");
	assert_int_equal(hcr_json_only_keys(bad, allowed, "eks.", &err), HCR_EINVALID);
	assert_string_equal(err.message, "unknown field \"eks.regoin\"");
	/* With nothing allowed, any key is unknown. */
	assert_int_equal(hcr_json_only_keys(ok, none, "", &err), HCR_EINVALID);
	/* Keys match exactly: neither a prefix nor another case is allowed. */
	json_decref(bad);
	bad = doc("{\"Name\": 1}");
	assert_int_equal(hcr_json_only_keys(bad, allowed, "", &err), HCR_EINVALID);
	assert_string_equal(err.message, "unknown field \"Name\"");
	json_decref(bad);
	bad = doc("{\"nam\": 1}");
	assert_int_equal(hcr_json_only_keys(bad, allowed, "", &err), HCR_EINVALID);
	json_decref(bad);
	json_decref(ok);
	json_decref(empty);
}

static void test_json__dumps_is_compact_and_sorted(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"{\"b\": 1, \"a\": [1, 2, {\"z\": null, \"y\": true}]}",
		 "{\"a\":[1,2,{\"y\":true,\"z\":null}],\"b\":1}"},
		{"{}", "{}"},
		{"\"caf\\u00e9\"", "\"caf\xc3\xa9\""},
		{"42", "42"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *v = json_loads(cases[i].in, JSON_DECODE_ANY, NULL);
		char *s;

		assert_non_null(v);
		s = hcr_json_dumps(v);
		assert_non_null(s);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, s, cases[i].out);
		free(s);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__parse_object_accepts_an_object),
		cmocka_unit_test(test_json__parse_object_only_reads_len_bytes),
		cmocka_unit_test(test_json__parse_errors_say_where),
		cmocka_unit_test(test_json__parse_scalar_body_is_not_an_object),
		cmocka_unit_test(test_json__opt_string),
		cmocka_unit_test(test_json__req_string),
		cmocka_unit_test(test_json__opt_bool),
		cmocka_unit_test(test_json__only_keys_names_the_unknown_key),
		cmocka_unit_test(test_json__dumps_is_compact_and_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
