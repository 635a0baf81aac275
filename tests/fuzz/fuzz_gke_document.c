/*
 * Fuzz target: what the container API and Google's token endpoint (or anything
 * claiming to be them) answer, through every parser the GKE provider runs on
 * it. The input is used three ways:
 *  - as an error body of the container API with each error status
 *    (hcr_gke_parse_error) and as a token endpoint answer (hcr_gke_token_parse);
 *  - as JSON: a Cluster normalised and checked for busy, an Operation for
 *    poll_operation, and, since hcr's own changes and documents reach the same
 *    code, as the changes and the current cluster of every planned operation's
 *    body, as a configuration to create from and as a pool document;
 *  - as an operation handle (hcr_gke_handle_parse), and as an operation name
 *    turned into a handle, which must always parse back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/provider_gke.h"
#include "fuzz.h"

static const char *const operations[] = {
	"UpdateMasterVersion",
	"UpdateLoggingService",
	"UpdateMonitoringService",
	"UpdateLocations",
	"SetNetworkPolicy",
	"SetMaintenancePolicy",
	"SetLabels",
	"SetNodePoolSize",
	"SetNodePoolAutoscaling",
	"SetNodePoolManagement",
	"UpdateNodePool",
	"UpdateNodePoolConfig",
	"CreateNodePool",
	"DeleteNodePool",
	"UpdateMasterAuthorizedNetworks",
	"UpdateAddons",
	"NoSuchOperation",
};

static void errors(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 403, 404, 409, 429, 500, 503, 302, 200};
	hcr_error err;
	char *token = NULL;
	long expires = 0;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		if (statuses[i] != 200) {
			if (hcr_gke_parse_error(&err, "clusters.get", "demo", statuses[i],
						(const char *)data, size) == HCR_OK ||
			    !err.message[0] || !err.detail[0])
				abort();
			(void)hcr_gke_is_fingerprint_mismatch(&err);
		}
		if (hcr_gke_token_parse(&token, &expires, statuses[i], (const char *)data, size,
					&err) == HCR_OK) {
			if (!token || expires <= 0)
				abort();
			hcr_crypto_wipe(token, strlen(token));
			free(token);
			token = NULL;
		}
	}
}

static void calls(json_t *v)
{
	json_t *changes = json_object_get(v, "changes");
	json_t *cluster = json_object_get(v, "cluster");
	hcr_gke_call call;
	hcr_error err;

	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
		memset(&call, 0, sizeof(call));
		const char *pool = strstr(operations[i], "NodePool") ? "pool-a" : NULL;

		if (hcr_gke_build_call(&call, operations[i], pool, changes ? changes : v,
				       cluster ? cluster : v, &err) == HCR_OK &&
		    !call.method)
			abort();
		json_decref(call.body);
	}
}

static void documents(json_t *v)
{
	json_t *out = NULL;
	hcr_error err;

	if (hcr_gke_normalise(&out, v, &err) == HCR_OK && !out)
		abort();
	json_decref(out);
	out = NULL;
	(void)hcr_gke_busy(v);
	if (hcr_gke_poll_result(&out, v, &err) == HCR_OK && !out)
		abort();
	json_decref(out);
	out = NULL;
	calls(v);
	(void)hcr_gke_body_create_cluster(&out, "demo", v, &err);
	json_decref(out);
	out = NULL;
	(void)hcr_gke_check_create(v, &err);
	(void)hcr_gke_body_node_pool(&out, "pool-a", json_object_get(v, "pool"),
				     "nodePools[pool-a]", &err);
	json_decref(out);
}

static void handles(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), *h;
	char location[64], name[256];
	hcr_error err;

	(void)hcr_gke_handle_parse(location, name, s, &err);
	(void)hcr_gke_valid_name(s);
	h = hcr_gke_handle_format("us-central1-a", s);
	if (h && hcr_gke_handle_parse(location, name, h, &err) != HCR_OK)
		abort();
	if (h && strcmp(name, s) != 0)
		abort();
	free(h);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v;

	fuzz_quiet();
	errors(data, size);
	handles(data, size);
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (v)
		documents(v);
	json_decref(v);
	return 0;
}
