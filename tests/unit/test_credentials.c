/*
 * Unit tests for src/credentials.c: what each provider's credential must
 * contain, the metadata shown to operators (never a secret), and against a
 * real PostgreSQL (tests/unit/pgtest.h) the sealed round trip, a wrong master
 * key, tampered or swapped rows, and deleting a credential still in use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hcr/credentials.h"
#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/json.h"
#include "hcr/mem.h"
#include "hcr/migrate.h"
#include "hcr/names.h"
#include "hcr/store.h"
#include "pgtest.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define AKID   "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN  "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
#define GUID1  "11111111-2222-3333-4444-555555555555"
#define GUID2  "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define AZSEC  "azure~client~secret~value"

static pgtest pgt;
static hcr_store *pool;
static PGconn *conn; /* borrowed from the pool for the whole run */
static hcr_master_key key, other_key;
static char *rsa_pem, *ec_pem, *encrypted_pem;

static void make_key(hcr_master_key *k, unsigned char first)
{
	char hex[65];
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < HCR_KEY_BYTES; i++)
		k->key[i] = (unsigned char)(first + i);
	hcr_crypto_sha256_hex(hex, k->key, sizeof(k->key));
	memcpy(k->id, hex, 16);
}

/* `pkey` as PEM (a new string); encrypted under "pass" when `cipher` is given. */
static char *to_pem(EVP_PKEY *pkey, const EVP_CIPHER *cipher)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	if (!bio || !pkey ||
	    PEM_write_bio_PrivateKey(bio, pkey, cipher, NULL, 0, NULL, cipher ? "pass" : NULL) != 1)
		return NULL;
	n = BIO_get_mem_data(bio, &data);
	pem = hcr_strndup(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

static int group_setup(void **state)
{
	EVP_PKEY *rsa, *ec;

	(void)state;
	make_key(&key, 0);
	make_key(&other_key, 100);
	rsa = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	rsa_pem = to_pem(rsa, NULL);
	ec_pem = to_pem(ec, NULL);
	encrypted_pem = to_pem(rsa, EVP_aes_256_cbc());
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	if (!rsa_pem || !ec_pem || !encrypted_pem) {
		fprintf(stderr, "could not make test keys\n");
		return -1;
	}

	return pgtest_start_store(&pgt, &pool, 1, &conn);
}

static int group_teardown(void **state)
{
	(void)state;
	pgtest_close_store(&pgt, &pool, &conn);
	free(rsa_pem);
	free(ec_pem);
	free(encrypted_pem);
	return 0;
}

static int fresh_tables(void **state)
{
	(void)state;
	return pgtest_exec(&pgt, "SET client_min_messages = warning;"
				 "TRUNCATE clusters, credentials CASCADE");
}

static json_t *doc(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

static const char *jstr(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field));
}

/* A well-formed GKE service-account key with `pem` as its private key (new). */
static json_t *service_account(const char *pem)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account", "project_id",
			 "my-project", "private_key_id", "0123abcd", "private_key", pem,
			 "client_email", "hcr@my-project.iam.gserviceaccount.com", "token_uri",
			 "https://oauth2.googleapis.com/token");
}

/* {"name", "provider": "gke", "gke": {"serviceAccountJson": sa}}, stealing sa. */
static json_t *gke_body(const char *name, json_t *sa)
{
	return json_pack("{s:s, s:s, s:{s:o}}", "name", name, "provider", "gke", "gke",
			 "serviceAccountJson", sa);
}

static json_t *eks_body(const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", name, "provider", "eks", "eks",
			 "accessKeyId", AKID, "secretAccessKey", SECRET);
}

/* Parses and inserts `body` (stolen) under `key`; fails the test if either fails. */
static void store_credential(json_t *body, const hcr_master_key *k)
{
	hcr_credential_new c;
	hcr_error err;
	json_t *out = NULL;
	int rc;

	rc = hcr_credential_parse(&c, body, k, &err);
	if (rc == HCR_OK)
		rc = hcr_credentials_insert(conn, &c, "token:tester", &out, &err);
	hcr_credential_new_free(&c);
	json_decref(body);
	json_decref(out);
	if (rc != HCR_OK)
		fail_msg("store credential: %s (%s)", err.message, err.detail);
}

#define sql_value(sql) test_sql_value(conn, (sql))

/* ---- parsing -------------------------------------------------------------------------- */

