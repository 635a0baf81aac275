/*
 * How the EKS provider talks to EKS: every provider call is a job (see
 * eks_int.h) whose requests are signed with SigV4 just before they are sent,
 * at most EKS_FANOUT at a time, and whose replies are classified once here
 * (a JSON object on success, EKS's error mapped to hcr's status otherwise), so
 * that the operations only read what EKS meant.
 *
 * Secrets: the job's copy of the credential and every Authorization value are
 * wiped before they are freed, and nothing here logs a header.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eks_int.h"
#include "hcr/crypto.h"
#include "hcr/log.h"
#include "hcr/mem.h"

typedef struct eks_queued {
	struct eks_queued *next;
	eks_job *job;
	char *op, *target, *method, *path, *body;
	hcr_sigv4_param *query;
	size_t nquery;
	eks_done_fn done;
	intptr_t tag;
} eks_queued;

/* ---- small helpers --------------------------------------------------------------------- */

char *hcr_eks_seg(const char *label)
{
	return hcr_sigv4_uri_encode(label ? label : "", 0);
}

char *hcr_eks_cluster_path(const eks_job *j, const char *suffix)
{
	return hcr_sprintf("/clusters/%s%s", j->enc, suffix ? suffix : "");
}

bool hcr_eks_valid_region(const char *region)
{
	size_t n;

	if (!region || !*region)
		return false;
	n = strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-");
	return n <= 40 && region[n] == '\0';
}

char *hcr_eks_base_url(const char *tmpl, const char *service, const char *region)
{
	hcr_buf b = {0};
	const char *p, *hit;

	if (!tmpl || !*tmpl)
		return hcr_sprintf("https://%s.%s.amazonaws.com", service, region);
	for (p = tmpl; (hit = strstr(p, "{region}")) != NULL; p = hit + 8) {
		hcr_buf_append(&b, p, (size_t)(hit - p));
		hcr_buf_puts(&b, region);
	}
	hcr_buf_puts(&b, p);
	return b.data;
}

static char *secret_dup(const char *s)
{
	return s && *s ? hcr_strdup(s) : NULL;
}

static void secret_free(const char *s)
{
	if (s) {
		hcr_crypto_wipe((void *)s, strlen(s));
		free((void *)s);
	}
}

int hcr_eks_not_started(int rc, const hcr_error *err, const char *what)
{
	char quoted[700];

	hcr_log_warn("eks", "call not started op=%s status=%s msg=%s", what, hcr_status_name(rc),
		     hcr_log_quote(quoted, sizeof(quoted), err->message));
	return rc;
}

/* ---- jobs ------------------------------------------------------------------------------ */

/* Splits the base URL into origin, path prefix and Host header. */
static int split_base(eks_job *j, const char *base, hcr_error *err)
{
	const char *scheme_end = strstr(base, "://"), *auth, *slash;
	bool https = strncmp(base, "https://", 8) == 0;
	size_t n, i;

	if (!scheme_end || (!https && strncmp(base, "http://", 7) != 0))
		goto bad;
	auth = scheme_end + 3;
	n = strcspn(auth, "/?#");
	slash = auth + n;
	if (n == 0 || *slash == '?' || *slash == '#' || memchr(auth, '@', n))
		goto bad;
	for (i = 0; base[i]; i++)
		if ((unsigned char)base[i] <= ' ' || base[i] == 0x7f)
			goto bad;
	j->origin = hcr_strndup(base, (size_t)(slash - base));
	j->prefix = hcr_strdup(slash);
	n = strlen(j->prefix);
	while (n > 0 && j->prefix[n - 1] == '/')
		j->prefix[--n] = '\0';
	j->host = hcr_strndup(auth, (size_t)(slash - auth));
	for (i = 0; j->host[i]; i++)
		if (j->host[i] >= 'A' && j->host[i] <= 'Z')
			j->host[i] = (char)(j->host[i] - 'A' + 'a');
	n = strlen(j->host);
	if ((https && n > 4 && strcmp(j->host + n - 4, ":443") == 0) ||
	    (!https && n > 3 && strcmp(j->host + n - 3, ":80") == 0))
		*strrchr(j->host, ':') = '\0';
	return HCR_OK;
bad:
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "the EKS endpoint is not an http(s) URL");
	hcr_error_hint(err, "set providers.eks.endpoint to a URL such as "
			    "https://eks.{region}.amazonaws.com");
	return HCR_EINVALID;
}

