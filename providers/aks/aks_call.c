/*
 * How the AKS provider talks to Azure: every provider call is a job (see
 * aks_int.h) that first holds a bearer token, from the instance's cache or
 * from Azure AD's client-credentials flow, and then sends its ARM requests
 * one after another. Replies are classified once here (an empty body or a
 * JSON object on success, ARM's error mapped to hcr's status otherwise) so
 * that the operations only read what ARM meant.
 *
 * Secrets: the client secret, the token form and every bearer token are
 * wiped before they are freed, and nothing here logs a header or a form.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aks_int.h"
#include "hcr/crypto.h"
#include "hcr/log.h"
#include "hcr/mem.h"

/* ARM asks for 10 to 60 s between polls; a longer wait is capped, not obeyed blindly. */
#define AKS_RETRY_AFTER_MAX_S 300

static void wipe_free(char *s)
{
	if (s) {
		hcr_crypto_wipe(s, strlen(s));
		free(s);
	}
}

static const char *cloud_name(const hcr_cluster_ref *c)
{
	if (c->cloud_name && *c->cloud_name)
		return c->cloud_name;
	return c->name && *c->name ? c->name : NULL;
}

/* Names that go into a path unescaped: ARM's resource group and cluster name characters. */
static bool path_safe(const char *s, size_t max)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.()");
	return n <= max && s[n] == '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static const char *secret_member(const hcr_cluster_ref *c, const char *key)
{
	const char *v = json_string_value(json_object_get(c->secret, key));

	return v && *v ? v : NULL;
}

int hcr_aks_job_new(aks_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err)
{
	const char *tenant, *client, *secret, *sub, *name;
	aks_job *j;

	*out = NULL;
	if (!p || !c || !cb)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "aks %s: no provider, cluster or callback", kind);
	tenant = secret_member(c, "tenantId");
	client = secret_member(c, "clientId");
	secret = secret_member(c, "clientSecret");
	sub = secret_member(c, "subscriptionId");
	if (!tenant || !client || !secret || !sub || !path_safe(tenant, 100) ||
	    !path_safe(sub, 100)) {
		hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
			      "the credential has no Azure service principal");
		hcr_error_hint(err, "an \"aks\" credential is {\"tenantId\", \"clientId\", "
				    "\"clientSecret\", \"subscriptionId\"}");
		return HCR_EDENIED;
	}
	if (c->resource_group && !path_safe(c->resource_group, 90))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid Azure resource group name",
				     c->resource_group);
	name = cloud_name(c);
	if (need_name && (!c->resource_group || !path_safe(name, 63)))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "an AKS cluster needs a resource group and a valid name, not "
				     "\"%s\"",
				     name ? name : "");
	j = hcr_calloc(1, sizeof(*j));
	j->ap = (aks_provider *)p;
	j->kind = kind;
	j->cb = cb;
	j->payload = payload;
	j->tenant = hcr_strdup(tenant);
	j->client = hcr_strdup(client);
	j->secret = hcr_strdup(secret);
	j->sub = hcr_strdup(sub);
	j->rg = c->resource_group ? hcr_strdup(c->resource_group) : NULL;
	j->name = hcr_strdup(need_name ? name : (c->resource_group ? c->resource_group : sub));
	if (need_name)
		j->base = hcr_sprintf("/subscriptions/%s/resourceGroups/%s/providers/"
				      "Microsoft.ContainerService/managedClusters/%s",
				      j->sub, j->rg, j->name);
	*out = j;
	return HCR_OK;
}

void hcr_aks_job_free(aks_job *j)
{
	if (!j)
		return;
	free(j->tenant);
	free(j->client);
	wipe_free(j->secret);
	free(j->sub);
	free(j->rg);
	free(j->name);
	wipe_free(j->bearer);
	free(j->base);
	json_decref(j->result);
	json_decref(j->changes);
	json_decref(j->extra);
	free(j->pool);
	free(j->token);
	free(j->opname);
	free(j);
}

char *hcr_aks_path(const aks_job *j, const char *suffix)
{
	return hcr_sprintf("%s%s?api-version=%s", j->base, suffix ? suffix : "",
			   HCR_AKS_API_VERSION);
}

void hcr_aks_fail(aks_job *j, int status, const hcr_error *err)
{
	if (j->failed)
		return;
	j->failed = true;
	j->fail_status = status == HCR_OK ? HCR_ERROR : status;
	j->fail_err = *err;
}

void hcr_aks_fail_reply(aks_job *j, const aks_reply *r)
{
	hcr_aks_fail(j, r->status, &r->err);
}

void hcr_aks_unexpected(aks_job *j, const char *fmt, ...)
{
	hcr_error err;
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from ARM for %s %s", j->op ? j->op : j->kind, j->name);
	if (j->snip[0])
		hcr_error_detail(&err, "%s: %s", what, j->snip);
	else
		hcr_error_detail(&err, "%s", what);
	hcr_aks_fail(j, HCR_EUPSTREAM, &err);
}

