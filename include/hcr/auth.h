/*
 * API tokens and roles.
 *
 * A token is "hcr_" followed by 43 characters of base64url (32 random bytes).
 * Only its SHA-256 is stored: tokens are random and long, so a fast hash is
 * enough (there is nothing to brute-force), and lookups stay one index probe.
 */
#ifndef HCR_AUTH_H
#define HCR_AUTH_H

#include <stdbool.h>

#include "hcr/error.h"

typedef enum {
	HCR_ROLE_NONE = 0,
	HCR_ROLE_VIEWER = 1,   /* read */
	HCR_ROLE_OPERATOR = 2, /* + edit cluster configs, run drills */
	HCR_ROLE_ADMIN = 3,    /* + credentials, tokens */
} hcr_role;

#define HCR_TOKEN_PREFIX "hcr_"
/* Length of a token's text, without the NUL. */
#define HCR_TOKEN_LEN 47

/* Parses "viewer", "operator", "admin". Returns HCR_ROLE_NONE if unknown. */
hcr_role hcr_role_parse(const char *name);
const char *hcr_role_name(hcr_role role);
/* True when `have` may do what needs `need` (roles are ordered). */
bool hcr_role_allows(hcr_role have, hcr_role need);

/* Generates a new token into `out` (HCR_TOKEN_LEN + 1 bytes). */
int hcr_token_generate(char out[HCR_TOKEN_LEN + 1], hcr_error *err);

/* The stored form of a token: SHA-256 as 64 hex digits into `out`. */
void hcr_token_hash(char out[65], const char *token);

/*
 * True when `token` has the shape of an hcr token (prefix, length, alphabet).
 * Used to refuse garbage before touching the database.
 */
bool hcr_token_well_formed(const char *token);

/*
 * Extracts the token from an Authorization header value "Bearer <token>"
 * (scheme case-insensitive). Returns a pointer into `header` or NULL.
 */
const char *hcr_token_from_header(const char *header);

#endif
