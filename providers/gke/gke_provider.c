/*
 * The GKE provider's table and instances (the contract is in
 * hcr/provider_gke.h). An instance holds the settings it was created with,
 * copied, and the cache of access tokens per service account; everything
 * else lives in the job of one call.
 */
#include <stdlib.h>
#include <string.h>

#include "gke_int.h"
#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/mem.h"

static bool http_url(const char *url)
{
	bool ok = (strncmp(url, "https://", 8) == 0 && url[8] && url[8] != '/') ||
		  (strncmp(url, "http://", 7) == 0 && url[7] && url[7] != '/');

	for (size_t i = 0; ok && url[i]; i++)
		ok = (unsigned char)url[i] > ' ' && url[i] != 0x7f && url[i] != '?' &&
		     url[i] != '#' && url[i] != '@';
	return ok;
}

static int check_url(const char *url, const char *setting, hcr_error *err)
{
	if (!url || http_url(url))
		return HCR_OK;
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s \"%s\" is not an http(s) URL", setting,
		      url);
	hcr_error_hint(err, "for example %s or http://127.0.0.1:8080",
		       strstr(setting, "token") ? HCR_GKE_TOKEN_URI : HCR_GKE_ENDPOINT);
	return HCR_EINVALID;
}

static int gke_create_instance(hcr_provider **out, const hcr_provider_config *cfg, hcr_error *err)
{
	const hcr_config *s = cfg ? cfg->settings : NULL;
	const char *endpoint = s && s->gke_endpoint ? s->gke_endpoint : NULL;
	const char *token_uri =
		s && s->gke_token_uri && *s->gke_token_uri ? s->gke_token_uri : NULL;
	gke_provider *gp;
	size_t n;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->http)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "provider \"gke\" needs an HTTP client");
	if (!endpoint && cfg->endpoint && *cfg->endpoint)
		endpoint = cfg->endpoint;
	if ((rc = check_url(endpoint, "providers.gke.endpoint", err)) ||
	    (rc = check_url(token_uri, "providers.gke.token_uri", err)))
		return rc;
	gp = hcr_calloc(1, sizeof(*gp));
	gp->base.ops = &hcr_gke_provider_ops;
	gp->http = cfg->http;
	gp->timeout_ms = cfg->timeout_ms;
	gp->endpoint = hcr_strdup(endpoint ? endpoint : HCR_GKE_ENDPOINT);
	n = strlen(gp->endpoint);
	while (n > 0 && gp->endpoint[n - 1] == '/')
		gp->endpoint[--n] = '\0';
	gp->token_uri = token_uri ? hcr_strdup(token_uri) : NULL;
	*out = &gp->base;
	return HCR_OK;
}

static void gke_free_instance(hcr_provider *p)
{
	gke_provider *gp = (gke_provider *)p;

	if (!gp)
		return;
	for (size_t i = 0; i < GKE_TOKEN_CACHE; i++) {
		free(gp->tokens[i].key);
		if (gp->tokens[i].token) {
			hcr_crypto_wipe(gp->tokens[i].token, strlen(gp->tokens[i].token));
			free(gp->tokens[i].token);
		}
	}
	free(gp->endpoint);
	free(gp->token_uri);
	free(gp);
}

const hcr_provider_ops hcr_gke_provider_ops = {
	.abi = HCR_PROVIDER_ABI,
	.name = "gke",
	.catalog = &hcr_gke_catalog,
	.create_instance = gke_create_instance,
	.free_instance = gke_free_instance,
	.observe = hcr_gke_observe,
	.apply = hcr_gke_apply,
	.poll_operation = hcr_gke_poll_operation,
	.create = hcr_gke_create,
	.destroy = hcr_gke_destroy,
	.list = hcr_gke_list_clusters,
	.kube_credentials = hcr_gke_kube_credentials,
	.check_create = hcr_gke_check_create,
};
