/*
 * Unit tests for src/http.c against a real HTTP server started inside the
 * test (libmicrohttpd on 127.0.0.1, a thread per connection so that a slow
 * handler holds up only its own request). The server echoes requests as JSON,
 * sleeps, sends oversized bodies, answers 503, and counts TCP connections so
 * that keep-alive can be checked from the server's side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "hcr/http.h"
#include "hcr/mem.h"

#define BIG_BYTES   ((size_t)1024 * 1024) /* what /big and /big-chunked send */
#define SLOW_MAX_MS 3000                  /* how long /slow sleeps unless the server stops */

/* ---- the server ------------------------------------------------------------------------ */

static struct MHD_Daemon *daemon_;
static unsigned short port_;
static atomic_int connections_;
static atomic_int stopping_;

struct req_ctx {
	hcr_buf body;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	json_t *headers = cls;
	char lower[128];
	size_t i;

	(void)kind;
	for (i = 0; i < sizeof(lower) - 1 && key[i]; i++)
		lower[i] = (char)tolower((unsigned char)key[i]);
	lower[i] = '\0';
	json_object_set_new(headers, lower, json_string(value ? value : ""));
	return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body,
			     size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (status == 503) {
		MHD_add_response_header(r, "Retry-After", "7");
		MHD_add_response_header(r, "x-request-id", "req-123");
	}
	MHD_add_response_header(r, "X-Echo", "yes");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static ssize_t chunked_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	if (pos >= BIG_BYTES)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > BIG_BYTES - pos)
		max = BIG_BYTES - pos;
	memset(buf, 'c', max);
	return (ssize_t)max;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct req_ctx *ctx = *con_cls;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!ctx) {
		*con_cls = hcr_calloc(1, sizeof(*ctx));
		return MHD_YES;
	}
	if (*upload_size) {
		hcr_buf_append(&ctx->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}

	if (strcmp(url, "/slow") == 0) {
		int ms;

		for (ms = 0; ms < SLOW_MAX_MS && !atomic_load(&stopping_); ms += 10)
			usleep(10 * 1000);
		return reply(c, 200, "late", 4);
	}
	if (strcmp(url, "/big") == 0) {
		char *big = malloc(BIG_BYTES);

		memset(big, 'b', BIG_BYTES);
		ret = reply(c, 200, big, BIG_BYTES);
		free(big);
		return ret;
	}
	if (strcmp(url, "/big-chunked") == 0) {
		struct MHD_Response *r = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, (size_t)16 * 1024, chunked_reader, NULL, NULL);

		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/unavailable") == 0)
		return reply(c, 503, "{\"message\":\"slow down\"}", 23);

	/* Everything else echoes the request. */
	{
		json_t *headers = json_object();
		const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "i");
		json_t *doc;
		char *text;

		MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, headers);
		doc = json_pack("{s:s, s:s, s:s#, s:o, s:s?}", "method", method, "path", url,
				"body", ctx->body.data ? ctx->body.data : "", ctx->body.len,
				"headers", headers, "i", q);
		text = json_dumps(doc, JSON_COMPACT);
		ret = reply(c, 200, text, strlen(text));
		free(text);
		json_decref(doc);
		return ret;
	}
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (ctx) {
		hcr_buf_free(&ctx->body);
		free(ctx);
		*con_cls = NULL;
	}
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&connections_, 1);
}

static int server_start(void **state)
{
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *info;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					   MHD_USE_POLL | MHD_USE_ERROR_LOG,
				   0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
				   MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				   MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
	if (!daemon_)
		return -1;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	port_ = info ? info->port : 0;
	return port_ ? 0 : -1;
}

static int server_stop(void **state)
{
	(void)state;
	atomic_store(&stopping_, 1);
	MHD_stop_daemon(daemon_);
	return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static char *url(const char *path)
{
	return hcr_sprintf("http://127.0.0.1:%u%s", port_, path);
}

/* A port with nothing listening: bound, then closed again. */
static unsigned short closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/*
 * A one-shot raw server for replies libmicrohttpd will not produce: accepts
 * one connection, reads the request head, writes `reply` verbatim, closes.
 */
struct raw {
	int fd;
	const char *reply;
	pthread_t thread;
};

static void *raw_serve(void *arg)
{
	struct raw *r = arg;
	char buf[4096];
	size_t got = 0;
	int c = accept(r->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	if (write(c, r->reply, strlen(r->reply)) < 0)
		perror("raw server write");
	close(c);
	return NULL;
}

static unsigned short raw_start(struct raw *r, const char *reply)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->reply = reply;
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(r->fd, 1), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pthread_create(&r->thread, NULL, raw_serve, r), 0);
	return ntohs(sin.sin_port);
}