static void test_credentials__eks_metadata_shows_only_part_of_the_key_id(void **state)
{
	json_t *body =
		json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "name", "aws-prod", "provider",
			  "eks", "description", "prod account", "eks", "accessKeyId", AKID,
			  "secretAccessKey", SECRET, "sessionToken", TOKEN);
	hcr_credential_new c;
	hcr_error err;
	char *meta;

	(void)state;
	assert_int_equal(hcr_credential_parse(&c, body, &key, &err), HCR_OK);
	assert_string_equal(c.name, "aws-prod");
	assert_string_equal(c.provider, "eks");
	assert_string_equal(c.key_id, key.id);
	assert_string_equal(jstr(c.metadata, "accessKeyId"), "AKIA...MPLE");
	assert_string_equal(jstr(c.metadata, "description"), "prod account");
	assert_true(json_is_true(json_object_get(c.metadata, "temporary")));
	meta = hcr_json_dumps(c.metadata);
	assert_null(strstr(meta, SECRET));
	assert_null(strstr(meta, TOKEN));
	assert_null(strstr(meta, AKID));
	free(meta);
	/* Sealed: nonce, then the ciphertext, then the tag; never the text itself. */
	assert_non_null(c.sealed);
	assert_true(c.sealed_len > HCR_NONCE_BYTES + HCR_TAG_BYTES + strlen(SECRET));
	assert_null(memmem(c.sealed, c.sealed_len, SECRET, strlen(SECRET)));
	hcr_credential_new_free(&c);
	json_decref(body);

	/* Without a session token the key is not temporary. */
	body = eks_body("aws");
	assert_int_equal(hcr_credential_parse(&c, body, &key, &err), HCR_OK);
	assert_true(json_is_false(json_object_get(c.metadata, "temporary")));
	assert_null(json_object_get(c.metadata, "description"));
	hcr_credential_new_free(&c);
	json_decref(body);
}

static void test_credentials__aks_metadata(void **state)
{
	json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "name", "azure", "provider",
				 "aks", "aks", "tenantId", "contoso.onmicrosoft.com", "clientId",
				 GUID1, "clientSecret", AZSEC, "subscriptionId", GUID2);
	hcr_credential_new c;
	hcr_error err;
	char *meta;

	(void)state;
	assert_int_equal(hcr_credential_parse(&c, body, &key, &err), HCR_OK);
	assert_string_equal(c.provider, "aks");
	assert_string_equal(jstr(c.metadata, "tenantId"), "contoso.onmicrosoft.com");
	assert_string_equal(jstr(c.metadata, "clientId"), GUID1);
	assert_string_equal(jstr(c.metadata, "subscriptionId"), GUID2);
	meta = hcr_json_dumps(c.metadata);
	assert_null(strstr(meta, AZSEC));
	free(meta);
	hcr_credential_new_free(&c);
	json_decref(body);
}

static void test_credentials__gke_key_as_object_or_text(void **state)
{
	json_t *sa = service_account(rsa_pem);
	char *text = hcr_json_dumps(sa);
	json_t *bodies[2];
	int i;

	(void)state;
	bodies[0] = gke_body("gcp", sa);
	bodies[1] = json_pack("{s:s, s:s, s:{s:s}}", "name", "gcp", "provider", "gke", "gke",
			      "serviceAccountJson", text);
	for (i = 0; i < 2; i++) {
		hcr_credential_new c;
		hcr_error err;
		char *meta;

		if (hcr_credential_parse(&c, bodies[i], &key, &err) != HCR_OK)
			fail_msg("form %d: %s", i, err.message);
		assert_string_equal(c.provider, "gke");
		assert_string_equal(jstr(c.metadata, "clientEmail"),
				    "hcr@my-project.iam.gserviceaccount.com");
		assert_string_equal(jstr(c.metadata, "projectId"), "my-project");
		assert_string_equal(jstr(c.metadata, "privateKeyId"), "0123abcd");
		meta = hcr_json_dumps(c.metadata);
		assert_null(strstr(meta, "PRIVATE KEY"));
		free(meta);
		hcr_credential_new_free(&c);
		json_decref(bodies[i]);
	}
	free(text);
}

