/*
 * Unit tests for the pure parts of providers/gke/: the RS256 JWT (verified
 * with OpenSSL against the fixture key's public half, claims checked exactly),
 * the token endpoint's answers, Google's errors and the status hcr maps each
 * to, operation handles, operation states, the observed document and the
 * request bodies of apply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hcr/crypto.h"
#include "hcr/provider_gke.h"
#include "testutil.h"

#define KEY_FILE "tests/fixtures/gke/service-account.json"
#define PUB_FILE "tests/fixtures/gke/service-account.pub.pem"

/* base64url (no padding) -> bytes. */
static unsigned char *unb64url(const char *s, size_t n, size_t *out_len)
{
	char *t = calloc(1, n + 4);
	unsigned char *out;

	memcpy(t, s, n);
	for (size_t i = 0; i < n; i++)
		t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	while (strlen(t) % 4)
		strcat(t, "=");
	out = hcr_crypto_base64_decode(t, out_len);
	free(t);
	return out;
}

static json_t *part(const char *s, size_t n)
{
	size_t len;
	unsigned char *raw = unb64url(s, n, &len);
	json_t *v = json_loadb((const char *)raw, len, 0, NULL);

	free(raw);
	return v;
}

static void test_gke_wire__jwt_verifies_with_the_public_key(void **state)
{
	json_t *key = json_load_file(KEY_FILE, 0, NULL), *h, *c;
	FILE *f = fopen(PUB_FILE, "r");
	EVP_PKEY *pub;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *jwt = NULL;
	const char *d1, *d2;
	unsigned char *sig;
	size_t siglen;
	hcr_error err;

	(void)state;
	assert_non_null(key);
	assert_non_null(f);
	pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pub);
	assert_int_equal(hcr_gke_jwt(&jwt, json_string_value(json_object_get(key, "client_email")),
				     json_string_value(json_object_get(key, "private_key_id")),
				     json_string_value(json_object_get(key, "private_key")),
				     "http://127.0.0.1:1/token", 1700000000LL, &err),
			 HCR_OK);
	assert_null(strchr(jwt, '='));
	d1 = strchr(jwt, '.');
	d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	h = part(jwt, (size_t)(d1 - jwt));
	c = part(d1 + 1, (size_t)(d2 - d1 - 1));
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
			    json_string_value(json_object_get(key, "private_key_id")));
	assert_int_equal(json_object_size(c), 5);
	assert_string_equal(json_string_value(json_object_get(c, "iss")),
			    json_string_value(json_object_get(key, "client_email")));
	assert_string_equal(json_string_value(json_object_get(c, "scope")), HCR_GKE_SCOPE);
	assert_string_equal(json_string_value(json_object_get(c, "aud")),
			    "http://127.0.0.1:1/token");
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1700000000);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700003600);
	sig = unb64url(d2 + 1, strlen(d2 + 1), &siglen);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)),
		1);
	/* A changed claim no longer verifies. */
	jwt[d1 - jwt + 3] ^= 1;
	EVP_MD_CTX_reset(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_not_equal(
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)),
		1);
	free(sig);
	free(jwt);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	json_decref(h);
	json_decref(c);
	json_decref(key);
}

static void test_gke_wire__jwt_refuses_a_bad_key(void **state)
{
	char *jwt = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_gke_jwt(&jwt, "a@b", NULL, "not a key", "https://x/token", 1, &err),
			 HCR_EDENIED);
	assert_null(jwt);
}

static void test_gke_wire__token_answers(void **state)
{
	char *tok;
	long exp;
	hcr_error err;
	const char *ok =
		"{\"access_token\":\"ya29.x\",\"expires_in\":3599,\"token_type\":\"Bearer\"}";
	const char *bad = "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
			  "Signature.\"}";

	(void)state;
	assert_int_equal(hcr_gke_token_parse(&tok, &exp, 200, ok, strlen(ok), &err), HCR_OK);
	assert_string_equal(tok, "ya29.x");
	assert_int_equal(exp, 3599);
	free(tok);
	assert_int_equal(hcr_gke_token_parse(&tok, &exp, 400, bad, strlen(bad), &err), HCR_EDENIED);
	assert_string_equal(err.detail, "invalid_grant: Invalid JWT Signature.");
	assert_int_equal(hcr_gke_token_parse(&tok, &exp, 503, "oops", 4, &err), HCR_EUPSTREAM);
	assert_int_equal(hcr_gke_token_parse(&tok, &exp, 200, "{}", 2, &err), HCR_EUPSTREAM);
}

typedef struct err_case {
	long http;
	const char *body;
	int status;
	const char *detail;
} err_case;

