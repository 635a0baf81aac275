/*
 * Name and identifier rules shared by the API and the store.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hcr/crypto.h"

#include "hcr/names.h"

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool hcr_name_valid(const char *name)
{
	size_t n, i;

	if (!name)
		return false;
	n = strlen(name);
	if (n < 1 || n > 64 || !alnum_lower(name[0]) || !alnum_lower(name[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!alnum_lower(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

int hcr_name_check(const char *name, const char *field, hcr_error *err)
{
	if (hcr_uuid_valid(name)) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"%s\" must not look like an id", field);
		hcr_error_hint(err, "ids and names share the same URLs; choose a name that is not "
				    "a UUID");
		return HCR_EINVALID;
	}
	if (hcr_name_valid(name))
		return HCR_OK;
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\" is not a valid name",
		      field);
	hcr_error_hint(err, "use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting "
			    "and ending with a letter or digit");
	return HCR_EINVALID;
}

int hcr_uuid_generate(char out[37], hcr_error *err)
{
	unsigned char b[16];
	int rc = hcr_crypto_random(b, sizeof(b), err);

	if (rc != HCR_OK)
		return rc;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return HCR_OK;
}

bool hcr_uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}
