/*
 * How the GKE provider talks to Google: every provider call is a job (see
 * gke_int.h) that first makes sure it holds an access token, from the
 * instance's cache or from the token endpoint with a freshly signed JWT, and
 * then sends its requests one at a time with that bearer token. Replies are
 * classified once here (a JSON object on success, Google's error mapped to
 * hcr's status otherwise), so that the operations only read what GKE meant.
 *
 * Secrets: the job's copy of the private key, the assertion and the access
 * token are wiped before they are freed, and nothing here logs a header or a
 * request body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gke_int.h"
#include "hcr/crypto.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/sigv4.h"

static void secret_free(char *s)
{
	if (s) {
		hcr_crypto_wipe(s, strlen(s));
		free(s);
	}
}

char *hcr_gke_seg(const char *s)
{
	return hcr_sigv4_uri_encode(s ? s : "", 0);
}

/* Lower-case letters, digits and the characters in `extra`, 1 to `max` long. */
static bool token_ok(const char *s, const char *extra, size_t max)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      strchr(extra, s[n])))
			return false;
	return n <= max;
}

/* ---- jobs ------------------------------------------------------------------------------ */

static const char *cloud_name(const hcr_cluster_ref *c)
{
	if (c->cloud_name && *c->cloud_name)
		return c->cloud_name;
	return c->name && *c->name ? c->name : NULL;
}

int hcr_gke_job_new(gke_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err)
{
	gke_provider *gp = (gke_provider *)p;
	json_t *sa = json_object_get(c ? c->secret : NULL, "serviceAccountJson");
	const char *email = json_string_value(json_object_get(sa, "client_email"));
	const char *key = json_string_value(json_object_get(sa, "private_key"));
	const char *key_id = json_string_value(json_object_get(sa, "private_key_id"));
	const char *uri = json_string_value(json_object_get(sa, "token_uri"));
	const char *project = c && c->project && *c->project
				      ? c->project
				      : json_string_value(json_object_get(sa, "project_id"));
	const char *name = c ? cloud_name(c) : NULL;
	gke_job *j;

	*out = NULL;
	if (!p || !c || !cb)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "gke %s: no provider, cluster or callback", kind);
	if (!email || !*email || !key || !*key) {
		hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
			      "the credential has no service-account key");
		hcr_error_hint(err, "a \"gke\" credential is {\"serviceAccountJson\": <the key "
				    "file>}");
		return HCR_EDENIED;
	}
	if (!token_ok(c->location, "-", 63))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "a GKE cluster needs a valid location, not \"%s\"",
				     c->location ? c->location : "");
	if (!token_ok(project, "-.:", 100))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "a GKE cluster needs a valid project, not \"%s\"",
				     project ? project : "");
	if (need_name && !hcr_gke_valid_name(name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid GKE cluster name", name ? name : "");
	j = hcr_calloc(1, sizeof(*j));
	j->gp = gp;
	j->kind = kind;
	j->cb = cb;
	j->payload = payload;
	j->email = hcr_strdup(email);
	j->key = hcr_strdup(key);
	j->key_id = key_id && *key_id ? hcr_strdup(key_id) : NULL;
	j->token_uri = hcr_strdup(gp->token_uri ? gp->token_uri
				  : uri && *uri ? uri
						: HCR_GKE_TOKEN_URI);
	j->cache_key = hcr_sprintf("%s %s", j->email, j->token_uri);
	j->project = hcr_strdup(project);
	j->location = hcr_strdup(c->location);
	j->name = hcr_strdup(need_name ? name : c->location);
	j->base = hcr_sprintf("%s/v1/projects/%s/locations/%s", gp->endpoint, j->project,
			      j->location);
	*out = j;
	return HCR_OK;
}

void hcr_gke_job_free(gke_job *j)
{
	if (!j)
		return;
	free(j->email);
	secret_free(j->key);
	free(j->key_id);
	free(j->token_uri);
	free(j->cache_key);
	secret_free(j->access);
	free(j->project);
	free(j->location);
	free(j->name);
	free(j->base);
	free(j->target);
	if (json_is_string(json_object_get(j->result, "token"))) {
		json_t *t = json_object_get(j->result, "token");

		hcr_crypto_wipe((char *)json_string_value(t), json_string_length(t));
	}
	json_decref(j->result);
	json_decref(j->cluster);
	json_decref(j->changes);
	free(j->operation);
	free(j->pool);
	free(j->handle_loc);
	free(j);
}

void hcr_gke_fail(gke_job *j, int status, const hcr_error *err)
{
	if (j->failed)
		return;
	j->failed = true;
	j->fail_status = status == HCR_OK ? HCR_ERROR : status;
	j->fail_err = *err;
}

void hcr_gke_unexpected(gke_job *j, const char *what)
{
	hcr_error err;

	hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from GKE for %s %s", j->op_api ? j->op_api : j->kind,
		      j->target ? j->target : j->name);
	if (j->snip[0])
		hcr_error_detail(&err, "%s: %s", what, j->snip);
	else
		hcr_error_detail(&err, "%s", what);
	hcr_gke_fail(j, HCR_EUPSTREAM, &err);
}

