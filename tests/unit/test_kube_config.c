/*
 * Unit tests for src/kube_config.c: kubeconfig files read into resolved
 * contexts (every auth form, relative paths, KUBECONFIG merging) and every
 * refusal, whose message names the kubeconfig and the context, cluster or
 * user at fault, and never a secret.
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
#include <unistd.h>

#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "hcr/mem.h"
#include "testutil.h"

#define TOKEN    "s3cr3t-token-0123456789"
#define PASSWORD "pa55w0rd-zyx"
#define CA_PEM   "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n"
#define KEY_PEM  "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"
/* base64 of CA_PEM and CERT_PEM */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define CERT_B64 \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwVlNWQT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char *path = hcr_sprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hcr-kubeconfig-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char *cmd = hcr_sprintf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* Loads `yaml` written as dir/config and resolves `context`. */
static int resolve_text(hcr_kube_context **out, const char *yaml, const char *context,
			hcr_error *err)
{
	hcr_kubeconfig *kc = NULL;
	char *path = hcr_sprintf("%s/config", dir);
	int rc;

	write_file("config", yaml);
	rc = hcr_kubeconfig_load(&kc, path, err);
	if (rc == HCR_OK)
		rc = hcr_kubeconfig_resolve(out, kc, context, err);
	hcr_kubeconfig_free(kc);
	free(path);
	return rc;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_no_secret(const hcr_error *err)
{
	const char *secrets[] = {TOKEN, PASSWORD, "S0VZ", "AKIASECRET"};
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_null(strstr(err->message, secrets[i]));
		assert_null(strstr(err->detail, secrets[i]));
		assert_null(strstr(err->hint, secrets[i]));
	}
}

/* ---- the forms ----------------------------------------------------------------------- */

static const char *const FULL =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: token\n"
	"clusters:\n"
	"- name: files\n"
	"  cluster:\n"
	"    server: https://files.example:6443/\n"
	"    certificate-authority: certs/ca.crt\n"
	"    tls-server-name: api.internal\n"
	"    proxy-url: http://proxy.example:3128\n"
	"- name: data\n"
	"  cluster:\n"
	"    server: https://data.example\n"
	"    certificate-authority-data: %s\n"
	"- name: insecure\n"
	"  cluster: {server: 'http://127.0.0.1:8001', insecure-skip-tls-verify: "
	"yes}\n"
	"contexts:\n"
	"- name: token\n"
	"  context: {cluster: data, user: token, namespace: web}\n"
	"- name: tokenfile\n"
	"  context: {cluster: files, user: tokenfile}\n"
	"- name: certfiles\n"
	"  context: {cluster: files, user: certfiles}\n"
	"- name: certdata\n"
	"  context: {cluster: data, user: certdata}\n"
	"- name: basic\n"
	"  context: {cluster: insecure, user: basic}\n"
	"- name: exec\n"
	"  context: {cluster: data, user: exec}\n"
	"- name: anonymous\n"
	"  context: {cluster: insecure}\n"
	"users:\n"
	"- name: token\n"
	"  user: {token: " TOKEN "}\n"
	"- name: tokenfile\n"
	"  user: {tokenFile: token.txt}\n"
	"- name: certfiles\n"
	"  user:\n"
	"    client-certificate: certs/client.crt\n"
	"    client-key: /ABSOLUTE/client.key\n"
	"- name: certdata\n"
	"  user:\n"
	"    client-certificate-data: %s\n"
	"    client-key-data: %s\n"
	"- name: basic\n"
	"  user: {username: admin, password: " PASSWORD "}\n"
	"- name: exec\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1\n"
	"      command: ./bin/get-token\n"
	"      args: [--region, eu-west-1]\n"
	"      env:\n"
	"      - {name: AWS_PROFILE, value: prod}\n"
	"      - name: AWS_SECRET_ACCESS_KEY\n"
	"        value: AKIASECRET\n"
	"      installHint: install get-token from example.com\n"
	"      provideClusterInfo: true\n"
	"      interactiveMode: Never\n";

