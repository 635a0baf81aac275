/*
 * Unit tests for providers/aks/aks_bodies.c: the cluster PUT built from a GET
 * (only managed members changed, read-only members and pools left out), the
 * tags PATCH, the agent-pool PUT (the autoscaler's count sent back, never
 * hcr's), the pool create body, the last System pool, and check_create.
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

static void expect_json(json_t *got, const char *want_text)
{
	json_t *want = test_json(want_text);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

		fail_msg("got %s\nwant %s", g, w);
	}
	json_decref(want);
}

static void test_aks_bodies__cluster_put(void **state)
{
	json_t *cluster = test_json(
		"{'id': 'x', 'name': 'demo', 'type': 't', 'eTag': 'e', 'location': 'westeurope',"
		" 'systemData': {}, 'tags': {'a': 'b'},"
		" 'identity': {'type': 'SystemAssigned', 'principalId': 'p', 'tenantId': 't'},"
		" 'properties': {'provisioningState': 'Succeeded', 'powerState': {'code': "
		"'Running'},"
		"  'kubernetesVersion': '1.31', 'currentKubernetesVersion': '1.31.13',"
		"  'fqdn': 'f', 'maxAgentPools': 100, 'dnsPrefix': 'demo',"
		"  'agentPoolProfiles': [{'name': 'system'}],"
		"  'addonProfiles': {'omsagent': {'enabled': false, 'config': {'w': 'id'}}},"
		"  'networkProfile': {'networkPlugin': 'azure'}}}");
	json_t *changes = test_json("{'kubernetesVersion': '1.32', 'authorizedIpRanges': ["
				    "'10.0.0.0/8'], 'monitoring': true,"
				    " 'httpApplicationRouting': true, 'networkPolicy': 'azure',"
				    " 'sshPublicKey': 'ssh-rsa K'}");
	json_t *out;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_body_cluster_put(&out, cluster, changes, &err), HCR_OK);
	expect_json(out, "{'location': 'westeurope', 'tags': {'a': 'b'},"
			 " 'identity': {'type': 'SystemAssigned'},"
			 " 'properties': {'kubernetesVersion': '1.32', 'dnsPrefix': 'demo',"
			 "  'apiServerAccessProfile': {'authorizedIPRanges': ['10.0.0.0/8']},"
			 "  'addonProfiles': {'omsagent': {'enabled': true, 'config': {'w': 'id'}},"
			 "                    'httpApplicationRouting': {'enabled': true}},"
			 "  'networkProfile': {'networkPlugin': 'azure', 'networkPolicy': 'azure'},"
			 "  'linuxProfile': {'ssh': {'publicKeys': [{'keyData': 'ssh-rsa K'}]}}}}");
	json_decref(out);
	json_decref(changes);

	changes = test_json("{'kubernetesVersion': 132}");
	assert_int_equal(hcr_aks_body_cluster_put(&out, cluster, changes, &err), HCR_EINVALID);
	assert_non_null(strstr(err.message, "kubernetesVersion"));
	json_decref(changes);
	changes = test_json("{'dnsPrefix': 'other'}");
	assert_int_equal(hcr_aks_body_cluster_put(&out, cluster, changes, &err), HCR_EINVALID);
	json_decref(changes);
	json_decref(cluster);
}

static void test_aks_bodies__tags(void **state)
{
	json_t *cur = test_json("{'team': 'payments', 'old': 'x'}"), *out;
	json_t *changes = test_json("{'tags.owner': 'alice', 'tags.old': null}");
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_body_tags(&out, cur, changes, &err), HCR_OK);
	expect_json(out, "{'tags': {'team': 'payments', 'owner': 'alice'}}");
	json_decref(out);
	assert_int_equal(hcr_aks_body_tags(&out, NULL, changes, &err), HCR_OK);
	expect_json(out, "{'tags': {'owner': 'alice'}}");
	json_decref(out);
	json_decref(changes);
	changes = test_json("{'kubernetesVersion': '1.2'}");
	assert_int_equal(hcr_aks_body_tags(&out, cur, changes, &err), HCR_EINVALID);
	json_decref(changes);
	json_decref(cur);
}

static void test_aks_bodies__pool_put(void **state)
{
	json_t *pool =
		test_json("{'name': 'user', 'properties': {'count': 3, 'vmSize': 'v',"
			  " 'provisioningState': 'Succeeded', 'eTag': 'e',"
			  " 'nodeLabels': {'a': '1', 'b': '2'}, 'enableAutoScaling': false}}");
	json_t *changes = test_json("{'nodePools[user].count': 5, 'nodePools[user].nodeLabels.a':"
				    " null, 'nodePools[user].nodeLabels.c': '3',"
				    " 'nodePools[user].maxSurge': '50%',"
				    " 'nodePools[user].nodeTaints': ['k=v:NoSchedule']}");
	json_t *out;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_body_pool_put(&out, pool, "user", changes, &err), HCR_OK);
	expect_json(out, "{'properties': {'count': 5, 'vmSize': 'v', 'enableAutoScaling': false,"
			 " 'nodeLabels': {'b': '2', 'c': '3'}, 'upgradeSettings': {'maxSurge': "
			 "'50%'}, 'nodeTaints': ['k=v:NoSchedule']}}");
	json_decref(out);
	json_decref(changes);

	/* Turning the autoscaler on: the pool's own count goes back, kept in the bounds. */
	changes =
		test_json("{'nodePools[user].enableAutoScaling': true, 'nodePools[user].minCount':"
			  " 4, 'nodePools[user].maxCount': 6}");
	assert_int_equal(hcr_aks_body_pool_put(&out, pool, "user", changes, &err), HCR_OK);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(out, "properties"), "count")),
		4);
	json_decref(out);
	json_decref(changes);

	/* hcr's count on an autoscaled pool is refused, naming the field. */
	changes =
		test_json("{'nodePools[user].enableAutoScaling': true, 'nodePools[user].minCount':"
			  " 1, 'nodePools[user].maxCount': 6, 'nodePools[user].count': 2}");
	assert_int_equal(hcr_aks_body_pool_put(&out, pool, "user", changes, &err), HCR_EINVALID);
	assert_non_null(strstr(err.message, "nodePools[user].count"));
	assert_non_null(strstr(err.detail, "autoscaler"));
	json_decref(changes);

	changes = test_json("{'nodePools[other].count': 2}");
	assert_int_equal(hcr_aks_body_pool_put(&out, pool, "user", changes, &err), HCR_EINVALID);
	json_decref(changes);
	changes = test_json("{'nodePools[user].vmSize': 'big'}");
	assert_int_equal(hcr_aks_body_pool_put(&out, pool, "user", changes, &err), HCR_EINVALID);
	json_decref(changes);
	json_decref(pool);
}

