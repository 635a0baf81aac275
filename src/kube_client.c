/*
 * Connections to a Kubernetes API server: one libcurl easy handle each, kept
 * open between requests (keep-alive), with the cluster's TLS settings and
 * the user's credentials, and the request loop every verb goes through:
 * retries of 429 / 503 (Retry-After), a fresh credential after a 401, and
 * transport failures turned into errors that name the cluster.
 *
 * Blocking on purpose: the sync worker runs one connection per worker
 * thread, the CLI runs one at a time. The event-loop client (http.c) serves
 * the cloud APIs, whose requests are many and short; watches and paginated
 * lists are easier to follow as plain loops.
 *
 * Secrets: the Authorization header is one curl_slist node owned here and
 * wiped when replaced or freed; certificates and keys are handed to libcurl
 * as blobs it does not copy (CURL_BLOB_NOCOPY), so hcr's own buffers,
 * wiped on close, are the only copies. (libcurl and OpenSSL make transient
 * copies during a transfer that hcr cannot reach.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "hcr/log.h"
#include "hcr/version.h"
#include "kube_int.h"

#define DEFAULT_CONNECT_MS    10000
#define DEFAULT_REQUEST_MS    60000
#define DEFAULT_RETRIES       3
#define DEFAULT_RETRY_WAIT_MS 10000
#define DEFAULT_MAX_BYTES     ((size_t)64 * 1024 * 1024)
#define DEFAULT_PAGE          500
/* A credential from a plugin is renewed this long before it expires. */
#define EXEC_RENEW_S 60

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	/* Reference-counted by libcurl: http.c and cli.c calling it too is fine. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- accessors ----------------------------------------------------------------------- */

const char *hcr_kube_name(const hcr_kube *k)
{
	return k->ctx->name;
}

const char *hcr_kube_namespace(const hcr_kube *k)
{
	return k->ctx->namespace_name;
}

const char *hcr_kube_server(const hcr_kube *k)
{
	return k->ctx->server;
}

/* ---- credentials --------------------------------------------------------------------- */

static void free_auth_header(hcr_kube *k)
{
	if (k->auth_header) {
		hcr_crypto_wipe(k->auth_header->data, strlen(k->auth_header->data));
		curl_slist_free_all(k->auth_header);
		k->auth_header = NULL;
	}
}

static void set_auth_header(hcr_kube *k)
{
	const hcr_kube_context *c = k->ctx;
	const char *token = k->exec.token ? k->exec.token : c->token;
	char *line = NULL;

	free_auth_header(k);
	if (token && *token) {
		line = hcr_sprintf("Authorization: Bearer %s", token);
	} else if (c->username || c->password) {
		char *pair = hcr_sprintf("%s:%s", c->username ? c->username : "",
					 c->password ? c->password : "");
		char *b64 = hcr_crypto_base64_encode(pair, strlen(pair));

		line = hcr_sprintf("Authorization: Basic %s", b64);
		hcr_kube_wipe_free(pair);
		hcr_kube_wipe_free(b64);
	}
	if (line) {
		k->auth_header = curl_slist_append(NULL, line);
		hcr_kube_wipe_free(line);
		if (!k->auth_header) {
			fprintf(stderr, "hcr: out of memory building a header\n");
			abort();
		}
	}
}

static void set_blob(CURL *curl, CURLoption opt, char *data, size_t len)
{
	struct curl_blob blob = {data, len, CURL_BLOB_NOCOPY};

	curl_easy_setopt(curl, opt, data ? &blob : NULL);
}

