/*
 * The REST API server (libmicrohttpd). Routes, authentication, errors,
 * auditing and metrics are in src/api.c; the handlers in src/api_*.c.
 */
#ifndef HCR_API_H
#define HCR_API_H

#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/store.h"

typedef struct hcr_api hcr_api;

/*
 * Starts serving on cfg->listen (TLS when cfg has a certificate and key).
 * `cfg`, `store` and `key` are borrowed and must outlive the server.
 * Fails with a message naming the address when it cannot listen.
 */
int hcr_api_start(hcr_api **out, const hcr_config *cfg, hcr_store *store, const hcr_master_key *key,
		  hcr_error *err);

/* Stops accepting, finishes requests in flight, frees the server. NULL is ignored. */
void hcr_api_stop(hcr_api *api);

/*
 * Makes sure an admin token exists. When no active admin token is stored, a
 * new one named "bootstrap-admin" is created and written to `token_file`
 * (mode 0600, replaced if present). `*created` tells whether that happened.
 */
int hcr_api_bootstrap_admin(hcr_store *store, const char *token_file, int *created, hcr_error *err);

#endif