static void raw_stop(struct raw *r)
{
	pthread_join(r->thread, NULL);
	close(r->fd);
}

/* What one callback saw; everything is copied out of the borrowed response. */
struct result {
	int calls;
	int status;
	long http_status;
	char *body;
	size_t body_len;
	char *retry_after;
	hcr_error err;
	double seconds;
	int order;
};

static int completions_; /* callbacks so far in the current test */

static void result_clear(struct result *r)
{
	free(r->body);
	free(r->retry_after);
	memset(r, 0, sizeof(*r));
}

static void record(int status, const hcr_http_response *resp, const hcr_error *err, void *payload)
{
	struct result *r = payload;

	r->calls++;
	r->order = ++completions_;
	r->status = status;
	assert_non_null(resp);
	assert_non_null(resp->body);
	r->http_status = resp->status;
	free(r->body);
	r->body = hcr_strndup(resp->body, resp->body_len);
	r->body_len = resp->body_len;
	free(r->retry_after);
	r->retry_after = hcr_strdup(hcr_http_header_get(resp, "retry-after"));
	r->seconds = resp->seconds;
	if (err)
		r->err = *err;
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Runs the loop until `want` callbacks have arrived or `seconds` have passed. */
static void run_until(struct ev_loop *loop, int want, double seconds)
{
	double deadline = ev_time() + seconds;
	ev_timer watchdog;

	/* Wakes ev_run now and then, so that the deadline is noticed. */
	ev_timer_init(&watchdog, tick, 0.05, 0.05);
	ev_timer_start(loop, &watchdog);
	while (completions_ < want && ev_time() < deadline)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &watchdog);
}

static void run_for(struct ev_loop *loop, double seconds)
{
	run_until(loop, 1 << 30, seconds);
}

struct fixture {
	struct ev_loop *loop;
	hcr_http *http;
};

static void fixture_open(struct fixture *f, const hcr_http_opts *opts)
{
	hcr_error err;

	completions_ = 0;
	f->loop = ev_loop_new(0);
	assert_non_null(f->loop);
	if (hcr_http_new(&f->http, f->loop, opts, &err) != HCR_OK)
		fail_msg("hcr_http_new: %s", err.message);
}

static void fixture_close(struct fixture *f)
{
	hcr_http_free(f->http);
	ev_loop_destroy(f->loop);
}

static void send_ok(hcr_http *http, const hcr_http_request *req, hcr_http_cb cb, void *payload)
{
	hcr_error err;
	int rc = hcr_http_send(http, req, cb, payload, &err);

	if (rc != HCR_EAGAIN)
		fail_msg("hcr_http_send %s %s: %d %s", req->method, req->url, rc, err.message);
}

