/*
 * Unit tests for src/tokens.c against a real PostgreSQL (tests/unit/pgtest.h):
 * a token is shown once and stored only as a hash, authenticates until revoked
 * or expired, records its last use, and the last admin token cannot be revoked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hcr/auth.h"
#include "hcr/error.h"
#include "hcr/json.h"
#include "hcr/migrate.h"
#include "hcr/names.h"
#include "hcr/store.h"
#include "hcr/tokens.h"
#include "pgtest.h"
#include "testutil.h"

static pgtest pgt;
static hcr_store *pool;
static PGconn *conn; /* borrowed from a pool of two; authenticate borrows the other */

static int group_setup(void **state)
{
	(void)state;
	return pgtest_start_store(&pgt, &pool, 2, &conn);
}

static int group_teardown(void **state)
{
	(void)state;
	pgtest_close_store(&pgt, &pool, &conn);
	return 0;
}

static int fresh_tables(void **state)
{
	(void)state;
	return pgtest_exec(&pgt, "TRUNCATE api_tokens");
}

static const char *jstr(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field));
}

#define sql_value(sql) test_sql_value(conn, (sql))

/* Creates a token; *id (of 40) receives its id, *token (of HCR_TOKEN_LEN + 1) its text. */
static void create(const char *name, hcr_role role, long long expires_in_s, char *id, char *token)
{
	json_t *out = NULL;
	hcr_error err;

	if (hcr_tokens_create(conn, name, role, expires_in_s, "bootstrap", &out, &err) != HCR_OK)
		fail_msg("create %s: %s (%s)", name, err.message, err.detail);
	if (id)
		snprintf(id, 40, "%s", jstr(out, "id"));
	if (token)
		snprintf(token, HCR_TOKEN_LEN + 1, "%s", jstr(out, "token"));
	json_decref(out);
}

static int admins(void)
{
	hcr_error err;
	int n = -1;

	assert_int_equal(hcr_tokens_count_admins(conn, &n, &err), HCR_OK);
	return n;
}

static void test_tokens__create_shows_the_token_once(void **state)
{
	json_t *out = NULL, *list = NULL, *item;
	hcr_error err;
	char hash[65], sql[200], *text, *rows;
	const char *token;
	size_t i;

	(void)state;
	assert_int_equal(hcr_tokens_create(conn, "ci", HCR_ROLE_OPERATOR, 0, "admin-1", &out, &err),
			 HCR_OK);
	token = jstr(out, "token");
	assert_non_null(token);
	assert_true(hcr_token_well_formed(token));
	assert_int_equal(strlen(token), HCR_TOKEN_LEN);
	assert_true(hcr_uuid_valid(jstr(out, "id")));
	assert_string_equal(jstr(out, "name"), "ci");
	assert_string_equal(jstr(out, "role"), "operator");
	assert_string_equal(jstr(out, "createdBy"), "admin-1");
	assert_non_null(jstr(out, "createdAt"));
	/* Never expires, never used: those keys are absent. */
	assert_null(json_object_get(out, "expiresAt"));
	assert_null(json_object_get(out, "lastUsedAt"));

	/* The table holds the hash, not the token. */
	hcr_token_hash(hash, token);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_tokens WHERE token_hash = '%s'", hash);
	text = sql_value(sql);
	assert_string_equal(text, "1");
	free(text);
	rows = sql_value("SELECT string_agg(t::text, ',') FROM api_tokens t");
	assert_null(strstr(rows, token));
	assert_null(strstr(rows, token + 4));
	free(rows);

	/* Listing never shows the token or its hash. */
	assert_int_equal(hcr_tokens_list(conn, &list, &err), HCR_OK);
	assert_int_equal(json_array_size(list), 1);
	json_array_foreach(list, i, item)
	{
		assert_string_equal(jstr(item, "id"), jstr(out, "id"));
		assert_null(json_object_get(item, "token"));
	}
	text = hcr_json_dumps(list);
	assert_null(strstr(text, token + 4));
	assert_null(strstr(text, hash));
	free(text);
	json_decref(list);

	/* Each token is new. */
	{
		char other[HCR_TOKEN_LEN + 1];

		create("ci", HCR_ROLE_OPERATOR, 0, NULL, other);
		assert_string_not_equal(other, token);
	}
	json_decref(out);
}

static void test_tokens__expiry_is_shown(void **state)
{
	json_t *out = NULL;
	hcr_error err;
	char *left;

	(void)state;
	assert_int_equal(hcr_tokens_create(conn, "tmp", HCR_ROLE_VIEWER, 3600, "a", &out, &err),
			 HCR_OK);
	assert_non_null(jstr(out, "expiresAt"));
	json_decref(out);
	/* About an hour from now. */
	left = sql_value("SELECT round(extract(epoch FROM expires_at - now()) / 60) FROM "
			 "api_tokens WHERE name = 'tmp'");
	assert_string_equal(left, "60");
	free(left);
}

static void test_tokens__authenticate_finds_the_token(void **state)
{
	char id[40], token[HCR_TOKEN_LEN + 1], *used;
	hcr_token_identity who;
	hcr_error err;

	(void)state;
	create("deploy-bot", HCR_ROLE_ADMIN, 0, id, token);
	used = sql_value("SELECT last_used_at FROM api_tokens");
	assert_null(used);

	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_OK);
	assert_string_equal(who.id, id);
	assert_string_equal(who.name, "deploy-bot");
	assert_int_equal(who.role, HCR_ROLE_ADMIN);
	/* Its use is recorded. */
	used = sql_value("SELECT (now() - last_used_at < interval '1 minute')::text "
			 "FROM api_tokens");
	assert_string_equal(used, "true");
	free(used);

	/* A token that was never issued. */
	token[10] = token[10] == 'A' ? 'B' : 'A';
	memset(&who, 'x', sizeof(who));
	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_ENOTFOUND);
	assert_string_equal(err.code, "unauthorized");
	assert_int_equal(hcr_error_http_status(&err), 401);
	assert_string_equal(who.id, "");
	assert_int_equal(who.role, HCR_ROLE_NONE);
}

