/*
 * Unit tests for providers/eks/eks_document.c: what DescribeCluster and
 * DescribeNodegroup answers become in hcr's document, table-driven. The full
 * pair below has every member of the model's Cluster and Nodegroup shapes
 * that hcr reads, plus members it must ignore; the other cases take members
 * away, change them (SPOT, taints, launch templates, AMI types, DELETING node
 * groups) or give them the wrong type.
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

/* A DescribeCluster "cluster", as EKS sends it (model shape Cluster). */
static const char full_cluster[] =
	"{'name': 'prod', 'arn': 'arn:aws:eks:eu-west-1:123456789012:cluster/prod',"
	" 'createdAt': 1795286132.074, 'version': '1.30',"
	" 'endpoint': 'https://ABCD.gr7.eu-west-1.eks.amazonaws.com',"
	" 'roleArn': 'arn:aws:iam::123456789012:role/eks',"
	" 'resourcesVpcConfig': {'subnetIds': ['subnet-b', 'subnet-a'],"
	"   'securityGroupIds': ['sg-1'], 'clusterSecurityGroupId': 'sg-c', 'vpcId': 'vpc-1',"
	"   'endpointPublicAccess': true, 'endpointPrivateAccess': false,"
	"   'publicAccessCidrs': ['203.0.113.0/24', '198.51.100.0/24']},"
	" 'kubernetesNetworkConfig': {'serviceIpv4Cidr': '172.20.0.0/16', 'ipFamily': 'ipv4'},"
	" 'logging': {'clusterLogging': [{'types': ['scheduler', 'api'], 'enabled': true},"
	"   {'types': ['audit', 'authenticator', 'controllerManager'], 'enabled': false}]},"
	" 'identity': {'oidc': {'issuer': 'https://oidc.eks.eu-west-1.amazonaws.com/id/X'}},"
	" 'status': 'ACTIVE', 'certificateAuthority': {'data': 'LS0tLS1CRUdJTg=='},"
	" 'clientRequestToken': 'tok', 'platformVersion': 'eks.8', 'tags': {'team': 'pay'},"
	" 'encryptionConfig': [{'resources': ['secrets'],"
	"   'provider': {'keyArn': 'arn:aws:kms:eu-west-1:123456789012:key/k'}}],"
	" 'health': {'issues': []}, 'accessConfig': {'authenticationMode': 'API'},"
	" 'upgradePolicy': {'supportType': 'STANDARD'}}";

/* A DescribeNodegroup "nodegroup" (model shape Nodegroup). */
static const char full_nodegroup[] =
	"{'nodegroupName': 'ng-a', 'nodegroupArn': 'arn:aws:eks:eu-west-1:1:nodegroup/prod/ng-a/u',"
	" 'clusterName': 'prod', 'version': '1.30', 'releaseVersion': '1.30.0-20240701',"
	" 'createdAt': 1.5, 'modifiedAt': 2.5, 'status': 'ACTIVE', 'capacityType': 'ON_DEMAND',"
	" 'scalingConfig': {'minSize': 1, 'maxSize': 5, 'desiredSize': 3},"
	" 'instanceTypes': ['m5.large'], 'subnets': ['subnet-a'],"
	" 'remoteAccess': {'ec2SshKey': 'ops', 'sourceSecurityGroups': ['sg-9']},"
	" 'amiType': 'AL2_x86_64', 'nodeRole': 'arn:aws:iam::1:role/node',"
	" 'labels': {'env': 'prod'}, 'taints': [{'key': 'dedicated', 'value': 'gpu',"
	"   'effect': 'NO_SCHEDULE'}],"
	" 'resources': {'autoScalingGroups': [{'name': 'asg'}]}, 'diskSize': 50,"
	" 'health': {'issues': []}, 'updateConfig': {'maxUnavailable': 1},"
	" 'tags': {'owner': 'ops'}}";

