/*
 * /v1/tokens: admins create, list and revoke API tokens. A token's text is in
 * the response that creates it and nowhere else.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "hcr/json.h"
#include "hcr/names.h"
#include "hcr/tokens.h"

int hcr_api_tokens_create(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	static const char *const keys[] = {"name", "role", "expiresInSeconds", NULL};
	json_t *body = NULL, *out = NULL, *exp;
	const char *name, *role_name;
	hcr_role role;
	long long expires = 0;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_api_body_object(req, &body, err);
	if (rc != HCR_OK)
		return rc;
	if ((rc = hcr_json_only_keys(body, keys, "", err)) ||
	    (rc = hcr_json_req_string(&name, body, "name", "name", err)) ||
	    (rc = hcr_json_req_string(&role_name, body, "role", "role", err)))
		goto done;
	if (strlen(name) > 100) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"name\" must be at most 100 characters");
		goto done;
	}
	role = hcr_role_parse(role_name);
	if (role == HCR_ROLE_NONE) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"role\" must be \"viewer\", \"operator\" or \"admin\"");
		goto done;
	}
	exp = json_object_get(body, "expiresInSeconds");
	if (exp && !json_is_null(exp)) {
		if (!json_is_integer(exp) || json_integer_value(exp) < 60 ||
		    json_integer_value(exp) > 10LL * 366 * 86400) {
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					   "field \"expiresInSeconds\" must be an integer from 60 "
					   "to 316224000 (ten years)");
			goto done;
		}
		expires = json_integer_value(exp);
	}
	snprintf(req->target, sizeof(req->target), "token:%s", name);
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_tokens_create(conn, name, role, expires, req->actor, &out, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		goto done;
	snprintf(resp->location, sizeof(resp->location), "/v1/tokens/%s",
		 json_string_value(json_object_get(out, "id")));
	hcr_api_reply(resp, 201, out);
done:
	json_decref(body);
	return rc;
}

int hcr_api_tokens_list(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	return hcr_api_reply_items(req, resp, hcr_tokens_list, err);
}

int hcr_api_tokens_delete(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	int rc;

	snprintf(req->target, sizeof(req->target), "token:%s", req->params[0]);
	if (!hcr_uuid_valid(req->params[0])) {
		hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "token %s does not exist",
			      req->params[0]);
		hcr_error_hint(err, "token ids are UUIDs; list them with GET /v1/tokens");
		return HCR_ENOTFOUND;
	}
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_tokens_revoke(conn, req->params[0], err);
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 204, NULL);
	return rc;
}
