/*
 * The outbound HTTP client: libcurl's multi "socket" interface driven by a
 * libev loop (the shape of curl's docs/examples/evhiperfifo.c).
 *
 * libcurl says which sockets to watch (socket_cb) and when to call it back
 * (timer_cb); we keep one ev_io per socket and one ev_timer for the whole
 * client, and hand every event back through curl_multi_socket_action.
 * Finished transfers are collected with curl_multi_info_read and their
 * callbacks run from there, never from inside a libcurl callback, which is
 * why a callback may start new requests.
 *
 * Keep-alive comes from the multi handle's connection cache, which outlives
 * the easy handles; recycling a few reset easy handles only saves setup.
 *
 * Error messages name a request by scheme://host[:port]/path only: query
 * strings, user info and headers can carry signatures and tokens.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "hcr/http.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/version.h"

#define DEFAULT_TIMEOUT_MS         30000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE       ((size_t)16 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS    64L
#define DEFAULT_MAX_HOST_CONNS     16L
#define SPARE_EASY_MAX             16
#define MAX_HEADER_BYTES           ((size_t)256 * 1024) /* all response header lines together */

/* One watched socket; attached to libcurl's socket with curl_multi_assign. */
struct sock {
	ev_io io;
	hcr_http *http;
	struct sock *prev, *next;
};

struct hdr {
	char *name;
	char *value;
};

/* One request in flight. */
struct xfer {
	hcr_http *http;
	CURL *easy;
	struct curl_slist *req_headers;
	char method[16];
	char *where;  /* scheme://host[:port]/path, for messages and logs */
	char *secret; /* the query string, kept only to scrub libcurl's messages */
	long timeout_ms;
	hcr_buf body;
	bool body_too_large;
	struct hdr *hdrs;
	size_t nhdrs, hdrs_cap, hdr_bytes;
	bool headers_too_large;
	char errbuf[CURL_ERROR_SIZE];
	hcr_http_cb cb;
	void *payload;
	struct xfer *prev, *next;
};

struct hcr_http {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	long timeout_ms, connect_timeout_ms;
	size_t max_response_bytes;
	char *user_agent;
	struct xfer *xfers; /* in flight */
	size_t inflight;
	struct sock *socks;
	CURL *spare[SPARE_EASY_MAX];
	size_t nspare;
	hcr_http_stats stats;
	bool closing;    /* hcr_http_free is running: no new requests */
	int dispatching; /* callbacks running now */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- libev glue ------------------------------------------------------------------------ */

static void finish_done(hcr_http *http);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	hcr_http *http = s->http;
	curl_socket_t fd = w->fd; /* `s` may be gone once libcurl has run */
	int action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	if (revents & EV_ERROR)
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(http->multi, fd, action, &running);
	finish_done(http);
}

static void timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
	hcr_http *http = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	finish_done(http);
}

