/*
 * The CLI's HTTP client: one libcurl easy handle per request (the CLI is
 * short-lived, so there is nothing to pool), the API's error body turned back
 * into an hcr_error, and a Server-Sent Events reader driven through a multi
 * handle so that a watch loop can wake up on its own timer too.
 *
 * Responses are bounded (MAX_BODY); the token goes only into the
 * Authorization header and never into a message. Redirects are not followed,
 * so the token is never sent anywhere but the configured URL.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hcr/cli.h"
#include "hcr/version.h"

#define MAX_BODY      ((size_t)64 * 1024 * 1024)
#define MAX_SSE_EVENT ((size_t)4 * 1024 * 1024)

/* ---- signals ----------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void hcr_cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool hcr_cli_interrupted(void)
{
	return interrupted != 0;
}

double hcr_cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- URLs -------------------------------------------------------------------------------- */

static void escape(hcr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			hcr_buf_append(b, s, 1);
		} else {
			char enc[3] = {'%', hex[c >> 4], hex[c & 15]};

			hcr_buf_append(b, enc, 3);
		}
	}
}

void hcr_cli_query(hcr_buf *path, const char *key, const char *value)
{
	if (!value)
		return;
	hcr_buf_puts(path, path->data && strchr(path->data, '?') ? "&" : "?");
	escape(path, key);
	hcr_buf_puts(path, "=");
	escape(path, value);
}

void hcr_cli_path_segment(hcr_buf *path, const char *s)
{
	escape(path, s);
}

/* ---- errors ------------------------------------------------------------------------------ */

void hcr_cli_print_error(const hcr_error *err)
{
	char *m = hcr_cli_clean(err->message), *d = hcr_cli_clean(err->detail),
	     *h = hcr_cli_clean(err->hint);

	fprintf(stderr, "hcr: %s\n", m);
	if (*d)
		fprintf(stderr, "  detail: %s\n", d);
	if (*h)
		fprintf(stderr, "  hint: %s\n", h);
	free(m);
	free(d);
	free(h);
}

static int status_of(long http)
{
	if (http == 404)
		return HCR_ENOTFOUND;
	if (http == 409 || http == 412 || http == 428)
		return HCR_ECONFLICT;
	if (http == 401 || http == 403)
		return HCR_EDENIED;
	if (http >= 500)
		return HCR_EUPSTREAM;
	if (http >= 400)
		return HCR_EINVALID;
	return HCR_ERROR;
}

static void copy_member(char *dst, size_t size, const json_t *obj, const char *key)
{
	const char *v = hcr_cli_str(obj, key);

	snprintf(dst, size, "%s", v ? v : "");
}

/* Fills `err` from an error answer: the API's error body, or what there is. */
static int answer_error(const hcr_cli *cli, const char *path, const hcr_cli_resp *r, hcr_error *err)
{
	const json_t *e = r->json ? json_object_get(r->json, "error") : NULL;

	hcr_error_clear(err);
	if (json_is_object(e) && hcr_cli_str(e, "message")) {
		copy_member(err->code, sizeof(err->code), e, "code");
		copy_member(err->message, sizeof(err->message), e, "message");
		copy_member(err->detail, sizeof(err->detail), e, "detail");
		copy_member(err->hint, sizeof(err->hint), e, "hint");
	} else {
		hcr_error_set(err, HCR_ERROR, "http", "hcr at %s answered HTTP %ld", cli->url,
			      r->status);
		if (r->body.len)
			hcr_error_detail(err, "%.200s", r->body.data);
		if (r->status == 404)
			hcr_error_hint(err, "is %s an hcr API? (it should answer /v1/clusters)",
				       cli->url);
	}
	/* The API's hints name endpoints; a CLI user wants the command. */
	if (r->status == 404 && strncmp(path, "/v1/clusters/", 13) == 0)
		hcr_error_hint(err, "list clusters with \"hcr clusters ls\"");
	if (r->status == 401 && cli->token && !err->detail[0])
		hcr_error_detail(err, "the token came from %s", cli->token_from);
	if (r->status == 401 && !cli->token)
		hcr_error_hint(err,
			       "no API token was given: use --token, set HCR_TOKEN, or put "
			       "\"token = ...\" in ~/.config/hcr/config (the first admin token "
			       "is in var/admin-token)");
	return status_of(r->status);
}

