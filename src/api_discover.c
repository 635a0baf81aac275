/*
 * Requests that ask a cloud directly, outside the reconciler:
 *   POST /v1/discover                         the clusters a credential can see, marked
 *                                             with the hcr cluster each is registered as
 *   POST /v1/clusters/{id}/kube-credentials   a short-lived credential for the cluster's
 *                                             Kubernetes API (and a kubeconfig using it)
 * Both run one provider call on the request's thread (hcr/provider_run.h). A
 * cloud's refusal is reported as the cloud's, never as hcr's own 401 / 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "hcr/clusters.h"
#include "hcr/credentials.h"
#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_targets.h"
#include "hcr/mem.h"
#include "hcr/provider_run.h"

/*
 * Opens credential `name`. `provider` may be NULL: the credential's own
 * provider is then used. `kind` receives the credential's provider.
 */
static int open_credential(hcr_req *req, PGconn *conn, const char *name, const char *provider,
			   json_t **secret, char kind[8], hcr_error *err)
{
	int rc = hcr_credentials_open(conn, name, req->api->key, secret, kind, err);

	if (rc == HCR_ENOTFOUND) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"credential\": credential \"%s\" does not exist", name);
		hcr_error_hint(err, "GET /v1/credentials lists them");
		return HCR_EINVALID;
	}
	if (rc == HCR_OK && provider && strcmp(kind, provider) != 0) {
		json_decref(*secret);
		*secret = NULL;
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"credential\": credential \"%s\" is for %s, not %s", name,
			      kind, provider);
		return HCR_EINVALID;
	}
	return rc;
}

/* Marks each discovered cluster with the hcr cluster registered for it, if any. */
static int mark_registered(PGconn *conn, const char *provider, json_t *clusters, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {provider};
	size_t i;
	json_t *item;
	int rc, row;

	rc = hcr_store_query(conn, &res,
			     "SELECT id, name, cloud_name, coalesce(region, ''), "
			     "coalesce(location, ''), coalesce(resource_group, ''), "
			     "coalesce(project, '') FROM clusters WHERE provider = $1",
			     1, params, err);
	if (rc != HCR_OK)
		return rc;
	json_array_foreach(clusters, i, item)
	{
		const char *cloud = json_string_value(json_object_get(item, "cloudName"));
		const char *loc[4] = {"region", "location", "resourceGroup", "project"};
		json_t *match = NULL;

		for (row = 0; cloud && row < PQntuples(res) && !match; row++) {
			bool same = strcmp(PQgetvalue(res, row, 2), cloud) == 0;
			int k;

			for (k = 0; same && k < 4; k++) {
				const char *v = json_string_value(json_object_get(item, loc[k]));

				same = !v || !*PQgetvalue(res, row, 3 + k) ||
				       strcmp(v, PQgetvalue(res, row, 3 + k)) == 0;
			}
			if (same)
				match = json_pack("{s:s, s:s}", "id", PQgetvalue(res, row, 0),
						  "name", PQgetvalue(res, row, 1));
		}
		json_object_set_new(item, "registered", json_boolean(match != NULL));
		if (match)
			json_object_set_new(item, "cluster", match);
	}
	PQclear(res);
	return HCR_OK;
}

static int cmp_cloud_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "cloudName"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "cloudName"));

	return strcmp(x ? x : "", y ? y : "");
}

/* The provider's list, sorted by cloud name (a new array of copies). */
static json_t *sorted_clusters(json_t *list)
{
	json_t *in = json_object_get(list, "clusters"), *out = json_array();
	size_t i, n = json_array_size(in);
	json_t **items = n ? hcr_calloc(n, sizeof(json_t *)) : NULL;

	for (i = 0; i < n; i++)
		items[i] = json_array_get(in, i);
	if (n)
		qsort((void *)items, n, sizeof(json_t *), cmp_cloud_name);
	for (i = 0; i < n; i++)
		if (json_is_object(items[i]))
			json_array_append_new(out, json_deep_copy(items[i]));
	free(items);
	return out;
}

