/*
 * Unit tests for providers/eks/eks_bodies.c and eks_create.c: the body of
 * every EKS call an operation makes, built from the engine's changes (and, for
 * node groups, from what DescribeNodegroup said), and the refusals that stop
 * a change before anything is sent. Table-driven: each case names the builder,
 * its input and the exact body or the refusal's message.
 *
 * JSON here is written with single quotes (testutil.h's test_json).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/json.h"
#include "hcr/provider_eks.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef enum {
	B_VERSION,
	B_ACCESS,
	B_LOGGING,
	B_NG_CONFIG,
	B_NG_VERSION,
	B_CREATE_NG,
	B_CREATE_CLUSTER,
} builder;

typedef struct body_case {
	const char *name;
	builder b;
	const char *input;   /* changes, or the document to create */
	const char *current; /* the node group (B_NG_CONFIG) or cluster (B_CREATE_NG) */
	const char *want;    /* the body; "null" for none; NULL: refused */
	const char *message; /* a substring of the refusal's message */
} body_case;

static const char ng_current[] =
	"{'nodegroupName': 'ng-a', 'scalingConfig': {'minSize': 1, 'maxSize': 5, 'desiredSize': 3},"
	" 'labels': {'env': 'prod', 'team': 'a'}, 'taints': [{'key': 'k', 'value': 'v',"
	" 'effect': 'NO_SCHEDULE'}, {'key': 'old', 'effect': 'NO_EXECUTE'}]}";

static const char cluster_current[] =
	"{'name': 'prod', 'version': '1.31', 'resourcesVpcConfig': {'subnetIds': ['s-1', 's-2']}}";

