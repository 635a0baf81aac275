/*
 * Names of hcr objects (clusters, credentials): 1 to 64 characters of lower-case
 * letters, digits, '.', '_' and '-', starting and ending with a letter or digit.
 * The same rule is a CHECK constraint in the schema; checking here first gives
 * the user a message instead of a constraint name.
 */
#ifndef HCR_NAMES_H
#define HCR_NAMES_H

#include <stdbool.h>

#include "hcr/error.h"

bool hcr_name_valid(const char *name);

/* Fails with HCR_EINVALID / "invalid" naming `field` and the rule. */
int hcr_name_check(const char *name, const char *field, hcr_error *err);

/* A new random (version 4) UUID in its canonical text form. */
int hcr_uuid_generate(char out[37], hcr_error *err);

/* True for the canonical text form of a UUID (8-4-4-4-12 hex digits). */
bool hcr_uuid_valid(const char *s);

#endif
