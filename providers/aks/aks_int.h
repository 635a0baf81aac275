/*
 * Inside the AKS provider: the instance (settings and the token cache), the
 * "job" every provider call runs as, and helpers shared by its files. Not a
 * public contract: only the files of providers/aks include it.
 *
 * A job is one call of the provider interface. It holds the credential (the
 * client secret and the bearer token are wiped when freed) and at most one
 * ARM request in flight: AKS calls are sequential by nature (GET, then
 * PUT with the eTag read). Each request names a `done` function that reads
 * its reply and may send the next request, set the job's result or fail the
 * job. When a reply leaves nothing in flight, the job ends: the provider
 * callback runs exactly once and the job is freed.
 */
#ifndef HCR_AKS_INT_H
#define HCR_AKS_INT_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "hcr/error.h"
#include "hcr/http.h"
#include "hcr/provider.h"
#include "hcr/provider_aks.h"

#define AKS_TOKENS     64 /* (tenant, client) pairs whose token an instance keeps */
#define AKS_TOKEN_SKEW 300

typedef struct aks_token {
	char *tenant, *client, *token;
	time_t expires;
} aks_token;

typedef struct aks_provider {
	hcr_provider base; /* first: hcr_provider * and aks_provider * convert */
	hcr_http *http;
	long timeout_ms;
	char *endpoint;  /* ARM base URL, no trailing '/' */
	char *authority; /* Azure AD base URL, no trailing '/' */
	char *scope;     /* "<ARM audience>/.default" */
	aks_token tokens[AKS_TOKENS];
} aks_provider;

typedef struct aks_job aks_job;

/* What one request brought back, for its `done` function (all borrowed for the call). */
typedef struct aks_reply {
	int status;    /* HCR_OK: a 2xx whose body is empty or a JSON object */
	long http;     /* HTTP status; 0 when no response arrived */
	char code[96]; /* ARM's error code, "" when none */
	json_t *body;  /* the 2xx body, NULL when empty */
	const char *etag, *async, *location;
	hcr_error err; /* when status is not HCR_OK */
} aks_reply;

typedef void (*aks_done_fn)(aks_job *j, aks_reply *r);
typedef void (*aks_step_fn)(aks_job *j);

struct aks_job {
	aks_provider *ap;
	const char *kind; /* "observe", "apply" ...: for logs */
	hcr_provider_cb cb;
	void *payload;
	char *tenant, *client, *secret, *sub; /* secret: wiped when freed */
	char *rg, *name;                      /* resource group, cluster name */
	char *bearer;                         /* "Bearer <token>", wiped when freed */
	char *base;                           /* ".../managedClusters/<name>" path */
	aks_step_fn first;                    /* runs once a token is at hand */
	bool inflight, failed;
	long retry_after; /* the longest Retry-After ARM or Azure AD sent, seconds; 0: none */
	int fail_status;
	hcr_error fail_err;
	json_t *result;
	char snip[201];
	const char *op; /* for messages: "GetManagedCluster" */
	/* what the steps keep */
	json_t *changes;
	json_t *extra;
	char *pool;
	char *token;
	char *opname;
	int retries;
};

/* ---- aks_call.c ------------------------------------------------------------------------ */

/*
 * A new job for `c`. HCR_EDENIED when the secret lacks a member, HCR_EINVALID
 * without a resource group or (need_name) a cluster name.
 */
int hcr_aks_job_new(aks_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err);
/*
 * Gets a token (cached or from Azure AD), then runs `first`, which sends the
 * first request. Returns HCR_EAGAIN, or an error (job freed, no callback).
 */
int hcr_aks_job_start(aks_job *j, aks_step_fn first, hcr_error *err);
/*
 * Sends one request: `path` is relative to the endpoint and holds its query
 * (api-version included); `body` borrowed (NULL: none); `if_match` /
 * `if_none_match` may be NULL. Failing to send fails the job.
 */
void hcr_aks_send(aks_job *j, const char *op, const char *method, const char *path, json_t *body,
		  const char *if_match, const char *if_none_match, aks_done_fn done);
/* "<cluster path><suffix>?api-version=..." (new string). */
char *hcr_aks_path(const aks_job *j, const char *suffix);
void hcr_aks_fail(aks_job *j, int status, const hcr_error *err);
void hcr_aks_fail_reply(aks_job *j, const aks_reply *r);
/* Fails the job with HCR_EUPSTREAM: "unexpected response from ARM for <op>". */
void hcr_aks_unexpected(aks_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hcr_aks_result(aks_job *j, json_t *result); /* stolen */
void hcr_aks_job_free(aks_job *j);
/* Drops every cached token (wiped). */
void hcr_aks_tokens_free(aks_provider *ap);

/* ---- the operations (aks_ops.c, aks_apply.c) ------------------------------------------- */

int hcr_aks_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
int hcr_aks_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload);
int hcr_aks_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload);
int hcr_aks_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload);
int hcr_aks_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
int hcr_aks_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload);
/* aks_kubeconfig.c */
int hcr_aks_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload);
/* Ends an operation call from its write's reply: a handle, or {"done": true}. */
void hcr_aks_track(aks_job *j, aks_reply *r, bool deleting);

#endif