static const body_case cases[] = {
	/* UpdateClusterVersion */
	{"version", B_VERSION, "{'kubernetesVersion': '1.31'}", NULL,
	 "{'version': '1.31', 'clientRequestToken': 'tok'}", NULL},
	{"version must be a string", B_VERSION, "{'kubernetesVersion': 1.31}", NULL, NULL,
	 "\"kubernetesVersion\" must be a version string"},
	{"version missing", B_VERSION, "{}", NULL, NULL, "\"kubernetesVersion\" is missing"},
	{"version with a stranger", B_VERSION, "{'kubernetesVersion': '1.31', 'tags.a': 'b'}", NULL,
	 NULL, "\"tags.a\" is not part of operation UpdateClusterVersion"},
	/* UpdateEndpointAccess: only what changed */
	{"public access only", B_ACCESS, "{'publicAccess': false}", NULL,
	 "{'resourcesVpcConfig': {'endpointPublicAccess': false}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"all three", B_ACCESS,
	 "{'publicAccess': true, 'privateAccess': true, 'publicAccessSources': ['10.0.0.0/8']}",
	 NULL,
	 "{'resourcesVpcConfig': {'endpointPublicAccess': true, 'endpointPrivateAccess': true,"
	 " 'publicAccessCidrs': ['10.0.0.0/8']}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"cidrs must be strings", B_ACCESS, "{'publicAccessSources': ['a', 1]}", NULL, NULL,
	 "must be an array of strings"},
	{"access must be a boolean", B_ACCESS, "{'privateAccess': 'yes'}", NULL, NULL,
	 "must be true or false"},
	{"access with a stranger", B_ACCESS, "{'loggingTypes': []}", NULL, NULL,
	 "not part of operation UpdateEndpointAccess"},
	{"access with nothing", B_ACCESS, "{}", NULL, NULL, "no endpoint field"},
	/* UpdateLogging: enabled and disabled sets */
	{"logging some", B_LOGGING, "{'loggingTypes': ['scheduler', 'api', 'api']}", NULL,
	 "{'logging': {'clusterLogging': [{'types': ['api', 'scheduler'], 'enabled': true},"
	 " {'types': ['audit', 'authenticator', 'controllerManager'], 'enabled': false}]},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"logging none", B_LOGGING, "{'loggingTypes': []}", NULL,
	 "{'logging': {'clusterLogging': [{'types': ['api', 'audit', 'authenticator',"
	 " 'controllerManager', 'scheduler'], 'enabled': false}]}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"logging all", B_LOGGING,
	 "{'loggingTypes': ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']}",
	 NULL,
	 "{'logging': {'clusterLogging': [{'types': ['api', 'audit', 'authenticator',"
	 " 'controllerManager', 'scheduler'], 'enabled': true}]}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"logging unknown type", B_LOGGING, "{'loggingTypes': ['api', 'kubelet']}", NULL, NULL,
	 "must list log types among api"},
	{"logging not an array", B_LOGGING, "{'loggingTypes': 'api'}", NULL, NULL,
	 "must be an array of strings"},
	/* UpdateNodegroupConfig */
	{"scaling: the unchanged sizes come from EKS", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].desiredSize': 4}", ng_current,
	 "{'scalingConfig': {'desiredSize': 4, 'minSize': 1, 'maxSize': 5},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"scaling: two sizes", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].minSize': 0, 'nodeGroups[ng-a].maxSize': 10}", ng_current,
	 "{'scalingConfig': {'desiredSize': 3, 'minSize': 0, 'maxSize': 10},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"scaling: EKS has it already", B_NG_CONFIG, "{'nodeGroups[ng-a].maxSize': 5}", ng_current,
	 "null", NULL},
	{"labels: add, update, remove; removing what is not there is nothing", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].labels.env': 'dev', 'nodeGroups[ng-a].labels.new': 'x',"
	 " 'nodeGroups[ng-a].labels.team': null, 'nodeGroups[ng-a].labels.ghost': null,"
	 " 'nodeGroups[ng-a].labels.kubernetes.io/role': 'web'}",
	 ng_current,
	 "{'labels': {'addOrUpdateLabels': {'env': 'dev', 'new': 'x', 'kubernetes.io/role': 'web'},"
	 " 'removeLabels': ['team']}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"labels: only removals", B_NG_CONFIG, "{'nodeGroups[ng-a].labels.env': null}", ng_current,
	 "{'labels': {'removeLabels': ['env']}, 'clientRequestToken': 'tok'}", NULL},
	{"labels: all already so", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].labels.env': 'prod', 'nodeGroups[ng-a].labels.x': null}", ng_current,
	 "null", NULL},
	{"taints: a diff by key and effect", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].taints': [{'key': 'k', 'value': 'v2', 'effect': 'NO_SCHEDULE'},"
	 " {'key': 'n', 'effect': 'PREFER_NO_SCHEDULE'}]}",
	 ng_current,
	 "{'taints': {'addOrUpdateTaints': [{'key': 'k', 'value': 'v2', 'effect': 'NO_SCHEDULE'},"
	 " {'key': 'n', 'effect': 'PREFER_NO_SCHEDULE'}], 'removeTaints': [{'key': 'old',"
	 " 'effect': 'NO_EXECUTE'}]}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"taints: the same key with another effect is another taint", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].taints': [{'key': 'k', 'value': 'v', 'effect': 'NO_EXECUTE'},"
	 " {'key': 'old', 'effect': 'NO_EXECUTE'}]}",
	 ng_current,
	 "{'taints': {'addOrUpdateTaints': [{'key': 'k', 'value': 'v', 'effect': 'NO_EXECUTE'}],"
	 " 'removeTaints': [{'key': 'k', 'value': 'v', 'effect': 'NO_SCHEDULE'}]},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"taints: none left", B_NG_CONFIG, "{'nodeGroups[ng-a].taints': []}", ng_current,
	 "{'taints': {'removeTaints': [{'key': 'k', 'value': 'v', 'effect': 'NO_SCHEDULE'},"
	 " {'key': 'old', 'effect': 'NO_EXECUTE'}]}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"taints: equal in another order", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].taints': [{'key': 'old', 'effect': 'NO_EXECUTE', 'value': null},"
	 " {'key': 'k', 'value': 'v', 'effect': 'NO_SCHEDULE'}]}",
	 ng_current, "null", NULL},
	{"everything at once", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].desiredSize': 1, 'nodeGroups[ng-a].labels.a': 'b',"
	 " 'nodeGroups[ng-a].taints': [{'key': 'k', 'value': 'v', 'effect': 'NO_SCHEDULE'}]}",
	 "{'scalingConfig': {'minSize': 1, 'maxSize': 5, 'desiredSize': 3},"
	 " 'taints': [{'key': 'k', 'value': 'v', 'effect': 'NO_SCHEDULE'}]}",
	 "{'scalingConfig': {'desiredSize': 1, 'minSize': 1, 'maxSize': 5},"
	 " 'labels': {'addOrUpdateLabels': {'a': 'b'}}, 'clientRequestToken': 'tok'}",
	 NULL},
	{"size must be a whole number", B_NG_CONFIG, "{'nodeGroups[ng-a].desiredSize': -1}",
	 ng_current, NULL, "\"nodeGroups[ng-a].desiredSize\" must be a whole number of nodes"},
	{"size must be a number", B_NG_CONFIG, "{'nodeGroups[ng-a].maxSize': '3'}", ng_current,
	 NULL, "must be a whole number"},
	{"label must be a string", B_NG_CONFIG, "{'nodeGroups[ng-a].labels.a': 1}", ng_current,
	 NULL, "must be a string, or null to remove it"},
	{"taint without an effect", B_NG_CONFIG, "{'nodeGroups[ng-a].taints': [{'key': 'k'}]}",
	 ng_current, NULL, "must be an array of {key, value, effect}"},
	{"taint with a stranger", B_NG_CONFIG,
	 "{'nodeGroups[ng-a].taints': [{'key': 'k', 'effect': 'NO_SCHEDULE', 'x': 1}]}", ng_current,
	 NULL, "other than key, value and effect"},
	{"another pool's change", B_NG_CONFIG, "{'nodeGroups[ng-b].desiredSize': 1}", ng_current,
	 NULL, "not part of operation UpdateNodegroupConfig"},
	{"a field of another operation", B_NG_CONFIG, "{'nodeGroups[ng-a].version': '1.30'}",
	 ng_current, NULL, "not part of operation UpdateNodegroupConfig"},
	/* UpdateNodegroupVersion */
	{"node group version", B_NG_VERSION, "{'nodeGroups[ng-a].version': '1.31'}", NULL,
	 "{'version': '1.31', 'clientRequestToken': 'tok'}", NULL},
	{"launch template: the id wins over the name, the version becomes a string", B_NG_VERSION,
	 "{'nodeGroups[ng-a].launchTemplate': {'id': 'lt-1', 'name': 'web', 'version': 4}}", NULL,
	 "{'launchTemplate': {'id': 'lt-1', 'version': '4'}, 'clientRequestToken': 'tok'}", NULL},
	{"launch template by name, both changes", B_NG_VERSION,
	 "{'nodeGroups[ng-a].launchTemplate': {'name': 'web', 'version': '$Latest'},"
	 " 'nodeGroups[ng-a].version': '1.30'}",
	 NULL,
	 "{'version': '1.30', 'launchTemplate': {'name': 'web', 'version': '$Latest'},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"launch template without id or name", B_NG_VERSION,
	 "{'nodeGroups[ng-a].launchTemplate': {'version': 4}}", NULL, NULL,
	 "needs the launch template's id or name"},
	{"launch template version zero", B_NG_VERSION,
	 "{'nodeGroups[ng-a].launchTemplate': {'id': 'x', 'version': 0}}", NULL, NULL,
	 "not a positive number"},
	{"node group version with nothing", B_NG_VERSION, "{}", NULL, NULL,
	 "no version or launch template"},
	/* CreateNodegroup */
	{"create node group: the whole pool", B_CREATE_NG,
	 "{'nodegroupName': 'ng-a', 'nodeRole': 'arn:role', 'desiredSize': 2, 'minSize': 1,"
	 " 'maxSize': 3, 'labels': {'a': 'b', 'gone': null}, 'tags': {'t': '1'},"
	 " 'taints': [{'key': 'k', 'effect': 'NO_SCHEDULE'}], 'instanceType': 'm5.large',"
	 " 'diskSize': 40, 'subnets': ['s-9'], 'version': '1.29', 'ec2SshKey': 'ops',"
	 " 'requestSpotInstances': false, 'gpu': false, 'arm': false}",
	 cluster_current,
	 "{'nodegroupName': 'ng-a', 'nodeRole': 'arn:role', 'subnets': ['s-9'],"
	 " 'scalingConfig': {'minSize': 1, 'maxSize': 3, 'desiredSize': 2},"
	 " 'instanceTypes': ['m5.large'], 'diskSize': 40, 'version': '1.29',"
	 " 'remoteAccess': {'ec2SshKey': 'ops'}, 'labels': {'a': 'b'}, 'tags': {'t': '1'},"
	 " 'taints': [{'key': 'k', 'effect': 'NO_SCHEDULE'}], 'clientRequestToken': 'tok'}",
	 NULL},
	{"create node group: cluster subnets, SPOT types, AL2023 ARM at the cluster's 1.31",
	 B_CREATE_NG,
	 "{'nodeRole': 'arn:role', 'requestSpotInstances': true, 'instanceType': 'm6g.large',"
	 " 'spotInstanceTypes': ['m6g.large', 'm7g.large'], 'arm': true}",
	 cluster_current,
	 "{'nodegroupName': 'ng-a', 'nodeRole': 'arn:role', 'subnets': ['s-1', 's-2'],"
	 " 'capacityType': 'SPOT', 'instanceTypes': ['m6g.large', 'm7g.large'],"
	 " 'amiType': 'AL2023_ARM_64_STANDARD', 'clientRequestToken': 'tok'}",
	 NULL},
	{"create node group: GPU on AL2 before 1.30, a launch template", B_CREATE_NG,
	 "{'nodeRole': 'arn:role', 'gpu': true, 'version': '1.29', 'requestSpotInstances': true,"
	 " 'instanceType': 'g5.xlarge', 'launchTemplate': {'name': 'gpu', 'version': 2}}",
	 cluster_current,
	 "{'nodegroupName': 'ng-a', 'nodeRole': 'arn:role', 'subnets': ['s-1', 's-2'],"
	 " 'version': '1.29', 'capacityType': 'SPOT', 'instanceTypes': ['g5.xlarge'],"
	 " 'launchTemplate': {'name': 'gpu', 'version': '2'}, 'amiType': 'AL2_x86_64_GPU',"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"create node group without nodeRole", B_CREATE_NG, "{'desiredSize': 1}", cluster_current,
	 NULL, "field \"nodeGroups[ng-a].nodeRole\" is required"},
	{"create node group without subnets anywhere", B_CREATE_NG, "{'nodeRole': 'r'}", "{}", NULL,
	 "\"nodeGroups[ng-a].subnets\" is required"},
	{"create node group with imageId", B_CREATE_NG, "{'nodeRole': 'r', 'imageId': 'ami-1'}",
	 cluster_current, NULL, "set launchTemplate instead"},
	{"create node group with a stranger", B_CREATE_NG, "{'nodeRole': 'r', 'userData': 'x'}",
	 cluster_current, NULL, "\"nodeGroups[ng-a].userData\" is not an EKS node group field"},
	{"create node group, another name", B_CREATE_NG, "{'nodeRole': 'r', 'nodegroupName': 'b'}",
	 cluster_current, NULL, "does not match"},
	{"create node group, a bad size", B_CREATE_NG, "{'nodeRole': 'r', 'diskSize': 'big'}",
	 cluster_current, NULL, "\"nodeGroups[ng-a].diskSize\" must be a whole number"},
	{"create node group, GPU and ARM before 1.30", B_CREATE_NG,
	 "{'nodeRole': 'r', 'gpu': true, 'arm': true, 'version': '1.28'}", cluster_current, NULL,
	 "need Kubernetes 1.30 or later"},
	/* CreateCluster */
	{"create cluster: everything", B_CREATE_CLUSTER,
	 "{'kubernetesVersion': '1.31', 'serviceRole': 'arn:role', 'subnets': ['s-1', 's-2'],"
	 " 'securityGroups': ['sg-1'], 'publicAccess': true, 'privateAccess': false,"
	 " 'publicAccessSources': ['10.0.0.0/8'], 'loggingTypes': ['audit'],"
	 " 'tags': {'team': 'pay'}, 'secretsEncryption': true, 'kmsKey': 'arn:kms',"
	 " 'ipFamily': 'ipv6', 'nodeGroups': [{'nodegroupName': 'x'}], 'ebsCSIDriver': false}",
	 NULL,
	 "{'name': 'prod', 'version': '1.31', 'roleArn': 'arn:role',"
	 " 'resourcesVpcConfig': {'subnetIds': ['s-1', 's-2'], 'securityGroupIds': ['sg-1'],"
	 " 'endpointPublicAccess': true, 'endpointPrivateAccess': false,"
	 " 'publicAccessCidrs': ['10.0.0.0/8']},"
	 " 'logging': {'clusterLogging': [{'types': ['audit'], 'enabled': true},"
	 " {'types': ['api', 'authenticator', 'controllerManager', 'scheduler'],"
	 " 'enabled': false}]},"
	 " 'tags': {'team': 'pay'}, 'encryptionConfig': [{'resources': ['secrets'],"
	 " 'provider': {'keyArn': 'arn:kms'}}], 'kubernetesNetworkConfig': {'ipFamily': 'ipv6'},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"create cluster: the least", B_CREATE_CLUSTER, "{'serviceRole': 'r', 'subnets': ['s']}",
	 NULL,
	 "{'name': 'prod', 'roleArn': 'r', 'resourcesVpcConfig': {'subnetIds': ['s']},"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"create cluster: a key alone turns encryption on", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'kmsKey': 'k', 'tags': {}}", NULL,
	 "{'name': 'prod', 'roleArn': 'r', 'resourcesVpcConfig': {'subnetIds': ['s']},"
	 " 'encryptionConfig': [{'resources': ['secrets'], 'provider': {'keyArn': 'k'}}],"
	 " 'clientRequestToken': 'tok'}",
	 NULL},
	{"create cluster without serviceRole", B_CREATE_CLUSTER, "{'subnets': ['s']}", NULL, NULL,
	 "field \"serviceRole\" is required"},
	{"create cluster without subnets", B_CREATE_CLUSTER, "{'serviceRole': 'r', 'subnets': []}",
	 NULL, NULL, "field \"subnets\" is required"},
	{"create cluster: encryption without a key", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'secretsEncryption': true}", NULL, NULL,
	 "field \"kmsKey\" is required when secretsEncryption is true"},
	{"create cluster: a key with encryption off", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'secretsEncryption': false, 'kmsKey': 'k'}", NULL,
	 NULL, "secretsEncryption is false"},
	{"create cluster: EBS CSI", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'ebsCSIDriver': true}", NULL, NULL,
	 "\"ebsCSIDriver\" is not supported yet"},
	{"create cluster: a stranger", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'region': 'x'}", NULL, NULL,
	 "\"region\" is not an EKS cluster field"},
	{"create cluster: a bad type", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'publicAccess': 'yes'}", NULL, NULL,
	 "\"publicAccess\" must be true or false"},
	{"create cluster: a bad tag", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'tags': {'a': 1}}", NULL, NULL,
	 "\"tags\" must be an object of strings"},
	{"create cluster: a bad log type", B_CREATE_CLUSTER,
	 "{'serviceRole': 'r', 'subnets': ['s'], 'loggingTypes': ['x']}", NULL, NULL,
	 "must list log types"},
	{"create cluster: not an object", B_CREATE_CLUSTER, "[]", NULL, NULL, "must be an object"},
};

