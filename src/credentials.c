/*
 * Cloud credentials: what each provider needs, checked field by field so the
 * user hears which field is wrong; the secret part sealed with AES-256-GCM
 * bound to the credential's provider and name; non-secret identifiers kept
 * as metadata so operators can tell credentials apart without seeing secrets.
 */
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/credentials.h"
#include "hcr/json.h"
#include "hcr/mem.h"
#include "hcr/names.h"
#include "store_sql.h"

static const char *const top_keys[] = {"name", "provider", "description", "eks",
				       "aks",  "gke",      "fake",        NULL};

static bool all_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static int parse_eks(json_t *sec, json_t *meta, hcr_error *err)
{
	static const char *const keys[] = {"accessKeyId", "secretAccessKey", "sessionToken", NULL};
	const char *akid, *secret, *token;
	size_t n;
	char shown[32];

	if (hcr_json_only_keys(sec, keys, "eks.", err) ||
	    hcr_json_req_string(&akid, sec, "accessKeyId", "eks.accessKeyId", err) ||
	    hcr_json_req_string(&secret, sec, "secretAccessKey", "eks.secretAccessKey", err) ||
	    hcr_json_opt_string(&token, sec, "sessionToken", "eks.sessionToken", err))
		return HCR_EINVALID;
	n = strlen(akid);
	if (n < 16 || n > 128 || !all_chars(akid, "")) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"eks.accessKeyId\" is not an AWS access key id");
		hcr_error_hint(err, "an access key id is 16 to 128 letters and digits, such as "
				    "AKIAIOSFODNN7EXAMPLE");
		return HCR_EINVALID;
	}
	if (strlen(secret) < 16 || !all_chars(secret, "/+=")) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"eks.secretAccessKey\" is not an AWS secret access key");
		hcr_error_hint(err, "a secret access key is at least 16 characters of letters, "
				    "digits, '/', '+' and '='");
		return HCR_EINVALID;
	}
	/* Show only enough of the key id to recognise it. */
	snprintf(shown, sizeof(shown), "%.4s...%s", akid, akid + n - 4);
	json_object_set_new(meta, "accessKeyId", json_string(shown));
	json_object_set_new(meta, "temporary", json_boolean(token && *token));
	return HCR_OK;
}

/* The test provider: a bearer token for the fake cloud. */
static int parse_fake(json_t *sec, json_t *meta, hcr_error *err)
{
	static const char *const keys[] = {"token", NULL};
	const char *token;

	(void)meta;
	if (hcr_json_only_keys(sec, keys, "fake.", err) ||
	    hcr_json_req_string(&token, sec, "token", "fake.token", err))
		return HCR_EINVALID;
	return HCR_OK;
}

/* A GUID, or for tenants also a domain name such as contoso.onmicrosoft.com. */
static bool azure_id_valid(const char *s, bool domain_ok)
{
	if (hcr_uuid_valid(s))
		return true;
	return domain_ok && strchr(s, '.') && strlen(s) <= 253 && all_chars(s, ".-");
}

static int parse_aks(json_t *sec, json_t *meta, hcr_error *err)
{
	static const char *const keys[] = {"tenantId", "clientId", "clientSecret", "subscriptionId",
					   NULL};
	const char *tenant, *client, *secret, *sub;

	if (hcr_json_only_keys(sec, keys, "aks.", err) ||
	    hcr_json_req_string(&tenant, sec, "tenantId", "aks.tenantId", err) ||
	    hcr_json_req_string(&client, sec, "clientId", "aks.clientId", err) ||
	    hcr_json_req_string(&secret, sec, "clientSecret", "aks.clientSecret", err) ||
	    hcr_json_req_string(&sub, sec, "subscriptionId", "aks.subscriptionId", err))
		return HCR_EINVALID;
	if (!azure_id_valid(tenant, true))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"aks.tenantId\" must be a GUID or a domain name");
	if (!azure_id_valid(client, false))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"aks.clientId\" must be a GUID");
	if (!azure_id_valid(sub, false))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"aks.subscriptionId\" must be a GUID");
	json_object_set_new(meta, "tenantId", json_string(tenant));
	json_object_set_new(meta, "clientId", json_string(client));
	json_object_set_new(meta, "subscriptionId", json_string(sub));
	return HCR_OK;
}

