/*
 * Inside the EKS provider: the instance, the "job" every provider call runs
 * as, and helpers shared by its files. Not a public contract: only
 * the files of providers/eks include it.
 *
 * A job is one call of the provider interface (observe, apply, ...). It holds
 * the credential (wiped when freed), the cluster's region and name, and a queue
 * of EKS requests of which at most EKS_FANOUT are in flight. Each request names
 * a `done` function that reads its reply and may queue more requests, set the
 * job's result, or fail the job. When nothing is in flight or queued, the job
 * runs its `next` step if one is set, else it ends: the provider callback runs
 * exactly once, with the result or the first failure, and the job is freed.
 */
#ifndef HCR_EKS_INT_H
#define HCR_EKS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "hcr/error.h"
#include "hcr/http.h"
#include "hcr/provider.h"
#include "hcr/provider_eks.h"
#include "hcr/sigv4.h"

#define EKS_FANOUT      8    /* requests one job has in flight at once */
#define EKS_PAGE_SIZE   100  /* maxResults of every list call (EKS's maximum) */
#define EKS_MAX_PAGES   1000 /* a list that does not end after this is broken */
#define EKS_MAX_ITEMS   5000 /* node groups, updates or clusters one job handles */
#define EKS_UC_CLUSTERS 10000
#define EKS_UC_PER      512

typedef struct eks_provider {
	hcr_provider base; /* first: hcr_provider * and eks_provider * convert */
	hcr_http *http;
	long timeout_ms;
	char *endpoint;     /* EKS base URL template, or NULL for AWS */
	char *sts_endpoint; /* STS base URL template, or NULL for AWS */
	bool list_updates;
	hcr_eks_ucache *updates;
} eks_provider;

typedef struct eks_job eks_job;

/* What one request brought back, for its `done` function. */
typedef struct eks_reply {
	int status;    /* HCR_OK: a 2xx whose body is a JSON object */
	long http;     /* HTTP status; 0 when no response arrived */
	char code[96]; /* EKS's error code, "" when none */
	json_t *body;  /* the 2xx body, borrowed for the call */
	hcr_error err; /* when status is not HCR_OK */
} eks_reply;

typedef void (*eks_done_fn)(eks_job *j, eks_reply *r, intptr_t tag);
typedef void (*eks_step_fn)(eks_job *j);

typedef struct eks_request {
	const char *op;     /* "DescribeCluster": for messages and logs */
	const char *target; /* "demo", "demo/ng-a"; NULL: the job's cluster */
	const char *method;
	const char *path; /* encoded, without the base URL's own path: "/clusters/demo" */
	const hcr_sigv4_param *query;
	size_t nquery;
	json_t *body; /* borrowed; NULL for none */
} eks_request;

/* A list call followed to its last page (ListNodegroups, ListUpdates, ListClusters). */
typedef struct eks_pager {
	const char *op;
	char *path;
	const char *member; /* "nodegroups", "updateIds", "clusters" */
	void (*item)(eks_job *j, const char *name);
	char *next;
	unsigned pages;
	size_t items;
} eks_pager;

struct eks_job {
	eks_provider *ep;
	const char *kind; /* "observe", "apply" ...: for logs */
	hcr_provider_cb cb;
	void *payload;
	hcr_sigv4_creds creds; /* owned copies; wiped when freed */
	char *region;
	char *name;   /* the cluster's name in EKS */
	char *origin; /* "https://eks.eu-west-1.amazonaws.com" */
	char *prefix; /* the base URL's path, "" or "/eks" */
	char *host;   /* the Host header */
	char *enc;    /* the cluster's name, encoded for a path */
	struct eks_queued *qhead, *qtail;
	unsigned inflight;
	bool failed;
	int fail_status;
	hcr_error fail_err;
	json_t *result; /* set: the job ends with it */
	char snip[201]; /* the start of the reply being read, for messages */
	eks_step_fn next;
	eks_pager pagers[2];
	/* what the steps keep; each call uses what it needs */
	json_t *cluster;    /* DescribeCluster's "cluster" */
	json_t *nodegroups; /* DescribeNodegroup objects */
	json_t *names;      /* names from a list */
	json_t *changes;    /* apply: the planned changes */
	json_t *extra;      /* anything else the step needs (a body, a set of tags) */
	char *pool;
	char *token;
	char *op;
	bool flag;
	int count;
};

