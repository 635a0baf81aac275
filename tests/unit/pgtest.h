/*
 * A throwaway PostgreSQL for unit tests: hcr's own embedded server
 * (hcr_pgembed_start) in a fresh mkdtemp directory, removed with everything
 * in it afterwards. Start it once per test file, in the group setup.
 *
 * Header-only; everything is static inline so that a test file that uses
 * only part of it compiles without warnings.
 */
#ifndef HCR_PGTEST_H
#define HCR_PGTEST_H

#include <ftw.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcr/error.h"
#include "hcr/mem.h"
#include "hcr/migrate.h"
#include "hcr/pgembed.h"
#include "hcr/store.h"

typedef struct pgtest {
	char dir[512];
	hcr_pgembed *pg;
} pgtest;

static inline void pgtest_print_error(const char *what, const hcr_error *err)
{
	fprintf(stderr, "pgtest: %s: %s\n", what, err->message);
	if (err->detail[0])
		fprintf(stderr, "  detail: %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "  hint: %s\n", err->hint);
}

/*
 * A new empty directory under $TMPDIR (or /tmp) in `out`. When running as
 * root the server runs as `postgres`, which must be able to reach it.
 */
static inline int pgtest_mkdtemp(char *out, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !tmp[0])
		tmp = "/tmp";
	if (snprintf(out, size, "%s/hcr-test-XXXXXX", tmp) >= (int)size || !mkdtemp(out))
		return -1;
	return geteuid() == 0 ? chmod(out, 0711) : 0;
}

static inline int pgtest_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf `path`. */
static inline void pgtest_rmtree(const char *path)
{
	if (path[0])
		nftw(path, pgtest_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Starts (again) the server on t->dir. */
static inline int pgtest_restart(pgtest *t)
{
	hcr_error err;

	hcr_error_clear(&err);
	if (hcr_pgembed_start(&t->pg, t->dir, NULL, &err) != HCR_OK) {
		pgtest_print_error("could not start PostgreSQL", &err);
		return -1;
	}
	return 0;
}

/* Makes a fresh directory and starts a server there. */
static inline int pgtest_start(pgtest *t)
{
	memset(t, 0, sizeof(*t));
	if (pgtest_mkdtemp(t->dir, sizeof(t->dir)) != 0) {
		perror("pgtest: mkdtemp");
		t->dir[0] = '\0';
		return -1;
	}
	return pgtest_restart(t);
}

/* Stops the server (if running) and removes its directory. */
static inline void pgtest_stop(pgtest *t)
{
	hcr_pgembed_stop(t->pg);
	t->pg = NULL;
	pgtest_rmtree(t->dir);
	t->dir[0] = '\0';
}

/* The server's conninfo with another database: a new string. */
static inline char *pgtest_conninfo(const pgtest *t, const char *dbname)
{
	return hcr_sprintf("%s dbname=%s", hcr_pgembed_conninfo(t->pg), dbname);
}

/* A new connection to `dbname`, or NULL (printed). */
static inline PGconn *pgtest_connect(const pgtest *t, const char *dbname)
{
	char *ci = pgtest_conninfo(t, dbname);
	PGconn *conn = PQconnectdb(ci);

	free(ci);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "pgtest: connect to %s: %s", dbname, PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Runs `sql` on the hcr database; 0 on success. */
static inline int pgtest_exec(const pgtest *t, const char *sql)
{
	PGconn *conn = pgtest_connect(t, "hcr");
	PGresult *res;
	int rc = -1;

	if (!conn)
		return -1;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	else
		fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/*
 * Starts the server, applies hcr's migrations, opens a pool of `size`
 * connections and borrows one into *conn: what the store's domain tests need.
 * Undo with pgtest_close_store.
 */
static inline int pgtest_start_store(pgtest *t, hcr_store **pool, int size, PGconn **conn)
{
	hcr_error err;
	PGconn *mig;
	int rc;

	if (pgtest_start(t) != 0)
		return -1;
	mig = pgtest_connect(t, "hcr");
	if (!mig)
		return -1;
	rc = hcr_migrate_run(mig, NULL, &err);
	PQfinish(mig);
	if (rc != HCR_OK) {
		pgtest_print_error("migrate", &err);
		return -1;
	}
	if (hcr_store_open(pool, hcr_pgembed_conninfo(t->pg), size, 5, &err) != HCR_OK ||
	    hcr_store_acquire(*pool, conn, &err) != HCR_OK) {
		pgtest_print_error("store", &err);
		return -1;
	}
	return 0;
}

static inline void pgtest_close_store(pgtest *t, hcr_store **pool, PGconn **conn)
{
	if (*conn)
		hcr_store_release(*pool, *conn);
	*conn = NULL;
	hcr_store_close(*pool);
	*pool = NULL;
	pgtest_stop(t);
}

#endif
