/*
 * JSON helpers over jansson: parsing outside input with errors that say where,
 * and typed field access that names the offending field.
 *
 * Ownership follows jansson's words: *new* references must be released with
 * json_decref by the caller, *borrowed* ones live as long as their parent.
 */
#ifndef HCR_JSON_H
#define HCR_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hcr/error.h"

/*
 * Parses a request body of `len` bytes into a JSON object.
 * On success *out is a *new* reference. A body that is not JSON fails with
 * HCR_EINVALID / "invalid_json" and the line and column in the message; a
 * body that is JSON but not an object fails with HCR_EINVALID / "invalid".
 */
int hcr_json_parse_object(json_t **out, const char *body, size_t len, hcr_error *err);

/*
 * Reads an optional string field. *out is *borrowed* (NULL when absent or null).
 * A present, non-null field that is not a string fails with "invalid" naming
 * `path` (the field's name as the user wrote it, e.g. "eks.accessKeyId").
 */
int hcr_json_opt_string(const char **out, json_t *obj, const char *key, const char *path,
			hcr_error *err);

/* As hcr_json_opt_string, but a missing, null or empty field fails too. */
int hcr_json_req_string(const char **out, json_t *obj, const char *key, const char *path,
			hcr_error *err);

/* Reads an optional boolean; *out keeps its value when the field is absent. */
int hcr_json_opt_bool(bool *out, json_t *obj, const char *key, const char *path, hcr_error *err);

/*
 * Fails with "invalid" naming the first key of `obj` that is not in the
 * NULL-terminated list `allowed`; `prefix` is prepended to the name
 * ("" at the top level, "eks." inside a nested object).
 */
int hcr_json_only_keys(json_t *obj, const char *const *allowed, const char *prefix, hcr_error *err);

/*
 * Serialises `value` compactly with sorted keys. Returns a new string
 * (free with free()).
 */
char *hcr_json_dumps(const json_t *value);

#endif