/* FULL with its base64 and absolute paths filled in (new string). */
static char *full_config(void)
{
	char *ca = hcr_crypto_base64_encode(CA_PEM, strlen(CA_PEM));
	char *cert = hcr_crypto_base64_encode(CERT_PEM, strlen(CERT_PEM));
	char *key = hcr_crypto_base64_encode(KEY_PEM, strlen(KEY_PEM));
	char *text = hcr_sprintf(FULL, ca, cert, key), *abs = strstr(text, "/ABSOLUTE");
	char *out;

	*abs = '\0';
	out = hcr_sprintf("%s%s/certs%s", text, dir, abs + strlen("/ABSOLUTE"));
	free(text);
	free(ca);
	free(cert);
	free(key);
	return out;
}

static void write_files(void)
{
	char *certs = hcr_sprintf("%s/certs", dir);

	mkdir(certs, 0700);
	free(certs);
	write_file("certs/ca.crt", CA_PEM);
	write_file("certs/client.crt", CERT_PEM);
	write_file("certs/client.key", KEY_PEM);
	write_file("token.txt", TOKEN "\n");
}

static hcr_kube_context *resolve_full(const char *context)
{
	hcr_kube_context *c = NULL;
	char *text = full_config();
	hcr_error err;

	write_files();
	if (resolve_text(&c, text, context, &err) != HCR_OK)
		fail_msg("%s: %s (%s)", err.message, err.detail, err.hint);
	free(text);
	return c;
}

static void test_kube_config__token_and_current_context(void **state)
{
	hcr_kube_context *c = resolve_full(NULL);

	(void)state;
	assert_string_equal(c->name, "token");
	assert_string_equal(c->cluster, "data");
	assert_string_equal(c->user, "token");
	assert_string_equal(c->namespace_name, "web");
	assert_string_equal(c->server, "https://data.example");
	assert_string_equal(c->ca_pem, CA_PEM);
	assert_int_equal(c->ca_len, strlen(CA_PEM));
	assert_false(c->insecure);
	assert_string_equal(c->token, TOKEN);
	assert_null(c->token_file);
	assert_null(c->cert_pem);
	assert_null(c->exec);
	assert_non_null(strstr(c->origin, "/config"));
	hcr_kube_context_free(c);
}

static void test_kube_config__relative_files(void **state)
{
	hcr_kube_context *c = resolve_full("tokenfile");
	char *want;

	(void)state;
	/* The trailing slash of the server goes; files resolve against the kubeconfig's dir. */
	assert_string_equal(c->server, "https://files.example:6443");
	assert_string_equal(c->ca_pem, CA_PEM);
	assert_string_equal(c->tls_server_name, "api.internal");
	assert_string_equal(c->proxy_url, "http://proxy.example:3128");
	assert_string_equal(c->token, TOKEN); /* the newline of the file is dropped */
	want = hcr_sprintf("%s/token.txt", dir);
	assert_string_equal(c->token_file, want);
	free(want);
	assert_null(c->namespace_name);
	hcr_kube_context_free(c);

	c = resolve_full("certfiles");
	assert_string_equal(c->cert_pem, CERT_PEM);
	assert_string_equal(c->key_pem, KEY_PEM); /* from an absolute path */
	assert_null(c->token);
	hcr_kube_context_free(c);
}

static void test_kube_config__data_basic_anonymous(void **state)
{
	hcr_kube_context *c = resolve_full("certdata");

	(void)state;
	assert_string_equal(c->cert_pem, CERT_PEM);
	assert_int_equal(c->cert_len, strlen(CERT_PEM));
	assert_string_equal(c->key_pem, KEY_PEM);
	hcr_kube_context_free(c);

	c = resolve_full("basic");
	assert_string_equal(c->username, "admin");
	assert_string_equal(c->password, PASSWORD);
	assert_true(c->insecure);
	assert_null(c->ca_pem);
	assert_string_equal(c->server, "http://127.0.0.1:8001");
	hcr_kube_context_free(c);

	c = resolve_full("anonymous");
	assert_null(c->user);
	assert_null(c->token);
	assert_null(c->username);
	hcr_kube_context_free(c);
}

