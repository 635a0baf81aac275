/*
 * The AKS provider's table and instances (the contract is in
 * hcr/provider_aks.h). An instance holds the settings it was created with,
 * copied, and the cache of Azure AD tokens; everything else lives in the job
 * of one call.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aks_int.h"
#include "hcr/config.h"
#include "hcr/mem.h"

#define ARM_DEFAULT "https://management.azure.com"
#define AAD_DEFAULT "https://login.microsoftonline.com"

/* A base URL without its trailing '/', or NULL when it is not http(s). */
static char *base_url(const char *url, const char *setting, hcr_error *err)
{
	size_t n, i;
	bool ok = (strncmp(url, "https://", 8) == 0 && url[8] && url[8] != '/') ||
		  (strncmp(url, "http://", 7) == 0 && url[7] && url[7] != '/');
	char *out;

	for (i = 0; ok && url[i]; i++)
		ok = (unsigned char)url[i] > ' ' && url[i] != 0x7f && url[i] != '?' &&
		     url[i] != '#' && url[i] != '@';
	if (!ok) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s \"%s\" is not an http(s) URL",
			      setting, url);
		return NULL;
	}
	out = hcr_strdup(url);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

/* The token scope: a sovereign cloud's own ARM audience, else the public cloud's. */
static char *scope_for(const char *endpoint)
{
	if (strncmp(endpoint, "https://management.", 19) == 0 && !strchr(endpoint + 8, '/') &&
	    !strchr(endpoint + 8, ':'))
		return hcr_sprintf("%s/.default", endpoint);
	return hcr_strdup(ARM_DEFAULT "/.default");
}

static int aks_create_instance(hcr_provider **out, const hcr_provider_config *cfg, hcr_error *err)
{
	const hcr_config *s = cfg ? cfg->settings : NULL;
	const char *endpoint = s && s->aks_endpoint ? s->aks_endpoint : NULL;
	const char *authority = s && s->aks_authority ? s->aks_authority : AAD_DEFAULT;
	aks_provider *ap;
	char *arm, *aad;

	*out = NULL;
	if (!cfg || !cfg->http)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "provider \"aks\" needs an HTTP client");
	if (!endpoint)
		endpoint = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : ARM_DEFAULT;
	if (!(arm = base_url(endpoint, "providers.aks.endpoint", err)))
		return HCR_EINVALID;
	if (!(aad = base_url(authority, "providers.aks.authority", err))) {
		free(arm);
		return HCR_EINVALID;
	}
	ap = hcr_calloc(1, sizeof(*ap));
	ap->base.ops = &hcr_aks_provider_ops;
	ap->http = cfg->http;
	ap->timeout_ms = cfg->timeout_ms;
	ap->endpoint = arm;
	ap->authority = aad;
	ap->scope = scope_for(arm);
	*out = &ap->base;
	return HCR_OK;
}

static void aks_free_instance(hcr_provider *p)
{
	aks_provider *ap = (aks_provider *)p;

	if (!ap)
		return;
	hcr_aks_tokens_free(ap);
	free(ap->endpoint);
	free(ap->authority);
	free(ap->scope);
	free(ap);
}

const hcr_provider_ops hcr_aks_provider_ops = {
	.abi = HCR_PROVIDER_ABI,
	.name = "aks",
	.catalog = &hcr_aks_catalog,
	.create_instance = aks_create_instance,
	.free_instance = aks_free_instance,
	.observe = hcr_aks_observe,
	.apply = hcr_aks_apply,
	.poll_operation = hcr_aks_poll_operation,
	.create = hcr_aks_create,
	.destroy = hcr_aks_destroy,
	.list = hcr_aks_list_clusters,
	.kube_credentials = hcr_aks_kube_credentials,
	.check_create = hcr_aks_check_create,
};