static void test_credentials__parse_refuses_with_the_field_named(void **state)
{
	static const struct {
		const char *body;
		const char *message;
	} cases[] = {
		{"{\"provider\": \"eks\", \"eks\": {}}", "field \"name\" is required"},
		{"{\"name\": \"AWS\", \"provider\": \"eks\", \"eks\": {}}",
		 "field \"name\" is not a valid name"},
		{"{\"name\": \"a\", \"eks\": {}}", "field \"provider\" is required"},
		{"{\"name\": \"a\", \"provider\": \"oci\", \"oci\": {}}", "unknown field \"oci\""},
		{"{\"name\": \"a\", \"provider\": \"oci\"}",
		 "field \"provider\" must be \"eks\", \"aks\" or \"gke\""},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"secret\": \"x\"}",
		 "unknown field \"secret\""},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"description\": 3, \"eks\": {}}",
		 "field \"description\" must be a string"},
		{"{\"name\": \"a\", \"provider\": \"eks\"}",
		 "field \"eks\" is required and must be an object"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": \"" AKID "\"}",
		 "field \"eks\" is required and must be an object"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\", \"secretAccessKey\": \"" SECRET "\"}, \"aks\": {}}",
		 "only the \"eks\" section may be given for provider \"eks\""},
		/* eks */
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"secretAccessKey\": \"" SECRET
		 "\"}}",
		 "field \"eks.accessKeyId\" is required"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\"}}",
		 "field \"eks.secretAccessKey\" is required"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\", \"secretAccessKey\": \"" SECRET "\", \"region\": \"eu-west-1\"}}",
		 "unknown field \"eks.region\""},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"AKIA123\", "
		 "\"secretAccessKey\": \"" SECRET "\"}}",
		 "field \"eks.accessKeyId\" is not an AWS access key id"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": "
		 "\"AKIA-IOSFODNN7EXAMPLE\", \"secretAccessKey\": \"" SECRET "\"}}",
		 "field \"eks.accessKeyId\" is not an AWS access key id"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\", \"secretAccessKey\": \"short\"}}",
		 "field \"eks.secretAccessKey\" is not an AWS secret access key"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\", \"secretAccessKey\": \"has spaces in the secret key\"}}",
		 "field \"eks.secretAccessKey\" is not an AWS secret access key"},
		{"{\"name\": \"a\", \"provider\": \"eks\", \"eks\": {\"accessKeyId\": \"" AKID
		 "\", \"secretAccessKey\": \"" SECRET "\", \"sessionToken\": 1}}",
		 "field \"eks.sessionToken\" must be a string"},
		/* aks */
		{"{\"name\": \"a\", \"provider\": \"aks\", \"aks\": {\"tenantId\": \"" GUID1
		 "\", \"clientId\": \"" GUID1 "\", \"clientSecret\": \"s\"}}",
		 "field \"aks.subscriptionId\" is required"},
		{"{\"name\": \"a\", \"provider\": \"aks\", \"aks\": {\"tenantId\": \"contoso\", "
		 "\"clientId\": \"" GUID1
		 "\", \"clientSecret\": \"s\", \"subscriptionId\": \"" GUID2 "\"}}",
		 "field \"aks.tenantId\" must be a GUID or a domain name"},
		{"{\"name\": \"a\", \"provider\": \"aks\", \"aks\": {\"tenantId\": \"" GUID1 "\", "
		 "\"clientId\": \"app.example.com\", \"clientSecret\": \"s\", \"subscriptionId\": "
		 "\"" GUID2 "\"}}",
		 "field \"aks.clientId\" must be a GUID"},
		{"{\"name\": \"a\", \"provider\": \"aks\", \"aks\": {\"tenantId\": \"" GUID1 "\", "
		 "\"clientId\": \"" GUID1 "\", \"clientSecret\": \"s\", \"subscriptionId\": "
		 "\"sub-1\"}}",
		 "field \"aks.subscriptionId\" must be a GUID"},
		{"{\"name\": \"a\", \"provider\": \"aks\", \"aks\": {\"tenantId\": \"" GUID1 "\", "
		 "\"clientId\": \"" GUID1
		 "\", \"clientSecret\": \"s\", \"subscriptionId\": \"" GUID2
		 "\", \"region\": \"x\"}}",
		 "unknown field \"aks.region\""},
		/* gke, shapes that need no key */
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {}}",
		 "field \"gke.serviceAccountJson\" is required"},
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {\"serviceAccountJson\": "
		 "null}}",
		 "field \"gke.serviceAccountJson\" is required"},
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {\"serviceAccountJson\": "
		 "\"{\\\"type\\\": \"}}",
		 "field \"gke.serviceAccountJson\" is not valid JSON at line 1, column 9"},
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {\"serviceAccountJson\": [1]}}",
		 "field \"gke.serviceAccountJson\" must be a service-account key (a JSON object)"},
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {\"serviceAccountJson\": {}, "
		 "\"project\": \"p\"}}",
		 "unknown field \"gke.project\""},
		{"{\"name\": \"a\", \"provider\": \"gke\", \"gke\": {\"serviceAccountJson\": {}}}",
		 "field \"gke.serviceAccountJson.type\" is required"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *body = doc(cases[i].body);
		hcr_credential_new c;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_credential_parse(&c, body, &key, &err);
		hcr_credential_new_free(&c);
		json_decref(body);
		if (rc != HCR_EINVALID || strcmp(err.code, "invalid") != 0 ||
		    strcmp(err.message, cases[i].message) != 0)
			fail_msg("case %zu %s: got %d %s \"%s\", want \"%s\"", i, cases[i].body, rc,
				 err.code, err.message, cases[i].message);
		/* A secret never appears in an error. */
		if (strstr(err.message, SECRET) || strstr(err.detail, SECRET))
			fail_msg("case %zu: the secret is in the error", i);
	}
}