/* Fills `err` for a request that got no answer. */
static int transport_error(const hcr_cli *cli, CURLcode cc, const char *detail, hcr_error *err)
{
	const char *d = detail && *detail ? detail : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		hcr_error_set(err, HCR_EUPSTREAM, "unreachable", "cannot reach hcr at %s",
			      cli->url);
		hcr_error_detail(err, "%s", d);
		hcr_error_hint(err, "start it with \"make run\" (or \"hcr run\"), or point the CLI "
				    "at it with --url or HCR_URL");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		hcr_error_set(err, HCR_EUPSTREAM, "unreachable", "hcr at %s did not answer in time",
			      cli->url);
		hcr_error_detail(err, "%s", d);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		hcr_error_set(err, HCR_EUPSTREAM, "unreachable", "TLS connection to %s failed",
			      cli->url);
		hcr_error_detail(err, "%s", d);
		hcr_error_hint(err, "name hcr's CA certificate with HCR_CA_FILE, or skip the check "
				    "with --insecure (not for production)");
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		hcr_error_set(err, HCR_EINVALID, "unreachable", "invalid hcr URL \"%s\"", cli->url);
		hcr_error_detail(err, "%s", d);
		hcr_error_hint(err, "use http://HOST:PORT or https://HOST:PORT");
		break;
	case CURLE_WRITE_ERROR:
		hcr_error_set(err, HCR_EUPSTREAM, "unreachable",
			      "the answer from hcr is larger than %zu MiB", MAX_BODY >> 20);
		break;
	default:
		hcr_error_set(err, HCR_EUPSTREAM, "unreachable", "request to hcr at %s failed",
			      cli->url);
		hcr_error_detail(err, "%s", d);
		if (strncmp(cli->url, "http://", 7) == 0)
			hcr_error_hint(err, "if hcr serves TLS, use an https:// URL");
	}
	return HCR_EUPSTREAM;
}

/* ---- requests ---------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	hcr_buf *b = payload;
	size_t len = size * n;

	if (len > MAX_BODY - b->len)
		return 0; /* CURLE_WRITE_ERROR */
	hcr_buf_append(b, data, len);
	return len;
}

/* ETag: "7" (or W/"7") -> 7. */
static size_t on_header(char *data, size_t size, size_t n, void *payload)
{
	hcr_cli_resp *r = payload;
	size_t len = size * n;

	if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		char v[64];
		const char *p;

		snprintf(v, sizeof(v), "%.*s", (int)(len - 5 < 63 ? len - 5 : 63), data + 5);
		p = strchr(v, '"');
		if (p)
			r->version = strtoll(p + 1, NULL, 10);
	}
	return len;
}

