/*
 * Unit tests for providers/eks/eks_wire.c and the update cache of
 * eks_observe.c: every form in which EKS (and EKS-compatible endpoints) send
 * errors and the status hcr maps each to, operation handles (round trips and
 * refusals), what poll_operation reports for updates, node groups and
 * clusters, and the bounds of the cache of finished updates.
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

/* ---- errors ------------------------------------------------------------------------------ */

typedef struct err_case {
	const char *name;
	long http;
	const char *errtype; /* the x-amzn-ErrorType header, or NULL */
	const char *body;
	int status;
	const char *code;    /* hcr_eks_error_code */
	const char *detail;  /* err.detail exactly */
	const char *message; /* a substring of err.message */
	const char *hint;    /* a substring of err.hint, or NULL for none */
} err_case;

static const err_case err_cases[] = {
	{"header and body, as EKS sends them", 404, "ResourceNotFoundException",
	 "{\"clusterName\":null,\"nodegroupName\":null,\"message\":\"No cluster found for name: "
	 "nope.\"}",
	 HCR_ENOTFOUND, "ResourceNotFoundException",
	 "ResourceNotFoundException: No cluster found for name: nope.",
	 "EKS DescribeCluster demo: not found", NULL},
	{"header with a ':' suffix", 400,
	 "InvalidParameterException:http://internal.amazon.com/coral/com.amazon.coral.validate/",
	 "{\"message\":\"bad\"}", HCR_EINVALID, "InvalidParameterException",
	 "InvalidParameterException: bad", "EKS refused DescribeCluster demo", NULL},
	{"header with a namespace '#' and a ':' suffix", 409,
	 "aws.eks#ResourceInUseException:http://internal.amazon.com/x",
	 "{\"message\":\"Cluster has nodegroups attached\"}", HCR_ECONFLICT,
	 "ResourceInUseException", "ResourceInUseException: Cluster has nodegroups attached",
	 "the resource is in use", NULL},
	{"body __type with a namespace", 400, NULL,
	 "{\"__type\":\"com.amazonaws.eks#InvalidRequestException\",\"message\":\"no\"}",
	 HCR_EINVALID, "InvalidRequestException", "InvalidRequestException: no", "refused", NULL},
	{"body code", 400, NULL, "{\"code\":\"ClientException\",\"message\":\"c\"}", HCR_EINVALID,
	 "ClientException", "ClientException: c", "refused", NULL},
	{"body Code and Message", 403, NULL,
	 "{\"Code\":\"AccessDeniedException\",\"Message\":\"User is not authorized\"}", HCR_EDENIED,
	 "AccessDeniedException", "AccessDeniedException: User is not authorized",
	 "refused the credential", "clock"},
	{"the header wins over the body", 400, "BadRequestException",
	 "{\"__type\":\"Other\",\"code\":\"Other2\",\"message\":\"m\"}", HCR_EINVALID,
	 "BadRequestException", "BadRequestException: m", "refused", NULL},
	{"code without a message", 400, "UnsupportedAvailabilityZoneException", "{}", HCR_EINVALID,
	 "UnsupportedAvailabilityZoneException", "UnsupportedAvailabilityZoneException", "refused",
	 NULL},
	{"empty body, throttled by status", 429, NULL, "", HCR_EUPSTREAM, "",
	 "HTTP 429: ", "EKS throttled DescribeCluster demo", NULL},
	{"ThrottlingException", 429, "ThrottlingException", "{\"message\":\"Rate exceeded\"}",
	 HCR_EUPSTREAM, "ThrottlingException", "ThrottlingException: Rate exceeded",
	 "EKS throttled DescribeCluster demo", NULL},
	{"TooManyRequestsException with a 400", 400, "TooManyRequestsException", "{}",
	 HCR_EUPSTREAM, "TooManyRequestsException", "TooManyRequestsException", "throttled", NULL},
	{"503 ServiceUnavailableException", 503, "ServiceUnavailableException",
	 "{\"message\":\"down\"}", HCR_EUPSTREAM, "ServiceUnavailableException",
	 "ServiceUnavailableException: down", "with HTTP 503", NULL},
	{"500 ServerException", 500, "ServerException", "{\"message\":\"x\"}", HCR_EUPSTREAM,
	 "ServerException", "ServerException: x", "with HTTP 500", NULL},
	{"502 from a proxy, HTML", 502, NULL, "<html><body>Bad Gateway</body></html>",
	 HCR_EUPSTREAM, "", "HTTP 502: <html><body>Bad Gateway</body></html>", "HTTP 502", NULL},
	{"409 without a code", 409, NULL, "{}", HCR_ECONFLICT, "", "HTTP 409: {}", "in use", NULL},
	{"ResourceLimitExceededException", 400, "ResourceLimitExceededException",
	 "{\"message\":\"limit\"}", HCR_EINVALID, "ResourceLimitExceededException",
	 "ResourceLimitExceededException: limit", "refused", NULL},
	{"InvalidStateException", 400, "InvalidStateException", "{\"message\":\"s\"}", HCR_EINVALID,
	 "InvalidStateException", "InvalidStateException: s", "refused", NULL},
	{"NotFoundException (tag calls)", 404, "NotFoundException", "{\"message\":\"gone\"}",
	 HCR_ENOTFOUND, "NotFoundException", "NotFoundException: gone", "not found", NULL},
	{"401 UnrecognizedClientException", 401, "UnrecognizedClientException",
	 "{\"message\":\"The security token included in the request is invalid.\"}", HCR_EDENIED,
	 "UnrecognizedClientException",
	 "UnrecognizedClientException: The security token included in the request is invalid.",
	 "refused the credential", "credential"},
	{"InvalidSignatureException", 403, "InvalidSignatureException",
	 "{\"message\":\"Signature expired\"}", HCR_EDENIED, "InvalidSignatureException",
	 "InvalidSignatureException: Signature expired", "credential", "clock"},
	{"ExpiredTokenException", 403, "ExpiredTokenException", "{\"message\":\"expired\"}",
	 HCR_EDENIED, "ExpiredTokenException", "ExpiredTokenException: expired", "credential",
	 "session token"},
	{"MissingAuthenticationTokenException", 403, "MissingAuthenticationTokenException",
	 "{\"message\":\"Missing Authentication Token\"}", HCR_EDENIED,
	 "MissingAuthenticationTokenException",
	 "MissingAuthenticationTokenException: Missing Authentication Token", "credential",
	 "credential"},
	{"403 without a code", 403, NULL, "", HCR_EDENIED, "", "HTTP 403: ", "credential", "clock"},
	{"HTML 404 from an endpoint without the call", 404, NULL,
	 "<!doctype html>\n<title>404 Not Found</title>", HCR_EINVALID, "",
	 "HTTP 404: <!doctype html> <title>404 Not Found</title>",
	 "the endpoint does not implement DescribeCluster (HTTP 404)", "providers.eks.endpoint"},
	{"an endpoint that says it lacks the call", 404, "UnknownOperationException",
	 "{\"message\":\"no route\"}", HCR_EINVALID, "UnknownOperationException",
	 "UnknownOperationException: no route", "does not implement DescribeCluster",
	 "providers.eks.endpoint"},
	{"a JSON 404 without a code", 404, NULL, "{\"message\":\"Not Found\"}", HCR_EINVALID, "",
	 "HTTP 404: {\"message\":\"Not Found\"}", "does not implement", "providers.eks.endpoint"},
	{"a 404 with an unknown code", 404, "NoSuchBucket", "{}", HCR_ENOTFOUND, "NoSuchBucket",
	 "NoSuchBucket", "not found", NULL},
	{"an unknown code falls back to the status", 400, "SomethingNewException",
	 "{\"message\":\"?\"}", HCR_EINVALID, "SomethingNewException", "SomethingNewException: ?",
	 "refused", NULL},
	{"an odd status without a code", 302, NULL, "moved", HCR_EUPSTREAM, "", "HTTP 302: moved",
	 "HTTP 302", NULL},
	{"JSON that is not an object", 400, NULL, "[\"code\"]", HCR_EINVALID, "",
	 "HTTP 400: [\"code\"]", "refused", NULL},
	{"control characters in the body are blanked", 500, NULL, "a\x01\nb", HCR_EUPSTREAM, "",
	 "HTTP 500: a  b", "HTTP 500", NULL},
};

