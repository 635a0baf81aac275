/*
 * Inside the GKE provider: the instance (settings and the access-token
 * cache), the "job" every provider call runs as, and what its files share.
 * Not a public contract: only the files of providers/gke include it.
 *
 * A job is one call of the provider interface. It holds the service account
 * (the key is wiped when freed), the cluster's project, location and name,
 * and runs its requests one after the other: first, when the cache has no
 * token for the account, the token request; then the step the operation
 * started with. Each request names a `done` function that reads the reply and
 * may send the next request, set the result or fail the job. When a reply is
 * read and nothing new was sent, the job ends: the provider callback runs
 * exactly once, with the result or the failure, and the job is freed.
 */
#ifndef HCR_GKE_INT_H
#define HCR_GKE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "hcr/error.h"
#include "hcr/http.h"
#include "hcr/provider.h"
#include "hcr/provider_gke.h"

#define GKE_TOKEN_CACHE 256 /* service accounts one instance keeps a token for */
#define GKE_TOKEN_SLACK 300 /* a token is renewed this many seconds before it expires */

typedef struct gke_token {
	char *key;   /* client_email " " token URI */
	char *token; /* wiped when dropped */
	time_t expires;
	time_t used;
} gke_token;

typedef struct gke_provider {
	hcr_provider base; /* first: hcr_provider * and gke_provider * convert */
	hcr_http *http;
	long timeout_ms;
	char *endpoint;  /* base URL without a final '/' */
	char *token_uri; /* the setting, or NULL: the key's */
	gke_token tokens[GKE_TOKEN_CACHE];
} gke_provider;

typedef struct gke_job gke_job;

/* What one request brought back, for its `done` function. */
typedef struct gke_reply {
	int status;    /* HCR_OK: a 2xx whose body is a JSON object */
	long http;     /* HTTP status; 0 when no response arrived */
	json_t *body;  /* the 2xx body, borrowed for the call */
	hcr_error err; /* when status is not HCR_OK */
} gke_reply;

typedef void (*gke_done_fn)(gke_job *j, gke_reply *r);
typedef void (*gke_step_fn)(gke_job *j);

struct gke_job {
	gke_provider *gp;
	const char *kind; /* "observe", "apply" ...: for logs */
	hcr_provider_cb cb;
	void *payload;
	char *email, *key_id, *key, *token_uri, *cache_key; /* key wiped when freed */
	char *access;                                       /* the bearer token; wiped */
	time_t access_expires;
	char *project, *location, *name;
	char *base; /* ".../v1/projects/P/locations/L" */
	const char *op_api;
	char *target;
	bool inflight;
	bool failed;
	int fail_status;
	hcr_error fail_err;
	json_t *result;
	char snip[201];
	gke_step_fn first; /* the step after the token */
	gke_done_fn done;
	/* what the steps keep */
	json_t *cluster;
	json_t *changes;
	char *operation;
	char *pool;
	char *handle_loc;
	int retries;
};

/* ---- gke_call.c ------------------------------------------------------------------------ */

/*
 * A new job for `c`. need_name: the reference must name a cluster (list
 * does not). HCR_EDENIED for a secret without a service-account key,
 * HCR_EINVALID for a bad location, project or name; nothing called back.
 */
int hcr_gke_job_new(gke_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err);
void hcr_gke_job_free(gke_job *j);
/*
 * Starts the job: gets a token (cached or new) and runs `first`, which must
 * send a request. Returns HCR_EAGAIN, or frees the job and returns the error
 * when nothing could be sent (no callback).
 */
int hcr_gke_job_start(gke_job *j, gke_step_fn first, hcr_error *err);
/*
 * Sends one request to the container API: `path` after the job's base
 * ("/clusters/demo"), `body` borrowed (NULL: none). `api` and `target` name
 * it in messages (target NULL: the cluster).
 */
void hcr_gke_send(gke_job *j, const char *api, const char *target, const char *method,
		  const char *path, json_t *body, gke_done_fn done);
void hcr_gke_fail(gke_job *j, int status, const hcr_error *err);
void hcr_gke_unexpected(gke_job *j, const char *what);
/* Sets the job's result (stolen). */
void hcr_gke_result(gke_job *j, json_t *result);
/* A path segment, percent-encoded (new string). */
char *hcr_gke_seg(const char *s);
/* clusters.get of the job's cluster. */
void hcr_gke_get_cluster(gke_job *j, gke_done_fn done);

/* ---- the operations -------------------------------------------------------------------- */

int hcr_gke_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
int hcr_gke_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload);
int hcr_gke_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload);
int hcr_gke_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload);
int hcr_gke_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload);
int hcr_gke_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload);
int hcr_gke_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
/* A mutation's Operation answer -> {"handle"}, or the job fails. */
void hcr_gke_operation_done(gke_job *j, gke_reply *r);

#endif
