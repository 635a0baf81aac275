/*
 * AWS Signature Version 4 for EKS requests, on OpenSSL: the header form for
 * the EKS API, and the query form ("presigned URL") for the bearer token of a
 * cluster's Kubernetes API.
 *
 * The reference is botocore's SigV4Auth and SigV4QueryAuth, and awscli's
 * `aws eks get-token`, not only AWS's prose: where the two could be read
 * differently (dot segments, empty query, header value whitespace, sort order
 * of repeated query keys, the order of the presigned URL's parameters) this
 * file does what botocore does, and tests/unit/test_sigv4.c holds signatures
 * and tokens botocore and awscli computed.
 * The derived keys and every buffer that holds a signed URL are wiped before
 * returning; nothing here logs.
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

#define SHA256_LEN   32
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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

/* The hex signature of the canonical request `creq`: string to sign, then key chain. */
static int sign_canonical(char sig[2 * SHA256_LEN + 1], const hcr_buf *creq, const char *amz_date,
			  const char *region, const char *service, const char *secret)
{
	hcr_buf sts = {0};
	char date[9], creq_hash[65];
	int rc;

	memcpy(date, amz_date, 8);
	date[8] = '\0';
	hcr_crypto_sha256_hex(creq_hash, creq->data, creq->len);
	hcr_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date,
		       region, service, creq_hash);
	rc = signature(sig, secret, date, region, service, sts.data);
	hcr_buf_free(&sts);
	return rc;
}

