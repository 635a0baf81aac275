/*
 * AWS Signature Version 4 for EKS requests, on OpenSSL.
 *
 * The reference is botocore's SigV4Auth, not only AWS's prose: where the two
 * could be read differently (dot segments, empty query, header value
 * whitespace, sort order of repeated query keys) this file does what botocore
 * does, and tests/unit/test_sigv4.c holds signatures botocore computed.
 * The derived keys are wiped before returning; nothing here logs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/mem.h"
#include "hcr/sigv4.h"

#define SHA256_LEN 32

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static void uri_encode_n(hcr_buf *b, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			hcr_buf_append(b, &s[i], 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 0xf];
		hcr_buf_append(b, esc, 3);
	}
}

char *hcr_sigv4_uri_encode(const char *s, int keep_slash)
{
	hcr_buf b = {0};

	hcr_buf_puts(&b, ""); /* so that an empty input still gives a string */
	uri_encode_n(&b, s ? s : "", s ? strlen(s) : 0, keep_slash);
	return b.data;
}

/*
 * botocore's remove_dot_segments: empty and "." segments go, ".." removes the
 * previous one, a leading '/' is kept, a trailing '/' is kept unless nothing
 * is left; an empty path is "/". The result is then encoded again (keeping
 * '/'), which is EKS's double encoding: "%3A" becomes "%253A".
 */
static void canonical_uri(hcr_buf *b, const char *path)
{
	const char **segs = NULL;
	size_t *lens = NULL, nseg = 0, i, plen;
	const char *p;

	if (!path || !*path) {
		hcr_buf_puts(b, "/");
		return;
	}
	plen = strlen(path);
	segs = hcr_calloc(plen + 1, sizeof(*segs));
	lens = hcr_calloc(plen + 1, sizeof(*lens));
	for (p = path;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			segs[nseg] = p;
			lens[nseg] = n;
			nseg++;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (path[0] == '/')
		hcr_buf_puts(b, "/");
	for (i = 0; i < nseg; i++) {
		if (i > 0)
			hcr_buf_puts(b, "/");
		uri_encode_n(b, segs[i], lens[i], 0);
	}
	if (path[plen - 1] == '/' && nseg > 0)
		hcr_buf_puts(b, "/");
	free(segs);
	free(lens);
}

typedef struct enc_param {
	char *key;
	char *value;
} enc_param;

static int enc_param_cmp(const void *a, const void *b)
{
	const enc_param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* Encoded key=value pairs sorted by encoded key, then encoded value, joined by '&'. */
static char *canonical_query(const hcr_sigv4_param *query, size_t nquery)
{
	enc_param *ps = NULL;
	hcr_buf b = {0};
	size_t i;

	hcr_buf_puts(&b, "");
	if (nquery == 0)
		return b.data;
	ps = hcr_calloc(nquery, sizeof(*ps));
	for (i = 0; i < nquery; i++) {
		ps[i].key = hcr_sigv4_uri_encode(query[i].key, 0);
		ps[i].value = hcr_sigv4_uri_encode(query[i].value, 0);
	}
	qsort(ps, nquery, sizeof(*ps), enc_param_cmp);
	for (i = 0; i < nquery; i++) {
		hcr_buf_printf(&b, "%s%s=%s", i ? "&" : "", ps[i].key, ps[i].value);
		free(ps[i].key);
		free(ps[i].value);
	}
	free(ps);
	return b.data;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "name:value\n" with the value trimmed and inner whitespace runs made one space. */
static void canonical_header(hcr_buf *b, const char *name, const char *value)
{
	const char *p = value;
	int first = 1;

	hcr_buf_printf(b, "%s:", name);
	while (*p) {
		const char *start;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && !is_space(*p))
			p++;
		if (!first)
			hcr_buf_puts(b, " ");
		hcr_buf_append(b, start, (size_t)(p - start));
		first = 0;
	}
	hcr_buf_puts(b, "\n");
}

static int has_control(const char *s)
{
	for (; s && *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	}
	return 0;
}

static int empty(const char *s)
{
	return !s || !*s;
}

static int check_input(const hcr_sigv4_req *req, const hcr_sigv4_creds *creds, const char *region,
		       const char *service, hcr_error *err)
{
	if (!req || !creds)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: no request to sign");
	if (empty(req->method) || empty(req->host))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: request has no method or host");
	if (empty(creds->access_key_id) || empty(creds->secret_access_key))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: credentials have no access key id or secret");
	if (empty(region) || empty(service))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: region and service are required");
	if (req->body_len > 0 && !req->body)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: body length without a body");
	if (req->nquery > 0 && !req->query)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: query count without parameters");
	/* Control characters would let a value forge extra canonical lines or headers. */
	if (has_control(req->method) || has_control(req->host) || has_control(req->path) ||
	    has_control(req->content_type) || has_control(creds->session_token) ||
	    has_control(creds->access_key_id) || has_control(region) || has_control(service))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: request contains a control character");
	return HCR_OK;
}

static int hmac(unsigned char out[SHA256_LEN], const void *key, size_t key_len, const char *msg)
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
		  &len) ||
	    len != SHA256_LEN)
		return -1;
	return 0;
}

