/*
 * Where the sync worker, the compare and the API find a cluster's Kubernetes
 * API by name: a cluster registered in hcr (its credentials come from its
 * provider's kube_credentials, e.g. an EKS token or an AKS user kubeconfig),
 * or a context of a kubeconfig.
 *
 * Names: "cluster:NAME" is a registered cluster (name or id), "context:NAME"
 * a kubeconfig context; a bare NAME is whichever of the two exists, and is
 * refused when both do (say which with the prefix).
 *
 * Calls block (provider calls run on a private loop, see hcr/provider_run.h):
 * use them from the CLI, the API's request threads or the sync worker's
 * threads, never from the reconciler's loop.
 */
#ifndef HCR_KUBE_TARGETS_H
#define HCR_KUBE_TARGETS_H

#include <jansson.h>

#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/kube.h"
#include "hcr/store.h"

typedef struct hcr_kube_targets {
	const hcr_config *cfg;            /* borrowed; provider settings; may be NULL */
	hcr_store *store;                 /* borrowed; NULL: no registered clusters */
	const hcr_master_key *key;        /* borrowed; needed with `store` */
	const hcr_kubeconfig *kubeconfig; /* borrowed; NULL: no contexts */
	const hcr_kube_opts *opts;        /* connection options; may be NULL */
} hcr_kube_targets;

/*
 * Opens the Kubernetes API of target `name` (see above). No request is made
 * to the cluster; a registered cluster's provider is asked for credentials.
 * HCR_ENOTFOUND names the target when neither a cluster nor a context has
 * that name; HCR_EINVALID for an ambiguous bare name.
 */
int hcr_kube_target_open(hcr_kube **out, const hcr_kube_targets *t, const char *name,
			 hcr_error *err);

/*
 * The Kubernetes credentials of registered cluster `cluster` (name or id),
 * from its provider: *out is new {"server", "certificateAuthorityData"?,
 * "token", "expiresAt"}; wipe the token when done. `row` (may be NULL)
 * receives the cluster's API representation (new). Errors: HCR_ENOTFOUND
 * for an unknown cluster; HCR_ECONFLICT when its provider has no Kubernetes
 * credentials; the cloud's refusal as HCR_EINVALID and its silence as
 * HCR_EUPSTREAM (see hcr_cloud_error).
 */
int hcr_cluster_kube_credentials(json_t **out, json_t **row, hcr_store *store,
				 const hcr_config *cfg, const hcr_master_key *key,
				 const char *cluster, hcr_error *err);

/*
 * A failed provider call (status `rc`, the provider's `cloud` error) as an
 * error for the user: says it was the cloud and keeps its words. Returns
 * HCR_EUPSTREAM (the cloud did not answer) or HCR_EINVALID (it refused).
 */
int hcr_cloud_error(hcr_error *err, int rc, const hcr_error *cloud, const char *provider,
		    const char *credential);

#endif
