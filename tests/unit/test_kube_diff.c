/*
 * Unit tests for src/kube_diff.c: the YAML rendering people read (sorted keys,
 * quoting, literal blocks, masked Secrets) and the unified diff of two
 * normalised objects, down to the exact text, and that no Secret value ever
 * reaches a diff.
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
#include "hcr/error.h"
#include "hcr/kube_norm.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char *diff_of(const char *left, const char *right)
{
	json_t *l = left ? test_json(left) : NULL;
	json_t *r = right ? test_json(right) : NULL;
	char *out = NULL;
	hcr_error err;

	hcr_error_clear(&err);
	if (hcr_kube_diff(&out, l, r, "prod/shop/web", "dr/shop/web", 0, &err) != HCR_OK)
		fail_msg("diff failed: %s (%s)", err.message, err.detail);
	json_decref(l);
	json_decref(r);
	return out;
}

static char *render_of(const char *text)
{
	json_t *obj = test_json(text);
	char *out = NULL;
	hcr_error err;

	if (hcr_kube_render(&out, obj, &err) != HCR_OK)
		fail_msg("render failed: %s (%s)", err.message, err.detail);
	json_decref(obj);
	return out;
}

#define DEPLOY_LEFT                                                                                \
	"{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop'," \
	"'uid':'1111','resourceVersion':'10','generation':4,'labels':{'app':'web'},'annotations':" \
	"{'deployment.kubernetes.io/"                                                              \
	"revision':'4'}},'spec':{'replicas':2,'selector':{'matchLabels':"                          \
	"{'app':'web'}},'template':{'metadata':{'creationTimestamp':null,'labels':{'app':'web'}}," \
	"'spec':{'containers':[{'name':'web','image':'shop/web:1.4','ports':[{'containerPort':"    \
	"8080}],'env':[{'name':'MODE','value':'prod'},{'name':'WORKERS','value':'4'}]}]}}},"       \
	"'status':{'replicas':2}}"

#define DEPLOY_RIGHT                                                                               \
	"{'kind':'Deployment','apiVersion':'apps/v1','metadata':{'namespace':'shop','name':'web'," \
	"'uid':'2222','resourceVersion':'77','generation':1,'labels':{'app':'web'}},'spec':"       \
	"{'selector':{'matchLabels':{'app':'web'}},'replicas':3,'template':{'metadata':{'labels':" \
	"{'app':'web'}},'spec':{'containers':[{'name':'web','image':'shop/web:1.4','ports':"       \
	"[{'containerPort':8080}],'env':[{'name':'MODE','value':'prod'},{'name':'WORKERS',"        \
	"'value':'8'}]}]}}},'status':{'replicas':3}}"

static void test_kube_diff__exact_output_for_a_small_pair(void **state)
{
	char *out = diff_of(DEPLOY_LEFT, DEPLOY_RIGHT);

	(void)state;
	assert_string_equal(out, "--- prod/shop/web\n"
				 "+++ dr/shop/web\n"
				 "@@ -6,7 +6,7 @@\n"
				 "   name: web\n"
				 "   namespace: shop\n"
				 " spec:\n"
				 "-  replicas: 2\n"
				 "+  replicas: 3\n"
				 "   selector:\n"
				 "     matchLabels:\n"
				 "       app: web\n"
				 "@@ -20,7 +20,7 @@\n"
				 "         - name: MODE\n"
				 "           value: prod\n"
				 "         - name: WORKERS\n"
				 "-          value: \"4\"\n"
				 "+          value: \"8\"\n"
				 "         image: shop/web:1.4\n"
				 "         name: web\n"
				 "         ports:\n");
	free(out);
}

static void test_kube_diff__equal_after_normalisation_is_empty(void **state)
{
	char *out =
		diff_of("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','uid':'1'},"
			"'spec':{'clusterIP':'10.0.0.1','ports':[{'port':80,'nodePort':30001}]}}",
			"{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','uid':'2',"
			"'resourceVersion':'5'},'spec':{'clusterIP':'10.9.0.1','ports':[{'port':"
			"80,'nodePort':31002}]},'status':{'loadBalancer':{}}}");

	(void)state;
	assert_string_equal(out, "");
	free(out);
}

static void test_kube_diff__object_on_one_side_only(void **state)
{
	char *added = diff_of(NULL, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c',"
				    "'uid':'1'},'data':{'k':'v'}}");
	char *removed =
		diff_of("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}", NULL);
	char *neither = diff_of(NULL, NULL);

	(void)state;
	assert_string_equal(added, "--- prod/shop/web\n"
				   "+++ dr/shop/web\n"
				   "@@ -0,0 +1,6 @@\n"
				   "+apiVersion: v1\n"
				   "+data:\n"
				   "+  k: v\n"
				   "+kind: ConfigMap\n"
				   "+metadata:\n"
				   "+  name: c\n");
	assert_string_equal(removed, "--- prod/shop/web\n"
				     "+++ dr/shop/web\n"
				     "@@ -1,4 +0,0 @@\n"
				     "-apiVersion: v1\n"
				     "-kind: ConfigMap\n"
				     "-metadata:\n"
				     "-  name: c\n");
	assert_string_equal(neither, "");
	free(added);
	free(removed);
	free(neither);
}

/* The values, in clear and in base64, that must never appear in a diff of the two Secrets. */
static const char *const secret_values[] = {"hunter2", "correct-horse", "s3cr3t-t0ken",
					    "unchanged-pw"};

