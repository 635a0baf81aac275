/*
 * API tokens in the store. The token text exists only in the response that
 * creates it; the table keeps its SHA-256. Revoking the last active admin
 * token is refused so that an installation cannot lock itself out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/tokens.h"
#include "store_sql.h"

#define TOKEN_JSON                                                                                 \
	"jsonb_strip_nulls(jsonb_build_object('id', id, 'name', name, 'role', role, "              \
	"'createdBy', created_by, 'createdAt', " HCR_SQL_TS(                                       \
		"created_at") ", "                                                                 \
			      "'expiresAt', " HCR_SQL_TS("expires_at") ", "                        \
								       "'lastUsedAt',"             \
								       " " HCR_SQL_TS("last_used_" \
										      "at") "))"

#define ACTIVE "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"

int hcr_tokens_authenticate(hcr_store *store, const char *token, hcr_token_identity *out,
			    hcr_error *err)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char hash[65];
	const char *params[1] = {hash};
	int rc;

	memset(out, 0, sizeof(*out));
	hcr_token_hash(hash, token);
	rc = hcr_store_acquire(store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	/*
	 * One statement: find the token and, at most once a minute, note its use.
	 * The CTE's UPDATE touches no row on most requests.
	 */
	rc = hcr_store_query(conn, &res,
			     "WITH t AS (SELECT id, name, role, last_used_at FROM api_tokens "
			     "           WHERE token_hash = $1 AND " ACTIVE "), "
			     "u AS (UPDATE api_tokens SET last_used_at = now() "
			     "      WHERE id IN (SELECT id FROM t WHERE last_used_at IS NULL "
			     "                   OR last_used_at < now() - interval '60 seconds')) "
			     "SELECT id, name, role FROM t",
			     1, params, err);
	if (rc != HCR_OK)
		goto done;
	if (PQntuples(res) != 1) {
		rc = hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_UNAUTHORIZED, "unknown token");
		goto done;
	}
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 1));
	out->role = hcr_role_parse(PQgetvalue(res, 0, 2));
done:
	PQclear(res);
	hcr_store_release(store, conn);
	return rc;
}

int hcr_tokens_create(PGconn *conn, const char *name, hcr_role role, long long expires_in_s,
		      const char *created_by, json_t **out, hcr_error *err)
{
	char token[HCR_TOKEN_LEN + 1], hash[65], expires[32];
	const char *params[5];
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	rc = hcr_token_generate(token, err);
	if (rc != HCR_OK)
		return rc;
	hcr_token_hash(hash, token);
	snprintf(expires, sizeof(expires), "%lld", expires_in_s);
	params[0] = name;
	params[1] = hcr_role_name(role);
	params[2] = hash;
	params[3] = created_by;
	params[4] = expires_in_s > 0 ? expires : NULL;
	rc = hcr_store_query(
		conn, &res,
		"INSERT INTO api_tokens (name, role, token_hash, created_by, expires_at) "
		"VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::bigint)) "
		"RETURNING " TOKEN_JSON,
		5, params, err);
	if (rc == HCR_OK) {
		*out = hcr_store_json_cell(res, 0, 0);
		json_object_set_new(*out, "token", json_string(token));
	}
	hcr_crypto_wipe(token, sizeof(token));
	PQclear(res);
	return rc;
}

int hcr_tokens_list(PGconn *conn, json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	rc = hcr_store_query(conn, &res,
			     "SELECT " TOKEN_JSON " FROM api_tokens WHERE revoked_at IS NULL "
			     "ORDER BY created_at, id",
			     0, NULL, err);
	if (rc != HCR_OK)
		return rc;
	*out = hcr_store_json_rows(res, 0, -1);
	PQclear(res);
	return HCR_OK;
}

int hcr_tokens_count_admins(PGconn *conn, int *out, hcr_error *err)
{
	PGresult *res = NULL;
	int rc;

	*out = 0;
	rc = hcr_store_query(conn, &res,
			     "SELECT count(*) FROM api_tokens WHERE role = 'admin' AND " ACTIVE, 0,
			     NULL, err);
	if (rc == HCR_OK)
		*out = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int hcr_tokens_revoke(PGconn *conn, const char *id, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {id};
	int rc, admins = 0, i;
	bool is_admin = false, found = false;

	rc = hcr_store_begin(conn, err);
	if (rc != HCR_OK)
		return rc;
	/* Lock the active admin tokens so two revocations cannot both pass the check. */
	rc = hcr_store_query(conn, &res,
			     "SELECT id::text FROM api_tokens WHERE role = 'admin' AND " ACTIVE
			     " FOR UPDATE",
			     0, NULL, err);
	if (rc != HCR_OK)
		goto done;
	admins = PQntuples(res);
	for (i = 0; i < admins; i++)
		if (strcmp(PQgetvalue(res, i, 0), id) == 0)
			is_admin = true;
	PQclear(res);
	res = NULL;
	if (is_admin && admins <= 1) {
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "token %s is the last active admin token", id);
		hcr_error_hint(err, "create another admin token first (POST /v1/tokens)");
		goto done;
	}
	rc = hcr_store_query(conn, &res,
			     "UPDATE api_tokens SET revoked_at = now() "
			     "WHERE id = $1::uuid AND revoked_at IS NULL RETURNING id",
			     1, params, err);
	if (rc != HCR_OK)
		goto done;
	found = PQntuples(res) == 1;
	if (!found) {
		rc = hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				   "token %s does not exist or is already revoked", id);
		goto done;
	}
	rc = hcr_store_commit(conn, err);
done:
	PQclear(res);
	if (rc != HCR_OK)
		hcr_store_rollback(conn);
	return rc;
}