static void test_aks_bodies__pool_create(void **state)
{
	json_t *doc = test_json("{'name': 'extra', 'vmSize': 'v', 'mode': 'User', 'maxSurge': '1',"
				" 'enableAutoScaling': true, 'minCount': 2, 'maxCount': 4,"
				" 'nodeLabels': {'k': 'v'}}");
	json_t *out;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_body_pool_create(&out, "extra", doc, &err), HCR_OK);
	expect_json(out, "{'properties': {'vmSize': 'v', 'mode': 'User', 'enableAutoScaling': "
			 "true, 'minCount': 2, 'maxCount': 4, 'count': 2, 'nodeLabels': {'k': "
			 "'v'}, 'upgradeSettings': {'maxSurge': '1'}, 'type': "
			 "'VirtualMachineScaleSets'}}");
	json_decref(out);
	assert_int_equal(hcr_aks_body_pool_create(&out, "Extra_1", doc, &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_body_pool_create(&out, "extra", NULL, &err), HCR_EINVALID);
	json_decref(doc);
}

static void test_aks_bodies__last_system_pool(void **state)
{
	json_t *one = test_json("{'properties': {'agentPoolProfiles': [{'name': 'sys', 'mode': "
				"'System'}, {'name': 'user', 'mode': 'User'}]}}");
	json_t *two = test_json("{'properties': {'agentPoolProfiles': [{'name': 'sys', 'mode': "
				"'System'}, {'name': 'sys2', 'mode': 'system'}]}}");

	(void)state;
	assert_true(hcr_aks_last_system_pool(one, "sys"));
	assert_false(hcr_aks_last_system_pool(one, "user"));
	assert_false(hcr_aks_last_system_pool(two, "sys"));
	assert_false(hcr_aks_last_system_pool(one, "gone"));
	json_decref(one);
	json_decref(two);
}

static void test_aks_bodies__check_create(void **state)
{
	static const struct {
		const char *config;
		int status;
		const char *field;
	} cases[] = {
		{"{'nodePools': [{'name': 'sys', 'mode': 'System'}]}", HCR_OK, NULL},
		{"{'nodePools': [{'name': 'sys', 'mode': 'system'}, {'name': 'u'}]}", HCR_OK, NULL},
		{"{}", HCR_EINVALID, "config.nodePools"},
		{"{'nodePools': []}", HCR_EINVALID, "config.nodePools"},
		{"{'nodePools': [{'name': 'u', 'mode': 'User'}]}", HCR_EINVALID, "System"},
		{"{'nodePools': [{'name': 'Sys_1', 'mode': 'System'}]}", HCR_EINVALID,
		 "config.nodePools[Sys_1].name"},
	};
	hcr_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = test_json(cases[i].config);

		assert_int_equal(hcr_aks_check_create(c, &err), cases[i].status);
		if (cases[i].field)
			assert_non_null(strstr(err.message, cases[i].field));
		json_decref(c);
	}
	assert_int_equal(hcr_aks_check_create(NULL, &err), HCR_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aks_bodies__cluster_put),
		cmocka_unit_test(test_aks_bodies__tags),
		cmocka_unit_test(test_aks_bodies__pool_put),
		cmocka_unit_test(test_aks_bodies__pool_create),
		cmocka_unit_test(test_aks_bodies__last_system_pool),
		cmocka_unit_test(test_aks_bodies__check_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