static void sock_free(hcr_http *http, struct sock *s)
{
	ev_io_stop(http->loop, &s->io);
	if (s->prev)
		s->prev->next = s->next;
	else
		http->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	hcr_http *http = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(http, s);
		return 0;
	}
	if (!s) {
		s = hcr_calloc(1, sizeof(*s));
		s->http = http;
		s->next = http->socks;
		if (http->socks)
			http->socks->prev = s;
		http->socks = s;
		ev_init(&s->io, io_cb);
		s->io.data = s;
		curl_multi_assign(http->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(http->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	if (events)
		ev_io_start(http->loop, &s->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called after timeout_ms (-1: never). */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	hcr_http *http = userp;

	(void)multi;
	ev_timer_stop(http->loop, &http->timer);
	if (timeout_ms >= 0) {
		/* 0 means "as soon as possible", but not from inside this callback. */
		ev_timer_set(&http->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(http->loop, &http->timer);
	}
	return 0;
}

/* ---- one transfer ---------------------------------------------------------------------- */

static size_t write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;

	if (len > x->http->max_response_bytes - x->body.len) {
		x->body_too_large = true;
		return 0; /* makes libcurl fail the transfer with CURLE_WRITE_ERROR */
	}
	hcr_buf_append(&x->body, data, len);
	return len;
}

static void clear_headers(struct xfer *x)
{
	size_t i;

	for (i = 0; i < x->nhdrs; i++) {
		free(x->hdrs[i].name);
		free(x->hdrs[i].value);
	}
	x->nhdrs = 0;
}

static void trim(const char **s, const char **end)
{
	while (*s < *end && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r' ||
			     (*end)[-1] == '\n'))
		(*end)--;
}

/*
 * CURLOPT_HEADERFUNCTION: one raw header line at a time, status lines
 * included. A status line starts a new response (after "100 Continue", for
 * instance), so only the final response's headers are kept.
 */
static size_t header_cb(char *line, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;
	const char *s = line, *end = line + len, *colon;

	if (len == 0)
		return 0;
	x->hdr_bytes += len;
	if (x->hdr_bytes > MAX_HEADER_BYTES) {
		x->headers_too_large = true;
		return 0;
	}
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		clear_headers(x);
		return len;
	}
	if ((line[0] == ' ' || line[0] == '\t') && x->nhdrs > 0) {
		/* An obsolete folded continuation of the previous header. */
		struct hdr *h = &x->hdrs[x->nhdrs - 1];
		char *joined;

		trim(&s, &end);
		if (s == end)
			return len;
		joined = hcr_sprintf("%s %.*s", h->value, (int)(end - s), s);
		free(h->value);
		h->value = joined;
		return len;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return len; /* the blank line that ends the headers, or junk */
	if (x->nhdrs == x->hdrs_cap) {
		x->hdrs_cap = x->hdrs_cap ? x->hdrs_cap * 2 : 16;
		x->hdrs = hcr_realloc(x->hdrs, x->hdrs_cap * sizeof(*x->hdrs));
	}
	{
		const char *ns = line, *ne = colon, *vs = colon + 1, *ve = end;

		trim(&ns, &ne);
		trim(&vs, &ve);
		x->hdrs[x->nhdrs].name = hcr_strndup(ns, (size_t)(ne - ns));
		x->hdrs[x->nhdrs].value = hcr_strndup(vs, (size_t)(ve - vs));
		x->nhdrs++;
	}
	return len;
}

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->req_headers);
	free(x->where);
	free(x->secret);
	hcr_buf_free(&x->body);
	clear_headers(x);
	free(x->hdrs);
	free(x);
}

static void xfer_link(hcr_http *http, struct xfer *x)
{
	x->prev = NULL;
	x->next = http->xfers;
	if (http->xfers)
		http->xfers->prev = x;
	http->xfers = x;
	http->inflight++;
}

static void xfer_unlink(hcr_http *http, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		http->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	http->inflight--;
}

static CURL *easy_acquire(hcr_http *http)
{
	if (http->nspare > 0)
		return http->spare[--http->nspare];
	return curl_easy_init();
}

static void easy_release(hcr_http *http, CURL *easy)
{
	if (http->nspare < SPARE_EASY_MAX) {
		curl_easy_reset(easy);
		http->spare[http->nspare++] = easy;
	} else {
		curl_easy_cleanup(easy);
	}
}

/* Copies libcurl's error text unless it repeats something secret from the URL. */
static const char *curl_text(const struct xfer *x)
{
	if (!x->errbuf[0] || (x->secret && strstr(x->errbuf, x->secret)))
		return "";
	return x->errbuf;
}

/* Fills `err` for a failed transfer: what happened in our words, libcurl's in detail. */
static int transport_error(const struct xfer *x, CURLcode rc, hcr_error *err)
{
	char what[128];
	long os_errno = 0;
	curl_off_t total_us = 0, connect_us = 0;
	const char *text;

	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	if (x->body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(what, sizeof(what), "response larger than %zu bytes",
			 x->http->max_response_bytes);
	} else if (x->headers_too_large) {
		snprintf(what, sizeof(what), "response headers larger than %zu bytes",
			 MAX_HEADER_BYTES);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		/* No connection yet and the whole-transfer limit not reached: connect timed out. */
		if (connect_us == 0 && total_us / 1000 < x->timeout_ms)
			snprintf(what, sizeof(what), "connect timed out after %ld ms",
				 x->http->connect_timeout_ms);
		else
			snprintf(what, sizeof(what), "timed out after %ld ms", x->timeout_ms);
	} else if (rc == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
		snprintf(what, sizeof(what), "connection refused");
	} else if (rc == CURLE_COULDNT_CONNECT &&
		   (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)) {
		snprintf(what, sizeof(what), "host unreachable");
	} else if (rc == CURLE_COULDNT_CONNECT) {
		snprintf(what, sizeof(what), "could not connect");
	} else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(what, sizeof(what), "could not resolve host");
	} else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		snprintf(what, sizeof(what), "server certificate not trusted");
	} else if (rc == CURLE_SSL_CONNECT_ERROR) {
		snprintf(what, sizeof(what), "TLS handshake failed");
	} else if (rc == CURLE_GOT_NOTHING) {
		snprintf(what, sizeof(what), "empty reply from server");
	} else if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && os_errno == ECONNRESET) {
		snprintf(what, sizeof(what), "connection reset");
	} else if (rc == CURLE_PARTIAL_FILE) {
		snprintf(what, sizeof(what), "response cut short");
	} else {
		snprintf(what, sizeof(what), "transfer failed");
	}
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "request to %s failed: %s", x->where,
		      what);
	text = curl_text(x);
	hcr_error_detail(err, "%s%s%s", curl_easy_strerror(rc), text[0] ? ": " : "", text);
	return HCR_EUPSTREAM;
}

