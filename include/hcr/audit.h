/*
 * The audit log: one row per mutating API request (who, what, when, outcome).
 * Request bodies are never recorded: they can hold secrets.
 */
#ifndef HCR_AUDIT_H
#define HCR_AUDIT_H

#include <jansson.h>

#include "hcr/store.h"

typedef struct hcr_audit_entry {
	const char *request_id;
	const char *token_id; /* NULL when unauthenticated */
	const char *actor;    /* "token:<name>" or "anonymous" */
	const char *role;     /* NULL when unauthenticated */
	const char *method;
	const char *path;
	const char *target; /* what it acted on, may be NULL */
	int status;
	const char *outcome;     /* "ok" or the error code */
	const char *remote_addr; /* the client's address, may be NULL */
} hcr_audit_entry;

int hcr_audit_write(hcr_store *store, const hcr_audit_entry *e, hcr_error *err);

/* The newest `limit` entries, newest first, as a new JSON array (for tests and the CLI). */
int hcr_audit_recent(PGconn *conn, int limit, json_t **out, hcr_error *err);

#endif
