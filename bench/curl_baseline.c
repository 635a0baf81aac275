/*
 * The libcurl-alone baseline for bench/run.sh: issues the requests hcr's fake
 * provider sends when it observes clusters (GET /v1/clusters/{name} with a
 * bearer token), through libcurl's multi socket interface on a libev loop,
 * the same shape as src/http.c, at the same concurrency and the same
 * token-bucket rate limit, and reports its own CPU time per request.
 *
 * It does what libcurl needs to do the requests and nothing else: no JSON
 * parsing, no database, no engine. The ratio hcr CPU / this CPU is the
 * overhead of everything hcr does around a poll.
 *
 *   curl_baseline --url http://127.0.0.1:PORT --count N [--prefix c-]
 *                 [--clusters M] [--concurrency C] [--rate R] [--burst B]
 *                 [--token fake-token] [--timeout-ms 30000]
 *
 * Request i asks for <prefix><i mod M>. --rate 0 means no rate limit. One
 * JSON line on stdout: requests, ok, errors, wall_s, cpu_user_s, cpu_sys_s,
 * cpu_per_req_us, rps, connections.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct sock {
	ev_io io;
	struct sock *next, *prev;
};

struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	size_t len, cap;
};

static struct {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer; /* libcurl's timer */
	ev_timer pacer; /* waits for the rate limiter */
	struct sock *socks;
	CURL *pool[16]; /* reset easy handles kept for reuse, as src/http.c does */
	int npool;
	const char *url, *prefix, *token;
	long count, clusters, concurrency, timeout_ms;
	double rate, burst, tokens, last;
	long started, finished, ok, errors, connections, inflight;
	bool pacing;
} g;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "curl_baseline: %s\n", what);
	exit(2);
}

/* ---- libcurl on libev --------------------------------------------------------------------- */

static void check_done(void);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	(void)loop;
	curl_multi_socket_action(g.multi, w->fd, action, &running);
	check_done();
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(g.loop, &s->io);
			if (s->prev)
				s->prev->next = s->next;
			else
				g.socks = s->next;
			if (s->next)
				s->next->prev = s->prev;
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			die("out of memory");
		s->next = g.socks;
		if (g.socks)
			g.socks->prev = s;
		g.socks = s;
		ev_init(&s->io, io_cb);
		curl_multi_assign(g.multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(g.loop, &s->io);
	ev_io_set(&s->io, fd, events);
	if (events)
		ev_io_start(g.loop, &s->io);
	return 0;
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	int running;

	(void)loop;
	(void)t;
	(void)revents;
	curl_multi_socket_action(g.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	(void)userp;
	ev_timer_stop(g.loop, &g.timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&g.timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(g.loop, &g.timer);
	}
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;

	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 1024;
		char *b;

		while (cap < x->len + len + 1)
			cap *= 2;
		b = realloc(x->body, cap);
		if (!b)
			return 0;
		x->body = b;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, len);
	x->len += len;
	x->body[x->len] = '\0';
	return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userp)
{
	(void)data;
	(void)userp;
	return size * n;
}

/* ---- requests ----------------------------------------------------------------------------- */

static void start_one(void)
{
	struct xfer *x = calloc(1, sizeof(*x));
	char url[512], auth[256];
	long i = g.started;

	if (!x)
		die("out of memory");
	x->easy = g.npool > 0 ? g.pool[--g.npool] : curl_easy_init();
	if (!x->easy)
		die("curl_easy_init failed");
	snprintf(url, sizeof(url), "%s/v1/clusters/%s%ld", g.url, g.prefix, i % g.clusters);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.token);
	x->hdrs = curl_slist_append(NULL, auth);
	x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json");
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (void *)x);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, g.timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "hcr-bench-baseline");
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, (void *)x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
	if (curl_multi_add_handle(g.multi, x->easy) != CURLM_OK)
		die("curl_multi_add_handle failed");
	g.started++;
	g.inflight++;
}

/* The same token bucket as src/ratelimit.c: `rate` per second, up to `burst` saved. */
static bool take(double now, double *wait)
{
	if (g.rate <= 0)
		return true;
	if (now > g.last) {
		g.tokens += (now - g.last) * g.rate;
		if (g.tokens > g.burst)
			g.tokens = g.burst;
		g.last = now;
	}
	if (g.tokens >= 1.0) {
		g.tokens -= 1.0;
		return true;
	}
	*wait = (1.0 - g.tokens) / g.rate + 1e-6;
	return false;
}

