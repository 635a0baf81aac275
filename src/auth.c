/*
 * API tokens and roles: generating tokens, their stored (hashed) form, cheap
 * shape checks, the Authorization header, and the role order.
 *
 * Tokens never reach a log line from here; callers must not log them either.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/auth.h"
#include "hcr/crypto.h"
#include "hcr/error.h"

#define TOKEN_RANDOM_BYTES 32
#define TOKEN_BODY_LEN     (HCR_TOKEN_LEN - (sizeof(HCR_TOKEN_PREFIX) - 1))

static const char *const role_names[] = {
	[HCR_ROLE_NONE] = "none",
	[HCR_ROLE_VIEWER] = "viewer",
	[HCR_ROLE_OPERATOR] = "operator",
	[HCR_ROLE_ADMIN] = "admin",
};

hcr_role hcr_role_parse(const char *name)
{
	int r;

	if (!name)
		return HCR_ROLE_NONE;
	for (r = HCR_ROLE_VIEWER; r <= HCR_ROLE_ADMIN; r++)
		if (strcmp(name, role_names[r]) == 0)
			return (hcr_role)r;
	return HCR_ROLE_NONE;
}

/* "none" for HCR_ROLE_NONE and for values outside the enum. */
const char *hcr_role_name(hcr_role role)
{
	if ((int)role < HCR_ROLE_VIEWER || (int)role > HCR_ROLE_ADMIN)
		return role_names[HCR_ROLE_NONE];
	return role_names[role];
}

/* A value outside the enum grants nothing, whatever its number. */
bool hcr_role_allows(hcr_role have, hcr_role need)
{
	if ((int)have < HCR_ROLE_VIEWER || (int)have > HCR_ROLE_ADMIN)
		return false;
	return have >= need;
}

int hcr_token_generate(char out[HCR_TOKEN_LEN + 1], hcr_error *err)
{
	unsigned char raw[TOKEN_RANDOM_BYTES];
	char *b64 = NULL;
	size_t i;
	int rc;

	out[0] = '\0';
	rc = hcr_crypto_random(raw, sizeof(raw), err);
	if (rc != HCR_OK)
		goto done;

	/* base64url without padding: 32 bytes give 43 digits and one '=' to drop. */
	b64 = hcr_crypto_base64_encode(raw, sizeof(raw));
	memcpy(out, HCR_TOKEN_PREFIX, sizeof(HCR_TOKEN_PREFIX) - 1);
	for (i = 0; i < TOKEN_BODY_LEN; i++) {
		char c = b64[i];

		out[sizeof(HCR_TOKEN_PREFIX) - 1 + i] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	out[HCR_TOKEN_LEN] = '\0';
	rc = HCR_OK;

done:
	hcr_crypto_wipe(raw, sizeof(raw));
	if (b64) {
		hcr_crypto_wipe(b64, strlen(b64));
		free(b64);
	}
	return rc;
}

void hcr_token_hash(char out[65], const char *token)
{
	if (!token)
		token = "";
	hcr_crypto_sha256_hex(out, token, strlen(token));
}

static bool is_base64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool hcr_token_well_formed(const char *token)
{
	size_t i;

	if (!token || strnlen(token, HCR_TOKEN_LEN + 1) != HCR_TOKEN_LEN)
		return false;
	if (strncmp(token, HCR_TOKEN_PREFIX, sizeof(HCR_TOKEN_PREFIX) - 1) != 0)
		return false;
	for (i = sizeof(HCR_TOKEN_PREFIX) - 1; i < HCR_TOKEN_LEN; i++)
		if (!is_base64url(token[i]))
			return false;
	return true;
}

/*
 * The accepted form is strict: "Bearer" in any case, one or more spaces, then
 * the token, which runs to the end of the value. The result points into
 * `header`, so trailing whitespace cannot be cut off in place; rather than
 * hand back a token with a space in it, anything after the token (whitespace
 * included) makes the header unusable and NULL is returned. HTTP servers
 * already strip the optional whitespace around a header value, so clients
 * that follow RFC 9110 are not affected. Leading whitespace is refused for
 * the same reason.
 */
const char *hcr_token_from_header(const char *header)
{
	static const char scheme[] = "Bearer";
	const char *p;

	if (!header || strncasecmp(header, scheme, sizeof(scheme) - 1) != 0)
		return NULL;
	p = header + sizeof(scheme) - 1;
	if (*p != ' ')
		return NULL;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return NULL;
	return p;
}
