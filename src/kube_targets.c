/*
 * Finding a cluster's Kubernetes API by name: a registered cluster (through
 * its provider's kube_credentials) or a kubeconfig context. See
 * hcr/kube_targets.h.
 */
#include <stdio.h>
#include <string.h>

#include "hcr/clusters.h"
#include "hcr/credentials.h"
#include "hcr/kube_targets.h"
#include "hcr/mem.h"
#include "hcr/provider_run.h"

int hcr_cloud_error(hcr_error *err, int rc, const hcr_error *cloud, const char *provider,
		    const char *credential)
{
	char detail[sizeof(cloud->detail)];
	char message[sizeof(cloud->message)];

	snprintf(detail, sizeof(detail), "%s", cloud->detail);
	snprintf(message, sizeof(message), "%s", cloud->message);
	if (rc == HCR_EUPSTREAM || rc == HCR_ERROR || rc == HCR_OK) {
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "%s did not answer: %s",
			      provider, message);
		hcr_error_hint(err, "try again; if it persists, check the provider's endpoint and "
				    "hcr's outbound network");
	} else if (rc == HCR_EDENIED) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "%s refused credential \"%s\": %s", provider, credential, message);
		hcr_error_hint(err, "check the credential's keys and its permissions "
				    "(docs/providers/)");
	} else {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "%s refused the request: %s",
			      provider, message);
	}
	snprintf(err->detail, sizeof(err->detail), "%s", detail);
	return rc == HCR_EUPSTREAM || rc == HCR_ERROR || rc == HCR_OK ? HCR_EUPSTREAM
								      : HCR_EINVALID;
}

/* The cluster's row and its credential's secret, in one borrowed connection. */
static int cluster_and_secret(hcr_store *store, const hcr_master_key *key, const char *cluster,
			      json_t **row, json_t **secret, hcr_error *err)
{
	PGconn *conn = NULL;
	const char *provider, *credential;
	const hcr_provider_ops *ops;
	char kind[8] = "";
	int rc = hcr_store_acquire(store, &conn, err);

	if (rc != HCR_OK)
		return rc;
	rc = hcr_clusters_get(conn, cluster, row, NULL, err);
	if (rc != HCR_OK)
		goto done;
	provider = json_string_value(json_object_get(*row, "provider"));
	credential = json_string_value(json_object_get(*row, "credential"));
	if (!provider)
		provider = "";
	if (!credential)
		credential = "";
	ops = hcr_provider_lookup(provider);
	if (!ops || !ops->kube_credentials) {
		rc = hcr_error_set(
			err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
			"%s clusters have no Kubernetes credentials in this build of hcr",
			provider ? provider : "these");
		goto done;
	}
	rc = hcr_credentials_open(conn, credential, key, secret, kind, err);
	if (rc == HCR_ENOTFOUND) {
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "cluster \"%s\" names credential \"%s\", which does not exist",
				   cluster, credential);
		hcr_error_hint(err, "store it again with POST /v1/credentials");
	} else if (rc == HCR_OK && strcmp(kind, provider) != 0) {
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   "credential \"%s\" is for %s, not %s", credential, kind,
				   provider);
	}
done:
	hcr_store_release(store, conn);
	if (rc != HCR_OK) {
		json_decref(*secret);
		*secret = NULL;
	}
	return rc;
}

