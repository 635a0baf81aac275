/*
 * The REST API's core: the libmicrohttpd daemon, routing, bearer-token
 * authentication and roles, the one JSON error shape, body limits, the audit
 * log, metrics and the health endpoints. Handlers for each resource live in
 * src/api_<resource>.c and see only src/api_int.h.
 *
 * libmicrohttpd runs a small pool of threads; each request is handled on one
 * of them from the first callback to the response, so a request needs no
 * locking of its own. Database access goes through the store's pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_int.h"
#include "hcr/audit.h"
#include "hcr/json.h"
#include "hcr/log.h"
#include "hcr/metrics.h"
#include "hcr/migrate.h"
#include "hcr/tokens.h"
#include "hcr/version.h"

static int handle_healthz(hcr_req *req, hcr_resp *resp, hcr_error *err);
static int handle_readyz(hcr_req *req, hcr_resp *resp, hcr_error *err);
static int handle_metrics(hcr_req *req, hcr_resp *resp, hcr_error *err);

struct route {
	const char *method;
	const char *pattern; /* segments; "{x}" captures one */
	hcr_handler handler;
	hcr_role need; /* HCR_ROLE_NONE: no token needed */
};

static const struct route routes[] = {
	{"GET", "/healthz", handle_healthz, HCR_ROLE_NONE},
	{"GET", "/readyz", handle_readyz, HCR_ROLE_NONE},
	{"GET", "/metrics", handle_metrics, HCR_ROLE_NONE},
	{"POST", "/v1/credentials", hcr_api_credentials_create, HCR_ROLE_ADMIN},
	{"GET", "/v1/credentials", hcr_api_credentials_list, HCR_ROLE_VIEWER},
	{"GET", "/v1/credentials/{name}", hcr_api_credentials_get, HCR_ROLE_VIEWER},
	{"DELETE", "/v1/credentials/{name}", hcr_api_credentials_delete, HCR_ROLE_ADMIN},
	{"POST", "/v1/clusters", hcr_api_clusters_create, HCR_ROLE_OPERATOR},
	{"GET", "/v1/clusters", hcr_api_clusters_list, HCR_ROLE_VIEWER},
	{"GET", "/v1/clusters/{id}", hcr_api_clusters_get, HCR_ROLE_VIEWER},
	{"DELETE", "/v1/clusters/{id}", hcr_api_clusters_delete, HCR_ROLE_OPERATOR},
	{"PATCH", "/v1/clusters/{id}/config", hcr_api_config_patch, HCR_ROLE_OPERATOR},
	{"POST", "/v1/clusters/{id}/refresh", hcr_api_cluster_refresh, HCR_ROLE_OPERATOR},
	{"GET", "/v1/clusters/{id}/drift", hcr_api_cluster_drift, HCR_ROLE_VIEWER},
	{"POST", "/v1/clusters/{id}/kube-credentials", hcr_api_kube_credentials, HCR_ROLE_ADMIN},
	{"GET", "/v1/drift", hcr_api_drift, HCR_ROLE_VIEWER},
	{"POST", "/v1/discover", hcr_api_discover, HCR_ROLE_OPERATOR},
	{"POST", "/v1/compare", hcr_api_compare, HCR_ROLE_OPERATOR},
	{"POST", "/v1/compare/create", hcr_api_compare_create, HCR_ROLE_OPERATOR},
	{"POST", "/v1/compare/update", hcr_api_compare_update, HCR_ROLE_ADMIN},
	{"GET", "/v1/events", hcr_api_events_list, HCR_ROLE_VIEWER},
	{"POST", "/v1/tokens", hcr_api_tokens_create, HCR_ROLE_ADMIN},
	{"GET", "/v1/tokens", hcr_api_tokens_list, HCR_ROLE_ADMIN},
	{"DELETE", "/v1/tokens/{id}", hcr_api_tokens_delete, HCR_ROLE_ADMIN},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- small helpers for handlers --------------------------------------------------------- */

const char *hcr_api_query(hcr_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *hcr_api_header(hcr_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int hcr_api_body_object(hcr_req *req, json_t **out, hcr_error *err)
{
	return hcr_json_parse_object(out, req->body.data ? req->body.data : "", req->body.len, err);
}

int hcr_api_reply_items(hcr_req *req, hcr_resp *resp,
			int (*list)(PGconn *conn, json_t **out, hcr_error *err), hcr_error *err)
{
	PGconn *conn = NULL;
	json_t *items = NULL;
	int rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = list(conn, &items, err);
	hcr_store_release(req->api->store, conn);
	if (rc == HCR_OK)
		hcr_api_reply(resp, 200, json_pack("{s:o}", "items", items));
	return rc;
}

int hcr_api_provider_enabled(hcr_req *req, const char *provider, hcr_error *err)
{
	if (strcmp(provider, "fake") != 0 || req->api->cfg->fake_endpoint)
		return HCR_OK;
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
		      "field \"provider\": \"fake\" is a test provider and is not enabled here");
	hcr_error_hint(err, "use eks, aks or gke; tests enable it with providers.fake.endpoint");
	return HCR_EINVALID;
}

void hcr_api_reply(hcr_resp *resp, int status, json_t *body)
{
	resp->status = status;
	if (resp->body)
		json_decref(resp->body);
	resp->body = body;
}

int hcr_api_if_match(hcr_req *req, long long *out, hcr_error *err)
{
	const char *h = hcr_api_header(req, MHD_HTTP_HEADER_IF_MATCH);
	char *end;
	long long v;

	*out = -1;
	if (!h)
		return HCR_OK;
	/* "*" matches any current version. */
	if (strcmp(h, "*") == 0) {
		*out = 0;
		return HCR_OK;
	}
	if (strncmp(h, "W/", 2) == 0)
		h += 2;
	if (*h == '"')
		h++;
	errno = 0;
	v = strtoll(h, &end, 10);
	if (*end == '"')
		end++;
	if (errno || end == h || *end != '\0' || v < 1) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
			      "If-Match header must hold one ETag returned by hcr");
		hcr_error_hint(err, "send the ETag from the last GET, for example If-Match: \"3\"");
		return HCR_EINVALID;
	}
	*out = v;
	return HCR_OK;
}