static void test_tokens__last_use_is_recorded_at_most_once_a_minute(void **state)
{
	char token[HCR_TOKEN_LEN + 1], *v;
	hcr_token_identity who;
	hcr_error err;

	(void)state;
	create("a", HCR_ROLE_VIEWER, 0, NULL, token);
	assert_int_equal(pgtest_exec(&pgt, "UPDATE api_tokens SET last_used_at = "
					   "'2020-01-01T00:00:30Z'"),
			 0);
	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_OK);
	v = sql_value("SELECT (last_used_at > now() - interval '1 minute')::text FROM api_tokens");
	assert_string_equal(v, "true");
	free(v);

	/* Used 30 seconds ago: left alone. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE api_tokens SET last_used_at = "
					   "now() - interval '30 seconds'"),
			 0);
	v = sql_value("SELECT last_used_at::text FROM api_tokens");
	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_OK);
	{
		char *after = sql_value("SELECT last_used_at::text FROM api_tokens");

		assert_string_equal(after, v);
		free(after);
	}
	free(v);
}

static void test_tokens__revoked_or_expired_tokens_do_not_authenticate(void **state)
{
	char id[40], token[HCR_TOKEN_LEN + 1], admin_token[HCR_TOKEN_LEN + 1];
	hcr_token_identity who;
	json_t *list = NULL;
	hcr_error err;

	(void)state;
	create("admin", HCR_ROLE_ADMIN, 0, NULL, admin_token);
	create("viewer", HCR_ROLE_VIEWER, 0, id, token);
	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_OK);

	assert_int_equal(hcr_tokens_revoke(conn, id, &err), HCR_OK);
	assert_int_equal(hcr_tokens_authenticate(pool, token, &who, &err), HCR_ENOTFOUND);
	assert_string_equal(err.code, "unauthorized");
	/* Revoked tokens leave the list. */
	assert_int_equal(hcr_tokens_list(conn, &list, &err), HCR_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(jstr(json_array_get(list, 0), "name"), "admin");
	json_decref(list);
	/* Revoking twice, or an id never issued: not found. */
	assert_int_equal(hcr_tokens_revoke(conn, id, &err), HCR_ENOTFOUND);
	assert_string_equal(err.code, "not_found");
	assert_int_equal(hcr_tokens_revoke(conn, "00000000-0000-0000-0000-000000000000", &err),
			 HCR_ENOTFOUND);

	/* Expired. */
	assert_int_equal(hcr_tokens_authenticate(pool, admin_token, &who, &err), HCR_OK);
	assert_int_equal(pgtest_exec(&pgt, "UPDATE api_tokens SET expires_at = now() - "
					   "interval '1 second' WHERE name = 'admin'"),
			 0);
	assert_int_equal(hcr_tokens_authenticate(pool, admin_token, &who, &err), HCR_ENOTFOUND);
	assert_int_equal(admins(), 0);
}

static void test_tokens__last_admin_cannot_be_revoked(void **state)
{
	char a[40], b[40], op[40], msg[128];
	hcr_error err;

	(void)state;
	create("admin-a", HCR_ROLE_ADMIN, 0, a, NULL);
	create("operator", HCR_ROLE_OPERATOR, 0, op, NULL);
	assert_int_equal(admins(), 1);

	assert_int_equal(hcr_tokens_revoke(conn, a, &err), HCR_ECONFLICT);
	assert_string_equal(err.code, "conflict");
	snprintf(msg, sizeof(msg), "token %s is the last active admin token", a);
	assert_string_equal(err.message, msg);
	assert_non_null(strstr(err.hint, "create another admin token first"));
	assert_int_equal(admins(), 1);

	/* Other roles are not admins, and can be revoked. */
	assert_int_equal(hcr_tokens_revoke(conn, op, &err), HCR_OK);
	assert_int_equal(admins(), 1);

	/* An expired admin does not count. */
	create("admin-old", HCR_ROLE_ADMIN, 0, NULL, NULL);
	assert_int_equal(admins(), 2);
	assert_int_equal(pgtest_exec(&pgt, "UPDATE api_tokens SET expires_at = now() - "
					   "interval '1 hour' WHERE name = 'admin-old'"),
			 0);
	assert_int_equal(admins(), 1);
	assert_int_equal(hcr_tokens_revoke(conn, a, &err), HCR_ECONFLICT);

	/* With a second active admin, the first can go; then the second is the last. */
	create("admin-b", HCR_ROLE_ADMIN, 0, b, NULL);
	assert_int_equal(admins(), 2);
	assert_int_equal(hcr_tokens_revoke(conn, a, &err), HCR_OK);
	assert_int_equal(admins(), 1);
	assert_int_equal(hcr_tokens_revoke(conn, b, &err), HCR_ECONFLICT);
	assert_int_equal(admins(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tokens__create_shows_the_token_once, fresh_tables),
		cmocka_unit_test_setup(test_tokens__expiry_is_shown, fresh_tables),
		cmocka_unit_test_setup(test_tokens__authenticate_finds_the_token, fresh_tables),
		cmocka_unit_test_setup(test_tokens__last_use_is_recorded_at_most_once_a_minute,
				       fresh_tables),
		cmocka_unit_test_setup(test_tokens__revoked_or_expired_tokens_do_not_authenticate,
				       fresh_tables),
		cmocka_unit_test_setup(test_tokens__last_admin_cannot_be_revoked, fresh_tables),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
