/*
 * The "fake" provider: hcr's provider interface over HTTP to the fake cloud
 * (tests/emulators/fakecloud.py, docs/fakecloud.md), so that the reconciler's
 * tests and benchmark exercise the same code paths a real cloud would:
 * non-blocking requests through hcr_http, bearer auth, operations with
 * handles, busy clusters, throttling, and responses that are not what they
 * should be.
 *
 * Every call allocates one `call` that lives until its callback has run; a
 * list call reuses it for each page. Nothing here keeps state between calls.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/fakecloud.h"
#include "hcr/http.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/provider.h"
#include "hcr/provider_fake.h"

#define LIST_PAGE_SIZE 500
#define LIST_MAX_PAGES 10000 /* a cloud whose list never ends is a broken cloud */
#define SNIPPET_MAX    200   /* how much of an unexpected body goes into an error */

typedef struct fake_provider {
	hcr_provider base; /* first: hcr_provider * and fake_provider * convert */
	hcr_http *http;
	char *endpoint; /* without a trailing slash */
	long timeout_ms;
} fake_provider;

typedef enum {
	CALL_OBSERVE,
	CALL_APPLY,
	CALL_CREATE,
	CALL_DESTROY,
	CALL_POLL,
	CALL_LIST,
	CALL_KUBE,
} call_kind;

typedef struct call {
	fake_provider *fp;
	call_kind kind;
	hcr_provider_cb cb;
	void *payload;
	char *method;
	char *what; /* what the call is about, for messages: cluster "x", operation "op-1" */
	char *auth; /* "Bearer <token>": wiped before it is freed, never logged */
	char *url;
	/* list only */
	char *region;
	char *next;       /* the page token that fetched the current page */
	json_t *clusters; /* accumulated results */
	unsigned int pages;
} call;

/* ---- helpers ---------------------------------------------------------------------------- */

/* Percent-encodes everything but RFC 3986's unreserved characters. New string. */
static char *url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = hcr_malloc(n * 3 + 1), *o = out;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

/* The start of an unexpected body, printable, for err->detail. */
static void snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < SNIPPET_MAX ? len : SNIPPET_MAX;

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)body[i];

		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[n] = '\0';
}

static void call_free(call *k)
{
	if (!k)
		return;
	if (k->auth)
		hcr_crypto_wipe(k->auth, strlen(k->auth));
	free(k->auth);
	free(k->method);
	free(k->what);
	free(k->url);
	free(k->region);
	free(k->next);
	json_decref(k->clusters);
	free(k);
}

/* Runs the callback (exactly once per call) and frees the call. `result` is borrowed. */
static void finish(call *k, int status, json_t *result, const hcr_error *err)
{
	hcr_error ok;

	if (!err) {
		hcr_error_clear(&ok);
		err = &ok;
	}
	k->cb(status, result, err, k->payload);
	call_free(k);
}

/* A 2xx answer that is not what the cloud sends: transient as far as hcr can tell. */
static int unexpected(hcr_error *err, const call *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int unexpected(hcr_error *err, const call *k, const char *fmt, ...)
{
	va_list ap;

	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from the fake cloud for %s", k->what);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return HCR_EUPSTREAM;
}

/*
 * The interface has no error record for a call that could not start, so the
 * reason is logged here, where it is known; the caller sees only the status.
 */
static int not_started(int rc, const hcr_error *err, const char *op)
{
	char quoted[600];

	hcr_log_warn("fake", "request not started op=%s status=%s msg=%s", op, hcr_status_name(rc),
		     hcr_log_quote(quoted, sizeof(quoted), err->message));
	return rc;
}

/*
 * A new call with the credential's bearer token. Fails (the callback will not
 * be called) when the secret has no token.
 */
static int call_new(call **out, hcr_provider *p, const hcr_cluster_ref *c, call_kind kind,
		    const char *what, hcr_provider_cb cb, void *payload, hcr_error *err)
{
	const char *token = json_string_value(json_object_get(c ? c->secret : NULL, "token"));
	call *k;

	*out = NULL;
	if (!token || !*token) {
		hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
			      "the credential has no fake cloud token");
		hcr_error_hint(err, "a \"fake\" credential is {\"token\": \"<bearer token>\"}");
		return HCR_EDENIED;
	}
	k = hcr_calloc(1, sizeof(*k));
	k->fp = (fake_provider *)p;
	k->kind = kind;
	k->cb = cb;
	k->payload = payload;
	k->what = hcr_strdup(what);
	k->auth = hcr_sprintf("Bearer %s", token);
	*out = k;
	return HCR_OK;
}