/* Client certificate: the plugin's when it gave one, else the kubeconfig's. */
static void set_client_cert(hcr_kube *k)
{
	const hcr_kube_exec_credential *x = &k->exec;
	const hcr_kube_context *c = k->ctx;
	bool ex = x->cert_pem != NULL;

	set_blob(k->curl, CURLOPT_SSLCERT_BLOB, ex ? x->cert_pem : c->cert_pem,
		 ex ? x->cert_len : c->cert_len);
	set_blob(k->curl, CURLOPT_SSLKEY_BLOB, ex ? x->key_pem : c->key_pem,
		 ex ? x->key_len : c->key_len);
	curl_easy_setopt(k->curl, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(k->curl, CURLOPT_SSLKEYTYPE, "PEM");
}

/* Takes a new credential from the plugin (cached process-wide). */
static int exec_refresh(hcr_kube *k, bool invalidate, hcr_error *err)
{
	hcr_kube_exec_credential fresh;
	int rc;

	if (invalidate)
		hcr_kube_exec_invalidate(k->ctx);
	if ((rc = hcr_kube_exec_get(&fresh, k->ctx, err)) != HCR_OK)
		return rc;
	/* Point libcurl at the new blobs before the old ones go. */
	{
		hcr_kube_exec_credential old = k->exec;

		k->exec = fresh;
		set_client_cert(k);
		set_auth_header(k);
		hcr_kube_exec_credential_clear(&old);
	}
	return HCR_OK;
}

/* Re-reads tokenFile (it may have been rotated). */
static int token_file_refresh(hcr_kube *k, hcr_error *err)
{
	size_t len;
	char *t = hcr_kube_read_file(k->ctx->token_file, KUBE_MAX_FILE_BYTES, &len);

	if (!t)
		return hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
				     "cannot read the tokenFile of cluster \"%s\" again",
				     k->ctx->name);
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	hcr_kube_wipe_free(k->ctx->token);
	k->ctx->token = t;
	set_auth_header(k);
	return HCR_OK;
}

/*
 * Before a request: a plugin credential close to its expiry is renewed (the
 * cache hands back the same one while it is still fresh by its own rule).
 */
static int ensure_credential(hcr_kube *k, hcr_error *err)
{
	if (!k->ctx->exec || !k->exec.expires || time(NULL) < k->exec.expires - EXEC_RENEW_S)
		return HCR_OK;
	return exec_refresh(k, false, err);
}

/* ---- opening ------------------------------------------------------------------------- */

static void apply_defaults(hcr_kube_opts *o, const hcr_kube_opts *given)
{
	if (given)
		*o = *given;
	else
		memset(o, 0, sizeof(*o));
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (o->request_timeout_ms <= 0)
		o->request_timeout_ms = DEFAULT_REQUEST_MS;
	if (o->max_retries == 0)
		o->max_retries = DEFAULT_RETRIES;
	if (o->max_retries < 0)
		o->max_retries = 0;
	if (o->max_retry_wait_ms <= 0)
		o->max_retry_wait_ms = DEFAULT_RETRY_WAIT_MS;
	if (o->max_response_bytes == 0)
		o->max_response_bytes = DEFAULT_MAX_BYTES;
	if (o->list_page_size <= 0)
		o->list_page_size = DEFAULT_PAGE;
	o->user_agent = NULL; /* kept in k->user_agent */
}

/*
 * tls-server-name: libcurl has no option to verify another name than the
 * URL's host, so requests go to https://<tls-server-name>:port and
 * CURLOPT_CONNECT_TO sends that name's connections to the real host. SNI and
 * certificate checks then use tls-server-name, as kubectl does.
 */
static int setup_server_name(hcr_kube *k, hcr_error *err)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *line;
	int rc = HCR_OK;

	if (curl_url_set(u, CURLUPART_URL, k->ctx->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "the server URL of cluster \"%s\" cannot be parsed",
				   k->ctx->name);
		hcr_error_detail(err, "server: %.200s", k->ctx->server);
		goto done;
	}
	line = hcr_sprintf("%s:%s:%s:%s", k->ctx->tls_server_name, port, host, port);
	k->connect_to = curl_slist_append(NULL, line);
	free(line);
	k->tls_url_host = hcr_strdup(k->ctx->tls_server_name);
	curl_easy_setopt(k->curl, CURLOPT_CONNECT_TO, k->connect_to);
done:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static void setup_tls(hcr_kube *k)
{
	const hcr_kube_context *c = k->ctx;

	if (c->insecure) {
		curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(k->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca_pem) {
		set_blob(k->curl, CURLOPT_CAINFO_BLOB, c->ca_pem, c->ca_len);
	}
	set_client_cert(k);
}

static void setup_handle(hcr_kube *k)
{
	CURL *h = k->curl;

	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, k->user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, k->opts.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip: list pages shrink tenfold */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (k->ctx->proxy_url)
		curl_easy_setopt(h, CURLOPT_PROXY, k->ctx->proxy_url);
}

int hcr_kube_open_context(hcr_kube **out, hcr_kube_context *ctx, const hcr_kube_opts *opts,
			  hcr_error *err)
{
	hcr_kube *k;
	int rc = HCR_OK;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		hcr_kube_context_free(ctx);
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot initialise libcurl");
	}
	k = hcr_calloc(1, sizeof(*k));
	k->ctx = ctx;
	apply_defaults(&k->opts, opts);
	k->user_agent = opts && opts->user_agent ? hcr_strdup(opts->user_agent)
						 : hcr_sprintf("hcr/%s", hcr_version());
	if (!(k->curl = curl_easy_init())) {
		fprintf(stderr, "hcr: out of memory creating a libcurl handle\n");
		abort();
	}
	setup_handle(k);
	setup_tls(k);
	if (ctx->tls_server_name)
		rc = setup_server_name(k, err);
	if (rc == HCR_OK && ctx->exec)
		rc = exec_refresh(k, false, err);
	if (rc != HCR_OK) {
		hcr_kube_close(k);
		return rc;
	}
	set_auth_header(k);
	*out = k;
	return HCR_OK;
}

int hcr_kube_open(hcr_kube **out, const hcr_kubeconfig *kc, const char *context,
		  const hcr_kube_opts *opts, hcr_error *err)
{
	hcr_kube_context *ctx;
	int rc;

	*out = NULL;
	if ((rc = hcr_kubeconfig_resolve(&ctx, kc, context, err)) != HCR_OK)
		return rc;
	return hcr_kube_open_context(out, ctx, opts, err);
}

static int creds_error(hcr_error *err, const char *name, const char *what)
{
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
		      "the Kubernetes credentials of cluster \"%s\" %s", name, what);
	return HCR_EINVALID;
}

int hcr_kube_open_creds(hcr_kube **out, const char *display_name, json_t *creds,
			const hcr_kube_opts *opts, hcr_error *err)
{
	const char *server = json_string_value(json_object_get(creds, "server"));
	const char *ca = json_string_value(json_object_get(creds, "certificateAuthorityData"));
	const char *token = json_string_value(json_object_get(creds, "token"));
	hcr_kube_context *c;
	bool bad = false;
	size_t n;

	*out = NULL;
	if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0))
		return creds_error(err, display_name, "have no http(s) server");
	c = hcr_calloc(1, sizeof(*c));
	c->name = hcr_strdup(display_name);
	c->origin = hcr_strdup("provider credentials");
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/')
		n--;
	c->server = hcr_strndup(server, n);
	c->token = hcr_strdup(token && *token ? token : NULL);
	if (ca && *ca) {
		c->ca_pem = hcr_kube_pem_from_base64(ca, &c->ca_len, &bad);
		if (bad || !hcr_kube_is_pem(c->ca_pem, c->ca_len)) {
			hcr_kube_context_free(c);
			return creds_error(
				err, display_name,
				"have a certificateAuthorityData that is not base64 PEM");
		}
	}
	return hcr_kube_open_context(out, c, opts, err);
}

