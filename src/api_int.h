/*
 * Internal contract between the API's core (src/api.c) and its handlers
 * (src/api_*.c): the request and response records and the handlers' shape.
 */
#ifndef HCR_API_INT_H
#define HCR_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <time.h>

#include "hcr/api.h"
#include "hcr/auth.h"
#include "hcr/mem.h"

#define HCR_API_MAX_PARAMS 2

struct hcr_api {
	const hcr_config *cfg;
	hcr_store *store;
	const hcr_master_key *key;
	struct MHD_Daemon *daemon;
	char *tls_cert;
	char *tls_key;
};

struct route;

typedef struct hcr_req {
	hcr_api *api;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const struct route *route;
	/* Path parameters ({id}), copies owned by the request. */
	char *params[HCR_API_MAX_PARAMS];
	hcr_buf body;
	bool too_large;
	/* Who is asking: set by authentication. */
	hcr_role role;
	char token_id[40];
	char actor[128];
	char request_id[40];
	/* What a mutating request acted on, for the audit log (e.g. the cluster's name). */
	char target[160];
	struct timespec start;
} hcr_req;

typedef struct hcr_resp {
	int status;
	/* New reference, or NULL for an empty body. */
	json_t *body;
	/* Plain-text body instead of JSON (metrics); owned. */
	char *text;
	const char *content_type;
	/* A streaming body instead (event streams); owned until queued. */
	struct MHD_Response *stream;
	char etag[48];
	char location[256];
} hcr_resp;

typedef int (*hcr_handler)(hcr_req *req, hcr_resp *resp, hcr_error *err);

/* A query-string argument, or NULL (borrowed from libmicrohttpd). */
const char *hcr_api_query(hcr_req *req, const char *name);
/* A request header, or NULL (borrowed). */
const char *hcr_api_header(hcr_req *req, const char *name);
/* Parses the body as a JSON object (new reference in *out). */
int hcr_api_body_object(hcr_req *req, json_t **out, hcr_error *err);
/*
 * Answers 200 with {"items": [...]} from `list`, run on a pooled connection.
 */
int hcr_api_reply_items(hcr_req *req, hcr_resp *resp,
			int (*list)(PGconn *conn, json_t **out, hcr_error *err), hcr_error *err);

/* Refuses the test provider "fake" unless the server enables it (providers.fake.endpoint). */
int hcr_api_provider_enabled(hcr_req *req, const char *provider, hcr_error *err);

/* Sets resp to `status` with `body` (stolen). */
void hcr_api_reply(hcr_resp *resp, int status, json_t *body);

/*
 * Reads an If-Match header holding one version ("\"7\"" or "7"). *out is -1
 * when the header is absent and 0 for "*" (any version); a malformed header
 * fails with "bad_request".
 */
int hcr_api_if_match(hcr_req *req, long long *out, hcr_error *err);

/* Handlers, by file. */
int hcr_api_clusters_create(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_clusters_list(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_clusters_get(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_clusters_delete(hcr_req *req, hcr_resp *resp, hcr_error *err);

int hcr_api_credentials_create(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_credentials_list(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_credentials_get(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_credentials_delete(hcr_req *req, hcr_resp *resp, hcr_error *err);

int hcr_api_config_patch(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_cluster_refresh(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_cluster_drift(hcr_req *req, hcr_resp *resp, hcr_error *err);
/* src/api_discover.c */
int hcr_api_discover(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_kube_credentials(hcr_req *req, hcr_resp *resp, hcr_error *err);
/* src/api_compare.c */
int hcr_api_compare(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_compare_create(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_compare_update(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_drift(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_events_list(hcr_req *req, hcr_resp *resp, hcr_error *err);

/*
 * A cluster with its sync view: the row's JSON plus desired, applied,
 * effective, drift, per-field state and the operation in flight.
 */
int hcr_api_cluster_view(PGconn *conn, const char *id_or_name, json_t **out, long long *version,
			 hcr_error *err);

int hcr_api_tokens_create(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_tokens_list(hcr_req *req, hcr_resp *resp, hcr_error *err);
int hcr_api_tokens_delete(hcr_req *req, hcr_resp *resp, hcr_error *err);

#endif