static void on_response(int status, const hcr_http_response *resp, const hcr_error *herr,
			void *payload);

/* Sends k->method k->url with `body` (may be NULL). On failure the call is still the caller's. */
static int call_send(call *k, const char *body, hcr_error *err)
{
	hcr_http_header headers[3] = {
		{"Authorization", k->auth},
		{"Accept", "application/json"},
		{"Content-Type", "application/json"},
	};
	hcr_http_request req = {0};

	req.method = k->method;
	req.url = k->url;
	req.headers = headers;
	req.nheaders = body ? 3 : 2;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.timeout_ms = k->fp->timeout_ms;
	return hcr_http_send(k->fp->http, &req, on_response, k, err);
}

/* Starts a call: returns HCR_EAGAIN, or an error after freeing the call. */
static int call_start(call *k, const char *method, char *url, json_t *body, hcr_error *err)
{
	char *text = NULL;
	int rc;

	k->method = hcr_strdup(method);
	k->url = url;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
					   "could not serialise the request for %s", k->what);
			call_free(k);
			return rc;
		}
	}
	rc = call_send(k, text, err);
	free(text);
	if (rc != HCR_EAGAIN)
		call_free(k);
	return rc;
}

/* ---- responses -------------------------------------------------------------------------- */

/* A non-2xx answer: hcr's status for it, with the cloud's "<code>: <message>" in detail. */
static int http_failure(hcr_error *err, const call *k, const hcr_http_response *resp, json_t *body)
{
	json_t *e = json_object_get(body, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	long http = resp->status;
	int rc;

	if (http == 409) {
		rc = hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
				   k->kind == CALL_CREATE ? "%s already exists"
							  : "%s is busy with another operation",
				   k->what);
	} else if (http == 429) {
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "the fake cloud throttled the request for %s", k->what);
	} else if (http >= 500 && http <= 599) {
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "the fake cloud failed with HTTP %ld for %s", http, k->what);
	} else if (http == 400 || http == 422) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "the fake cloud refused the request for %s", k->what);
	} else if (http == 404 && k->kind == CALL_KUBE) {
		/* The cluster, or its Kubernetes endpoint, is missing: the detail says which. */
		rc = hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				   "the fake cloud has no Kubernetes endpoint for %s", k->what);
		hcr_error_hint(err, "the fake cloud's PUT /admin/clusters/{name}/kube sets one");
	} else if (http == 404) {
		rc = hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "%s does not exist",
				   k->what);
	} else if (http == 401 || http == 403) {
		rc = hcr_error_set(err, HCR_EDENIED,
				   http == 401 ? HCR_ERR_UNAUTHORIZED : HCR_ERR_FORBIDDEN,
				   "the fake cloud refused the credential for %s", k->what);
		hcr_error_hint(err, "check the token of the cluster's credential");
	} else {
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "unexpected HTTP %ld from the fake cloud for %s", http, k->what);
	}
	if (code && msg) {
		hcr_error_detail(err, "%s: %s", code, msg);
	} else if (code) {
		hcr_error_detail(err, "%s", code);
	} else {
		char text[SNIPPET_MAX + 1];

		snippet(text, sizeof(text), resp->body ? resp->body : "", resp->body_len);
		hcr_error_detail(err, "HTTP %ld: %s", http, text);
	}
	return rc;
}

