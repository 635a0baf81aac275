/*
 * Forward-only schema migrations. The SQL in schema/NNNN_name.sql is compiled
 * into the binary (scripts/embed-schema.sh), so hcr can migrate a database
 * without its source tree.
 */
#ifndef HCR_MIGRATE_H
#define HCR_MIGRATE_H

#include <libpq-fe.h>

#include "hcr/error.h"

typedef struct hcr_migration {
	int version;
	const char *name;
	const char *sql;
} hcr_migration;

/* Generated: every migration, in ascending version order. */
extern const hcr_migration hcr_migrations[];
extern const int hcr_migrations_count;

/* The newest version this binary knows. */
int hcr_migrate_latest(void);

/*
 * Applies every migration not yet recorded in schema_migrations, each in its
 * own transaction, under a session advisory lock so two processes never
 * migrate at once (the second waits, then finds nothing to do). `*applied`
 * (may be NULL) receives how many were applied. A database whose schema is
 * newer than this binary fails with a message saying so.
 */
int hcr_migrate_run(PGconn *conn, int *applied, hcr_error *err);

/*
 * The newest applied version in *out (0 when none). Fails with
 * HCR_EUPSTREAM when the database cannot be queried.
 */
int hcr_migrate_current(PGconn *conn, int *out, hcr_error *err);

#endif