/* Refuses to ask for a pass phrase: OpenSSL would otherwise prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static bool pem_private_key_ok(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	bool ok = pkey && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;

	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

/* http:// is accepted only for a loopback host (emulators in tests). */
static bool loopback_http(const char *url)
{
	static const char *const hosts[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
	size_t i, n;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		n = strlen(hosts[i]);
		if (strncmp(url, hosts[i], n) == 0 &&
		    (url[n] == ':' || url[n] == '/' || url[n] == '\0'))
			return true;
	}
	return false;
}

/*
 * The service-account key is kept whole (providers need token_uri and the
 * key); it may arrive as an object or as the key file's text in a string.
 */
static int parse_gke(json_t *sec, json_t *meta, json_t **secret_out, hcr_error *err)
{
	static const char *const keys[] = {"serviceAccountJson", NULL};
	json_t *sa = json_object_get(sec, "serviceAccountJson");
	const char *type, *email, *key, *token_uri, *project, *key_id;
	json_error_t jerr;

	*secret_out = NULL;
	if (hcr_json_only_keys(sec, keys, "gke.", err))
		return HCR_EINVALID;
	if (!sa || json_is_null(sa))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"gke.serviceAccountJson\" is required");
	if (json_is_string(sa)) {
		sa = json_loads(json_string_value(sa), JSON_REJECT_DUPLICATES, &jerr);
		if (!sa) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "field \"gke.serviceAccountJson\" is not valid JSON at line "
				      "%d, column %d",
				      jerr.line, jerr.column);
			hcr_error_detail(err, "%s", jerr.text);
			return HCR_EINVALID;
		}
	} else {
		json_incref(sa);
	}
	if (!json_is_object(sa)) {
		json_decref(sa);
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"gke.serviceAccountJson\" must be a service-account "
				     "key (a JSON object)");
	}
	if (hcr_json_req_string(&type, sa, "type", "gke.serviceAccountJson.type", err) ||
	    hcr_json_req_string(&email, sa, "client_email", "gke.serviceAccountJson.client_email",
				err) ||
	    hcr_json_req_string(&key, sa, "private_key", "gke.serviceAccountJson.private_key",
				err) ||
	    hcr_json_opt_string(&token_uri, sa, "token_uri", "gke.serviceAccountJson.token_uri",
				err) ||
	    hcr_json_opt_string(&project, sa, "project_id", "gke.serviceAccountJson.project_id",
				err) ||
	    hcr_json_opt_string(&key_id, sa, "private_key_id",
				"gke.serviceAccountJson.private_key_id", err))
		goto fail;
	if (strcmp(type, "service_account") != 0) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"gke.serviceAccountJson.type\" must be \"service_account\"");
		hcr_error_hint(err, "create a key for a service account (IAM > Service accounts > "
				    "Keys) and submit its JSON file");
		goto fail;
	}
	if (!pem_private_key_ok(key)) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"gke.serviceAccountJson.private_key\" is not a PEM RSA "
			      "private key");
		goto fail;
	}
	if (token_uri && strncmp(token_uri, "https://", 8) != 0 && !loopback_http(token_uri)) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"gke.serviceAccountJson.token_uri\" must be an https URL");
		goto fail;
	}
	json_object_set_new(meta, "clientEmail", json_string(email));
	if (project)
		json_object_set_new(meta, "projectId", json_string(project));
	if (key_id)
		json_object_set_new(meta, "privateKeyId", json_string(key_id));
	*secret_out = json_pack("{s:o}", "serviceAccountJson", sa);
	return HCR_OK;
fail:
	json_decref(sa);
	return HCR_EINVALID;
}

void hcr_credential_aad(char *out, size_t size, const char *provider, const char *name)
{
	snprintf(out, size, "credential:%s:%s", name, provider);
}