static int parse_observe(json_t **out, const call *k, json_t *body, hcr_error *err)
{
	const char *status = json_string_value(json_object_get(body, "status"));
	json_t *doc = json_object_get(body, "document");

	if (!status)
		return unexpected(err, k, "\"status\" is missing or not a string");
	if (!json_is_object(doc))
		return unexpected(err, k, "\"document\" is missing or not an object");
	/* UPDATING, CREATING, DELETING: the cloud would refuse changes now. */
	*out = json_pack("{s:b, s:b, s:O}", "exists", 1, "busy", strcmp(status, "ACTIVE") != 0,
			 "document", doc);
	return HCR_OK;
}

static int parse_handle(json_t **out, const call *k, json_t *body, hcr_error *err)
{
	const char *id = json_string_value(json_object_get(body, "id"));

	if (!id || !*id)
		return unexpected(err, k, "the operation's \"id\" is missing");
	*out = json_pack("{s:s}", "handle", id);
	return HCR_OK;
}

static int parse_poll(json_t **out, const call *k, json_t *body, hcr_error *err)
{
	static const char *const states[] = {"running", "succeeded", "failed", "cancelled"};
	const char *state = json_string_value(json_object_get(body, "state"));
	json_t *e = json_object_get(body, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	size_t i;

	for (i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			break;
	if (!state || i == sizeof(states) / sizeof(states[0]))
		return unexpected(err, k, "unknown operation state \"%s\"", state ? state : "");
	if (strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0) {
		*out = json_pack("{s:s}", "state", state);
		return HCR_OK;
	}
	/* A failure always carries a code and message, even when the cloud left them out. */
	*out = json_pack("{s:s, s:{s:s, s:s}}", "state", state, "error", "code",
			 code ? code : "OperationFailed", "message",
			 msg ? msg : "the operation did not succeed");
	return HCR_OK;
}

/* kube_credentials' result; the token is copied into it and never into an error. */
static int parse_kube(json_t **out, const call *k, json_t *body, hcr_error *err)
{
	const char *server = json_string_value(json_object_get(body, "server"));
	const char *token = json_string_value(json_object_get(body, "token"));
	json_t *ca = json_object_get(body, "certificateAuthorityData");
	json_t *expires = json_object_get(body, "expiresAt");

	if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0))
		return unexpected(err, k, "\"server\" is missing or not an http(s) URL");
	if (!token || !*token)
		return unexpected(err, k, "\"token\" is missing or empty");
	if (ca && !json_is_null(ca) && !json_is_string(ca))
		return unexpected(err, k, "\"certificateAuthorityData\" is not a string");
	if (!json_is_number(expires))
		return unexpected(err, k, "\"expiresAt\" is missing or not a number");
	*out = json_pack("{s:s, s:s, s:I}", "server", server, "token", token, "expiresAt",
			 (json_int_t)json_number_value(expires));
	if (*out && json_is_string(ca))
		json_object_set(*out, "certificateAuthorityData", ca);
	return HCR_OK;
}

/*
 * One page of the list: appends its clusters and returns HCR_EAGAIN when the
 * next page was requested, or HCR_OK with *out set after the last page.
 */