static const char *cloud_name(const hcr_cluster_ref *c)
{
	if (c->cloud_name && *c->cloud_name)
		return c->cloud_name;
	return c->name && *c->name ? c->name : NULL;
}

int hcr_eks_job_new(eks_job **out, hcr_provider *p, const hcr_cluster_ref *c, const char *kind,
		    bool need_name, hcr_provider_cb cb, void *payload, hcr_error *err)
{
	eks_provider *ep = (eks_provider *)p;
	const char *akid, *secret, *token, *name;
	eks_job *j;
	char *base;
	int rc;

	*out = NULL;
	if (!p || !c || !cb)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "eks %s: no provider, cluster or callback", kind);
	akid = json_string_value(json_object_get(c->secret, "accessKeyId"));
	secret = json_string_value(json_object_get(c->secret, "secretAccessKey"));
	token = json_string_value(json_object_get(c->secret, "sessionToken"));
	if (!akid || !*akid || !secret || !*secret) {
		hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
			      "the credential has no AWS access key");
		hcr_error_hint(err, "an \"eks\" credential is {\"accessKeyId\", "
				    "\"secretAccessKey\", \"sessionToken\"?}");
		return HCR_EDENIED;
	}
	if (!hcr_eks_valid_region(c->region))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "an EKS cluster needs a valid AWS region, not \"%s\"",
				     c->region ? c->region : "");
	name = cloud_name(c);
	if (need_name && !hcr_eks_valid_name(name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid EKS cluster name", name ? name : "");
	j = hcr_calloc(1, sizeof(*j));
	j->ep = ep;
	j->kind = kind;
	j->cb = cb;
	j->payload = payload;
	j->creds.access_key_id = hcr_strdup(akid);
	j->creds.secret_access_key = secret_dup(secret);
	j->creds.session_token = secret_dup(token);
	j->region = hcr_strdup(c->region);
	/* A list has no cluster: its messages name the region instead. */
	j->name = hcr_strdup(need_name ? name : c->region);
	j->enc = hcr_eks_seg(j->name);
	base = hcr_eks_base_url(ep->endpoint, "eks", j->region);
	rc = split_base(j, base, err);
	free(base);
	if (rc != HCR_OK) {
		hcr_eks_job_free(j);
		return rc;
	}
	*out = j;
	return HCR_OK;
}

static void queued_free(eks_queued *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nquery; i++) {
		free((char *)q->query[i].key);
		free((char *)q->query[i].value);
	}
	free(q->query);
	free(q->op);
	free(q->target);
	free(q->method);
	free(q->path);
	free(q->body);
	free(q);
}

void hcr_eks_job_free(eks_job *j)
{
	size_t i;

	if (!j)
		return;
	while (j->qhead) {
		eks_queued *q = j->qhead;

		j->qhead = q->next;
		queued_free(q);
	}
	free((char *)j->creds.access_key_id);
	secret_free(j->creds.secret_access_key);
	secret_free(j->creds.session_token);
	free(j->region);
	free(j->name);
	free(j->origin);
	free(j->prefix);
	free(j->host);
	free(j->enc);
	for (i = 0; i < 2; i++) {
		free(j->pagers[i].path);
		free(j->pagers[i].next);
	}
	if (json_is_string(json_object_get(j->result, "token"))) {
		/* kube_credentials: the bearer token is a credential for 15 minutes. */
		json_t *t = json_object_get(j->result, "token");

		hcr_crypto_wipe((char *)json_string_value(t), json_string_length(t));
	}
	json_decref(j->result);
	json_decref(j->cluster);
	json_decref(j->nodegroups);
	json_decref(j->names);
	json_decref(j->changes);
	json_decref(j->extra);
	free(j->pool);
	free(j->token);
	free(j->op);
	free(j);
}