static const err_case err_cases[] = {
	{400,
	 "{\"error\":{\"code\":400,\"message\":\"Cluster is running incompatible operation "
	 "operation-1.\",\"status\":\"FAILED_PRECONDITION\"}}",
	 HCR_ECONFLICT,
	 "FAILED_PRECONDITION: Cluster is running incompatible operation operation-1."},
	{400,
	 "{\"error\":{\"code\":400,\"message\":\"Operation operation-1 is currently upgrading "
	 "cluster c. Please wait and try again once it is done.\",\"status\":"
	 "\"FAILED_PRECONDITION\"}}",
	 HCR_ECONFLICT, NULL},
	{400,
	 "{\"error\":{\"code\":400,\"message\":\"Labels could not be set due to fingerprint "
	 "mismatch\",\"status\":\"FAILED_PRECONDITION\"}}",
	 HCR_EINVALID, NULL},
	{400, "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}",
	 HCR_EINVALID, "INVALID_ARGUMENT: bad"},
	{404, "{\"error\":{\"code\":404,\"message\":\"Not found: x.\",\"status\":\"NOT_FOUND\"}}",
	 HCR_ENOTFOUND, "NOT_FOUND: Not found: x."},
	{401, "{\"error\":{\"code\":401,\"message\":\"m\",\"status\":\"UNAUTHENTICATED\"}}",
	 HCR_EDENIED, NULL},
	{403, "{\"error\":{\"code\":403,\"message\":\"m\",\"status\":\"PERMISSION_DENIED\"}}",
	 HCR_EDENIED, NULL},
	{429, "{\"error\":{\"code\":429,\"message\":\"q\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
	 HCR_EUPSTREAM, NULL},
	{503, "<html>down</html>", HCR_EUPSTREAM, "HTTP 503: <html>down</html>"},
	{409, "{\"error\":{\"code\":409,\"message\":\"etag\",\"status\":\"ABORTED\"}}",
	 HCR_ECONFLICT, NULL},
};

static void test_gke_wire__errors(void **state)
{
	hcr_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const err_case *c = &err_cases[i];

		assert_int_equal(hcr_gke_parse_error(&err, "clusters.get", "demo", c->http, c->body,
						     strlen(c->body)),
				 c->status);
		if (c->detail)
			assert_string_equal(err.detail, c->detail);
	}
	hcr_gke_parse_error(&err, "clusters.setResourceLabels", "demo", 400, err_cases[2].body,
			    strlen(err_cases[2].body));
	assert_true(hcr_gke_is_fingerprint_mismatch(&err));
}

static void test_gke_wire__handles(void **state)
{
	char loc[64], name[256];
	char *h = hcr_gke_handle_format("us-central1-a", "operation-123-abc");
	hcr_error err;

	(void)state;
	assert_string_equal(h, "op:us-central1-a:operation-123-abc");
	assert_int_equal(hcr_gke_handle_parse(loc, name, h, &err), HCR_OK);
	assert_string_equal(loc, "us-central1-a");
	assert_string_equal(name, "operation-123-abc");
	free(h);
	assert_null(hcr_gke_handle_format("US", "x"));
	assert_null(hcr_gke_handle_format("us", "a b"));
	assert_int_equal(hcr_gke_handle_parse(loc, name, "update:x:y", &err), HCR_EINVALID);
	assert_int_equal(hcr_gke_handle_parse(loc, name, "op::y", &err), HCR_EINVALID);
	assert_int_equal(hcr_gke_handle_parse(loc, name, "op:x:", &err), HCR_EINVALID);
}

static void poll_is(const char *op, const char *state_name, const char *code)
{
	json_t *o = test_json(op), *out;
	hcr_error err;

	assert_int_equal(hcr_gke_poll_result(&out, o, &err), HCR_OK);
	assert_string_equal(json_string_value(json_object_get(out, "state")), state_name);
	if (code)
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(out, "error"), "code")),
			code);
	json_decref(out);
	json_decref(o);
}

static void test_gke_wire__poll_states(void **state)
{
	json_t *o = test_json("{'status': 'WEIRD'}"), *out;
	hcr_error err;

	(void)state;
	poll_is("{'status': 'PENDING'}", "running", NULL);
	poll_is("{'status': 'RUNNING'}", "running", NULL);
	poll_is("{'status': 'ABORTING'}", "running", NULL);
	poll_is("{'status': 'DONE'}", "succeeded", NULL);
	poll_is("{'status': 'DONE', 'error': {'code': 13, 'message': 'boom'}}", "failed",
		"INTERNAL");
	assert_int_equal(hcr_gke_poll_result(&out, o, &err), HCR_EUPSTREAM);
	json_decref(o);
}