static int parse_list_page(json_t **out, call *k, json_t *body, hcr_error *err)
{
	json_t *items = json_object_get(body, "clusters"), *item;
	json_t *nextv = json_object_get(body, "next");
	const char *next = json_string_value(nextv);
	char *escaped, *url;
	size_t i;
	int rc;

	if (!json_is_array(items))
		return unexpected(err, k, "\"clusters\" is missing or not an array");
	if (nextv && !json_is_null(nextv) && !next)
		return unexpected(err, k, "\"next\" is not a string");
	json_array_foreach(items, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		json_t *entry;

		if (!name || !*name)
			return unexpected(err, k, "a cluster without a \"name\"");
		entry = json_pack("{s:s}", "cloudName", name);
		if (entry && k->region)
			json_object_set_new(entry, "region", json_string(k->region));
		json_array_append_new(k->clusters, entry);
	}
	if (!next || !*next) {
		*out = json_pack("{s:O}", "clusters", k->clusters);
		return HCR_OK;
	}
	if (++k->pages >= LIST_MAX_PAGES || (k->next && strcmp(k->next, next) == 0))
		return unexpected(err, k, "the cluster list does not end (page token \"%s\")",
				  next);
	free(k->next);
	k->next = hcr_strdup(next);
	escaped = url_escape(next);
	url = hcr_sprintf("%s/v1/clusters?limit=%d&next=%s", k->fp->endpoint, LIST_PAGE_SIZE,
			  escaped);
	free(escaped);
	free(k->url);
	k->url = url;
	rc = call_send(k, NULL, err);
	return rc == HCR_EAGAIN ? HCR_EAGAIN : HCR_EUPSTREAM;
}

/* Decides a 2xx answer by the call's kind. HCR_EAGAIN: the call goes on (list). */
static int parse_success(json_t **out, call *k, const hcr_http_response *resp, hcr_error *err)
{
	json_error_t jerr;
	json_t *body;
	int rc;

	body = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
	if (!json_is_object(body)) {
		char text[SNIPPET_MAX + 1];

		json_decref(body);
		snippet(text, sizeof(text), resp->body ? resp->body : "", resp->body_len);
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "the fake cloud's answer for %s is not a JSON object", k->what);
		hcr_error_detail(err, "HTTP %ld: %s", resp->status, text);
		return HCR_EUPSTREAM;
	}
	switch (k->kind) {
	case CALL_OBSERVE:
		rc = parse_observe(out, k, body, err);
		break;
	case CALL_POLL:
		rc = parse_poll(out, k, body, err);
		break;
	case CALL_LIST:
		rc = parse_list_page(out, k, body, err);
		break;
	case CALL_KUBE:
		rc = parse_kube(out, k, body, err);
		break;
	default:
		rc = parse_handle(out, k, body, err);
		break;
	}
	json_decref(body);
	if (rc == HCR_OK && !*out)
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "out of memory");
	return rc;
}

static void on_response(int status, const hcr_http_response *resp, const hcr_error *herr,
			void *payload)
{
	call *k = payload;
	json_t *result = NULL, *body;
	hcr_error err;
	int rc;

	hcr_error_clear(&err);
	if (status != HCR_OK || !resp || resp->status == 0) {
		/* Refused, timed out, reset, cancelled: the cloud may come back. */
		if (herr && herr->message[0])
			err = *herr;
		else
			hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "the request to the fake cloud for %s failed", k->what);
		finish(k, HCR_EUPSTREAM, NULL, &err);
		return;
	}
	if (resp->status >= 200 && resp->status <= 299) {
		rc = parse_success(&result, k, resp, &err);
		if (rc == HCR_EAGAIN)
			return; /* the next page is on its way; k lives on */
		finish(k, rc, rc == HCR_OK ? result : NULL, &err);
		json_decref(result);
		return;
	}
	body = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
	if (resp->status == 404 && k->kind == CALL_OBSERVE) {
		const char *code =
			json_string_value(json_object_get(json_object_get(body, "error"), "code"));

		/*
		 * Only the cloud's own "no such cluster" means it does not exist: a 404
		 * from a wrong endpoint or a proxy must not make hcr think a cluster
		 * vanished.
		 */
		if (code && strcmp(code, "ResourceNotFoundException") == 0) {
			json_decref(body);
			result = json_pack("{s:b, s:b}", "exists", 0, "busy", 0);
			finish(k, HCR_OK, result, NULL);
			json_decref(result);
			return;
		}
		json_decref(body);
		unexpected(&err, k, "HTTP 404 without ResourceNotFoundException");
		finish(k, HCR_EUPSTREAM, NULL, &err);
		return;
	}
	rc = http_failure(&err, k, resp, body);
	json_decref(body);
	finish(k, rc, NULL, &err);
}

