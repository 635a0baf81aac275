/*
 * Kubernetes errors into hcr_error. The API server answers a failed request
 * with a Status object ({"kind": "Status", "status": "Failure", "reason",
 * "message", "code", "details": {"causes": [...]}}); its `reason` decides
 * hcr's status and code, its message goes into ours after what hcr was
 * doing, and its causes (field: message) into the detail. A proxy or load
 * balancer in front of the server may answer with anything; then the HTTP
 * status alone decides.
 *
 * The hint says what the user can do: which RBAC grant is missing, that a
 * credential expired, that an object must be read again.
 */
#include <stdio.h>
#include <string.h>

#include "hcr/kube.h"
#include "kube_int.h"

struct mapping {
	const char *reason;
	long http; /* used when the answer is not a Status */
	int status;
	const char *code;
};

static const struct mapping mappings[] = {
	{"NotFound", 404, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND},
	{"AlreadyExists", 0, HCR_ECONFLICT, HCR_ERR_CONFLICT},
	{"Conflict", 409, HCR_ECONFLICT, HCR_ERR_CONFLICT},
	{"Gone", 410, HCR_ECONFLICT, HCR_ERR_CONFLICT},
	{"Expired", 0, HCR_ECONFLICT, HCR_ERR_CONFLICT},
	{"Invalid", 422, HCR_EINVALID, HCR_ERR_INVALID},
	{"BadRequest", 400, HCR_EINVALID, HCR_ERR_BAD_REQUEST},
	{"MethodNotAllowed", 405, HCR_EINVALID, HCR_ERR_METHOD_NOT_ALLOWED},
	{"NotAcceptable", 406, HCR_EINVALID, HCR_ERR_BAD_REQUEST},
	{"RequestEntityTooLarge", 413, HCR_EINVALID, HCR_ERR_TOO_LARGE},
	{"UnsupportedMediaType", 415, HCR_EINVALID, HCR_ERR_BAD_REQUEST},
	{"Unauthorized", 401, HCR_EDENIED, HCR_ERR_UNAUTHORIZED},
	{"Forbidden", 403, HCR_EDENIED, HCR_ERR_FORBIDDEN},
	{"TooManyRequests", 429, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE},
	{"InternalError", 500, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE},
	{"ServiceUnavailable", 503, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE},
	{"Timeout", 504, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE},
	{"ServerTimeout", 0, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE},
};

#define NMAPPINGS (sizeof(mappings) / sizeof(mappings[0]))

static const struct mapping *by_reason(const char *reason)
{
	size_t i;

	for (i = 0; reason && i < NMAPPINGS; i++)
		if (strcmp(mappings[i].reason, reason) == 0)
			return &mappings[i];
	return NULL;
}

static const struct mapping *by_http(long http)
{
	static const struct mapping client = {"", 0, HCR_EINVALID, HCR_ERR_BAD_REQUEST};
	static const struct mapping server = {"", 0, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE};
	size_t i;

	for (i = 0; i < NMAPPINGS; i++)
		if (mappings[i].http == http)
			return &mappings[i];
	return http >= 400 && http < 500 ? &client : &server;
}

/* "deployments.apps" (or "secrets") for hints. */
static void resource_name(char *out, size_t size, const hcr_kube_resource *r, json_t *details)
{
	const char *kind = json_string_value(json_object_get(details, "kind"));
	const char *group = json_string_value(json_object_get(details, "group"));

	if (r)
		snprintf(out, size, "%s%s%s", r->plural, *r->group ? "." : "", r->group);
	else if (kind)
		snprintf(out, size, "%s%s%s", kind, group && *group ? "." : "", group ? group : "");
	else
		snprintf(out, size, "the resource");
}

static void hint_forbidden(hcr_error *err, const char *cluster, const char *verb,
			   const char *message, const hcr_kube_resource *r, const char *ns,
			   json_t *details)
{
	char res[200];

	if (message && strstr(message, "being terminated")) {
		hcr_error_hint(err, "the namespace is being deleted; wait until it is gone and "
				    "create it again, or use another one");
		return;
	}
	resource_name(res, sizeof(res), r, details);
	if (ns && *ns && (!r || r->namespaced))
		hcr_error_hint(err,
			       "grant the user of cluster \"%s\" '%s' on %s in namespace "
			       "\"%s\" (a Role and RoleBinding); check with kubectl auth "
			       "can-i %s %s -n %s",
			       cluster, verb, res, ns, verb, res, ns);
	else
		hcr_error_hint(err,
			       "grant the user of cluster \"%s\" '%s' on %s in all "
			       "namespaces (a ClusterRole and ClusterRoleBinding); check "
			       "with kubectl auth can-i %s %s -A",
			       cluster, verb, res, verb, res);
}

