/*
 * Unit tests for providers/aks/aks_wire.c: ARM and Azure AD error bodies and
 * the status hcr maps each to, the form escaping of the token request,
 * operation handles (round trips, fallbacks and refusals), and what
 * poll_operation reports for operation statuses and resources.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/provider_aks.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ARM           "https://management.azure.com"

typedef struct err_case {
	long http;
	const char *body;
	int status;
	const char *code;
	const char *detail; /* exactly */
} err_case;

static const err_case err_cases[] = {
	{409,
	 "{\"error\":{\"code\":\"OperationNotAllowed\",\"message\":\"Operation is not allowed: "
	 "Another operation (Updating) is in progress\"}}",
	 HCR_ECONFLICT, "OperationNotAllowed",
	 "OperationNotAllowed: Operation is not allowed: Another operation (Updating) is in "
	 "progress"},
	{412, "{\"error\":{\"code\":\"PreconditionFailed\",\"message\":\"etag\"}}", HCR_ECONFLICT,
	 "PreconditionFailed", "PreconditionFailed: etag"},
	{429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"slow down\"}}", HCR_EUPSTREAM,
	 "TooManyRequests", "TooManyRequests: slow down"},
	{503, "<html>busy</html>", HCR_EUPSTREAM, "", "HTTP 503: <html>busy</html>"},
	{500, "", HCR_EUPSTREAM, "", "HTTP 500: "},
	{400,
	 "{\"error\":{\"code\":\"OperationNotAllowed\",\"message\":\"Upgrading Kubernetes "
	 "version 1.31.13 to 1.33 is not allowed.\",\"details\":[]}}",
	 HCR_EINVALID, "OperationNotAllowed",
	 "OperationNotAllowed: Upgrading Kubernetes version 1.31.13 to 1.33 is not allowed."},
	{404, "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"gone\"}}", HCR_ENOTFOUND,
	 "ResourceNotFound", "ResourceNotFound: gone"},
	{401, "{\"error\":{\"code\":\"ExpiredAuthenticationToken\",\"message\":\"old\"}}",
	 HCR_EDENIED, "ExpiredAuthenticationToken", "ExpiredAuthenticationToken: old"},
	{403, "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no\"}}", HCR_EDENIED,
	 "AuthorizationFailed", "AuthorizationFailed: no"},
	{422, "{\"error\":\"flat\"}", HCR_EINVALID, "", "HTTP 422: {\"error\":\"flat\"}"},
};

static void test_aks_wire__errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		const err_case *c = &err_cases[i];
		hcr_error err;
		char code[96];
		int rc = hcr_aks_parse_error(&err, code, sizeof(code), "PutManagedCluster", "demo",
					     c->http, c->body, strlen(c->body));

		assert_int_equal(rc, c->status);
		assert_string_equal(code, c->code);
		assert_string_equal(err.detail, c->detail);
		assert_non_null(strstr(err.message, "PutManagedCluster demo"));
	}
}

static void test_aks_wire__token_errors(void **state)
{
	const char *bad = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: "
			  "Invalid client secret provided.\",\"error_codes\":[7000215]}";
	const char *down = "{\"error\":\"temporarily_unavailable\",\"error_description\":\"x\"}";
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_aks_parse_token_error(&err, 401, bad, strlen(bad)), HCR_EDENIED);
	assert_string_equal(err.detail,
			    "invalid_client: AADSTS7000215: Invalid client secret provided.");
	assert_int_equal(hcr_aks_parse_token_error(&err, 400, down, strlen(down)), HCR_EUPSTREAM);
	assert_int_equal(hcr_aks_parse_token_error(&err, 502, "", 0), HCR_EUPSTREAM);
	assert_string_equal(err.detail, "HTTP 502: ");
}

static void test_aks_wire__form_escape(void **state)
{
	char *s;

	(void)state;
	s = hcr_aks_form_escape("https://management.azure.com/.default");
	assert_string_equal(s, "https%3A%2F%2Fmanagement.azure.com%2F.default");
	free(s);
	s = hcr_aks_form_escape("a+b &=~_-.");
	assert_string_equal(s, "a%2Bb%20%26%3D~_-.");
	free(s);
	s = hcr_aks_form_escape("");
	assert_string_equal(s, "");
	free(s);
}

