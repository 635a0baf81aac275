/*
 * What GKE's answers mean: Google's error body mapped to hcr's status (the
 * difference between "busy, wait" and "refused" lives here), operation
 * handles, and an Operation's state for poll_operation.
 *
 * Google's errors are {"error": {"code", "message", "status", "errors":
 * [{"reason"}], "details"}}. GKE refuses a mutation while another operation
 * runs with 400 FAILED_PRECONDITION; only the message tells it from a real
 * precondition ("Cluster is running incompatible operation ...", older builds
 * "... Please wait and try again once it is done."), so those texts are
 * matched, as the gke-operator and Terraform do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_gke.h"

bool hcr_gke_valid_name(const char *s)
{
	size_t n;

	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	for (n = 0; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n <= 40 && s[n - 1] != '-';
}

/* ---- errors ------------------------------------------------------------------------------ */

static const char *const busy_texts[] = {
	"incompatible operation",
	"Please wait and try again once it is done",
	"is currently being created, deleted, updated or repaired",
};

static bool is_busy(const char *message)
{
	for (size_t i = 0; message && i < sizeof(busy_texts) / sizeof(busy_texts[0]); i++)
		if (strstr(message, busy_texts[i]))
			return true;
	return false;
}

static int classify(long http, const char *status, const char *message)
{
	if (strcmp(status, "FAILED_PRECONDITION") == 0)
		return is_busy(message) ? HCR_ECONFLICT : HCR_EINVALID;
	if (strcmp(status, "ABORTED") == 0 || strcmp(status, "ALREADY_EXISTS") == 0)
		return HCR_ECONFLICT;
	if (strcmp(status, "RESOURCE_EXHAUSTED") == 0 || strcmp(status, "UNAVAILABLE") == 0 ||
	    strcmp(status, "INTERNAL") == 0 || strcmp(status, "DEADLINE_EXCEEDED") == 0 ||
	    http == 429 || http >= 500)
		return HCR_EUPSTREAM;
	if (strcmp(status, "NOT_FOUND") == 0 || http == 404)
		return HCR_ENOTFOUND;
	if (strcmp(status, "UNAUTHENTICATED") == 0 || strcmp(status, "PERMISSION_DENIED") == 0 ||
	    http == 401 || http == 403)
		return HCR_EDENIED;
	if (http == 409)
		return HCR_ECONFLICT;
	if (http == 400 && is_busy(message))
		return HCR_ECONFLICT;
	return HCR_EINVALID;
}

const char *hcr_gke_snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = body ? (len < size - 1 ? len : size - 1) : 0;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] >= 0x20 && (unsigned char)body[i] < 0x7f ? body[i]
											 : ' ';
	out[n] = '\0';
	return out;
}

int hcr_gke_parse_error(hcr_error *out, const char *op, const char *target, long status,
			const char *body, size_t len)
{
	char snip[201];
	json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *e = json_object_get(doc, "error");
	const char *gstatus = json_string_value(json_object_get(e, "status"));
	const char *message = json_string_value(json_object_get(e, "message"));
	int rc = classify(status, gstatus ? gstatus : "", message);

	switch (rc) {
	case HCR_ECONFLICT:
		hcr_error_set(out, rc, HCR_ERR_CONFLICT, "GKE is busy with %s: %s refused", target,
			      op);
		hcr_error_hint(out, "hcr retries once the running operation is done");
		break;
	case HCR_EUPSTREAM:
		hcr_error_set(out, rc, HCR_ERR_UNAVAILABLE, "GKE failed %s %s", op, target);
		break;
	case HCR_ENOTFOUND:
		hcr_error_set(out, rc, HCR_ERR_NOT_FOUND, "GKE %s %s: not found", op, target);
		break;
	case HCR_EDENIED:
		hcr_error_set(out, rc, status == 401 ? HCR_ERR_UNAUTHORIZED : HCR_ERR_FORBIDDEN,
			      "GKE denied %s %s", op, target);
		hcr_error_hint(out, "the service account needs roles/container.clusterAdmin (or "
				    "the container.clusters.* and container.operations.get "
				    "permissions) in the project");
		break;
	default:
		hcr_error_set(out, rc, HCR_ERR_INVALID, "GKE refused %s %s", op, target);
		break;
	}
	if (json_is_object(e) && message)
		hcr_error_detail(out, "%s: %s", gstatus ? gstatus : "ERROR", message);
	else
		hcr_error_detail(out, "HTTP %ld: %s", status,
				 hcr_gke_snippet(snip, sizeof(snip), body, len));
	json_decref(doc);
	return rc;
}