static void test_kube_diff__secret_values_never_appear(void **state)
{
	/* left: data + stringData + last-applied holding the plaintext; right: other values */
	char *out = diff_of(
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','annotations':"
		"{'kubectl.kubernetes.io/last-applied-configuration':'{\\\"stringData\\\":"
		"{\\\"password\\\":\\\"hunter2\\\"}}'}},'type':'Opaque','data':{'password':"
		"'aHVudGVyMg==','same':'dW5jaGFuZ2VkLXB3'},'stringData':{'token':'s3cr3t-t0ken'}}",
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','annotations':"
		"{'kubectl.kubernetes.io/last-applied-configuration':'{\\\"stringData\\\":"
		"{\\\"password\\\":\\\"correct-horse\\\"}}'}},'type':'Opaque','data':{'password':"
		"'Y29ycmVjdC1ob3JzZQ==','same':'dW5jaGFuZ2VkLXB3','extra':'eA=='}}");

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(secret_values); i++) {
		char *b64 = hcr_crypto_base64_encode(secret_values[i], strlen(secret_values[i]));

		if (strstr(out, secret_values[i]) || strstr(out, b64))
			fail_msg("diff shows %s or %s:\n%s", secret_values[i], b64, out);
		free(b64);
	}
	/* ... but shows which keys differ */
	assert_string_equal(out, "--- prod/shop/web\n"
				 "+++ dr/shop/web\n"
				 "@@ -1,8 +1,8 @@\n"
				 " apiVersion: v1\n"
				 " data:\n"
				 "-  password: '*** (before)'\n"
				 "+  extra: '***'\n"
				 "+  password: '*** (after)'\n"
				 "   same: '***'\n"
				 "-  token: '***'\n"
				 " kind: Secret\n"
				 " metadata:\n"
				 "   name: db\n");
	free(out);
}

static void test_kube_diff__labels_cannot_forge_lines(void **state)
{
	json_t *l = test_json("{'kind':'ConfigMap','data':{'k':'a'}}");
	json_t *r = test_json("{'kind':'ConfigMap','data':{'k':'b'}}");
	char *out = NULL;

	(void)state;
	assert_int_equal(hcr_kube_diff(&out, l, r, "a\n+++ evil", NULL, 0, NULL), HCR_OK);
	assert_string_equal(out, "--- a?+++ evil\n"
				 "+++ right\n"
				 "@@ -1,3 +1,3 @@\n"
				 " data:\n"
				 "-  k: a\n"
				 "+  k: b\n"
				 " kind: ConfigMap\n");
	free(out);
	json_decref(l);
	json_decref(r);
}

