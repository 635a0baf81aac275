/*
 * Watches: GET ...?watch=1 answers with a stream of JSON events, one per
 * line ({"type": "ADDED", "object": {...}}), until the server's
 * timeoutSeconds. libcurl hands the body over in chunks of any size; this
 * file splits them into lines as they arrive and parses each line once it is
 * whole, so an event reaches the caller as soon as its newline does and no
 * more than one event is held.
 *
 * An ERROR event carries a Status; code 410 (the resourceVersion is older
 * than the server keeps) is the normal signal to list again, and is reported
 * as such (end->expired). The last resourceVersion seen, from objects and
 * BOOKMARK events, lets the caller resume a watch that simply timed out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "kube_int.h"

#define DEFAULT_WATCH_S 300
/* The transfer's own limit: the server's timeoutSeconds plus this margin. */
#define WATCH_MARGIN_S 30

struct watch {
	hcr_kube *k;
	const hcr_kube_resource *r;
	hcr_kube_event_cb cb;
	void *payload;
	hcr_buf line;
	char *rv; /* last resourceVersion seen */
	size_t events;
	json_t *error; /* the Status of an ERROR event */
	bool bad;      /* a line that is not an event */
	bool stopped;  /* the callback ended it */
};

static bool event_type(const char *s, hcr_kube_event_type *out)
{
	static const struct {
		const char *name;
		hcr_kube_event_type type;
	} types[] = {{"ADDED", HCR_KUBE_ADDED},
		     {"MODIFIED", HCR_KUBE_MODIFIED},
		     {"DELETED", HCR_KUBE_DELETED},
		     {"BOOKMARK", HCR_KUBE_BOOKMARK}};
	size_t i;

	for (i = 0; s && i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(s, types[i].name) == 0) {
			*out = types[i].type;
			return true;
		}
	}
	return false;
}

/* Gives one event to the callback; false when it asks to stop. */
static bool deliver(struct watch *w, hcr_kube_event_type t, json_t *obj)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));

	if (rv && *rv) {
		free(w->rv);
		w->rv = hcr_strdup(rv);
	}
	if (t != HCR_KUBE_BOOKMARK && !json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(w->r->kind));
	w->events++;
	if (w->cb(t, obj, w->payload) != 0) {
		w->stopped = true;
		return false;
	}
	return true;
}

/* Handles one line; false ends the stream. */
static bool one_event(struct watch *w, const char *text, size_t len)
{
	json_t *ev = json_loadb(text, len, 0, NULL), *obj = json_object_get(ev, "object");
	const char *type = json_string_value(json_object_get(ev, "type"));
	hcr_kube_event_type t;
	bool go_on = false;

	if (json_is_object(obj) && type && strcmp(type, "ERROR") == 0)
		w->error = json_incref(obj);
	else if (json_is_object(obj) && event_type(type, &t))
		go_on = deliver(w, t, obj);
	else
		w->bad = true;
	hcr_kube_json_wipe_decref(ev);
	return go_on;
}

/* libcurl's chunks, split into lines. Returning less than len stops the transfer. */
static size_t on_chunk(char *data, size_t len, void *p)
{
	struct watch *w = p;
	size_t start = 0, i = w->line.len; /* what came before holds no newline */

	hcr_buf_append(&w->line, data, len);
	for (; i < w->line.len; i++) {
		if (w->line.data[i] != '\n')
			continue;
		if (i > start && !one_event(w, w->line.data + start, i - start))
			return 0;
		start = i + 1;
	}
	if (start) {
		hcr_crypto_wipe(w->line.data, start);
		memmove(w->line.data, w->line.data + start, w->line.len - start + 1);
		w->line.len -= start;
	}
	if (w->line.len > w->k->opts.max_response_bytes) {
		w->bad = true;
		return 0;
	}
	return len;
}

static void watch_path(hcr_buf *b, const hcr_kube_resource *r, const hcr_kube_watch_opts *o,
		       long timeout_s)
{
	char n[32];

	hcr_kube_collection_path(b, r, o ? o->ns : NULL);
	hcr_kube_query(b, "watch", "1");
	if (!o || !o->no_bookmarks)
		hcr_kube_query(b, "allowWatchBookmarks", "true");
	snprintf(n, sizeof(n), "%ld", timeout_s);
	hcr_kube_query(b, "timeoutSeconds", n);
	if (o) {
		hcr_kube_query(b, "resourceVersion", o->resource_version);
		hcr_kube_query(b, "labelSelector", o->label_selector);
		hcr_kube_query(b, "fieldSelector", o->field_selector);
	}
}

static bool is_gone(long http, json_t *status)
{
	const char *reason = json_string_value(json_object_get(status, "reason"));

	return http == 410 || json_integer_value(json_object_get(status, "code")) == 410 ||
	       (reason && (strcmp(reason, "Gone") == 0 || strcmp(reason, "Expired") == 0));
}

/* How the watch ended, once the transfer is over. */
static int finish(struct watch *w, const kube_resp *resp, const char *what, const char *ns,
		  hcr_kube_watch_end *end, hcr_error *err)
{
	json_t *status = w->error;
	long http = resp->status;

	if (!status && (http < 200 || http >= 300))
		status = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL)
					: NULL;
	else if (status)
		json_incref(status);
	if (end)
		end->expired = (w->error || http < 200 || http >= 300) && is_gone(http, status);
	if (w->error || http < 200 || http >= 300) {
		int rc = hcr_kube_status_error(err, w->error ? 0 : http, status,
					       hcr_kube_name(w->k), "watch", what, w->r, ns);

		json_decref(status);
		return rc;
	}
	json_decref(status);
	if (w->bad)
		return hcr_error_set(
			err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			"cannot watch %s in cluster \"%s\": the stream has a line that "
			"is not a watch event",
			what, hcr_kube_name(w->k));
	return HCR_OK;
}

int hcr_kube_watch(hcr_kube *k, const hcr_kube_resource *r, const hcr_kube_watch_opts *o,
		   hcr_kube_event_cb cb, void *payload, hcr_kube_watch_end *end, hcr_error *err)
{
	long timeout_s = o && o->timeout_s > 0 ? o->timeout_s : DEFAULT_WATCH_S;
	struct watch w = {.k = k, .r = r, .cb = cb, .payload = payload};
	char *what = hcr_kube_describe_collection(r, o ? o->ns : NULL);
	hcr_buf path = {0};
	kube_req req = {.method = "GET", .sink = on_chunk, .sink_payload = &w};
	kube_resp resp;
	int rc;

	if (end)
		memset(end, 0, sizeof(*end));
	watch_path(&path, r, o, timeout_s);
	req.path = path.data;
	req.timeout_ms = (timeout_s + WATCH_MARGIN_S) * 1000;
	if (o && o->cancelled) {
		req.cancelled = o->cancelled;
		req.cancel_arg = o->cancel_arg;
		req.no_retry = true;
	}
	rc = hcr_kube_perform(k, &req, &resp, err);
	if (o && o->cancelled && o->cancelled(o->cancel_arg))
		rc = HCR_OK; /* its owner is stopping: whatever arrived stands, nothing failed */
	else if (rc == HCR_OK)
		rc = finish(&w, &resp, what, o ? o->ns : NULL, end, err);
	if (end) {
		end->events = w.events;
		end->resource_version = w.rv;
		w.rv = NULL;
	}
	free(w.rv);
	json_decref(w.error);
	hcr_crypto_wipe(w.line.data, w.line.len);
	hcr_buf_free(&w.line);
	hcr_buf_free(&resp.body);
	hcr_buf_free(&path);
	free(what);
	return rc;
}