static void test_credentials__gke_key_must_be_an_rsa_service_account(void **state)
{
	static const struct {
		const char *field;
		const char *value; /* NULL: remove the field */
		const char *message;
	} cases[] = {
		{"type", "authorized_user",
		 "field \"gke.serviceAccountJson.type\" must be \"service_account\""},
		{"client_email", NULL, "field \"gke.serviceAccountJson.client_email\" is required"},
		{"private_key", NULL, "field \"gke.serviceAccountJson.private_key\" is required"},
		{"private_key", "not a key",
		 "field \"gke.serviceAccountJson.private_key\" is not a PEM RSA private key"},
		{"private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		 "field \"gke.serviceAccountJson.private_key\" is not a PEM RSA private key"},
		{"token_uri", "http://oauth2.example.com/token",
		 "field \"gke.serviceAccountJson.token_uri\" must be an https URL"},
		{"token_uri", "ftp://oauth2.googleapis.com/token",
		 "field \"gke.serviceAccountJson.token_uri\" must be an https URL"},
		/* Only a loopback host may be plain http, not a name that starts like one. */
		{"token_uri", "http://localhost.example.com/token",
		 "field \"gke.serviceAccountJson.token_uri\" must be an https URL"},
		{"token_uri", "http://127.0.0.1.nip.io/token",
		 "field \"gke.serviceAccountJson.token_uri\" must be an https URL"},
		{"token_uri", "http://[::1]:8080/token", NULL},
		/* Local test servers are allowed. */
		{"token_uri", "http://127.0.0.1:8080/token", NULL},
		{"token_uri", "http://localhost:9000/token", NULL},
		{"token_uri", NULL, NULL},
		{"project_id", NULL, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *sa = service_account(rsa_pem), *body;
		hcr_credential_new c;
		hcr_error err;
		int rc;

		if (cases[i].value)
			json_object_set_new(sa, cases[i].field, json_string(cases[i].value));
		else
			json_object_del(sa, cases[i].field);
		body = gke_body("gcp", sa);
		hcr_error_clear(&err);
		rc = hcr_credential_parse(&c, body, &key, &err);
		if (cases[i].message ? rc != HCR_EINVALID || strcmp(err.message, cases[i].message)
				     : rc != HCR_OK)
			fail_msg("case %zu (%s): got %d \"%s\"", i, cases[i].field, rc,
				 err.message);
		if (rc == HCR_OK && strcmp(cases[i].field, "project_id") == 0)
			assert_null(json_object_get(c.metadata, "projectId"));
		hcr_credential_new_free(&c);
		json_decref(body);
	}

	/* A valid PEM key, but not RSA. */
	{
		json_t *body = gke_body("gcp", service_account(ec_pem));
		hcr_credential_new c;
		hcr_error err;

		assert_int_equal(hcr_credential_parse(&c, body, &key, &err), HCR_EINVALID);
		assert_string_equal(err.message, "field \"gke.serviceAccountJson.private_key\" is "
						 "not a PEM RSA private key");
		hcr_credential_new_free(&c);
		json_decref(body);
	}
}

/*
 * A pass-phrase protected key must be refused at once: checking it must not
 * ask for a pass phrase (on the terminal when there is one, blocking the
 * request; on stderr otherwise, breaking the log). Run in a child without a
 * controlling terminal so that this test cannot hang.
 */
static void test_credentials__encrypted_gke_key_is_refused_without_a_prompt(void **state)
{
	FILE *errf = tmpfile();
	char captured[512] = "";
	int status = 0;
	size_t n;
	pid_t pid;

	(void)state;
	assert_non_null(errf);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		json_t *body = gke_body("gcp", service_account(encrypted_pem));
		hcr_credential_new c;
		hcr_error err;
		int devnull = open("/dev/null", O_RDONLY), rc, ok;

		setsid();
		alarm(10);
		dup2(devnull, STDIN_FILENO);
		dup2(fileno(errf), STDERR_FILENO);
		rc = hcr_credential_parse(&c, body, &key, &err);
		ok = rc == HCR_EINVALID &&
		     strncmp(err.message, "field \"gke.serviceAccountJson.private_key\"", 42) == 0;
		hcr_credential_new_free(&c);
		json_decref(body);
		fflush(stderr);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rewind(errf);
	n = fread(captured, 1, sizeof(captured) - 1, errf);
	captured[n] = '\0';
	fclose(errf);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the encrypted key was not refused (status %d)", status);
	if (n > 0)
		fail_msg("checking the key wrote to stderr: \"%s\"", captured);
}

/* ---- the table ------------------------------------------------------------------------ */

static void test_credentials__seal_insert_open_round_trip(void **state)
{
	static const char *const names[] = {"aws", "azure", "gcp"};
	json_t *submitted[3], *out = NULL;
	hcr_error err;
	size_t i;

	(void)state;
	submitted[0] = eks_body("aws");
	submitted[1] = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "name", "azure", "provider",
				 "aks", "aks", "tenantId", GUID1, "clientId", GUID1, "clientSecret",
				 AZSEC, "subscriptionId", GUID2);
	{
		/* GKE as the key file's text: it opens as an object. */
		json_t *sa = service_account(rsa_pem);
		char *text = hcr_json_dumps(sa);

		submitted[2] = json_pack("{s:s, s:s, s:{s:s}}", "name", "gcp", "provider", "gke",
					 "gke", "serviceAccountJson", text);
		free(text);
		json_decref(sa);
	}
	for (i = 0; i < 3; i++) {
		hcr_credential_new c;

		assert_int_equal(hcr_credential_parse(&c, submitted[i], &key, &err), HCR_OK);
		assert_int_equal(hcr_credentials_insert(conn, &c, "token:tester", &out, &err),
				 HCR_OK);
		assert_string_equal(jstr(out, "name"), names[i]);
		assert_string_equal(jstr(out, "provider"), c.provider);
		assert_string_equal(jstr(out, "keyId"), key.id);
		assert_string_equal(jstr(out, "createdBy"), "token:tester");
		assert_int_equal(json_integer_value(json_object_get(out, "clusters")), 0);
		assert_true(hcr_uuid_valid(jstr(out, "id")));
		json_decref(out);
		hcr_credential_new_free(&c);
	}

	for (i = 0; i < 3; i++) {
		char provider[8] = "";
		json_t *want;

		assert_int_equal(hcr_credentials_open(conn, names[i], &key, &out, provider, &err),
				 HCR_OK);
		assert_string_equal(provider, jstr(submitted[i], "provider"));
		want = json_object_get(submitted[i], provider);
		if (i == 2) {
			json_t *sa = service_account(rsa_pem);

			assert_true(json_equal(json_object_get(out, "serviceAccountJson"), sa));
			assert_int_equal(json_object_size(out), 1);
			json_decref(sa);
		} else if (!json_equal(out, want)) {
			fail_msg("%s opened to something else", names[i]);
		}
		json_decref(out);
	}
	for (i = 0; i < 3; i++)
		json_decref(submitted[i]);

	/* Open of a credential that does not exist. */
	{
		char provider[8];

		assert_int_equal(hcr_credentials_open(conn, "nope", &key, &out, provider, &err),
				 HCR_ENOTFOUND);
		assert_null(out);
		assert_string_equal(err.message, "credential \"nope\" does not exist");
	}
}