bool hcr_gke_is_fingerprint_mismatch(const hcr_error *err)
{
	return strstr(err->detail, "fingerprint mismatch") != NULL;
}

/* ---- handles ----------------------------------------------------------------------------- */

static bool charset_ok(const char *s, const char *allowed, size_t max)
{
	size_t n = s ? strspn(s, allowed) : 0;

	return n > 0 && n <= max && s[n] == '\0';
}

#define LOC_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"
#define OP_CHARS  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

char *hcr_gke_handle_format(const char *location, const char *name)
{
	if (!charset_ok(location, LOC_CHARS, 63) || !charset_ok(name, OP_CHARS, 255))
		return NULL;
	return hcr_sprintf("op:%s:%s", location, name);
}

int hcr_gke_handle_parse(char location[64], char name[256], const char *handle, hcr_error *err)
{
	const char *colon;
	size_t n;

	if (!handle || strncmp(handle, "op:", 3) != 0 || !(colon = strchr(handle + 3, ':')))
		goto bad;
	n = (size_t)(colon - handle - 3);
	if (n == 0 || n > 63)
		goto bad;
	memcpy(location, handle + 3, n);
	location[n] = '\0';
	if (!charset_ok(location, LOC_CHARS, 63) || !charset_ok(colon + 1, OP_CHARS, 255))
		goto bad;
	snprintf(name, 256, "%s", colon + 1);
	return HCR_OK;
bad:
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			     "\"%.100s\" is not a GKE operation handle", handle ? handle : "");
}

/* ---- operations -------------------------------------------------------------------------- */

static const char *const rpc_codes[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

int hcr_gke_poll_result(json_t **out, json_t *operation, hcr_error *err)
{
	const char *status = json_string_value(json_object_get(operation, "status"));
	json_t *e = json_object_get(operation, "error");
	json_t *code = json_object_get(e, "code");
	const char *message = json_string_value(json_object_get(e, "message"));
	const char *smsg = json_string_value(json_object_get(operation, "statusMessage"));
	char cbuf[32];

	*out = NULL;
	if (!status)
		goto bad;
	if (strcmp(status, "PENDING") == 0 || strcmp(status, "RUNNING") == 0 ||
	    strcmp(status, "ABORTING") == 0) {
		*out = json_pack("{s:s}", "state", "running");
		return HCR_OK;
	}
	if (strcmp(status, "DONE") != 0)
		goto bad;
	if (json_is_object(e) && !(json_is_integer(code) && json_integer_value(code) == 0)) {
		json_int_t c = json_integer_value(code);

		if (json_is_string(code))
			snprintf(cbuf, sizeof(cbuf), "%.31s", json_string_value(code));
		else if (json_is_integer(code) && c > 0 &&
			 c < (json_int_t)(sizeof(rpc_codes) / sizeof(rpc_codes[0])))
			snprintf(cbuf, sizeof(cbuf), "%s", rpc_codes[c]);
		else
			snprintf(cbuf, sizeof(cbuf), "UNKNOWN");
		*out = json_pack("{s:s, s:{s:s, s:s}}", "state", "failed", "error", "code", cbuf,
				 "message",
				 message ? message
				 : smsg  ? smsg
					 : "the operation failed");
		return HCR_OK;
	}
	*out = json_pack("{s:s}", "state", "succeeded");
	return HCR_OK;
bad:
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from GKE for operations.get");
	hcr_error_detail(err, "operation status \"%s\" is not one GKE defines",
			 status ? status : "(none)");
	return HCR_EUPSTREAM;
}