static void test_kube_config__exec(void **state)
{
	hcr_kube_context *c = resolve_full("exec");
	hcr_kube_exec_config *x;
	char *want;

	(void)state;
	assert_non_null((x = c->exec));
	assert_string_equal(x->api_version, "client.authentication.k8s.io/v1");
	want = hcr_sprintf("%s/./bin/get-token", dir);
	assert_string_equal(x->command, want); /* a '/' makes it relative to the kubeconfig */
	free(want);
	assert_int_equal(x->nargs, 2);
	assert_string_equal(x->args[0], "--region");
	assert_string_equal(x->args[1], "eu-west-1");
	assert_int_equal(x->nenv, 2);
	assert_string_equal(x->env[0], "AWS_PROFILE=prod");
	assert_string_equal(x->env[1], "AWS_SECRET_ACCESS_KEY=AKIASECRET");
	assert_string_equal(x->install_hint, "install get-token from example.com");
	assert_true(x->provide_cluster_info);
	assert_true(x->timeout_ms > 0);
	assert_null(c->token);
	hcr_kube_context_free(c);
}

static void test_kube_config__exec_on_path(void **state)
{
	const char *yaml = "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
			   "contexts: [{name: k, context: {cluster: c, user: u}}]\n"
			   "current-context: k\n"
			   "users:\n- name: u\n  user:\n    exec:\n"
			   "      apiVersion: client.authentication.k8s.io/v1beta1\n"
			   "      command: aws\n";
	hcr_kube_context *c = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(resolve_text(&c, yaml, NULL, &err), HCR_OK);
	assert_string_equal(c->exec->command, "aws"); /* looked up on PATH when it runs */
	assert_int_equal(c->exec->nargs, 0);
	assert_false(c->exec->provide_cluster_info);
	hcr_kube_context_free(c);
}

static void test_kube_config__listing_and_buffer(void **state)
{
	const char *yaml = "{\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": "
			   "\"https://x\", \"certificate-authority\": \"ca.crt\"}}], "
			   "\"contexts\": [{\"name\": \"a\", \"context\": {\"cluster\": \"c\"}}, "
			   "{\"name\": \"b\", \"context\": {\"cluster\": \"c\"}}]}";
	hcr_kubeconfig *kc = NULL;
	hcr_kube_context *c = NULL;
	hcr_error err;

	(void)state;
	write_file("ca.crt", CA_PEM);
	/* JSON is YAML too; relative paths resolve against base_dir. */
	assert_int_equal(hcr_kubeconfig_parse(&kc, yaml, strlen(yaml), "from provider", dir, &err),
			 HCR_OK);
	assert_int_equal(hcr_kubeconfig_context_count(kc), 2);
	assert_string_equal(hcr_kubeconfig_context_name(kc, 1), "b");
	assert_null(hcr_kubeconfig_context_name(kc, 2));
	assert_null(hcr_kubeconfig_current_context(kc));
	assert_string_equal(hcr_kubeconfig_path(kc), "from provider");
	assert_int_equal(hcr_kubeconfig_resolve(&c, kc, "b", &err), HCR_OK);
	assert_string_equal(c->ca_pem, CA_PEM);
	hcr_kube_context_free(c);
	/* No current-context: the hint lists the contexts. */
	assert_int_equal(hcr_kubeconfig_resolve(&c, kc, NULL, &err), HCR_EINVALID);
	assert_null(c);
	assert_string_equal(err.message, "kubeconfig \"from provider\" has no current-context");
	assert_contains(err.hint, "a, b");
	hcr_kubeconfig_free(kc);
}