static void dispatch(hcr_http *http, struct xfer *x, int status, const hcr_http_response *resp,
		     const hcr_error *err)
{
	http->stats.finished++;
	if (status != HCR_OK)
		http->stats.failed++;
	hcr_log_debug("http", "request done method=%s url=%s status=%ld seconds=%.3f%s%s",
		      x->method, x->where, resp->status, resp->seconds,
		      status != HCR_OK ? " error=" : "", status != HCR_OK ? err->message : "");
	http->dispatching++;
	x->cb(status, resp, err, x->payload);
	http->dispatching--;
}

/* A transfer libcurl has finished: detach it, then tell the caller. */
static void complete(hcr_http *http, struct xfer *x, CURLcode result)
{
	hcr_http_response resp = {0};
	hcr_http_header *headers = NULL;
	hcr_error err;
	char empty[1] = "";
	long nconnects = 0;
	curl_off_t total_us = 0;
	int status = HCR_OK;
	size_t i;

	hcr_error_clear(&err);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &nconnects);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	http->stats.connections += (unsigned long long)(nconnects > 0 ? nconnects : 0);
	resp.seconds = (double)total_us / 1e6;
	resp.body = empty;
	if (result != CURLE_OK) {
		status = transport_error(x, result, &err);
	} else {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &resp.status);
		if (x->body.data) {
			resp.body = x->body.data;
			resp.body_len = x->body.len;
		}
		if (x->nhdrs > 0) {
			headers = hcr_calloc(x->nhdrs, sizeof(*headers));
			for (i = 0; i < x->nhdrs; i++) {
				headers[i].name = x->hdrs[i].name;
				headers[i].value = x->hdrs[i].value;
			}
			resp.headers = headers;
			resp.nheaders = x->nhdrs;
		}
	}

	curl_multi_remove_handle(http->multi, x->easy);
	xfer_unlink(http, x);
	easy_release(http, x->easy);
	x->easy = NULL;
	dispatch(http, x, status, &resp, &err);
	free(headers);
	xfer_free(x);
}

static void finish_done(hcr_http *http)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(http->multi, &left))) {
		char *priv = NULL;
		CURLcode result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		complete(http, (struct xfer *)(void *)priv, result);
	}
}

/* ---- starting a request ---------------------------------------------------------------- */

/*
 * Checks the URL and keeps the parts safe to show: scheme://host[:port]/path.
 * The query string is kept aside only to scrub libcurl's own messages.
 */
static int describe_url(struct xfer *x, const char *url, hcr_error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = HCR_OK;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		/* Nothing of a URL we cannot parse is safe to repeat. */
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "invalid request URL");
		goto done;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "unsupported URL scheme \"%s\"", scheme);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "request URL has no host");
		goto done;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	x->where = hcr_sprintf("%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
			       path ? path : "/");
	if (query && query[0])
		x->secret = hcr_strdup(query);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!strchr("!#$%&'*+-.^_`|~", *s) && !(*s >= '0' && *s <= '9') &&
		    !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z'))
			return false;
	return true;
}

static int check_request(const hcr_http_request *req, hcr_http_cb cb, hcr_error *err)
{
	size_t i;

	if (!req || !req->url || !cb)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "request needs a URL and a callback");
	if (!is_token(req->method) || strlen(req->method) >= sizeof(((struct xfer *)0)->method))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "invalid request method");
	if (!req->headers && req->nheaders > 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "request header count without headers");
	if (!req->body && req->body_len > 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "request body length without a body");
	if (req->timeout_ms < 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "request timeout must not be negative");
	for (i = 0; i < req->nheaders; i++) {
		const hcr_http_header *h = &req->headers[i];

		if (!is_token(h->name))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "invalid request header name");
		/* The value is not repeated: it may be a credential. */
		if (!h->value || strpbrk(h->value, "\r\n"))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "request header \"%s\" has an invalid value", h->name);
	}
	return HCR_OK;
}

