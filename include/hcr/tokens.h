/*
 * API tokens in the store: create (returning the token once), list, revoke,
 * and authenticate a presented token. Only SHA-256 hashes are stored.
 */
#ifndef HCR_TOKENS_H
#define HCR_TOKENS_H

#include <jansson.h>

#include "hcr/auth.h"
#include "hcr/store.h"

typedef struct hcr_token_identity {
	char id[40];
	char name[101];
	hcr_role role;
} hcr_token_identity;

/*
 * Looks up `token` (already well-formed) by its hash. HCR_ENOTFOUND when it is
 * unknown, revoked or expired; HCR_EUPSTREAM when the database is down.
 * Records last use at most once a minute.
 */
int hcr_tokens_authenticate(hcr_store *store, const char *token, hcr_token_identity *out,
			    hcr_error *err);

/*
 * Creates a token. `expires_in_s` <= 0 means it never expires. On success
 * *out is a new JSON object describing it, including "token" (the only time
 * the token is ever shown).
 */
int hcr_tokens_create(PGconn *conn, const char *name, hcr_role role, long long expires_in_s,
		      const char *created_by, json_t **out, hcr_error *err);

/* A new JSON array of every token that is not revoked (never the token or its hash). */
int hcr_tokens_list(PGconn *conn, json_t **out, hcr_error *err);

/*
 * Revokes a token by id. HCR_ENOTFOUND for an unknown or already revoked id;
 * HCR_ECONFLICT when it is the last active admin token.
 */
int hcr_tokens_revoke(PGconn *conn, const char *id, hcr_error *err);

/* Number of active (not revoked, not expired) admin tokens in *out. */
int hcr_tokens_count_admins(PGconn *conn, int *out, hcr_error *err);

#endif
