/*
 * Unit tests for src/pgembed.c against a real PostgreSQL: first start
 * (initdb), refusing a second server on the same directory, data surviving a
 * restart, the private socket directory for long paths, and finding the
 * server binaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/pgembed.h"
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

/* The single value of a one-row, one-column query, as a new string. */
static char *query_value(const char *dbname, const char *sql)
{
	PGconn *conn = pgtest_connect(&pgt, dbname);
	PGresult *res;
	char *v = NULL;

	assert_non_null(conn);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strdup(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return v;
}

static void test_pgembed__start_creates_data_and_answers(void **state)
{
	char path[PATH_MAX];
	struct stat st;
	char *v;

	(void)state;
	snprintf(path, sizeof(path), "%s/data/PG_VERSION", pgt.dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/postgres.log", pgt.dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/run/.s.PGSQL.5432", pgt.dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(hcr_pgembed_pid(pgt.pg) > 0);
	assert_int_equal(PQping(hcr_pgembed_conninfo(pgt.pg)), PQPING_OK);

	v = query_value("hcr", "SELECT current_database() || ' ' || current_user");
	assert_non_null(v);
	assert_string_equal(v, "hcr hcr");
	free(v);
	/* Only the Unix socket: no TCP listener. */
	v = query_value("hcr", "SHOW listen_addresses");
	assert_non_null(v);
	assert_string_equal(v, "");
	free(v);

	if (geteuid() == 0) {
		/* PostgreSQL refuses root: the server runs as postgres. */
		snprintf(path, sizeof(path), "%s/data", pgt.dir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_not_equal(st.st_uid, 0);
	}
}

static void test_pgembed__second_start_fails_naming_pid(void **state)
{
	hcr_pgembed *second = (hcr_pgembed *)0x1;
	char want[PATH_MAX];
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_pgembed_start(&second, pgt.dir, NULL, &err), HCR_ERROR);
	assert_null(second);
	snprintf(want, sizeof(want), "PostgreSQL is already running on \"%s\"", pgt.dir);
	assert_non_null(strstr(err.message, want));
	snprintf(want, sizeof(want), "(pid %ld)", (long)hcr_pgembed_pid(pgt.pg));
	assert_non_null(strstr(err.message, want));
	assert_non_null(strstr(err.hint, "another hcr"));
	/* The refused start left the running server alone. */
	assert_int_equal(PQping(hcr_pgembed_conninfo(pgt.pg)), PQPING_OK);
}

static void test_pgembed__restart_keeps_data(void **state)
{
	char sock[PATH_MAX];
	pid_t old;
	char *v;

	(void)state;
	assert_int_equal(pgtest_exec(&pgt, "CREATE TABLE kept (v text);"
					   "INSERT INTO kept VALUES ('still here')"),
			 0);
	old = hcr_pgembed_pid(pgt.pg);
	hcr_pgembed_stop(pgt.pg);
	pgt.pg = NULL;
	/* Stopped and reaped: the process is gone, so is its socket. */
	assert_int_equal(kill(old, 0), -1);
	assert_int_equal(errno, ESRCH);
	snprintf(sock, sizeof(sock), "%s/run/.s.PGSQL.5432", pgt.dir);
	assert_int_equal(access(sock, F_OK), -1);

	assert_int_equal(pgtest_restart(&pgt), 0);
	v = query_value("hcr", "SELECT v FROM kept");
	assert_non_null(v);
	assert_string_equal(v, "still here");
	free(v);
}

static void test_pgembed__failed_start_reports_the_server_log(void **state)
{
	char conf[PATH_MAX];
	hcr_pgembed *pg = (hcr_pgembed *)0x1;
	hcr_error err;
	FILE *f;
	long size;
	int rc;

	(void)state;
	hcr_pgembed_stop(pgt.pg);
	pgt.pg = NULL;
	/* A setting the server refuses at start-up. */
	snprintf(conf, sizeof(conf), "%s/data/postgresql.auto.conf", pgt.dir);
	f = fopen(conf, "a");
	assert_non_null(f);
	size = ftell(f);
	fputs("shared_buffers = 'plenty'\n", f);
	fclose(f);

	rc = hcr_pgembed_start(&pg, pgt.dir, NULL, &err);
	assert_int_equal(truncate(conf, size), 0);
	assert_int_equal(rc, HCR_ERROR);
	assert_null(pg);
	assert_non_null(strstr(err.message, "PostgreSQL exited during start-up"));
	/* The server's own complaint, from postgres.log. */
	assert_non_null(strstr(err.detail, "postgres.log"));
	assert_non_null(strstr(err.detail, "shared_buffers"));
	/* Only this attempt's lines, not the previous shutdown's. */
	assert_null(strstr(err.detail, "shutdown"));

	assert_int_equal(pgtest_restart(&pgt), 0);
	assert_int_equal(PQping(hcr_pgembed_conninfo(pgt.pg)), PQPING_OK);
}

static void test_pgembed__long_dir_uses_private_socket_dir(void **state)
{
	char base[256], dir[512], run[256];
	pgtest second = {{0}, NULL};
	const char *ci, *p;
	hcr_error err;
	size_t n;

	(void)state;
	assert_int_equal(pgtest_mkdtemp(base, sizeof(base)), 0);
	snprintf(dir, sizeof(dir), "%s/%s", base,
		 "a-directory-name-long-enough-that-a-unix-socket-path-inside-would-not-fit-"
		 "into-sun-path");
	assert_true(strlen(dir) + strlen("/run/.s.PGSQL.5432") > 107);
	snprintf(second.dir, sizeof(second.dir), "%s", dir);
	if (hcr_pgembed_start(&second.pg, dir, NULL, &err) != HCR_OK) {
		pgtest_print_error("start", &err);
		pgtest_rmtree(base);
		fail();
	}
	ci = hcr_pgembed_conninfo(second.pg);
	assert_int_equal(PQping(ci), PQPING_OK);
	/* host='<run>' names a directory outside `dir`. */
	p = strstr(ci, "host='");
	assert_non_null(p);
	p += 6;
	n = strcspn(p, "'");
	assert_true(n < sizeof(run));
	memcpy(run, p, n);
	run[n] = '\0';
	assert_null(strstr(run, base));
	assert_int_equal(access(run, F_OK), 0);

	hcr_pgembed_stop(second.pg);
	/* The private socket directory goes with the server. */
	assert_int_equal(access(run, F_OK), -1);
	pgtest_rmtree(base);
}

static void test_pgembed__unreachable_dir_is_refused_as_root(void **state)
{
	char base[256], dir[300];
	hcr_pgembed *pg = NULL;
	hcr_error err;
	int rc;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(pgtest_mkdtemp(base, sizeof(base)), 0);
	assert_int_equal(chmod(base, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/pg", base);
	rc = hcr_pgembed_start(&pg, dir, NULL, &err);
	pgtest_rmtree(base);
	assert_int_equal(rc, HCR_ERROR);
	assert_null(pg);
	assert_non_null(strstr(err.message, "cannot reach"));
	assert_non_null(strstr(err.message, base));
	assert_non_null(strstr(err.hint, "chmod o+x"));
}

static void test_pgembed__find_bindir_rejects_bogus_dir(void **state)
{
	char out[PATH_MAX];
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_pgembed_find_bindir(out, sizeof(out), "/nonexistent/pg/bin", &err),
			 HCR_ERROR);
	assert_non_null(strstr(err.message, "\"/nonexistent/pg/bin\""));
	assert_string_equal(err.hint,
			    "install postgresql-15 (make deps) or set database.embedded.bin_dir");
}

static void test_pgembed__find_bindir_needs_both_binaries(void **state)
{
	char real[PATH_MAX], dir[256], from[PATH_MAX + 16], to[300], out[PATH_MAX];
	hcr_error err;
	int rc;

	(void)state;
	assert_int_equal(hcr_pgembed_find_bindir(real, sizeof(real), NULL, &err), HCR_OK);
	assert_int_equal(pgtest_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(from, sizeof(from), "%s/initdb", real);
	snprintf(to, sizeof(to), "%s/initdb", dir);
	assert_int_equal(symlink(from, to), 0);
	/* initdb alone is not a server. */
	rc = hcr_pgembed_find_bindir(out, sizeof(out), dir, &err);
	pgtest_rmtree(dir);
	assert_int_equal(rc, HCR_ERROR);
	assert_non_null(strstr(err.hint, "database.embedded.bin_dir"));
}

static void test_pgembed__find_bindir_looks_up_the_server(void **state)
{
	char out[PATH_MAX], path[PATH_MAX + 16];
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_pgembed_find_bindir(out, sizeof(out), NULL, &err), HCR_OK);
	snprintf(path, sizeof(path), "%s/initdb", out);
	assert_int_equal(access(path, X_OK), 0);
	snprintf(path, sizeof(path), "%s/postgres", out);
	assert_int_equal(access(path, X_OK), 0);
	/* Too small an output buffer is an error, not a truncated path. */
	assert_int_equal(hcr_pgembed_find_bindir(out, 4, NULL, &err), HCR_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgembed__start_creates_data_and_answers),
		cmocka_unit_test(test_pgembed__second_start_fails_naming_pid),
		cmocka_unit_test(test_pgembed__restart_keeps_data),
		cmocka_unit_test(test_pgembed__failed_start_reports_the_server_log),
		cmocka_unit_test(test_pgembed__long_dir_uses_private_socket_dir),
		cmocka_unit_test(test_pgembed__unreachable_dir_is_refused_as_root),
		cmocka_unit_test(test_pgembed__find_bindir_rejects_bogus_dir),
		cmocka_unit_test(test_pgembed__find_bindir_needs_both_binaries),
		cmocka_unit_test(test_pgembed__find_bindir_looks_up_the_server),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