static const char full_document[] =
	"{'kubernetesVersion': '1.30', 'tags': {'team': 'pay'}, 'publicAccess': true,"
	" 'privateAccess': false, 'publicAccessSources': ['203.0.113.0/24', '198.51.100.0/24'],"
	" 'loggingTypes': ['api', 'scheduler'], 'subnets': ['subnet-b', 'subnet-a'],"
	" 'securityGroups': ['sg-1'], 'serviceRole': 'arn:aws:iam::123456789012:role/eks',"
	" 'secretsEncryption': true, 'kmsKey': 'arn:aws:kms:eu-west-1:123456789012:key/k',"
	" 'ipFamily': 'ipv4',"
	" 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 3, 'minSize': 1, 'maxSize': 5,"
	"   'labels': {'env': 'prod'}, 'taints': [{'key': 'dedicated', 'value': 'gpu',"
	"   'effect': 'NO_SCHEDULE'}], 'tags': {'owner': 'ops'}, 'version': '1.30',"
	"   'instanceType': 'm5.large', 'requestSpotInstances': false, 'gpu': false,"
	"   'arm': false, 'diskSize': 50, 'subnets': ['subnet-a'],"
	"   'nodeRole': 'arn:aws:iam::1:role/node', 'ec2SshKey': 'ops'}]}";

typedef struct doc_case {
	const char *name;
	const char *cluster;    /* NULL: full_cluster */
	const char *nodegroups; /* a JSON array; NULL: [full_nodegroup] */
	int status;
	const char *document; /* the expected document (HCR_OK) */
	const char *detail;   /* a substring of err.detail (failures) */
} doc_case;

