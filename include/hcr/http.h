/*
 * The outbound HTTP client: libcurl's multi interface bound to a libev loop.
 * Every cloud call goes through here, so tests can point providers at
 * emulators and every request gets a timeout, keep-alive and accounting.
 *
 * Requests never block: hcr_http_send starts the transfer and returns; the
 * callback runs exactly once on the loop's thread, with the response or an
 * error. The client is not thread-safe: use it only from its loop's thread.
 */
#ifndef HCR_HTTP_H
#define HCR_HTTP_H

#include <stddef.h>

#include "hcr/error.h"

struct ev_loop;

typedef struct hcr_http hcr_http;

typedef struct hcr_http_header {
	const char *name;
	const char *value;
} hcr_http_header;

typedef struct hcr_http_request {
	const char *method; /* "GET", "POST", ... */
	const char *url;
	const hcr_http_header *headers; /* may be NULL */
	size_t nheaders;
	const char *body; /* may be NULL; copied by hcr_http_send */
	size_t body_len;
	long timeout_ms; /* whole transfer; 0 = the client's default */
} hcr_http_request;

typedef struct hcr_http_response {
	long status;              /* HTTP status; 0 when no response arrived (err says why) */
	hcr_http_header *headers; /* response headers, names as received */
	size_t nheaders;
	char *body; /* NUL-terminated */
	size_t body_len;
	double seconds; /* total time */
} hcr_http_response;

/*
 * Called once per request. `resp` and everything in it are *borrowed* for the
 * duration of the call. On a transport failure (refused, timeout, reset,
 * response larger than the limit) `status` is HCR_EUPSTREAM, resp->status is 0
 * and `err` says what happened; otherwise `status` is HCR_OK whatever the
 * HTTP status.
 */
typedef void (*hcr_http_cb)(int status, const hcr_http_response *resp, const hcr_error *err,
			    void *payload);

typedef struct hcr_http_opts {
	long default_timeout_ms;   /* default 30000 */
	long connect_timeout_ms;   /* default 10000 */
	size_t max_response_bytes; /* default 16 MiB */
	long max_connections;      /* total open connections; default 64 */
	long max_host_connections; /* per host; default 16 */
	const char *user_agent;    /* default "hcr/<version>" */
} hcr_http_opts;

/* Creates a client on `loop`. `opts` may be NULL for defaults. */
int hcr_http_new(hcr_http **out, struct ev_loop *loop, const hcr_http_opts *opts, hcr_error *err);

/*
 * Aborts every transfer in flight (their callbacks run with HCR_EUPSTREAM /
 * "request cancelled") and frees the client. NULL is ignored.
 */
void hcr_http_free(hcr_http *http);

/* Starts a request. Returns HCR_EAGAIN (started) or an error (callback not called). */
int hcr_http_send(hcr_http *http, const hcr_http_request *req, hcr_http_cb cb, void *payload,
		  hcr_error *err);

/* A response header's value (case-insensitive name), or NULL. */
const char *hcr_http_header_get(const hcr_http_response *resp, const char *name);

/*
 * The response's Retry-After in seconds from now (RFC 9110 §10.2.3: a number of
 * seconds or an HTTP-date), capped at `max_s`; -1 when absent or not readable.
 * A date in the past is 0.
 */
long hcr_http_retry_after_s(const hcr_http_response *resp, long max_s);

/* Transfers in flight. */
size_t hcr_http_inflight(const hcr_http *http);

/* Counters since creation: requests started, finished, failed; connections opened. */
typedef struct hcr_http_stats {
	unsigned long long started, finished, failed, connections;
} hcr_http_stats;
void hcr_http_get_stats(const hcr_http *http, hcr_http_stats *out);

#endif