void hcr_eks_request(eks_job *j, const eks_request *rq, eks_done_fn done, intptr_t tag)
{
	eks_queued *q = hcr_calloc(1, sizeof(*q));
	size_t i;

	q->job = j;
	q->op = hcr_strdup(rq->op);
	q->target = hcr_strdup(rq->target ? rq->target : j->name);
	q->method = hcr_strdup(rq->method);
	q->path = hcr_sprintf("%s%s", j->prefix, rq->path);
	q->done = done;
	q->tag = tag;
	if (rq->nquery) {
		q->query = hcr_calloc(rq->nquery, sizeof(*q->query));
		for (i = 0; i < rq->nquery; i++) {
			q->query[i].key = hcr_strdup(rq->query[i].key);
			q->query[i].value =
				hcr_strdup(rq->query[i].value ? rq->query[i].value : "");
		}
		q->nquery = rq->nquery;
	}
	if (rq->body)
		q->body = json_dumps(rq->body, JSON_COMPACT);
	if (j->qtail)
		j->qtail->next = q;
	else
		j->qhead = q;
	j->qtail = q;
}

void hcr_eks_fail(eks_job *j, int status, const hcr_error *err)
{
	if (j->failed)
		return;
	j->failed = true;
	j->fail_status = status == HCR_OK ? HCR_ERROR : status;
	j->fail_err = *err;
}

void hcr_eks_fail_reply(eks_job *j, const eks_reply *r)
{
	hcr_eks_fail(j, r->status, &r->err);
}

void hcr_eks_unexpected(eks_job *j, const char *op, const char *target, const char *fmt, ...)
{
	hcr_error err;
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	hcr_error_set(&err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from EKS for %s %s", op, target ? target : j->name);
	if (j->snip[0])
		hcr_error_detail(&err, "%s: %s", what, j->snip);
	else
		hcr_error_detail(&err, "%s", what);
	hcr_eks_fail(j, HCR_EUPSTREAM, &err);
}

void hcr_eks_result(eks_job *j, json_t *result)
{
	json_decref(j->result);
	j->result = result;
}

/* ---- sending and receiving ------------------------------------------------------------- */

static void on_http(int status, const hcr_http_response *resp, const hcr_error *herr,
		    void *payload);

static void snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f ? body[i]
											 : ' ';
	out[n] = '\0';
}

/* Signs and sends the first queued request; the job fails if it cannot be sent. */
static void send_one(eks_job *j)
{
	eks_queued *q = j->qhead;
	hcr_sigv4_req sr = {0};
	hcr_sigv4_out so;
	hcr_http_header h[5];
	hcr_http_request req = {0};
	hcr_error err;
	char *url;
	size_t n = 0;
	int rc;

	j->qhead = q->next;
	if (!j->qhead)
		j->qtail = NULL;
	q->next = NULL;
	sr.method = q->method;
	sr.host = j->host;
	sr.path = q->path[0] ? q->path : "/";
	sr.query = q->query;
	sr.nquery = q->nquery;
	sr.content_type = q->body ? "application/json" : NULL;
	sr.body = q->body;
	sr.body_len = q->body ? strlen(q->body) : 0;
	rc = hcr_sigv4_sign(&so, &sr, &j->creds, j->region, "eks", time(NULL), &err);
	if (rc != HCR_OK) {
		hcr_eks_fail(j, rc, &err);
		queued_free(q);
		return;
	}
	url = hcr_sprintf("%s%s%s%s", j->origin, sr.path, so.query[0] ? "?" : "", so.query);
	h[n++] = (hcr_http_header){"Host", j->host};
	h[n++] = (hcr_http_header){"X-Amz-Date", so.amz_date};
	if (q->body)
		h[n++] = (hcr_http_header){"Content-Type", "application/json"};
	if (so.security_token)
		h[n++] = (hcr_http_header){"X-Amz-Security-Token", so.security_token};
	h[n++] = (hcr_http_header){"Authorization", so.authorization};
	req.method = q->method;
	req.url = url;
	req.headers = h;
	req.nheaders = n;
	req.body = q->body;
	req.body_len = sr.body_len;
	req.timeout_ms = j->ep->timeout_ms;
	j->inflight++;
	rc = hcr_http_send(j->ep->http, &req, on_http, q, &err);
	hcr_sigv4_out_free(&so);
	free(url);
	if (rc != HCR_EAGAIN) {
		j->inflight--;
		hcr_eks_fail(j, rc == HCR_OK ? HCR_ERROR : rc, &err);
		queued_free(q);
	}
}