static void test_kube_diff__render_is_kubectl_like_yaml(void **state)
{
	char *out = render_of(
		"{'kind':'ConfigMap','apiVersion':'v1','metadata':{'name':'c'},'data':{'z':'last',"
		"'port':'8080','on':'yes','flag':'true','empty':'','none':'null','neg':'-1',"
		"'ver':'1.2.3','app.conf':'a = 1\\nb = 2\\n','dash':'- x','star':'*** x','space':' "
		"x',"
		"'plain':'hello world','utf8':'caf\\u00e9'},'n':[1,2.5,0.1,3.0,true,null,[],{}]}");

	(void)state;
	assert_string_equal(out, "apiVersion: v1\n"
				 "data:\n"
				 "  app.conf: |\n"
				 "    a = 1\n"
				 "    b = 2\n"
				 "  dash: '- x'\n"
				 "  empty: \"\"\n"
				 "  flag: \"true\"\n"
				 "  neg: \"-1\"\n"
				 "  none: \"null\"\n"
				 "  \"on\": \"yes\"\n"
				 "  plain: hello world\n"
				 "  port: \"8080\"\n"
				 "  space: ' x'\n"
				 "  star: '*** x'\n"
				 "  utf8: caf\xc3\xa9\n"
				 "  ver: \"1.2.3\"\n"
				 "  z: last\n"
				 "kind: ConfigMap\n"
				 "metadata:\n"
				 "  name: c\n"
				 "\"n\":\n"
				 "- 1\n"
				 "- 2.5\n"
				 "- 0.1\n"
				 "- 3.0\n"
				 "- true\n"
				 "- null\n"
				 "- []\n"
				 "- {}\n");
	free(out);
}

static void test_kube_diff__render_masks_secrets(void **state)
{
	char *out = render_of("{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},"
			      "'data':{'password':'aHVudGVyMg=='}}");

	(void)state;
	assert_string_equal(out, "apiVersion: v1\n"
				 "data:\n"
				 "  password: '***'\n"
				 "kind: Secret\n"
				 "metadata:\n"
				 "  name: s\n");
	free(out);
}

static void test_kube_diff__refuses_what_it_cannot_render(void **state)
{
	json_t *deep = json_object();
	json_t *cur = deep;
	json_t *big = json_object();
	char *huge = malloc(((size_t)17 << 20) + 1);
	char *out = (char *)"unset";
	hcr_error err;

	(void)state;
	for (int i = 0; i < 1100; i++) {
		json_t *next = json_object();

		json_object_set_new(cur, "a", next);
		cur = next;
	}
	memset(huge, 'x', (size_t)17 << 20);
	huge[(size_t)17 << 20] = '\0';
	json_object_set_new(big, "data", json_string(huge));

	hcr_error_clear(&err);
	assert_int_equal(hcr_kube_render(&out, deep, &err), HCR_EINVALID);
	assert_null(out);
	assert_string_equal(err.message, "object is nested more than 1000 levels deep");
	assert_int_equal(hcr_kube_diff(&out, deep, NULL, NULL, NULL, 0, &err), HCR_EINVALID);
	assert_null(out);
	assert_int_equal(hcr_kube_diff(&out, NULL, big, NULL, NULL, 0, &err), HCR_EINVALID);
	assert_string_equal(err.message, "object renders to more than 16 MiB of yaml");
	assert_int_equal(hcr_kube_render(&out, NULL, &err), HCR_EINVALID);
	assert_string_equal(err.message, "no object to render");
	json_decref(deep);
	json_decref(big);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_diff__exact_output_for_a_small_pair),
		cmocka_unit_test(test_kube_diff__equal_after_normalisation_is_empty),
		cmocka_unit_test(test_kube_diff__object_on_one_side_only),
		cmocka_unit_test(test_kube_diff__secret_values_never_appear),
		cmocka_unit_test(test_kube_diff__labels_cannot_forge_lines),
		cmocka_unit_test(test_kube_diff__render_is_kubectl_like_yaml),
		cmocka_unit_test(test_kube_diff__render_masks_secrets),
		cmocka_unit_test(test_kube_diff__refuses_what_it_cannot_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
