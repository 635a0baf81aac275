/*
 * Unit tests for the pure parts of the compare (src/kube_compare.c,
 * src/kube_create.c): which rows each view shows, the kinds a default compare
 * leaves out, the create order, and the hash the compare keeps per object,
 * which must be hcr_kube_content_hash's. The engine itself runs against the
 * Kubernetes emulator in tests/integration/test_compare.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_compare.h"
#include "hcr/kube_norm.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Each view against the four states: the Compare & Sync screen's definitions. */
static void test_kube_compare__views(void **state)
{
	static const struct {
		const char *view;
		bool equal, different, left_only, right_only;
	} cases[] = {
		{"all", true, true, true, true},
		{"matching", true, true, false, false},
		{"non-matching", false, false, true, true},
		{"left", true, true, true, false},
		{"right", true, true, false, true},
		{"different", false, true, false, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_cmp_view v;

		assert_true(hcr_cmp_view_parse(&v, cases[i].view));
		assert_string_equal(hcr_cmp_view_name(v), cases[i].view);
		assert_int_equal(hcr_cmp_view_shows(v, HCR_CMP_EQUAL), cases[i].equal);
		assert_int_equal(hcr_cmp_view_shows(v, HCR_CMP_DIFFERENT), cases[i].different);
		assert_int_equal(hcr_cmp_view_shows(v, HCR_CMP_LEFT_ONLY), cases[i].left_only);
		assert_int_equal(hcr_cmp_view_shows(v, HCR_CMP_RIGHT_ONLY), cases[i].right_only);
	}
	assert_string_equal(hcr_cmp_state_name(HCR_CMP_LEFT_ONLY), "left-only");
	assert_string_equal(hcr_cmp_state_name(HCR_CMP_RIGHT_ONLY), "right-only");
	{
		hcr_cmp_view v = HCR_CMP_VIEW_ALL;

		assert_false(hcr_cmp_view_parse(&v, "left-only"));
		assert_false(hcr_cmp_view_parse(&v, NULL));
		assert_int_equal(v, HCR_CMP_VIEW_ALL);
	}
}

static void test_kube_compare__default_kinds_leave_out_cluster_state(void **state)
{
	static const struct {
		const char *group, *plural;
		bool excluded;
	} cases[] = {
		{"", "events", true},
		{"events.k8s.io", "events", true},
		{"coordination.k8s.io", "leases", true},
		{"", "nodes", true},
		{"", "endpoints", true},
		{"discovery.k8s.io", "endpointslices", true},
		{"metrics.k8s.io", "pods", true},
		{"metrics.k8s.io", "nodes", true},
		{"storage.k8s.io", "volumeattachments", true},
		{"storage.k8s.io", "csinodes", true},
		{"apps", "controllerrevisions", true},
		{"certificates.k8s.io", "certificatesigningrequests", true},
		/* Compared: objects people make, even if some of them are skipped one by one. */
		{"", "configmaps", false},
		{"", "secrets", false},
		{"", "pods", false},
		{"", "services", false},
		{"apps", "replicasets", false},
		{"storage.k8s.io", "storageclasses", false},
		{"apiregistration.k8s.io", "apiservices", false},
		{"example.com", "events", false}, /* a CR called events is not the core kind */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(hcr_cmp_kind_excluded(cases[i].group, cases[i].plural),
				 cases[i].excluded);
}

/* The order: each kind is created after everything listed before it. */
static void test_kube_compare__create_order(void **state)
{
	static const struct {
		const char *group, *kind;
	} in_order[] = {
		{"", "Namespace"},
		{"apiextensions.k8s.io", "CustomResourceDefinition"},
		{"rbac.authorization.k8s.io", "ClusterRole"},
		{"rbac.authorization.k8s.io", "RoleBinding"},
		{"", "ServiceAccount"},
		{"", "Secret"},
		{"", "ConfigMap"},
		{"storage.k8s.io", "StorageClass"},
		{"", "PersistentVolumeClaim"},
		{"", "Service"},
		{"apps", "Deployment"},
		{"batch", "CronJob"},
		{"autoscaling", "HorizontalPodAutoscaler"},
		{"networking.k8s.io", "Ingress"},
		{"example.com", "Widget"},
		{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
	};
	size_t i;

	(void)state;
	for (i = 1; i < ARRAY_SIZE(in_order); i++) {
		int before = hcr_cmp_kind_rank(in_order[i - 1].group, in_order[i - 1].kind);
		int after = hcr_cmp_kind_rank(in_order[i].group, in_order[i].kind);

		if (before >= after)
			fail_msg("%s must come before %s (%d >= %d)", in_order[i - 1].kind,
				 in_order[i].kind, before, after);
	}
	/* Unknown kinds share one rank, whatever their group; names decide among them. */
	assert_int_equal(hcr_cmp_kind_rank("example.com", "Widget"),
			 hcr_cmp_kind_rank("other.io", "Gadget"));
	/* The group matters: Knative's Service is not a core Service. */
	assert_int_equal(hcr_cmp_kind_rank("serving.knative.dev", "Service"),
			 hcr_cmp_kind_rank("example.com", "Widget"));
}

/*
 * The compare hashes the text of the normalised object itself, to serialise
 * each object once: that must be the content hash, or stored hashes (config
 * sync) and the compare would disagree.
 */
static void test_kube_compare__hash_is_the_content_hash(void **state)
{
	static const char *const objects[] = {
		"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'a','namespace':'x',"
		"'uid':'u','resourceVersion':'7'},'data':{'b':'2','a':'1'}}",
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'stringData':{'k':'v'}"
		"}",
		"{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','namespace':'x'},"
		"'spec':{'clusterIP':'10.0.0.1','ports':[{'port':80,'nodePort':30001}]}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(objects); i++) {
		json_t *obj = test_json(objects[i]);
		json_t *copy = json_deep_copy(obj);
		char want[65], got[65], *text;
		hcr_error err;

		assert_int_equal(hcr_kube_content_hash(want, obj, 0, &err), HCR_OK);
		hcr_kube_normalise(copy, 0);
		text = hcr_json_dumps(copy);
		hcr_crypto_sha256_hex(got, text, strlen(text));
		assert_string_equal(got, want);
		free(text);
		json_decref(copy);
		json_decref(obj);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_compare__views),
		cmocka_unit_test(test_kube_compare__default_kinds_leave_out_cluster_state),
		cmocka_unit_test(test_kube_compare__create_order),
		cmocka_unit_test(test_kube_compare__hash_is_the_content_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