/* "20150830T123600Z"; -1 when `now` cannot be shown in four digits of year. */
static int amz_date(char out[17], time_t now)
{
	struct tm tm;

	if (!gmtime_r(&now, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	return 0;
}

int hcr_sigv4_sign(hcr_sigv4_out *out, const hcr_sigv4_req *req, const hcr_sigv4_creds *creds,
		   const char *region, const char *service, time_t now, hcr_error *err)
{
	hcr_buf creq = {0}, method = {0};
	char date[9], body_hash[65], sig[2 * SHA256_LEN + 1];
	const char *token;
	int rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	rc = check_input(req, creds, region, service, err);
	if (rc != HCR_OK)
		return rc;
	if (amz_date(out->amz_date, now)) {
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

	if (sign_canonical(sig, &creq, out->amz_date, region, service, creds->secret_access_key)) {
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

/* ---- the EKS bearer token: a presigned STS GetCallerIdentity URL --------------------------- */

/*
 * The constants of `aws eks get-token`. The URL lists the parameters in
 * botocore's SigV4QueryAuth order (the operation's, then the authentication
 * ones, the signature last); only the canonical query that is signed is sorted.
 */
#define EKS_TOKEN_PREFIX  "k8s-aws-v1."
#define EKS_TOKEN_HEADER  "x-k8s-aws-id"
#define EKS_TOKEN_EXPIRES "60"
#define EKS_TOKEN_SIGNED  "host;" EKS_TOKEN_HEADER

static int is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

/*
 * The Host value SigV4 signs for `base` ("http(s)://host[:port]"), derived as
 * botocore derives it from the URL: lower case, with the port only when it is
 * not the scheme's default. The URL itself keeps `base` as given. Returns NULL
 * and sets *why when `base` has another shape.
 */
static char *signed_host(const char *base, const char **why)
{
	const char *p, *host;
	long port = -1, default_port;
	hcr_buf b = {0};
	size_t i;

	if (strncmp(base, "https://", 8) == 0) {
		host = base + 8;
		default_port = 443;
	} else if (strncmp(base, "http://", 7) == 0) {
		host = base + 7;
		default_port = 80;
	} else {
		*why = "the scheme must be http:// or https://";
		return NULL;
	}
	p = host;
	if (*p == '[') { /* an IPv6 literal */
		p += 1 + strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (*p != ']' || p == host + 1) {
			*why = "an IPv6 address must be hex digits and ':' in brackets";
			return NULL;
		}
		p++;
	} else {
		while (is_host_char(*p))
			p++;
	}
	if (p == host) {
		*why = "the host name is missing";
		return NULL;
	}
	hcr_buf_puts(&b, "");
	for (i = 0; host + i < p; i++) {
		char c = host[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		hcr_buf_append(&b, &c, 1);
	}
	if (*p == ':') {
		size_t digits = strspn(p + 1, "0123456789");

		port = digits >= 1 && digits <= 5 ? strtol(p + 1, NULL, 10) : 0;
		if (port < 1 || port > 65535) {
			*why = "the port must be a number from 1 to 65535";
			hcr_buf_free(&b);
			return NULL;
		}
		p += 1 + digits;
	}
	if (*p) {
		*why = *p == '/' ? "it has a path; give only the scheme, the host and the port"
				 : "it has a character that is not part of a host name or port";
		hcr_buf_free(&b);
		return NULL;
	}
	if (port >= 0 && port != default_port)
		hcr_buf_printf(&b, ":%ld", port);
	return b.data;
}

/* Every byte printable ASCII other than a space: EKS names and Outposts ids are [A-Za-z0-9_-]. */
static int printable_word(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

/* Checks every argument but the endpoint, which signed_host checks. */
static int check_token_input(char **out, const char *cluster_name, const hcr_sigv4_creds *creds,
			     const char *region, hcr_error *err)
{
	if (!out)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: no place for the token");
	if (empty(cluster_name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: the cluster name is required");
	if (has_control(cluster_name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: the cluster name contains a control character");
	if (!printable_word(cluster_name)) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "sigv4: the cluster name contains a space or a non-ASCII character");
		hcr_error_hint(err, "EKS cluster names are letters, digits, '-' and '_'");
		return HCR_EINVALID;
	}
	if (!creds || empty(creds->access_key_id) || empty(creds->secret_access_key))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: credentials have no access key id or secret");
	if (has_control(creds->access_key_id) || has_control(creds->session_token))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "sigv4: credentials contain a control character");
	if (empty(region) ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region))
		return hcr_error_set(
			err, HCR_EINVALID, HCR_ERR_INVALID,
			"sigv4: the region must be lower-case letters, digits and '-'");
	return HCR_OK;
}

static int endpoint_error(const char *sts_base, const char *why, const char *region, hcr_error *err)
{
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
		      "sigv4: the STS endpoint must be http(s)://host[:port]");
	hcr_error_detail(err, "%s", sts_base ? why : "no endpoint was given");
	hcr_error_hint(err, "AWS's is https://sts.%s.amazonaws.com", region);
	return HCR_EINVALID;
}

/* `url` as unpadded base64url after the token prefix. Returns a new string. */
static char *token_from_url(const hcr_buf *url)
{
	size_t plen = strlen(EKS_TOKEN_PREFIX), cap = plen + 4 * ((url->len + 2) / 3) + 1;
	char *tok = hcr_malloc(cap), *p;
	int n;

	memcpy(tok, EKS_TOKEN_PREFIX, plen);
	n = EVP_EncodeBlock((unsigned char *)tok + plen, (const unsigned char *)url->data,
			    (int)url->len);
	tok[plen + (size_t)n] = '\0';
	for (p = tok + plen; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0'; /* padding is only at the end */
	}
	return tok;
}

int hcr_sigv4_eks_token(char **out, const char *sts_base, const char *cluster_name,
			const hcr_sigv4_creds *creds, const char *region, time_t now,
			hcr_error *err)
{
	hcr_sigv4_param params[8];
	hcr_buf creq = {0}, url = {0};
	char date[17], scope_date[9], sig[2 * SHA256_LEN + 1], *credential = NULL, *host = NULL;
	char *canonical = NULL;
	const char *why = NULL;
	size_t n = 0, i;
	int rc;

	if (out)
		*out = NULL;
	rc = check_token_input(out, cluster_name, creds, region, err);
	if (rc != HCR_OK)
		return rc;
	host = sts_base ? signed_host(sts_base, &why) : NULL;
	if (!host)
		return endpoint_error(sts_base, why, region, err);
	if (amz_date(date, now)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "sigv4: time cannot be formatted");
		goto done;
	}
	memcpy(scope_date, date, 8);
	scope_date[8] = '\0';
	credential =
		hcr_sprintf("%s/%s/%s/sts/aws4_request", creds->access_key_id, scope_date, region);

	params[n++] = (hcr_sigv4_param){"Action", "GetCallerIdentity"};
	params[n++] = (hcr_sigv4_param){"Version", "2011-06-15"};
	params[n++] = (hcr_sigv4_param){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
	params[n++] = (hcr_sigv4_param){"X-Amz-Credential", credential};
	params[n++] = (hcr_sigv4_param){"X-Amz-Date", date};
	params[n++] = (hcr_sigv4_param){"X-Amz-Expires", EKS_TOKEN_EXPIRES};
	params[n++] = (hcr_sigv4_param){"X-Amz-SignedHeaders", EKS_TOKEN_SIGNED};
	if (!empty(creds->session_token))
		params[n++] = (hcr_sigv4_param){"X-Amz-Security-Token", creds->session_token};

	/* The body of a presigned request is empty: its hash is that of "". */
	canonical = canonical_query(params, n);
	hcr_buf_printf(&creq, "GET\n/\n%s\n", canonical);
	canonical_header(&creq, "host", host);
	canonical_header(&creq, EKS_TOKEN_HEADER, cluster_name);
	hcr_buf_printf(&creq, "\n%s\n%s", EKS_TOKEN_SIGNED, EMPTY_SHA256);
	if (sign_canonical(sig, &creq, date, region, "sts", creds->secret_access_key)) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "sigv4: hmac failed");
		goto done;
	}

	hcr_buf_printf(&url, "%s/?", sts_base);
	for (i = 0; i < n; i++) {
		hcr_buf_printf(&url, "%s%s=", i ? "&" : "", params[i].key);
		uri_encode_n(&url, params[i].value, strlen(params[i].value), 0);
	}
	hcr_buf_printf(&url, "&X-Amz-Signature=%s", sig);
	*out = token_from_url(&url);
	rc = HCR_OK;
done:
	/* The canonical forms hold the session token; the URL is the token itself. */
	if (creq.data)
		hcr_crypto_wipe(creq.data, creq.len);
	if (url.data)
		hcr_crypto_wipe(url.data, url.len);
	if (canonical)
		hcr_crypto_wipe(canonical, strlen(canonical));
	hcr_crypto_wipe(sig, sizeof(sig));
	hcr_buf_free(&creq);
	hcr_buf_free(&url);
	free(canonical);
	free(credential);
	free(host);
	return rc;
}