/* One request, run to completion. */
static void fetch(struct fixture *f, const hcr_http_request *req, struct result *r)
{
	int want = completions_ + 1;

	send_ok(f->http, req, record, r);
	run_until(f->loop, want, 10);
	assert_int_equal(r->calls, 1);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_http__methods_round_trip_body_and_headers(void **state)
{
	static const struct {
		const char *method;
		const char *body;
	} cases[] = {
		{"GET", NULL},
		{"GET", "{\"filter\":1}"},
		{"POST", "{\"name\":\"a\"}"},
		{"POST", NULL},
		{"PUT", "x=1&y=2"},
		{"PATCH", "[1,2,3]"},
		{"DELETE", NULL},
		{"DELETE", "{\"force\":true}"},
	};
	struct fixture f;
	size_t i;

	(void)state;
	fixture_open(&f, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_http_header hdrs[] = {{"X-Amz-Target", "Service.Op"},
					  {"Content-Type", "application/json"},
					  {"X-Empty", ""}};
		char *u = url("/echo?i=7");
		hcr_http_request req = {.method = cases[i].method,
					.url = u,
					.headers = hdrs,
					.nheaders = 3,
					.body = cases[i].body,
					.body_len = cases[i].body ? strlen(cases[i].body) : 0};
		struct result r = {0};
		json_t *doc, *h;
		json_error_t jerr;

		fetch(&f, &req, &r);
		assert_int_equal(r.status, HCR_OK);
		assert_int_equal(r.http_status, 200);
		doc = json_loads(r.body, 0, &jerr);
		if (!doc)
			fail_msg("%s: not JSON: %s", cases[i].method, r.body);
		h = json_object_get(doc, "headers");
		assert_string_equal(json_string_value(json_object_get(doc, "method")),
				    cases[i].method);
		assert_string_equal(json_string_value(json_object_get(doc, "path")), "/echo");
		assert_string_equal(json_string_value(json_object_get(doc, "i")), "7");
		assert_string_equal(json_string_value(json_object_get(doc, "body")),
				    cases[i].body ? cases[i].body : "");
		assert_string_equal(json_string_value(json_object_get(h, "x-amz-target")),
				    "Service.Op");
		assert_string_equal(json_string_value(json_object_get(h, "content-type")),
				    "application/json");
		assert_string_equal(json_string_value(json_object_get(h, "x-empty")), "");
		assert_true(strncmp(json_string_value(json_object_get(h, "user-agent")), "hcr/",
				    4) == 0);
		/* A body-carrying method always says how long its body is, even when empty. */
		if (cases[i].body || strcmp(cases[i].method, "POST") == 0)
			assert_non_null(json_object_get(h, "content-length"));
		json_decref(doc);
		result_clear(&r);
		free(u);
	}
	fixture_close(&f);
}

static void test_http__no_form_content_type_unless_asked(void **state)
{
	struct fixture f;
	char *u = url("/echo");
	hcr_http_request req = {.method = "POST", .url = u, .body = "raw", .body_len = 3};
	struct result r = {0};
	json_t *doc;

	(void)state;
	fixture_open(&f, NULL);
	fetch(&f, &req, &r);
	doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_null(json_object_get(json_object_get(doc, "headers"), "content-type"));
	assert_string_equal(json_string_value(json_object_get(doc, "body")), "raw");
	json_decref(doc);
	result_clear(&r);
	free(u);
	fixture_close(&f);
}

static void test_http__head_has_no_body(void **state)
{
	struct fixture f;
	char *u = url("/echo");
	hcr_http_request req = {.method = "HEAD", .url = u};
	struct result r = {0};

	(void)state;
	fixture_open(&f, NULL);
	fetch(&f, &req, &r);
	assert_int_equal(r.status, HCR_OK);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.body_len, 0);
	result_clear(&r);
	free(u);
	fixture_close(&f);
}

/* A body over 1 MiB makes libcurl send "Expect: 100-continue"; the 100 must not leak through. */
static void test_http__large_body_after_100_continue(void **state)
{
	struct fixture f;
	char *u = url("/echo");
	size_t n = (size_t)2 * 1024 * 1024;
	char *body = malloc(n + 1);
	hcr_http_request req = {.method = "PUT", .url = u, .body = body, .body_len = n};
	struct result r = {0};
	json_t *doc;

	(void)state;
	memset(body, 'p', n);
	body[n] = '\0';
	fixture_open(&f, NULL);
	fetch(&f, &req, &r);
	assert_int_equal(r.status, HCR_OK);
	assert_int_equal(r.http_status, 200);
	doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_string_length(json_object_get(doc, "body")), n);
	assert_string_equal(json_string_value(json_object_get(doc, "body")), body);
	json_decref(doc);
	result_clear(&r);
	free(body);
	free(u);
	fixture_close(&f);
}