/* kDate, kRegion, kService, kSigning, then the hex signature of `sts`. */
static int signature(char hex[2 * SHA256_LEN + 1], const char *secret, const char *date,
		     const char *region, const char *service, const char *sts)
{
	unsigned char k[SHA256_LEN];
	char *seed = hcr_sprintf("AWS4%s", secret);
	int rc = -1;

	if (hmac(k, seed, strlen(seed), date) || hmac(k, k, sizeof(k), region) ||
	    hmac(k, k, sizeof(k), service) || hmac(k, k, sizeof(k), "aws4_request") ||
	    hmac(k, k, sizeof(k), sts))
		goto done;
	hcr_crypto_hex(hex, k, sizeof(k));
	rc = 0;
done:
	hcr_crypto_wipe(k, sizeof(k));
	hcr_crypto_wipe(seed, strlen(seed));
	free(seed);
	return rc;
}

int hcr_sigv4_sign(hcr_sigv4_out *out, const hcr_sigv4_req *req, const hcr_sigv4_creds *creds,
		   const char *region, const char *service, time_t now, hcr_error *err)
{
	hcr_buf creq = {0}, sts = {0}, method = {0};
	char date[9], body_hash[65], creq_hash[65], sig[2 * SHA256_LEN + 1];
	const char *token;
	struct tm tm;
	int rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	rc = check_input(req, creds, region, service, err);
	if (rc != HCR_OK)
		return rc;
	if (!gmtime_r(&now, &tm) ||
	    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "sigv4: time cannot be formatted");
		goto done;
	}
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';
	token = empty(creds->session_token) ? NULL : creds->session_token;

	hcr_buf_puts(&method, req->method);
	for (i = 0; i < method.len; i++) {
		if (method.data[i] >= 'a' && method.data[i] <= 'z')
			method.data[i] = (char)(method.data[i] - 'a' + 'A');
	}

	/* The canonical headers happen to be in sorted order as listed here. */
	out->query = canonical_query(req->query, req->nquery);
	out->signed_headers =
		hcr_sprintf("%shost;x-amz-date%s", req->content_type ? "content-type;" : "",
			    token ? ";x-amz-security-token" : "");
	hcr_crypto_sha256_hex(body_hash, req->body_len ? req->body : "", req->body_len);

	hcr_buf_printf(&creq, "%s\n", method.data);
	canonical_uri(&creq, req->path);
	hcr_buf_printf(&creq, "\n%s\n", out->query);
	if (req->content_type)
		canonical_header(&creq, "content-type", req->content_type);
	canonical_header(&creq, "host", req->host);
	canonical_header(&creq, "x-amz-date", out->amz_date);
	if (token)
		canonical_header(&creq, "x-amz-security-token", token);
	hcr_buf_printf(&creq, "\n%s\n%s", out->signed_headers, body_hash);

	hcr_crypto_sha256_hex(creq_hash, creq.data, creq.len);
	hcr_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date, date,
		       region, service, creq_hash);
	if (signature(sig, creds->secret_access_key, date, region, service, sts.data)) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "sigv4: hmac failed");
		goto done;
	}
	out->authorization = hcr_sprintf(
		"AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
		"Signature=%s",
		creds->access_key_id, date, region, service, out->signed_headers, sig);
	out->security_token = token;
	rc = HCR_OK;
done:
	/* The canonical request holds the session token. */
	if (creq.data)
		hcr_crypto_wipe(creq.data, creq.len);
	hcr_buf_free(&creq);
	hcr_buf_free(&sts);
	hcr_buf_free(&method);
	if (rc != HCR_OK)
		hcr_sigv4_out_free(out);
	return rc;
}

void hcr_sigv4_out_free(hcr_sigv4_out *out)
{
	if (!out)
		return;
	if (out->authorization)
		hcr_crypto_wipe(out->authorization, strlen(out->authorization));
	free(out->authorization);
	free(out->query);
	free(out->signed_headers);
	memset(out, 0, sizeof(*out));
}
