/*
 * What ARM and Azure AD answer, read without trusting it: error responses
 * mapped to hcr's statuses, operation handles (hcr stores them and gives them
 * back, so they are parsed as outside input too), and the states of
 * long-running operations and resources as poll_operation reports them.
 *
 * ARM's error body is {"error": {"code", "message", "details"?}}; the HTTP
 * status decides hcr's status, the code only where one status means several
 * things (409).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/mem.h"
#include "hcr/provider_aks.h"

#define HANDLE_MAX 399

bool hcr_aks_terminal(const char *state)
{
	return state && (strcasecmp(state, "Succeeded") == 0 || strcasecmp(state, "Failed") == 0 ||
			 strcasecmp(state, "Canceled") == 0 || strcasecmp(state, "Cancelled") == 0);
}

bool hcr_aks_valid_pool_name(const char *s)
{
	size_t n;

	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");
	return n <= 12 && s[n] == '\0';
}

/* Copies `s` with anything unprintable replaced, at most size - 1 bytes. */
static void printable(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : ' ';
	out[i] = '\0';
}

static void body_snippet(char *out, size_t size, const char *body, size_t len)
{
	size_t i, n = len < size - 1 ? len : size - 1;

	for (i = 0; i < n; i++)
		out[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	out[n] = '\0';
}

int hcr_aks_parse_error(hcr_error *out, char *code, size_t code_size, const char *op,
			const char *target, long status, const char *body, size_t len)
{
	json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
	json_t *e = json_object_get(doc, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));
	char cbuf[96] = "", mbuf[700] = "";
	int rc;
	const char *what;

	if (c)
		printable(cbuf, sizeof(cbuf), c);
	if (m)
		printable(mbuf, sizeof(mbuf), m);
	if (code && code_size)
		snprintf(code, code_size, "%s", cbuf);
	if (status == 401 || status == 403) {
		rc = HCR_EDENIED;
		what = HCR_ERR_FORBIDDEN;
	} else if (status == 404) {
		rc = HCR_ENOTFOUND;
		what = HCR_ERR_NOT_FOUND;
	} else if (status == 409 || status == 412) {
		rc = HCR_ECONFLICT;
		what = HCR_ERR_CONFLICT;
	} else if (status == 408 || status == 429 || status >= 500) {
		rc = HCR_EUPSTREAM;
		what = HCR_ERR_UNAVAILABLE;
	} else {
		rc = HCR_EINVALID;
		what = HCR_ERR_INVALID;
	}
	hcr_error_set(out, rc, what, "ARM refused %s %s", op ? op : "the call",
		      target ? target : "");
	if (cbuf[0]) {
		hcr_error_detail(out, "%s: %s", cbuf, mbuf);
	} else {
		char snip[201];

		body_snippet(snip, sizeof(snip), body ? body : "", len);
		hcr_error_detail(out, "HTTP %ld: %s", status, snip);
	}
	if (rc == HCR_ECONFLICT && status == 409)
		hcr_error_hint(out, "AKS is busy with another operation; hcr waits for it");
	json_decref(doc);
	return rc;
}

int hcr_aks_parse_token_error(hcr_error *out, long status, const char *body, size_t len)
{
	json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
	const char *e = json_string_value(json_object_get(doc, "error"));
	const char *d = json_string_value(json_object_get(doc, "error_description"));
	char ebuf[96] = "", dbuf[600] = "";
	int rc;

	if (e)
		printable(ebuf, sizeof(ebuf), e);
	if (d)
		printable(dbuf, sizeof(dbuf), d);
	if (status == 429 || status >= 500 ||
	    (e && (strcmp(e, "temporarily_unavailable") == 0 || strcmp(e, "server_error") == 0))) {
		rc = hcr_error_set(out, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "Azure AD could not issue a token");
	} else {
		rc = hcr_error_set(out, HCR_EDENIED, HCR_ERR_UNAUTHORIZED,
				   "Azure AD refused the credential");
		hcr_error_hint(out, "check the credential's tenantId, clientId and clientSecret");
	}
	if (ebuf[0]) {
		hcr_error_detail(out, "%s: %s", ebuf, dbuf);
	} else {
		char snip[201];

		body_snippet(snip, sizeof(snip), body ? body : "", len);
		hcr_error_detail(out, "HTTP %ld: %s", status, snip);
	}
	json_decref(doc);
	return rc;
}

char *hcr_aks_form_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	hcr_buf b = {0};

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			hcr_buf_append(&b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			hcr_buf_append(&b, e, 3);
		}
	}
	if (!b.data)
		return hcr_strdup("");
	return b.data;
}

/* ---- handles --------------------------------------------------------------------------- */

