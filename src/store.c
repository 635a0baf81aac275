/*
 * The connection pool and the one function every query goes through.
 *
 * Slots are connected lazily, on first use, so that hcr starts even while the
 * database is down. A lent-out connection is checked without a round trip: a
 * server that restarted has closed the socket (often after a FATAL message),
 * so the socket polls readable; reading then shows the connection is gone and
 * the slot reconnects with PQreset. That keeps one pool working across a
 * PostgreSQL restart without anybody reopening it. See docs/store.md.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "hcr/error.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/store.h"

#define UNAVAILABLE_HINT "check that PostgreSQL is running and database.url is right"

typedef struct slot {
	PGconn *conn;
	bool in_use;
	bool healthy;
} slot;

struct hcr_store {
	char *conninfo;
	char timeout[16];
	int size;
	int timeout_s;
	slot *slots;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	hcr_store_stats stats; /* counters only; the gauges are computed on demand */
};

/* libpq's messages end with a newline; ours never do. */
static void detail_trimmed(hcr_error *err, const char *msg)
{
	size_t n;

	if (!err)
		return;
	hcr_error_detail(err, "%s", msg ? msg : "");
	n = strlen(err->detail);
	while (n > 0 && (err->detail[n - 1] == '\n' || err->detail[n - 1] == ' '))
		err->detail[--n] = '\0';
}

/* Replaces every occurrence of `secret` in `s` with asterisks. */
static void mask(char *s, const char *secret, size_t len)
{
	char *p;

	if (len == 0)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memset(p, '*', len);
		s = p + len;
	}
}

/*
 * libpq's parse errors quote the offending text, which may be the password
 * (an invalid percent-encoding in a URI's password, say). Masks the URI's
 * password and any password= value in `msg`.
 */
static void mask_password(char *msg, const char *conninfo)
{
	const char *p, *q, *end;

	if (strncmp(conninfo, "postgresql://", 13) == 0 ||
	    strncmp(conninfo, "postgres://", 11) == 0) {
		p = strstr(conninfo, "://") + 3;
		end = p + strcspn(p, "@/");
		q = memchr(p, ':', (size_t)(end - p));
		if (*end == '@' && q) {
			char *pw = hcr_strndup(q + 1, (size_t)(end - q - 1));

			mask(msg, pw, strlen(pw));
			free(pw);
		}
	}
	for (p = conninfo; (p = strstr(p, "password")) != NULL;) {
		p += 8;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t'");
		q = p + strcspn(p, " \t'&");
		if (q > p) {
			char *pw = hcr_strndup(p, (size_t)(q - p));

			mask(msg, pw, strlen(pw));
			free(pw);
		}
	}
}

int hcr_store_open(hcr_store **out, const char *conninfo, int size, int connect_timeout_s,
		   hcr_error *err)
{
	PQconninfoOption *opts;
	char *msg = NULL;
	hcr_store *s;

	*out = NULL;
	opts = PQconninfoParse(conninfo, &msg);
	if (!opts) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
			      "database.url is not a valid connection string");
		if (msg) {
			mask_password(msg, conninfo);
			detail_trimmed(err, msg);
		}
		PQfreemem(msg);
		return HCR_EINVALID;
	}
	PQconninfoFree(opts);
	s = hcr_calloc(1, sizeof(*s));
	s->conninfo = hcr_strdup(conninfo);
	s->size = size > 0 ? size : 1;
	s->timeout_s = connect_timeout_s > 0 ? connect_timeout_s : 1;
	snprintf(s->timeout, sizeof(s->timeout), "%d", s->timeout_s);
	s->slots = hcr_calloc((size_t)s->size, sizeof(*s->slots));
	pthread_mutex_init(&s->mu, NULL);
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &attr);
		pthread_condattr_destroy(&attr);
	}
	s->stats.size = s->size;
	*out = s;
	return HCR_OK;
}

void hcr_store_close(hcr_store *store)
{
	int i;

	if (!store)
		return;
	for (i = 0; i < store->size; i++)
		PQfinish(store->slots[i].conn);
	pthread_cond_destroy(&store->cv);
	pthread_mutex_destroy(&store->mu);
	free(store->slots);
	free(store->conninfo);
	free(store);
}

/* Server notices and warnings go to hcr's log, not to a bare stderr. */
static void notice_to_log(void *arg, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char quoted[512];

	(void)arg;
	if (severity && strcmp(severity, "WARNING") == 0)
		hcr_log_warn("store", "server warning text=%s",
			     hcr_log_quote(quoted, sizeof(quoted), msg ? msg : ""));
	else
		hcr_log_debug("store", "server notice text=%s",
			      hcr_log_quote(quoted, sizeof(quoted), msg ? msg : ""));
}

