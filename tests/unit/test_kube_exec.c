/*
 * Unit tests for src/kube_exec.c: exec credential plugins run as small shell
 * scripts in a temporary directory. They print ExecCredential JSON, record
 * their arguments, environment and KUBERNETES_EXEC_INFO, and count their
 * runs in a file, so the cache can be checked; and they fail in each way a
 * plugin can (missing, non-zero exit, bad output, too slow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hcr/kube.h"
#include "hcr/mem.h"
#include "testutil.h"

#define V1      "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"
#define PEM_C   "-----BEGIN CERTIFICATE-----\\nQ0VSVA==\\n-----END CERTIFICATE-----\\n"
#define PEM_K   "-----BEGIN PRIVATE KEY-----\\nS0VZ\\n-----END PRIVATE KEY-----\\n"

static char dir[64];

static char *path_in(const char *name)
{
	return hcr_sprintf("%s/%s", dir, name);
}

static void write_script(const char *name, const char *body, mode_t mode)
{
	char *path = path_in(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(path, mode);
	free(path);
}

/* The contents of dir/name (new; "" when missing). */
static char *read_back(const char *name)
{
	char *path = path_in(name), buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	free(path);
	if (!f)
		return hcr_strdup("");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return hcr_strdup(buf);
}

static int count_runs(const char *name)
{
	char *s = read_back(name);
	int n = atoi(s);

	free(s);
	return n;
}

/* Counts its runs in $DIR/$COUNTER, records what it got, prints $OUT. */
static const char *const RECORDER = "n=$(cat \"$DIR/$COUNTER\" 2>/dev/null || echo 0)\n"
				    "echo $((n + 1)) > \"$DIR/$COUNTER\"\n"
				    "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$DIR/info\"\n"
				    "echo \"$@\" > \"$DIR/args\"\n"
				    "echo \"OUTER=$HCR_TEST_OUTER\" > \"$DIR/env\"\n"
				    "printf '%s' \"$OUT\" | sed \"s/RUN/$n/\"\n";

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hcr-kube-exec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_script("recorder", RECORDER, 0755);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = hcr_sprintf("rm -rf '%s'", dir);

	(void)state;
	hcr_kube_exec_cache_clear();
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static void rfc3339(char *out, size_t size, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * A context whose plugin is `command` with env DIR, COUNTER and OUT, and the
 * extra "NAME=value" strings of `extra` (NULL-terminated; may be NULL).
 */
static hcr_kube_context *context(const char *command, const char *counter, const char *out,
				 const char *const *extra)
{
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	hcr_kube_exec_config *x = hcr_calloc(1, sizeof(*x));
	size_t n = 0, i;

	while (extra && extra[n])
		n++;
	c->name = hcr_strdup("ctx");
	c->user = hcr_strdup("u");
	c->origin = hcr_strdup("k.yaml");
	c->server = hcr_strdup("https://api.example:6443");
	c->exec = x;
	x->api_version = hcr_strdup(V1);
	x->command = strchr(command, '/') ? hcr_strdup(command) : path_in(command);
	x->args = hcr_calloc(3, sizeof(char *));
	x->args[0] = hcr_strdup("get-token");
	x->args[1] = hcr_strdup("--cluster=demo");
	x->nargs = 2;
	x->env = hcr_calloc(n + 4, sizeof(char *));
	x->env[0] = hcr_sprintf("DIR=%s", dir);
	x->env[1] = hcr_sprintf("COUNTER=%s", counter);
	x->env[2] = hcr_sprintf("OUT=%s", out);
	for (i = 0; i < n; i++)
		x->env[3 + i] = hcr_strdup(extra[i]);
	x->nenv = 3 + n;
	x->timeout_ms = 10000;
	return c;
}

static char *token_output(time_t expires)
{
	char ts[32];

	rfc3339(ts, sizeof(ts), expires);
	return hcr_sprintf("{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
			   "\"status\":{\"token\":\"tok-RUN\",\"expirationTimestamp\":\"%s\"}}",
			   ts);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- running and caching ------------------------------------------------------------- */

static void test_kube_exec__token_args_env_info(void **state)
{
	const char *extra[] = {"HCR_TEST_OUTER=inner", NULL};
	char *out = token_output(time(NULL) + 3600), *s;
	hcr_kube_context *c = context("recorder", "count1", out, extra);
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	setenv("HCR_TEST_OUTER", "outer", 1);
	if (hcr_kube_exec_run(&cred, c, &err) != HCR_OK)
		fail_msg("%s: %s", err.message, err.detail);
	assert_string_equal(cred.token, "tok-0");
	assert_true(cred.expires > time(NULL) + 3500 && cred.expires <= time(NULL) + 3600);
	assert_null(cred.cert_pem);
	hcr_kube_exec_credential_clear(&cred);
	assert_null(cred.token);
	s = read_back("args");
	assert_string_equal(s, "get-token --cluster=demo\n");
	free(s);
	s = read_back("env"); /* the plugin's env wins over hcr's */
	assert_string_equal(s, "OUTER=inner\n");
	free(s);
	s = read_back("info"); /* exactly what kubectl sets */
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
			       "\"spec\":{\"interactive\":false}}");
	free(s);
	unsetenv("HCR_TEST_OUTER");
	hcr_kube_context_free(c);
	free(out);
}

static void test_kube_exec__cluster_info(void **state)
{
	char *out = token_output(time(NULL) + 3600), *s;
	hcr_kube_context *c = context("recorder", "count2", out, NULL);
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	c->exec->provide_cluster_info = true;
	free(c->exec->api_version);
	c->exec->api_version = hcr_strdup(V1BETA1);
	c->ca_pem = hcr_strdup("-----BEGIN CERTIFICATE-----\n");
	c->ca_len = strlen(c->ca_pem);
	c->tls_server_name = hcr_strdup("api.internal");
	free(out);
	out = hcr_sprintf("{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1 "\","
			  "\"status\":{\"token\":\"beta\"}}");
	free(c->exec->env[2]);
	c->exec->env[2] = hcr_sprintf("OUT=%s", out);
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_OK);
	assert_string_equal(cred.token, "beta");
	assert_int_equal(cred.expires, 0);
	hcr_kube_exec_credential_clear(&cred);
	s = read_back("info");
	assert_string_equal(s, "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1 "\","
			       "\"spec\":{\"interactive\":false,\"cluster\":{\"server\":"
			       "\"https://api.example:6443\",\"tls-server-name\":\"api.internal\","
			       "\"certificate-authority-data\":"
			       "\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\"}}}");
	free(s);
	hcr_kube_context_free(c);
	free(out);
}