static void check_503_headers(int status, const hcr_http_response *resp, const hcr_error *err,
			      void *payload)
{
	int *checked = payload;
	size_t i, seen = 0;

	(void)err;
	assert_int_equal(status, HCR_OK);
	assert_int_equal(resp->status, 503);
	assert_string_equal(resp->body, "{\"message\":\"slow down\"}");
	/* Any spelling of the name finds the header; the value has no CR, LF or padding. */
	assert_string_equal(hcr_http_header_get(resp, "Retry-After"), "7");
	assert_string_equal(hcr_http_header_get(resp, "RETRY-AFTER"), "7");
	assert_string_equal(hcr_http_header_get(resp, "retry-after"), "7");
	assert_string_equal(hcr_http_header_get(resp, "X-Request-Id"), "req-123");
	assert_null(hcr_http_header_get(resp, "x-missing"));
	assert_null(hcr_http_header_get(resp, "retry"));
	/* Names are kept as received, and the status line is not a header. */
	for (i = 0; i < resp->nheaders; i++) {
		if (strcmp(resp->headers[i].name, "Retry-After") == 0)
			seen++;
		assert_null(strchr(resp->headers[i].name, '\r'));
		assert_null(strchr(resp->headers[i].value, '\n'));
		assert_true(strncmp(resp->headers[i].name, "HTTP/", 5) != 0);
	}
	assert_int_equal(seen, 1);
	(*checked)++;
	completions_++;
}

static void test_http__status_503_is_a_response_with_headers(void **state)
{
	struct fixture f;
	char *u = url("/unavailable");
	hcr_http_request req = {.method = "GET", .url = u};
	int checked = 0;
	hcr_http_stats st;

	(void)state;
	fixture_open(&f, NULL);
	send_ok(f.http, &req, check_503_headers, &checked);
	run_until(f.loop, 1, 10);
	assert_int_equal(checked, 1);
	hcr_http_get_stats(f.http, &st);
	assert_int_equal(st.failed, 0);
	free(u);
	fixture_close(&f);
}

struct header_case {
	const char *reply;
	const char *name;
	const char *want; /* NULL: must be absent */
};

static void check_headers(int status, const hcr_http_response *resp, const hcr_error *err,
			  void *payload)
{
	const struct header_case *c = payload;
	const char *got = hcr_http_header_get(resp, c->name);

	(void)err;
	assert_int_equal(status, HCR_OK);
	assert_int_equal(resp->status, 200);
	assert_string_equal(resp->body, "ok");
	if (!c->want && got)
		fail_msg("%s: want no value, got \"%s\"", c->name, got);
	if (c->want && (!got || strcmp(got, c->want) != 0))
		fail_msg("%s: want \"%s\", got \"%s\"", c->name, c->want, got ? got : "(null)");
	completions_++;
}

