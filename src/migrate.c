/*
 * Forward-only schema migrations, applied at start-up.
 *
 * Everything happens under one session-level advisory lock, taken before the
 * bookkeeping table is even created: two hcr processes starting against the
 * same database would otherwise race on CREATE TABLE IF NOT EXISTS (which is
 * not safe against a concurrent twin) and on applying the same migration. The
 * loser of the lock waits, then finds every migration recorded. Each
 * migration runs in its own transaction together with its schema_migrations
 * row, so a migration is either fully applied and recorded or not at all.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/log.h"
#include "hcr/migrate.h"
#include "hcr/mem.h"
#include "hcr/store.h"

/* pg_advisory_lock key: "hcr" in the top bytes, then 1 for migrations. */
#define MIGRATE_LOCK_KEY "7521981146964426753" /* 0x6863720000000001 */

#define CREATE_TABLE                                     \
	"CREATE TABLE IF NOT EXISTS schema_migrations (" \
	"version integer PRIMARY KEY, "                  \
	"name text NOT NULL, "                           \
	"applied_at timestamptz NOT NULL DEFAULT now())"

int hcr_migrate_latest(void)
{
	return hcr_migrations_count > 0 ? hcr_migrations[hcr_migrations_count - 1].version : 0;
}

static bool is_applied(const PGresult *res, int version)
{
	int i;

	for (i = 0; i < PQntuples(res); i++)
		if (atoi(PQgetvalue(res, i, 0)) == version)
			return true;
	return false;
}

/* Runs the (multi-statement, parameterless) SQL of `m` and records it, in one transaction. */
static int apply_one(PGconn *conn, const hcr_migration *m, hcr_error *err)
{
	char version[16];
	const char *params[2] = {version, m->name};
	PGresult *res = NULL;
	int rc;

	snprintf(version, sizeof(version), "%d", m->version);
	rc = hcr_store_begin(conn, err);
	if (rc != HCR_OK)
		goto done;
	res = PQexec(conn, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		if (PQstatus(conn) == CONNECTION_BAD) {
			rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
					   "migration %04d_%s failed: database is unavailable",
					   m->version, m->name);
		} else {
			rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
					   "migration %04d_%s failed", m->version, m->name);
		}
		hcr_error_detail(err, "%s", primary ? primary : PQerrorMessage(conn));
		if (err)
			err->detail[strcspn(err->detail, "\n")] = '\0';
		goto done;
	}
	rc = hcr_store_query(conn, NULL,
			     "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
			     params, err);
	if (rc == HCR_OK)
		rc = hcr_store_commit(conn, err);
	if (rc != HCR_OK && err) {
		/* Keep the database's own explanation, but say which migration. */
		char what[sizeof(err->message)];

		snprintf(what, sizeof(what), "%s", err->message);
		snprintf(err->message, sizeof(err->message), "migration %04d_%s failed: %.400s",
			 m->version, m->name, what);
	}
done:
	if (rc != HCR_OK)
		hcr_store_rollback(conn);
	PQclear(res);
	return rc;
}

int hcr_migrate_run(PGconn *conn, int *applied, hcr_error *err)
{
	PGresult *res = NULL;
	bool locked = false;
	int rc, i, n = 0, newest;

	if (applied)
		*applied = 0;
	rc = hcr_store_query(conn, NULL, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
			     err);
	if (rc != HCR_OK)
		goto done;
	locked = true;
	/* Under the lock, checking first is race-free and spares the server's NOTICE. */
	rc = hcr_store_query(conn, &res, "SELECT to_regclass('schema_migrations') IS NULL", 0, NULL,
			     err);
	if (rc != HCR_OK)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		rc = hcr_store_query(conn, NULL, CREATE_TABLE, 0, NULL, err);
	PQclear(res);
	res = NULL;
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_query(conn, &res, "SELECT version FROM schema_migrations ORDER BY version",
			     0, NULL, err);
	if (rc != HCR_OK)
		goto done;
	newest = PQntuples(res) > 0 ? atoi(PQgetvalue(res, PQntuples(res) - 1, 0)) : 0;
	if (newest > hcr_migrate_latest()) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "database schema version %d is newer than this hcr (knows up "
				   "to %d)",
				   newest, hcr_migrate_latest());
		hcr_error_hint(err, "upgrade hcr to a version that knows this schema");
		goto done;
	}
	for (i = 0; i < hcr_migrations_count; i++) {
		const hcr_migration *m = &hcr_migrations[i];

		if (is_applied(res, m->version))
			continue;
		rc = apply_one(conn, m, err);
		if (rc != HCR_OK)
			goto done;
		n++;
		hcr_log_info("migrate", "applied migration version=%d name=%s", m->version,
			     m->name);
	}
	rc = HCR_OK;
done:
	if (locked)
		PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	if (applied)
		*applied = n;
	PQclear(res);
	return rc;
}

int hcr_migrate_current(PGconn *conn, int *out, hcr_error *err)
{
	PGresult *res = NULL;
	int rc;

	*out = 0;
	rc = hcr_store_query(conn, &res, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0,
			     NULL, err);
	if (rc != HCR_OK || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		goto done;
	PQclear(res);
	res = NULL;
	rc = hcr_store_query(conn, &res, "SELECT coalesce(max(version), 0) FROM schema_migrations",
			     0, NULL, err);
	if (rc == HCR_OK)
		*out = atoi(PQgetvalue(res, 0, 0));
done:
	PQclear(res);
	return rc;
}