/* A handle with what every request shares: URL, TLS, token, user agent. */
static CURL *easy_new(const hcr_cli *cli, const char *path, struct curl_slist **hdrs, char *errbuf)
{
	CURL *h = curl_easy_init();
	char *url, *auth, *agent;

	if (!h) {
		fprintf(stderr, "hcr: cannot create a libcurl handle\n");
		abort();
	}
	url = hcr_sprintf("%s%s", cli->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	agent = hcr_sprintf("hcr-cli/%s", hcr_version());
	curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
	free(agent);
	if (cli->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cli->ca_file);
	if (cli->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cli->token) {
		auth = hcr_sprintf("Authorization: Bearer %s", cli->token);
		*hdrs = curl_slist_append(*hdrs, auth);
		/* Wipe our copy; curl keeps its own for the request. */
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	return h;
}

int hcr_cli_request(const hcr_cli *cli, const char *method, const char *path, const json_t *body,
		    long long if_match, hcr_cli_resp *out, hcr_error *err)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE], *text = NULL, line[64];
	CURL *h;
	CURLcode cc;
	int rc = HCR_OK;

	memset(out, 0, sizeof(*out));
	out->version = -1;
	hcr_error_clear(err);
	h = easy_new(cli, path, &hdrs, errbuf);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	}
	if (if_match >= 0) {
		snprintf(line, sizeof(line), "If-Match: \"%lld\"", if_match);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = transport_error(cli, cc, errbuf, err);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	if (out->body.len)
		out->json = json_loadb(out->body.data, out->body.len, 0, NULL);
	if (out->status < 200 || out->status > 299) {
		rc = answer_error(cli, path, out, err);
	} else if (out->body.len && !out->json) {
		rc = hcr_error_set(err, HCR_EUPSTREAM, "http",
				   "hcr at %s sent an answer that is not JSON", cli->url);
		hcr_error_detail(err, "%.200s", out->body.data);
	}
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(text);
	return rc;
}

void hcr_cli_resp_free(hcr_cli_resp *r)
{
	hcr_buf_free(&r->body);
	json_decref(r->json);
	r->json = NULL;
}

/* ---- Server-Sent Events ------------------------------------------------------------------ */

struct hcr_cli_sse {
	const hcr_cli *cli;
	char *path;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	bool running;
	long status;
	hcr_buf errbody; /* the body of an error answer */
	hcr_buf line;    /* a line not complete yet */
	hcr_buf data;    /* the event's data lines */
	char event[64];
	long long id, last_id;
	bool too_big;
	hcr_cli_sse_cb cb;
	void *payload;
};

static void sse_dispatch(hcr_cli_sse *s)
{
	json_t *data;

	if (s->id > 0)
		s->last_id = s->id;
	if (s->data.len) {
		data = json_loadb(s->data.data, s->data.len, 0, NULL);
		s->cb(s->last_id, s->event[0] ? s->event : "message", data, s->payload);
		json_decref(data);
	}
	s->data.len = 0;
	s->event[0] = '\0';
}

/* One line of the stream (without its line end), per the EventSource rules. */
static void sse_line(hcr_cli_sse *s, char *line)
{
	char *value = strchr(line, ':');

	if (!*line) {
		sse_dispatch(s);
		return;
	}
	if (value == line)
		return; /* a comment: the server's keep-alive */
	if (value) {
		*value++ = '\0';
		if (*value == ' ')
			value++;
	} else {
		value = line + strlen(line);
	}
	if (strcmp(line, "data") == 0) {
		if (s->data.len + strlen(value) > MAX_SSE_EVENT) {
			s->too_big = true;
			return;
		}
		if (s->data.len)
			hcr_buf_puts(&s->data, "\n");
		hcr_buf_puts(&s->data, value);
	} else if (strcmp(line, "event") == 0) {
		snprintf(s->event, sizeof(s->event), "%s", value);
	} else if (strcmp(line, "id") == 0) {
		s->id = strtoll(value, NULL, 10);
	}
}

static size_t sse_write(char *data, size_t size, size_t n, void *payload)
{
	hcr_cli_sse *s = payload;
	size_t len = size * n, i, start = 0;

	if (!s->status)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200)
		return on_body(data, size, n, &s->errbody);
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		hcr_buf_append(&s->line, data + start, i - start);
		start = i + 1;
		if (s->line.len && s->line.data[s->line.len - 1] == '\r')
			s->line.data[--s->line.len] = '\0';
		sse_line(s, s->line.data); /* allocated by the append, even when empty */
		s->line.len = 0;
		s->line.data[0] = '\0';
	}
	if (start < len) {
		if (s->line.len + (len - start) > MAX_SSE_EVENT)
			return 0;
		hcr_buf_append(&s->line, data + start, len - start);
	}
	return s->too_big ? 0 : len;
}