void hcr_aks_result(aks_job *j, json_t *result)
{
	json_decref(j->result);
	j->result = result;
}

static void snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f ? body[i]
											 : ' ';
	out[n] = '\0';
}

static void finish(aks_job *j)
{
	hcr_error ok;

	if (!j->failed && !j->result) {
		hcr_error_set(&ok, HCR_ERROR, HCR_ERR_INTERNAL, "aks %s ended without a result",
			      j->kind);
		hcr_aks_fail(j, HCR_ERROR, &ok);
	}
	if (j->failed) {
		json_t *hint = j->retry_after > 0 ? json_pack("{s:I}", "retryAfterS",
							      (json_int_t)j->retry_after)
						  : NULL;

		j->cb(j->fail_status, hint, &j->fail_err, j->payload);
		json_decref(hint);
	} else {
		hcr_error_clear(&ok);
		if (j->retry_after > 0 && json_is_object(j->result))
			json_object_set_new(j->result, "retryAfterS",
					    json_integer((json_int_t)j->retry_after));
		j->cb(HCR_OK, j->result, &ok, j->payload);
	}
	hcr_aks_job_free(j);
}

/* ---- tokens ---------------------------------------------------------------------------- */

static aks_token *token_slot(aks_provider *ap, const char *tenant, const char *client, bool make)
{
	aks_token *oldest = &ap->tokens[0];
	size_t i;

	for (i = 0; i < AKS_TOKENS; i++) {
		aks_token *t = &ap->tokens[i];

		if (t->tenant && strcmp(t->tenant, tenant) == 0 && strcmp(t->client, client) == 0)
			return t;
		if (!t->tenant || (oldest->tenant && t->expires < oldest->expires))
			oldest = t;
	}
	if (!make)
		return NULL;
	free(oldest->tenant);
	free(oldest->client);
	wipe_free(oldest->token);
	oldest->tenant = hcr_strdup(tenant);
	oldest->client = hcr_strdup(client);
	oldest->token = NULL;
	oldest->expires = 0;
	return oldest;
}

void hcr_aks_tokens_free(aks_provider *ap)
{
	for (size_t i = 0; i < AKS_TOKENS; i++) {
		free(ap->tokens[i].tenant);
		free(ap->tokens[i].client);
		wipe_free(ap->tokens[i].token);
	}
}

static void token_reply(aks_job *j, const hcr_http_response *resp)
{
	json_t *doc = NULL, *tok, *exp;
	aks_token *slot;
	hcr_error err;
	long long secs = 0;

	if (resp->status < 200 || resp->status > 299) {
		int rc = hcr_aks_parse_token_error(&err, resp->status, resp->body ? resp->body : "",
						   resp->body_len);

		hcr_aks_fail(j, rc, &err);
		return;
	}
	doc = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
	tok = json_object_get(doc, "access_token");
	exp = json_object_get(doc, "expires_in");
	if (json_is_integer(exp))
		secs = json_integer_value(exp);
	else if (json_is_string(exp)) /* the v1 endpoint's strings */
		secs = strtoll(json_string_value(exp), NULL, 10);
	if (!json_is_string(tok) || json_string_length(tok) == 0 ||
	    json_string_length(tok) > 16384 || secs <= 0) {
		hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "unexpected response from Azure AD for a token");
		hcr_error_detail(&err, "HTTP %ld without access_token and expires_in",
				 resp->status);
		hcr_aks_fail(j, HCR_EUPSTREAM, &err);
	} else {
		slot = token_slot(j->ap, j->tenant, j->client, true);
		slot->token = hcr_strdup(json_string_value(tok));
		slot->expires = time(NULL) + (time_t)secs;
		j->bearer = hcr_sprintf("Bearer %s", slot->token);
		hcr_crypto_wipe((char *)json_string_value(tok), json_string_length(tok));
	}
	json_decref(doc);
}

/* ---- sending and receiving ------------------------------------------------------------- */

typedef struct aks_sent {
	aks_job *job;
	aks_done_fn done; /* NULL: the token request */
	const char *op;
} aks_sent;

static void read_reply(aks_reply *r, aks_job *j, const hcr_http_response *resp)
{
	const char *body = resp->body ? resp->body : "";
	json_t *doc;

	r->http = resp->status;
	snippet(j->snip, sizeof(j->snip), body, resp->body_len);
	if (resp->status < 200 || resp->status > 299) {
		r->status = hcr_aks_parse_error(&r->err, r->code, sizeof(r->code), j->op, j->name,
						resp->status, body, resp->body_len);
		return;
	}
	r->etag = hcr_http_header_get(resp, "ETag");
	r->async = hcr_http_header_get(resp, "Azure-AsyncOperation");
	r->location = hcr_http_header_get(resp, "Location");
	r->status = HCR_OK;
	if (resp->body_len == 0)
		return;
	doc = json_loadb(body, resp->body_len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		r->status = hcr_error_set(&r->err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
					  "unexpected response from ARM for %s %s", j->op, j->name);
		hcr_error_detail(&r->err, "HTTP %ld, not a JSON object: %s", resp->status, j->snip);
		return;
	}
	r->body = doc;
}