static void test_aks_wire__handles(void **state)
{
	const char *aop = ARM "/subscriptions/s/providers/Microsoft.ContainerService/locations/"
			      "westeurope/operations/abc?api-version=2025-10-01";
	const char *loc = ARM "/subscriptions/s/providers/Microsoft.ContainerService/locations/"
			      "westeurope/operationresults/abc?api-version=2025-10-01";
	char longurl[600];
	hcr_aks_handle h;
	hcr_error err;
	char *s;

	(void)state;
	s = hcr_aks_handle_make(ARM, aop, loc, NULL, false);
	assert_string_equal(s, "aop:/subscriptions/s/providers/Microsoft.ContainerService/"
			       "locations/westeurope/operations/abc?api-version=2025-10-01");
	assert_int_equal(hcr_aks_handle_parse(&h, s, &err), HCR_OK);
	assert_int_equal(h.kind, HCR_AKS_H_AOP);
	assert_string_equal(h.arg, s + 4);
	free(s);
	s = hcr_aks_handle_make(ARM, NULL, loc, "user", true);
	assert_int_equal(strncmp(s, "loc:/subscriptions/", 19), 0);
	free(s);
	/* Another host never gets the bearer token: the resource is polled instead. */
	s = hcr_aks_handle_make(ARM, "https://evil.example/subscriptions/x", NULL, "user", false);
	assert_string_equal(s, "res:user");
	assert_int_equal(hcr_aks_handle_parse(&h, s, &err), HCR_OK);
	assert_int_equal(h.kind, HCR_AKS_H_RES);
	assert_string_equal(h.arg, "user");
	free(s);
	/* Too long for hcr's handle column. */
	snprintf(longurl, sizeof(longurl), "%s/subscriptions/%0450d", ARM, 0);
	s = hcr_aks_handle_make(ARM, longurl, NULL, NULL, true);
	assert_string_equal(s, "del:");
	free(s);
	s = hcr_aks_handle_make(ARM, ARM "/subscriptions/a b", NULL, NULL, false);
	assert_string_equal(s, "res:");
	free(s);

	assert_int_equal(hcr_aks_handle_parse(&h, "update:x", &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_handle_parse(&h, "aop:/etc/passwd", &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_handle_parse(&h, "aop:/subscriptions/../x", &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_handle_parse(&h, "res:Bad-Pool", &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_handle_parse(&h, NULL, &err), HCR_EINVALID);
	assert_int_equal(hcr_aks_handle_parse(&h, "del:", &err), HCR_OK);
	assert_int_equal(h.kind, HCR_AKS_H_DEL);
}

static void check_state(json_t *out, const char *state, const char *code)
{
	assert_string_equal(json_string_value(json_object_get(out, "state")), state);
	if (code)
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(out, "error"), "code")),
			code);
	json_decref(out);
}

static void test_aks_wire__poll_states(void **state)
{
	json_t *in, *out;
	hcr_error err;

	(void)state;
	in = test_json("{'status': 'InProgress', 'percentComplete': 40}");
	assert_int_equal(hcr_aks_poll_status(&out, in, &err), HCR_OK);
	check_state(out, "running", NULL);
	json_decref(in);
	in = test_json("{'status': 'Succeeded'}");
	assert_int_equal(hcr_aks_poll_status(&out, in, &err), HCR_OK);
	check_state(out, "succeeded", NULL);
	json_decref(in);
	in = test_json("{'status': 'Failed', 'error': {'code': 'UpgradeFailed', 'message': 'm'}}");
	assert_int_equal(hcr_aks_poll_status(&out, in, &err), HCR_OK);
	check_state(out, "failed", "UpgradeFailed");
	json_decref(in);
	in = test_json("{'status': 'Canceled'}");
	assert_int_equal(hcr_aks_poll_status(&out, in, &err), HCR_OK);
	check_state(out, "cancelled", "Canceled");
	json_decref(in);
	in = test_json("{'percentComplete': 40}");
	assert_int_equal(hcr_aks_poll_status(&out, in, &err), HCR_EUPSTREAM);
	json_decref(in);

	in = test_json("{'properties': {'provisioningState': 'Scaling'}}");
	assert_int_equal(hcr_aks_poll_resource(&out, in, false, &err), HCR_OK);
	check_state(out, "running", NULL);
	json_decref(in);
	in = test_json("{'properties': {'provisioningState': 'Succeeded'}}");
	assert_int_equal(hcr_aks_poll_resource(&out, in, false, &err), HCR_OK);
	check_state(out, "succeeded", NULL);
	assert_int_equal(hcr_aks_poll_resource(&out, in, true, &err), HCR_OK);
	check_state(out, "running", NULL);
	json_decref(in);
	assert_int_equal(hcr_aks_poll_resource(&out, NULL, true, &err), HCR_OK);
	check_state(out, "succeeded", NULL);
	assert_int_equal(hcr_aks_poll_resource(&out, NULL, false, &err), HCR_OK);
	check_state(out, "failed", "ResourceNotFound");

	assert_true(hcr_aks_terminal("succeeded"));
	assert_true(hcr_aks_terminal("Canceled"));
	assert_false(hcr_aks_terminal("Upgrading"));
	assert_false(hcr_aks_terminal(NULL));
	assert_true(hcr_aks_valid_pool_name("nodepool1"));
	assert_false(hcr_aks_valid_pool_name("Nodepool"));
	assert_false(hcr_aks_valid_pool_name("averylongpool1"));
	assert_false(hcr_aks_valid_pool_name("1pool"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aks_wire__errors),
		cmocka_unit_test(test_aks_wire__token_errors),
		cmocka_unit_test(test_aks_wire__form_escape),
		cmocka_unit_test(test_aks_wire__handles),
		cmocka_unit_test(test_aks_wire__poll_states),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