void hcr_kube_close(hcr_kube *k)
{
	size_t i;

	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	free_auth_header(k);
	curl_slist_free_all(k->connect_to);
	hcr_kube_exec_credential_clear(&k->exec);
	hcr_kube_context_free(k->ctx);
	hcr_kube_discovery_free(k->disco);
	for (i = 0; i < k->nold; i++)
		hcr_kube_discovery_free(k->old_disco[i]);
	free(k->old_disco);
	free(k->tls_url_host);
	free(k->user_agent);
	free(k);
}

/* ---- one exchange -------------------------------------------------------------------- */

struct xfer {
	hcr_kube *k;
	const kube_req *req;
	kube_resp *resp;
	int streaming; /* -1 undecided, 0 collecting, 1 to the sink */
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t len = size * nmemb;

	if (x->streaming < 0) {
		long code = 0;

		curl_easy_getinfo(x->k->curl, CURLINFO_RESPONSE_CODE, &code);
		/* Only a successful answer is a stream; an error's Status is collected. */
		x->streaming = x->req->sink && code >= 200 && code < 300;
	}
	if (x->streaming)
		return x->req->sink(data, len, x->req->sink_payload);
	if (x->resp->body.len + len > x->k->opts.max_response_bytes) {
		x->too_big = true;
		return 0;
	}
	hcr_buf_append(&x->resp->body, data, len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t len = size * nmemb;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		char buf[32];
		size_t n = len - 12 < sizeof(buf) - 1 ? len - 12 : sizeof(buf) - 1;
		long v;

		memcpy(buf, data + 12, n);
		buf[n] = '\0';
		/* Seconds only; an HTTP date (rare from API servers) counts as absent. */
		if (sscanf(buf, " %ld", &v) == 1 && v >= 0)
			x->resp->retry_after_s = v;
	}
	return len;
}

static char *request_url(const hcr_kube *k, const char *path)
{
	const char *server = k->ctx->server;

	if (k->tls_url_host) {
		const char *host = strstr(server, "://") + 3;
		const char *rest = host + strcspn(host, ":/");

		if (*host == '[') /* an IPv6 literal */
			rest = strchr(host, ']') ? strchr(host, ']') + 1 : rest;
		return hcr_sprintf("%.*s%s%s%s", (int)(host - server), server, k->tls_url_host,
				   rest, path);
	}
	return hcr_sprintf("%s%s", server, path);
}

static void set_method(CURL *h, const kube_req *req)
{
	bool post = strcmp(req->method, "POST") == 0, get = strcmp(req->method, "GET") == 0;

	curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, post ? NULL : req->method);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, get ? NULL : req->method);
	}
}

/* The request's headers, ending in the connection's Authorization node (not copied). */
static struct curl_slist *build_headers(const hcr_kube *k, const kube_req *req,
					struct curl_slist **last)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	char *ct;

	h = curl_slist_append(h, "Expect:");
	if (req->body) {
		ct = hcr_sprintf("Content-Type: %s",
				 req->content_type ? req->content_type : "application/json");
		h = curl_slist_append(h, ct);
		free(ct);
	}
	if (!h) {
		fprintf(stderr, "hcr: out of memory building headers\n");
		abort();
	}
	for (*last = h; (*last)->next; *last = (*last)->next)
		;
	(*last)->next = k->auth_header;
	return h;
}

/* libcurl's progress callback: a non-zero answer aborts the transfer. */
static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const kube_req *req = p;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return req->cancelled(req->cancel_arg) ? 1 : 0;
}