static void on_http(int status, const hcr_http_response *resp, const hcr_error *herr, void *payload)
{
	aks_sent *s = payload;
	aks_job *j = s->job;
	aks_reply r;

	memset(&r, 0, sizeof(r));
	j->inflight = false;
	j->op = s->op;
	if (status != HCR_OK || !resp || resp->status == 0) {
		r.status = hcr_error_set(&r.err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
					 "the request to %s for %s %s failed",
					 s->done ? "ARM" : "Azure AD", s->op, j->name);
		if (herr && herr->message[0])
			hcr_error_detail(&r.err, "%s", herr->message);
		hcr_aks_fail(j, r.status, &r.err);
	} else {
		long ra = hcr_http_retry_after_s(resp, AKS_RETRY_AFTER_MAX_S);

		if (ra > j->retry_after)
			j->retry_after = ra;
		if (!s->done) {
			token_reply(j, resp);
			if (!j->failed)
				j->first(j);
		} else {
			read_reply(&r, j, resp);
			hcr_log_debug("aks",
				      "response op=%s cluster=%s http=%ld seconds=%.3f code=%s",
				      s->op, j->name, resp->status, resp->seconds,
				      r.code[0] ? r.code : "-");
			s->done(j, &r);
		}
	}
	j->snip[0] = '\0';
	json_decref(r.body);
	free(s);
	if (!j->inflight)
		finish(j);
}

static void send_req(aks_job *j, const char *op, const hcr_http_request *req, aks_done_fn done)
{
	aks_sent *s = hcr_calloc(1, sizeof(*s));
	hcr_error err;
	int rc;

	s->job = j;
	s->done = done;
	s->op = op;
	j->op = op;
	j->inflight = true;
	rc = hcr_http_send(j->ap->http, req, on_http, s, &err);
	if (rc != HCR_EAGAIN) {
		j->inflight = false;
		free(s);
		hcr_aks_fail(j, rc == HCR_OK ? HCR_ERROR : rc, &err);
	}
}

void hcr_aks_send(aks_job *j, const char *op, const char *method, const char *path, json_t *body,
		  const char *if_match, const char *if_none_match, aks_done_fn done)
{
	hcr_http_header h[6];
	hcr_http_request req = {0};
	char *url = hcr_sprintf("%s%s", j->ap->endpoint, path);
	char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	size_t n = 0;

	h[n++] = (hcr_http_header){"Authorization", j->bearer};
	h[n++] = (hcr_http_header){"Accept", "application/json"};
	if (data)
		h[n++] = (hcr_http_header){"Content-Type", "application/json"};
	if (if_match)
		h[n++] = (hcr_http_header){"If-Match", if_match};
	if (if_none_match)
		h[n++] = (hcr_http_header){"If-None-Match", if_none_match};
	if (j->token)
		h[n++] = (hcr_http_header){"x-ms-client-request-id", j->token};
	req.method = method;
	req.url = url;
	req.headers = h;
	req.nheaders = n;
	req.body = data;
	req.body_len = data ? strlen(data) : 0;
	req.timeout_ms = j->ap->timeout_ms;
	send_req(j, op, &req, done);
	free(url);
	free(data);
}

static void send_token(aks_job *j)
{
	hcr_http_header h[1] = {{"Content-Type", "application/x-www-form-urlencoded"}};
	hcr_http_request req = {0};
	char *id = hcr_aks_form_escape(j->client), *sec = hcr_aks_form_escape(j->secret);
	char *scope = hcr_aks_form_escape(j->ap->scope);
	char *url = hcr_sprintf("%s/%s/oauth2/v2.0/token", j->ap->authority, j->tenant);
	char *form = hcr_sprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
				 "&scope=%s",
				 id, sec, scope);

	req.method = "POST";
	req.url = url;
	req.headers = h;
	req.nheaders = 1;
	req.body = form;
	req.body_len = strlen(form);
	req.timeout_ms = j->ap->timeout_ms;
	send_req(j, "Token", &req, NULL);
	free(id);
	wipe_free(sec);
	free(scope);
	free(url);
	wipe_free(form);
}

int hcr_aks_job_start(aks_job *j, aks_step_fn first, hcr_error *err)
{
	aks_token *t = token_slot(j->ap, j->tenant, j->client, false);
	int rc;

	j->first = first;
	if (t && t->token && t->expires - AKS_TOKEN_SKEW > time(NULL)) {
		j->bearer = hcr_sprintf("Bearer %s", t->token);
		first(j);
	} else {
		send_token(j);
	}
	if (j->inflight)
		return HCR_EAGAIN;
	if (j->failed) {
		*err = j->fail_err;
		rc = j->fail_status;
	} else {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "aks %s sent nothing",
				   j->kind);
	}
	hcr_aks_job_free(j);
	return rc;
}