/* ---- routing ---------------------------------------------------------------------------- */

/*
 * Matches `path` against `pattern` segment by segment; on a match, copies the
 * captured segments into params (freed by the caller).
 */
static bool route_match(const char *pattern, const char *path, char **params)
{
	int n = 0;

	while (*pattern && *path) {
		const char *pe = strchr(pattern + 1, '/');
		const char *se = strchr(path + 1, '/');
		size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern);
		size_t sl = se ? (size_t)(se - path) : strlen(path);

		if (pattern[1] == '{') {
			if (sl < 2 || n >= HCR_API_MAX_PARAMS)
				goto nomatch;
			params[n++] = hcr_strndup(path + 1, sl - 1);
		} else if (pl != sl || strncmp(pattern, path, pl) != 0) {
			goto nomatch;
		}
		pattern += pl;
		path += sl;
	}
	if (*pattern == '\0' && *path == '\0')
		return true;
nomatch:
	while (n > 0)
		free(params[--n]);
	return false;
}

/*
 * Finds the route for method and path. Returns it, or NULL with `allow`
 * filled with the methods the path accepts (empty when no route has the path).
 */
static const struct route *route_find(hcr_req *req, const char *method, const char *path,
				      char *allow, size_t allow_size)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	size_t i;

	allow[0] = '\0';
	for (i = 0; i < NROUTES; i++) {
		char *params[HCR_API_MAX_PARAMS] = {0};
		int k;

		if (!route_match(routes[i].pattern, path, params))
			continue;
		if (strcmp(routes[i].method, m) == 0) {
			memcpy(req->params, params, sizeof(params));
			return &routes[i];
		}
		for (k = 0; k < HCR_API_MAX_PARAMS; k++)
			free(params[k]);
		if (!strstr(allow, routes[i].method)) {
			size_t len = strlen(allow);

			snprintf(allow + len, allow_size - len, "%s%s", len ? ", " : "",
				 routes[i].method);
			if (strcmp(routes[i].method, "GET") == 0 && !strstr(allow, "HEAD")) {
				len = strlen(allow);
				snprintf(allow + len, allow_size - len, ", HEAD");
			}
		}
	}
	return NULL;
}

/* ---- authentication --------------------------------------------------------------------- */

static int authenticate(hcr_req *req, hcr_error *err)
{
	const char *header = hcr_api_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token;
	hcr_token_identity who;
	int rc;

	if (!header)
		goto missing;
	token = hcr_token_from_header(header);
	if (!token)
		goto missing;
	if (!hcr_token_well_formed(token))
		goto invalid;
	rc = hcr_tokens_authenticate(req->api->store, token, &who, err);
	if (rc == HCR_ENOTFOUND)
		goto invalid;
	if (rc != HCR_OK)
		return rc;
	req->role = who.role;
	snprintf(req->token_id, sizeof(req->token_id), "%s", who.id);
	snprintf(req->actor, sizeof(req->actor), "token:%s", who.name);
	return HCR_OK;

missing:
	hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED, "missing API token");
	hcr_error_hint(err, "send \"Authorization: Bearer <token>\"; the first admin token is in "
			    "<data-dir>/admin-token");
	return HCR_EDENIED;
