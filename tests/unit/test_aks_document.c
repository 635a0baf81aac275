/*
 * Unit tests for providers/aks/aks_document.c: a managed cluster as ARM
 * returns it, normalised into the AKS document (Rancher's names, pools by
 * name, the autoscaler's count left out), wrong member types refused, and
 * when AKS is busy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hcr/provider_aks.h"
#include "testutil.h"

static const char *const cluster_text =
	"{'id': '/subscriptions/s/resourcegroups/rg1/providers/Microsoft.ContainerService/"
	"managedClusters/demo', 'name': 'demo', 'location': 'westeurope', 'eTag': '\\\"e1\\\"',"
	" 'tags': {'team': 'payments'},"
	" 'properties': {'provisioningState': 'Succeeded', 'kubernetesVersion': '1.31',"
	"  'currentKubernetesVersion': '1.31.13', 'dnsPrefix': 'demo', 'fqdn': 'x',"
	"  'nodeResourceGroup': 'MC_rg1_demo_westeurope',"
	"  'apiServerAccessProfile': {'authorizedIPRanges': ['10.0.0.0/8']},"
	"  'addonProfiles': {'omsagent': {'enabled': true},"
	"                    'HttpApplicationRouting': {'enabled': false}},"
	"  'networkProfile': {'networkPlugin': 'azure', 'networkPolicy': 'calico',"
	"   'serviceCidr': '10.0.0.0/16', 'dnsServiceIP': '10.0.0.10', 'podCidr': '10.244.0.0/16',"
	"   'loadBalancerSku': 'standard', 'outboundType': 'loadBalancer'},"
	"  'linuxProfile': {'adminUsername': 'azureuser',"
	"                   'ssh': {'publicKeys': [{'keyData': 'ssh-rsa AAA'}]}},"
	"  'agentPoolProfiles': ["
	"   {'name': 'user', 'mode': 'User', 'count': 4, 'enableAutoScaling': true,"
	"    'minCount': 1, 'maxCount': 5, 'vmSize': 'Standard_D4s_v3',"
	"    'provisioningState': 'Succeeded', 'upgradeSettings': {'maxSurge': '33%'},"
	"    'nodeTaints': ['gpu=true:NoSchedule'], 'availabilityZones': ['1', '2']},"
	"   {'name': 'system', 'mode': 'System', 'count': 2, 'vmSize': 'Standard_D2s_v3',"
	"    'osType': 'Linux', 'osDiskSizeGB': 128, 'orchestratorVersion': '1.31.13',"
	"    'maxPods': 110, 'nodeLabels': {'role': 'sys'}, 'provisioningState': 'Succeeded'}]}}";

static void test_aks_document__normalise(void **state)
{
	json_t *cluster = test_json(cluster_text), *doc, *want;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_normalise(&doc, cluster, &err), HCR_OK);
	want = test_json(
		"{'kubernetesVersion': '1.31', 'tags': {'team': 'payments'}, 'dnsPrefix': 'demo',"
		" 'nodeResourceGroup': 'MC_rg1_demo_westeurope', 'privateCluster': false,"
		" 'authorizedIpRanges': ['10.0.0.0/8'], 'httpApplicationRouting': false,"
		" 'monitoring': true, 'networkPlugin': 'azure', 'networkPolicy': 'calico',"
		" 'serviceCidr': '10.0.0.0/16', 'dnsServiceIp': '10.0.0.10',"
		" 'podCidr': '10.244.0.0/16', 'loadBalancerSku': 'standard',"
		" 'outboundType': 'loadBalancer', 'linuxAdminUsername': 'azureuser',"
		" 'sshPublicKey': 'ssh-rsa AAA',"
		" 'nodePools': ["
		"  {'name': 'system', 'mode': 'System', 'count': 2, 'enableAutoScaling': false,"
		"   'vmSize': 'Standard_D2s_v3', 'osType': 'Linux', 'osDiskSizeGB': 128,"
		"   'orchestratorVersion': '1.31.13', 'maxPods': 110, 'nodeLabels': {'role': "
		"'sys'},"
		"   'nodeTaints': []},"
		"  {'name': 'user', 'mode': 'User', 'enableAutoScaling': true, 'minCount': 1,"
		"   'maxCount': 5, 'vmSize': 'Standard_D4s_v3', 'maxSurge': '33%',"
		"   'nodeTaints': ['gpu=true:NoSchedule'], 'availabilityZones': ['1', '2'],"
		"   'nodeLabels': {}}]}");
	if (!json_equal(doc, want)) {
		char *got = json_dumps(doc, JSON_SORT_KEYS);

		fail_msg("unexpected document %s", got);
	}
	assert_false(hcr_aks_busy(cluster));
	json_decref(want);
	json_decref(doc);
	json_decref(cluster);
}

static void test_aks_document__minimal_cluster_gets_defaults(void **state)
{
	json_t *cluster = test_json("{'properties': {'kubernetesVersion': '1.33'}}"), *doc;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_normalise(&doc, cluster, &err), HCR_OK);
	assert_true(json_is_object(json_object_get(doc, "tags")));
	assert_int_equal(json_object_size(json_object_get(doc, "tags")), 0);
	assert_true(json_is_false(json_object_get(doc, "privateCluster")));
	assert_true(json_is_false(json_object_get(doc, "monitoring")));
	assert_int_equal(json_array_size(json_object_get(doc, "authorizedIpRanges")), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "nodePools")), 0);
	json_decref(doc);
	json_decref(cluster);
}

static void test_aks_document__wrong_types_are_refused(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{'properties': []}",
		"{'properties': {'kubernetesVersion': 131}}",
		"{'properties': {}, 'tags': ['a']}",
		"{'properties': {'agentPoolProfiles': {}}}",
		"{'properties': {'agentPoolProfiles': [{'count': 1}]}}",
		"{'properties': {'agentPoolProfiles': [{'name': 'a', 'count': '3'}]}}",
		"{'properties': {'agentPoolProfiles': [{'name': 'a', 'nodeLabels': {'k': 1}}]}}",
		"{'properties': {'apiServerAccessProfile': {'authorizedIPRanges': [1]}}}",
		"{'properties': {'addonProfiles': {'omsagent': {'enabled': 'yes'}}}}",
		"{'properties': {'networkProfile': 'azure'}}",
	};
	hcr_error err;
	json_t *doc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *c = test_json(bad[i]);

		if (hcr_aks_normalise(&doc, c, &err) != HCR_EUPSTREAM)
			fail_msg("accepted %s", bad[i]);
		assert_null(doc);
		json_decref(c);
	}
}

static void test_aks_document__busy(void **state)
{
	static const struct {
		const char *text;
		bool busy;
	} cases[] = {
		{"{'properties': {'provisioningState': 'Succeeded'}}", false},
		{"{'properties': {'provisioningState': 'Failed'}}", false},
		{"{'properties': {'provisioningState': 'Upgrading'}}", true},
		{"{'properties': {'provisioningState': 'Updating'}}", true},
		{"{'properties': {'provisioningState': 'Succeeded', 'agentPoolProfiles': "
		 "[{'name': 'a', 'provisioningState': 'Scaling'}]}}",
		 true},
		{"{'properties': {'provisioningState': 'Succeeded', 'agentPoolProfiles': "
		 "[{'name': 'a', 'provisioningState': 'Canceled'}]}}",
		 false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = test_json(cases[i].text);

		assert_int_equal(hcr_aks_busy(c), cases[i].busy);
		json_decref(c);
	}
}

static void test_aks_document__catalog(void **state)
{
	const hcr_field_spec *s;

	(void)state;
	s = hcr_catalog_find(&hcr_aks_catalog, "kubernetesVersion");
	assert_string_equal(s->operation, "UpdateCluster");
	assert_true(s->irreversible);
	s = hcr_catalog_find(&hcr_aks_catalog, "tags.team");
	assert_string_equal(s->operation, "UpdateTags");
	s = hcr_catalog_find(&hcr_aks_catalog, "nodePools[user].count");
	assert_string_equal(s->operation, "UpdateAgentPool");
	s = hcr_catalog_find(&hcr_aks_catalog, "nodePools[user].nodeLabels.env");
	assert_int_equal(s->kind, HCR_FK_MAP);
	s = hcr_catalog_find(&hcr_aks_catalog, "nodePools[user].vmSize");
	assert_int_equal(s->mutability, HCR_MUT_IMMUTABLE);
	s = hcr_catalog_find(&hcr_aks_catalog, "networkPlugin");
	assert_int_equal(s->mutability, HCR_MUT_IMMUTABLE);
	s = hcr_catalog_find(&hcr_aks_catalog, "nodePools");
	assert_string_equal(s->pool_key, "name");
	assert_string_equal(s->create_operation, "CreateAgentPool");
	assert_string_equal(s->delete_operation, "DeleteAgentPool");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aks_document__normalise),
		cmocka_unit_test(test_aks_document__minimal_cluster_gets_defaults),
		cmocka_unit_test(test_aks_document__wrong_types_are_refused),
		cmocka_unit_test(test_aks_document__busy),
		cmocka_unit_test(test_aks_document__catalog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