static void test_kube_exec__cache(void **state)
{
	char *out = token_output(time(NULL) + 3600);
	hcr_kube_context *c = context("recorder", "count3", out, NULL);
	hcr_kube_context *same = context("recorder", "count3", out, NULL);
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_kube_exec_get(&cred, c, &err), HCR_OK);
	assert_string_equal(cred.token, "tok-0");
	hcr_kube_exec_credential_clear(&cred);
	/* Another context with the same plugin configuration shares the credential. */
	assert_int_equal(hcr_kube_exec_get(&cred, same, &err), HCR_OK);
	assert_string_equal(cred.token, "tok-0");
	hcr_kube_exec_credential_clear(&cred);
	assert_int_equal(count_runs("count3"), 1);
	/* After the server refused it, the plugin runs again. */
	hcr_kube_exec_invalidate(c);
	assert_int_equal(hcr_kube_exec_get(&cred, same, &err), HCR_OK);
	assert_string_equal(cred.token, "tok-1");
	hcr_kube_exec_credential_clear(&cred);
	assert_int_equal(count_runs("count3"), 2);
	hcr_kube_context_free(c);
	hcr_kube_context_free(same);
	free(out);
}

static void test_kube_exec__cache_expiry(void **state)
{
	/* Expired already, and about to expire (inside the renewal margin of a 60 s token). */
	char *expired = token_output(time(NULL) - 10), *soon = token_output(time(NULL) + 10);
	hcr_kube_context *c = context("recorder", "count4", expired, NULL);
	hcr_kube_context *d = context("recorder", "count5", soon, NULL);
	hcr_kube_exec_credential cred;
	hcr_error err;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(hcr_kube_exec_get(&cred, c, &err), HCR_OK);
		hcr_kube_exec_credential_clear(&cred);
	}
	assert_int_equal(count_runs("count4"), 3);
	/* 10 s of life: a margin of 2 s, so it is still fresh. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(hcr_kube_exec_get(&cred, d, &err), HCR_OK);
		hcr_kube_exec_credential_clear(&cred);
	}
	assert_int_equal(count_runs("count5"), 1);
	hcr_kube_context_free(c);
	hcr_kube_context_free(d);
	free(expired);
	free(soon);
}

static void test_kube_exec__client_certificate(void **state)
{
	const char *out = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
			  "\"status\":{\"clientCertificateData\":\"" PEM_C "\","
			  "\"clientKeyData\":\"" PEM_K "\","
			  "\"expirationTimestamp\":\"2026-01-02T03:04:05.123456Z\"}}";
	hcr_kube_context *c = context("recorder", "count6", out, NULL);
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	if (hcr_kube_exec_run(&cred, c, &err) != HCR_OK)
		fail_msg("%s: %s", err.message, err.detail);
	assert_null(cred.token);
	assert_string_equal(cred.cert_pem,
			    "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n");
	assert_int_equal(cred.cert_len, strlen(cred.cert_pem));
	assert_string_equal(cred.key_pem,
			    "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n");
	assert_int_equal(cred.expires, 1767323045);
	hcr_kube_exec_credential_clear(&cred);
	hcr_kube_context_free(c);
}

/* ---- failures ------------------------------------------------------------------------ */