/* ---- the operations --------------------------------------------------------------------- */

static int fake_create_instance(hcr_provider **out, const hcr_provider_config *cfg, hcr_error *err)
{
	fake_provider *fp;
	size_t n;

	*out = NULL;
	if (!cfg || !cfg->http)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "provider \"fake\" needs an HTTP client");
	if (!cfg->endpoint || !*cfg->endpoint) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
			      "provider \"fake\" needs an endpoint");
		hcr_error_hint(err, "set providers.fake.endpoint (HCR_FAKE_ENDPOINT) to the fake "
				    "cloud's URL, for example http://127.0.0.1:8900");
		return HCR_EINVALID;
	}
	if (strncmp(cfg->endpoint, "http://", 7) != 0 && strncmp(cfg->endpoint, "https://", 8) != 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "the fake cloud's endpoint \"%s\" is not an http(s) URL",
				     cfg->endpoint);
	fp = hcr_calloc(1, sizeof(*fp));
	fp->base.ops = &hcr_fake_provider_ops;
	fp->http = cfg->http;
	fp->timeout_ms = cfg->timeout_ms;
	fp->endpoint = hcr_strdup(cfg->endpoint);
	n = strlen(fp->endpoint);
	while (n > 0 && fp->endpoint[n - 1] == '/')
		fp->endpoint[--n] = '\0';
	*out = &fp->base;
	return HCR_OK;
}

static void fake_free_instance(hcr_provider *p)
{
	fake_provider *fp = (fake_provider *)p;

	if (!fp)
		return;
	free(fp->endpoint);
	free(fp);
}

/* The cluster's name in the cloud: its cloud name, else hcr's name; NULL when it has none. */
static const char *cloud_name(const hcr_cluster_ref *c)
{
	if (c && c->cloud_name && *c->cloud_name)
		return c->cloud_name;
	return c && c->name && *c->name ? c->name : NULL;
}

/*
 * Starts a call about one cluster: `suffix` follows "/v1/clusters/<name>".
 * `body` is borrowed.
 */
static int cluster_call(hcr_provider *p, const hcr_cluster_ref *c, call_kind kind,
			const char *method, const char *suffix, json_t *body, hcr_provider_cb cb,
			void *payload, hcr_error *err)
{
	const char *name = cloud_name(c);
	char *segment, *what;
	call *k;
	int rc;

	if (!name)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the cluster has no name in the fake cloud");
	what = hcr_sprintf("cluster \"%s\"", name);
	rc = call_new(&k, p, c, kind, what, cb, payload, err);
	free(what);
	if (rc != HCR_OK)
		return rc;
	segment = url_escape(name);
	rc = call_start(
		k, method,
		hcr_sprintf("%s/v1/clusters/%s%s", ((fake_provider *)p)->endpoint, segment, suffix),
		body, err);
	free(segment);
	return rc;
}

static int fake_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			void *payload)
{
	hcr_error err;
	int rc = cluster_call(p, c, CALL_OBSERVE, "GET", "", NULL, cb, payload, &err);

	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "observe");
}

static int fake_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		      const char *token, hcr_provider_cb cb, void *payload)
{
	hcr_error err;
	json_t *body;
	int rc;

	if (!op || !op->operation || (op->changes && !json_is_object(op->changes))) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				   "a planned operation needs a name and an object of changes");
		return not_started(rc, &err, "apply");
	}
	body = json_pack("{s:s, s:s?, s:O?, s:s?}", "operation", op->operation, "pool", op->pool,
			 "changes", op->changes, "clientRequestToken", token);
	if (!body) {
		rc = hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL, "out of memory");
		return not_started(rc, &err, "apply");
	}
	if (!op->changes)
		json_object_set_new(body, "changes", json_object());
	rc = cluster_call(p, c, CALL_APPLY, "POST", "/operations", body, cb, payload, &err);
	json_decref(body);
	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "apply");
}

