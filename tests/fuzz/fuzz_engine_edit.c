/*
 * Fuzz target: a JSON merge patch as PATCH /v1/clusters/{id}/config receives
 * it, applied by hcr_engine_edit to a copy of a small created-and-observed
 * fieldset of the fake catalog, once for a cluster that exists and once for one
 * still to be created; an accepted edit is then planned and its drift taken.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcr/engine.h"
#include "hcr/fakecloud.h"
#include "hcr/json.h"
#include "fuzz.h"
#include "fuzz_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const hcr_fieldset *base;
	json_t *patch = NULL;
	hcr_error err;
	int exists;

	fuzz_quiet();
	base = fuzz_base_fieldset();
	if (hcr_json_parse_object(&patch, (const char *)data, size, &err) != HCR_OK)
		return 0;
	for (exists = 0; exists < 2; exists++) {
		hcr_edit_opts o = {.cat = &hcr_fake_catalog, .exists = exists, .now = 20};
		hcr_fieldset fs;
		json_t *events = json_array();

		hcr_fieldset_copy(&fs, base);
		if (hcr_engine_edit(&fs, &o, patch, events, &err) == HCR_OK) {
			hcr_plan plan = {0};
			json_t *drift;

			if (hcr_engine_plan(&fs, &hcr_fake_catalog, &plan, &err) == HCR_OK)
				hcr_plan_free(&plan);
			drift = hcr_engine_drift(&hcr_fake_catalog, &fs);
			json_decref(drift);
		}
		hcr_fieldset_free(&fs);
		json_decref(events);
	}
	json_decref(patch);
	return 0;
}