static int build(json_t **out, const body_case *c, json_t *in, json_t *cur, hcr_error *err)
{
	switch (c->b) {
	case B_VERSION:
		return hcr_eks_body_cluster_version(out, in, "tok", err);
	case B_ACCESS:
		return hcr_eks_body_endpoint_access(out, in, "tok", err);
	case B_LOGGING:
		return hcr_eks_body_logging(out, in, "tok", err);
	case B_NG_CONFIG:
		return hcr_eks_body_nodegroup_config(out, in, "ng-a", cur, "tok", err);
	case B_NG_VERSION:
		return hcr_eks_body_nodegroup_version(out, in, "ng-a", "tok", err);
	case B_CREATE_NG:
		return hcr_eks_body_create_nodegroup(out, "ng-a", in, cur, "tok", err);
	case B_CREATE_CLUSTER:
		return hcr_eks_body_create_cluster(out, "prod", in, "tok", err);
	}
	return HCR_ERROR;
}

static void test_eks_bodies__table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const body_case *c = &cases[i];
		json_t *in = test_json(c->input), *cur = c->current ? test_json(c->current) : NULL;
		json_t *out = NULL;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = build(&out, c, in, cur, &err);
		if (!c->want) {
			if (rc != HCR_EINVALID)
				fail_msg("%s: not refused (%d)", c->name, rc);
			assert_null(out);
			if (!strstr(err.message, c->message))
				fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.message,
					 c->message);
		} else {
			json_t *want = test_json(c->want);

			if (rc != HCR_OK)
				fail_msg("%s: refused: %s", c->name, err.message);
			if (json_is_null(want) ? out != NULL : !json_equal(out, want))
				fail_msg("%s:\n got  %s\n want %s", c->name,
					 out ? hcr_json_dumps(out) : "null", hcr_json_dumps(want));
			json_decref(want);
		}
		json_decref(out);
		json_decref(in);
		json_decref(cur);
	}
}

