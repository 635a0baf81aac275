/*
 * The fake cloud's field catalog, shaped after EKS: which operation changes
 * which field, in what order, and what cannot change at all. The orders follow
 * the EKS operator's (version, endpoint access, logging, tags, node groups:
 * scaling and labels, then version and launch template).
 */
#include "hcr/fakecloud.h"

/* clang-format off */
#define LEAF(p, op, ord) {.pattern = (p), .kind = HCR_FK_LEAF, .operation = (op), .order = (ord)}
#define FIXED(p, mut)	 {.pattern = (p), .kind = HCR_FK_LEAF, .mutability = (mut)}
/* clang-format on */

static const hcr_field_spec fake_specs[] = {
	{.pattern = "kubernetesVersion",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateClusterVersion",
	 .order = 10,
	 .irreversible = true},
	LEAF("publicAccess", "UpdateEndpointAccess", 20),
	LEAF("privateAccess", "UpdateEndpointAccess", 20),
	LEAF("publicAccessSources", "UpdateEndpointAccess", 20),
	LEAF("loggingTypes", "UpdateLogging", 21),
	{.pattern = "tags", .kind = HCR_FK_MAP, .operation = "TagResource", .order = 30},
	FIXED("subnets", HCR_MUT_IMMUTABLE),
	FIXED("securityGroups", HCR_MUT_IMMUTABLE),
	FIXED("serviceRole", HCR_MUT_IMMUTABLE),
	FIXED("kmsKey", HCR_MUT_CREATE_ONLY),
	{.pattern = "nodeGroups",
	 .kind = HCR_FK_POOLS,
	 .order = 35,
	 .pool_key = "nodegroupName",
	 .create_operation = "CreateNodegroup",
	 .delete_operation = "DeleteNodegroup"},
	LEAF("nodeGroups[].desiredSize", "UpdateNodegroupConfig", 40),
	LEAF("nodeGroups[].minSize", "UpdateNodegroupConfig", 40),
	LEAF("nodeGroups[].maxSize", "UpdateNodegroupConfig", 40),
	{.pattern = "nodeGroups[].labels",
	 .kind = HCR_FK_MAP,
	 .operation = "UpdateNodegroupConfig",
	 .order = 40},
	{.pattern = "nodeGroups[].version",
	 .kind = HCR_FK_LEAF,
	 .operation = "UpdateNodegroupVersion",
	 .order = 50,
	 .irreversible = true},
	LEAF("nodeGroups[].launchTemplate", "UpdateNodegroupVersion", 50),
	FIXED("nodeGroups[].instanceType", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].diskSize", HCR_MUT_IMMUTABLE),
	FIXED("nodeGroups[].subnets", HCR_MUT_IMMUTABLE),
};

const hcr_catalog hcr_fake_catalog = {
	.provider = "fake",
	.specs = fake_specs,
	.nspecs = sizeof(fake_specs) / sizeof(fake_specs[0]),
};