static void test_gke_wire__document(void **state)
{
	json_t *c = test_json(
		"{'name': 'demo', 'currentMasterVersion': '1.30.5-gke.1', 'status': 'RUNNING',"
		" 'resourceLabels': {'a': 'b'}, 'addonsConfig': {'httpLoadBalancing': {},"
		" 'networkPolicyConfig': {'disabled': true}},"
		" 'nodePools': [{'name': 'z', 'status': 'RUNNING', 'initialNodeCount': 2,"
		"   'maxPodsConstraint': {'maxPodsPerNode': '110'}, 'autoscaling': {},"
		"   'config': {'machineType': 'e2-medium', 'diskSizeGb': 100}},"
		"  {'name': 'a', 'status': 'RECONCILING'}, {'name': 'gone', 'status': "
		"'STOPPING'}, {'name': 'scaled', 'initialNodeCount': 4, 'autoscaling':"
		"   {'enabled': true, 'minNodeCount': 1, 'maxNodeCount': 5}}]}");
	json_t *doc, *pools;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_gke_normalise(&doc, c, &err), HCR_OK);
	assert_string_equal(json_string_value(json_object_get(doc, "kubernetesVersion")),
			    "1.30.5-gke.1");
	assert_true(json_is_true(
		json_object_get(json_object_get(doc, "clusterAddons"), "httpLoadBalancing")));
	assert_true(json_is_false(json_object_get(json_object_get(doc, "clusterAddons"),
						  "horizontalPodAutoscaling")));
	pools = json_object_get(doc, "nodePools");
	assert_int_equal(json_array_size(pools), 3);
	/* The autoscaler's size is left out of the document. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 1), "name")),
			    "scaled");
	assert_null(json_object_get(json_array_get(pools, 1), "initialNodeCount"));
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_array_get(pools, 1), "autoscaling"), "maxNodeCount")),
		5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 0), "name")),
			    "a");
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(pools, 2), "maxPodsConstraint")),
		110);
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(pools, 0), "initialNodeCount")),
		0);
	assert_true(hcr_gke_busy(c));
	json_decref(doc);
	json_decref(c);
	c = test_json("{'name': 'x', 'resourceLabels': 'oops'}");
	assert_int_equal(hcr_gke_normalise(&doc, c, &err), HCR_EUPSTREAM);
	assert_non_null(strstr(err.detail, "resourceLabels"));
	json_decref(c);
}

static void test_gke_wire__bodies(void **state)
{
	json_t *cluster = test_json(
		"{'currentMasterVersion': '1.30.5-gke.1', 'resourceLabels': {'keep': 'x', 'old': "
		"'y'}, 'labelFingerprint': 'abcd1234', 'nodePools': [{'name': 'p', 'config': "
		"{'labels': {'a': 'b'}, 'preemptible': false}}]}");
	json_t *ch;
	hcr_gke_call call;
	hcr_error err;

	(void)state;
	ch = test_json("{'kubernetesVersion': '1.31'}");
	assert_int_equal(hcr_gke_build_call(&call, "UpdateMasterVersion", NULL, ch, cluster, &err),
			 HCR_OK);
	assert_string_equal(call.method, "PUT");
	assert_string_equal(json_string_value(json_object_get(json_object_get(call.body, "update"),
							      "desiredMasterVersion")),
			    "1.31");
	json_decref(call.body);
	json_decref(ch);
	ch = test_json("{'kubernetesVersion': '1.29'}");
	assert_int_equal(hcr_gke_build_call(&call, "UpdateMasterVersion", NULL, ch, cluster, &err),
			 HCR_EINVALID);
	json_decref(ch);
	ch = test_json("{'kubernetesVersion': '1.30.1-gke.1'}"); /* same minor: allowed */
	assert_int_equal(hcr_gke_build_call(&call, "UpdateMasterVersion", NULL, ch, cluster, &err),
			 HCR_OK);
	json_decref(call.body);
	json_decref(ch);
	ch = test_json("{'labels.env': 'prod', 'labels.old': null}");
	assert_int_equal(hcr_gke_build_call(&call, "SetLabels", NULL, ch, cluster, &err), HCR_OK);
	assert_string_equal(call.suffix, ":setResourceLabels");
	{
		json_t *want = test_json("{'keep': 'x', 'env': 'prod'}");

		assert_true(json_equal(json_object_get(call.body, "resourceLabels"), want));
		json_decref(want);
	}
	assert_string_equal(json_string_value(json_object_get(call.body, "labelFingerprint")),
			    "abcd1234");
	assert_null(json_object_get(json_object_get(call.body, "resourceLabels"), "old"));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(call.body, "resourceLabels"), "keep")),
			    "x");
	json_decref(call.body);
	json_decref(ch);
	ch = test_json("{'nodePools[p].initialNodeCount': 4}");
	assert_int_equal(hcr_gke_build_call(&call, "SetNodePoolSize", "p", ch, cluster, &err),
			 HCR_OK);
	assert_string_equal(call.suffix, "/nodePools/p:setSize");
	assert_int_equal(json_integer_value(json_object_get(call.body, "nodeCount")), 4);
	json_decref(call.body);
	json_decref(ch);
	ch = test_json("{'nodePools[p].config': {'labels': {'a': 'c'}, 'preemptible': false}}");
	assert_int_equal(hcr_gke_build_call(&call, "UpdateNodePoolConfig", "p", ch, cluster, &err),
			 HCR_OK);
	assert_string_equal(call.method, "PUT");
	assert_int_equal(json_object_size(call.body), 1);
	assert_non_null(json_object_get(call.body, "labels"));
	json_decref(call.body);
	json_decref(ch);
	ch = test_json("{'nodePools[p].config': {'preemptible': true}}");
	assert_int_equal(hcr_gke_build_call(&call, "UpdateNodePoolConfig", "p", ch, cluster, &err),
			 HCR_EINVALID);
	assert_non_null(strstr(err.message, "nodePools[p].config.preemptible"));
	json_decref(ch);
	ch = test_json("{'nodePools[q]': null}");
	assert_int_equal(hcr_gke_build_call(&call, "DeleteNodePool", "q", ch, cluster, &err),
			 HCR_OK);
	assert_true(call.none);
	json_decref(ch);
	json_decref(cluster);
}

