/*
 * Fuzz target: what ARM and Azure AD (or anything claiming to be them) answer,
 * through every parser the AKS provider runs on it. The input is used three
 * ways:
 *  - as an error response body of ARM and of Azure AD's token endpoint, with
 *    each error status (hcr_aks_parse_error, hcr_aks_parse_token_error);
 *  - as JSON: a managed cluster normalised and checked for busy, an operation
 *    status and a resource read for poll_operation, and, since hcr's own
 *    changes and documents reach the same code, as the changes and the GET
 *    bodies of every request-body builder and as a configuration to check
 *    before a create;
 *  - as an operation handle (hcr_aks_handle_parse), and as async/Location URLs
 *    turned into handles, which must always parse back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/provider_aks.h"
#include "fuzz.h"

#define ENDPOINT "https://management.azure.com"

static void errors(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 404, 409, 412, 429, 500, 503, 302};
	hcr_error err;
	char code[96];

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		(void)hcr_aks_parse_error(&err, code, sizeof(code), "PutManagedCluster", "demo",
					  statuses[i], (const char *)data, size);
		if (!err.message[0] || !err.detail[0])
			abort();
		(void)hcr_aks_parse_token_error(&err, statuses[i], (const char *)data, size);
		if (!err.message[0])
			abort();
	}
}

static void documents(json_t *v)
{
	json_t *out = NULL, *body = NULL;
	hcr_error err;

	if (hcr_aks_normalise(&out, v, &err) == HCR_OK && !out)
		abort();
	json_decref(out);
	(void)hcr_aks_busy(v);
	(void)hcr_aks_poll_status(&out, v, &err);
	json_decref(out);
	(void)hcr_aks_poll_resource(&out, v, false, &err);
	json_decref(out);
	(void)hcr_aks_poll_resource(&out, v, true, &err);
	json_decref(out);
	(void)hcr_aks_body_cluster_put(&body, v, json_object_get(v, "changes"), &err);
	json_decref(body);
	(void)hcr_aks_body_cluster_put(&body, json_object_get(v, "cluster"), v, &err);
	json_decref(body);
	(void)hcr_aks_body_tags(&body, json_object_get(v, "tags"), v, &err);
	json_decref(body);
	(void)hcr_aks_body_pool_put(&body, json_object_get(v, "pool"), "user", v, &err);
	json_decref(body);
	(void)hcr_aks_body_pool_create(&body, "user", v, &err);
	json_decref(body);
	(void)hcr_aks_last_system_pool(v, "system");
	(void)hcr_aks_check_create(v, &err);
}

static void handles(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), *url = NULL, *h;
	hcr_aks_handle parsed;
	hcr_error err;

	(void)hcr_aks_handle_parse(&parsed, s, &err);
	url = malloc(strlen(s) + sizeof(ENDPOINT) + 1);
	strcpy(url, ENDPOINT);
	strcat(url, s);
	h = hcr_aks_handle_make(ENDPOINT, url, url, "user", size % 2);
	if (strlen(h) >= 400 || hcr_aks_handle_parse(&parsed, h, &err) != HCR_OK)
		abort();
	free(h);
	free(url);
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