static void test_kube_exec__not_found(void **state)
{
	hcr_kube_context *c = context("hcr-no-such-plugin-xyz", "n", "", NULL);
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	free(c->exec->command);
	c->exec->command = hcr_strdup("hcr-no-such-plugin-xyz");
	c->exec->install_hint = hcr_strdup("brew install hcr-no-such-plugin-xyz");
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_EINVALID);
	assert_string_equal(err.message, "exec plugin \"hcr-no-such-plugin-xyz\" of user \"u\" "
					 "(kubeconfig \"k.yaml\") was not found");
	assert_string_equal(err.detail, "no executable \"hcr-no-such-plugin-xyz\" on PATH");
	assert_string_equal(err.hint, "brew install hcr-no-such-plugin-xyz");
	hcr_kube_context_free(c);

	/* A path that is there but not executable. */
	write_script("noexec", "echo hi\n", 0644);
	c = context("noexec", "n", "", NULL);
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_EINVALID);
	assert_contains(err.detail, "is not an executable file");
	assert_contains(err.hint, "install it");
	hcr_kube_context_free(c);
}

static void test_kube_exec__exit_status(void **state)
{
	hcr_kube_context *c;
	hcr_kube_exec_credential cred;
	hcr_error err;

	(void)state;
	write_script("fails",
		     "echo 'error: you must be logged in (run: login --sso)' >&2\n"
		     "echo '{\"kind\":\"ExecCredential\"}'\nexit 3\n",
		     0755);
	c = context("fails", "n", "", NULL);
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_EDENIED);
	assert_contains(err.message, "(kubeconfig \"k.yaml\") exited with status 3");
	assert_string_equal(err.detail, "stderr: error: you must be logged in (run: login --sso)");
	assert_string_equal(err.code, HCR_ERR_UNAUTHORIZED);
	assert_null(cred.token);
	hcr_kube_context_free(c);

	write_script("killed", "kill -9 $$\n", 0755);
	c = context("killed", "n", "", NULL);
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_EDENIED);
	assert_contains(err.message, "was killed by signal 9");
	hcr_kube_context_free(c);
}

static void test_kube_exec__timeout(void **state)
{
	hcr_kube_context *c;
	hcr_kube_exec_credential cred;
	hcr_error err;
	time_t start = time(NULL);

	(void)state;
	write_script("slow", "echo 'waiting for browser login' >&2\nexec sleep 30\n", 0755);
	c = context("slow", "n", "", NULL);
	c->exec->timeout_ms = 300;
	assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_EUPSTREAM);
	assert_true(time(NULL) - start < 5);
	assert_contains(err.message, "did not finish within 300 ms");
	assert_string_equal(err.detail, "stderr: waiting for browser login");
	assert_contains(err.hint, "non-interactively");
	hcr_kube_context_free(c);
}

