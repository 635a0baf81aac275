/*
 * Unit tests for src/migrate.c against a real PostgreSQL (tests/unit/pgtest.h):
 * a fresh database gets every embedded migration once, concurrent migrators
 * apply each migration exactly once, and a database newer than this binary
 * is refused. Each test works in its own database.
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

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/migrate.h"
#include "pgtest.h"

static pgtest pgt;

static int setup(void **state)
{
	(void)state;
	return pgtest_start(&pgt);
}

static int teardown(void **state)
{
	(void)state;
	pgtest_stop(&pgt);
	return 0;
}

/* Creates database `name` and returns a connection to it. */
static PGconn *fresh_db(const char *name)
{
	char sql[128];
	PGconn *conn;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_int_equal(pgtest_exec(&pgt, sql), 0);
	conn = pgtest_connect(&pgt, name);
	assert_non_null(conn);
	return conn;
}

static char *value(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	char *v = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

static void assert_value(PGconn *conn, const char *sql, const char *want)
{
	char *v = value(conn, sql);
	int same = strcmp(v, want) == 0;

	if (!same)
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", sql, v, want);
	free(v);
	assert_true(same);
}

static void test_migrate__latest_is_last_embedded(void **state)
{
	int i;

	(void)state;
	assert_true(hcr_migrations_count >= 1);
	assert_int_equal(hcr_migrations[0].version, 1);
	assert_string_equal(hcr_migrations[0].name, "init");
	for (i = 1; i < hcr_migrations_count; i++)
		assert_true(hcr_migrations[i].version > hcr_migrations[i - 1].version);
	assert_int_equal(hcr_migrate_latest(), hcr_migrations[hcr_migrations_count - 1].version);
}

static void test_migrate__fresh_db_applies_all(void **state)
{
	PGconn *conn = fresh_db("m_fresh");
	int applied = -1, current = -1;
	hcr_error err;
	char want[16];

	(void)state;
	assert_int_equal(hcr_migrate_current(conn, &current, &err), HCR_OK);
	assert_int_equal(current, 0);

	assert_int_equal(hcr_migrate_run(conn, &applied, &err), HCR_OK);
	assert_int_equal(applied, hcr_migrations_count);
	assert_int_equal(hcr_migrate_current(conn, &current, &err), HCR_OK);
	assert_int_equal(current, hcr_migrate_latest());
	/* The schema is really there, and every migration is recorded by name. */
	assert_value(conn, "SELECT to_regclass('clusters') IS NOT NULL", "t");
	assert_value(conn, "SELECT name FROM schema_migrations WHERE version = 1", "init");
	snprintf(want, sizeof(want), "%d", hcr_migrations_count);
	assert_value(conn, "SELECT count(*) FROM schema_migrations", want);
	/* The advisory lock was given back. */
	assert_value(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0");

	/* Running again finds nothing to do. */
	assert_int_equal(hcr_migrate_run(conn, &applied, &err), HCR_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(hcr_migrate_run(conn, NULL, &err), HCR_OK);
	assert_value(conn, "SELECT count(*) FROM schema_migrations", want);
	PQfinish(conn);
}

typedef struct {
	int rc;
	int applied;
	hcr_error err;
} migrator;

static void *migrate_thread(void *arg)
{
	migrator *m = arg;
	PGconn *conn = pgtest_connect(&pgt, "m_race");

	m->rc = conn ? hcr_migrate_run(conn, &m->applied, &m->err) : HCR_ERROR;
	PQfinish(conn);
	return NULL;
}

static void test_migrate__concurrent_runs_apply_each_once(void **state)
{
	PGconn *conn = fresh_db("m_race");
	migrator m[4];
	pthread_t th[4];
	int i, total = 0;
	char want[16];

	(void)state;
	memset(m, 0, sizeof(m));
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &m[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (m[i].rc != HCR_OK)
			fail_msg("migrator %d: %s: %s", i, m[i].err.message, m[i].err.detail);
		total += m[i].applied;
	}
	assert_int_equal(total, hcr_migrations_count);
	snprintf(want, sizeof(want), "%d", hcr_migrations_count);
	assert_value(conn, "SELECT count(*) FROM schema_migrations", want);
	PQfinish(conn);
}

static void test_migrate__newer_schema_is_refused(void **state)
{
	PGconn *conn = fresh_db("m_newer");
	int applied = -1, current = -1, newer = hcr_migrate_latest() + 1;
	char sql[256], want[128];
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_migrate_run(conn, NULL, &err), HCR_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_migrations (version, name) VALUES (%d, 'from_the_future')",
		 newer);
	PQclear(PQexec(conn, sql));

	assert_int_equal(hcr_migrate_run(conn, &applied, &err), HCR_ERROR);
	assert_int_equal(applied, 0);
	snprintf(want, sizeof(want),
		 "database schema version %d is newer than this hcr (knows up to %d)", newer,
		 hcr_migrate_latest());
	assert_string_equal(err.message, want);
	assert_non_null(strstr(err.hint, "upgrade hcr"));
	/* The refusal released the lock and left the database untouched. */
	assert_value(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", "0");
	assert_int_equal(hcr_migrate_current(conn, &current, &err), HCR_OK);
	assert_int_equal(current, newer);
	PQfinish(conn);
}

static void test_migrate__current_fails_on_lost_connection(void **state)
{
	PGconn *conn = fresh_db("m_lost");
	PGconn *killer = pgtest_connect(&pgt, "hcr");
	char sql[128];
	int current = -1;
	hcr_error err;

	(void)state;
	assert_non_null(killer);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(conn));
	assert_value(killer, sql, "t");
	PQfinish(killer);
	assert_int_equal(hcr_migrate_current(conn, &current, &err), HCR_EUPSTREAM);
	assert_string_equal(err.code, "unavailable");
	assert_int_equal(current, 0);
	PQfinish(conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate__latest_is_last_embedded),
		cmocka_unit_test(test_migrate__fresh_db_applies_all),
		cmocka_unit_test(test_migrate__concurrent_runs_apply_each_once),
		cmocka_unit_test(test_migrate__newer_schema_is_refused),
		cmocka_unit_test(test_migrate__current_fails_on_lost_connection),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