static const doc_case doc_cases[] = {
	{"full pair", NULL, NULL, HCR_OK, full_document, NULL},
	{"bare cluster: only what EKS reported", "{'name': 'x', 'status': 'CREATING'}", "[]",
	 HCR_OK, "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': []}", NULL},
	{"nulls count as absent",
	 "{'name': 'x', 'version': null, 'tags': null, 'resourcesVpcConfig': null, 'logging': null,"
	 " 'encryptionConfig': null}",
	 "[]", HCR_OK, "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': []}", NULL},
	{"logging: enabled types sorted and unique across setups, none enabled is []",
	 "{'logging': {'clusterLogging': [{'types': ['audit'], 'enabled': true},"
	 " {'types': ['api', 'audit'], 'enabled': true}, {'types': ['scheduler']}]}}",
	 "[]", HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'loggingTypes': ['api', 'audit'],"
	 " 'nodeGroups': []}",
	 NULL},
	{"logging all disabled",
	 "{'logging': {'clusterLogging': [{'types': ['api'], 'enabled': false}]}}", "[]", HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'loggingTypes': [], 'nodeGroups': []}", NULL},
	{"encryption without a key ARN", "{'encryptionConfig': [{'resources': ['secrets']}]}", "[]",
	 HCR_OK, "{'tags': {}, 'secretsEncryption': true, 'nodeGroups': []}", NULL},
	{"bare node group: labels, taints and tags default to empty", "{}",
	 "[{'nodegroupName': 'ng-b', 'status': 'CREATING'}]", HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': [{'nodegroupName': 'ng-b',"
	 " 'labels': {}, 'taints': [], 'tags': {}, 'requestSpotInstances': false}]}",
	 NULL},
	{"SPOT: spotInstanceTypes, instanceType is the first; ARM GPU AMI", "{}",
	 "[{'nodegroupName': 'spot', 'capacityType': 'SPOT', 'amiType': 'AL2023_ARM_64_NVIDIA',"
	 " 'instanceTypes': ['g5g.xlarge', 'g5g.2xlarge']}]",
	 HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': [{'nodegroupName': 'spot',"
	 " 'labels': {}, 'taints': [], 'tags': {}, 'instanceType': 'g5g.xlarge',"
	 " 'requestSpotInstances': true, 'spotInstanceTypes': ['g5g.xlarge', 'g5g.2xlarge'],"
	 " 'gpu': true, 'arm': true}]}",
	 NULL},
	{"launch template: numeric version becomes a number; CUSTOM AMI leaves out gpu and arm",
	 "{}",
	 "[{'nodegroupName': 'lt', 'amiType': 'CUSTOM', 'launchTemplate': {'id': 'lt-1',"
	 " 'name': 'web', 'version': '7'}},"
	 " {'nodegroupName': 'lt2', 'amiType': 'AL2_x86_64_GPU', 'launchTemplate': {'name': 'w',"
	 " 'version': '$Latest'}}]",
	 HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': ["
	 " {'nodegroupName': 'lt', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false, 'launchTemplate': {'id': 'lt-1', 'name': 'web',"
	 "  'version': 7}},"
	 " {'nodegroupName': 'lt2', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false, 'gpu': true, 'arm': false,"
	 "  'launchTemplate': {'name': 'w', 'version': '$Latest'}}]}",
	 NULL},
	{"taints without a value; several taints keep EKS's order", "{}",
	 "[{'nodegroupName': 't', 'taints': [{'key': 'b', 'effect': 'NO_EXECUTE'},"
	 " {'key': 'a', 'value': 'x', 'effect': 'PREFER_NO_SCHEDULE'}]}]",
	 HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': [{'nodegroupName': 't',"
	 " 'labels': {}, 'tags': {}, 'requestSpotInstances': false,"
	 " 'taints': [{'key': 'b', 'effect': 'NO_EXECUTE'},"
	 " {'key': 'a', 'value': 'x', 'effect': 'PREFER_NO_SCHEDULE'}]}]}",
	 NULL},
	{"node groups sorted by name, DELETING ones left out, duplicates once", "{}",
	 "[{'nodegroupName': 'z'}, {'nodegroupName': 'gone', 'status': 'DELETING'},"
	 " {'nodegroupName': 'a', 'status': 'DELETE_FAILED'}, {'nodegroupName': 'z'}]",
	 HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': ["
	 " {'nodegroupName': 'a', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false},"
	 " {'nodegroupName': 'z', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false}]}",
	 NULL},
	{"a name three times, then another (found by fuzz_eks_document)", "{}",
	 "[{'nodegroupName': 'b'}, {'nodegroupName': 'b', 'diskSize': 1},"
	 " {'nodegroupName': 'b', 'diskSize': 2}, {'nodegroupName': 'c'}]",
	 HCR_OK,
	 "{'tags': {}, 'secretsEncryption': false, 'nodeGroups': ["
	 " {'nodegroupName': 'b', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false},"
	 " {'nodegroupName': 'c', 'labels': {}, 'taints': [], 'tags': {},"
	 "  'requestSpotInstances': false}]}",
	 NULL},
	{"cluster is not an object", "[]", "[]", HCR_EUPSTREAM, NULL, "\"cluster\""},
	{"version is a number", "{'version': 1.3}", "[]", HCR_EUPSTREAM, NULL,
	 "cluster.version is not a string"},
	{"a tag value is a number", "{'tags': {'a': 1}}", "[]", HCR_EUPSTREAM, NULL,
	 "cluster.tags is not an object of strings"},
	{"subnets hold a number", "{'resourcesVpcConfig': {'subnetIds': ['a', 2]}}", "[]",
	 HCR_EUPSTREAM, NULL, "subnetIds is not an array of strings"},
	{"public access is a string", "{'resourcesVpcConfig': {'endpointPublicAccess': 'yes'}}",
	 "[]", HCR_EUPSTREAM, NULL, "endpointPublicAccess is not a boolean"},
	{"logging setups are not objects", "{'logging': {'clusterLogging': ['api']}}", "[]",
	 HCR_EUPSTREAM, NULL, "clusterLogging"},
	{"encryptionConfig is an object", "{'encryptionConfig': {}}", "[]", HCR_EUPSTREAM, NULL,
	 "encryptionConfig is not an array"},
	{"a node group without a name", "{}", "[{'status': 'ACTIVE'}]", HCR_EUPSTREAM, NULL,
	 "nodegroupName"},
	{"desiredSize is a string", "{}",
	 "[{'nodegroupName': 'a', 'scalingConfig': {'desiredSize': '3'}}]", HCR_EUPSTREAM, NULL,
	 "scalingConfig.desiredSize is not an integer"},
	{"a taint key is a number", "{}", "[{'nodegroupName': 'a', 'taints': [{'key': 1}]}]",
	 HCR_EUPSTREAM, NULL, "taint.key is not a string"},
	{"node groups are not an array", "{}", "{}", HCR_EUPSTREAM, NULL, "nodegroups"},
	{"a node group is a string", "{}", "['ng']", HCR_EUPSTREAM, NULL, "nodegroups"},
	{"launch template version is a number", "{}",
	 "[{'nodegroupName': 'a', 'launchTemplate': {'version': 3}}]", HCR_EUPSTREAM, NULL,
	 "launchTemplate.version is not a string"},
};