int hcr_cluster_kube_credentials(json_t **out, json_t **row, hcr_store *store,
				 const hcr_config *cfg, const hcr_master_key *key,
				 const char *cluster, hcr_error *err)
{
	json_t *c = NULL, *secret = NULL;
	hcr_cluster_ref ref = {0};
	hcr_error cloud;
	const char *provider;
	int rc;

	*out = NULL;
	if (row)
		*row = NULL;
	if (!store || !key)
		return hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				     "no registered clusters here to find \"%s\" in", cluster);
	rc = cluster_and_secret(store, key, cluster, &c, &secret, err);
	if (rc != HCR_OK)
		goto done;
	provider = json_string_value(json_object_get(c, "provider"));
	ref.id = json_string_value(json_object_get(c, "id"));
	ref.name = json_string_value(json_object_get(c, "name"));
	ref.cloud_name = json_string_value(json_object_get(c, "cloudName"));
	ref.region = json_string_value(json_object_get(c, "region"));
	ref.location = json_string_value(json_object_get(c, "location"));
	ref.resource_group = json_string_value(json_object_get(c, "resourceGroup"));
	ref.project = json_string_value(json_object_get(c, "project"));
	ref.secret = secret;
	rc = hcr_provider_run(out, hcr_provider_lookup(provider), cfg, HCR_CALL_KUBE_CREDENTIALS,
			      &ref, &cloud);
	if (rc != HCR_OK)
		rc = hcr_cloud_error(err, rc, &cloud, provider,
				     json_string_value(json_object_get(c, "credential")));
done:
	json_decref(secret);
	if (rc == HCR_OK && row)
		*row = c;
	else
		json_decref(c);
	return rc;
}

static int open_cluster(hcr_kube **out, const hcr_kube_targets *t, const char *name, hcr_error *err)
{
	json_t *creds = NULL, *row = NULL;
	char display[300];
	int rc = hcr_cluster_kube_credentials(&creds, &row, t->store, t->cfg, t->key, name, err);

	if (rc != HCR_OK)
		return rc;
	snprintf(display, sizeof(display), "%s", json_string_value(json_object_get(row, "name")));
	rc = hcr_kube_open_creds(out, display, creds, t->opts, err);
	{
		json_t *tok = json_object_get(creds, "token");

		if (json_is_string(tok))
			hcr_crypto_wipe((char *)json_string_value(tok), json_string_length(tok));
	}
	json_decref(creds);
	json_decref(row);
	return rc;
}

/* Whether registered cluster `name` exists (errors count as "no"). */
static bool has_cluster(const hcr_kube_targets *t, const char *name)
{
	PGconn *conn = NULL;
	json_t *row = NULL;
	hcr_error ignored;
	bool found = false;

	if (!t->store || hcr_store_acquire(t->store, &conn, &ignored) != HCR_OK)
		return false;
	found = hcr_clusters_get(conn, name, &row, NULL, &ignored) == HCR_OK;
	hcr_store_release(t->store, conn);
	json_decref(row);
	return found;
}

int hcr_kube_target_open(hcr_kube **out, const hcr_kube_targets *t, const char *name,
			 hcr_error *err)
{
	bool ctx, cl;

	*out = NULL;
	if (!name || !*name)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "a cluster name is required");
	if (strncmp(name, "cluster:", 8) == 0)
		return open_cluster(out, t, name + 8, err);
	if (strncmp(name, "context:", 8) == 0) {
		if (!hcr_kubeconfig_has_context(t->kubeconfig, name + 8)) {
			hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				      "no kubeconfig context \"%s\"", name + 8);
			hcr_error_hint(err, "%s",
				       t->kubeconfig ? "kubectl config get-contexts lists them"
						     : "no kubeconfig is configured here");
			return HCR_ENOTFOUND;
		}
		return hcr_kube_open(out, t->kubeconfig, name + 8, t->opts, err);
	}
	ctx = hcr_kubeconfig_has_context(t->kubeconfig, name);
	cl = has_cluster(t, name);
	if (ctx && cl) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "\"%s\" is both a registered cluster and a kubeconfig context", name);
		hcr_error_hint(err, "say which: \"cluster:%s\" or \"context:%s\"", name, name);
		return HCR_EINVALID;
	}
	if (ctx)
		return hcr_kube_open(out, t->kubeconfig, name, t->opts, err);
	if (cl)
		return open_cluster(out, t, name, err);
	hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
		      "no registered cluster or kubeconfig context is named \"%s\"", name);
	hcr_error_hint(err, "hcr clusters ls lists registered clusters%s",
		       t->kubeconfig ? "; kubectl config get-contexts lists contexts" : "");
	return HCR_ENOTFOUND;
}