static void test_kube_exec__bad_output(void **state)
{
	static const struct {
		const char *out;
		const char *message;
	} cases[] = {
		{"token: s3cr3t-in-yaml", "returned output that is not an ExecCredential JSON"},
		{"{\"kind\":\"Other\",\"apiVersion\":\"" V1 "\",\"status\":{\"token\":\"s3cr3t\"}}",
		 "returned JSON whose kind is not ExecCredential"},
		{"{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1BETA1
		 "\",\"status\":{\"token\":\"s3cr3t\"}}",
		 "returned an ExecCredential of another apiVersion"},
		{"{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\"}",
		 "returned an ExecCredential without a status"},
		{"{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"status\":{}}",
		 "returned neither a token nor a client certificate and key"},
		{"{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"status\":"
		 "{\"clientCertificateData\":\"" PEM_C "\"}}",
		 "returned only a client certificate or key, not both"},
		{"{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\",\"status\":"
		 "{\"token\":\"s3cr3t\",\"expirationTimestamp\":\"tomorrow\"}}",
		 "returned an expirationTimestamp that is not RFC 3339"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_kube_context *c = context("recorder", "n", cases[i].out, NULL);
		hcr_kube_exec_credential cred;
		hcr_error err;

		assert_int_equal(hcr_kube_exec_run(&cred, c, &err), HCR_ERROR);
		assert_contains(err.message, "exec plugin \"");
		assert_contains(err.message, cases[i].message);
		assert_null(strstr(err.message, "s3cr3t"));
		assert_null(strstr(err.detail, "s3cr3t"));
		assert_contains(err.hint, "output is not shown");
		assert_null(cred.token);
		hcr_kube_context_free(c);
	}
}

static void test_kube_exec__timestamps(void **state)
{
	static const struct {
		const char *ts;
		time_t want; /* 0: refused */
	} cases[] = {
		{"2026-01-02T03:04:05Z", 1767323045},
		{"2026-01-02t03:04:05z", 1767323045},
		{"2026-01-02T03:04:05.999999999Z", 1767323045},
		{"2026-01-02T04:04:05+01:00", 1767323045},
		{"2026-01-01T22:34:05-04:30", 1767323045},
		{"2026-01-02T03:04:05", 0},
		{"2026-01-02", 0},
		{"2026-01-02T03:04:05+0100", 0},
		{"1767323045", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *doc = hcr_sprintf("{\"kind\":\"ExecCredential\",\"apiVersion\":\"" V1 "\","
					"\"status\":{\"token\":\"t\",\"expirationTimestamp\":"
					"\"%s\"}}",
					cases[i].ts);
		hcr_kube_exec_credential cred;
		hcr_error err;
		int rc = hcr_kube_exec_parse(&cred, doc, strlen(doc), V1, &err);

		if (cases[i].want) {
			if (rc != HCR_OK || cred.expires != cases[i].want)
				fail_msg("%s: rc %d, expires %ld", cases[i].ts, rc,
					 (long)cred.expires);
		} else if (rc == HCR_OK) {
			fail_msg("%s: accepted", cases[i].ts);
		}
		hcr_kube_exec_credential_clear(&cred);
		free(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_exec__token_args_env_info),
		cmocka_unit_test(test_kube_exec__cluster_info),
		cmocka_unit_test(test_kube_exec__cache),
		cmocka_unit_test(test_kube_exec__cache_expiry),
		cmocka_unit_test(test_kube_exec__client_certificate),
		cmocka_unit_test(test_kube_exec__not_found),
		cmocka_unit_test(test_kube_exec__exit_status),
		cmocka_unit_test(test_kube_exec__timeout),
		cmocka_unit_test(test_kube_exec__bad_output),
		cmocka_unit_test(test_kube_exec__timestamps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
