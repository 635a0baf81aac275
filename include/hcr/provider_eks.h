/*
 * The EKS provider "eks": hcr's provider interface (hcr/provider.h) over the
 * EKS REST-JSON API (2017-11-01), every request signed with AWS Signature
 * Version 4 (hcr/sigv4.h). docs/providers/eks.md has the design.
 *
 * Instance settings (cfg->settings, may be NULL for defaults):
 *   providers.eks.endpoint      base URL of the EKS API; "{region}" in it is
 *                               replaced by the cluster's region; default
 *                               https://eks.<region>.amazonaws.com (cfg->endpoint,
 *                               when set, is used if this is not)
 *   providers.eks.sts_endpoint  the same for STS (Kubernetes tokens); default
 *                               https://sts.<region>.amazonaws.com
 *   providers.eks.list_updates  ask ListUpdates / DescribeUpdate whether an update
 *                               is in progress (default true; false for endpoints
 *                               without them, moto for one)
 * cfg->http and cfg->timeout_ms (per request) as for any provider. Free an
 * instance only once none of its requests is in flight (or after hcr_http_free
 * has cancelled them).
 *
 * Cluster reference: c->region (required, "eu-west-1"); the cluster's name in
 * EKS is c->cloud_name (c->name when NULL); the opened secret is
 * {"accessKeyId", "secretAccessKey", "sessionToken"?}. A reference without a
 * region or name fails at once with HCR_EINVALID, one without keys with
 * HCR_EDENIED; the callback is then not called.
 *
 * The document (Rancher's EKSClusterConfigSpec names; only what EKS reports):
 *   kubernetesVersion  cluster.version
 *   tags               cluster.tags ({} when none)
 *   publicAccess, privateAccess, publicAccessSources
 *                      resourcesVpcConfig.endpointPublicAccess / endpointPrivateAccess /
 *                      publicAccessCidrs (in EKS's order)
 *   loggingTypes       the enabled log types, sorted (EKS's own order) and unique
 *   subnets, securityGroups, serviceRole
 *                      resourcesVpcConfig.subnetIds / securityGroupIds, roleArn
 *   secretsEncryption  whether encryptionConfig is non-empty (always present)
 *   kmsKey             encryptionConfig[0].provider.keyArn
 *   ipFamily           kubernetesNetworkConfig.ipFamily
 *   nodeGroups         [{nodegroupName, desiredSize, minSize, maxSize, labels ({}),
 *                      taints ([{key, value?, effect}]), tags ({}), version,
 *                      instanceType (instanceTypes[0]), diskSize, subnets, nodeRole,
 *                      requestSpotInstances (capacityType SPOT), spotInstanceTypes
 *                      (instanceTypes, SPOT only), gpu and arm (from amiType; absent
 *                      for CUSTOM), ec2SshKey, launchTemplate {id, name, version
 *                      (a number when numeric)}}], sorted by name; node groups
 *                      being deleted are left out
 * Status, ARN, endpoint and platform version are not in it.
 * busy: the cluster is not ACTIVE, a node group is CREATING, UPDATING or
 * DELETING, or (list_updates) a cluster update is InProgress.
 *
 * Operations (the catalog's names) and the calls they make:
 *   UpdateClusterVersion     UpdateClusterVersion {version, clientRequestToken}
 *   UpdateEndpointAccess     DescribeCluster, UpdateClusterConfig {resourcesVpcConfig: the
 *                            changed fields EKS does not have yet}
 *   UpdateLogging            DescribeCluster, UpdateClusterConfig {logging: enabled and
 *                            disabled sets}, unless EKS has that set enabled already
 *                            (both: nothing left to change -> {"done": true})
 *   TagResource              DescribeCluster, TagResource (set keys), UntagResource
 *                            (removed keys) -> {"done": true}
 *   TagNodegroup             the same on the node group's ARN
 *   UpdateNodegroupConfig    DescribeNodegroup, then UpdateNodegroupConfig with
 *                            scalingConfig (all three sizes, unchanged ones from EKS),
 *                            labels {addOrUpdateLabels, removeLabels} and taints
 *                            {addOrUpdateTaints, removeTaints} (a diff); nothing to
 *                            change -> {"done": true} without a call
 *   UpdateNodegroupVersion   UpdateNodegroupVersion {version?, launchTemplate?}
 *   CreateNodegroup          DescribeCluster (subnets, version), CreateNodegroup
 *   DeleteNodegroup          DeleteNodegroup (already gone -> {"done": true})
 * `token` is sent as clientRequestToken where the call has one.
 *
 * Handles (printable, under 400 bytes):
 *   update:<node group or empty>:<update id>   DescribeUpdate
 *   ngcreate:<node group>, ngdelete:<node group>   DescribeNodegroup
 *   create:<cluster>, delete:<cluster>   DescribeCluster (and node groups for delete)
 * An update that EKS reports Successful at once (or no update at all, as moto
 * answers UpdateClusterConfig) is {"done": true}.
 *
 * create: CreateCluster from the desired document (node groups are left to the
 * plan); serviceRole and subnets are required. destroy: deletes every node
 * group, then the cluster once none is left (poll_operation of "delete:" goes on
 * sending DeleteCluster until EKS takes it). list: ListClusters and
 * DescribeCluster for each, in scope->region. kube_credentials: the cluster's
 * endpoint and CA, and an STS-presigned token valid 14 minutes (as awscli's).
 *
 * Failures (err->detail is EKS's "<Code>: <message>"):
 *   HCR_ECONFLICT  ResourceInUseException (409): EKS is busy, or the name is taken
 *   HCR_EUPSTREAM  throttling, 429, 5xx, ServerException, transport failures,
 *                  2xx bodies that are not what EKS sends
 *   HCR_EINVALID   400 (InvalidParameterException, ...), and endpoints that lack
 *                  the operation (an HTML 404 without an error code)
 *   HCR_ENOTFOUND  ResourceNotFoundException, NotFoundException
 *   HCR_EDENIED    401 / 403 (AccessDeniedException, InvalidSignatureException, ...)
 */
