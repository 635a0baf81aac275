/*
 * /v1/credentials: store, list, show and delete cloud credentials. Secret
 * material goes in sealed and never comes out through the API.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "hcr/credentials.h"

int hcr_api_credentials_create(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	json_t *body = NULL, *out = NULL;
	hcr_credential_new c;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_api_body_object(req, &body, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_credential_parse(&c, body, req->api->key, err);
	if (rc == HCR_OK)
		rc = hcr_api_provider_enabled(req, c.provider, err);
	if (c.name)
		snprintf(req->target, sizeof(req->target), "credential:%s", c.name);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_credentials_insert(conn, &c, req->actor, &out, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		goto done;
	snprintf(resp->location, sizeof(resp->location), "/v1/credentials/%s", c.name);
	hcr_api_reply(resp, 201, out);
done:
	hcr_credential_new_free(&c);
	json_decref(body);
	return rc;
}

int hcr_api_credentials_list(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	return hcr_api_reply_items(req, resp, hcr_credentials_list, err);
}

int hcr_api_credentials_get(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	json_t *out = NULL;
	int rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_credentials_get(conn, req->params[0], &out, err);
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 200, out);
	return rc;
}

int hcr_api_credentials_delete(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	int rc;

	snprintf(req->target, sizeof(req->target), "credential:%s", req->params[0]);
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_credentials_delete(conn, req->params[0], err);
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 204, NULL);
	return rc;
}
