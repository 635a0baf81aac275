/*
 * Helpers shared by the libFuzzer targets in tests/fuzz: quiet logging set up
 * once, and a NUL-terminated copy of the input for functions that take C strings.
 * Header-only so that each target stays one .c file.
 */
#ifndef HCR_FUZZ_H
#define HCR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_quiet(void)
{
	static int done;

	if (!done) {
		hcr_log_set_level(HCR_LOG_ERROR);
		done = 1;
	}
}

/* A new NUL-terminated copy of the input (embedded NULs cut it short, as in C callers). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