static void test_eks_wire__errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(err_cases); i++) {
		const err_case *c = &err_cases[i];
		json_t *body = json_loads(c->body, 0, NULL);
		hcr_error err;
		char code[96];
		int rc;

		hcr_error_clear(&err);
		rc = hcr_eks_parse_error(&err, "DescribeCluster", "demo", c->http, c->errtype,
					 c->body, strlen(c->body));
		if (rc != c->status)
			fail_msg("%s: status %d, want %d", c->name, rc, c->status);
		hcr_eks_error_code(code, sizeof(code), c->errtype,
				   json_is_object(body) ? body : NULL);
		if (strcmp(code, c->code) != 0)
			fail_msg("%s: code \"%s\", want \"%s\"", c->name, code, c->code);
		if (strcmp(err.detail, c->detail) != 0)
			fail_msg("%s: detail \"%s\", want \"%s\"", c->name, err.detail, c->detail);
		if (!strstr(err.message, c->message))
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.message,
				 c->message);
		if (c->hint ? !strstr(err.hint, c->hint) : err.hint[0] != '\0')
			fail_msg("%s: hint \"%s\", want \"%s\"", c->name, err.hint,
				 c->hint ? c->hint : "");
		assert_int_equal(hcr_error_http_status(&err) >= 400, 1);
		json_decref(body);
	}
}