/* Starts as many requests as the concurrency and the rate limit allow. */
static void fill(void)
{
	double wait = 0;

	if (g.pacing)
		return;
	while (g.started < g.count && g.inflight < g.concurrency) {
		if (!take(ev_now(g.loop), &wait)) {
			g.pacing = true;
			ev_timer_set(&g.pacer, wait, 0.0);
			ev_timer_start(g.loop, &g.pacer);
			return;
		}
		start_one();
	}
}

static void pacer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_now_update(loop);
	g.pacing = false;
	fill();
}

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(g.multi, &left)) != NULL) {
		struct xfer *x = NULL;
		long status = 0, conns = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &conns);
		g.connections += conns;
		if (m->data.result == CURLE_OK && status == 200 && x->len > 0)
			g.ok++;
		else
			g.errors++;
		curl_multi_remove_handle(g.multi, x->easy);
		if (g.npool < (int)(sizeof(g.pool) / sizeof(g.pool[0]))) {
			curl_easy_reset(x->easy);
			g.pool[g.npool++] = x->easy;
		} else {
			curl_easy_cleanup(x->easy);
		}
		curl_slist_free_all(x->hdrs);
		free(x->body);
		free(x);
		g.finished++;
		g.inflight--;
	}
	if (g.finished == g.count)
		ev_break(g.loop, EVBREAK_ALL);
	else
		fill();
}

static double cpu_of(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct rusage r0, r1;
	double t0, t1, user, sys;
	int i;

	g.prefix = "c-";
	g.token = "fake-token";
	g.concurrency = 500;
	g.burst = 40;
	g.timeout_ms = 30000;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--url") == 0)
			g.url = v;
		else if (strcmp(k, "--prefix") == 0)
			g.prefix = v;
		else if (strcmp(k, "--token") == 0)
			g.token = v;
		else if (strcmp(k, "--count") == 0)
			g.count = atol(v);
		else if (strcmp(k, "--clusters") == 0)
			g.clusters = atol(v);
		else if (strcmp(k, "--concurrency") == 0)
			g.concurrency = atol(v);
		else if (strcmp(k, "--rate") == 0)
			g.rate = atof(v);
		else if (strcmp(k, "--burst") == 0)
			g.burst = atof(v);
		else if (strcmp(k, "--timeout-ms") == 0)
			g.timeout_ms = atol(v);
		else
			die("unknown option");
	}
	if (!g.url || g.count <= 0 || g.concurrency <= 0)
		die("usage: curl_baseline --url URL --count N [--concurrency C] [--rate R] ...");
	if (g.clusters <= 0)
		g.clusters = g.count;
	if (g.burst < 1)
		g.burst = 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	g.loop = ev_default_loop(0);
	g.multi = curl_multi_init();
	curl_multi_setopt(g.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(g.multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	{
		long conns = g.concurrency < 1024 ? g.concurrency : 1024;

		curl_multi_setopt(g.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
		curl_multi_setopt(g.multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
		curl_multi_setopt(g.multi, CURLMOPT_MAXCONNECTS, conns);
	}
	ev_init(&g.timer, timer_cb);
	ev_init(&g.pacer, pacer_cb);
	g.tokens = g.burst;
	ev_now_update(g.loop);
	g.last = ev_now(g.loop);

	getrusage(RUSAGE_SELF, &r0);
	t0 = mono();
	fill();
	ev_run(g.loop, 0);
	t1 = mono();
	getrusage(RUSAGE_SELF, &r1);

	user = cpu_of(&r1.ru_utime) - cpu_of(&r0.ru_utime);
	sys = cpu_of(&r1.ru_stime) - cpu_of(&r0.ru_stime);
	printf("{\"requests\": %ld, \"ok\": %ld, \"errors\": %ld, \"wall_s\": %.3f, "
	       "\"cpu_user_s\": %.4f, \"cpu_sys_s\": %.4f, \"cpu_per_req_us\": %.1f, "
	       "\"rps\": %.1f, \"connections\": %ld}\n",
	       g.finished, g.ok, g.errors, t1 - t0, user, sys,
	       (user + sys) / (double)g.finished * 1e6, (double)g.finished / (t1 - t0),
	       g.connections);
	while (g.npool > 0)
		curl_easy_cleanup(g.pool[--g.npool]);
	curl_multi_cleanup(g.multi);
	curl_global_cleanup();
	return g.errors == 0 ? 0 : 1;
}
