/*
 * The AKS provider "aks": hcr's provider interface (hcr/provider.h) over Azure
 * Resource Manager (Microsoft.ContainerService, api-version 2025-10-01), with
 * bearer tokens from Azure AD's client-credentials flow.
 * docs/providers/aks.md has the design.
 *
 * Instance settings (cfg->settings, may be NULL for defaults):
 *   providers.aks.endpoint   ARM's base URL; default https://management.azure.com
 *                            (cfg->endpoint, when set, is used if this is not)
 *   providers.aks.authority  Azure AD's base URL; default https://login.microsoftonline.com
 * The token scope is "<endpoint>/.default" for an https "management.*" endpoint
 * (sovereign clouds), else https://management.azure.com/.default (emulators).
 * Tokens are cached per (tenant, client) in the instance until 5 minutes
 * before they expire, and wiped when dropped. Free an instance only once
 * none of its requests is in flight.
 *
 * Cluster reference: the opened secret is {"tenantId", "clientId",
 * "clientSecret", "subscriptionId"}; c->resource_group is required; the
 * cluster's name in Azure is c->cloud_name (c->name when NULL). A reference
 * without them fails at once (HCR_EDENIED for the secret, HCR_EINVALID for the
 * rest); the callback is then not called.
 *
 * The document (Rancher's AKSClusterConfigSpec names; only what ARM reports):
 *   kubernetesVersion     properties.kubernetesVersion
 *   tags                  tags ({} when none)
 *   dnsPrefix, nodeResourceGroup
 *   privateCluster        apiServerAccessProfile.enablePrivateCluster (false when absent)
 *   authorizedIpRanges    apiServerAccessProfile.authorizedIPRanges ([] when none)
 *   httpApplicationRouting, monitoring
 *                         addonProfiles.httpApplicationRouting / omsagent .enabled
 *                         (keys matched case-insensitively; false when absent)
 *   networkPlugin, networkPolicy, serviceCidr, dnsServiceIp, podCidr,
 *   loadBalancerSku, outboundType
 *                         networkProfile.* (when ARM reports them)
 *   linuxAdminUsername, sshPublicKey
 *                         linuxProfile.adminUsername / ssh.publicKeys[0].keyData
 *   nodePools             [{name, count, enableAutoScaling, minCount, maxCount, maxPods,
 *                         vmSize, osDiskSizeGB, osDiskType, mode, osType,
 *                         orchestratorVersion, availabilityZones, maxSurge
 *                         (upgradeSettings.maxSurge), vnetSubnetID, nodeLabels ({}),
 *                         nodeTaints ([])}] sorted by name. **count is left out while
 *                         enableAutoScaling is true**: the autoscaler owns it.
 * busy: provisioningState is not Succeeded, Failed or Canceled, or a pool's is not.
 *
 * Operations (the catalog's names) and the calls they make:
 *   UpdateCluster    GET the cluster, change the managed members in its body, drop
 *                    read-only members and agentPoolProfiles, PUT with If-Match: <eTag>;
 *                    412 (changed in between) re-reads and retries once
 *   UpdateTags       GET the cluster, PATCH {"tags": current tags with the changes}
 *   UpdateAgentPool  GET the pool, change it, PUT with If-Match (412: once more). With
 *                    autoscaling on, count is the pool's own (clamped into minCount..
 *                    maxCount), never hcr's; a count change on such a pool is refused
 *   CreateAgentPool  PUT the pool with If-None-Match: * (412: it exists -> track it)
 *   DeleteAgentPool  GET the cluster (the last System pool is refused), DELETE
 * ARM has no idempotency token: `token` is sent as x-ms-client-request-id, and
 * If-Match keeps a resent write from overwriting a newer cluster.
 *
 * Handles (printable, under 400 bytes):
 *   aop:<path?query>   the Azure-AsyncOperation URL, relative to the endpoint
 *   loc:<path?query>   the Location URL (202 running, 200/204 done)
 *   res:<pool>         no usable URL: the cluster's ("res:") or pool's provisioningState
 *   del:<pool>         the same for a delete: 404 is done
 * An answer with no operation header whose provisioningState is Succeeded is
 * {"done": true}. Retry-After is not honoured: the reconciler polls at its
 * reconcile.op_poll_ms.
 *
 * create: one PUT of the whole managed cluster (location c->location, a
 * SystemAssigned identity, the desired document's fields and every pool) with
 * If-None-Match: * (412: an earlier attempt created it -> "res:"). destroy:
 * DELETE, tracked ("del:" polls until 404). list: managedClusters of
 * scope->resource_group, else of the subscription, following nextLink ->
 * {"clusters": [{"cloudName", "resourceGroup", "location", "status",
 * "version"}]}.
 *
 * kube_credentials: POST <cluster>/listClusterUserCredential (the cluster user's
 * credential, never the admin's) -> the first of {"kubeconfigs": [{"name",
 * "value"}]}, base64-decoded and read as YAML: the current context's cluster
 * gives "server" and "certificateAuthorityData" (absent when the kubeconfig has
 * none), its user "token". The static token carries no expiry: "expiresAt" is
 * now + 3600, so the sync worker asks again within the hour. A user without a
 * static token (Azure AD integration with exec / azure-cli login) is
 * HCR_EINVALID; a kubeconfig hcr cannot read is HCR_EUPSTREAM; local accounts
 * disabled is ARM's 400 (HCR_EINVALID). Every copy of the kubeconfig and token
 * hcr makes is wiped when freed; neither is logged nor put in an error.
 *
 * Failures (err->detail is ARM's "<code>: <message>"):
 *   HCR_ECONFLICT  409 (OperationNotAllowed: another operation is in progress), 412
 *   HCR_EUPSTREAM  429, 5xx, transport failures, 2xx bodies that are not ARM's
 *   HCR_EINVALID   400 and other 4xx
 *   HCR_ENOTFOUND  404
 *   HCR_EDENIED    401 / 403, and Azure AD refusing the credential (AADSTS...)
 */
