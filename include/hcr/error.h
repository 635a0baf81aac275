/*
 * Status codes and the error record every fallible hcr function fills.
 *
 * A function returns an hcr_status; when it is not HCR_OK the details are in a
 * caller-provided hcr_error. The error's fields map one to one onto the REST
 * API's error body: {"error": {"code", "message", "detail", "hint"}}.
 *
 * Messages follow the PostgreSQL style: short, factual, lower case, no final
 * period. A library's or cloud's own text goes into `detail`; what the user
 * can do about it goes into `hint`.
 */
#ifndef HCR_ERROR_H
#define HCR_ERROR_H

#include <stddef.h>

typedef enum {
	HCR_OK = 0,
	HCR_ERROR = -1,     /* generic; the text is in hcr_error */
	HCR_ENOTFOUND = -2, /* 404 */
	HCR_ECONFLICT = -3, /* 409 / 412 */
	HCR_EINVALID = -4,  /* 400 / 422 */
	HCR_EUPSTREAM = -5, /* a cloud or the database failed: 502 / 503 */
	HCR_EAGAIN = -6,    /* started; the result arrives through the callback */
	HCR_EDENIED = -7,   /* 401 / 403 */
} hcr_status;

/*
 * Machine-readable error codes, used as hcr_error.code. Each maps to one HTTP
 * status (see hcr_error_http_status).
 */
#define HCR_ERR_BAD_REQUEST           "bad_request"           /* 400 */
#define HCR_ERR_INVALID_JSON          "invalid_json"          /* 400 */
#define HCR_ERR_UNAUTHORIZED          "unauthorized"          /* 401 */
#define HCR_ERR_FORBIDDEN             "forbidden"             /* 403 */
#define HCR_ERR_NOT_FOUND             "not_found"             /* 404 */
#define HCR_ERR_METHOD_NOT_ALLOWED    "method_not_allowed"    /* 405 */
#define HCR_ERR_CONFLICT              "conflict"              /* 409 */
#define HCR_ERR_PRECONDITION          "precondition_failed"   /* 412 */
#define HCR_ERR_TOO_LARGE             "payload_too_large"     /* 413 */
#define HCR_ERR_PRECONDITION_REQUIRED "precondition_required" /* 428 */
#define HCR_ERR_INVALID               "invalid"               /* 422 */
#define HCR_ERR_INTERNAL              "internal"              /* 500 */
#define HCR_ERR_UNAVAILABLE           "unavailable"           /* 503 */
#define HCR_ERR_CONFIG                "config"                /* configuration refused at start */

typedef struct hcr_error {
	char code[32];
	char message[512];
	char detail[1024];
	char hint[512];
} hcr_error;

/* Clears every field. */
void hcr_error_clear(hcr_error *err);

/*
 * Sets code and message (printf-style) and clears detail and hint. Returns
 * `status` so that callers can write `return hcr_error_set(err, HCR_EINVALID, ...)`.
 * `err` may be NULL, in which case only the status is returned.
 */
int hcr_error_set(hcr_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the detail (printf-style); keeps the other fields. `err` may be NULL. */
void hcr_error_detail(hcr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the hint (printf-style); keeps the other fields. `err` may be NULL. */
void hcr_error_hint(hcr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The HTTP status for an error code; 500 for an unknown or empty code. */
int hcr_error_http_status(const hcr_error *err);

/* A short name for a status, for logs ("ok", "not found", ...). */
const char *hcr_status_name(int status);

#endif
