/*
 * Unit tests for src/cluster_config.c: a desired configuration is checked
 * against its provider's fields and JSON types, identity fields are sent to
 * the top level with a hint, node pools need unique names, and null (release a
 * field) is accepted for every field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/clusters.h"
#include "hcr/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static json_t *doc(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

struct check_case {
	const char *provider;
	const char *config;
	int rc;
	const char *message; /* NULL when rc is HCR_OK */
	const char *hint;    /* NULL: not checked; "" none */
};

static void run_cases(const struct check_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *config = doc(cases[i].config);
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_cluster_config_check(cases[i].provider, config, "config", &err);
		if (rc != cases[i].rc ||
		    (cases[i].message && (strcmp(err.message, cases[i].message) != 0 ||
					  strcmp(err.code, "invalid") != 0)) ||
		    (cases[i].hint && strcmp(err.hint, cases[i].hint) != 0))
			fail_msg("%s %s: got %d \"%s\" hint \"%s\"", cases[i].provider,
				 cases[i].config, rc, err.message, err.hint);
		json_decref(config);
	}
}

static void test_cluster_config__accepts_known_fields_of_each_provider(void **state)
{
	static const struct check_case cases[] = {
		{"eks", "{}", HCR_OK, NULL, NULL},
		{"aks", "{}", HCR_OK, NULL, NULL},
		{"gke", "{}", HCR_OK, NULL, NULL},
		{"eks",
		 "{\"kubernetesVersion\": \"1.29\", \"tags\": {\"team\": \"a\"}, "
		 "\"publicAccess\": true, \"privateAccess\": false, \"secretsEncryption\": false, "
		 "\"kmsKey\": \"arn:aws:kms:x\", \"ebsCSIDriver\": true, \"ipFamily\": \"ipv4\", "
		 "\"publicAccessSources\": [\"0.0.0.0/0\"], \"loggingTypes\": [\"api\"], "
		 "\"subnets\": [\"subnet-1\"], \"securityGroups\": [], \"serviceRole\": \"r\", "
		 "\"nodeGroups\": [{\"nodegroupName\": \"ng-a\", \"desiredSize\": 2}, "
		 "{\"nodegroupName\": \"ng-b\"}]}",
		 HCR_OK, NULL, NULL},
		{"aks",
		 "{\"kubernetesVersion\": \"1.29.2\", \"dnsPrefix\": \"p\", \"tags\": {}, "
		 "\"networkPlugin\": \"azure\", \"privateCluster\": false, \"monitoring\": true, "
		 "\"authorizedIpRanges\": [], \"managedIdentity\": true, "
		 "\"nodePools\": [{\"name\": \"system\", \"count\": 1, \"mode\": \"System\"}, "
		 "{\"name\": \"user\"}]}",
		 HCR_OK, NULL, NULL},
		{"gke",
		 "{\"kubernetesVersion\": \"1.29\", \"labels\": {\"a\": \"b\"}, "
		 "\"enableKubernetesAlpha\": false, \"clusterAddons\": {}, "
		 "\"locations\": [\"europe-west1-b\"], \"privateClusterConfig\": {}, "
		 "\"network\": \"default\", \"nodePools\": [{\"name\": \"pool-1\"}]}",
		 HCR_OK, NULL, NULL},
		/* Empty pool lists are fine. */
		{"eks", "{\"nodeGroups\": []}", HCR_OK, NULL, NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__null_releases_any_field(void **state)
{
	static const struct check_case cases[] = {
		{"eks",
		 "{\"kubernetesVersion\": null, \"tags\": null, \"publicAccess\": null, "
		 "\"subnets\": null, \"nodeGroups\": null}",
		 HCR_OK, NULL, NULL},
		{"aks",
		 "{\"kubernetesVersion\": null, \"tags\": null, \"privateCluster\": null, "
		 "\"authorizedIpRanges\": null, \"nodePools\": null}",
		 HCR_OK, NULL, NULL},
		{"gke",
		 "{\"kubernetesVersion\": null, \"labels\": null, \"networkPolicyEnabled\": null, "
		 "\"locations\": null, \"nodePools\": null, \"autopilotConfig\": null}",
		 HCR_OK, NULL, NULL},
		/* null is not a way to slip in an unknown field. */
		{"eks", "{\"bogus\": null}", HCR_EINVALID,
		 "unknown field \"config.bogus\" for provider eks", NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__refuses_wrong_types(void **state)
{
	static const struct check_case cases[] = {
		{"eks", "{\"kubernetesVersion\": 1.29}", HCR_EINVALID,
		 "field \"config.kubernetesVersion\" must be a string", NULL},
		{"eks", "{\"tags\": \"team=a\"}", HCR_EINVALID,
		 "field \"config.tags\" must be an object", NULL},
		{"eks", "{\"tags\": []}", HCR_EINVALID, "field \"config.tags\" must be an object",
		 NULL},
		{"eks", "{\"publicAccess\": \"true\"}", HCR_EINVALID,
		 "field \"config.publicAccess\" must be true or false", NULL},
		{"eks", "{\"publicAccess\": 1}", HCR_EINVALID,
		 "field \"config.publicAccess\" must be true or false", NULL},
		{"eks", "{\"subnets\": \"subnet-1\"}", HCR_EINVALID,
		 "field \"config.subnets\" must be an array", NULL},
		{"eks", "{\"nodeGroups\": {}}", HCR_EINVALID,
		 "field \"config.nodeGroups\" must be an array", NULL},
		{"aks", "{\"privateCluster\": \"no\"}", HCR_EINVALID,
		 "field \"config.privateCluster\" must be true or false", NULL},
		{"aks", "{\"dnsPrefix\": []}", HCR_EINVALID,
		 "field \"config.dnsPrefix\" must be a string", NULL},
		{"gke", "{\"labels\": [\"a\"]}", HCR_EINVALID,
		 "field \"config.labels\" must be an object", NULL},
		{"gke", "{\"locations\": \"europe-west1-b\"}", HCR_EINVALID,
		 "field \"config.locations\" must be an array", NULL},
		{"gke", "{\"enableKubernetesAlpha\": 0}", HCR_EINVALID,
		 "field \"config.enableKubernetesAlpha\" must be true or false", NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__refuses_unknown_fields_naming_the_spec(void **state)
{
	static const struct check_case cases[] = {
		{"eks", "{\"kubernetesVerison\": \"1.29\"}", HCR_EINVALID,
		 "unknown field \"config.kubernetesVerison\" for provider eks",
		 "field names follow Rancher's EKS cluster config spec"},
		/* Another provider's field is unknown here. */
		{"eks", "{\"nodePools\": []}", HCR_EINVALID,
		 "unknown field \"config.nodePools\" for provider eks",
		 "field names follow Rancher's EKS cluster config spec"},
		{"aks", "{\"nodeGroups\": []}", HCR_EINVALID,
		 "unknown field \"config.nodeGroups\" for provider aks",
		 "field names follow Rancher's AKS cluster config spec"},
		{"gke", "{\"tags\": {}}", HCR_EINVALID,
		 "unknown field \"config.tags\" for provider gke",
		 "field names follow Rancher's GKE cluster config spec"},
		/* Names are case-sensitive. */
		{"gke", "{\"KubernetesVersion\": \"1.29\"}", HCR_EINVALID,
		 "unknown field \"config.KubernetesVersion\" for provider gke", NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__identity_fields_belong_at_the_top_level(void **state)
{
	static const struct check_case cases[] = {
		{"eks", "{\"region\": \"eu-west-1\"}", HCR_EINVALID,
		 "field \"config.region\" belongs at the top level",
		 "set \"region\" beside \"config\", not inside it"},
		{"eks", "{\"amazonCredentialSecret\": \"cattle-global-data:cc-x\"}", HCR_EINVALID,
		 "field \"config.amazonCredentialSecret\" belongs at the top level",
		 "set \"credential\" beside \"config\", not inside it"},
		{"eks", "{\"displayName\": \"prod\"}", HCR_EINVALID,
		 "field \"config.displayName\" belongs at the top level",
		 "set \"cloudName\" beside \"config\", not inside it"},
		{"eks", "{\"imported\": false}", HCR_EINVALID,
		 "field \"config.imported\" belongs at the top level",
		 "set \"imported\" beside \"config\", not inside it"},
		{"aks", "{\"clusterName\": \"prod\"}", HCR_EINVALID,
		 "field \"config.clusterName\" belongs at the top level",
		 "set \"cloudName\" beside \"config\", not inside it"},
		{"aks", "{\"resourceGroup\": \"rg\"}", HCR_EINVALID,
		 "field \"config.resourceGroup\" belongs at the top level",
		 "set \"resourceGroup\" beside \"config\", not inside it"},
		{"aks", "{\"resourceLocation\": \"westeurope\"}", HCR_EINVALID,
		 "field \"config.resourceLocation\" belongs at the top level",
		 "set \"location\" beside \"config\", not inside it"},
		{"aks", "{\"azureCredentialSecret\": \"x\"}", HCR_EINVALID,
		 "field \"config.azureCredentialSecret\" belongs at the top level",
		 "set \"credential\" beside \"config\", not inside it"},
		{"gke", "{\"projectID\": \"my-project\"}", HCR_EINVALID,
		 "field \"config.projectID\" belongs at the top level",
		 "set \"project\" beside \"config\", not inside it"},
		{"gke", "{\"zone\": \"europe-west1-b\"}", HCR_EINVALID,
		 "field \"config.zone\" belongs at the top level",
		 "set \"location\" beside \"config\", not inside it"},
		{"gke", "{\"region\": \"europe-west1\"}", HCR_EINVALID,
		 "field \"config.region\" belongs at the top level",
		 "set \"location\" beside \"config\", not inside it"},
		{"gke", "{\"googleCredentialSecret\": \"x\"}", HCR_EINVALID,
		 "field \"config.googleCredentialSecret\" belongs at the top level",
		 "set \"credential\" beside \"config\", not inside it"},
		{"gke", "{\"clusterName\": \"x\"}", HCR_EINVALID,
		 "field \"config.clusterName\" belongs at the top level",
		 "set \"cloudName\" beside \"config\", not inside it"},
		/* Even when null. */
		{"eks", "{\"region\": null}", HCR_EINVALID,
		 "field \"config.region\" belongs at the top level", NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__node_pools_need_unique_names(void **state)
{
	static const struct check_case cases[] = {
		{"eks",
		 "{\"nodeGroups\": [{\"nodegroupName\": \"a\"}, {\"nodegroupName\": \"a\"}]}",
		 HCR_EINVALID,
		 "field \"config.nodeGroups\": two pools are named \"a\"; pools are matched by "
		 "name, "
		 "so names must be unique",
		 NULL},
		{"aks",
		 "{\"nodePools\": [{\"name\": \"x\"}, {\"name\": \"y\"}, {\"name\": \"x\", "
		 "\"count\": 3}]}",
		 HCR_EINVALID,
		 "field \"config.nodePools\": two pools are named \"x\"; pools are matched by "
		 "name, "
		 "so names must be unique",
		 NULL},
		{"gke", "{\"nodePools\": [{\"name\": \"p\"}, {\"name\": \"p\"}]}", HCR_EINVALID,
		 "field \"config.nodePools\": two pools are named \"p\"; pools are matched by "
		 "name, "
		 "so names must be unique",
		 NULL},
		/* Names differing only in case are different names. */
		{"gke", "{\"nodePools\": [{\"name\": \"p\"}, {\"name\": \"P\"}]}", HCR_OK, NULL,
		 NULL},
		/* Each provider's own name field. */
		{"eks", "{\"nodeGroups\": [{\"nodegroupName\": \"a\"}, {\"name\": \"b\"}]}",
		 HCR_EINVALID, "field \"config.nodeGroups[1].nodegroupName\" is required", NULL},
		{"aks", "{\"nodePools\": [{\"nodegroupName\": \"a\"}]}", HCR_EINVALID,
		 "field \"config.nodePools[0].name\" is required", NULL},
		{"gke", "{\"nodePools\": [{\"name\": \"\"}]}", HCR_EINVALID,
		 "field \"config.nodePools[0].name\" is required", NULL},
		{"gke", "{\"nodePools\": [{\"name\": 7}]}", HCR_EINVALID,
		 "field \"config.nodePools[0].name\" is required", NULL},
		{"aks", "{\"nodePools\": [{\"name\": \"a\"}, \"b\"]}", HCR_EINVALID,
		 "field \"config.nodePools[1]\" must be an object", NULL},
		{"eks", "{\"nodeGroups\": [null]}", HCR_EINVALID,
		 "field \"config.nodeGroups[0]\" must be an object", NULL},
	};

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
}

static void test_cluster_config__refuses_non_objects_and_unknown_providers(void **state)
{
	static const struct check_case cases[] = {
		{"eks", "[]", HCR_EINVALID, "field \"config\" must be an object", NULL},
		{"aks", "\"{}\"", HCR_EINVALID, "field \"config\" must be an object", NULL},
		{"gke", "null", HCR_EINVALID, "field \"config\" must be an object", NULL},
		{"oke", "{}", HCR_EINVALID, "unknown provider \"oke\"", NULL},
		{"EKS", "{}", HCR_EINVALID, "unknown provider \"EKS\"", NULL},
	};
	json_t *config = doc("{\"bogus\": 1}");
	hcr_error err;

	(void)state;
	run_cases(cases, ARRAY_SIZE(cases));
	/* Field names in errors start with the caller's path. */
	assert_int_equal(hcr_cluster_config_check("eks", config, "spec", &err), HCR_EINVALID);
	assert_string_equal(err.message, "unknown field \"spec.bogus\" for provider eks");
	json_decref(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_config__accepts_known_fields_of_each_provider),
		cmocka_unit_test(test_cluster_config__null_releases_any_field),
		cmocka_unit_test(test_cluster_config__refuses_wrong_types),
		cmocka_unit_test(test_cluster_config__refuses_unknown_fields_naming_the_spec),
		cmocka_unit_test(test_cluster_config__identity_fields_belong_at_the_top_level),
		cmocka_unit_test(test_cluster_config__node_pools_need_unique_names),
		cmocka_unit_test(test_cluster_config__refuses_non_objects_and_unknown_providers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