int hcr_api_discover(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	static const char *const keys[] = {"provider",      "credential", "region", "location",
					   "resourceGroup", "project",    NULL};
	json_t *body = NULL, *secret = NULL, *list = NULL, *clusters = NULL;
	const char *provider = NULL, *credential = NULL;
	char kind[8] = "";
	const hcr_provider_ops *ops;
	hcr_cluster_ref scope = {0};
	hcr_error cloud;
	PGconn *conn = NULL;
	int rc;

	rc = hcr_api_body_object(req, &body, err);
	if (rc != HCR_OK)
		return rc;
	if ((rc = hcr_json_only_keys(body, keys, "", err)) ||
	    (rc = hcr_json_opt_string(&provider, body, "provider", "provider", err)) ||
	    (rc = hcr_json_req_string(&credential, body, "credential", "credential", err)) ||
	    (rc = hcr_json_opt_string(&scope.region, body, "region", "region", err)) ||
	    (rc = hcr_json_opt_string(&scope.location, body, "location", "location", err)) ||
	    (rc = hcr_json_opt_string(&scope.resource_group, body, "resourceGroup", "resourceGroup",
				      err)) ||
	    (rc = hcr_json_opt_string(&scope.project, body, "project", "project", err)))
		goto done;
	snprintf(req->target, sizeof(req->target), "credential:%s", credential);
	/* Without "provider", the credential's provider is the one to ask. */
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = open_credential(req, conn, credential, provider, &secret, kind, err);
	/* No database connection is held while the cloud answers. */
	hcr_store_release(req->api->store, conn);
	conn = NULL;
	if (rc != HCR_OK)
		goto done;
	if (!provider)
		provider = kind;
	rc = hcr_api_provider_enabled(req, provider, err);
	if (rc != HCR_OK)
		goto done;
	ops = hcr_provider_lookup(provider);
	if (!ops || !ops->list) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"provider\": discovery is not available for \"%s\"",
				   provider);
		hcr_error_hint(err, "providers with discovery: eks, aks, gke");
		goto done;
	}
	if ((strcmp(provider, "eks") == 0 || strcmp(provider, "fake") == 0) && !scope.region) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"region\" is required for %s discovery", provider);
		hcr_error_hint(err, "EKS lists clusters one region at a time, e.g. \"eu-west-1\"");
		goto done;
	}
	scope.secret = secret;
	scope.cloud_name = "";
	rc = hcr_provider_run(&list, ops, req->api->cfg, HCR_CALL_LIST, &scope, &cloud);
	json_decref(secret);
	secret = NULL;
	if (rc != HCR_OK) {
		rc = hcr_cloud_error(err, rc, &cloud, provider, credential);
		goto done;
	}
	clusters = sorted_clusters(list);
	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc == HCR_OK)
		rc = mark_registered(conn, provider, clusters, err);
	if (conn)
		hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		goto done;
	hcr_api_reply(resp, 200,
		      json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:O}", "provider", provider,
				"credential", credential, "region", scope.region, "location",
				scope.location, "resourceGroup", scope.resource_group, "project",
				scope.project, "clusters", clusters));
done:
	json_decref(clusters);
	json_decref(list);
	json_decref(secret);
	json_decref(body);
	return rc;
}

/* ---- Kubernetes API credentials -------------------------------------------------------- */

/* A kubeconfig for one cluster and one bearer token. Every value is quoted for YAML. */
static char *kubeconfig(const char *name, json_t *creds)
{
	const char *server = json_string_value(json_object_get(creds, "server"));
	const char *ca = json_string_value(json_object_get(creds, "certificateAuthorityData"));
	const char *token = json_string_value(json_object_get(creds, "token"));
	json_t *n = json_string(name), *s = json_string(server ? server : ""),
	       *t = json_string(token ? token : ""), *c = ca ? json_string(ca) : NULL;
	/* JSON strings are valid YAML double-quoted scalars. */
	char *qn = json_dumps(n, JSON_ENCODE_ANY), *qs = json_dumps(s, JSON_ENCODE_ANY),
	     *qt = json_dumps(t, JSON_ENCODE_ANY), *qc = c ? json_dumps(c, JSON_ENCODE_ANY) : NULL;
	char *out = hcr_sprintf("apiVersion: v1\n"
				"kind: Config\n"
				"clusters:\n"
				"- name: %s\n"
				"  cluster:\n"
				"    server: %s\n"
				"%s%s%s"
				"users:\n"
				"- name: %s\n"
				"  user:\n"
				"    token: %s\n"
				"contexts:\n"
				"- name: %s\n"
				"  context:\n"
				"    cluster: %s\n"
				"    user: %s\n"
				"current-context: %s\n",
				qn, qs, qc ? "    certificate-authority-data: " : "", qc ? qc : "",
				qc ? "\n" : "", qn, qt, qn, qn, qn, qn);

	if (qt)
		hcr_crypto_wipe(qt, strlen(qt));
	free(qn);
	free(qs);
	free(qt);
	free(qc);
	json_decref(n);
	json_decref(s);
	json_decref(t);
	json_decref(c);
	return out;
}

int hcr_api_kube_credentials(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	json_t *cluster = NULL, *creds = NULL;
	const char *name;
	char *config;
	int rc;

	snprintf(req->target, sizeof(req->target), "cluster:%s", req->params[0]);
	rc = hcr_cluster_kube_credentials(&creds, &cluster, req->api->store, req->api->cfg,
					  req->api->key, req->params[0], err);
	if (rc != HCR_OK)
		return rc;
	name = json_string_value(json_object_get(cluster, "name"));
	snprintf(req->target, sizeof(req->target), "cluster:%s", name);
	config = kubeconfig(name, creds);
	json_object_set_new(creds, "kubeconfig", json_string(config));
	hcr_crypto_wipe(config, strlen(config));
	free(config);
	hcr_api_reply(resp, 200, creds);
	json_decref(cluster);
	return HCR_OK;
}
