/*
 * Cloud credentials: validation of what users submit, sealing with the master
 * key, and the credentials table. Secret material is sealed before it reaches
 * the database and is never returned by the API; only metadata (names,
 * non-secret identifiers) is.
 *
 * Submitted shapes (POST /v1/credentials):
 *   {"name", "provider": "eks", "eks": {"accessKeyId", "secretAccessKey", "sessionToken"?}}
 *   {"name", "provider": "aks", "aks": {"tenantId", "clientId", "clientSecret", "subscriptionId"}}
 *   {"name", "provider": "gke", "gke": {"serviceAccountJson": <object or JSON text>}}
 */
#ifndef HCR_CREDENTIALS_H
#define HCR_CREDENTIALS_H

#include <jansson.h>

#include "hcr/crypto.h"
#include "hcr/store.h"

typedef struct hcr_credential_new {
	char *name;
	char provider[8];
	json_t *metadata;      /* new reference: non-secret, shown to operators */
	unsigned char *sealed; /* nonce || ciphertext || tag */
	size_t sealed_len;
	char key_id[17];
} hcr_credential_new;

/*
 * Validates a submitted credential and seals its secret part. On failure the
 * error names the offending field (HCR_EINVALID). Free with
 * hcr_credential_new_free, also after a failure.
 */
int hcr_credential_parse(hcr_credential_new *out, json_t *body, const hcr_master_key *key,
			 hcr_error *err);
void hcr_credential_new_free(hcr_credential_new *c);

/* The AAD that binds a sealed secret to its credential: "credential:<name>:<provider>". */
void hcr_credential_aad(char *out, size_t size, const char *provider, const char *name);

/* Inserts; HCR_ECONFLICT when the name is taken. *out: new JSON metadata. */
int hcr_credentials_insert(PGconn *conn, const hcr_credential_new *c, const char *created_by,
			   json_t **out, hcr_error *err);
/* *out: new JSON array of every credential's metadata, by name. */
int hcr_credentials_list(PGconn *conn, json_t **out, hcr_error *err);
/* *out: new JSON metadata; HCR_ENOTFOUND when missing. */
int hcr_credentials_get(PGconn *conn, const char *name, json_t **out, hcr_error *err);
/* HCR_ENOTFOUND when missing; HCR_ECONFLICT while clusters use it. */
int hcr_credentials_delete(PGconn *conn, const char *name, hcr_error *err);

/*
 * Opens a credential's secret for a provider: *out is a new JSON object (the
 * submitted provider section), `provider` receives "eks" / "aks" / "gke".
 * Callers must not log it, and should json_decref it as soon as possible.
 */
int hcr_credentials_open(PGconn *conn, const char *name, const hcr_master_key *key, json_t **out,
			 char provider[8], hcr_error *err);

#endif