#ifndef HCR_PROVIDER_EKS_H
#define HCR_PROVIDER_EKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/engine.h"
#include "hcr/error.h"
#include "hcr/provider.h"

extern const hcr_provider_ops hcr_eks_provider_ops;

/*
 * The provider's check_create: refuses, with HCR_EINVALID naming the field
 * ("config.serviceRole", "config.nodeGroups[ng-a].nodeRole"), a configuration
 * that create (or the node groups' CreateNodegroup) would refuse before
 * calling EKS. `config` is borrowed and may be NULL. Synchronous, no I/O.
 */
int hcr_eks_check_create(json_t *config, hcr_error *err);

/* The EKS field catalog (see providers/eks/eks_catalog.c for the reasons). */
extern const hcr_catalog hcr_eks_catalog;

/*
 * ---- internals for tests -------------------------------------------------------------------
 * Pure functions the provider is built from, exported for tests/unit/test_eks_*.c
 * and the fuzz targets. Nothing else should call them. Every json_t argument is
 * borrowed; every json_t result is new.
 */

/* The CloudWatch log types EKS knows, in its order. */
extern const char *const hcr_eks_log_types[5];

/*
 * The document of a cluster: `cluster` is DescribeCluster's "cluster" object,
 * `nodegroups` an array of DescribeNodegroup "nodegroup" objects (NULL: none).
 * Fails with HCR_EUPSTREAM naming the member when a member hcr reads has the
 * wrong type.
 */
int hcr_eks_normalise(json_t **out, json_t *cluster, json_t *nodegroups, hcr_error *err);

/* Whether EKS is busy with the cluster or a node group (statuses only). */
bool hcr_eks_busy(json_t *cluster, json_t *nodegroups);

/*
 * The AWS error code of a failed response: the x-amzn-ErrorType header
 * (`errtype`, may be NULL), else the body's "__type", "code" or "Code" (`body`
 * may be NULL). Cut at the first ':' and after the last '#'. "" when none.
 */
void hcr_eks_error_code(char *out, size_t size, const char *errtype, json_t *body);

/*
 * Maps a non-2xx response to hcr's status and fills `out`: the message names
 * `op` ("DescribeCluster") and `target` ("demo", "demo/ng-a"); the detail is
 * "<Code>: <message>", or "HTTP <status>: <start of the body>" when EKS sent no
 * code. Returns the status (never HCR_OK).
 */
int hcr_eks_parse_error(hcr_error *out, const char *op, const char *target, long status,
			const char *errtype, const char *body, size_t len);

typedef enum {
	HCR_EKS_H_UPDATE = 0,
	HCR_EKS_H_NGCREATE,
	HCR_EKS_H_NGDELETE,
	HCR_EKS_H_CREATE,
	HCR_EKS_H_DELETE,
} hcr_eks_handle_kind;

