/*
 * kube_credentials for AKS: POST .../managedClusters/{name}/listClusterUserCredential
 * answers {"kubeconfigs": [{"name", "value": base64 kubeconfig}]}; hcr reads the
 * current context's cluster (server, certificate-authority-data) and user
 * (token) from the first kubeconfig.
 *
 * The kubeconfig's static token carries no expiry, so expiresAt is now + 3600:
 * the sync worker asks again within the hour (a rotated token is then seen).
 * The kubeconfig is read by the Kubernetes client's reader (hcr/kube.h), which
 * wipes every copy of it and of the token it makes; none is logged.
 */
#include <stdlib.h>
#include <string.h>

#include "aks_int.h"
#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "hcr/mem.h"

#define AKS_KUBE_TOKEN_S 3600

/* ---- parsing (pure): the Kubernetes client's kubeconfig reader --------------------------- */

#define ORIGIN "the kubeconfig from listClusterUserCredential"

static int bad(hcr_error *err, const char *what)
{
	return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, ORIGIN " %s", what);
}

/* kube_credentials' result from the resolved current context. */
static int from_context(json_t **out, const hcr_kube_context *ctx, time_t now, hcr_error *err)
{
	char *ca;

	if (!ctx->token || !*ctx->token)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the cluster's user credential has no static token (Azure AD "
				     "integration with exec/azure-cli login, or local accounts "
				     "disabled): hcr cannot use it");
	*out = json_pack("{s:s, s:s, s:I}", "server", ctx->server, "token", ctx->token, "expiresAt",
			 (json_int_t)now + AKS_KUBE_TOKEN_S);
	if (ctx->ca_pem && ctx->ca_len) {
		ca = hcr_crypto_base64_encode(ctx->ca_pem, ctx->ca_len);
		json_object_set_new(*out, "certificateAuthorityData", json_string(ca));
		free(ca);
	}
	return HCR_OK;
}

int hcr_aks_parse_kubeconfig(json_t **out, const char *b64, time_t now, hcr_error *err)
{
	hcr_kubeconfig *kc = NULL;
	hcr_kube_context *ctx = NULL;
	hcr_error why;
	unsigned char *raw;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!b64 || !(raw = hcr_crypto_base64_decode(b64, &len)))
		return bad(err, "is not base64");
	rc = hcr_kubeconfig_parse(&kc, (const char *)raw, len, ORIGIN, NULL, &why);
	hcr_crypto_wipe(raw, len);
	free(raw);
	if (rc != HCR_OK) {
		/* The client's messages never carry the kubeconfig's secrets. */
		bad(err, "is not YAML in kubeconfig form");
		hcr_error_detail(err, "%s", why.message);
		return HCR_EUPSTREAM;
	}
	if (!hcr_kubeconfig_current_context(kc)) {
		rc = bad(err, "has no current-context");
	} else if (hcr_kubeconfig_resolve(&ctx, kc, NULL, &why) != HCR_OK) {
		rc = bad(err, "cannot be used for its current-context");
		hcr_error_detail(err, "%s", why.message);
	} else {
		rc = from_context(out, ctx, now, err);
	}
	hcr_kube_context_free(ctx);
	hcr_kubeconfig_free(kc);
	return rc;
}

/* ---- the call -------------------------------------------------------------------------- */

/* Wipes a string held by a JSON document in place (jansson does not). */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		hcr_crypto_wipe((char *)json_string_value(s), json_string_length(s));
}

static void credentials_listed(aks_job *j, aks_reply *r)
{
	json_t *list = json_object_get(r->body, "kubeconfigs"), *first, *out = NULL, *v;
	hcr_error err;
	size_t i;
	int rc;

	hcr_crypto_wipe(j->snip, sizeof(j->snip));
	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	first = json_array_get(list, 0);
	if (!json_is_string((v = json_object_get(first, "value")))) {
		hcr_aks_unexpected(j, "no kubeconfigs[0].value");
	} else if ((rc = hcr_aks_parse_kubeconfig(&out, json_string_value(v), time(NULL), &err)) !=
		   HCR_OK) {
		hcr_aks_fail(j, rc, &err);
	} else {
		hcr_aks_result(j, out);
	}
	for (i = 0; i < json_array_size(list); i++)
		wipe_json_string(json_object_get(json_array_get(list, i), "value"));
}

static void credentials_step(aks_job *j)
{
	char *path = hcr_aks_path(j, "/listClusterUserCredential");

	hcr_aks_send(j, "ListClusterUserCredential", "POST", path, NULL, NULL, NULL,
		     credentials_listed);
	free(path);
}

int hcr_aks_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload)
{
	aks_job *j;
	hcr_error err;
	int rc = hcr_aks_job_new(&j, p, c, "kube_credentials", true, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	return hcr_aks_job_start(j, credentials_step, &err);
}