/*
 * The user's conninfo (expanded from "dbname") with our connect timeout on
 * top: later keywords override what the string said.
 */
static PGconn *connect_slot(hcr_store *store)
{
	const char *const keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
	const char *const values[] = {store->conninfo, store->timeout, "hcr", NULL};

	PGconn *conn = PQconnectdbParams(keys, values, 1);

	/* Kept across PQreset: the receiver belongs to the PGconn. */
	if (conn)
		PQsetNoticeReceiver(conn, notice_to_log, NULL);
	return conn;
}

/*
 * True when the connection still looks alive. Reads whatever the server sent
 * while the connection sat in the pool: nothing for a live server, a FATAL
 * message and end-of-file for one that went away.
 */
static bool still_alive(PGconn *conn)
{
	int i;

	for (i = 0; i < 4 && PQstatus(conn) == CONNECTION_OK; i++) {
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
		PGnotify *n;

		if (pfd.fd < 0 || poll(&pfd, 1, 0) < 0)
			return false;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			break;
		if (!PQconsumeInput(conn))
			return false;
		while ((n = PQnotifies(conn)) != NULL)
			PQfreemem(n);
	}
	return PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
}

/* Makes `sl` usable; sets *reconnected when an existing connection had to be renewed. */
static bool ensure_connected(hcr_store *store, slot *sl, bool *reconnected)
{
	*reconnected = false;
	if (!sl->conn) {
		sl->conn = connect_slot(store);
		return sl->conn && PQstatus(sl->conn) == CONNECTION_OK;
	}
	if (still_alive(sl->conn))
		return true;
	PQreset(sl->conn);
	if (PQstatus(sl->conn) != CONNECTION_OK)
		return false;
	*reconnected = true;
	return true;
}

static void deadline_after(struct timespec *ts, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += seconds;
}

/* Under the mutex: a free slot, preferring one already connected. */
static slot *free_slot(hcr_store *store)
{
	slot *best = NULL;
	int i;

	for (i = 0; i < store->size; i++) {
		slot *sl = &store->slots[i];

		if (sl->in_use)
			continue;
		if (sl->healthy)
			return sl;
		if (!best)
			best = sl;
	}
	return best;
}

int hcr_store_acquire(hcr_store *store, PGconn **out, hcr_error *err)
{
	struct timespec deadline;
	bool waited = false, reconnected, ok;
	slot *sl;

	*out = NULL;
	deadline_after(&deadline, store->timeout_s);
	pthread_mutex_lock(&store->mu);
	while ((sl = free_slot(store)) == NULL) {
		waited = true;
		if (pthread_cond_timedwait(&store->cv, &store->mu, &deadline) == ETIMEDOUT &&
		    (sl = free_slot(store)) == NULL)
			break;
	}
	if (waited)
		store->stats.waits++;
	if (!sl) {
		store->stats.timeouts++;
		pthread_mutex_unlock(&store->mu);
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "no database connection became free within %d s", store->timeout_s);
		hcr_error_detail(err, "all %d connections of the pool are in use", store->size);
		hcr_error_hint(err, "raise database.pool_size");
		return HCR_EUPSTREAM;
	}
	sl->in_use = true;
	pthread_mutex_unlock(&store->mu);

	/* Connecting may take up to the connect timeout: not under the mutex. */
	ok = ensure_connected(store, sl, &reconnected);
	if (!ok) {
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "database is unavailable");
		detail_trimmed(err, sl->conn ? PQerrorMessage(sl->conn) : "out of memory");
		hcr_error_hint(err, UNAVAILABLE_HINT);
	}

	pthread_mutex_lock(&store->mu);
	sl->healthy = ok;
	if (ok) {
		store->stats.acquires++;
		if (reconnected)
			store->stats.reconnects++;
		*out = sl->conn;
	} else {
		store->stats.errors++;
		sl->in_use = false;
		pthread_cond_signal(&store->cv);
	}
	pthread_mutex_unlock(&store->mu);
	if (reconnected)
		hcr_log_info("store", "reconnected to the database");
	return ok ? HCR_OK : HCR_EUPSTREAM;
}

