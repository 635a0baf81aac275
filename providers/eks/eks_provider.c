/*
 * The EKS provider's table and instances (the contract is in
 * hcr/provider_eks.h). An instance holds the settings it was created with,
 * copied, and the cache of finished update ids that keeps observing cheap;
 * everything else lives in the job of one call.
 */
#include <stdlib.h>
#include <string.h>

#include "eks_int.h"
#include "hcr/config.h"
#include "hcr/mem.h"

/* Refuses an endpoint template that cannot become an http(s) base URL. */
static int check_endpoint(const char *tmpl, const char *setting, hcr_error *err)
{
	char *url;
	bool ok;

	if (!tmpl)
		return HCR_OK;
	url = hcr_eks_base_url(tmpl, "eks", "us-east-1");
	ok = (strncmp(url, "https://", 8) == 0 && url[8] && url[8] != '/') ||
	     (strncmp(url, "http://", 7) == 0 && url[7] && url[7] != '/');
	for (size_t i = 0; ok && url[i]; i++)
		ok = (unsigned char)url[i] > ' ' && url[i] != 0x7f && url[i] != '?' &&
		     url[i] != '#' && url[i] != '@';
	free(url);
	if (ok)
		return HCR_OK;
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s \"%s\" is not an http(s) URL", setting,
		      tmpl);
	hcr_error_hint(err, "for example https://eks.{region}.amazonaws.com or "
			    "http://127.0.0.1:8080");
	return HCR_EINVALID;
}

static int eks_create_instance(hcr_provider **out, const hcr_provider_config *cfg, hcr_error *err)
{
	const hcr_config *s = cfg ? cfg->settings : NULL;
	const char *endpoint = s && s->eks_endpoint ? s->eks_endpoint : NULL;
	const char *sts = s ? s->eks_sts_endpoint : NULL;
	eks_provider *ep;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->http)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "provider \"eks\" needs an HTTP client");
	if (!endpoint && cfg->endpoint && *cfg->endpoint)
		endpoint = cfg->endpoint;
	if ((rc = check_endpoint(endpoint, "providers.eks.endpoint", err)) ||
	    (rc = check_endpoint(sts, "providers.eks.sts_endpoint", err)))
		return rc;
	ep = hcr_calloc(1, sizeof(*ep));
	ep->base.ops = &hcr_eks_provider_ops;
	ep->http = cfg->http;
	ep->timeout_ms = cfg->timeout_ms;
	ep->endpoint = hcr_strdup(endpoint);
	ep->sts_endpoint = hcr_strdup(sts);
	ep->list_updates = s ? s->eks_list_updates : true;
	ep->updates = hcr_eks_ucache_new(EKS_UC_CLUSTERS, EKS_UC_PER);
	*out = &ep->base;
	return HCR_OK;
}

static void eks_free_instance(hcr_provider *p)
{
	eks_provider *ep = (eks_provider *)p;

	if (!ep)
		return;
	hcr_eks_ucache_free(ep->updates);
	free(ep->endpoint);
	free(ep->sts_endpoint);
	free(ep);
}

const hcr_provider_ops hcr_eks_provider_ops = {
	.abi = HCR_PROVIDER_ABI,
	.name = "eks",
	.catalog = &hcr_eks_catalog,
	.create_instance = eks_create_instance,
	.free_instance = eks_free_instance,
	.observe = hcr_eks_observe,
	.apply = hcr_eks_apply,
	.poll_operation = hcr_eks_poll_operation,
	.create = hcr_eks_create,
	.destroy = hcr_eks_destroy,
	.list = hcr_eks_list_clusters,
	.kube_credentials = hcr_eks_kube_credentials,
	.check_create = hcr_eks_check_create,
};