static int fake_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			       hcr_provider_cb cb, void *payload)
{
	hcr_error err;
	char *what, *escaped;
	call *k;
	int rc;

	if (!handle || !*handle) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID, "no operation handle");
		return not_started(rc, &err, "poll_operation");
	}
	what = hcr_sprintf("operation \"%s\"", handle);
	rc = call_new(&k, p, c, CALL_POLL, what, cb, payload, &err);
	free(what);
	if (rc != HCR_OK)
		return not_started(rc, &err, "poll_operation");
	escaped = url_escape(handle);
	rc = call_start(k, "GET",
			hcr_sprintf("%s/v1/operations/%s", ((fake_provider *)p)->endpoint, escaped),
			NULL, &err);
	free(escaped);
	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "poll_operation");
}

static int fake_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		       hcr_provider_cb cb, void *payload)
{
	const char *name = cloud_name(c);
	hcr_error err;
	json_t *body;
	char *what;
	call *k;
	int rc;

	if (!name || (config && !json_is_object(config))) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				   "a cluster to create needs a name and an object of settings");
		return not_started(rc, &err, "create");
	}
	what = hcr_sprintf("cluster \"%s\"", name);
	rc = call_new(&k, p, c, CALL_CREATE, what, cb, payload, &err);
	free(what);
	if (rc != HCR_OK)
		return not_started(rc, &err, "create");
	body = json_pack("{s:s, s:O?, s:s?}", "name", name, "document", config,
			 "clientRequestToken", token);
	if (body && !config)
		json_object_set_new(body, "document", json_object());
	if (!body) {
		call_free(k);
		rc = hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL, "out of memory");
		return not_started(rc, &err, "create");
	}
	rc = call_start(k, "POST", hcr_sprintf("%s/v1/clusters", ((fake_provider *)p)->endpoint),
			body, &err);
	json_decref(body);
	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "create");
}

static int fake_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			void *payload)
{
	hcr_error err;
	int rc = cluster_call(p, c, CALL_DESTROY, "DELETE", "", NULL, cb, payload, &err);

	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "destroy");
}

static int fake_list(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
		     void *payload)
{
	hcr_error err;
	call *k;
	int rc;

	rc = call_new(&k, p, scope, CALL_LIST, "the cluster list", cb, payload, &err);
	if (rc != HCR_OK)
		return not_started(rc, &err, "list");
	k->region = hcr_strdup(scope->region);
	k->clusters = json_array();
	rc = call_start(k, "GET",
			hcr_sprintf("%s/v1/clusters?limit=%d", ((fake_provider *)p)->endpoint,
				    LIST_PAGE_SIZE),
			NULL, &err);
	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "list");
}

static int fake_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
				 void *payload)
{
	json_t *body = json_object(); /* an empty object: a POST with a Content-Length */
	hcr_error err;
	int rc =
		cluster_call(p, c, CALL_KUBE, "POST", "/kube-credentials", body, cb, payload, &err);

	json_decref(body);
	return rc == HCR_EAGAIN ? rc : not_started(rc, &err, "kube_credentials");
}

const hcr_provider_ops hcr_fake_provider_ops = {
	.abi = HCR_PROVIDER_ABI,
	.name = "fake",
	.catalog = &hcr_fake_catalog,
	.create_instance = fake_create_instance,
	.free_instance = fake_free_instance,
	.observe = fake_observe,
	.apply = fake_apply,
	.poll_operation = fake_poll_operation,
	.create = fake_create,
	.destroy = fake_destroy,
	.list = fake_list,
	.kube_credentials = fake_kube_credentials,
};
