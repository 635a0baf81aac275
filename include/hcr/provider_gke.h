/*
 * The GKE provider "gke": hcr's provider interface (hcr/provider.h) over the
 * Kubernetes Engine API, container v1, authenticated with a service-account
 * key through the OAuth 2.0 JWT bearer flow. docs/providers/gke.md has the
 * design.
 *
 * Instance settings (cfg->settings, may be NULL for defaults):
 *   providers.gke.endpoint   base URL of the container API; default
 *                            https://container.googleapis.com (cfg->endpoint,
 *                            when set, is used if this is not)
 *   providers.gke.token_uri  where JWT assertions are exchanged; default the
 *                            key's token_uri, else https://oauth2.googleapis.com/token
 * Access tokens are cached per client_email (and token URI) in the instance
 * until 5 minutes before they expire; they are wiped when dropped. Free an
 * instance only once none of its requests is in flight.
 *
 * Cluster reference: c->location (a region or a zone, required); c->project,
 * else the key's project_id; the cluster's name in GKE is c->cloud_name
 * (c->name when NULL); the opened secret is {"serviceAccountJson": {type,
 * client_email, private_key, private_key_id?, token_uri?, project_id?}}. A
 * reference without those fails at once (HCR_EINVALID, or HCR_EDENIED for a
 * secret without a key); the callback is then not called.
 *
 * The document (Rancher's GKEClusterConfigSpec names):
 *   kubernetesVersion   currentMasterVersion
 *   description, enableKubernetesAlpha, loggingService, monitoringService,
 *   network, subnetwork, clusterIpv4Cidr, locations   as GKE names them
 *   labels              resourceLabels ({} when none)
 *   clusterAddons       {httpLoadBalancing, horizontalPodAutoscaling,
 *                       networkPolicyConfig}: whether each addon is enabled
 *   networkPolicyEnabled  networkPolicy.enabled
 *   privateClusterConfig  {enablePrivateEndpoint, enablePrivateNodes, masterIpv4CidrBlock}
 *   ipAllocationPolicy  {useIpAliases, createSubnetwork, subnetworkName,
 *                       clusterIpv4CidrBlock, clusterSecondaryRangeName,
 *                       servicesIpv4CidrBlock, servicesSecondaryRangeName,
 *                       nodeIpv4CidrBlock}
 *   masterAuthorizedNetworks  {enabled, cidrBlocks: [{cidrBlock, displayName}]}
 *   maintenanceWindow   the daily window's startTime ("" when none)
 *   autopilotConfig     {enabled}
 *   nodePools           [{name, initialNodeCount (the current size), version,
 *                       maxPodsConstraint (a number), autoscaling {enabled,
 *                       minNodeCount, maxNodeCount}, management {autoRepair,
 *                       autoUpgrade}, config {machineType, diskSizeGb, diskType,
 *                       imageType, labels, localSsdCount, oauthScopes, preemptible,
 *                       tags, taints [{key, value, effect}], serviceAccount,
 *                       bootDiskKmsKey}}], sorted by name; STOPPING pools left out
 * busy: the cluster is PROVISIONING, RECONCILING or STOPPING, or a pool is
 * PROVISIONING, RECONCILING or STOPPING.
 *
 * Operations (the catalog's names) and the calls they make; every apply
 * first reads the cluster (clusters.get) so that bodies carry GKE's current
 * label fingerprint, maintenance resourceVersion and the pool members a
 * call replaces as a whole:
 *   UpdateMasterVersion     clusters.update {desiredMasterVersion}; a lower minor
 *                           than the master's is refused (HCR_EINVALID) before
 *                           any mutation
 *   UpdateAddons            clusters.update {desiredAddonsConfig}
 *   UpdateMasterAuthorizedNetworks  clusters.update {desiredMasterAuthorizedNetworksConfig}
 *   UpdateLoggingService, UpdateMonitoringService, UpdateLocations
 *                           clusters.update {desiredLoggingService / ... / desiredLocations}
 *   SetNetworkPolicy        clusters.setNetworkPolicy
 *   SetMaintenancePolicy    clusters.setMaintenancePolicy (with resourceVersion)
 *   SetLabels               clusters.setResourceLabels {all labels, labelFingerprint};
 *                           a fingerprint mismatch re-reads and retries once
 *   CreateNodePool, DeleteNodePool  nodePools.create / delete (gone -> {"done": true})
 *   SetNodePoolSize         nodePools.setSize {nodeCount}
 *   SetNodePoolAutoscaling  nodePools.setAutoscaling
 *   SetNodePoolManagement   nodePools.setManagement
 *   UpdateNodePool          nodePools.update {nodeVersion}
 *   UpdateNodePoolConfig    nodePools.update {labels, taints, tags, machineType,
 *                           diskType, diskSizeGb, imageType}: what changed; a change to
 *                           another config member is refused naming it
 * Whole clusters (gke_create.c):
 *   create   clusters.create with the pools (hcr_gke_body_create_cluster); GKE has no
 *            idempotency token, so a resend that meets ALREADY_EXISTS reads the
 *            cluster and is {"done": true} when it matches the desired labels and
 *            pool names and is not STOPPING or ERROR, else HCR_EINVALID
 *   destroy  clusters.delete; a cluster already gone is {"done": true}
 * Handles: "op:<location>:<operation name>", followed with operations.get.
 *
 * Failures (err->detail is Google's "<STATUS>: <message>"):
 *   HCR_ECONFLICT  FAILED_PRECONDITION because an operation runs on the cluster,
 *                  ABORTED (etag), ALREADY_EXISTS
 *   HCR_EUPSTREAM  429, RESOURCE_EXHAUSTED, 5xx, transport failures, 2xx bodies that
 *                  are not what GKE sends
 *   HCR_EINVALID   400 INVALID_ARGUMENT, other FAILED_PRECONDITION
 *   HCR_ENOTFOUND  404
 *   HCR_EDENIED    401 / 403, and a token endpoint that refuses the key
 */