static void finish(eks_job *j)
{
	hcr_error ok;

	if (j->failed) {
		j->cb(j->fail_status, NULL, &j->fail_err, j->payload);
	} else {
		hcr_error_clear(&ok);
		j->cb(HCR_OK, j->result, &ok, j->payload);
	}
	hcr_eks_job_free(j);
}

/*
 * Moves the job on: sends what may be sent, and once nothing is in flight runs
 * the next step, or ends the job.
 */
static void pump(eks_job *j)
{
	for (;;) {
		while (!j->failed && j->qhead && j->inflight < EKS_FANOUT)
			send_one(j);
		if (j->inflight > 0)
			return;
		if (j->failed || (!j->qhead && !j->next)) {
			if (!j->failed && !j->result) {
				hcr_error err;

				hcr_error_set(&err, HCR_ERROR, HCR_ERR_INTERNAL,
					      "eks %s ended without a result", j->kind);
				hcr_eks_fail(j, HCR_ERROR, &err);
			}
			finish(j);
			return;
		}
		if (!j->qhead) {
			eks_step_fn step = j->next;

			j->next = NULL;
			step(j);
		}
	}
}

static void read_reply(eks_reply *r, eks_queued *q, const hcr_http_response *resp)
{
	const char *body = resp->body ? resp->body : "";
	json_t *doc;

	r->http = resp->status;
	snippet(q->job->snip, sizeof(q->job->snip), body, resp->body_len);
	if (resp->status < 200 || resp->status > 299) {
		json_t *parsed = json_loadb(body, resp->body_len, 0, NULL);

		hcr_eks_error_code(r->code, sizeof(r->code),
				   hcr_http_header_get(resp, "x-amzn-ErrorType"),
				   json_is_object(parsed) ? parsed : NULL);
		json_decref(parsed);
		r->status = hcr_eks_parse_error(&r->err, q->op, q->target, resp->status,
						hcr_http_header_get(resp, "x-amzn-ErrorType"), body,
						resp->body_len);
		return;
	}
	/* An empty answer is an empty object (moto's UpdateClusterConfig, some tag calls). */
	doc = resp->body_len == 0 ? json_object() : json_loadb(body, resp->body_len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		r->status =
			hcr_error_set(&r->err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "unexpected response from EKS for %s %s", q->op, q->target);
		hcr_error_detail(&r->err, "HTTP %ld, not a JSON object: %s", resp->status,
				 q->job->snip);
		return;
	}
	r->status = HCR_OK;
	r->body = doc;
}

static void on_http(int status, const hcr_http_response *resp, const hcr_error *herr, void *payload)
{
	eks_queued *q = payload;
	eks_job *j = q->job;
	eks_reply r;

	memset(&r, 0, sizeof(r));
	j->inflight--;
	if (status != HCR_OK || !resp || resp->status == 0) {
		/* Refused, timed out, reset, cancelled: EKS may answer next time. */
		r.status = hcr_error_set(&r.err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
					 "the request to EKS for %s %s failed", q->op, q->target);
		if (herr && herr->message[0])
			hcr_error_detail(&r.err, "%s", herr->message);
	} else {
		read_reply(&r, q, resp);
		hcr_log_debug("eks", "response op=%s target=%s http=%ld seconds=%.3f code=%s",
			      q->op, q->target, resp->status, resp->seconds,
			      r.code[0] ? r.code : "-");
	}
	/* After a failure the job only waits for what is in flight. */
	if (!j->failed)
		q->done(j, &r, q->tag);
	j->snip[0] = '\0';
	json_decref(r.body);
	queued_free(q);
	pump(j);
}