static bool has_header(const hcr_http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

static bool slist_add(struct curl_slist **list, char *line)
{
	struct curl_slist *next = curl_slist_append(*list, line);

	free(line);
	if (!next)
		return false;
	*list = next;
	return true;
}

#define SETOPT(easy, opt, val)                                       \
	do {                                                         \
		if (cc == CURLE_OK)                                  \
			cc = curl_easy_setopt((easy), (opt), (val)); \
	} while (0)

static int setup_easy(hcr_http *http, struct xfer *x, const hcr_http_request *req, hcr_error *err)
{
	CURL *e = x->easy;
	CURLcode cc = CURLE_OK;
	bool is_head = strcmp(req->method, "HEAD") == 0;
	bool is_get = strcmp(req->method, "GET") == 0;
	/* Methods that carry a body get Content-Length: 0 rather than none at all. */
	bool send_body = req->body || !(is_get || is_head || strcmp(req->method, "DELETE") == 0 ||
					strcmp(req->method, "OPTIONS") == 0);
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		const hcr_http_header *h = &req->headers[i];

		/* "Name:" would tell libcurl to drop the header; "Name;" sends it empty. */
		if (!slist_add(&x->req_headers, h->value[0]
							? hcr_sprintf("%s: %s", h->name, h->value)
							: hcr_sprintf("%s;", h->name)))
			cc = CURLE_OUT_OF_MEMORY;
	}
	/* libcurl would label a body form-encoded; say nothing unless the caller did. */
	if (send_body && !has_header(req, "Content-Type") &&
	    !slist_add(&x->req_headers, hcr_strdup("Content-Type:")))
		cc = CURLE_OUT_OF_MEMORY;

	SETOPT(e, CURLOPT_URL, req->url);
	SETOPT(e, CURLOPT_PRIVATE, (void *)x);
	SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, http->connect_timeout_ms);
	SETOPT(e, CURLOPT_USERAGENT, http->user_agent);
	SETOPT(e, CURLOPT_HTTPHEADER, x->req_headers);
	SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, (void *)x);
	SETOPT(e, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(e, CURLOPT_HEADERDATA, (void *)x);
	if (is_head) {
		/* A HEAD's Content-Length describes a body that never comes: no cap. */
		SETOPT(e, CURLOPT_NOBODY, 1L);
	} else {
		/* Refuses an oversized Content-Length before any of the body arrives. */
		SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->max_response_bytes);
		if (is_get && !send_body) {
			SETOPT(e, CURLOPT_HTTPGET, 1L);
		} else {
			if (send_body) {
				SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
				SETOPT(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
			}
			if (strcmp(req->method, "POST") != 0 || !send_body)
				SETOPT(e, CURLOPT_CUSTOMREQUEST, req->method);
		}
	}
	if (cc != CURLE_OK) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot set up request to %s",
			      x->where);
		hcr_error_detail(err, "%s", curl_easy_strerror(cc));
		return HCR_ERROR;
	}
	return HCR_OK;
}

int hcr_http_send(hcr_http *http, const hcr_http_request *req, hcr_http_cb cb, void *payload,
		  hcr_error *err)
{
	struct xfer *x = NULL;
	CURLMcode mc;
	int rc;

	if (http->closing)
		return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				     "http client is shutting down");
	rc = check_request(req, cb, err);
	if (rc != HCR_OK)
		return rc;
	x = hcr_calloc(1, sizeof(*x));
	x->http = http;
	x->cb = cb;
	x->payload = payload;
	x->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : http->timeout_ms;
	snprintf(x->method, sizeof(x->method), "%s", req->method);
	rc = describe_url(x, req->url, err);
	if (rc != HCR_OK)
		goto done;
	x->easy = easy_acquire(http);
	if (!x->easy) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot create a curl handle");
		goto done;
	}
	rc = setup_easy(http, x, req, err);
	if (rc != HCR_OK)
		goto done;
	mc = curl_multi_add_handle(http->multi, x->easy);
	if (mc != CURLM_OK) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot start request to %s",
				   x->where);
		hcr_error_detail(err, "%s", curl_multi_strerror(mc));
		goto done;
	}
	xfer_link(http, x);
	http->stats.started++;
	x = NULL;
	rc = HCR_EAGAIN;
done:
	xfer_free(x);
	return rc;
}

