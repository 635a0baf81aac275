/*
 * Fuzz target: an observed document, as a provider builds from a cloud's
 * answer, recorded by hcr_engine_refresh on a copy of a small created fieldset
 * of the fake catalog, under each policy; the result is then planned. Any JSON
 * value is accepted as the document: refresh is to fail cleanly on what it
 * cannot flatten.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcr/engine.h"
#include "hcr/fakecloud.h"
#include "fuzz.h"
#include "fuzz_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const hcr_policy policies[] = {HCR_POLICY_ADOPT, HCR_POLICY_ENFORCE,
					      HCR_POLICY_PREFER_UPSTREAM};
	const hcr_fieldset *base;
	json_error_t jerr;
	json_t *doc;
	hcr_error err;
	size_t i;

	fuzz_quiet();
	base = fuzz_base_fieldset();
	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (!doc)
		return 0;
	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		hcr_refresh_opts o = {.cat = &hcr_fake_catalog,
				      .policy = policies[i],
				      .observed_at = 30,
				      .now = 30};
		hcr_fieldset fs;
		json_t *events = json_array();
		bool pending = false;

		hcr_fieldset_copy(&fs, base);
		if (hcr_engine_refresh(&fs, &o, doc, events, &pending, &err) == HCR_OK) {
			hcr_plan plan = {0};

			if (hcr_engine_plan(&fs, &hcr_fake_catalog, &plan, &err) == HCR_OK)
				hcr_plan_free(&plan);
		}
		hcr_fieldset_free(&fs);
		json_decref(events);
	}
	json_decref(doc);
	return 0;
}
