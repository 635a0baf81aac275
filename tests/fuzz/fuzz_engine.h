/*
 * The fieldset the engine fuzz targets start from: the fake catalog's cluster
 * created at t=1 and observed as configured at t=10, built once and copied per
 * input. Header-only so that each target stays one .c file.
 */
#ifndef HCR_FUZZ_ENGINE_H
#define HCR_FUZZ_ENGINE_H

#include <stdlib.h>

#include "hcr/engine.h"
#include "hcr/fakecloud.h"

#define FUZZ_BASE_CONFIG                                                                           \
	"{\"kubernetesVersion\": \"1.29\", \"publicAccess\": true, \"tags\": {\"team\": \"a\"},"   \
	" \"subnets\": [\"s1\", \"s2\"], \"kmsKey\": \"k1\", \"nodeGroups\": [{\"nodegroupName\":" \
	" \"ng-a\", \"desiredSize\": 2, \"minSize\": 1, \"maxSize\": 3, \"instanceType\":"         \
	" \"m5.large\", \"labels\": {\"env\": \"prod\"}, \"version\": \"1.29\"},"                  \
	" {\"nodegroupName\": \"ng-b\", \"desiredSize\": 1, \"minSize\": 1, \"maxSize\": 2}]}"

/* The base fieldset (never freed: it lives as long as the process, like a corpus). */
static inline const hcr_fieldset *fuzz_base_fieldset(void)
{
	static hcr_fieldset fs;
	static int built;
	hcr_refresh_opts ro = {.cat = &hcr_fake_catalog, .observed_at = 10, .now = 10};
	json_error_t jerr;
	hcr_error err;
	json_t *config;

	if (built)
		return &fs;
	config = json_loads(FUZZ_BASE_CONFIG, 0, &jerr);
	if (!config || hcr_engine_init_created(&fs, &hcr_fake_catalog, config, 1, NULL, &err) ||
	    hcr_engine_refresh(&fs, &ro, config, NULL, NULL, &err))
		abort();
	json_decref(config);
	built = 1;
	return &fs;
}

#endif
