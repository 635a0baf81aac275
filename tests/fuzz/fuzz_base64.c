/*
 * Fuzz target: hcr_crypto_base64_decode (master key files, GKE keys). What
 * decodes must survive encode + decode unchanged, and, since crypto.c promises
 * one accepted encoding per byte string, the input must be the encoding with
 * its padding optional. A mismatch aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *bytes, *again = NULL;
	size_t n = 0, m = 0;
	char *text, *enc;

	fuzz_quiet();
	text = fuzz_cstring(data, size);
	bytes = hcr_crypto_base64_decode(text, &n);
	if (bytes) {
		enc = hcr_crypto_base64_encode(bytes, n);
		again = hcr_crypto_base64_decode(enc, &m);
		if (!again || m != n || (n && memcmp(again, bytes, n) != 0))
			abort();
		if (strncmp(enc, text, strlen(text)) != 0 ||
		    strspn(enc + strlen(text), "=") != strlen(enc + strlen(text)))
			abort();
		free(enc);
	}
	free(again);
	free(bytes);
	free(text);
	return 0;
}
