/*
 * The GKE field catalog: which GKE call changes which field of the document
 * (Rancher's GKEClusterConfigSpec names), in what order, and what GKE cannot
 * change in place.
 *
 * GKE's clusters.update takes exactly one desired* member per call, so each
 * cluster field has an operation of its own. The order is the gke-operator's
 * (version, addons, authorized networks, logging, monitoring, network policy,
 * locations, maintenance window, labels, then pools). Networking chosen at
 * creation (network, subnetwork, the pod and service ranges, a private
 * control plane) is fixed for the cluster's life: network and subnetwork are
 * immutable; the ranges and the private cluster configuration, which GKE
 * fills in with what it chose, are create-only (never compared afterwards).
 * A pool's config is one value: nodePools.update changes its labels, taints,
 * tags, machine type, disk type and size and image type; the other members
 * (preemptible, service account, scopes, local SSDs, boot disk key) are refused
 * at apply with the member's path. maxPodsConstraint is fixed per pool.
 */
#include "hcr/provider_gke.h"

/* clang-format off */
#define LEAF(p, op, ord) {.pattern = (p), .kind = HCR_FK_LEAF, .operation = (op), .order = (ord)}
#define MAP(p, op, ord)	 {.pattern = (p), .kind = HCR_FK_MAP, .operation = (op), .order = (ord)}
#define FIXED(p, mut)	 {.pattern = (p), .kind = HCR_FK_LEAF, .mutability = (mut)}
/* clang-format on */

static const hcr_field_spec gke_specs[] = {
	{.pattern = "kubernetesVersion",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateMasterVersion",
	 .order = 10,
	 .irreversible = true},
	LEAF("clusterAddons", "UpdateAddons", 20),
	LEAF("masterAuthorizedNetworks", "UpdateMasterAuthorizedNetworks", 21),
	LEAF("loggingService", "UpdateLoggingService", 22),
	LEAF("monitoringService", "UpdateMonitoringService", 23),
	LEAF("networkPolicyEnabled", "SetNetworkPolicy", 24),
	LEAF("locations", "UpdateLocations", 25),
	LEAF("maintenanceWindow", "SetMaintenancePolicy", 26),
	MAP("labels", "SetLabels", 30),
	FIXED("description", HCR_MUT_IMMUTABLE),
	FIXED("network", HCR_MUT_IMMUTABLE),
	FIXED("subnetwork", HCR_MUT_IMMUTABLE),
	FIXED("enableKubernetesAlpha", HCR_MUT_IMMUTABLE),
	FIXED("clusterIpv4Cidr", HCR_MUT_CREATE_ONLY),
	FIXED("ipAllocationPolicy", HCR_MUT_CREATE_ONLY),
	FIXED("privateClusterConfig", HCR_MUT_CREATE_ONLY),
	FIXED("autopilotConfig", HCR_MUT_CREATE_ONLY),
	FIXED("customerManagedEncryptionKey", HCR_MUT_CREATE_ONLY),
	{.pattern = "nodePools",
	 .kind = HCR_FK_POOLS,
	 .order = 35,
	 .pool_key = "name",
	 .create_operation = "CreateNodePool",
	 .delete_operation = "DeleteNodePool"},
	LEAF("nodePools[].initialNodeCount", "SetNodePoolSize", 40),
	LEAF("nodePools[].autoscaling", "SetNodePoolAutoscaling", 41),
	LEAF("nodePools[].management", "SetNodePoolManagement", 42),
	LEAF("nodePools[].config", "UpdateNodePoolConfig", 43),
	{.pattern = "nodePools[].version",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateNodePool",
	 .order = 50,
	 .irreversible = true},
	FIXED("nodePools[].maxPodsConstraint", HCR_MUT_IMMUTABLE),
};

const hcr_catalog hcr_gke_catalog = {
	.provider = "gke",
	.specs = gke_specs,
	.nspecs = sizeof(gke_specs) / sizeof(gke_specs[0]),
};
