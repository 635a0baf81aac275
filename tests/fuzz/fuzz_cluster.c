/*
 * Fuzz target: a cluster registration body as POST /v1/clusters receives it.
 * The body is parsed as the API parses it (hcr_json_parse_object), validated
 * (hcr_cluster_parse), and a created cluster's config goes on to
 * hcr_engine_init_created as hcr_clusters_insert does. The "config" member is
 * also checked against every provider, so each provider's checks see input
 * whatever the body's "provider" says.
 */
#include <stddef.h>
#include <stdint.h>

#include "hcr/clusters.h"
#include "hcr/engine.h"
#include "hcr/json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const providers[] = {"eks", "aks", "gke", "fake", "oke"};
	json_t *body = NULL, *config;
	hcr_cluster_new c;
	hcr_error err;
	size_t i;

	fuzz_quiet();
	if (hcr_json_parse_object(&body, (const char *)data, size, &err) != HCR_OK)
		return 0;
	if (hcr_cluster_parse(&c, body, &err) == HCR_OK && c.config && c.cat) {
		hcr_fieldset fs = {0};
		json_t *events = json_array();

		(void)hcr_engine_init_created(&fs, c.cat, c.config, 1, events, &err);
		hcr_fieldset_free(&fs);
		json_decref(events);
	}
	config = json_object_get(body, "config");
	if (config) {
		for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
			(void)hcr_cluster_config_check(providers[i], config, "config", &err);
	}
	json_decref(body);
	return 0;
}
