/*
 * What EKS answers, read without trusting it: error responses mapped to hcr's
 * statuses, operation handles (hcr stores them and gives them back, so they
 * are parsed as outside input too), and the states of updates, node groups
 * and clusters as poll_operation reports them.
 *
 * Error codes are found the way botocore finds them (the x-amzn-ErrorType
 * header, then the body); the code decides the status, and the HTTP status
 * only when there is no code hcr knows.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_eks.h"

#define SNIPPET_MAX 200

/* ---- error responses ------------------------------------------------------------------- */

/* "aws.protocoltests#FooError:http://internal..." -> "FooError" */
static void cut_code(char *out, size_t size, const char *s)
{
	const char *end, *hash;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strcspn(s, ":");
	for (hash = end; hash > s && hash[-1] != '#'; hash--)
		;
	if (hash > s)
		s = hash;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - s);
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	out[n] = '\0';
}

void hcr_eks_error_code(char *out, size_t size, const char *errtype, json_t *body)
{
	static const char *const keys[] = {"__type", "code", "Code"};
	size_t i;

	if (size == 0)
		return;
	out[0] = '\0';
	if (errtype && *errtype)
		cut_code(out, size, errtype);
	for (i = 0; !out[0] && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = json_string_value(json_object_get(body, keys[i]));

		if (v && *v)
			cut_code(out, size, v);
	}
}

static bool in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(code, *list) == 0)
			return true;
	return false;
}

static const char *const conflict_codes[] = {"ResourceInUseException", NULL};
static const char *const transient_codes[] = {"ThrottlingException",
					      "Throttling",
					      "TooManyRequestsException",
					      "RequestLimitExceeded",
					      "ServerException",
					      "ServiceUnavailableException",
					      "ServiceUnavailable",
					      "InternalFailure",
					      "InternalServerError",
					      "ResourcePropagationDelayException",
					      NULL};
/* An endpoint without the call: waiting will not change that. */
static bool unknown_operation(const char *code, long http)
{
	if (strcmp(code, "UnknownOperationException") == 0)
		return true;
	return !code[0] && (http == 404 || http == 405 || http == 501);
}

static const char *const invalid_codes[] = {
	"InvalidParameterException", "InvalidRequestException",
	"ClientException",           "ResourceLimitExceededException",
	"BadRequestException",       "UnsupportedAvailabilityZoneException",
	"InvalidStateException",     "ValidationException",
	"SerializationException",    NULL};
static const char *const notfound_codes[] = {"ResourceNotFoundException", "NotFoundException",
					     NULL};
static const char *const denied_codes[] = {"AccessDeniedException",
					   "AccessDenied",
					   "UnrecognizedClientException",
					   "InvalidSignatureException",
					   "SignatureDoesNotMatch",
					   "IncompleteSignature",
					   "InvalidClientTokenId",
					   "ExpiredTokenException",
					   "ExpiredToken",
					   "MissingAuthenticationTokenException",
					   "MissingAuthenticationToken",
					   "UnauthorizedOperation",
					   NULL};

static int status_of(const char *code, long http)
{
	if (unknown_operation(code, http))
		return HCR_EINVALID;
	if (code[0]) {
		if (in(code, conflict_codes))
			return HCR_ECONFLICT;
		if (in(code, transient_codes))
			return HCR_EUPSTREAM;
		if (in(code, invalid_codes))
			return HCR_EINVALID;
		if (in(code, notfound_codes))
			return HCR_ENOTFOUND;
		if (in(code, denied_codes))
			return HCR_EDENIED;
	}
	if (http == 409)
		return HCR_ECONFLICT;
	if (http == 429 || http >= 500)
		return HCR_EUPSTREAM;
	if (http == 401 || http == 403)
		return HCR_EDENIED;
	if (http == 404)
		return HCR_ENOTFOUND;
	if (http == 400 || http == 422)
		return HCR_EINVALID;
	return HCR_EUPSTREAM;
}

static void snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < SNIPPET_MAX ? len : SNIPPET_MAX;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		out[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	out[n] = '\0';
}

