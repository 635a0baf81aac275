/*
 * Unit tests for src/store.c against a real PostgreSQL (tests/unit/pgtest.h):
 * parameterised queries, the SQLSTATE mapping, the pool under more threads
 * than connections, and one pool surviving a server restart.
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
#include <time.h>

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/store.h"
#include "pgtest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static pgtest pgt;
static hcr_store *pool;

static int setup(void **state)
{
	hcr_error err;

	(void)state;
	if (pgtest_start(&pgt) != 0)
		return -1;
	if (pgtest_exec(&pgt, "CREATE TABLE parent (id int PRIMARY KEY);"
			      "CREATE TABLE items ("
			      " id serial PRIMARY KEY,"
			      " name text NOT NULL CONSTRAINT items_name_key UNIQUE,"
			      " qty int CONSTRAINT items_qty_positive CHECK (qty > 0),"
			      " parent int REFERENCES parent (id),"
			      " note text)") != 0)
		return -1;
	if (hcr_store_open(&pool, hcr_pgembed_conninfo(pgt.pg), 2, 2, &err) != HCR_OK) {
		pgtest_print_error("open", &err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hcr_store_close(pool);
	pool = NULL;
	pgtest_stop(&pgt);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs `sql` with `params` on a pooled connection; the status, with *err filled. */
static int run(const char *sql, int n, const char *const *params, hcr_error *err)
{
	PGconn *conn;
	int rc;

	hcr_error_clear(err);
	rc = hcr_store_acquire(pool, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_query(conn, NULL, sql, n, params, err);
	hcr_store_release(pool, conn);
	return rc;
}

static void test_store__query_with_params_stores_them_literally(void **state)
{
	const char *evil = "x'); DROP TABLE items; --";
	const char *ins[] = {evil, "3", NULL};
	const char *sel[] = {evil};
	PGresult *res = NULL;
	PGconn *conn;
	hcr_error err;
	char *v;

	(void)state;
	assert_int_equal(hcr_store_acquire(pool, &conn, &err), HCR_OK);
	assert_int_equal(hcr_store_query(conn, NULL,
					 "INSERT INTO items (name, qty, note) VALUES ($1, $2, $3)",
					 3, ins, &err),
			 HCR_OK);
	assert_int_equal(hcr_store_query(conn, &res,
					 "SELECT name, qty, note FROM items WHERE name = $1", 1,
					 sel, &err),
			 HCR_OK);
	assert_int_equal(PQntuples(res), 1);
	v = hcr_store_strdup(res, 0, 0);
	assert_string_equal(v, evil);
	free(v);
	v = hcr_store_strdup(res, 0, 1);
	assert_string_equal(v, "3");
	free(v);
	/* A NULL parameter is SQL NULL, and comes back as NULL. */
	assert_null(hcr_store_strdup(res, 0, 2));
	PQclear(res);
	hcr_store_release(pool, conn);
}

static void test_store__errors_map_by_sqlstate(void **state)
{
	static const struct {
		const char *sql;
		const char *param;
		int status;
		const char *code;
		const char *in_message;
	} cases[] = {
		{"INSERT INTO items (name, qty) VALUES ('dup', 1), ($1, 1)", "dup", HCR_ECONFLICT,
		 "conflict", "duplicate value violates \"items_name_key\" (SQLSTATE 23505)"},
		{"INSERT INTO items (name, parent) VALUES ($1, 42)", "orphan", HCR_ECONFLICT,
		 "conflict", "(SQLSTATE 23503)"},
		{"INSERT INTO items (name, qty) VALUES ($1, 0)", "none", HCR_EINVALID, "invalid",
		 "\"items_qty_positive\" (SQLSTATE 23514)"},
		{"INSERT INTO items (name, qty) VALUES ('n', $1)", "many", HCR_EINVALID, "invalid",
		 "(SQLSTATE 22P02)"},
		{"SELECT 1 / (0 * length($1))", "z", HCR_EINVALID, "invalid", "(SQLSTATE 22012)"},
		{"SELEKT $1", "x", HCR_ERROR, "internal", "(SQLSTATE 42601)"},
		{"SELECT * FROM no_such_table WHERE x = $1", "x", HCR_ERROR, "internal",
		 "(SQLSTATE 42P01)"},
	};
	hcr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *params[] = {cases[i].param};
		int rc = run(cases[i].sql, 1, params, &err);

		if (rc != cases[i].status || strcmp(err.code, cases[i].code) != 0 ||
		    !strstr(err.message, cases[i].in_message) || !err.detail[0] ||
		    err.detail[strlen(err.detail) - 1] == '\n')
			fail_msg("case %zu (%s): got %d %s \"%s\" detail \"%s\"", i, cases[i].sql,
				 rc, err.code, err.message, err.detail);
	}
	/* The server's message is the detail. */
	run(cases[0].sql, 1, (const char *const[]){"dup"}, &err);
	assert_non_null(strstr(err.detail, "duplicate key value violates unique constraint"));
	/* A failed statement leaves the connection usable for the next borrower. */
	assert_true(hcr_store_ping(pool, &err));
}