/* ---- the client ------------------------------------------------------------------------ */

int hcr_http_new(hcr_http **out, struct ev_loop *loop, const hcr_http_opts *opts, hcr_error *err)
{
	hcr_http_opts o = {0};
	hcr_http *http = NULL;
	CURLMcode mc = CURLM_OK;
	int rc = HCR_OK;

	*out = NULL;
	if (opts)
		o = *opts;
	if (o.default_timeout_ms < 0 || o.connect_timeout_ms < 0 || o.max_connections < 0 ||
	    o.max_host_connections < 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "http client limits must not be negative");
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot initialise libcurl");
		hcr_error_detail(err, "%s", curl_easy_strerror(global_rc));
		return rc;
	}

	http = hcr_calloc(1, sizeof(*http));
	http->loop = loop;
	http->timeout_ms = o.default_timeout_ms ? o.default_timeout_ms : DEFAULT_TIMEOUT_MS;
	http->connect_timeout_ms =
		o.connect_timeout_ms ? o.connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	http->max_response_bytes =
		o.max_response_bytes ? o.max_response_bytes : DEFAULT_MAX_RESPONSE;
	http->user_agent =
		o.user_agent ? hcr_strdup(o.user_agent) : hcr_sprintf("hcr/%s", hcr_version());
	ev_timer_init(&http->timer, timer_fired, 0.0, 0.0);
	http->timer.data = http;

	http->multi = curl_multi_init();
	if (!http->multi) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "cannot create a curl multi handle");
		goto done;
	}
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, (void *)http);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, (void *)http);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
				       o.max_connections ? o.max_connections
							 : DEFAULT_MAX_CONNECTIONS);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				       o.max_host_connections ? o.max_host_connections
							      : DEFAULT_MAX_HOST_CONNS);
	/* Keep as many idle connections as may be open, for reuse. */
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS,
				       o.max_connections ? o.max_connections
							 : DEFAULT_MAX_CONNECTIONS);
	if (mc != CURLM_OK) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot configure libcurl");
		hcr_error_detail(err, "%s", curl_multi_strerror(mc));
		goto done;
	}
	*out = http;
	http = NULL;
done:
	hcr_http_free(http);
	return rc;
}

void hcr_http_free(hcr_http *http)
{
	struct xfer *pending;
	struct sock *s, *next;
	hcr_error err;
	size_t i;

	if (!http)
		return;
	/* A callback runs with the client's state half updated; see docs/http.md. */
	assert(http->dispatching == 0 && "hcr_http_free called from an hcr_http callback");
	http->closing = true;
	ev_timer_stop(http->loop, &http->timer);

	/* Callbacks cannot add to the list: hcr_http_send refuses while closing. */
	pending = http->xfers;
	http->xfers = NULL;
	while (pending) {
		struct xfer *x = pending;
		hcr_http_response resp = {0};
		char empty[1] = "";

		pending = x->next;
		resp.body = empty;
		curl_multi_remove_handle(http->multi, x->easy);
		http->inflight--;
		hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "request to %s failed: request cancelled", x->where);
		dispatch(http, x, HCR_EUPSTREAM, &resp, &err);
		xfer_free(x);
	}
	for (i = 0; i < http->nspare; i++)
		curl_easy_cleanup(http->spare[i]);
	if (http->multi)
		curl_multi_cleanup(http->multi);
	/* Whatever libcurl did not ask us to stop watching goes now. */
	for (s = http->socks; s; s = next) {
		next = s->next;
		ev_io_stop(http->loop, &s->io);
		free(s);
	}
	free(http->user_agent);
	free(http);
}

const char *hcr_http_header_get(const hcr_http_response *resp, const char *name)
{
	size_t i;

	if (!resp || !name)
		return NULL;
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

long hcr_http_retry_after_s(const hcr_http_response *resp, long max_s)
{
	const char *v = hcr_http_header_get(resp, "Retry-After");
	long secs;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0')
			return -1;
		secs = n > (unsigned long)max_s ? max_s : (long)n;
	} else {
		time_t at = curl_getdate(v, NULL), now = time(NULL);

		if (at == (time_t)-1)
			return -1;
		secs = at <= now ? 0 : at - now > max_s ? max_s : (long)(at - now);
	}
	return secs;
}

size_t hcr_http_inflight(const hcr_http *http)
{
	return http->inflight;
}

void hcr_http_get_stats(const hcr_http *http, hcr_http_stats *out)
{
	*out = http->stats;
}