typedef struct hcr_eks_handle {
	hcr_eks_handle_kind kind;
	char name[128]; /* the node group (update: may be ""), or the cluster */
	char id[256];   /* update only */
} hcr_eks_handle;

/*
 * A new handle string: `name` is the node group ("" or NULL for a cluster
 * update) or the cluster, `id` the update id (update only). NULL when a part
 * is not a valid EKS name or id.
 */
char *hcr_eks_handle_format(hcr_eks_handle_kind kind, const char *name, const char *id);
/* Parses a handle; HCR_EINVALID when it is not one this provider made. */
int hcr_eks_handle_parse(hcr_eks_handle *out, const char *handle, hcr_error *err);

/* Whether `s` is a valid EKS cluster or node group name (1-100 of [A-Za-z0-9_-], alnum first). */
bool hcr_eks_valid_name(const char *s);

/*
 * Request bodies. `changes` is the planned operation's {path: value or null};
 * `token` may be NULL. HCR_EINVALID names the offending path.
 */
int hcr_eks_body_cluster_version(json_t **out, json_t *changes, const char *token, hcr_error *err);
int hcr_eks_body_endpoint_access(json_t **out, json_t *changes, const char *token, hcr_error *err);
int hcr_eks_body_logging(json_t **out, json_t *changes, const char *token, hcr_error *err);
/* {logging: {clusterLogging: [...]}} for an array of enabled types (create and update). */
int hcr_eks_logging(json_t **out, json_t *enabled, const char *path, hcr_error *err);
/*
 * Takes out of an UpdateClusterConfig body what `cluster` (DescribeCluster's)
 * already has: endpoint flags that are equal, CIDRs that are the same set,
 * logging whose enabled set is the same. Returns whether anything is left.
 */
bool hcr_eks_config_changes(json_t *body, json_t *cluster);
/*
 * Splits map changes under `prefix` ("tags", "nodeGroups[ng-a].tags") into the
 * keys to set (*set, an object) and to remove (*unset, an array of names).
 */
int hcr_eks_tag_split(json_t **set, json_t **unset, json_t *changes, const char *prefix,
		      hcr_error *err);
/*
 * UpdateNodegroupConfig for node group `pool` given its DescribeNodegroup
 * object `current`. *out is NULL (and HCR_OK returned) when nothing changes.
 */
int hcr_eks_body_nodegroup_config(json_t **out, json_t *changes, const char *pool, json_t *current,
				  const char *token, hcr_error *err);
int hcr_eks_body_nodegroup_version(json_t **out, json_t *changes, const char *pool,
				   const char *token, hcr_error *err);
/*
 * The CreateNodegroup body for the pool document `pool_doc` (catalog names);
 * `cluster` (may be NULL) supplies subnets and version when the pool has none.
 */
int hcr_eks_body_create_nodegroup(json_t **out, const char *pool, json_t *pool_doc, json_t *cluster,
				  const char *token, hcr_error *err);
/* The CreateCluster body for the desired document `config`. */
int hcr_eks_body_create_cluster(json_t **out, const char *name, json_t *config, const char *token,
				hcr_error *err);

/*
 * poll_operation results {"state", "error"?} from EKS objects: an Update, a
 * node group after CreateNodegroup / DeleteNodegroup (NULL: it is gone), and a
 * cluster after CreateCluster. HCR_EUPSTREAM for a status EKS does not define.
 */
int hcr_eks_poll_update(json_t **out, json_t *update, hcr_error *err);
int hcr_eks_poll_nodegroup(json_t **out, json_t *nodegroup, bool deleting, hcr_error *err);
int hcr_eks_poll_cluster_create(json_t **out, json_t *cluster, hcr_error *err);

/*
 * The cache of update ids known to be finished, per cluster ARN, so that a
 * steady poll asks DescribeUpdate only about new updates. Bounded: at most
 * `max_clusters` clusters (least recently used evicted) and `per_cluster` ids
 * each (oldest evicted). Ids are kept as 64-bit hashes.
 */
typedef struct hcr_eks_ucache hcr_eks_ucache;
hcr_eks_ucache *hcr_eks_ucache_new(size_t max_clusters, size_t per_cluster);
void hcr_eks_ucache_free(hcr_eks_ucache *c);
bool hcr_eks_ucache_has(hcr_eks_ucache *c, const char *arn, const char *id);
void hcr_eks_ucache_add(hcr_eks_ucache *c, const char *arn, const char *id);
size_t hcr_eks_ucache_clusters(const hcr_eks_ucache *c);

#endif