static void test_eks_wire__list_updates_hint(void **state)
{
	hcr_error err;
	const char *html = "<html>404</html>";

	(void)state;
	assert_int_equal(
		hcr_eks_parse_error(&err, "ListUpdates", "demo", 404, NULL, html, strlen(html)),
		HCR_EINVALID);
	assert_non_null(strstr(err.message, "ListUpdates"));
	assert_non_null(strstr(err.message, "404"));
	assert_string_equal(
		err.hint,
		"set providers.eks.list_updates: false for endpoints without ListUpdates");
	/* A long body is cut, and the code is cut to what fits. */
	{
		char big[1000], code[8];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		hcr_eks_parse_error(&err, "DescribeCluster", "demo", 500, NULL, big, strlen(big));
		assert_true(strlen(err.detail) < 220);
		hcr_eks_error_code(code, sizeof(code), "VeryLongExceptionName", NULL);
		assert_string_equal(code, "VeryLon");
		hcr_eks_error_code(code, sizeof(code), "", NULL);
		assert_string_equal(code, "");
	}
}

/* ---- handles ----------------------------------------------------------------------------- */

static void test_eks_wire__handles_round_trip(void **state)
{
	static const struct {
		hcr_eks_handle_kind kind;
		const char *name, *id, *text;
	} cases[] = {
		{HCR_EKS_H_UPDATE, NULL, "e803210a-ed0e-40c6-aaeb-f26978d520e5",
		 "update::e803210a-ed0e-40c6-aaeb-f26978d520e5"},
		{HCR_EKS_H_UPDATE, "ng-a", "u1", "update:ng-a:u1"},
		{HCR_EKS_H_NGCREATE, "ng_b", NULL, "ngcreate:ng_b"},
		{HCR_EKS_H_NGDELETE, "ng-a", NULL, "ngdelete:ng-a"},
		{HCR_EKS_H_CREATE, "prod-eu", NULL, "create:prod-eu"},
		{HCR_EKS_H_DELETE, "prod-eu", NULL, "delete:prod-eu"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = hcr_eks_handle_format(cases[i].kind, cases[i].name, cases[i].id);
		hcr_eks_handle h;
		hcr_error err;

		assert_non_null(text);
		assert_string_equal(text, cases[i].text);
		assert_true(strlen(text) < 400);
		assert_int_equal(hcr_eks_handle_parse(&h, text, &err), HCR_OK);
		assert_int_equal(h.kind, cases[i].kind);
		assert_string_equal(h.name, cases[i].name ? cases[i].name : "");
		if (cases[i].id)
			assert_string_equal(h.id, cases[i].id);
		free(text);
	}
}

static void test_eks_wire__handles_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"update:",
		"update:ng",
		"update:ng:",
		"update:ng/x:id",
		"update::id/../x",
		"update::id?x=1",
		"ngcreate:",
		"ngcreate:-a",
		"ngcreate:a b",
		"create:a/b",
		"delete:%2F",
		"Create:demo",
		"op-1234",
		"ngdelete:"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	hcr_eks_handle h;
	hcr_error err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (hcr_eks_handle_parse(&h, bad[i], &err) != HCR_EINVALID)
			fail_msg("handle \"%s\" was accepted", bad[i]);
	}
	assert_int_equal(hcr_eks_handle_parse(&h, NULL, &err), HCR_EINVALID);
	assert_null(hcr_eks_handle_format(HCR_EKS_H_UPDATE, "ng", "a:b"));
	assert_null(hcr_eks_handle_format(HCR_EKS_H_UPDATE, "n/g", "id"));
	assert_null(hcr_eks_handle_format(HCR_EKS_H_UPDATE, NULL, ""));
	assert_null(hcr_eks_handle_format(HCR_EKS_H_NGCREATE, "", NULL));
	assert_null(hcr_eks_handle_format(HCR_EKS_H_CREATE, NULL, NULL));
	assert_true(hcr_eks_valid_name("a"));
	assert_true(hcr_eks_valid_name("0-a_B"));
	assert_false(hcr_eks_valid_name("_a"));
	assert_false(hcr_eks_valid_name("a.b"));
}

