/*
 * The service-account side of GKE authentication: the RS256 JWT assertion
 * a key signs (RFC 7523, as Google's client libraries make it) and the token
 * endpoint's answer. Pure functions; the request itself is sent by the job
 * (gke_call.c), which also caches the token.
 *
 * The private key is only parsed here, into an OpenSSL key freed at once;
 * nothing here logs, and the caller wipes what it keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hcr/crypto.h"
#include "hcr/mem.h"
#include "hcr/provider_gke.h"

char *hcr_gke_b64url(const void *data, size_t len)
{
	char *s = hcr_crypto_base64_encode(data, len);
	size_t i, n = strlen(s);

	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return s;
}

static char *b64url_json(json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *out = hcr_gke_b64url(text, strlen(text));

	free(text);
	return out;
}

static int sign(unsigned char **sig, size_t *siglen, const char *pem, const char *input,
		hcr_error *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = HCR_EDENIED;

	*sig = NULL;
	if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
		hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
			      "the service-account key is not a PEM RSA private key");
		goto done;
	}
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto fail;
	*sig = hcr_malloc(*siglen);
	if (EVP_DigestSign(ctx, *sig, siglen, (const unsigned char *)input, strlen(input)) != 1)
		goto fail;
	rc = HCR_OK;
	goto done;
fail:
	free(*sig);
	*sig = NULL;
	hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
		      "the service-account key could not sign a token request");
done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

int hcr_gke_jwt(char **out, const char *email, const char *key_id, const char *pem, const char *aud,
		long long now, hcr_error *err)
{
	json_t *header, *claims;
	char *h64, *c64, *input, *s64;
	unsigned char *sig;
	size_t siglen = 0;
	int rc;

	*out = NULL;
	header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	if (key_id && *key_id)
		json_object_set_new(header, "kid", json_string(key_id));
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", email, "scope", HCR_GKE_SCOPE, "aud",
			   aud, "iat", (json_int_t)now, "exp",
			   (json_int_t)(now + HCR_GKE_TOKEN_SECONDS));
	if (!header || !claims) {
		json_decref(header);
		json_decref(claims);
		return hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
				     "the service-account key has no valid client_email");
	}
	h64 = b64url_json(header);
	c64 = b64url_json(claims);
	json_decref(header);
	json_decref(claims);
	input = hcr_sprintf("%s.%s", h64, c64);
	free(h64);
	free(c64);
	rc = sign(&sig, &siglen, pem, input, err);
	if (rc == HCR_OK) {
		s64 = hcr_gke_b64url(sig, siglen);
		*out = hcr_sprintf("%s.%s", input, s64);
		free(s64);
		free(sig);
	}
	free(input);
	return rc;
}

int hcr_gke_token_parse(char **token, long *expires_in, long http, const char *body, size_t len,
			hcr_error *err)
{
	json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
	const char *at = json_string_value(json_object_get(doc, "access_token"));
	const char *code = json_string_value(json_object_get(doc, "error"));
	const char *desc = json_string_value(json_object_get(doc, "error_description"));
	json_t *exp = json_object_get(doc, "expires_in");
	char snip[201];
	int rc;

	*token = NULL;
	*expires_in = 0;
	if (http >= 200 && http <= 299 && at && *at) {
		*token = hcr_strdup(at);
		*expires_in = json_is_integer(exp) ? (long)json_integer_value(exp) : 3600;
		if (*expires_in <= 0)
			*expires_in = 3600;
		json_decref(doc);
		return HCR_OK;
	}
	if (http == 429 || http >= 500 || (http >= 200 && http <= 299))
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "the Google token endpoint failed");
	else
		rc = hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
				   "the Google token endpoint refused the service-account key");
	if (code)
		hcr_error_detail(err, "%s: %s", code, desc ? desc : "");
	else
		hcr_error_detail(err, "HTTP %ld: %s", http,
				 hcr_gke_snippet(snip, sizeof(snip), body, len));
	if (rc == HCR_EDENIED)
		hcr_error_hint(err, "check that the key is current (IAM > Service accounts > Keys) "
				    "and that the clock of this host is right");
	json_decref(doc);
	return rc;
}