static void test_http__only_final_response_headers_are_kept(void **state)
{
#define FINAL "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final:   padded value \t\r\n"
	static const struct header_case cases[] = {
		{"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" FINAL "\r\nok", "X-Interim", NULL},
		{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" FINAL "\r\nok", "link", NULL},
		{"HTTP/1.1 100 Continue\r\n\r\n" FINAL "\r\nok", "x-final", "padded value"},
		{FINAL "X-Folded: first\r\n  second\r\n\r\nok", "X-Folded", "first second"},
		{FINAL "Empty:\r\n\r\nok", "empty", ""},
	};
#undef FINAL
	struct fixture f;
	size_t i;

	(void)state;
	fixture_open(&f, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw raw;
		char *u = hcr_sprintf("http://127.0.0.1:%u/", raw_start(&raw, cases[i].reply));
		hcr_http_request req = {.method = "GET", .url = u};
		int want = completions_ + 1;

		send_ok(f.http, &req, check_headers, (void *)&cases[i]);
		run_until(f.loop, want, 10);
		assert_int_equal(completions_, want);
		raw_stop(&raw);
		free(u);
	}
	fixture_close(&f);
}

static void test_http__broken_replies_are_transport_errors(void **state)
{
	static const struct {
		const char *reply;
		const char *want;
	} cases[] = {
		{"", "empty reply from server"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "response cut short"},
	};
	struct fixture f;
	size_t i;

	(void)state;
	fixture_open(&f, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw raw;
		char *u = hcr_sprintf("http://127.0.0.1:%u/r", raw_start(&raw, cases[i].reply));
		hcr_http_request req = {.method = "GET", .url = u};
		struct result r = {0};

		fetch(&f, &req, &r);
		raw_stop(&raw);
		assert_int_equal(r.status, HCR_EUPSTREAM);
		assert_int_equal(r.http_status, 0);
		if (!strstr(r.err.message, cases[i].want))
			fail_msg("case %zu: %s", i, r.err.message);
		result_clear(&r);
		free(u);
	}
	fixture_close(&f);
}

static void test_http__timeout_reports_upstream_error(void **state)
{
	static const struct {
		long client_default_ms;
		long request_ms;
		const char *want;
	} cases[] = {
		{0, 300, "timed out after 300 ms"},
		{400, 0, "timed out after 400 ms"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_http_opts opts = {.default_timeout_ms = cases[i].client_default_ms};
		struct fixture f;
		char *u = url("/slow");
		hcr_http_request req = {
			.method = "GET", .url = u, .timeout_ms = cases[i].request_ms};
		struct result r = {0};
		double start, elapsed, limit;

		fixture_open(&f, &opts);
		limit = (double)(cases[i].request_ms ? cases[i].request_ms
						     : cases[i].client_default_ms) /
			1000.0;
		start = ev_time();
		fetch(&f, &req, &r);
		elapsed = ev_time() - start;
		assert_int_equal(r.status, HCR_EUPSTREAM);
		assert_int_equal(r.http_status, 0);
		assert_string_equal(r.err.code, "unavailable");
		if (!strstr(r.err.message, cases[i].want))
			fail_msg("message: %s", r.err.message);
		assert_non_null(strstr(r.err.message, "/slow"));
		assert_non_null(strstr(r.err.detail, "Timeout"));
		if (elapsed < limit - 0.02 || elapsed > limit + 1.0)
			fail_msg("timeout %.3f s fired after %.3f s", limit, elapsed);
		result_clear(&r);
		free(u);
		fixture_close(&f);
	}
}

static void test_http__connection_refused(void **state)
{
	struct fixture f;
	unsigned short dead = closed_port();
	char *u = hcr_sprintf("http://127.0.0.1:%u/v1/thing", dead);
	char *want = hcr_sprintf(
		"request to http://127.0.0.1:%u/v1/thing failed: connection refused", dead);
	hcr_http_request req = {.method = "GET", .url = u};
	struct result r = {0};
	hcr_http_stats st;

	(void)state;
	fixture_open(&f, NULL);
	fetch(&f, &req, &r);
	assert_int_equal(r.status, HCR_EUPSTREAM);
	assert_int_equal(r.http_status, 0);
	assert_string_equal(r.err.code, "unavailable");
	assert_string_equal(r.err.message, want);
	assert_non_null(strstr(r.err.detail, "connect"));
	hcr_http_get_stats(f.http, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(hcr_http_inflight(f.http), 0);
	result_clear(&r);
	free(want);
	free(u);
	fixture_close(&f);
}

static void test_http__response_cap(void **state)
{
	/* With a Content-Length libcurl refuses up front; chunked, the write callback stops it. */
	static const char *const paths[] = {"/big", "/big-chunked"};
	hcr_http_opts opts = {.max_response_bytes = (size_t)64 * 1024};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct fixture f;
		char *u = url(paths[i]);
		hcr_http_request req = {.method = "GET", .url = u};
		struct result r = {0};

		fixture_open(&f, &opts);
		fetch(&f, &req, &r);
		assert_int_equal(r.status, HCR_EUPSTREAM);
		assert_int_equal(r.http_status, 0);
		assert_int_equal(r.body_len, 0);
		if (!strstr(r.err.message, "response larger than 65536 bytes"))
			fail_msg("%s: %s", paths[i], r.err.message);
		result_clear(&r);
		free(u);
		fixture_close(&f);
	}

	/* HEAD of something bigger than the cap is fine: no body comes. */
	{
		struct fixture f;
		char *u = url("/big");
		hcr_http_request req = {.method = "HEAD", .url = u};
		struct result r = {0};

		fixture_open(&f, &opts);
		fetch(&f, &req, &r);
		if (r.status != HCR_OK)
			fail_msg("HEAD /big: %s", r.err.message);
		assert_int_equal(r.http_status, 200);
		result_clear(&r);
		free(u);
		fixture_close(&f);
	}

	/* Under the cap the same body arrives whole. */
	{
		hcr_http_opts roomy = {.max_response_bytes = BIG_BYTES};
		struct fixture f;
		char *u = url("/big-chunked");
		hcr_http_request req = {.method = "GET", .url = u};
		struct result r = {0};

		fixture_open(&f, &roomy);
		fetch(&f, &req, &r);
		assert_int_equal(r.status, HCR_OK);
		assert_int_equal(r.body_len, BIG_BYTES);
		assert_int_equal(r.body[BIG_BYTES - 1], 'c');
		result_clear(&r);
		free(u);
		fixture_close(&f);
	}
}

static void test_http__concurrent_requests_complete_once(void **state)
{
	enum { N = 200 };
	hcr_http_opts opts = {.max_connections = 32, .max_host_connections = 16};
	struct fixture f;
	struct result *r = hcr_calloc(N, sizeof(*r));
	char *urls[N];
	int before = atomic_load(&connections_);
	hcr_http_stats st;
	int i;

	(void)state;
	fixture_open(&f, &opts);
	for (i = 0; i < N; i++) {
		char path[32];
		hcr_http_request req = {.method = "POST", .body = path};

		snprintf(path, sizeof(path), "/echo?i=%d", i);
		urls[i] = url(path);
		req.url = urls[i];
		req.body_len = strlen(path);
		send_ok(f.http, &req, record, &r[i]);
	}
	assert_int_equal(hcr_http_inflight(f.http), N);
	run_until(f.loop, N, 30);
	for (i = 0; i < N; i++) {
		char want[64];

		if (r[i].calls != 1 || r[i].status != HCR_OK)
			fail_msg("request %d: %d calls, status %d: %s", i, r[i].calls, r[i].status,
				 r[i].err.message);
		snprintf(want, sizeof(want), "\"i\":\"%d\"", i);
		assert_non_null(strstr(r[i].body, want));
		result_clear(&r[i]);
		free(urls[i]);
	}
	hcr_http_get_stats(f.http, &st);
	assert_int_equal(st.started, N);
	assert_int_equal(st.finished, N);
	assert_int_equal(st.failed, 0);
	assert_int_equal(hcr_http_inflight(f.http), 0);
	/* The per-host limit holds: 200 requests over at most 16 connections. */
	assert_true(atomic_load(&connections_) - before <= 16);
	assert_true(st.connections >= 1 && st.connections <= 16);
	free(r);
	fixture_close(&f);
}

static void test_http__sequential_requests_reuse_connections(void **state)
{
	hcr_http_opts opts = {.max_host_connections = 2};
	struct fixture f;
	char *u = url("/echo");
	int before = atomic_load(&connections_), opened, i;
	hcr_http_stats st;

	(void)state;
	fixture_open(&f, &opts);
	for (i = 0; i < 100; i++) {
		hcr_http_request req = {.method = i % 2 ? "GET" : "POST",
					.url = u,
					.body = i % 2 ? NULL : "{}",
					.body_len = i % 2 ? 0 : 2};
		struct result r = {0};

		fetch(&f, &req, &r);
		assert_int_equal(r.http_status, 200);
		result_clear(&r);
	}
	opened = atomic_load(&connections_) - before;
	hcr_http_get_stats(f.http, &st);
	if (opened < 1 || opened > 2)
		fail_msg("100 sequential requests opened %d connections", opened);
	assert_int_equal(st.connections, (unsigned long long)opened);
	free(u);
	fixture_close(&f);
}

/* The first callback starts a second request, whose callback starts a third. */
struct chain {
	hcr_http *http;
	char *u;
	int step;
	int statuses[3];
};

static void chain_cb(int status, const hcr_http_response *resp, const hcr_error *err, void *payload)
{
	struct chain *c = payload;
	hcr_http_request req = {.method = "GET", .url = c->u};
	hcr_error e;

	(void)err;
	c->statuses[c->step] = (int)resp->status;
	assert_int_equal(status, HCR_OK);
	c->step++;
	completions_++;
	if (c->step < 3)
		assert_int_equal(hcr_http_send(c->http, &req, chain_cb, c, &e), HCR_EAGAIN);
}

static void test_http__request_started_from_callback(void **state)
{
	struct fixture f;
	struct chain c = {0};
	hcr_http_request req;
	hcr_http_stats st;

	(void)state;
	fixture_open(&f, NULL);
	c.http = f.http;
	c.u = url("/echo");
	req = (hcr_http_request){.method = "GET", .url = c.u};
	send_ok(f.http, &req, chain_cb, &c);
	run_until(f.loop, 3, 10);
	assert_int_equal(c.step, 3);
	assert_int_equal(c.statuses[0], 200);
	assert_int_equal(c.statuses[2], 200);
	hcr_http_get_stats(f.http, &st);
	assert_int_equal(st.started, 3);
	assert_int_equal(st.finished, 3);
	free(c.u);
	fixture_close(&f);
}

/* Cancelled callbacks: each once, and no new request may start while the client goes away. */
struct cancelled {
	hcr_http *http;
	const char *u;
	int calls;
	int status;
	long http_status;
	int resend_rc;
	char message[512];
};

static void cancelled_cb(int status, const hcr_http_response *resp, const hcr_error *err,
			 void *payload)
{
	struct cancelled *c = payload;
	hcr_http_request req = {.method = "GET", .url = c->u};
	hcr_error e;

	c->calls++;
	c->status = status;
	c->http_status = resp->status;
	snprintf(c->message, sizeof(c->message), "%s", err ? err->message : "");
	c->resend_rc = hcr_http_send(c->http, &req, cancelled_cb, c, &e);
}

static void test_http__free_cancels_requests_in_flight(void **state)
{
	enum { N = 8 };
	struct fixture f;
	struct cancelled c[N];
	char *u = url("/slow");
	int i;

	(void)state;
	fixture_open(&f, NULL);
	memset(c, 0, sizeof(c));
	for (i = 0; i < N; i++) {
		hcr_http_request req = {.method = "GET", .url = u};

		c[i].http = f.http;
		c[i].u = u;
		send_ok(f.http, &req, cancelled_cb, &c[i]);
		/* Half get connected and sent; the rest never see the loop. */
		if (i == N / 2 - 1)
			run_for(f.loop, 0.3);
	}
	assert_int_equal(hcr_http_inflight(f.http), N);
	hcr_http_free(f.http);
	f.http = NULL;
	for (i = 0; i < N; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_int_equal(c[i].status, HCR_EUPSTREAM);
		assert_int_equal(c[i].http_status, 0);
		if (!strstr(c[i].message, "request cancelled"))
			fail_msg("request %d: %s", i, c[i].message);
		assert_int_not_equal(c[i].resend_rc, HCR_EAGAIN);
	}
	/* Nothing is left to fire on the loop afterwards. */
	run_for(f.loop, 0.1);
	for (i = 0; i < N; i++)
		assert_int_equal(c[i].calls, 1);
	free(u);
	fixture_close(&f);
}

static void test_http__errors_never_show_query_or_credentials(void **state)
{
	hcr_http_opts opts = {.max_response_bytes = 1024, .default_timeout_ms = 200};
	unsigned short dead = closed_port();
	char *cases[4];
	struct fixture f;
	size_t i;

	(void)state;
	cases[0] = hcr_sprintf("http://127.0.0.1:%u/refused?X-Amz-Signature=s3cr3tsig&a=1", dead);
	cases[1] = hcr_sprintf("http://127.0.0.1:%u/slow?X-Amz-Security-Token=s3cr3ttok", port_);
	cases[2] = hcr_sprintf("http://127.0.0.1:%u/big?sig=s3cr3tbig", port_);
	cases[3] = hcr_sprintf("http://admin:s3cr3tpw@127.0.0.1:%u/x?token=s3cr3t", dead);
	fixture_open(&f, &opts);
	for (i = 0; i < 4; i++) {
		hcr_http_header hdrs[] = {{"Authorization", "Bearer s3cr3thdr"}};
		hcr_http_request req = {
			.method = "GET", .url = cases[i], .headers = hdrs, .nheaders = 1};
		struct result r = {0};

		fetch(&f, &req, &r);
		assert_int_equal(r.status, HCR_EUPSTREAM);
		if (strstr(r.err.message, "s3cr3t") || strstr(r.err.detail, "s3cr3t") ||
		    strstr(r.err.hint, "s3cr3t") || strchr(r.err.message, '?') ||
		    strstr(r.err.message, "admin"))
			fail_msg("case %zu leaks: %s / %s", i, r.err.message, r.err.detail);
		/* ... but still says which endpoint failed. */
		assert_non_null(strstr(r.err.message, "http://127.0.0.1:"));
		result_clear(&r);
		free(cases[i]);
	}
	fixture_close(&f);
}

static void never(int status, const hcr_http_response *resp, const hcr_error *err, void *payload)
{
	(void)status;
	(void)resp;
	(void)err;
	(void)payload;
	fail_msg("callback of a request that was refused");
}

static void test_http__invalid_requests_fail_without_callback(void **state)
{
	hcr_http_header bad_value[] = {{"X-Injected", "a\r\nEvil: 1"}};
	hcr_http_header bad_name[] = {{"Bad Name", "v"}};
	struct {
		hcr_http_request req;
		const char *want;
	} cases[] = {
		{{.method = "GET", .url = "not a url"}, "invalid request URL"},
		{{.method = "GET", .url = "ftp://127.0.0.1/x"}, "unsupported URL scheme \"ftp\""},
		{{.method = "GET", .url = "file:///etc/passwd"}, "unsupported URL scheme"},
		{{.method = "G T", .url = "http://127.0.0.1/"}, "invalid request method"},
		{{.method = "GET", .url = "http://127.0.0.1/", .headers = bad_value, .nheaders = 1},
		 "invalid value"},
		{{.method = "GET", .url = "http://127.0.0.1/", .headers = bad_name, .nheaders = 1},
		 "invalid request header name"},
		{{.method = "POST", .url = "http://127.0.0.1/", .body_len = 3}, "body"},
	};
	struct fixture f;
	hcr_http_stats st;
	size_t i;

	(void)state;
	fixture_open(&f, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_error err;
		int rc = hcr_http_send(f.http, &cases[i].req, never, NULL, &err);

		assert_int_equal(rc, HCR_EINVALID);
		if (!strstr(err.message, cases[i].want))
			fail_msg("case %zu: %s", i, err.message);
		assert_null(strstr(err.message, "Evil"));
	}
	run_for(f.loop, 0.05);
	hcr_http_get_stats(f.http, &st);
	assert_int_equal(st.started, 0);
	assert_int_equal(hcr_http_inflight(f.http), 0);
	fixture_close(&f);
}

/* Retry-After as seconds or as an HTTP-date, capped; absent or unreadable is -1. */
static void test_http__retry_after(void **state)
{
	hcr_http_header h = {"retry-after", NULL};
	hcr_http_response resp = {.status = 429, .headers = &h, .nheaders = 1};
	char date[64];
	time_t later = time(NULL) + 120;
	struct tm tm;

	(void)state;
	h.value = "7";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), 7);
	h.value = " 0 ";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), 0);
	h.value = "86400";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), 300);
	h.value = "Wed, 21 Oct 2015 07:28:00 GMT";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), 0);
	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	h.value = date;
	assert_in_range(hcr_http_retry_after_s(&resp, 300), 115, 120);
	h.value = "soon";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), -1);
	h.value = "5s";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), -1);
	h.name = "x-other";
	assert_int_equal(hcr_http_retry_after_s(&resp, 300), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http__methods_round_trip_body_and_headers),
		cmocka_unit_test(test_http__no_form_content_type_unless_asked),
		cmocka_unit_test(test_http__head_has_no_body),
		cmocka_unit_test(test_http__large_body_after_100_continue),
		cmocka_unit_test(test_http__status_503_is_a_response_with_headers),
		cmocka_unit_test(test_http__only_final_response_headers_are_kept),
		cmocka_unit_test(test_http__broken_replies_are_transport_errors),
		cmocka_unit_test(test_http__timeout_reports_upstream_error),
		cmocka_unit_test(test_http__connection_refused),
		cmocka_unit_test(test_http__response_cap),
		cmocka_unit_test(test_http__concurrent_requests_complete_once),
		cmocka_unit_test(test_http__sequential_requests_reuse_connections),
		cmocka_unit_test(test_http__request_started_from_callback),
		cmocka_unit_test(test_http__free_cancels_requests_in_flight),
		cmocka_unit_test(test_http__errors_never_show_query_or_credentials),
		cmocka_unit_test(test_http__invalid_requests_fail_without_callback),
		cmocka_unit_test(test_http__retry_after),
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