/* ---- poll states ------------------------------------------------------------------------- */

typedef struct poll_case {
	int kind; /* 0 update, 1 node group created, 2 node group deleted, 3 cluster created */
	const char *object; /* NULL: the node group is gone */
	const char *want;   /* NULL: HCR_EUPSTREAM */
} poll_case;

static const poll_case poll_cases[] = {
	{0, "{'id': 'u', 'status': 'InProgress'}", "{'state': 'running'}"},
	{0, "{'id': 'u', 'status': 'Successful', 'errors': []}", "{'state': 'succeeded'}"},
	{0,
	 "{'status': 'Failed', 'errors': [{'errorCode': 'SubnetNotFound', 'errorMessage': 'no "
	 "subnet', 'resourceIds': ['s']}]}",
	 "{'state': 'failed', 'error': {'code': 'SubnetNotFound', 'message': 'no subnet'}}"},
	{0, "{'status': 'Failed'}",
	 "{'state': 'failed', 'error': {'code': 'UpdateFailed', 'message': 'the update failed'}}"},
	{0, "{'status': 'Cancelled', 'errors': [{'errorCode': 'Unknown'}]}",
	 "{'state': 'cancelled', 'error': {'code': 'Unknown', 'message': 'the update was "
	 "cancelled'}}"},
	{0, "{'status': 'Paused'}", NULL},
	{0, "{}", NULL},
	{1, "{'status': 'CREATING'}", "{'state': 'running'}"},
	{1, "{'status': 'ACTIVE'}", "{'state': 'succeeded'}"},
	{1, "{'status': 'DEGRADED'}", "{'state': 'succeeded'}"},
	{1,
	 "{'status': 'CREATE_FAILED', 'health': {'issues': [{'code': 'AsgInstanceLaunchFailures',"
	 " 'message': 'no capacity'}]}}",
	 "{'state': 'failed', 'error': {'code': 'AsgInstanceLaunchFailures', 'message': 'no "
	 "capacity'}}"},
	{1, "{'status': 'CREATE_FAILED'}",
	 "{'state': 'failed', 'error': {'code': 'CreateFailed', 'message': 'EKS could not create "
	 "the node group'}}"},
	{1, NULL,
	 "{'state': 'failed', 'error': {'code': 'NodegroupNotFound', 'message': 'the node group "
	 "vanished while it was being created'}}"},
	{1, "{'status': 'WEIRD'}", NULL},
	{2, "{'status': 'DELETING'}", "{'state': 'running'}"},
	{2, "{'status': 'ACTIVE'}", "{'state': 'running'}"},
	{2, NULL, "{'state': 'succeeded'}"},
	{2,
	 "{'status': 'DELETE_FAILED', 'health': {'issues': [{'code': 'Ec2SecurityGroupDeletion"
	 "Failure', 'message': 'sg in use'}]}}",
	 "{'state': 'failed', 'error': {'code': 'Ec2SecurityGroupDeletionFailure', 'message': 'sg "
	 "in use'}}"},
	{3, "{'status': 'CREATING'}", "{'state': 'running'}"},
	{3, "{'status': 'PENDING'}", "{'state': 'running'}"},
	{3, "{'status': 'ACTIVE'}", "{'state': 'succeeded'}"},
	{3, "{'status': 'FAILED'}",
	 "{'state': 'failed', 'error': {'code': 'ClusterFailed', 'message': 'the cluster entered "
	 "FAILED'}}"},
	{3,
	 "{'status': 'FAILED', 'health': {'issues': [{'code': 'VpcNotFound', 'message': 'vpc'}]}}",
	 "{'state': 'failed', 'error': {'code': 'VpcNotFound', 'message': 'vpc'}}"},
	{3, "{'status': 'DELETING'}",
	 "{'state': 'failed', 'error': {'code': 'ClusterDeleting', 'message': 'the cluster is "
	 "being deleted'}}"},
	{3, "{'status': 7}", NULL},
};