int hcr_credential_parse(hcr_credential_new *out, json_t *body, const hcr_master_key *key,
			 hcr_error *err)
{
	const char *name, *provider, *description;
	json_t *sec, *secret = NULL;
	char *plain = NULL, aad[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hcr_json_only_keys(body, top_keys, "", err)) ||
	    (rc = hcr_json_req_string(&name, body, "name", "name", err)) ||
	    (rc = hcr_name_check(name, "name", err)) ||
	    (rc = hcr_json_req_string(&provider, body, "provider", "provider", err)) ||
	    (rc = hcr_json_opt_string(&description, body, "description", "description", err)))
		goto done;
	if (strcmp(provider, "eks") != 0 && strcmp(provider, "aks") != 0 &&
	    strcmp(provider, "gke") != 0 && strcmp(provider, "fake") != 0) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"provider\" must be \"eks\", \"aks\" or \"gke\"");
		goto done;
	}
	sec = json_object_get(body, provider);
	if (!json_is_object(sec)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"%s\" is required and must be an object", provider);
		goto done;
	}
	if ((json_object_get(body, "eks") && strcmp(provider, "eks") != 0) ||
	    (json_object_get(body, "aks") && strcmp(provider, "aks") != 0) ||
	    (json_object_get(body, "gke") && strcmp(provider, "gke") != 0) ||
	    (json_object_get(body, "fake") && strcmp(provider, "fake") != 0)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "only the \"%s\" section may be given for provider \"%s\"",
				   provider, provider);
		goto done;
	}
	out->name = hcr_strdup(name);
	snprintf(out->provider, sizeof(out->provider), "%s", provider);
	out->metadata = json_object();
	if (description)
		json_object_set_new(out->metadata, "description", json_string(description));
	if (strcmp(provider, "eks") == 0) {
		rc = parse_eks(sec, out->metadata, err);
		secret = json_incref(sec);
	} else if (strcmp(provider, "aks") == 0) {
		rc = parse_aks(sec, out->metadata, err);
		secret = json_incref(sec);
	} else if (strcmp(provider, "fake") == 0) {
		rc = parse_fake(sec, out->metadata, err);
		secret = json_incref(sec);
	} else {
		rc = parse_gke(sec, out->metadata, &secret, err);
	}
	if (rc != HCR_OK)
		goto done;
	plain = json_dumps(secret, JSON_COMPACT);
	hcr_credential_aad(aad, sizeof(aad), out->provider, out->name);
	rc = hcr_crypto_seal(&out->sealed, &out->sealed_len, key, plain, strlen(plain), aad, err);
	memcpy(out->key_id, key->id, sizeof(out->key_id));
done:
	if (plain) {
		hcr_crypto_wipe(plain, strlen(plain));
		free(plain);
	}
	json_decref(secret);
	return rc;
}

void hcr_credential_new_free(hcr_credential_new *c)
{
	free(c->name);
	json_decref(c->metadata);
	free(c->sealed);
	memset(c, 0, sizeof(*c));
}

#define CRED_JSON                                                                     \
	"(jsonb_build_object('id', c.id, 'name', c.name, 'provider', c.provider, "    \
	"'keyId', c.key_id, 'createdBy', c.created_by, "                              \
	"'createdAt', " HCR_SQL_TS("c.created_at") ", 'updatedAt', " HCR_SQL_TS(      \
		"c.updated_at") ", "                                                  \
				"'clusters', (SELECT count(*) FROM clusters k WHERE " \
				"k.credential_id = c.id)) || c.metadata)"

int hcr_credentials_insert(PGconn *conn, const hcr_credential_new *c, const char *created_by,
			   json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	char *meta = hcr_json_dumps(c->metadata);
	char *hex = hcr_malloc(c->sealed_len * 2 + 3);
	const char *params[6];
	int rc;

	*out = NULL;
	hex[0] = '\\';
	hex[1] = 'x';
	hcr_crypto_hex(hex + 2, c->sealed, c->sealed_len);
	params[0] = c->name;
	params[1] = c->provider;
	params[2] = meta;
	params[3] = hex;
	params[4] = c->key_id;
	params[5] = created_by;
	rc = hcr_store_query(
		conn, &res,
		"WITH c AS (INSERT INTO credentials (name, provider, metadata, sealed, "
		"key_id, created_by) VALUES ($1, $2, $3::jsonb, $4::bytea, $5, $6) "
		"RETURNING *) SELECT " CRED_JSON " FROM c",
		6, params, err);
	if (rc == HCR_ECONFLICT) {
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
			      "credential \"%s\" already exists", c->name);
		hcr_error_hint(err, "choose another name, or delete the existing credential first");
	} else if (rc == HCR_OK) {
		*out = hcr_store_json_cell(res, 0, 0);
	}
	PQclear(res);
	free(meta);
	free(hex);
	return rc;
}