static CURLcode perform_once(hcr_kube *k, const kube_req *req, kube_resp *resp, bool *too_big)
{
	struct xfer x = {k, req, resp, -1, false};
	struct curl_slist *last, *headers = build_headers(k, req, &last);
	char *url = request_url(k, req->path);
	long timeout = req->timeout_ms ? req->timeout_ms : k->opts.request_timeout_ms;
	CURLcode cc;

	hcr_buf_free(&resp->body);
	resp->status = 0;
	resp->retry_after_s = -1;
	k->errbuf[0] = '\0';
	curl_easy_setopt(k->curl, CURLOPT_URL, url);
	set_method(k->curl, req);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(k->curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(k->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(k->curl, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(k->curl, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 0L);
	if (req->cancelled) {
		curl_easy_setopt(k->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(k->curl, CURLOPT_XFERINFODATA, (void *)req);
		curl_easy_setopt(k->curl, CURLOPT_NOPROGRESS, 0L);
	}
	cc = curl_easy_perform(k->curl);
	if (req->cancelled) {
		curl_easy_setopt(k->curl, CURLOPT_NOPROGRESS, 1L);
		curl_easy_setopt(k->curl, CURLOPT_XFERINFOFUNCTION, NULL);
		curl_easy_setopt(k->curl, CURLOPT_XFERINFODATA, NULL);
		/* Cancelled on purpose: what arrived so far stands, as with a stopping sink. */
		if (cc == CURLE_ABORTED_BY_CALLBACK)
			cc = CURLE_OK;
	}
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	last->next = NULL; /* the Authorization node is the connection's */
	curl_slist_free_all(headers);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(k->curl, CURLOPT_POSTFIELDS, NULL);
	free(url);
	*too_big = x.too_big;
	/* A sink that stopped the stream on purpose is not a failure. */
	if (cc == CURLE_WRITE_ERROR && x.streaming == 1)
		cc = CURLE_OK;
	return cc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* How long to wait before retry `attempt` (0-based) of a 429 / 503; -1: do not retry. */
static long retry_wait(const hcr_kube *k, const kube_req *req, const kube_resp *resp, int attempt)
{
	long ms;

	if (req->no_retry || (resp->status != 429 && resp->status != 503) ||
	    attempt >= k->opts.max_retries)
		return -1;
	/*
	 * A 429 was refused before any work (API Priority and Fairness). A 503
	 * without Retry-After may come from a proxy after the server acted on a
	 * write: only reads are retried then.
	 */
	if (resp->status == 503 && resp->retry_after_s < 0 && strcmp(req->method, "GET") != 0)
		return -1;
	ms = resp->retry_after_s >= 0 ? resp->retry_after_s * 1000 : 500L << attempt;
	return ms > k->opts.max_retry_wait_ms ? k->opts.max_retry_wait_ms : ms;
}

/* After a 401: a credential that can be renewed is, once. */
static int renew_after_401(hcr_kube *k, bool *renewed, hcr_error *err)
{
	int rc;

	if (*renewed || (!k->ctx->exec && !k->ctx->token_file))
		return HCR_OK;
	*renewed = true;
	hcr_log_info("kube", "credential refused, renewing it cluster=%s", k->ctx->name);
	rc = k->ctx->exec ? exec_refresh(k, true, err) : token_file_refresh(k, err);
	return rc == HCR_OK ? HCR_EAGAIN : rc;
}

int hcr_kube_perform(hcr_kube *k, const kube_req *req, kube_resp *resp, hcr_error *err)
{
	bool renewed = false, too_big;
	int attempt = 0, rc;
	CURLcode cc;
	long wait;

	memset(resp, 0, sizeof(*resp));
	for (;;) {
		if ((rc = ensure_credential(k, err)) != HCR_OK)
			return rc;
		cc = perform_once(k, req, resp, &too_big);
		if (cc != CURLE_OK) {
			if (too_big)
				return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
						     "the answer of cluster \"%s\" is larger than "
						     "%zu bytes",
						     k->ctx->name, k->opts.max_response_bytes);
			return hcr_kube_transport_error(k, cc, err);
		}
		if (resp->status == 401) {
			rc = renew_after_401(k, &renewed, err);
			if (rc == HCR_EAGAIN)
				continue;
			if (rc != HCR_OK)
				return rc;
		}
		if ((wait = retry_wait(k, req, resp, attempt)) < 0)
			return HCR_OK;
		hcr_log_info("kube", "retrying cluster=%s status=%ld wait_ms=%ld attempt=%d",
			     k->ctx->name, resp->status, wait, attempt + 1);
		sleep_ms(wait);
		attempt++;
	}
}

/* ---- transport errors ---------------------------------------------------------------- */

static const char *transport_hint(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return "check the host name of the server URL and this host's DNS";
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		return "check the server URL and that the cluster is reachable from this host "
		       "(firewall, VPN, private endpoint)";
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_PROXY:
		return "check proxy-url and the HTTPS_PROXY / NO_PROXY environment";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "check certificate-authority(-data) and tls-server-name of the cluster; "
		       "the server's certificate does not match them";
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return "check the certificates and key of the cluster and user (PEM, matching "
		       "key)";
	default:
		return NULL;
	}
}

int hcr_kube_transport_error(hcr_kube *k, CURLcode cc, hcr_error *err)
{
	const char *what, *hint = transport_hint(cc);

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "cannot resolve the server of cluster";
		break;
	case CURLE_COULDNT_CONNECT:
		what = "cannot connect to cluster";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out talking to cluster";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		what = "the server certificate is not trusted for cluster";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		what = "the TLS handshake failed with cluster";
		break;
	default:
		what = "the connection failed with cluster";
	}
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "%s \"%s\" (%s)", what, k->ctx->name,
		      k->ctx->server);
	hcr_error_detail(err, "%s", k->errbuf[0] ? k->errbuf : curl_easy_strerror(cc));
	if (hint && k->ctx->proxy_url && cc == CURLE_COULDNT_CONNECT)
		hcr_error_hint(err, "%s; the connection goes through the cluster's proxy-url",
			       hint);
	else if (hint)
		hcr_error_hint(err, "%s", hint);
	return HCR_EUPSTREAM;
}

/* ---- JSON calls ---------------------------------------------------------------------- */

static int parse_answer(json_t **out, const hcr_kube *k, const kube_resp *resp, hcr_error *err)
{
	json_error_t jerr;

	if (resp->body.len == 0) {
		*out = json_object();
		return HCR_OK;
	}
	*out = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
	if (*out)
		return HCR_OK;
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "cluster \"%s\" answered with something that is not JSON", k->ctx->name);
	hcr_error_detail(err, "HTTP %ld, %s at line %d column %d", resp->status, jerr.text,
			 jerr.line, jerr.column);
	return HCR_EUPSTREAM;
}