/* Whether `v` equals the JSON `text` (single quotes allowed). */
static bool same(json_t *v, const char *text)
{
	json_t *want = test_json(text);
	bool eq = json_equal(v, want);

	json_decref(want);
	return eq;
}

static void test_gke_wire__create_body(void **state)
{
	json_t *cfg = test_json(
		"{'kubernetesVersion': '1.30', 'labels': {'owner': 'hcr', 'gone': null},"
		" 'network': 'net', 'subnetwork': 'sub', 'loggingService': 'none',"
		" 'clusterAddons': {'httpLoadBalancing': false, 'horizontalPodAutoscaling': true},"
		" 'networkPolicyEnabled': true, 'locations': ['us-central1-a'],"
		" 'maintenanceWindow': '03:00',"
		" 'masterAuthorizedNetworks': {'enabled': true,"
		"   'cidrBlocks': [{'cidrBlock': '10.0.0.0/8', 'displayName': 'in'}]},"
		" 'privateClusterConfig': {'enablePrivateNodes': true, 'masterIpv4CidrBlock': ''},"
		" 'ipAllocationPolicy': {'useIpAliases': true, 'subnetworkName': ''},"
		" 'nodePools': [{'name': 'p1', 'version': '1.30',"
		"   'autoscaling': {'enabled': true, 'minNodeCount': 2, 'maxNodeCount': 3},"
		"   'management': {'autoRepair': true, 'autoUpgrade': false},"
		"   'config': {'machineType': 'e2-standard-4'}}]}");
	json_t *body, *c, *np;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_gke_body_create_cluster(&body, "demo", cfg, &err), HCR_OK);
	c = json_object_get(body, "cluster");
	assert_string_equal(json_string_value(json_object_get(c, "name")), "demo");
	assert_string_equal(json_string_value(json_object_get(c, "initialClusterVersion")), "1.30");
	assert_true(same(json_object_get(c, "resourceLabels"), "{'owner': 'hcr'}"));
	assert_string_equal(json_string_value(json_object_get(c, "network")), "net");
	assert_string_equal(json_string_value(json_object_get(c, "subnetwork")), "sub");
	assert_string_equal(json_string_value(json_object_get(c, "loggingService")), "none");
	assert_null(json_object_get(c, "monitoringService"));
	assert_true(json_is_true(json_object_get(
		json_object_get(json_object_get(c, "addonsConfig"), "httpLoadBalancing"),
		"disabled")));
	assert_true(json_is_false(json_object_get(
		json_object_get(json_object_get(c, "addonsConfig"), "horizontalPodAutoscaling"),
		"disabled")));
	assert_true(json_is_true(json_object_get(json_object_get(c, "networkPolicy"), "enabled")));
	assert_int_equal(json_array_size(json_object_get(c, "locations")), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_object_get(json_object_get(c, "maintenancePolicy"), "window"),
				"dailyMaintenanceWindow"),
			"startTime")),
		"03:00");
	assert_int_equal(
		json_array_size(json_object_get(
			json_object_get(c, "masterAuthorizedNetworksConfig"), "cidrBlocks")),
		1);
	assert_true(
		same(json_object_get(c, "privateClusterConfig"), "{'enablePrivateNodes': true}"));
	assert_true(same(json_object_get(c, "ipAllocationPolicy"), "{'useIpAliases': true}"));
	np = json_array_get(json_object_get(c, "nodePools"), 0);
	assert_int_equal(json_array_size(json_object_get(c, "nodePools")), 1);
	assert_string_equal(json_string_value(json_object_get(np, "name")), "p1");
	/* Autoscaled: the pool starts at minNodeCount. */
	assert_int_equal(json_integer_value(json_object_get(np, "initialNodeCount")), 2);
	assert_string_equal(json_string_value(json_object_get(np, "version")), "1.30");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(np, "autoscaling"),
							    "maxNodeCount")),
			 3);
	assert_true(
		json_is_false(json_object_get(json_object_get(np, "management"), "autoUpgrade")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(np, "config"), "machineType")),
		"e2-standard-4");
	json_decref(body);
	json_decref(cfg);
	/* autopilot needs no pool */
	cfg = test_json("{'autopilotConfig': {'enabled': true}}");
	assert_int_equal(hcr_gke_body_create_cluster(&body, "demo", cfg, &err), HCR_OK);
	assert_null(json_object_get(json_object_get(body, "cluster"), "nodePools"));
	assert_true(json_is_true(json_object_get(
		json_object_get(json_object_get(body, "cluster"), "autopilot"), "enabled")));
	json_decref(body);
	json_decref(cfg);
	assert_int_equal(hcr_gke_body_create_cluster(&body, "Bad_Name", NULL, &err), HCR_EINVALID);
}