static void sse_start(hcr_cli_sse *s)
{
	char line[64];

	s->hdrs = NULL;
	s->easy = easy_new(s->cli, s->path, &s->hdrs, s->errbuf);
	s->hdrs = curl_slist_append(s->hdrs, "Accept: text/event-stream");
	if (s->last_id > 0) {
		snprintf(line, sizeof(line), "Last-Event-ID: %lld", s->last_id);
		s->hdrs = curl_slist_append(s->hdrs, line);
	}
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	/* hcr sends a keep-alive comment every 15 s: a minute of silence is a dead stream. */
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	s->status = 0;
	s->errbody.len = 0;
	s->line.len = 0;
	s->data.len = 0;
	s->event[0] = '\0';
	s->id = 0;
	s->too_big = false;
	curl_multi_add_handle(s->multi, s->easy);
	s->running = true;
}

static void sse_stop(hcr_cli_sse *s)
{
	if (!s->easy)
		return;
	curl_multi_remove_handle(s->multi, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->hdrs);
	s->easy = NULL;
	s->hdrs = NULL;
	s->running = false;
}

void hcr_cli_sse_open(hcr_cli_sse **out, const hcr_cli *cli, const char *path, long long last_id,
		      hcr_cli_sse_cb cb, void *payload)
{
	hcr_cli_sse *s = hcr_calloc(1, sizeof(*s));

	s->cli = cli;
	s->path = hcr_strdup(path);
	s->last_id = last_id;
	s->cb = cb;
	s->payload = payload;
	s->multi = curl_multi_init();
	if (!s->multi) {
		fprintf(stderr, "hcr: cannot create a libcurl multi handle\n");
		abort();
	}
	sse_start(s);
	*out = s;
}

void hcr_cli_sse_reopen(hcr_cli_sse *s)
{
	sse_stop(s);
	sse_start(s);
}

long long hcr_cli_sse_last_id(const hcr_cli_sse *s)
{
	return s->last_id;
}

/* The stream ended: say why. */
static int sse_ended(hcr_cli_sse *s, CURLcode cc, hcr_error *err)
{
	hcr_cli_resp r = {0};
	int rc;

	if (s->status && s->status != 200) {
		r.status = s->status;
		r.json =
			json_loadb(s->errbody.data ? s->errbody.data : "", s->errbody.len, 0, NULL);
		r.body = s->errbody;
		rc = answer_error(s->cli, s->path, &r, err);
		json_decref(r.json);
		return rc;
	}
	if (s->too_big)
		return hcr_error_set(err, HCR_EUPSTREAM, "http",
				     "an event from hcr is larger than %zu MiB",
				     MAX_SSE_EVENT >> 20);
	if (cc != CURLE_OK)
		return transport_error(s->cli, cc, s->errbuf, err);
	return hcr_error_set(err, HCR_EUPSTREAM, "closed", "hcr closed the event stream");
}

int hcr_cli_sse_poll(hcr_cli_sse *s, int timeout_ms, hcr_error *err)
{
	CURLMsg *msg;
	int running = 0, left = 0;

	hcr_error_clear(err);
	if (!s->running)
		return hcr_error_set(err, HCR_EUPSTREAM, "closed", "the event stream is closed");
	curl_multi_perform(s->multi, &running);
	if (running)
		curl_multi_poll(s->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(s->multi, &running);
	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->easy) {
			int rc = sse_ended(s, msg->data.result, err);

			s->running = false;
			return rc;
		}
	}
	return HCR_OK;
}

void hcr_cli_sse_free(hcr_cli_sse *s)
{
	if (!s)
		return;
	sse_stop(s);
	curl_multi_cleanup(s->multi);
	hcr_buf_free(&s->errbody);
	hcr_buf_free(&s->line);
	hcr_buf_free(&s->data);
	free(s->path);
	free(s);
}