static void test_credentials__rows_never_hold_the_secret(void **state)
{
	char secret_hex[2 * sizeof(SECRET) + 1], *rows;

	(void)state;
	store_credential(json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name", "aws", "provider",
				   "eks", "eks", "accessKeyId", AKID, "secretAccessKey", SECRET,
				   "sessionToken", TOKEN),
			 &key);
	store_credential(json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "name", "azure",
				   "provider", "aks", "aks", "tenantId", GUID1, "clientId", GUID1,
				   "clientSecret", AZSEC, "subscriptionId", GUID2),
			 &key);
	store_credential(gke_body("gcp", service_account(rsa_pem)), &key);
	rows = sql_value("SELECT string_agg(c::text, E'\\n') FROM credentials c");
	hcr_crypto_hex(secret_hex, SECRET, strlen(SECRET));
	assert_non_null(strstr(rows, "AKIA...MPLE"));
	assert_null(strstr(rows, SECRET));
	assert_null(strstr(rows, secret_hex));
	assert_null(strstr(rows, TOKEN));
	assert_null(strstr(rows, AKID));
	assert_null(strstr(rows, AZSEC));
	assert_null(strstr(rows, "PRIVATE KEY"));
	free(rows);

	/* Nor does what the API shows. */
	{
		json_t *list = NULL;
		hcr_error err;
		char *text;

		assert_int_equal(hcr_credentials_list(conn, &list, &err), HCR_OK);
		assert_int_equal(json_array_size(list), 3);
		assert_string_equal(jstr(json_array_get(list, 0), "name"), "aws");
		assert_string_equal(jstr(json_array_get(list, 1), "name"), "azure");
		assert_string_equal(jstr(json_array_get(list, 2), "name"), "gcp");
		assert_string_equal(jstr(json_array_get(list, 2), "projectId"), "my-project");
		text = hcr_json_dumps(list);
		assert_null(strstr(text, SECRET));
		assert_null(strstr(text, TOKEN));
		assert_null(strstr(text, AZSEC));
		assert_null(strstr(text, "PRIVATE KEY"));
		assert_null(strstr(text, "sealed"));
		free(text);
		json_decref(list);
	}
}

