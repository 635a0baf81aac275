/*
 * /v1/clusters: register, list, show and forget clusters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "hcr/clusters.h"
#include "hcr/engine.h"
#include "hcr/provider.h"

static void set_etag(hcr_resp *resp, long long version)
{
	snprintf(resp->etag, sizeof(resp->etag), "\"%lld\"", version);
}

int hcr_api_clusters_create(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	json_t *body = NULL, *out = NULL;
	hcr_cluster_new c;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_api_body_object(req, &body, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_cluster_parse(&c, body, err);
	if (rc == HCR_OK)
		rc = hcr_api_provider_enabled(req, c.provider, err);
	if (rc != HCR_OK)
		goto done;
	{
		const hcr_provider_ops *ops = hcr_provider_lookup(c.provider);

		c.cat = ops ? ops->catalog : NULL;
		/*
		 * What the cloud would surely refuse is refused now, before anything is
		 * stored, after the engine's own checks of the document.
		 */
		if (ops && !ops->create && !c.imported) {
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					   "field \"imported\": hcr cannot create %s clusters yet",
					   c.provider);
			hcr_error_hint(err, "create it with the cloud's own tools, then register "
					    "it with \"imported\": true");
		} else if (ops && ops->check_create && !c.imported) {
			hcr_fieldset fs = {0};

			rc = hcr_engine_init_created(&fs, c.cat, c.config, 0, NULL, err);
			hcr_fieldset_free(&fs);
			if (rc == HCR_OK)
				rc = ops->check_create(c.config, err);
		}
	}
	if (rc != HCR_OK)
		goto done;
	snprintf(req->target, sizeof(req->target), "cluster:%s", c.name);
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_clusters_insert(conn, &c, req->actor, &out, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		goto done;
	set_etag(resp, json_integer_value(json_object_get(out, "version")));
	snprintf(resp->location, sizeof(resp->location), "/v1/clusters/%s",
		 json_string_value(json_object_get(out, "id")));
	hcr_api_reply(resp, 201, out);
done:
	json_decref(body);
	return rc;
}

static int parse_limit(const char *s, int *out, hcr_error *err)
{
	char *end;
	long v;

	*out = 50;
	if (!s)
		return HCR_OK;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 500)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
				     "query parameter \"limit\" must be an integer from 1 to 500");
	*out = (int)v;
	return HCR_OK;
}

int hcr_api_clusters_list(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	hcr_cluster_filter f = {0};
	PGconn *conn = NULL;
	json_t *out = NULL;
	int rc;

	f.provider = hcr_api_query(req, "provider");
	f.name_prefix = hcr_api_query(req, "name_prefix");
	f.after = hcr_api_query(req, "cursor");
	if (f.provider && strcmp(f.provider, "eks") != 0 && strcmp(f.provider, "aks") != 0 &&
	    strcmp(f.provider, "gke") != 0 && strcmp(f.provider, "fake") != 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
				     "query parameter \"provider\" must be eks, aks, gke or fake");
	rc = parse_limit(hcr_api_query(req, "limit"), &f.limit, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_clusters_list(conn, &f, &out, err);
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 200, out);
	return rc;
}

int hcr_api_clusters_get(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	json_t *out = NULL;
	long long version = 0;
	int rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_api_cluster_view(conn, req->params[0], &out, &version, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		return rc;
	set_etag(resp, version);
	hcr_api_reply(resp, 200, out);
	return HCR_OK;
}

int hcr_api_clusters_delete(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	long long if_match;
	const char *retain_arg = hcr_api_query(req, "retain");
	bool retain = false;
	char name[128] = "";
	bool deleting = false;
	int rc;

	rc = hcr_api_if_match(req, &if_match, err);
	if (rc != HCR_OK)
		return rc;
	if (retain_arg) {
		if (strcmp(retain_arg, "true") != 0 && strcmp(retain_arg, "false") != 0)
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
					     "query parameter \"retain\" must be true or false");
		retain = strcmp(retain_arg, "true") == 0;
	}
	snprintf(req->target, sizeof(req->target), "cluster:%s", req->params[0]);
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_clusters_delete(conn, req->params[0], if_match, retain, name, sizeof(name),
				 &deleting, err);
	if (rc == HCR_OK && deleting) {
		json_t *out = NULL;
		long long version = 0;

		/* Accepted: the reconciler deletes it in its cloud, then forgets it. */
		rc = hcr_clusters_get(conn, name, &out, &version, err);
		if (rc == HCR_ENOTFOUND) {
			rc = HCR_OK;
			hcr_api_reply(resp, 204, NULL);
		} else if (rc == HCR_OK) {
			set_etag(resp, version);
			hcr_api_reply(resp, 202, out);
		}
	} else if (rc == HCR_OK) {
		hcr_api_reply(resp, 204, NULL);
	}
	hcr_store_release(req->api->store, conn);
	if (name[0])
		snprintf(req->target, sizeof(req->target), "cluster:%s", name);
	return rc;
}
