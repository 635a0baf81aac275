/*
 * The store: hcr's only way to PostgreSQL. A small pool of libpq connections
 * shared by threads, parameterised queries only, SQLSTATEs mapped onto hcr
 * statuses, and reconnection after the server restarts.
 *
 * Domain queries live beside their rules: src/clusters.c, src/credentials.c,
 * src/tokens.c and src/audit.c, declared in their own headers.
 */
#ifndef HCR_STORE_H
#define HCR_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "hcr/error.h"

typedef struct hcr_store hcr_store;

typedef struct hcr_store_stats {
	int size;                      /* connections in the pool */
	int in_use;                    /* currently lent out */
	int connected;                 /* healthy at last check */
	unsigned long long acquires;   /* successful acquisitions */
	unsigned long long waits;      /* acquisitions that had to wait for a free connection */
	unsigned long long timeouts;   /* acquisitions that gave up waiting */
	unsigned long long reconnects; /* successful reconnections */
	unsigned long long errors; /* queries that failed because the database was unreachable */
} hcr_store_stats;

/*
 * Opens a pool of `size` connections to `conninfo` (a libpq keyword string or
 * URI). Connections are made lazily; open fails only for a conninfo that libpq
 * cannot parse. `connect_timeout_s` bounds each connection attempt.
 * *out is new; free with hcr_store_close.
 */
int hcr_store_open(hcr_store **out, const char *conninfo, int size, int connect_timeout_s,
		   hcr_error *err);
void hcr_store_close(hcr_store *store);

/*
 * Borrows a healthy connection: waits (up to the connect timeout) for a free
 * one, checks it is still alive (a server restart is noticed here without a
 * round trip) and reconnects if not. Fails with HCR_EUPSTREAM /
 * "unavailable" when the database cannot be reached.
 */
int hcr_store_acquire(hcr_store *store, PGconn **out, hcr_error *err);

/* Returns a connection to the pool. */
void hcr_store_release(hcr_store *store, PGconn *conn);

/*
 * Runs one parameterised statement (text parameters; NULL = SQL NULL).
 * On success *out (may be NULL to discard) is a new PGresult to PQclear.
 * Errors map as:
 *   23505 unique_violation          -> HCR_ECONFLICT  "conflict"
 *   23503 foreign_key_violation     -> HCR_ECONFLICT  "conflict"
 *   22xxx / 23514 data / check      -> HCR_EINVALID   "invalid"
 *   connection lost / unreachable   -> HCR_EUPSTREAM  "unavailable"
 *   anything else                   -> HCR_ERROR      "internal"
 * with the server's message in detail and the SQLSTATE in the message tail.
 */
int hcr_store_query(PGconn *conn, PGresult **out, const char *sql, int nparams,
		    const char *const *params, hcr_error *err);

/* Runs BEGIN / COMMIT / ROLLBACK (ROLLBACK ignores errors). */
int hcr_store_begin(PGconn *conn, hcr_error *err);
int hcr_store_commit(PGconn *conn, hcr_error *err);
void hcr_store_rollback(PGconn *conn);

/* True when the database answers a trivial query now. */
bool hcr_store_ping(hcr_store *store, hcr_error *err);

void hcr_store_get_stats(hcr_store *store, hcr_store_stats *out);

/*
 * Parses a result cell holding JSON (built by the query with jsonb_build_object
 * and friends). Returns a new reference, or JSON null for SQL NULL.
 */
json_t *hcr_store_json_cell(const PGresult *res, int row, int col);

/* A new JSON array of column `col` of the first `limit` rows (all when limit < 0). */
json_t *hcr_store_json_rows(const PGresult *res, int col, int limit);

/*
 * Copies a result cell: a new string, or NULL for SQL NULL.
 */
char *hcr_store_strdup(const PGresult *res, int row, int col);

#endif