#ifndef HCR_PROVIDER_GKE_H
#define HCR_PROVIDER_GKE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/engine.h"
#include "hcr/error.h"
#include "hcr/provider.h"

extern const hcr_provider_ops hcr_gke_provider_ops;

/* The GKE field catalog (see providers/gke/gke_catalog.c for the reasons). */
extern const hcr_catalog hcr_gke_catalog;

/*
 * ---- internals for tests -------------------------------------------------------------------
 * Pure functions the provider is built from, exported for tests/unit/test_gke_*.c.
 * Nothing else should call them. Every json_t argument is borrowed; every
 * json_t result is new.
 */

#define HCR_GKE_SCOPE         "https://www.googleapis.com/auth/cloud-platform"
#define HCR_GKE_TOKEN_URI     "https://oauth2.googleapis.com/token"
#define HCR_GKE_ENDPOINT      "https://container.googleapis.com"
#define HCR_GKE_TOKEN_SECONDS 3600

/* base64url without padding (new string). */
char *hcr_gke_b64url(const void *data, size_t len);

/*
 * The signed JWT assertion (new string) of the service account `email`
 * (`key_id`, may be NULL, becomes the header's kid), for audience `aud`,
 * issued at `now` and valid HCR_GKE_TOKEN_SECONDS. `pem` is the PKCS#8 or
 * PKCS#1 RSA private key. HCR_EDENIED when the key cannot be read or used.
 */
int hcr_gke_jwt(char **out, const char *email, const char *key_id, const char *pem, const char *aud,
		long long now, hcr_error *err);

/*
 * Reads a token endpoint's answer: on 200 *token (new, wipe it when done) and
 * *expires_in (seconds, 3600 when absent); otherwise HCR_EDENIED with
 * "<error>: <error_description>" in the detail (HCR_EUPSTREAM for 429 and 5xx,
 * and for a 200 without an access token).
 */
