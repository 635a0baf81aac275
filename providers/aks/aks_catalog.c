/*
 * The AKS field catalog: which ARM write changes which field of the document
 * (Rancher's AKSClusterConfigSpec names), in what order, and what AKS cannot
 * change in place.
 *
 * The order is the aks-operator's: tags (their own PATCH), then the cluster
 * PUT (version, authorised IP ranges, add-ons, network policy, SSH key), then
 * each pool (one agentPools PUT per pool), pool removal last. What AKS refuses
 * to change ("PropertyChangeNotAllowed": the DNS prefix, the node resource
 * group, the admin user, private cluster, the network plugin and its CIDRs,
 * outbound type and load balancer SKU; on a pool its VM size, disk, OS, zones,
 * max pods and subnet) is immutable. The network policy is left mutable: AKS
 * allows some changes (none -> azure/calico/cilium) and refuses the others with
 * its own message, which hcr shows.
 */
#include "hcr/provider_aks.h"

/* clang-format off */
#define LEAF(p, op, ord) {.pattern = (p), .kind = HCR_FK_LEAF, .operation = (op), .order = (ord)}
#define MAP(p, op, ord)	 {.pattern = (p), .kind = HCR_FK_MAP, .operation = (op), .order = (ord)}
#define FIXED(p, mut)	 {.pattern = (p), .kind = HCR_FK_LEAF, .mutability = (mut)}
/* clang-format on */

static const hcr_field_spec aks_specs[] = {
	MAP("tags", "UpdateTags", 10),
	{.pattern = "kubernetesVersion",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateCluster",
	 .order = 20,
	 .irreversible = true},
	LEAF("authorizedIpRanges", "UpdateCluster", 20),
	LEAF("httpApplicationRouting", "UpdateCluster", 20),
	LEAF("monitoring", "UpdateCluster", 20),
	LEAF("networkPolicy", "UpdateCluster", 20),
	LEAF("sshPublicKey", "UpdateCluster", 20),
	FIXED("dnsPrefix", HCR_MUT_IMMUTABLE),
	FIXED("privateCluster", HCR_MUT_IMMUTABLE),
	FIXED("networkPlugin", HCR_MUT_IMMUTABLE),
	FIXED("serviceCidr", HCR_MUT_IMMUTABLE),
	FIXED("dnsServiceIp", HCR_MUT_IMMUTABLE),
	FIXED("podCidr", HCR_MUT_IMMUTABLE),
	FIXED("loadBalancerSku", HCR_MUT_IMMUTABLE),
	FIXED("outboundType", HCR_MUT_IMMUTABLE),
	FIXED("nodeResourceGroup", HCR_MUT_IMMUTABLE),
	FIXED("linuxAdminUsername", HCR_MUT_IMMUTABLE),
	{.pattern = "nodePools",
	 .kind = HCR_FK_POOLS,
	 .order = 30,
	 .pool_key = "name",
	 .create_operation = "CreateAgentPool",
	 .delete_operation = "DeleteAgentPool"},
	LEAF("nodePools[].count", "UpdateAgentPool", 40),
	LEAF("nodePools[].enableAutoScaling", "UpdateAgentPool", 40),
	LEAF("nodePools[].minCount", "UpdateAgentPool", 40),
	LEAF("nodePools[].maxCount", "UpdateAgentPool", 40),
	{.pattern = "nodePools[].orchestratorVersion",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateAgentPool",
	 .order = 40,
	 .irreversible = true},
	MAP("nodePools[].nodeLabels", "UpdateAgentPool", 40),
	LEAF("nodePools[].nodeTaints", "UpdateAgentPool", 40),
	LEAF("nodePools[].maxSurge", "UpdateAgentPool", 40),
	LEAF("nodePools[].mode", "UpdateAgentPool", 40),
	FIXED("nodePools[].vmSize", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].osDiskSizeGB", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].osDiskType", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].osType", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].availabilityZones", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].maxPods", HCR_MUT_IMMUTABLE),
	FIXED("nodePools[].vnetSubnetID", HCR_MUT_IMMUTABLE),
};

const hcr_catalog hcr_aks_catalog = {
	.provider = "aks",
	.specs = aks_specs,
	.nspecs = sizeof(aks_specs) / sizeof(aks_specs[0]),
};
