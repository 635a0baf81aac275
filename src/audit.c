/*
 * The audit log. Written after the response is queued, so an audit write
 * never delays or changes the answer; a failed write is logged by the caller.
 */
#include <stdio.h>

#include "hcr/audit.h"
#include "store_sql.h"

int hcr_audit_write(hcr_store *store, const hcr_audit_entry *e, hcr_error *err)
{
	PGconn *conn = NULL;
	char status[16];
	const char *params[10];
	int rc;

	snprintf(status, sizeof(status), "%d", e->status);
	params[0] = e->request_id;
	params[1] = e->token_id;
	params[2] = e->actor;
	params[3] = e->role;
	params[4] = e->method;
	params[5] = e->path;
	params[6] = e->target;
	params[7] = status;
	params[8] = e->outcome;
	params[9] = e->remote_addr;
	rc = hcr_store_acquire(store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_query(
		conn, NULL,
		"INSERT INTO audit_log (request_id, token_id, actor, role, method, path, "
		"target, status, outcome, remote_addr) "
		"VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8::int, $9, $10)",
		10, params, err);
	hcr_store_release(store, conn);
	return rc;
}

int hcr_audit_recent(PGconn *conn, int limit, json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	char lim[16];
	const char *params[1] = {lim};
	int rc;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	rc = hcr_store_query(
		conn, &res,
		"SELECT jsonb_strip_nulls(jsonb_build_object('at', " HCR_SQL_TS(
			"at") ", 'requestId', request_id, 'tokenId', token_id, 'actor', actor, "
			      "'role', role, 'method', method, 'path', path, 'target', target, "
			      "'status', status, 'outcome', outcome)) "
			      "FROM audit_log ORDER BY id DESC LIMIT $1::int",
		1, params, err);
	if (rc != HCR_OK)
		return rc;
	*out = hcr_store_json_rows(res, 0, -1);
	PQclear(res);
	return HCR_OK;
}