int hcr_credentials_list(PGconn *conn, json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	rc = hcr_store_query(conn, &res, "SELECT " CRED_JSON " FROM credentials c ORDER BY c.name",
			     0, NULL, err);
	if (rc != HCR_OK)
		return rc;
	*out = hcr_store_json_rows(res, 0, -1);
	PQclear(res);
	return HCR_OK;
}

static int not_found(hcr_error *err, const char *name)
{
	hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "credential \"%s\" does not exist",
		      name);
	hcr_error_hint(err, "list credentials with GET /v1/credentials");
	return HCR_ENOTFOUND;
}

int hcr_credentials_get(PGconn *conn, const char *name, json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {name};
	int rc;

	*out = NULL;
	rc = hcr_store_query(conn, &res,
			     "SELECT " CRED_JSON " FROM credentials c WHERE c.name = $1", 1, params,
			     err);
	if (rc == HCR_OK) {
		if (PQntuples(res) == 1)
			*out = hcr_store_json_cell(res, 0, 0);
		else
			rc = not_found(err, name);
	}
	PQclear(res);
	return rc;
}

int hcr_credentials_delete(PGconn *conn, const char *name, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {name};
	int rc;

	rc = hcr_store_query(conn, &res, "DELETE FROM credentials WHERE name = $1 RETURNING id", 1,
			     params, err);
	if (rc == HCR_ECONFLICT) {
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
			      "credential \"%s\" is used by registered clusters", name);
		hcr_error_hint(err, "delete those clusters first (DELETE /v1/clusters/{id})");
	} else if (rc == HCR_OK && PQntuples(res) == 0) {
		rc = not_found(err, name);
	}
	PQclear(res);
	return rc;
}

int hcr_credentials_open(PGconn *conn, const char *name, const hcr_master_key *key, json_t **out,
			 char provider[8], hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {name};
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	char aad[128];
	int rc;

	*out = NULL;
	rc = hcr_store_query(conn, &res,
			     "SELECT provider, sealed, key_id FROM credentials WHERE name = $1", 1,
			     params, err);
	if (rc != HCR_OK)
		goto done;
	if (PQntuples(res) != 1) {
		rc = not_found(err, name);
		goto done;
	}
	snprintf(provider, 8, "%s", PQgetvalue(res, 0, 0));
	if (strcmp(PQgetvalue(res, 0, 2), key->id) != 0) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "credential \"%s\" was sealed with another master key", name);
		hcr_error_detail(err, "sealed with key id %s, the current key id is %s",
				 PQgetvalue(res, 0, 2), key->id);
		hcr_error_hint(err, "start hcr with the master key this credential was stored "
				    "under, or submit the credential again");
		goto done;
	}
	{
		size_t n = 0;
		unsigned char *raw =
			PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &n);

		hcr_credential_aad(aad, sizeof(aad), provider, name);
		rc = raw ? hcr_crypto_open(&plain, &plain_len, key, raw, n, aad, err)
			 : hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
					 "cannot read sealed credential \"%s\"", name);
		PQfreemem(raw);
	}
	if (rc != HCR_OK)
		goto done;
	*out = json_loadb((const char *)plain, plain_len, 0, NULL);
	if (!*out)
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "credential \"%s\" decrypted to something that is not JSON",
				   name);
done:
	if (plain) {
		hcr_crypto_wipe(plain, plain_len);
		free(plain);
	}
	PQclear(res);
	return rc;
}