static void test_eks_bodies__tag_split(void **state)
{
	json_t *changes = test_json("{'tags.team': 'pay', 'tags.old': null, 'tags.a.b/c': 'x'}");
	json_t *set, *unset, *want_set = test_json("{'team': 'pay', 'a.b/c': 'x'}");
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "tags", &err), HCR_OK);
	assert_true(json_equal(set, want_set));
	assert_int_equal(json_array_size(unset), 1);
	assert_string_equal(json_string_value(json_array_get(unset, 0)), "old");
	json_decref(set);
	json_decref(unset);
	json_decref(changes);
	json_decref(want_set);

	changes = test_json("{'nodeGroups[ng-a].tags.x': null}");
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "nodeGroups[ng-a].tags", &err),
			 HCR_OK);
	assert_int_equal(json_object_size(set), 0);
	assert_int_equal(json_array_size(unset), 1);
	json_decref(set);
	json_decref(unset);
	json_decref(changes);

	changes = test_json("{'tags.x': 1}");
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "tags", &err), HCR_EINVALID);
	assert_null(set);
	assert_null(unset);
	assert_non_null(strstr(err.message, "\"tags.x\" must be a string"));
	json_decref(changes);

	changes = test_json("{'tagsx': 'a'}");
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "tags", &err), HCR_EINVALID);
	json_decref(changes);
	changes = test_json("{'tags.': 'a'}");
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "tags", &err), HCR_EINVALID);
	json_decref(changes);
	changes = test_json("{'nodeGroups[ng-b].tags.k': 'a'}");
	assert_int_equal(hcr_eks_tag_split(&set, &unset, changes, "nodeGroups[ng-a].tags", &err),
			 HCR_EINVALID);
	assert_non_null(strstr(err.message, "is not a key of \"nodeGroups[ng-a].tags\""));
	json_decref(changes);
}