int hcr_eks_parse_error(hcr_error *out, const char *op, const char *target, long status,
			const char *errtype, const char *body, size_t len)
{
	char code[96], text[SNIPPET_MAX + 1];
	json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	const char *msg;
	int rc;

	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	hcr_eks_error_code(code, sizeof(code), errtype, doc);
	msg = json_string_value(json_object_get(doc, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(doc, "Message"));
	rc = status_of(code, status);
	switch (rc) {
	case HCR_ECONFLICT:
		hcr_error_set(out, rc, HCR_ERR_CONFLICT, "EKS %s %s: the resource is in use", op,
			      target);
		break;
	case HCR_EINVALID:
		if (unknown_operation(code, status))
			hcr_error_set(out, rc, HCR_ERR_INVALID,
				      "EKS %s %s: the endpoint does not implement %s (HTTP %ld)",
				      op, target, op, status);
		else
			hcr_error_set(out, rc, HCR_ERR_INVALID, "EKS refused %s %s", op, target);
		break;
	case HCR_ENOTFOUND:
		hcr_error_set(out, rc, HCR_ERR_NOT_FOUND, "EKS %s %s: not found", op, target);
		break;
	case HCR_EDENIED:
		hcr_error_set(out, rc, status == 401 ? HCR_ERR_UNAUTHORIZED : HCR_ERR_FORBIDDEN,
			      "EKS refused the credential for %s %s", op, target);
		hcr_error_hint(out, "check the credential's access key, secret and session token "
				    "and its permissions, and this machine's clock");
		break;
	default:
		if (status == 429 || strstr(code, "Throttl") || strstr(code, "TooManyRequests"))
			hcr_error_set(out, rc, HCR_ERR_UNAVAILABLE, "EKS throttled %s %s", op,
				      target);
		else
			hcr_error_set(out, rc, HCR_ERR_UNAVAILABLE,
				      "EKS failed %s %s with HTTP %ld", op, target, status);
		break;
	}
	if (code[0] && msg)
		hcr_error_detail(out, "%s: %s", code, msg);
	else if (code[0])
		hcr_error_detail(out, "%s", code);
	else {
		snippet(text, sizeof(text), body ? body : "", body ? len : 0);
		hcr_error_detail(out, "HTTP %ld: %s", status, text);
	}
	if (unknown_operation(code, status)) {
		if (strcmp(op, "ListUpdates") == 0 || strcmp(op, "DescribeUpdate") == 0)
			hcr_error_hint(out, "set providers.eks.list_updates: false for endpoints "
					    "without ListUpdates");
		else
			hcr_error_hint(out,
				       "check providers.eks.endpoint: it should be an EKS API "
				       "that implements %s",
				       op);
	}
	json_decref(doc);
	return rc;
}

/* ---- handles --------------------------------------------------------------------------- */

bool hcr_eks_valid_name(const char *s)
{
	size_t n;

	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	return n <= 100 && s[n] == '\0';
}

static bool valid_id(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	return n < 200 && s[n] == '\0';
}

static const char *const prefixes[] = {"update:", "ngcreate:", "ngdelete:", "create:", "delete:"};

char *hcr_eks_handle_format(hcr_eks_handle_kind kind, const char *name, const char *id)
{
	if (kind == HCR_EKS_H_UPDATE) {
		if ((name && *name && !hcr_eks_valid_name(name)) || !valid_id(id))
			return NULL;
		return hcr_sprintf("update:%s:%s", name ? name : "", id);
	}
	if ((unsigned)kind >= sizeof(prefixes) / sizeof(prefixes[0]) || !hcr_eks_valid_name(name))
		return NULL;
	return hcr_sprintf("%s%s", prefixes[kind], name);
}

int hcr_eks_handle_parse(hcr_eks_handle *out, const char *handle, hcr_error *err)
{
	size_t i, n;

	memset(out, 0, sizeof(*out));
	for (i = 0; handle && i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (strncmp(handle, prefixes[i], n) != 0)
			continue;
		out->kind = (hcr_eks_handle_kind)i;
		handle += n;
		if (out->kind == HCR_EKS_H_UPDATE) {
			const char *colon = strchr(handle, ':');

			n = colon ? (size_t)(colon - handle) : 0;
			if (!colon || n >= sizeof(out->name) ||
			    strlen(colon + 1) >= sizeof(out->id))
				break;
			memcpy(out->name, handle, n);
			out->name[n] = '\0';
			snprintf(out->id, sizeof(out->id), "%s", colon + 1);
			if ((n && !hcr_eks_valid_name(out->name)) || !valid_id(out->id))
				break;
			return HCR_OK;
		}
		if (strlen(handle) >= sizeof(out->name) || !hcr_eks_valid_name(handle))
			break;
		snprintf(out->name, sizeof(out->name), "%s", handle);
		return HCR_OK;
	}
	memset(out, 0, sizeof(*out));
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			     "not an operation handle of the EKS provider");
}