static void test_kube_config__kubeconfig_env_merge(void **state)
{
	const char *first = "current-context: one\n"
			    "clusters: [{name: c, cluster: {server: 'https://first'}}]\n"
			    "contexts: [{name: one, context: {cluster: c, user: u}}]\n"
			    "users: [{name: u, user: {tokenFile: tok}}]\n";
	const char *second = "current-context: two\n"
			     "clusters: [{name: c, cluster: {server: 'https://second'}},\n"
			     "           {name: d, cluster: {server: 'https://d'}}]\n"
			     "contexts: [{name: one, context: {cluster: d}},\n"
			     "           {name: two, context: {cluster: d, user: v}}]\n"
			     "users: [{name: v, user: {tokenFile: tok}}]\n";
	char *sub = hcr_sprintf("%s/sub", dir), *env;
	char *old = getenv("KUBECONFIG") ? hcr_strdup(getenv("KUBECONFIG")) : NULL;
	hcr_kubeconfig *kc = NULL;
	hcr_kube_context *c = NULL;
	hcr_error err;

	(void)state;
	mkdir(sub, 0700);
	write_file("first", first);
	write_file("tok", "first-token");
	write_file("sub/second", second);
	write_file("sub/tok", "second-token");
	env = hcr_sprintf("%s/first:%s/missing:%s/second", dir, dir, sub);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(hcr_kubeconfig_load_default(&kc, &err), HCR_OK);
	/* The first file's current-context and names win; missing files are skipped. */
	assert_string_equal(hcr_kubeconfig_current_context(kc), "one");
	assert_int_equal(hcr_kubeconfig_context_count(kc), 2);
	assert_int_equal(hcr_kubeconfig_resolve(&c, kc, NULL, &err), HCR_OK);
	assert_string_equal(c->server, "https://first");
	assert_string_equal(c->token, "first-token");
	hcr_kube_context_free(c);
	/* Each entry's relative paths start at its own file's directory. */
	assert_int_equal(hcr_kubeconfig_resolve(&c, kc, "two", &err), HCR_OK);
	assert_string_equal(c->server, "https://d");
	assert_string_equal(c->token, "second-token");
	hcr_kube_context_free(c);
	hcr_kubeconfig_free(kc);

	free(env);
	env = hcr_sprintf("%s/none1:%s/none2", dir, dir);
	setenv("KUBECONFIG", env, 1);
	assert_int_equal(hcr_kubeconfig_load_default(&kc, &err), HCR_ERROR);
	assert_contains(err.message, "no file of KUBECONFIG");
	if (old)
		setenv("KUBECONFIG", old, 1);
	else
		unsetenv("KUBECONFIG");
	free(old);
	free(env);
	free(sub);
}

/* ---- refusals ------------------------------------------------------------------------ */

struct bad_case {
	const char *name;
	const char *yaml;
	const char *context;
	int status;
	const char *message; /* substring, after "kubeconfig \"<dir>/config\"" */
	const char *hint;    /* substring or NULL */
};

#define CL  "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
#define CTX "contexts: [{name: k, context: {cluster: c, user: u}}]\ncurrent-context: k\n"