/* UpdateClusterConfig loses what EKS has already. */
static void test_eks_bodies__config_changes(void **state)
{
	static const struct {
		const char *body, *cluster, *left; /* left: NULL when nothing is */
	} config_cases[] = {
		{"{'resourcesVpcConfig': {'endpointPublicAccess': true,"
		 " 'publicAccessCidrs': ['b', 'a']}, 'clientRequestToken': 't'}",
		 "{'resourcesVpcConfig': {'endpointPublicAccess': true,"
		 " 'publicAccessCidrs': ['a', 'b']}}",
		 NULL},
		{"{'resourcesVpcConfig': {'endpointPublicAccess': true,"
		 " 'endpointPrivateAccess': true}}",
		 "{'resourcesVpcConfig': {'endpointPublicAccess': true,"
		 " 'endpointPrivateAccess': false}}",
		 "{'resourcesVpcConfig': {'endpointPrivateAccess': true}}"},
		{"{'resourcesVpcConfig': {'publicAccessCidrs': ['a']}}",
		 "{'resourcesVpcConfig': {'publicAccessCidrs': ['a', 'b']}}",
		 "{'resourcesVpcConfig': {'publicAccessCidrs': ['a']}}"},
		{"{'resourcesVpcConfig': {'publicAccessCidrs': ['a', 'b']}}",
		 "{'resourcesVpcConfig': {'publicAccessCidrs': ['a', 'c']}}",
		 "{'resourcesVpcConfig': {'publicAccessCidrs': ['a', 'b']}}"},
		{"{'resourcesVpcConfig': {'endpointPublicAccess': false}}", "{}",
		 "{'resourcesVpcConfig': {'endpointPublicAccess': false}}"},
		{"{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': true},"
		 " {'types': ['audit'], 'enabled': false}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['audit'], 'enabled': false},"
		 " {'types': ['api'], 'enabled': true}]}}",
		 NULL},
		{"{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': false}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': false}]}}", NULL},
		{"{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': false}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': true}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': false}]}}"},
		{"{'logging': {'clusterLogging': [{'types': ['api', 'audit'], 'enabled': true}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': true}]}}",
		 "{'logging': {'clusterLogging': [{'types': ['api', 'audit'], 'enabled': true}]}}"},
		{"{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': true}]}}", "{}",
		 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': true}]}}"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(config_cases); i++) {
		json_t *body = test_json(config_cases[i].body),
		       *cluster = test_json(config_cases[i].cluster);
		bool left = hcr_eks_config_changes(body, cluster);

		if (left != (config_cases[i].left != NULL))
			fail_msg("case %zu: left %d: %s", i, left, hcr_json_dumps(body));
		if (config_cases[i].left) {
			json_t *want = test_json(config_cases[i].left);

			json_object_del(body, "clientRequestToken");
			if (!json_equal(body, want))
				fail_msg("case %zu: %s", i, hcr_json_dumps(body));
			json_decref(want);
		}
		json_decref(body);
		json_decref(cluster);
	}
}

/* check_create: what registration refuses, named as the API names it. */
static void test_eks_bodies__check_create(void **state)
{
	static const struct {
		const char *config;  /* NULL: none */
		const char *message; /* NULL: accepted */
	} check_cases[] = {
		{"{'serviceRole': 'r', 'subnets': ['s-1', 's-2'], 'kubernetesVersion': '1.31',"
		 " 'nodeGroups': [{'nodegroupName': 'ng-a', 'nodeRole': 'n', 'arm': true}]}",
		 NULL},
		{NULL, "field \"config.serviceRole\" is required"},
		{"{'subnets': ['s']}", "field \"config.serviceRole\" is required"},
		{"{'serviceRole': 'r'}", "field \"config.subnets\" is required"},
		{"{'serviceRole': 'r', 'subnets': ['s'], 'loggingTypes': ['x']}",
		 "change \"config.loggingTypes\" must list log types"},
		{"{'serviceRole': 'r', 'subnets': ['s'], 'nodeGroups': [{'nodegroupName': "
		 "'ng-a'}]}",
		 "field \"config.nodeGroups[ng-a].nodeRole\" is required"},
		{"{'serviceRole': 'r', 'subnets': ['s'], 'nodeGroups': [{'nodeRole': 'n'}]}",
		 "field \"config.nodeGroups[0].nodegroupName\" must be a valid EKS node group "
		 "name"},
		{"{'serviceRole': 'r', 'subnets': ['s'], 'kubernetesVersion': '1.28',"
		 " 'nodeGroups': [{'nodegroupName': 'g', 'nodeRole': 'n', 'gpu': true, 'arm': "
		 "true}]}",
		 "field \"config.nodeGroups[g].gpu\" and arm together need Kubernetes 1.30"},
		{"{'serviceRole': 'r', 'subnets': ['s'], 'nodeGroups': {}}",
		 "field \"config.nodeGroups\" must be an array"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(check_cases); i++) {
		json_t *config = check_cases[i].config ? test_json(check_cases[i].config) : NULL;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_eks_check_create(config, &err);
		if (!check_cases[i].message && rc != HCR_OK)
			fail_msg("case %zu refused: %s", i, err.message);
		if (check_cases[i].message &&
		    (rc != HCR_EINVALID || !strstr(err.message, check_cases[i].message)))
			fail_msg("case %zu: %d \"%s\"", i, rc, err.message);
		json_decref(config);
	}
}

/* No token: no clientRequestToken member at all. */
static void test_eks_bodies__without_token(void **state)
{
	json_t *in = test_json("{'kubernetesVersion': '1.30'}"), *out;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_eks_body_cluster_version(&out, in, NULL, &err), HCR_OK);
	assert_null(json_object_get(out, "clientRequestToken"));
	json_decref(out);
	assert_int_equal(hcr_eks_body_cluster_version(&out, in, "", &err), HCR_OK);
	assert_null(json_object_get(out, "clientRequestToken"));
	json_decref(out);
	json_decref(in);
	in = test_json("{'serviceRole': 'r', 'subnets': ['s']}");
	assert_int_equal(hcr_eks_body_create_cluster(&out, "bad/name", in, "t", &err),
			 HCR_EINVALID);
	assert_int_equal(hcr_eks_body_create_nodegroup(&out, "bad name", in, NULL, "t", &err),
			 HCR_EINVALID);
	json_decref(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eks_bodies__table),
		cmocka_unit_test(test_eks_bodies__tag_split),
		cmocka_unit_test(test_eks_bodies__config_changes),
		cmocka_unit_test(test_eks_bodies__check_create),
		cmocka_unit_test(test_eks_bodies__without_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