invalid:
	hcr_error_set(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
		      "API token is not valid, has expired or was revoked");
	hcr_error_hint(err, "ask an admin for a new token (POST /v1/tokens)");
	return HCR_EDENIED;
}

/* ---- responses ------------------------------------------------------------------------- */

static json_t *error_body(const hcr_error *err)
{
	return json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "code",
			 err->code[0] ? err->code : HCR_ERR_INTERNAL, "message",
			 err->message[0] ? err->message : "internal error", "detail",
			 err->detail[0] ? err->detail : NULL, "hint",
			 err->hint[0] ? err->hint : NULL);
}

static void make_request_id(hcr_req *req)
{
	const char *given = hcr_api_header(req, "X-Request-Id");
	unsigned char raw[8];
	size_t i, n;

	if (given) {
		n = strlen(given);
		for (i = 0; i < n; i++)
			if (!(given[i] == '-' || given[i] == '_' || given[i] == '.' ||
			      (given[i] >= '0' && given[i] <= '9') ||
			      (given[i] >= 'a' && given[i] <= 'z') ||
			      (given[i] >= 'A' && given[i] <= 'Z')))
				break;
		if (n > 0 && n < sizeof(req->request_id) && i == n) {
			memcpy(req->request_id, given, n + 1);
			return;
		}
	}
	if (hcr_crypto_random(raw, sizeof(raw), NULL) != HCR_OK)
		memset(raw, 0, sizeof(raw));
	hcr_crypto_hex(req->request_id, raw, sizeof(raw));
}

