/*
 * Fuzz target: a credential body as POST /v1/credentials receives it, parsed
 * as the API parses it and validated and sealed by hcr_credential_parse under
 * a fixed master key.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hcr/credentials.h"
#include "hcr/json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static hcr_master_key key;
	json_t *body = NULL;
	hcr_credential_new c;
	hcr_error err;

	fuzz_quiet();
	if (!key.id[0]) {
		memset(key.key, 0x42, sizeof(key.key));
		hcr_crypto_hex(key.id, key.key, 8);
	}
	if (hcr_json_parse_object(&body, (const char *)data, size, &err) != HCR_OK)
		return 0;
	(void)hcr_credential_parse(&c, body, &key, &err);
	hcr_credential_new_free(&c);
	json_decref(body);
	return 0;
}
