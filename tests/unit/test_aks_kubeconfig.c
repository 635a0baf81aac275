/*
 * Unit tests for hcr_aks_parse_kubeconfig (providers/aks/aks_kubeconfig.c):
 * the kubeconfig of listClusterUserCredential read into kube_credentials'
 * result, and the refusals (no current context, no static token, bad base64,
 * bad YAML) whose messages never carry the kubeconfig's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/provider_aks.h"
#include "testutil.h"

#define NOW   1700000000
#define TOKEN "s3cr3t-token-0123456789abcdef"
/* base64 of "-----BEGIN CERTIFICATE-----\nQ0FEQVRB\n-----END CERTIFICATE-----\n" */
#define CA_B64 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRkVRVlJCCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

/* An AKS-like kubeconfig: a decoy context first, the current one second. */
static const char *const GOOD = "apiVersion: v1\n"
				"clusters:\n"
				"- cluster:\n"
				"    certificate-authority-data: T1RIRVI=\n"
				"    server: https://other.example:443\n"
				"  name: other\n"
				"- cluster:\n"
				"    certificate-authority-data: " CA_B64 "\n"
				"    server: https://demo-abc.hcp.westeurope.azmk8s.io:443\n"
				"  name: demo\n"
				"contexts:\n"
				"- context:\n"
				"    cluster: other\n"
				"    user: otheruser\n"
				"  name: other\n"
				"- context:\n"
				"    cluster: demo\n"
				"    user: clusterUser_rg1_demo\n"
				"  name: demo\n"
				"current-context: demo\n"
				"kind: Config\n"
				"preferences: {}\n"
				"users:\n"
				"- name: otheruser\n"
				"  user:\n"
				"    token: not-this-one\n"
				"- name: clusterUser_rg1_demo\n"
				"  user:\n"
				"    token: " TOKEN "\n";

static int parse_text(json_t **out, const char *yaml, hcr_error *err)
{
	char *b64 = hcr_crypto_base64_encode(yaml, strlen(yaml));
	int rc = hcr_aks_parse_kubeconfig(out, b64, NOW, err);

	free(b64);
	return rc;
}

static void assert_no_secret(const hcr_error *err)
{
	assert_null(strstr(err->message, TOKEN));
	assert_null(strstr(err->detail, TOKEN));
}

static void test_aks_kubeconfig__good(void **state)
{
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(parse_text(&out, GOOD, &err), HCR_OK);
	assert_string_equal(json_string_value(json_object_get(out, "server")),
			    "https://demo-abc.hcp.westeurope.azmk8s.io:443");
	assert_string_equal(json_string_value(json_object_get(out, "certificateAuthorityData")),
			    CA_B64);
	assert_string_equal(json_string_value(json_object_get(out, "token")), TOKEN);
	assert_int_equal(json_integer_value(json_object_get(out, "expiresAt")), NOW + 3600);
	assert_int_equal(json_object_size(out), 4);
	json_decref(out);
}

static void test_aks_kubeconfig__no_ca(void **state)
{
	const char *yaml = "clusters:\n- name: c\n  cluster:\n    server: https://x:443\n"
			   "contexts:\n- name: k\n  context: {cluster: c, user: u}\n"
			   "current-context: k\nusers:\n- name: u\n  user: {token: t}\n";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(parse_text(&out, yaml, &err), HCR_OK);
	assert_null(json_object_get(out, "certificateAuthorityData"));
	assert_string_equal(json_string_value(json_object_get(out, "token")), "t");
	json_decref(out);
}

static void test_aks_kubeconfig__missing_current_context(void **state)
{
	const char *yaml = "clusters:\n- name: c\n  cluster:\n    server: https://x:443\n"
			   "contexts:\n- name: k\n  context: {cluster: c, user: u}\n"
			   "users:\n- name: u\n  user: {token: " TOKEN "}\n";
	const char *unknown = "clusters:\n- name: c\n  cluster:\n    server: https://x:443\n"
			      "contexts:\n- name: k\n  context: {cluster: c, user: u}\n"
			      "current-context: nope\n"
			      "users:\n- name: u\n  user: {token: " TOKEN "}\n";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(parse_text(&out, yaml, &err), HCR_EUPSTREAM);
	assert_null(out);
	assert_non_null(strstr(err.message, "current-context"));
	assert_no_secret(&err);
	assert_int_equal(parse_text(&out, unknown, &err), HCR_EUPSTREAM);
	assert_null(out);
	assert_no_secret(&err);
}

static void test_aks_kubeconfig__no_token(void **state)
{
	const char *yaml = "clusters:\n- name: c\n  cluster:\n    server: https://x:443\n"
			   "contexts:\n- name: k\n  context: {cluster: c, user: u}\n"
			   "current-context: k\n"
			   "users:\n- name: u\n  user:\n    exec:\n      apiVersion: "
			   "client.authentication.k8s.io/v1beta1\n      command: kubelogin\n"
			   "      args: [get-token, --login, azurecli]\n";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(parse_text(&out, yaml, &err), HCR_EINVALID);
	assert_null(out);
	assert_non_null(strstr(err.message, "no static token"));
}

static void test_aks_kubeconfig__bad_base64(void **state)
{
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_parse_kubeconfig(&out, "not base64 !!", NOW, &err), HCR_EUPSTREAM);
	assert_null(out);
	assert_non_null(strstr(err.message, "base64"));
	assert_int_equal(hcr_aks_parse_kubeconfig(&out, NULL, NOW, &err), HCR_EUPSTREAM);
}

static void test_aks_kubeconfig__bad_yaml(void **state)
{
	const char *yaml = "users:\n- name: u\n  user: {token: " TOKEN "\n  : [\n";
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(parse_text(&out, yaml, &err), HCR_EUPSTREAM);
	assert_null(out);
	assert_non_null(strstr(err.message, "not YAML"));
	assert_no_secret(&err);
	/* YAML, but not a mapping; and an empty document. */
	assert_int_equal(parse_text(&out, "- a\n- b\n", &err), HCR_EUPSTREAM);
	assert_int_equal(parse_text(&out, "", &err), HCR_EUPSTREAM);
	/* A server that is not http(s). */
	assert_int_equal(parse_text(&out,
				    "clusters:\n- name: c\n  cluster: {server: ftp://x}\n"
				    "contexts:\n- name: k\n  context: {cluster: c, user: u}\n"
				    "current-context: k\nusers:\n- name: u\n  user: {token: t}\n",
				    &err),
			 HCR_EUPSTREAM);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aks_kubeconfig__good),
		cmocka_unit_test(test_aks_kubeconfig__no_ca),
		cmocka_unit_test(test_aks_kubeconfig__missing_current_context),
		cmocka_unit_test(test_aks_kubeconfig__no_token),
		cmocka_unit_test(test_aks_kubeconfig__bad_base64),
		cmocka_unit_test(test_aks_kubeconfig__bad_yaml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