void hcr_store_release(hcr_store *store, PGconn *conn)
{
	bool healthy;
	int i;

	if (!conn)
		return;
	/* A transaction left open by mistake must not leak into the next borrower. */
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		hcr_log_warn("store", "connection returned inside a transaction, rolling back");
		hcr_store_rollback(conn);
		break;
	case PQTRANS_ACTIVE:
		hcr_log_warn("store", "connection returned with a query in progress, resetting");
		PQreset(conn);
		break;
	default:
		break;
	}
	healthy = PQstatus(conn) == CONNECTION_OK;

	pthread_mutex_lock(&store->mu);
	for (i = 0; i < store->size; i++) {
		slot *sl = &store->slots[i];

		if (sl->conn != conn || !sl->in_use)
			continue;
		sl->in_use = false;
		if (sl->healthy && !healthy)
			store->stats.errors++; /* lost while lent out */
		sl->healthy = healthy;
		pthread_cond_signal(&store->cv);
		break;
	}
	pthread_mutex_unlock(&store->mu);
}

/* SQLSTATEs meaning the connection or the server went away. */
static bool is_connection_loss(const char *state)
{
	return state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
			 strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0);
}

/* Fills `err` from a failed result (NULL when libpq could not even make one). */
static int map_error(PGconn *conn, const PGresult *res, hcr_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *cname = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char tail[32] = "";
	int rc;

	if (state)
		snprintf(tail, sizeof(tail), " (SQLSTATE %s)", state);
	if (!cname)
		cname = "?";
	if (PQstatus(conn) == CONNECTION_BAD || is_connection_loss(state)) {
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "database is unavailable%s", tail);
		detail_trimmed(err, primary ? primary : PQerrorMessage(conn));
		hcr_error_hint(err, UNAVAILABLE_HINT);
		return rc;
	}
	if (!state)
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "database query failed");
	else if (strcmp(state, "23505") == 0)
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "duplicate value violates \"%s\"%s", cname, tail);
	else if (strcmp(state, "23503") == 0)
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "reference violates foreign key \"%s\"%s", cname, tail);
	else if (strcmp(state, "23514") == 0)
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "value violates check \"%s\"%s", cname, tail);
	else if (strncmp(state, "22", 2) == 0)
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "invalid value%s", tail);
	else
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "database query failed%s",
				   tail);
	detail_trimmed(err, primary ? primary : PQerrorMessage(conn));
	return rc;
}

int hcr_store_query(PGconn *conn, PGresult **out, const char *sql, int nparams,
		    const char *const *params, hcr_error *err)
{
	PGresult *res;
	ExecStatusType st;
	int rc;

	if (out)
		*out = NULL;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return HCR_OK;
	}
	rc = map_error(conn, res, err);
	PQclear(res);
	return rc;
}

int hcr_store_begin(PGconn *conn, hcr_error *err)
{
	return hcr_store_query(conn, NULL, "BEGIN", 0, NULL, err);
}

int hcr_store_commit(PGconn *conn, hcr_error *err)
{
	PGresult *res = NULL;
	int rc = hcr_store_query(conn, &res, "COMMIT", 0, NULL, err);

	/* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK. */
	if (rc == HCR_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "transaction was rolled back");
		hcr_error_detail(err, "a statement in the transaction failed before COMMIT");
	}
	PQclear(res);
	return rc;
}

void hcr_store_rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

bool hcr_store_ping(hcr_store *store, hcr_error *err)
{
	PGconn *conn;
	int rc;

	if (hcr_store_acquire(store, &conn, err) != HCR_OK)
		return false;
	rc = hcr_store_query(conn, NULL, "SELECT 1", 0, NULL, err);
	hcr_store_release(store, conn);
	return rc == HCR_OK;
}

void hcr_store_get_stats(hcr_store *store, hcr_store_stats *out)
{
	int i;

	pthread_mutex_lock(&store->mu);
	*out = store->stats;
	out->size = store->size;
	out->in_use = 0;
	out->connected = 0;
	for (i = 0; i < store->size; i++) {
		out->in_use += store->slots[i].in_use;
		out->connected += store->slots[i].healthy;
	}
	pthread_mutex_unlock(&store->mu);
}

char *hcr_store_strdup(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return hcr_strndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

json_t *hcr_store_json_cell(const PGresult *res, int row, int col)
{
	json_t *v;

	if (PQgetisnull(res, row, col))
		return json_null();
	v = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_null();
}

json_t *hcr_store_json_rows(const PGresult *res, int col, int limit)
{
	json_t *arr = json_array();
	int i, n = PQntuples(res);

	if (limit >= 0 && limit < n)
		n = limit;
	for (i = 0; i < n; i++)
		json_array_append_new(arr, hcr_store_json_cell(res, i, col));
	return arr;
}