/* ---- eks_call.c ------------------------------------------------------------------------ */

/*
 * A new job for cluster reference `c` (a list passes its scope). Fails with
 * HCR_EDENIED when the secret lacks keys, HCR_EINVALID without a region or
 * (when `need_name`) a name; nothing is called back then.
 */
int hcr_eks_job_new(eks_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err);
void hcr_eks_job_free(eks_job *j);
/* Queues a request; its reply goes to `done` with `tag`. */
void hcr_eks_request(eks_job *j, const eks_request *rq, eks_done_fn done, intptr_t tag);
/*
 * Sends what the job queued. Returns HCR_EAGAIN, or, when not even the first
 * request could be sent, frees the job and returns the error (no callback).
 */
int hcr_eks_job_start(eks_job *j, hcr_error *err);
/* Fails the job (the first failure wins); `err` is copied. */
void hcr_eks_fail(eks_job *j, int status, const hcr_error *err);
void hcr_eks_fail_reply(eks_job *j, const eks_reply *r);
/* Fails the job with HCR_EUPSTREAM: "unexpected response from EKS for <op> <target>". */
void hcr_eks_unexpected(eks_job *j, const char *op, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets the job's result (stolen). */
void hcr_eks_result(eks_job *j, json_t *result);
/* Starts a list call into pager `slot`, items passed to `item` as each page arrives. */
void hcr_eks_list(eks_job *j, int slot, const char *op, char *path, const char *member,
		  void (*item)(eks_job *j, const char *name));
/* Logs a call that did not start (the interface has no error record for it). */
int hcr_eks_not_started(int rc, const hcr_error *err, const char *what);
/* A path segment: the label percent-encoded (new string). */
char *hcr_eks_seg(const char *label);
/* "/clusters/<name>" + suffix (new string). */
char *hcr_eks_cluster_path(const eks_job *j, const char *suffix);
/* Builds a base URL from a template ("{region}" replaced) or the AWS default. */
char *hcr_eks_base_url(const char *tmpl, const char *service, const char *region);
bool hcr_eks_valid_region(const char *region);

/* Job helpers for the describe calls that several operations start with. */
void hcr_eks_describe_cluster(eks_job *j, eks_done_fn done);
void hcr_eks_describe_nodegroup(eks_job *j, const char *pool, eks_done_fn done, intptr_t tag);
/* Takes r->body's "cluster" into j->cluster; false (job failed) when it is not there. */
bool hcr_eks_take_cluster(eks_job *j, eks_reply *r);

/* ---- eks_bodies.c ---------------------------------------------------------------------- */

int hcr_eks_bad_change(hcr_error *err, const char *path, const char *what);
int hcr_eks_not_part(hcr_error *err, const char *path, const char *op);
/* The part of `path` after "nodeGroups[<pool>].", or NULL. */
const char *hcr_eks_pool_sub(const char *path, const char *pool);
int hcr_eks_strings(json_t *v, const char *path, hcr_error *err);
int hcr_eks_check_taints(json_t *taints, const char *path, hcr_error *err);
/* LaunchTemplateSpecification from Rancher's {id, name, version}. */
int hcr_eks_launch_template(json_t **out, json_t *lt, const char *path, hcr_error *err);

/* ---- the operations -------------------------------------------------------------------- */

int hcr_eks_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
int hcr_eks_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload);
int hcr_eks_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload);
int hcr_eks_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload);
int hcr_eks_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload);
int hcr_eks_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload);
int hcr_eks_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload);
/* destroy's steps, shared with poll_operation of "delete:". */
void hcr_eks_delete_step(eks_job *j);

#endif
