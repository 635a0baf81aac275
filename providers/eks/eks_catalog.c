/*
 * The EKS field catalog: which EKS call changes which field of the document
 * (Rancher's EKSClusterConfigSpec names), in what order, and what EKS cannot
 * change in place.
 *
 * The order follows the eks-operator's (version, endpoint access, logging,
 * tags, node groups: create, scaling/labels/taints, tags, then version and
 * launch template). What EKS can change on an existing node group is what
 * UpdateNodegroupConfig (labels, taints, scaling) and UpdateNodegroupVersion
 * (version, release, launch template) take, plus its tags; everything else a
 * node group is created with (instance types, disk, subnets, role, capacity
 * type, AMI type, remote access) is fixed for its life. The cluster's
 * networking and role are fixed too; encryption and the IP family are only
 * given at creation here (EKS can add encryption later with
 * AssociateEncryptionConfig, never remove it; hcr does not do that yet).
 */
#include "hcr/provider_eks.h"

/* clang-format off */
#define LEAF(p, op, ord) {.pattern = (p), .kind = HCR_FK_LEAF, .operation = (op), .order = (ord)}
#define MAP(p, op, ord)	 {.pattern = (p), .kind = HCR_FK_MAP, .operation = (op), .order = (ord)}
#define FIXED(p, mut)	 {.pattern = (p), .kind = HCR_FK_LEAF, .mutability = (mut)}
/* clang-format on */

static const hcr_field_spec eks_specs[] = {
	{.pattern = "kubernetesVersion",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateClusterVersion",
	 .order = 10,
	 .irreversible = true},
	LEAF("publicAccess", "UpdateEndpointAccess", 20),
	LEAF("privateAccess", "UpdateEndpointAccess", 20),
	LEAF("publicAccessSources", "UpdateEndpointAccess", 20),
	LEAF("loggingTypes", "UpdateLogging", 21),
	MAP("tags", "TagResource", 30),
	FIXED("subnets", HCR_MUT_IMMUTABLE),
	FIXED("securityGroups", HCR_MUT_IMMUTABLE),
	FIXED("serviceRole", HCR_MUT_IMMUTABLE),
	FIXED("secretsEncryption", HCR_MUT_CREATE_ONLY),
	FIXED("kmsKey", HCR_MUT_CREATE_ONLY),
	FIXED("ipFamily", HCR_MUT_CREATE_ONLY),
	{.pattern = "nodeGroups",
	 .kind = HCR_FK_POOLS,
	 .order = 35,
	 .pool_key = "nodegroupName",
	 .create_operation = "CreateNodegroup",
	 .delete_operation = "DeleteNodegroup"},
	LEAF("nodeGroups[].desiredSize", "UpdateNodegroupConfig", 40),
	LEAF("nodeGroups[].minSize", "UpdateNodegroupConfig", 40),
	LEAF("nodeGroups[].maxSize", "UpdateNodegroupConfig", 40),
	MAP("nodeGroups[].labels", "UpdateNodegroupConfig", 40),
	LEAF("nodeGroups[].taints", "UpdateNodegroupConfig", 40),
	MAP("nodeGroups[].tags", "TagNodegroup", 45),
	{.pattern = "nodeGroups[].version",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateNodegroupVersion",
	 .order = 50,
	 .irreversible = true},
	LEAF("nodeGroups[].launchTemplate", "UpdateNodegroupVersion", 50),
	FIXED("nodeGroups[].instanceType", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].diskSize", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].subnets", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].nodeRole", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].requestSpotInstances", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].spotInstanceTypes", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].gpu", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].arm", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].ec2SshKey", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].imageId", HCR_MUT_IMMUTABLE),
};

const hcr_catalog hcr_eks_catalog = {
	.provider = "eks",
	.specs = eks_specs,
	.nspecs = sizeof(eks_specs) / sizeof(eks_specs[0]),
};
