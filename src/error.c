/*
 * The error record: setters and the mapping from error codes to HTTP statuses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hcr/error.h"

void hcr_error_clear(hcr_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int hcr_error_set(hcr_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return status;
	hcr_error_clear(err);
	snprintf(err->code, sizeof(err->code), "%s", code ? code : HCR_ERR_INTERNAL);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

void hcr_error_detail(hcr_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void hcr_error_hint(hcr_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

static const struct {
	const char *code;
	int http;
} http_map[] = {
	{HCR_ERR_BAD_REQUEST, 400},  {HCR_ERR_INVALID_JSON, 400},
	{HCR_ERR_UNAUTHORIZED, 401}, {HCR_ERR_FORBIDDEN, 403},
	{HCR_ERR_NOT_FOUND, 404},    {HCR_ERR_METHOD_NOT_ALLOWED, 405},
	{HCR_ERR_CONFLICT, 409},     {HCR_ERR_PRECONDITION, 412},
	{HCR_ERR_TOO_LARGE, 413},    {HCR_ERR_PRECONDITION_REQUIRED, 428},
	{HCR_ERR_INVALID, 422},      {HCR_ERR_INTERNAL, 500},
	{HCR_ERR_UNAVAILABLE, 503},
};

int hcr_error_http_status(const hcr_error *err)
{
	size_t i;

	if (!err)
		return 500;
	for (i = 0; i < sizeof(http_map) / sizeof(http_map[0]); i++)
		if (strcmp(err->code, http_map[i].code) == 0)
			return http_map[i].http;
	return 500;
}

const char *hcr_status_name(int status)
{
	switch (status) {
	case HCR_OK:
		return "ok";
	case HCR_ENOTFOUND:
		return "not found";
	case HCR_ECONFLICT:
		return "conflict";
	case HCR_EINVALID:
		return "invalid";
	case HCR_EUPSTREAM:
		return "upstream failure";
	case HCR_EAGAIN:
		return "in progress";
	case HCR_EDENIED:
		return "denied";
	default:
		return "error";
	}
}