static void test_eks_document__normalise(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(doc_cases); i++) {
		const doc_case *c = &doc_cases[i];
		json_t *cluster = test_json(c->cluster ? c->cluster : full_cluster), *ngs, *doc;
		hcr_error err;
		int rc;

		if (c->nodegroups) {
			ngs = test_json(c->nodegroups);
		} else {
			ngs = json_array();
			json_array_append_new(ngs, test_json(full_nodegroup));
		}
		hcr_error_clear(&err);
		rc = hcr_eks_normalise(&doc, cluster, ngs, &err);
		if (rc != c->status)
			fail_msg("%s: status %d, want %d (%s: %s)", c->name, rc, c->status,
				 err.message, err.detail);
		if (rc == HCR_OK) {
			json_t *want = test_json(c->document);

			if (!json_equal(doc, want))
				fail_msg("%s:\n got  %s\n want %s", c->name, hcr_json_dumps(doc),
					 hcr_json_dumps(want));
			json_decref(want);
		} else {
			assert_null(doc);
			assert_string_equal(err.message, "unexpected response from EKS");
			if (!strstr(err.detail, c->detail))
				fail_msg("%s: detail \"%s\" lacks \"%s\"", c->name, err.detail,
					 c->detail);
		}
		json_decref(doc);
		json_decref(cluster);
		json_decref(ngs);
	}
}

/* Every key of the document is a catalogued field, so the engine tracks nothing else. */
static void test_eks_document__only_catalogued_fields(void **state)
{
	json_t *cluster = test_json(full_cluster), *ngs = json_array(), *doc, *v, *ng;
	const char *k;
	hcr_error err;
	char path[128];

	(void)state;
	json_array_append_new(ngs, test_json(full_nodegroup));
	assert_int_equal(hcr_eks_normalise(&doc, cluster, ngs, &err), HCR_OK);
	json_object_foreach(doc, k, v)
	{
		if (!hcr_catalog_find(&hcr_eks_catalog, k))
			fail_msg("document key %s is not in the catalog", k);
	}
	ng = json_array_get(json_object_get(doc, "nodeGroups"), 0);
	json_object_foreach(ng, k, v)
	{
		snprintf(path, sizeof(path), "nodeGroups[ng-a].%s", k);
		if (strcmp(k, "nodegroupName") != 0 && !hcr_catalog_find(&hcr_eks_catalog, path))
			fail_msg("node group key %s is not in the catalog", k);
	}
	json_decref(doc);
	json_decref(cluster);
	json_decref(ngs);
}

typedef struct busy_case {
	const char *cluster;
	const char *nodegroups;
	bool busy;
} busy_case;

static const busy_case busy_cases[] = {
	{"{'status': 'ACTIVE'}", "[]", false},
	{"{'status': 'ACTIVE'}", "[{'status': 'ACTIVE'}, {'status': 'DEGRADED'}]", false},
	{"{'status': 'ACTIVE'}", "[{'status': 'CREATE_FAILED'}, {'status': 'DELETE_FAILED'}]",
	 false},
	{"{'status': 'UPDATING'}", "[]", true},
	{"{'status': 'CREATING'}", "[]", true},
	{"{'status': 'PENDING'}", "[]", true},
	{"{'status': 'FAILED'}", "[]", true},
	{"{'status': 'DELETING'}", "[]", true},
	{"{}", "[]", true},
	{"{'status': 'ACTIVE'}", "[{'status': 'ACTIVE'}, {'status': 'CREATING'}]", true},
	{"{'status': 'ACTIVE'}", "[{'status': 'UPDATING'}]", true},
	{"{'status': 'ACTIVE'}", "[{'status': 'DELETING'}]", true},
};

