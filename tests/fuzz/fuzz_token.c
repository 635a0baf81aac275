/*
 * Fuzz target: an Authorization header value. hcr_token_from_header finds the
 * bearer token, and hcr_token_well_formed judges it (and the raw input).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hcr/auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header;
	const char *token;

	fuzz_quiet();
	header = fuzz_cstring(data, size);
	token = hcr_token_from_header(header);
	if (token)
		(void)hcr_token_well_formed(token);
	(void)hcr_token_well_formed(header);
	free(header);
	return 0;
}
