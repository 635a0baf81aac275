/*
 * The provider interface: one constant operations table per cloud
 * (providers/<cloud>/), behind which each cloud's wire protocol, auth and
 * field catalog live. The reconciler calls providers only through it.
 *
 * Providers never block: an operation starts requests on the shared
 * hcr_http client (libcurl multi on the reconciler's libev loop), returns
 * HCR_EAGAIN, and later calls its callback exactly once, on the loop's thread.
 * If it returns anything else, the callback is not called.
 */
#ifndef HCR_PROVIDER_H
#define HCR_PROVIDER_H

#include <jansson.h>

#include "hcr/engine.h"
#include "hcr/error.h"
#include "hcr/http.h"

#define HCR_PROVIDER_ABI 2

struct hcr_config;

typedef struct hcr_provider_ops hcr_provider_ops;

/* Every provider instance starts with this; providers embed it as their first member. */
typedef struct hcr_provider {
	const hcr_provider_ops *ops;
} hcr_provider;

/* What a provider needs to find and authenticate to one cluster. Everything is borrowed. */
typedef struct hcr_cluster_ref {
	const char *id;   /* hcr's id */
	const char *name; /* hcr's name */
	const char *cloud_name;
	const char *region;         /* eks */
	const char *location;       /* aks, gke */
	const char *resource_group; /* aks */
	const char *project;        /* gke */
	json_t *secret;             /* the opened credential section; never log it */
} hcr_cluster_ref;

/*
 * Results (borrowed, valid during the callback):
 *   observe:        {"exists": bool, "busy": bool, "document": {...} (when exists)}
 *   apply, create,
 *   destroy:        {"handle": "<operation handle>"} or {"done": true} when the
 *                   cloud finished synchronously
 *   poll_operation: {"state": "running" | "succeeded" | "failed" | "cancelled",
 *                    "error": {"code", "message"} (when failed)}
 *   list:           {"clusters": [{"cloudName", ...location fields, "status"?,
 *                    "version"?}]}
 *   kube_credentials: {"server": "https://...", "certificateAuthorityData": "<base64 PEM>"
 *                    (may be absent), "token": "<bearer token>", "expiresAt": <epoch s>}
 * Any result may also carry "retryAfterS": <seconds> (the cloud's Retry-After);
 * on a failure `result` is then {"retryAfterS": n} instead of NULL. The reconciler
 * does not poll the cluster or its operation again sooner.
 * Failures: `status` is not HCR_OK and `err` holds the cloud's code (err->code is
 * hcr's code; the cloud's own code and message are in err->detail):
 *   HCR_ECONFLICT  the cloud is busy with another update: wait, do not fail the change
 *   HCR_EUPSTREAM  transient (5xx, throttling, timeouts): retry with back-off
 *   HCR_EINVALID   the cloud refused the change: fail it with the cloud's message
 *   HCR_ENOTFOUND  the cluster (or operation) does not exist
 *   HCR_EDENIED    the credential was refused
 */
typedef void (*hcr_provider_cb)(int status, json_t *result, const hcr_error *err, void *payload);

/* Settings a provider instance is created with. */
typedef struct hcr_provider_config {
	hcr_http *http;       /* shared client, borrowed */
	const char *endpoint; /* API base URL override (emulators, sovereign clouds); may be NULL */
	long timeout_ms;      /* per request */
	/*
	 * The whole configuration, borrowed for the instance's life (may be NULL:
	 * defaults). Each provider reads its own providers.<name>.* settings.
	 */
	const struct hcr_config *settings;
} hcr_provider_config;

struct hcr_provider_ops {
	unsigned int abi; /* HCR_PROVIDER_ABI */
	const char *name; /* "eks", "aks", "gke", "fake" */
	const hcr_catalog *catalog;
	int (*create_instance)(hcr_provider **out, const hcr_provider_config *cfg, hcr_error *err);
	void (*free_instance)(hcr_provider *p);
	int (*observe)(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
		       void *payload);
	/*
	 * `token` is the operation's id in hcr: sent as the cloud's idempotency
	 * token (EKS clientRequestToken, ...) so that re-sending an operation whose
	 * first attempt may have reached the cloud never applies it twice.
	 */
	int (*apply)(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		     const char *token, hcr_provider_cb cb, void *payload);
	int (*poll_operation)(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			      hcr_provider_cb cb, void *payload);
	int (*create)(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		      hcr_provider_cb cb, void *payload);
	int (*destroy)(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
		       void *payload);
	int (*list)(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
		    void *payload);
	/*
	 * Credentials for the cluster's Kubernetes API (the sync worker's). NULL
	 * when the provider has none to give.
	 */
	int (*kube_credentials)(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
				void *payload);
	/*
	 * Checks the configuration of a cluster to create (`config`, borrowed; may
	 * be NULL) before it is registered: HCR_EINVALID naming the field
	 * ("config.serviceRole") when the cloud would surely refuse it. Synchronous,
	 * no I/O. NULL: no check.
	 */
	int (*check_create)(json_t *config, hcr_error *err);
};

/* The built-in provider table for `name`, or NULL. */
const hcr_provider_ops *hcr_provider_lookup(const char *name);

#endif