/* ---- poll states ----------------------------------------------------------------------- */

static json_t *state(const char *s)
{
	return json_pack("{s:s}", "state", s);
}

static json_t *failure(const char *s, const char *code, const char *message)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "state", s, "error", "code", code, "message",
			 message);
}

static int unknown(hcr_error *err, const char *what, const char *status)
{
	char text[64];

	snippet(text, sizeof(text), status ? status : "", status ? strlen(status) : 0);
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "unexpected response from EKS");
	hcr_error_detail(err, "%s status \"%s\" is not one EKS defines", what, text);
	return HCR_EUPSTREAM;
}

int hcr_eks_poll_update(json_t **out, json_t *update, hcr_error *err)
{
	const char *status = json_string_value(json_object_get(update, "status"));
	json_t *first = json_array_get(json_object_get(update, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "errorCode"));
	const char *msg = json_string_value(json_object_get(first, "errorMessage"));

	*out = NULL;
	if (!status)
		return unknown(err, "update", NULL);
	if (strcmp(status, "InProgress") == 0)
		*out = state("running");
	else if (strcmp(status, "Successful") == 0)
		*out = state("succeeded");
	else if (strcmp(status, "Failed") == 0)
		*out = failure("failed", code ? code : "UpdateFailed",
			       msg ? msg : "the update failed");
	else if (strcmp(status, "Cancelled") == 0)
		*out = failure("cancelled", code ? code : "UpdateCancelled",
			       msg ? msg : "the update was cancelled");
	else
		return unknown(err, "update", status);
	return HCR_OK;
}

/* The first health issue of a node group or cluster, or the defaults. */
static json_t *issue_failure(json_t *obj, const char *code, const char *message)
{
	json_t *issue =
		json_array_get(json_object_get(json_object_get(obj, "health"), "issues"), 0);
	const char *c = json_string_value(json_object_get(issue, "code"));
	const char *m = json_string_value(json_object_get(issue, "message"));

	return failure("failed", c ? c : code, m ? m : message);
}

int hcr_eks_poll_nodegroup(json_t **out, json_t *nodegroup, bool deleting, hcr_error *err)
{
	const char *status = json_string_value(json_object_get(nodegroup, "status"));

	*out = NULL;
	if (!nodegroup) {
		*out = deleting ? state("succeeded")
				: failure("failed", "NodegroupNotFound",
					  "the node group vanished while it was being created");
		return HCR_OK;
	}
	if (!status)
		return unknown(err, "node group", NULL);
	if (deleting) {
		if (strcmp(status, "DELETE_FAILED") == 0)
			*out = issue_failure(nodegroup, "DeleteFailed",
					     "EKS could not delete the node group");
		else
			/* DELETING, or not yet: EKS may lag behind its own DeleteNodegroup. */
			*out = state("running");
		return HCR_OK;
	}
	if (strcmp(status, "CREATING") == 0)
		*out = state("running");
	else if (strcmp(status, "ACTIVE") == 0 || strcmp(status, "UPDATING") == 0 ||
		 strcmp(status, "DEGRADED") == 0)
		*out = state("succeeded");
	else if (strcmp(status, "CREATE_FAILED") == 0)
		*out = issue_failure(nodegroup, "CreateFailed",
				     "EKS could not create the node group");
	else if (strcmp(status, "DELETING") == 0 || strcmp(status, "DELETE_FAILED") == 0)
		*out = failure("failed", "NodegroupDeleting", "the node group is being deleted");
	else
		return unknown(err, "node group", status);
	return HCR_OK;
}

int hcr_eks_poll_cluster_create(json_t **out, json_t *cluster, hcr_error *err)
{
	const char *status = json_string_value(json_object_get(cluster, "status"));

	*out = NULL;
	if (!status)
		return unknown(err, "cluster", NULL);
	if (strcmp(status, "CREATING") == 0 || strcmp(status, "PENDING") == 0)
		*out = state("running");
	else if (strcmp(status, "ACTIVE") == 0 || strcmp(status, "UPDATING") == 0)
		*out = state("succeeded");
	else if (strcmp(status, "FAILED") == 0)
		*out = issue_failure(cluster, "ClusterFailed", "the cluster entered FAILED");
	else if (strcmp(status, "DELETING") == 0)
		*out = failure("failed", "ClusterDeleting", "the cluster is being deleted");
	else
		return unknown(err, "cluster", status);
	return HCR_OK;
}