int hcr_eks_job_start(eks_job *j, hcr_error *err)
{
	int rc;

	while (!j->failed && j->qhead && j->inflight < EKS_FANOUT)
		send_one(j);
	if (j->inflight > 0)
		return HCR_EAGAIN;
	if (j->failed) {
		*err = j->fail_err;
		rc = j->fail_status;
	} else {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "eks %s sent nothing",
				   j->kind);
	}
	hcr_eks_job_free(j);
	return rc;
}

/* ---- lists and describes --------------------------------------------------------------- */

static void page_done(eks_job *j, eks_reply *r, intptr_t slot);

static void page_request(eks_job *j, int slot)
{
	eks_pager *pg = &j->pagers[slot];
	hcr_sigv4_param query[2] = {{"maxResults", "100"}, {"nextToken", pg->next}};
	eks_request rq = {pg->op, NULL, "GET", pg->path, query, pg->next ? 2 : 1, NULL};

	hcr_eks_request(j, &rq, page_done, slot);
}

static void page_done(eks_job *j, eks_reply *r, intptr_t slot)
{
	eks_pager *pg = &j->pagers[slot];
	json_t *items, *item, *next;
	const char *token;
	size_t i;

	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	items = json_object_get(r->body, pg->member);
	next = json_object_get(r->body, "nextToken");
	token = json_string_value(next);
	if (!json_is_array(items) || (next && !json_is_null(next) && !token)) {
		hcr_eks_unexpected(j, pg->op, NULL, "\"%s\" or \"nextToken\" has the wrong type",
				   pg->member);
		return;
	}
	json_array_foreach(items, i, item)
	{
		if (!json_is_string(item) || ++pg->items > EKS_MAX_ITEMS) {
			hcr_eks_unexpected(j, pg->op, NULL,
					   "\"%s\" holds something other than at most %d names",
					   pg->member, EKS_MAX_ITEMS);
			return;
		}
		pg->item(j, json_string_value(item));
	}
	if (!token || !*token)
		return;
	if (++pg->pages >= EKS_MAX_PAGES || (pg->next && strcmp(pg->next, token) == 0)) {
		hcr_eks_unexpected(j, pg->op, NULL, "the list does not end");
		return;
	}
	free(pg->next);
	pg->next = hcr_strdup(token);
	page_request(j, (int)slot);
}

void hcr_eks_list(eks_job *j, int slot, const char *op, char *path, const char *member,
		  void (*item)(eks_job *j, const char *name))
{
	eks_pager *pg = &j->pagers[slot];

	free(pg->path);
	free(pg->next);
	memset(pg, 0, sizeof(*pg));
	pg->op = op;
	pg->path = path;
	pg->member = member;
	pg->item = item;
	page_request(j, slot);
}

void hcr_eks_describe_cluster(eks_job *j, eks_done_fn done)
{
	char *path = hcr_eks_cluster_path(j, NULL);
	eks_request rq = {"DescribeCluster", NULL, "GET", path, NULL, 0, NULL};

	hcr_eks_request(j, &rq, done, 0);
	free(path);
}

void hcr_eks_describe_nodegroup(eks_job *j, const char *pool, eks_done_fn done, intptr_t tag)
{
	char *seg = hcr_eks_seg(pool), *target = hcr_sprintf("%s/%s", j->name, pool);
	char *path = hcr_sprintf("/clusters/%s/node-groups/%s", j->enc, seg);
	eks_request rq = {"DescribeNodegroup", target, "GET", path, NULL, 0, NULL};

	hcr_eks_request(j, &rq, done, tag);
	free(seg);
	free(target);
	free(path);
}

bool hcr_eks_take_cluster(eks_job *j, eks_reply *r)
{
	json_t *cluster = json_object_get(r->body, "cluster");

	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return false;
	}
	if (!json_is_object(cluster)) {
		hcr_eks_unexpected(j, "DescribeCluster", NULL,
				   "\"cluster\" is missing or not an object");
		return false;
	}
	json_decref(j->cluster);
	j->cluster = json_incref(cluster);
	return true;
}