#ifndef HCR_PROVIDER_AKS_H
#define HCR_PROVIDER_AKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hcr/engine.h"
#include "hcr/error.h"
#include "hcr/provider.h"

#define HCR_AKS_API_VERSION "2025-10-01"

extern const hcr_provider_ops hcr_aks_provider_ops;

/*
 * The provider's check_create: refuses, with HCR_EINVALID naming the field
 * ("config.nodePools"), a configuration without pools, without a System pool,
 * or with a pool name AKS does not take. `config` is borrowed, may be NULL.
 */
int hcr_aks_check_create(json_t *config, hcr_error *err);

/* The AKS field catalog (see providers/aks/aks_catalog.c for the reasons). */
extern const hcr_catalog hcr_aks_catalog;

/*
 * ---- internals for tests -------------------------------------------------------------------
 * Pure functions the provider is built from, exported for tests/unit/test_aks_*.c.
 * Every json_t argument is borrowed; every json_t result is new.
 */

/*
 * The document of a managed cluster (GET's body). HCR_EUPSTREAM naming the
 * member when one hcr reads has the wrong type.
 */
int hcr_aks_normalise(json_t **out, json_t *cluster, hcr_error *err);
/* Whether AKS is busy with the cluster or one of its pools. */
bool hcr_aks_busy(json_t *cluster);
/* Whether a provisioningState is terminal (Succeeded, Failed, Canceled; any case). */
bool hcr_aks_terminal(const char *state);

/*
 * Maps a non-2xx ARM answer to hcr's status and fills `out`: the message names
 * `op` and `target`; the detail is "<code>: <message>", or "HTTP <status>:
 * <start of the body>" without an ARM error. `code` (may be NULL) receives
 * ARM's code. Returns the status (never HCR_OK).
 */
int hcr_aks_parse_error(hcr_error *out, char *code, size_t code_size, const char *op,
			const char *target, long status, const char *body, size_t len);
/* The same for Azure AD's token endpoint ({"error", "error_description"}). */
int hcr_aks_parse_token_error(hcr_error *out, long status, const char *body, size_t len);

/* x-www-form-urlencoded escaping (RFC 3986 unreserved kept), new string. */
char *hcr_aks_form_escape(const char *s);

/*
 * A handle for an operation: the Azure-AsyncOperation URL `async` or else the
 * Location URL `location` (either may be NULL) when it lies under `endpoint`
 * and fits, else "res:<pool>" (or "del:<pool>" when `deleting`). New string.
 */
char *hcr_aks_handle_make(const char *endpoint, const char *async, const char *location,
			  const char *pool, bool deleting);

typedef enum { HCR_AKS_H_AOP = 0, HCR_AKS_H_LOC, HCR_AKS_H_RES, HCR_AKS_H_DEL } hcr_aks_handle_kind;

typedef struct hcr_aks_handle {
	hcr_aks_handle_kind kind;
	char arg[400]; /* the path and query (aop, loc) or the pool ("" for the cluster) */
} hcr_aks_handle;

/* Parses a handle; HCR_EINVALID when it is not one this provider made. */
int hcr_aks_handle_parse(hcr_aks_handle *out, const char *handle, hcr_error *err);

/* poll_operation's result from an operation-status body {"status", "error"?}. */
int hcr_aks_poll_status(json_t **out, json_t *status, hcr_error *err);
/* ... and from a resource's provisioningState (NULL resource: gone). */
int hcr_aks_poll_resource(json_t **out, json_t *resource, bool deleting, hcr_error *err);

/* Whether `s` is a valid agent pool name (^[a-z][a-z0-9]{0,11}$). */
bool hcr_aks_valid_pool_name(const char *s);

/*
 * Request bodies. `changes` is the planned operation's {path: value or null}.
 * HCR_EINVALID names the offending path.
 *   cluster_put: `cluster` (GET's body) changed in place into the PUT body
 *   tags:        {"tags": `current` with the changes}
 *   pool_put:    `pool` (agentPools GET's body) into the PUT body {"properties"}
 *   pool_create: {"properties"} for the pool document `doc`
 */
int hcr_aks_body_cluster_put(json_t **out, json_t *cluster, json_t *changes, hcr_error *err);
int hcr_aks_body_tags(json_t **out, json_t *current, json_t *changes, hcr_error *err);
int hcr_aks_body_pool_put(json_t **out, json_t *pool, const char *name, json_t *changes,
			  hcr_error *err);
int hcr_aks_body_pool_create(json_t **out, const char *name, json_t *doc, hcr_error *err);
/*
 * Whether deleting pool `name` would leave `cluster` (GET's body) without a
 * System pool.
 */
bool hcr_aks_last_system_pool(json_t *cluster, const char *name);

/*
 * kube_credentials' result from listClusterUserCredential's kubeconfigs[i].value
 * (`b64`, base64 of a kubeconfig): {"server", "certificateAuthorityData" (when
 * the cluster has one), "token", "expiresAt": now + 3600}, from the current
 * context's cluster and user. HCR_EUPSTREAM when `b64` is not base64, not
 * YAML, or lacks the current context, its cluster, an http(s) server or its
 * user; HCR_EINVALID when the user has no static token (exec / azure-cli auth).
 * Error messages never hold the kubeconfig's text.
 */
int hcr_aks_parse_kubeconfig(json_t **out, const char *b64, time_t now, hcr_error *err);

#endif
