/*
 * Fuzz target: the YAML configuration file (hcr_config_load_string), then the
 * cross-setting checks. The input is passed with its length and no NUL after
 * it, as a file's contents would be, so an over-read shows up under ASan.
 */
#include <stddef.h>
#include <stdint.h>

#include "hcr/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hcr_config cfg;
	hcr_error err;

	fuzz_quiet();
	hcr_config_defaults(&cfg);
	if (hcr_config_load_string(&cfg, (const char *)data, size, "fuzz.yaml", &err) == HCR_OK)
		(void)hcr_config_validate(&cfg, &err);
	hcr_config_free(&cfg);
	return 0;
}
