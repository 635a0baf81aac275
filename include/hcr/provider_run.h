/*
 * Provider calls for code that is not on the reconciler's loop: the API's
 * discovery and Kubernetes-credential requests. Each call gets a private
 * libev loop, HTTP client and provider instance, runs to its end on the
 * calling thread, and frees them. Meant for rare, user-driven calls; the
 * reconciler's hot path never goes through here.
 */
#ifndef HCR_PROVIDER_RUN_H
#define HCR_PROVIDER_RUN_H

#include <jansson.h>
#include <stdbool.h>

#include "hcr/config.h"
#include "hcr/error.h"
#include "hcr/provider.h"

/*
 * The instance settings hcr uses for provider `name` (endpoint, timeout,
 * configuration); `http` is left NULL for the caller. Returns false when the
 * provider is not enabled by `cfg` (the test provider "fake" without an
 * endpoint).
 */
bool hcr_provider_config_for(hcr_provider_config *out, const hcr_config *cfg, const char *name);

typedef enum {
	HCR_CALL_OBSERVE = 0,
	HCR_CALL_LIST = 1,
	HCR_CALL_KUBE_CREDENTIALS = 2,
} hcr_provider_call;

/*
 * Runs `call` of provider `ops` for `ref` (its secret opened by the caller) and
 * waits for it. On success *out is the provider's result (new reference).
 * Fails with the provider's status and error, or HCR_EINVALID when the provider
 * does not offer the call.
 */
int hcr_provider_run(json_t **out, const hcr_provider_ops *ops, const hcr_config *cfg,
		     hcr_provider_call call, const hcr_cluster_ref *ref, hcr_error *err);

#endif