static void test_credentials__insert_get_and_duplicates(void **state)
{
	hcr_credential_new c;
	json_t *body = eks_body("aws"), *out = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_credential_parse(&c, body, &key, &err), HCR_OK);
	assert_int_equal(hcr_credentials_insert(conn, &c, "t", &out, &err), HCR_OK);
	json_decref(out);
	assert_int_equal(hcr_credentials_insert(conn, &c, "t", &out, &err), HCR_ECONFLICT);
	assert_null(out);
	assert_string_equal(err.code, "conflict");
	assert_string_equal(err.message, "credential \"aws\" already exists");
	hcr_credential_new_free(&c);
	json_decref(body);

	assert_int_equal(hcr_credentials_get(conn, "aws", &out, &err), HCR_OK);
	assert_string_equal(jstr(out, "name"), "aws");
	assert_string_equal(jstr(out, "accessKeyId"), "AKIA...MPLE");
	json_decref(out);
	assert_int_equal(hcr_credentials_get(conn, "nope", &out, &err), HCR_ENOTFOUND);
	assert_null(out);
	assert_string_equal(err.code, "not_found");
	assert_string_equal(err.message, "credential \"nope\" does not exist");
}

static void test_credentials__open_with_another_master_key_fails(void **state)
{
	char provider[8];
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	store_credential(eks_body("aws"), &key);
	assert_int_equal(hcr_credentials_open(conn, "aws", &other_key, &out, provider, &err),
			 HCR_ERROR);
	assert_null(out);
	assert_string_equal(err.message, "credential \"aws\" was sealed with another master key");
	assert_non_null(strstr(err.detail, key.id));
	assert_non_null(strstr(err.detail, other_key.id));
	/* The right key still opens it. */
	assert_int_equal(hcr_credentials_open(conn, "aws", &key, &out, provider, &err), HCR_OK);
	json_decref(out);
}