int hcr_kube_call(json_t **out, hcr_kube *k, const kube_req *req, const char *verb,
		  const char *what, const hcr_kube_resource *r, const char *ns, hcr_error *err)
{
	kube_resp resp;
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = hcr_kube_perform(k, req, &resp, err)) != HCR_OK)
		goto done;
	if (resp.status >= 200 && resp.status < 300) {
		rc = parse_answer(&body, k, &resp, err);
		if (rc == HCR_OK && out)
			*out = body;
		else
			hcr_kube_json_wipe_decref(body);
		goto done;
	}
	body = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL) : NULL;
	rc = hcr_kube_status_error(err, resp.status, body, k->ctx->name, verb, what, r, ns);
	if (!body && resp.body.len && err && !err->detail[0])
		hcr_error_detail(err, "HTTP %ld: %.200s", resp.status, resp.body.data);
	json_decref(body);
done:
	hcr_crypto_wipe(resp.body.data, resp.body.len); /* may be a Secret */
	hcr_buf_free(&resp.body);
	return rc;
}

int hcr_kube_get_path(json_t **out, hcr_kube *k, const char *path, hcr_error *err)
{
	kube_req req = {.method = "GET", .path = path};

	return hcr_kube_call(out, k, &req, "get", path, NULL, NULL, err);
}