void hcr_gke_result(gke_job *j, json_t *result)
{
	json_decref(j->result);
	j->result = result;
}

static void finish(gke_job *j)
{
	hcr_error ok;

	if (!j->failed && !j->result) {
		hcr_error_set(&ok, HCR_ERROR, HCR_ERR_INTERNAL, "gke %s ended without a result",
			      j->kind);
		hcr_gke_fail(j, HCR_ERROR, &ok);
	}
	if (j->failed) {
		j->cb(j->fail_status, NULL, &j->fail_err, j->payload);
	} else {
		hcr_error_clear(&ok);
		j->cb(HCR_OK, j->result, &ok, j->payload);
	}
	hcr_gke_job_free(j);
}

/* ---- the token cache ------------------------------------------------------------------- */

static gke_token *cache_find(gke_provider *gp, const char *key)
{
	for (size_t i = 0; i < GKE_TOKEN_CACHE; i++)
		if (gp->tokens[i].key && strcmp(gp->tokens[i].key, key) == 0)
			return &gp->tokens[i];
	return NULL;
}

static void cache_put(gke_provider *gp, const char *key, const char *token, time_t expires)
{
	gke_token *t = cache_find(gp, key), *oldest = &gp->tokens[0];

	if (!t) {
		for (size_t i = 0; i < GKE_TOKEN_CACHE; i++) {
			if (!gp->tokens[i].key) {
				oldest = &gp->tokens[i];
				break;
			}
			if (gp->tokens[i].used < oldest->used)
				oldest = &gp->tokens[i];
		}
		t = oldest;
		free(t->key);
		t->key = hcr_strdup(key);
	}
	secret_free(t->token);
	t->token = hcr_strdup(token);
	t->expires = expires;
	t->used = time(NULL);
}

/* ---- sending and receiving ------------------------------------------------------------- */

static void snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f ? body[i]
											 : ' ';
	out[n] = '\0';
}

static void on_api(int status, const hcr_http_response *resp, const hcr_error *herr, void *payload)
{
	gke_job *j = payload;
	gke_done_fn done = j->done;
	gke_reply r;

	memset(&r, 0, sizeof(r));
	j->inflight = false;
	j->done = NULL;
	if (status != HCR_OK || !resp || resp->status == 0) {
		r.status = hcr_error_set(&r.err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
					 "the request to GKE for %s %s failed", j->op_api,
					 j->target ? j->target : j->name);
		if (herr && herr->message[0])
			hcr_error_detail(&r.err, "%s", herr->message);
	} else {
		const char *body = resp->body ? resp->body : "";

		r.http = resp->status;
		snippet(j->snip, sizeof(j->snip), body, resp->body_len);
		hcr_log_debug("gke", "response api=%s target=%s http=%ld seconds=%.3f", j->op_api,
			      j->target ? j->target : j->name, resp->status, resp->seconds);
		if (resp->status < 200 || resp->status > 299) {
			r.status = hcr_gke_parse_error(&r.err, j->op_api,
						       j->target ? j->target : j->name,
						       resp->status, body, resp->body_len);
		} else {
			r.body = json_loadb(body, resp->body_len, 0, NULL);
			if (!json_is_object(r.body)) {
				json_decref(r.body);
				r.body = NULL;
				r.status =
					hcr_error_set(&r.err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
						      "unexpected response from GKE for %s %s",
						      j->op_api, j->target ? j->target : j->name);
				hcr_error_detail(&r.err, "HTTP %ld, not a JSON object: %s",
						 resp->status, j->snip);
			}
		}
	}
	done(j, &r);
	json_decref(r.body);
	/* done() sent nothing more: the job is over. */
	if (!j->inflight)
		finish(j);
}