static void test_credentials__tampered_row_does_not_open(void **state)
{
	char provider[8];
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	store_credential(eks_body("aws"), &key);
	/* One bit of the ciphertext flipped. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE credentials SET sealed = "
					   "set_byte(sealed, 20, get_byte(sealed, 20) # 1) "
					   "WHERE name = 'aws'"),
			 0);
	assert_int_equal(hcr_credentials_open(conn, "aws", &key, &out, provider, &err), HCR_ERROR);
	assert_null(out);
	assert_string_equal(err.message, "secret cannot be decrypted");

	/* Cut short. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE credentials SET sealed = '\\x0102' "
					   "WHERE name = 'aws'"),
			 0);
	assert_int_equal(hcr_credentials_open(conn, "aws", &key, &out, provider, &err), HCR_ERROR);
	assert_null(out);
}

static void test_credentials__sealed_secret_is_bound_to_its_row(void **state)
{
	char provider[8];
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	store_credential(eks_body("a"), &key);
	store_credential(json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", "b", "provider", "eks",
				   "eks", "accessKeyId", "AKIAOTHEROTHEROTHER1", "secretAccessKey",
				   "another/secret+access=key0000"),
			 &key);
	/* b's row with a's secret. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE credentials SET sealed = "
					   "(SELECT sealed FROM credentials WHERE name = 'a') "
					   "WHERE name = 'b'"),
			 0);
	assert_int_equal(hcr_credentials_open(conn, "b", &key, &out, provider, &err), HCR_ERROR);
	assert_null(out);
	assert_int_equal(hcr_credentials_open(conn, "a", &key, &out, provider, &err), HCR_OK);
	json_decref(out);

	/* A renamed row, or one moved to another provider, does not open either. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE credentials SET name = 'c' WHERE name = 'a'"),
			 0);
	assert_int_equal(hcr_credentials_open(conn, "c", &key, &out, provider, &err), HCR_ERROR);
	assert_null(out);
	assert_int_equal(pgtest_exec(&pgt, "UPDATE credentials SET name = 'a', provider = 'aks' "
					   "WHERE name = 'c'"),
			 0);
	assert_int_equal(hcr_credentials_open(conn, "a", &key, &out, provider, &err), HCR_ERROR);
	assert_null(out);
}

static void test_credentials__delete_refused_while_a_cluster_uses_it(void **state)
{
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	store_credential(eks_body("aws"), &key);
	assert_int_equal(pgtest_exec(&pgt, "INSERT INTO clusters (name, provider, imported, "
					   "cloud_name, region, credential_id, state, created_by) "
					   "SELECT 'prod', 'eks', true, 'prod', 'eu-west-1', id, "
					   "'registered', 't' FROM credentials WHERE name = 'aws'"),
			 0);
	assert_int_equal(hcr_credentials_get(conn, "aws", &out, &err), HCR_OK);
	assert_int_equal(json_integer_value(json_object_get(out, "clusters")), 1);
	json_decref(out);

	assert_int_equal(hcr_credentials_delete(conn, "aws", &err), HCR_ECONFLICT);
	assert_string_equal(err.code, "conflict");
	assert_string_equal(err.message, "credential \"aws\" is used by registered clusters");
	assert_int_equal(hcr_credentials_get(conn, "aws", &out, &err), HCR_OK);
	json_decref(out);

	assert_int_equal(pgtest_exec(&pgt, "DELETE FROM clusters"), 0);
	assert_int_equal(hcr_credentials_delete(conn, "aws", &err), HCR_OK);
	assert_int_equal(hcr_credentials_get(conn, "aws", &out, &err), HCR_ENOTFOUND);
	assert_int_equal(hcr_credentials_delete(conn, "aws", &err), HCR_ENOTFOUND);
	assert_string_equal(err.message, "credential \"aws\" does not exist");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credentials__eks_metadata_shows_only_part_of_the_key_id),
		cmocka_unit_test(test_credentials__aks_metadata),
		cmocka_unit_test(test_credentials__gke_key_as_object_or_text),
		cmocka_unit_test(test_credentials__parse_refuses_with_the_field_named),
		cmocka_unit_test(test_credentials__gke_key_must_be_an_rsa_service_account),
		cmocka_unit_test(test_credentials__encrypted_gke_key_is_refused_without_a_prompt),
		cmocka_unit_test_setup(test_credentials__seal_insert_open_round_trip, fresh_tables),
		cmocka_unit_test_setup(test_credentials__rows_never_hold_the_secret, fresh_tables),
		cmocka_unit_test_setup(test_credentials__insert_get_and_duplicates, fresh_tables),
		cmocka_unit_test_setup(test_credentials__open_with_another_master_key_fails,
				       fresh_tables),
		cmocka_unit_test_setup(test_credentials__tampered_row_does_not_open, fresh_tables),
		cmocka_unit_test_setup(test_credentials__sealed_secret_is_bound_to_its_row,
				       fresh_tables),
		cmocka_unit_test_setup(test_credentials__delete_refused_while_a_cluster_uses_it,
				       fresh_tables),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