static const struct bad_case bad_cases[] = {
	{"not yaml", "users: [{name: u, user: {token: " TOKEN "}\n  : [\n", NULL, HCR_EINVALID,
	 " is not YAML", NULL},
	{"not a mapping", "- a\n- b\n", NULL, HCR_EINVALID, " is not a YAML mapping", NULL},
	{"clusters not a list", "clusters: {a: b}\n", NULL, HCR_EINVALID,
	 ": clusters is not a list", "kubectl config view"},
	{"entry without name", "users: [{user: {token: x}}]\n", NULL, HCR_EINVALID,
	 ": users[0] has no name", NULL},
	{"no current context", CL "contexts: [{name: k, context: {cluster: c}}]\n", NULL,
	 HCR_EINVALID, " has no current-context", "name one of its contexts: k"},
	{"missing context", CL CTX "users: [{name: u, user: {}}]\n", "prod", HCR_EINVALID,
	 ": context \"prod\" does not exist", "name one of its contexts: k"},
	{"missing cluster",
	 "contexts: [{name: k, context: {cluster: gone, user: u}}]\n"
	 "current-context: k\nusers: [{name: u, user: {}}]\n",
	 NULL, HCR_EINVALID, ": cluster \"gone\" of context \"k\" does not exist",
	 "add the cluster"},
	{"missing user", CL CTX, NULL, HCR_EINVALID, ": user \"u\" of context \"k\" does not exist",
	 NULL},
	{"context without cluster", "contexts: [{name: k, context: {user: u}}]\n", "k",
	 HCR_EINVALID, ": context \"k\" names no cluster", NULL},
	{"no server", "clusters: [{name: c, cluster: {}}]\n" CTX "users: [{name: u}]\n", NULL,
	 HCR_EINVALID, ": cluster \"c\" (context \"k\") has no server", "server"},
	{"server not http",
	 "clusters: [{name: c, cluster: {server: 'ftp://x'}}]\n" CTX "users: [{name: u}]\n", NULL,
	 HCR_EINVALID, ": cluster \"c\" (context \"k\") has a server that is not http(s)", NULL},
	{"unreadable CA file",
	 "clusters: [{name: c, cluster: {server: 'https://x', "
	 "certificate-authority: nope/ca.crt}}]\n" CTX "users: [{name: u}]\n",
	 NULL, HCR_ERROR, ": cannot read certificate-authority \"", "kubeconfig's directory"},
	{"bad base64 CA",
	 "clusters: [{name: c, cluster: {server: 'https://x', "
	 "certificate-authority-data: 'not base64!'}}]\n" CTX "users: [{name: u}]\n",
	 NULL, HCR_EINVALID,
	 ": cluster \"c\" (context \"k\") has a certificate-authority-data that is not valid "
	 "base64",
	 "base64 -w0"},
	{"CA not PEM",
	 "clusters: [{name: c, cluster: {server: 'https://x', "
	 "certificate-authority-data: 'aGVsbG8='}}]\n" CTX "users: [{name: u}]\n",
	 NULL, HCR_EINVALID,
	 ": cluster \"c\" (context \"k\") has a certificate-authority-data that is not PEM",
	 "openssl"},
	{"insecure and CA",
	 "clusters: [{name: c, cluster: {server: 'https://x', "
	 "insecure-skip-tls-verify: true, certificate-authority-data: " CA_B64 "}}]\n" CTX
	 "users: [{name: u}]\n",
	 NULL, HCR_EINVALID,
	 ": cluster \"c\" (context \"k\") has both a certificate authority and "
	 "insecure-skip-tls-verify",
	 "remove one"},
	{"not a boolean",
	 "clusters: [{name: c, cluster: {server: 'https://x', "
	 "insecure-skip-tls-verify: maybe}}]\n" CTX "users: [{name: u}]\n",
	 NULL, HCR_EINVALID, "value for insecure-skip-tls-verify that is neither true nor false",
	 NULL},
	{"cert not PEM",
	 CL CTX "users: [{name: u, user: {client-certificate-data: 'eA==', "
		"client-key-data: 'eA=='}}]\n",
	 NULL, HCR_EINVALID,
	 ": user \"u\" (context \"k\") has a client-certificate-data that is not PEM", NULL},
	{"bad base64 key",
	 CL CTX "users: [{name: u, user: {client-certificate-data: " CERT_B64
		", client-key-data: '" TOKEN "!'}}]\n",
	 NULL, HCR_EINVALID,
	 ": user \"u\" (context \"k\") has a client-key-data that is not valid base64", NULL},
	{"cert without key",
	 CL CTX "users: [{name: u, user: {client-certificate-data: " CERT_B64 "}}]\n", NULL,
	 HCR_EINVALID, ": user \"u\" (context \"k\") has a client certificate but no client key",
	 "client-key"},
	{"unreadable token file", CL CTX "users: [{name: u, user: {tokenFile: /nonexistent/t}}]\n",
	 NULL, HCR_ERROR,
	 ": cannot read tokenFile \"/nonexistent/t\" of user \"u\" (context \"k\")", NULL},
	{"auth provider",
	 CL CTX "users: [{name: u, user: {auth-provider: {name: gcp, config: "
		"{access-token: " TOKEN "}}}}]\n",
	 NULL, HCR_EINVALID,
	 ": user \"u\" (context \"k\") uses an auth-provider, which hcr does not support",
	 "gke-gcloud-auth-plugin"},
	{"token and basic",
	 CL CTX "users: [{name: u, user: {token: " TOKEN ", username: a, "
		"password: " PASSWORD "}}]\n",
	 NULL, HCR_EINVALID, ": user \"u\" (context \"k\") has more than one authentication method",
	 NULL},
	{"exec and token",
	 CL CTX "users: [{name: u, user: {token: " TOKEN ", exec: {apiVersion: "
		"client.authentication.k8s.io/v1, command: x}}}]\n",
	 NULL, HCR_EINVALID, ": user \"u\" (context \"k\") has more than one authentication method",
	 NULL},
	{"exec without command",
	 CL CTX "users: [{name: u, user: {exec: {apiVersion: "
		"client.authentication.k8s.io/v1}}}]\n",
	 NULL, HCR_EINVALID, ": user \"u\" (context \"k\") has an exec without a command", NULL},
	{"exec old apiVersion",
	 CL CTX "users: [{name: u, user: {exec: {apiVersion: "
		"client.authentication.k8s.io/v1alpha1, command: x}}}]\n",
	 NULL, HCR_EINVALID,
	 ": user \"u\" (context \"k\") has an exec apiVersion hcr does not support",
	 "client.authentication.k8s.io/v1"},
	{"exec env without name",
	 CL CTX "users: [{name: u, user: {exec: {apiVersion: "
		"client.authentication.k8s.io/v1, command: x, env: "
		"[{value: AKIASECRET}]}}}]\n",
	 NULL, HCR_EINVALID, ": user \"u\" (context \"k\") has an exec env entry without a name",
	 NULL},
};