static bool handle_text_ok(const char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s) || *s == ' ')
			return false;
	return true;
}

/* The part of `url` after `endpoint` when it is a path under it, or NULL. */
static const char *relative(const char *endpoint, const char *url)
{
	size_t n = strlen(endpoint);

	if (!url || strncmp(url, endpoint, n) != 0 || url[n] != '/')
		return NULL;
	url += n;
	if (strncmp(url, "/subscriptions/", 15) != 0 || strstr(url, "..") || strchr(url, '#') ||
	    strlen(url) + 4 > HANDLE_MAX || !handle_text_ok(url))
		return NULL;
	return url;
}

char *hcr_aks_handle_make(const char *endpoint, const char *async, const char *location,
			  const char *pool, bool deleting)
{
	const char *rel;

	if ((rel = relative(endpoint, async)) != NULL)
		return hcr_sprintf("aop:%s", rel);
	if ((rel = relative(endpoint, location)) != NULL)
		return hcr_sprintf("loc:%s", rel);
	return hcr_sprintf("%s:%s", deleting ? "del" : "res", pool ? pool : "");
}

int hcr_aks_handle_parse(hcr_aks_handle *out, const char *handle, hcr_error *err)
{
	static const char *const kinds[] = {"aop:", "loc:", "res:", "del:"};
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; handle && i < 4; i++) {
		const char *arg = handle + 4;

		if (strncmp(handle, kinds[i], 4) != 0 || strlen(handle) > HANDLE_MAX)
			continue;
		out->kind = (hcr_aks_handle_kind)i;
		if (i <= HCR_AKS_H_LOC) {
			if (strncmp(arg, "/subscriptions/", 15) != 0 || strstr(arg, "..") ||
			    !handle_text_ok(arg))
				break;
		} else if (*arg && !hcr_aks_valid_pool_name(arg)) {
			break;
		}
		snprintf(out->arg, sizeof(out->arg), "%s", arg);
		return HCR_OK;
	}
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			     "\"%.60s\" is not an AKS operation handle", handle ? handle : "");
}

/* ---- operation states ------------------------------------------------------------------ */

static json_t *failed_result(const char *state, json_t *error, const char *fallback)
{
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *msg = json_string_value(json_object_get(error, "message"));

	return json_pack("{s:s, s:{s:s, s:s}}", "state", state, "error", "code",
			 code && *code ? code : fallback, "message",
			 msg && *msg ? msg : "the operation did not succeed");
}

int hcr_aks_poll_status(json_t **out, json_t *status, hcr_error *err)
{
	const char *s = json_string_value(json_object_get(status, "status"));

	*out = NULL;
	if (!s || !*s)
		return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				     "the operation status has no \"status\"");
	if (strcasecmp(s, "Succeeded") == 0)
		*out = json_pack("{s:s}", "state", "succeeded");
	else if (strcasecmp(s, "Failed") == 0)
		*out = failed_result("failed", json_object_get(status, "error"), "Failed");
	else if (strcasecmp(s, "Canceled") == 0 || strcasecmp(s, "Cancelled") == 0)
		*out = failed_result("cancelled", json_object_get(status, "error"), "Canceled");
	else
		*out = json_pack("{s:s}", "state", "running");
	return HCR_OK;
}

int hcr_aks_poll_resource(json_t **out, json_t *resource, bool deleting, hcr_error *err)
{
	json_t *props = json_object_get(resource, "properties");
	const char *s = json_string_value(json_object_get(props, "provisioningState"));

	*out = NULL;
	if (!resource) {
		*out = json_pack("{s:s}", "state", deleting ? "succeeded" : "failed");
		if (!deleting)
			json_object_set_new(*out, "error",
					    json_pack("{s:s, s:s}", "code", "ResourceNotFound",
						      "message", "the resource is gone"));
		return HCR_OK;
	}
	if (!s)
		return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				     "the resource has no provisioningState");
	if (!deleting && strcasecmp(s, "Succeeded") == 0)
		*out = json_pack("{s:s}", "state", "succeeded");
	else if (strcasecmp(s, "Failed") == 0)
		*out = json_pack("{s:s, s:{s:s, s:s}}", "state", "failed", "error", "code",
				 "ProvisioningFailed", "message",
				 "the resource's provisioningState is Failed");
	else if (strcasecmp(s, "Canceled") == 0)
		*out = json_pack("{s:s, s:{s:s, s:s}}", "state", "cancelled", "error", "code",
				 "Canceled", "message",
				 "the resource's provisioningState is Canceled");
	else
		*out = json_pack("{s:s}", "state", "running");
	return HCR_OK;
}