static void test_store__transactions(void **state)
{
	const char *a[] = {"tx-rolled-back"}, *b[] = {"tx-committed"};
	PGresult *res = NULL;
	PGconn *conn;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_store_acquire(pool, &conn, &err), HCR_OK);
	assert_int_equal(hcr_store_begin(conn, &err), HCR_OK);
	assert_int_equal(
		hcr_store_query(conn, NULL, "INSERT INTO items (name) VALUES ($1)", 1, a, &err),
		HCR_OK);
	hcr_store_rollback(conn);

	assert_int_equal(hcr_store_begin(conn, &err), HCR_OK);
	assert_int_equal(
		hcr_store_query(conn, NULL, "INSERT INTO items (name) VALUES ($1)", 1, b, &err),
		HCR_OK);
	assert_int_equal(hcr_store_commit(conn, &err), HCR_OK);

	/* COMMIT after a failed statement is a failure, not a silent rollback. */
	assert_int_equal(hcr_store_begin(conn, &err), HCR_OK);
	assert_int_equal(hcr_store_query(conn, NULL, "SELEKT", 0, NULL, &err), HCR_ERROR);
	assert_int_equal(hcr_store_commit(conn, &err), HCR_ERROR);
	assert_string_equal(err.message, "transaction was rolled back");

	/* A transaction left open is rolled back when the connection goes back. */
	assert_int_equal(hcr_store_begin(conn, &err), HCR_OK);
	assert_int_equal(hcr_store_query(conn, NULL, "INSERT INTO items (name) VALUES ('left')", 0,
					 NULL, &err),
			 HCR_OK);
	hcr_store_release(pool, conn);

	assert_int_equal(hcr_store_acquire(pool, &conn, &err), HCR_OK);
	assert_int_equal(hcr_store_query(conn, &res,
					 "SELECT string_agg(name, ',' ORDER BY name) FROM items "
					 "WHERE name IN ('tx-rolled-back', 'tx-committed', 'left')",
					 0, NULL, &err),
			 HCR_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "tx-committed");
	PQclear(res);
	hcr_store_release(pool, conn);
}

static void *borrow(void *arg)
{
	hcr_error err;
	PGconn *conn;
	int *rc = arg;

	*rc = hcr_store_acquire(pool, &conn, &err);
	if (*rc != HCR_OK)
		return NULL;
	*rc = hcr_store_query(conn, NULL, "SELECT pg_sleep(0.1)", 0, NULL, &err);
	hcr_store_release(pool, conn);
	return NULL;
}