static bool is_mutating(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static enum MHD_Result send_response(hcr_req *req, hcr_resp *resp, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	if (resp->stream) {
		r = resp->stream;
		resp->stream = NULL;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
		MHD_add_response_header(r, "X-Request-Id", req->request_id);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		ret = MHD_queue_response(req->conn, (unsigned int)resp->status, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (resp->text) {
		text = resp->text;
		resp->text = NULL;
		len = strlen(text);
	} else if (resp->body) {
		text = json_dumps(resp->body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			text = hcr_strdup("{}");
		len = strlen(text);
		/* A trailing newline makes curl output readable. */
		text = hcr_realloc(text, len + 2);
		text[len++] = '\n';
		text[len] = '\0';
	}
	r = MHD_create_response_from_buffer(len, text ? text : (char *)"",
					    text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type ? resp->content_type
							   : "application/json");
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (resp->etag[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
	if (resp->location[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
	if (allow && allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (resp->status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"hcr\"");
	ret = MHD_queue_response(req->conn, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Appends one query argument to the audited path ("?a=1&b=2"). */
static enum MHD_Result append_query(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	hcr_buf *b = cls;

	(void)kind;
	hcr_buf_printf(b, "%c%s%s%s", strchr(b->data, '?') ? '&' : '?', key, value ? "=" : "",
		       value ? value : "");
	return MHD_YES;
}

static void client_address(hcr_req *req, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)size);
}

static double elapsed_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * Runs the whole request: route, authenticate, authorise, handle, then
 * respond, audit, count and log. Every failure becomes the JSON error shape.
 */
static enum MHD_Result handle(hcr_req *req)
{
	hcr_resp resp = {0};
	hcr_error err;
	char allow[64] = "";
	const char *path = req->url;
	const char *route_name = "unmatched";
	int rc = HCR_OK;
	enum MHD_Result ret;

	hcr_error_clear(&err);
	hcr_log_set_request_id(req->request_id);
	snprintf(req->actor, sizeof(req->actor), "anonymous");

	if (req->too_large) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_TOO_LARGE,
				   "request body is larger than %zu bytes",
				   req->api->cfg->api_max_body_bytes);
		hcr_error_hint(&err, "send a smaller document, or raise api.max_body_bytes");
		goto respond;
	}
	req->route = route_find(req, req->method, path, allow, sizeof(allow));
	if (!req->route) {
		if (allow[0])
			rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_METHOD_NOT_ALLOWED,
					   "method %s is not allowed on %s", req->method, path);
		else
			rc = hcr_error_set(&err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
					   "no such endpoint: %s", path);
		goto respond;
	}
	route_name = req->route->pattern;
	if (req->route->need != HCR_ROLE_NONE) {
		rc = authenticate(req, &err);
		if (rc != HCR_OK)
			goto respond;
		if (!hcr_role_allows(req->role, req->route->need)) {
			rc = hcr_error_set(&err, HCR_EDENIED, HCR_ERR_FORBIDDEN,
					   "role %s may not %s %s", hcr_role_name(req->role),
					   req->method, req->route->pattern);
			hcr_error_hint(&err, "this needs the %s role",
				       hcr_role_name(req->route->need));
			goto respond;
		}
	}
	resp.status = 200;
	rc = req->route->handler(req, &resp, &err);

respond:
	if (rc != HCR_OK) {
		resp.status = hcr_error_http_status(&err);
		if (resp.body)
			json_decref(resp.body);
		resp.body = error_body(&err);
		free(resp.text);
		resp.text = NULL;
		resp.content_type = NULL;
		if (resp.status >= 500)
			hcr_log_error("api", "request failed method=%s path=%s status=%d code=%s",
				      req->method, route_name, resp.status, err.code);
	}
	ret = send_response(req, &resp, resp.status == 405 ? allow : NULL);

	if (is_mutating(req->method)) {
		hcr_buf path_q = {0};
		char addr[INET6_ADDRSTRLEN + 8];

		hcr_buf_puts(&path_q, req->url);
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, append_query, &path_q);
		client_address(req, addr, sizeof(addr));
		hcr_audit_entry a = {
			.request_id = req->request_id,
			.token_id = req->token_id[0] ? req->token_id : NULL,
			.actor = req->actor,
			.role = req->role != HCR_ROLE_NONE ? hcr_role_name(req->role) : NULL,
			.method = req->method,
			.path = path_q.data,
			.target = req->target[0] ? req->target : NULL,
			.status = resp.status,
			.outcome = rc == HCR_OK ? "ok" : err.code,
			.remote_addr = addr[0] ? addr : NULL,
		};
		hcr_error aerr;

		if (hcr_audit_write(req->api->store, &a, &aerr) != HCR_OK)
			hcr_log_error("api",
				      "audit log write failed method=%s path=%s status=%d "
				      "actor=%s error=%s",
				      req->method, route_name, resp.status, req->actor,
				      aerr.message);
		hcr_buf_free(&path_q);
	}

	{
		double secs = elapsed_since(&req->start);

		hcr_metrics_observe_request(route_name, req->route ? req->route->method : "other",
					    resp.status, secs);
		if (req->route != &routes[0] && req->route != &routes[1] &&
		    req->route != &routes[2])
			hcr_log_info("api", "request method=%s route=%s status=%d ms=%.1f actor=%s",
				     req->method, route_name, resp.status, secs * 1000, req->actor);
	}
	if (resp.body)
		json_decref(resp.body);
	free(resp.text);
	hcr_log_set_request_id(NULL);
	return ret;
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	hcr_api *api = cls;
	hcr_req *req = *con_cls;

	(void)version;
	if (!req) {
		const char *cl;

		req = hcr_calloc(1, sizeof(*req));
		req->api = api;
		req->conn = conn;
		req->method = method;
		req->url = url;
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		make_request_id(req);
		*con_cls = req;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > api->cfg->api_max_body_bytes) {
			/* Refuse before reading a byte of it. */
			req->too_large = true;
			return handle(req);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!req->too_large) {
			if (req->body.len + *upload_data_size > api->cfg->api_max_body_bytes) {
				req->too_large = true;
				hcr_buf_free(&req->body);
			} else {
				hcr_buf_append(&req->body, upload_data, *upload_data_size);
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	hcr_req *req = *con_cls;
	int i;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	for (i = 0; i < HCR_API_MAX_PARAMS; i++)
		free(req->params[i]);
	hcr_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], quoted[600];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	hcr_log_warn("http", "libmicrohttpd error=%s", hcr_log_quote(quoted, sizeof(quoted), msg));
}

/* ---- health and metrics ---------------------------------------------------------------- */

static int handle_healthz(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	(void)req;
	(void)err;
	hcr_api_reply(resp, 200, json_pack("{s:s, s:s}", "status", "ok", "version", hcr_version()));
	return HCR_OK;
}

static int handle_readyz(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	PGconn *conn = NULL;
	int current = 0, rc;

	rc = hcr_store_acquire(req->api->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_migrate_current(conn, &current, err);
	hcr_store_release(req->api->store, conn);
	if (rc != HCR_OK)
		return rc;
	if (current != hcr_migrate_latest()) {
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "database schema is at version %d, this hcr needs %d", current,
			      hcr_migrate_latest());
		hcr_error_hint(err, "run \"hcr migrate\"");
		return HCR_EUPSTREAM;
	}
	hcr_api_reply(resp, 200,
		      json_pack("{s:s, s:i}", "status", "ready", "schemaVersion", current));
	return HCR_OK;
}

static int handle_metrics(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	hcr_buf b = {0};

	(void)err;
	hcr_metrics_render(&b, req->api->store, hcr_version());
	resp->status = 200;
	resp->text = b.data ? b.data : hcr_strdup("");
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return HCR_OK;
}

/* ---- start and stop ------------------------------------------------------------------- */

static int read_file(char **out, const char *path, const char *what, hcr_error *err)
{
	FILE *f = fopen(path, "rb");
	hcr_buf b = {0};
	char chunk[4096];
	size_t n;

	*out = NULL;
	if (!f) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "cannot read %s \"%s\"", what,
			      path);
		hcr_error_detail(err, "%s", strerror(errno));
		return HCR_EINVALID;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
		hcr_buf_append(&b, chunk, n);
	fclose(f);
	if (!b.data || !strstr(b.data, "-----BEGIN")) {
		hcr_buf_free(&b);
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "%s \"%s\" is not a PEM file", what, path);
	}
	*out = b.data;
	return HCR_OK;
}

/* Opens the listening socket ourselves so that a failure can say exactly why. */
static int listen_socket(int *out, const char *listen_addr, hcr_error *err)
{
	char host[256];
	const char *colon = strrchr(listen_addr, ':');
	const char *port;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1, gai;
	size_t hl;

	*out = -1;
	if (!colon)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				     "listen address \"%s\" must be host:port", listen_addr);
	hl = (size_t)(colon - listen_addr);
	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, listen_addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	port = colon + 1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (gai != 0) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
			      "cannot resolve listen address \"%s\"", listen_addr);
		hcr_error_detail(err, "%s", gai_strerror(gai));
		return HCR_EINVALID;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "cannot listen on %s", listen_addr);
		hcr_error_detail(err, "%s", strerror(errno));
		hcr_error_hint(err, "is another hcr running? choose another address with --listen");
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return HCR_ERROR;
	}
	freeaddrinfo(ai);
	*out = fd;
	return HCR_OK;
}