static void set_hint(hcr_error *err, const struct mapping *m, long http, const char *cluster,
		     const char *verb, const char *message, const hcr_kube_resource *r,
		     const char *ns, json_t *details)
{
	const char *reason = m->reason,
		   *dkind = json_string_value(json_object_get(details, "kind"));

	if (strcmp(reason, "Forbidden") == 0)
		hint_forbidden(err, cluster, verb, message, r, ns, details);
	else if (strcmp(reason, "Unauthorized") == 0)
		hcr_error_hint(err,
			       "the credentials of cluster \"%s\" were refused: they have "
			       "expired or are wrong; log in again or renew them",
			       cluster);
	else if (strcmp(reason, "NotFound") == 0 && dkind && strcmp(dkind, "namespaces") == 0 &&
		 (!r || strcmp(r->plural, "namespaces") != 0))
		hcr_error_hint(err, "create the namespace first");
	else if (strcmp(reason, "NotFound") == 0 &&
		 (!message || strstr(message, "could not find the requested resource")))
		hcr_error_hint(err,
			       "the cluster may not serve this API (a CustomResourceDefinition "
			       "or API group missing); rediscover and check the kind");
	else if (strcmp(reason, "AlreadyExists") == 0)
		hcr_error_hint(err, "update the existing object instead, or delete it first");
	else if (strcmp(reason, "Conflict") == 0)
		hcr_error_hint(err, "the object changed since it was read: read it again and "
				    "retry with its current resourceVersion");
	else if (strcmp(reason, "Gone") == 0 || strcmp(reason, "Expired") == 0)
		hcr_error_hint(err, "the resourceVersion or continue token is too old: list again");
	else if (strcmp(reason, "Invalid") == 0)
		hcr_error_hint(err, "fix the fields named in the detail");
	else if (http == 429 || strcmp(reason, "TooManyRequests") == 0)
		hcr_error_hint(err, "the API server is throttling hcr (API Priority and Fairness); "
				    "retry later");
	else if (http >= 500)
		hcr_error_hint(err, "the API server (or an aggregated API behind it) failed; "
				    "retry later");
}

/* The causes (field: message; ...) and the reason into the detail. */
static void set_detail(hcr_error *err, const char *reason, long http, json_t *details)
{
	json_t *causes = json_object_get(details, "causes"), *c;
	hcr_buf b = {0};
	size_t i;

	json_array_foreach(causes, i, c)
	{
		const char *field = json_string_value(json_object_get(c, "field"));
		const char *msg = json_string_value(json_object_get(c, "message"));

		if (!msg)
			continue;
		hcr_buf_printf(&b, "%s%s%s%s", b.len ? "; " : "", field ? field : "",
			       field ? ": " : "", msg);
	}
	hcr_buf_printf(&b, "%s(reason %s, HTTP %ld)", b.len ? " " : "", *reason ? reason : "none",
		       http);
	hcr_error_detail(err, "%s", b.data);
	hcr_buf_free(&b);
}

int hcr_kube_status_error(hcr_error *err, long http_status, json_t *body, const char *cluster,
			  const char *verb, const char *what, const hcr_kube_resource *r,
			  const char *ns)
{
	bool is_status = json_is_string(json_object_get(body, "kind")) &&
			 strcmp(json_string_value(json_object_get(body, "kind")), "Status") == 0;
	const char *reason = is_status ? json_string_value(json_object_get(body, "reason")) : NULL;
	const char *message =
		is_status ? json_string_value(json_object_get(body, "message")) : NULL;
	json_t *details = is_status ? json_object_get(body, "details") : NULL;
	json_int_t code = is_status ? json_integer_value(json_object_get(body, "code")) : 0;
	const struct mapping *m = by_reason(reason);
	long http = code >= 400 && code < 600 ? (long)code : http_status;

	if (!m)
		m = by_http(http);
	if (message && *message)
		hcr_error_set(err, m->status, m->code, "cannot %s %s in cluster \"%s\": %s", verb,
			      what, cluster, message);
	else
		hcr_error_set(err, m->status, m->code,
			      "cannot %s %s in cluster \"%s\": the server answered HTTP %ld", verb,
			      what, cluster, http);
	set_detail(err, reason ? reason : m->reason, http, details);
	set_hint(err, m, http, cluster, verb, message && *message ? message : NULL, r, ns, details);
	return m->status;
}