static void test_store__more_threads_than_connections_all_succeed(void **state)
{
	pthread_t th[8];
	int rc[8], i;
	hcr_store_stats before, after;

	(void)state;
	hcr_store_get_stats(pool, &before);
	for (i = 0; i < 8; i++) {
		rc[i] = 99;
		assert_int_equal(pthread_create(&th[i], NULL, borrow, &rc[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rc[i], HCR_OK);
	}
	hcr_store_get_stats(pool, &after);
	assert_int_equal(after.size, 2);
	assert_int_equal(after.in_use, 0);
	assert_int_equal(after.connected, 2);
	assert_true(after.acquires - before.acquires == 8);
	/* Two connections for eight borrowers: at least six had to wait. */
	assert_true(after.waits - before.waits >= 6);
	assert_true(after.timeouts == before.timeouts);
}

static void test_store__acquire_times_out_when_all_are_lent(void **state)
{
	PGconn *a, *b, *c = (PGconn *)0x1;
	hcr_store_stats st;
	hcr_error err;
	double t0;

	(void)state;
	assert_int_equal(hcr_store_acquire(pool, &a, &err), HCR_OK);
	assert_int_equal(hcr_store_acquire(pool, &b, &err), HCR_OK);
	t0 = now_s();
	assert_int_equal(hcr_store_acquire(pool, &c, &err), HCR_EUPSTREAM);
	assert_true(now_s() - t0 >= 1.5 && now_s() - t0 < 4);
	assert_null(c);
	assert_string_equal(err.code, "unavailable");
	hcr_store_get_stats(pool, &st);
	assert_true(st.timeouts >= 1);
	assert_int_equal(st.in_use, 2);
	hcr_store_release(pool, a);
	hcr_store_release(pool, b);
}

static void test_store__open_rejects_bad_conninfo_without_echoing_password(void **state)
{
	static const char *const bad[] = {
		"postgresql://hcr:s3cr%zzet@localhost/hcr",
		"host=localhost password=s3cr%zzet bogus_option=1",
		"host=localhost password='s3cr%zzet",
	};
	hcr_store *s = (hcr_store *)0x1;
	hcr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_not_equal(hcr_store_open(&s, bad[i], 2, 2, &err), HCR_OK);
		assert_null(s);
		assert_string_equal(err.message, "database.url is not a valid connection string");
		assert_true(err.detail[0] != '\0');
		if (strstr(err.detail, "s3cr") || strstr(err.message, "s3cr"))
			fail_msg("case %zu leaks the password: %s", i, err.detail);
	}
}

static void test_store__pool_recovers_after_server_restart(void **state)
{
	hcr_store_stats st;
	PGresult *res = NULL;
	PGconn *a, *b;
	hcr_error err;
	double t0, took;

	(void)state;
	/* Both connections are open before the server goes away. */
	assert_int_equal(hcr_store_acquire(pool, &a, &err), HCR_OK);
	assert_int_equal(hcr_store_acquire(pool, &b, &err), HCR_OK);
	hcr_store_release(pool, a);
	hcr_store_release(pool, b);

	hcr_pgembed_stop(pgt.pg);
	pgt.pg = NULL;

	t0 = now_s();
	assert_false(hcr_store_ping(pool, &err));
	took = now_s() - t0;
	assert_string_equal(err.code, "unavailable");
	assert_string_equal(err.message, "database is unavailable");
	assert_true(err.detail[0] != '\0');
	assert_string_equal(err.hint, "check that PostgreSQL is running and database.url is right");
	assert_true(took < 2.5);
	t0 = now_s();
	assert_int_equal(hcr_store_acquire(pool, &a, &err), HCR_EUPSTREAM);
	assert_true(now_s() - t0 < 2.5);
	hcr_store_get_stats(pool, &st);
	assert_true(st.errors >= 2);
	assert_int_equal(st.in_use, 0);

	/* Same directory, same socket: the same pool reconnects by itself. */
	assert_int_equal(pgtest_restart(&pgt), 0);
	assert_true(hcr_store_ping(pool, &err));
	assert_int_equal(hcr_store_acquire(pool, &a, &err), HCR_OK);
	assert_int_equal(hcr_store_acquire(pool, &b, &err), HCR_OK);
	assert_int_equal(hcr_store_query(a, &res, "SELECT count(*) FROM items", 0, NULL, &err),
			 HCR_OK);
	PQclear(res);
	assert_int_equal(hcr_store_query(b, NULL, "SELECT 1", 0, NULL, &err), HCR_OK);
	hcr_store_release(pool, a);
	hcr_store_release(pool, b);
	hcr_store_get_stats(pool, &st);
	assert_true(st.reconnects > 0);
	assert_int_equal(st.connected, 2);
}

static void test_store__restart_between_uses_is_invisible(void **state)
{
	hcr_store_stats before, after;
	hcr_error err;
	int i;

	(void)state;
	/* Both connections open and idle in the pool. */
	assert_int_equal(run("SELECT pg_sleep(0.05)", 0, NULL, &err), HCR_OK);
	assert_true(hcr_store_ping(pool, &err));
	hcr_store_get_stats(pool, &before);
	assert_int_equal(before.connected, 2);

	hcr_pgembed_stop(pgt.pg);
	pgt.pg = NULL;
	assert_int_equal(pgtest_restart(&pgt), 0);

	/* The dead sessions are noticed at acquire and replaced before anyone sees them. */
	for (i = 0; i < 4; i++)
		if (!hcr_store_ping(pool, &err))
			fail_msg("ping %d after restart: %s: %s", i, err.message, err.detail);
	hcr_store_get_stats(pool, &after);
	assert_true(after.reconnects > before.reconnects);
	assert_true(after.errors == before.errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store__query_with_params_stores_them_literally),
		cmocka_unit_test(test_store__errors_map_by_sqlstate),
		cmocka_unit_test(test_store__transactions),
		cmocka_unit_test(test_store__more_threads_than_connections_all_succeed),
		cmocka_unit_test(test_store__acquire_times_out_when_all_are_lent),
		cmocka_unit_test(test_store__open_rejects_bad_conninfo_without_echoing_password),
		/* Last: these stop and restart the server. */
		cmocka_unit_test(test_store__pool_recovers_after_server_restart),
		cmocka_unit_test(test_store__restart_between_uses_is_invisible),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