int hcr_gke_token_parse(char **token, long *expires_in, long http, const char *body, size_t len,
			hcr_error *err);

/*
 * The document of a cluster (clusters.get's Cluster). Fails with
 * HCR_EUPSTREAM naming the member when a member hcr reads has the wrong type.
 */
int hcr_gke_normalise(json_t **out, json_t *cluster, hcr_error *err);

/* Whether GKE is busy with the cluster or one of its pools (statuses only). */
bool hcr_gke_busy(json_t *cluster);

/*
 * Maps a non-2xx answer of the container API to hcr's status and fills `out`:
 * the message names `op` ("clusters.get") and `target` ("demo", "demo/pool-a"),
 * the detail is "<STATUS>: <message>", or "HTTP <status>: <start of the body>"
 * when the body is not Google's error. Returns the status (never HCR_OK).
 */
int hcr_gke_parse_error(hcr_error *out, const char *op, const char *target, long status,
			const char *body, size_t len);

/*
 * The start of `body` (which need not end in NUL) in `out`, at most size - 1
 * bytes, anything unprintable as a space; returns `out`. For error details.
 */
const char *hcr_gke_snippet(char *out, size_t size, const char *body, size_t len);

/* Whether a parsed error is GKE's label fingerprint mismatch. */
bool hcr_gke_is_fingerprint_mismatch(const hcr_error *err);

/* A new handle for operation `name` in `location`; NULL when either is not valid. */
char *hcr_gke_handle_format(const char *location, const char *name);
/* Splits a handle; HCR_EINVALID when it is not one this provider made. */
int hcr_gke_handle_parse(char location[64], char name[256], const char *handle, hcr_error *err);

/* Whether `s` is a valid GKE cluster or node pool name. */
bool hcr_gke_valid_name(const char *s);

/*
 * poll_operation's result {"state", "error"?} from an Operation. HCR_EUPSTREAM
 * for a status GKE does not define.
 */
int hcr_gke_poll_result(json_t **out, json_t *operation, hcr_error *err);

/* What apply sends for one planned operation. */
typedef struct hcr_gke_call {
	const char *method; /* "PUT", "POST", "DELETE" */
	const char *api;    /* "clusters.update", ... for messages */
	char suffix
		[200]; /* after the cluster's path: "", ":setResourceLabels", "/nodePools/a:setSize" */
	json_t *body; /* new; NULL for none */
	bool none;    /* nothing to send: the cloud has it already */
} hcr_gke_call;

/*
 * The call for `operation` on `pool` (may be NULL) with `changes` ({path:
 * value or null}); `cluster` is clusters.get's Cluster (the current state).
 * HCR_EINVALID naming the path for a change GKE cannot make.
 */
int hcr_gke_build_call(hcr_gke_call *out, const char *operation, const char *pool, json_t *changes,
		       json_t *cluster, hcr_error *err);
/*
 * The CreateClusterRequest ({"cluster": {...}}) for cluster `name` from the
 * desired document `config` (may be NULL): the document's names become GKE's
 * (kubernetesVersion -> initialClusterVersion, labels -> resourceLabels,
 * clusterAddons -> addonsConfig, maintenanceWindow -> maintenancePolicy, ...)
 * and its nodePools are created with the cluster. HCR_EINVALID naming
 * "config.<field>" for what GKE would surely refuse: no node pool (and no
 * autopilot), a pool without a valid name or named twice, a negative size,
 * autoscaling bounds out of order.
 */
int hcr_gke_body_create_cluster(json_t **out, const char *name, json_t *config, hcr_error *err);
/* check_create: hcr_gke_body_create_cluster's checks, nothing sent. */
int hcr_gke_check_create(json_t *config, hcr_error *err);
/* The NodePool of a nodePools.create for the pool document `pool_doc`. */
int hcr_gke_body_node_pool(json_t **out, const char *name, json_t *pool_doc, const char *path,
			   hcr_error *err);

#endif