static void refused(const char *config, const char *field)
{
	json_t *cfg = config ? test_json(config) : NULL;
	hcr_error err;

	assert_int_equal(hcr_gke_check_create(cfg, &err), HCR_EINVALID);
	if (!strstr(err.message, field))
		fail_msg("\"%s\" does not name %s", err.message, field);
	json_decref(cfg);
}

static void test_gke_wire__check_create(void **state)
{
	json_t *cfg =
		test_json("{'nodePools': [{'name': 'a'}, {'name': 'b', 'initialNodeCount': 0}]}");
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_gke_check_create(cfg, &err), HCR_OK);
	json_decref(cfg);
	refused(NULL, "config.nodePools");
	refused("{'kubernetesVersion': '1.30'}", "config.nodePools");
	refused("{'nodePools': []}", "config.nodePools");
	refused("{'nodePools': {}}", "config.nodePools");
	refused("{'nodePools': [{'initialNodeCount': 1}]}", "config.nodePools[0].name");
	refused("{'nodePools': [{'name': 'Pool_A'}]}", "config.nodePools[0].name");
	refused("{'nodePools': [{'name': 'a'}, {'name': 'a'}]}", "config.nodePools[1].name");
	refused("{'nodePools': [{'name': 'a', 'initialNodeCount': -1}]}",
		"config.nodePools[0].initialNodeCount");
	refused("{'nodePools': [{'name': 'a', 'autoscaling': {'enabled': true, 'minNodeCount': 3,"
		" 'maxNodeCount': 1}}]}",
		"config.nodePools[0].autoscaling");
	refused("{'nodePools': [{'name': 'a', 'initialNodeCount': 2, 'autoscaling': {'enabled':"
		" true, 'minNodeCount': 1, 'maxNodeCount': 3}}]}",
		"config.nodePools[0].initialNodeCount");
	refused("{'kubernetesVersion': 130, 'nodePools': [{'name': 'a'}]}",
		"config.kubernetesVersion");
	refused("{'labels': {'a': 1}, 'nodePools': [{'name': 'a'}]}", "config.labels");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gke_wire__jwt_verifies_with_the_public_key),
		cmocka_unit_test(test_gke_wire__jwt_refuses_a_bad_key),
		cmocka_unit_test(test_gke_wire__token_answers),
		cmocka_unit_test(test_gke_wire__errors),
		cmocka_unit_test(test_gke_wire__handles),
		cmocka_unit_test(test_gke_wire__poll_states),
		cmocka_unit_test(test_gke_wire__document),
		cmocka_unit_test(test_gke_wire__bodies),
		cmocka_unit_test(test_gke_wire__create_body),
		cmocka_unit_test(test_gke_wire__check_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