void hcr_gke_send(gke_job *j, const char *api, const char *target, const char *method,
		  const char *path, json_t *body, gke_done_fn done)
{
	hcr_http_header h[3];
	hcr_http_request req = {0};
	char *url = hcr_sprintf("%s%s", j->base, path), *auth, *text = NULL;
	hcr_error err;
	size_t n = 0;
	int rc;

	if (j->failed || j->inflight) {
		free(url);
		return;
	}
	j->op_api = api;
	free(j->target);
	j->target = target ? hcr_strdup(target) : NULL;
	auth = hcr_sprintf("Bearer %s", j->access);
	h[n++] = (hcr_http_header){"Authorization", auth};
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		h[n++] = (hcr_http_header){"Content-Type", "application/json"};
	}
	req.method = method;
	req.url = url;
	req.headers = h;
	req.nheaders = n;
	req.body = text;
	req.body_len = text ? strlen(text) : 0;
	req.timeout_ms = j->gp->timeout_ms;
	j->done = done;
	j->inflight = true;
	rc = hcr_http_send(j->gp->http, &req, on_api, j, &err);
	secret_free(auth);
	free(text);
	free(url);
	if (rc != HCR_EAGAIN) {
		j->inflight = false;
		j->done = NULL;
		hcr_gke_fail(j, rc == HCR_OK ? HCR_ERROR : rc, &err);
	}
}

void hcr_gke_get_cluster(gke_job *j, gke_done_fn done)
{
	char *seg = hcr_gke_seg(j->name), *path = hcr_sprintf("/clusters/%s", seg);

	hcr_gke_send(j, "clusters.get", NULL, "GET", path, NULL, done);
	free(seg);
	free(path);
}

/* ---- the token ------------------------------------------------------------------------- */

static void on_token(int status, const hcr_http_response *resp, const hcr_error *herr,
		     void *payload)
{
	gke_job *j = payload;
	hcr_error err;
	long expires_in = 0;
	char *token = NULL;
	int rc;

	j->inflight = false;
	if (status != HCR_OK || !resp || resp->status == 0) {
		rc = hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "the request to the Google token endpoint failed");
		if (herr && herr->message[0])
			hcr_error_detail(&err, "%s", herr->message);
	} else {
		rc = hcr_gke_token_parse(&token, &expires_in, resp->status, resp->body,
					 resp->body_len, &err);
	}
	if (rc != HCR_OK) {
		hcr_log_warn("gke", "token refused client=%s status=%s", j->email,
			     hcr_status_name(rc));
		hcr_gke_fail(j, rc, &err);
		finish(j);
		return;
	}
	j->access = token;
	j->access_expires = time(NULL) + expires_in;
	cache_put(j->gp, j->cache_key, token, j->access_expires);
	j->first(j);
	if (!j->inflight)
		finish(j);
}

static void request_token(gke_job *j)
{
	hcr_http_header h[1] = {{"Content-Type", "application/x-www-form-urlencoded"}};
	hcr_http_request req = {0};
	char *jwt = NULL, *form;
	hcr_error err;
	int rc;

	rc = hcr_gke_jwt(&jwt, j->email, j->key_id, j->key, j->token_uri, (long long)time(NULL),
			 &err);
	if (rc != HCR_OK) {
		hcr_gke_fail(j, rc, &err);
		return;
	}
	form = hcr_sprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
			   "&assertion=%s",
			   jwt);
	secret_free(jwt);
	req.method = "POST";
	req.url = j->token_uri;
	req.headers = h;
	req.nheaders = 1;
	req.body = form;
	req.body_len = strlen(form);
	req.timeout_ms = j->gp->timeout_ms;
	j->inflight = true;
	rc = hcr_http_send(j->gp->http, &req, on_token, j, &err);
	secret_free(form);
	if (rc != HCR_EAGAIN) {
		j->inflight = false;
		hcr_gke_fail(j, rc == HCR_OK ? HCR_ERROR : rc, &err);
	}
}

int hcr_gke_job_start(gke_job *j, gke_step_fn first, hcr_error *err)
{
	gke_token *t = cache_find(j->gp, j->cache_key);
	time_t now = time(NULL);
	int rc;

	j->first = first;
	if (t && t->token && t->expires - GKE_TOKEN_SLACK > now) {
		t->used = now;
		j->access = hcr_strdup(t->token);
		j->access_expires = t->expires;
		first(j);
	} else {
		request_token(j);
	}
	if (j->inflight)
		return HCR_EAGAIN;
	if (j->failed) {
		*err = j->fail_err;
		rc = j->fail_status;
	} else {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "gke %s sent nothing",
				   j->kind);
	}
	hcr_gke_job_free(j);
	return rc;
}