static void test_kube_config__refusals(void **state)
{
	char *prefix = hcr_sprintf("kubeconfig \"%s/config\"", dir);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		hcr_kube_context *c = NULL;
		hcr_error err;
		int rc = resolve_text(&c, bc->yaml, bc->context, &err);

		if (rc != bc->status)
			fail_msg("%s: status %d, want %d (%s)", bc->name, rc, bc->status,
				 rc ? err.message : "ok");
		assert_null(c);
		if (strncmp(err.message, prefix, strlen(prefix)) != 0 &&
		    !strstr(err.message, prefix))
			fail_msg("%s: \"%s\" does not name the kubeconfig", bc->name, err.message);
		if (!strstr(err.message, bc->message))
			fail_msg("%s: \"%s\" lacks \"%s\"", bc->name, err.message, bc->message);
		if (bc->hint && !strstr(err.hint, bc->hint))
			fail_msg("%s: hint \"%s\" lacks \"%s\"", bc->name, err.hint, bc->hint);
		assert_no_secret(&err);
	}
	free(prefix);
}

static void test_kube_config__unreadable_file(void **state)
{
	hcr_kubeconfig *kc = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_kubeconfig_load(&kc, "/nonexistent/kubeconfig", &err), HCR_ERROR);
	assert_null(kc);
	assert_string_equal(err.message, "cannot read kubeconfig \"/nonexistent/kubeconfig\"");
	assert_string_equal(err.detail, "No such file or directory");
	assert_int_equal(hcr_kubeconfig_load(&kc, dir, &err), HCR_ERROR); /* a directory */
	assert_string_equal(err.detail, "Is a directory");
}

static void test_kube_config__yaml_details(void **state)
{
	const char *yaml = "a: [1, 2\nb: c\n";
	hcr_kubeconfig *kc = NULL;
	hcr_error err;
	char *bomb;

	(void)state;
	assert_int_equal(hcr_kubeconfig_parse(&kc, yaml, strlen(yaml), "x", NULL, &err),
			 HCR_EINVALID);
	assert_string_equal(err.message, "kubeconfig \"x\" is not YAML");
	assert_contains(err.detail, "line ");
	/* An alias bomb is refused, not expanded. */
	bomb = hcr_sprintf("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, "
			   "*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n");
	assert_int_equal(hcr_kubeconfig_parse(&kc, bomb, strlen(bomb), "x", NULL, &err),
			 HCR_EINVALID);
	assert_contains(err.message, "is not YAML hcr can read");
	free(bomb);
	/* An empty file is an empty kubeconfig. */
	assert_int_equal(hcr_kubeconfig_parse(&kc, "", 0, "empty", NULL, &err), HCR_OK);
	assert_int_equal(hcr_kubeconfig_context_count(kc), 0);
	hcr_kubeconfig_free(kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_config__token_and_current_context),
		cmocka_unit_test(test_kube_config__relative_files),
		cmocka_unit_test(test_kube_config__data_basic_anonymous),
		cmocka_unit_test(test_kube_config__exec),
		cmocka_unit_test(test_kube_config__exec_on_path),
		cmocka_unit_test(test_kube_config__listing_and_buffer),
		cmocka_unit_test(test_kube_config__kubeconfig_env_merge),
		cmocka_unit_test(test_kube_config__refusals),
		cmocka_unit_test(test_kube_config__unreadable_file),
		cmocka_unit_test(test_kube_config__yaml_details),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