static void test_eks_wire__poll_states(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(poll_cases); i++) {
		const poll_case *c = &poll_cases[i];
		json_t *obj = c->object ? test_json(c->object) : NULL, *out = NULL;
		hcr_error err;
		int rc;

		if (c->kind == 0)
			rc = hcr_eks_poll_update(&out, obj, &err);
		else if (c->kind == 3)
			rc = hcr_eks_poll_cluster_create(&out, obj, &err);
		else
			rc = hcr_eks_poll_nodegroup(&out, obj, c->kind == 2, &err);
		if (!c->want) {
			if (rc != HCR_EUPSTREAM)
				fail_msg("case %zu: accepted %s", i, c->object);
			assert_null(out);
		} else {
			json_t *want = test_json(c->want);

			if (rc != HCR_OK || !json_equal(out, want))
				fail_msg("case %zu (%s): got %s", i, c->object ? c->object : "gone",
					 out ? hcr_json_dumps(out) : err.detail);
			json_decref(want);
		}
		json_decref(out);
		json_decref(obj);
	}
}

/* ---- the cache of finished updates ------------------------------------------------------- */

static void test_eks_wire__update_cache(void **state)
{
	hcr_eks_ucache *c = hcr_eks_ucache_new(3, 4);
	char id[32], arn[32];
	int i;

	(void)state;
	assert_false(hcr_eks_ucache_has(c, "arn:a", "u1"));
	hcr_eks_ucache_add(c, "arn:a", "u1");
	hcr_eks_ucache_add(c, "arn:a", "u1");
	assert_true(hcr_eks_ucache_has(c, "arn:a", "u1"));
	assert_false(hcr_eks_ucache_has(c, "arn:b", "u1"));
	assert_int_equal(hcr_eks_ucache_clusters(c), 1);
	/* Per cluster: the oldest of more than four ids goes. */
	for (i = 2; i <= 5; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		hcr_eks_ucache_add(c, "arn:a", id);
	}
	assert_false(hcr_eks_ucache_has(c, "arn:a", "u1"));
	assert_true(hcr_eks_ucache_has(c, "arn:a", "u2"));
	assert_true(hcr_eks_ucache_has(c, "arn:a", "u5"));
	/* Clusters: the least recently used of more than three goes. */
	hcr_eks_ucache_add(c, "arn:b", "x");
	hcr_eks_ucache_add(c, "arn:c", "x");
	assert_true(hcr_eks_ucache_has(c, "arn:a", "u5")); /* a is now the most recent */
	hcr_eks_ucache_add(c, "arn:d", "x");
	assert_int_equal(hcr_eks_ucache_clusters(c), 3);
	assert_false(hcr_eks_ucache_has(c, "arn:b", "x"));
	assert_true(hcr_eks_ucache_has(c, "arn:a", "u5"));
	assert_true(hcr_eks_ucache_has(c, "arn:c", "x"));
	assert_true(hcr_eks_ucache_has(c, "arn:d", "x"));
	hcr_eks_ucache_free(c);

	/* Many clusters through a small table: chains and eviction stay consistent. */
	c = hcr_eks_ucache_new(100, 2);
	for (i = 0; i < 1000; i++) {
		snprintf(arn, sizeof(arn), "arn:%d", i);
		hcr_eks_ucache_add(c, arn, "u");
		assert_true(hcr_eks_ucache_has(c, arn, "u"));
	}
	assert_int_equal(hcr_eks_ucache_clusters(c), 100);
	assert_false(hcr_eks_ucache_has(c, "arn:0", "u"));
	assert_true(hcr_eks_ucache_has(c, "arn:999", "u"));
	hcr_eks_ucache_free(c);
	hcr_eks_ucache_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eks_wire__errors),
		cmocka_unit_test(test_eks_wire__list_updates_hint),
		cmocka_unit_test(test_eks_wire__handles_round_trip),
		cmocka_unit_test(test_eks_wire__handles_refused),
		cmocka_unit_test(test_eks_wire__poll_states),
		cmocka_unit_test(test_eks_wire__update_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