static void test_eks_document__busy(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(busy_cases); i++) {
		json_t *c = test_json(busy_cases[i].cluster),
		       *n = test_json(busy_cases[i].nodegroups);

		if (hcr_eks_busy(c, n) != busy_cases[i].busy)
			fail_msg("%s %s: busy should be %d", busy_cases[i].cluster,
				 busy_cases[i].nodegroups, busy_cases[i].busy);
		json_decref(c);
		json_decref(n);
	}
}

/* The catalog: operations, orders and mutability the engine plans with. */
static void test_eks_document__catalog(void **state)
{
	static const struct {
		const char *path;
		const char *operation;
		int order;
		hcr_mutability mut;
		bool irreversible;
	} want[] = {
		{"kubernetesVersion", "UpdateClusterVersion", 10, HCR_MUT_MUTABLE, true},
		{"publicAccessSources", "UpdateEndpointAccess", 20, HCR_MUT_MUTABLE, false},
		{"loggingTypes", "UpdateLogging", 21, HCR_MUT_MUTABLE, false},
		{"tags.team", "TagResource", 30, HCR_MUT_MUTABLE, false},
		{"subnets", NULL, 0, HCR_MUT_IMMUTABLE, false},
		{"kmsKey", NULL, 0, HCR_MUT_CREATE_ONLY, false},
		{"ipFamily", NULL, 0, HCR_MUT_CREATE_ONLY, false},
		{"nodeGroups[x].minSize", "UpdateNodegroupConfig", 40, HCR_MUT_MUTABLE, false},
		{"nodeGroups[x].labels.a.b/c", "UpdateNodegroupConfig", 40, HCR_MUT_MUTABLE, false},
		{"nodeGroups[x].taints", "UpdateNodegroupConfig", 40, HCR_MUT_MUTABLE, false},
		{"nodeGroups[x].tags.k", "TagNodegroup", 45, HCR_MUT_MUTABLE, false},
		{"nodeGroups[x].version", "UpdateNodegroupVersion", 50, HCR_MUT_MUTABLE, true},
		{"nodeGroups[x].launchTemplate", "UpdateNodegroupVersion", 50, HCR_MUT_MUTABLE,
		 false},
		{"nodeGroups[x].instanceType", NULL, 0, HCR_MUT_IMMUTABLE, false},
		{"nodeGroups[x].requestSpotInstances", NULL, 0, HCR_MUT_IMMUTABLE, false},
		{"nodeGroups[x].imageId", NULL, 0, HCR_MUT_IMMUTABLE, false},
	};
	const hcr_field_spec *pools = hcr_catalog_find(&hcr_eks_catalog, "nodeGroups[x]");
	size_t i;

	(void)state;
	assert_string_equal(hcr_eks_catalog.provider, "eks");
	assert_non_null(pools);
	assert_int_equal(pools->kind, HCR_FK_POOLS);
	assert_string_equal(pools->pool_key, "nodegroupName");
	assert_string_equal(pools->create_operation, "CreateNodegroup");
	assert_string_equal(pools->delete_operation, "DeleteNodegroup");
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const hcr_field_spec *s = hcr_catalog_find(&hcr_eks_catalog, want[i].path);

		if (!s)
			fail_msg("%s is not in the catalog", want[i].path);
		if (want[i].operation)
			assert_string_equal(s->operation, want[i].operation);
		else
			assert_null(s->operation);
		assert_int_equal(s->order, want[i].order);
		assert_int_equal(s->mutability, want[i].mut);
		assert_int_equal(s->irreversible, want[i].irreversible);
	}
	assert_null(hcr_catalog_find(&hcr_eks_catalog, "status"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eks_document__normalise),
		cmocka_unit_test(test_eks_document__only_catalogued_fields),
		cmocka_unit_test(test_eks_document__busy),
		cmocka_unit_test(test_eks_document__catalog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