int hcr_api_start(hcr_api **out, const hcr_config *cfg, hcr_store *store, const hcr_master_key *key,
		  hcr_error *err)
{
	hcr_api *api = hcr_calloc(1, sizeof(*api));
	/*
	 * One thread per connection: handlers may block on the database, and event
	 * streams block between events, without holding up anyone else.
	 */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	int fd = -1, rc;
	bool tls = cfg->tls_cert_file && cfg->tls_key_file;

	*out = NULL;
	api->cfg = cfg;
	api->store = store;
	api->key = key;
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
					   "this libmicrohttpd was built without TLS support");
			goto fail;
		}
		rc = read_file(&api->tls_cert, cfg->tls_cert_file, "api.tls.cert_file", err);
		if (rc == HCR_OK)
			rc = read_file(&api->tls_key, cfg->tls_key_file, "api.tls.key_file", err);
		if (rc != HCR_OK)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	rc = listen_socket(&fd, cfg->listen, err);
	if (rc != HCR_OK)
		goto fail;

	api->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)cfg->api_threads, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)cfg->api_request_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		api, tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, api->tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, api->tls_key, MHD_OPTION_END);
	if (!api->daemon) {
		close(fd);
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot start the HTTP server on %s", cfg->listen);
		if (tls)
			hcr_error_hint(err, "check that api.tls.cert_file and api.tls.key_file "
					    "hold a matching certificate and private key");
		goto fail;
	}
	hcr_log_info("api", "listening addr=%s tls=%s threads=%d", cfg->listen, tls ? "on" : "off",
		     cfg->api_threads);
	*out = api;
	return HCR_OK;
fail:
	hcr_api_stop(api);
	return rc;
}

void hcr_api_stop(hcr_api *api)
{
	if (!api)
		return;
	if (api->daemon)
		MHD_stop_daemon(api->daemon);
	free(api->tls_cert);
	if (api->tls_key) {
		hcr_crypto_wipe(api->tls_key, strlen(api->tls_key));
		free(api->tls_key);
	}
	free(api);
}
