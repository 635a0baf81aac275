/*
 * JSON helpers: parse outside input with a precise location on failure, and
 * read typed fields with errors that name the field as the user wrote it.
 */
#include <stdlib.h>
#include <string.h>

#include "hcr/json.h"

int hcr_json_parse_object(json_t **out, const char *body, size_t len, hcr_error *err)
{
	json_error_t jerr;
	json_t *doc;

	*out = NULL;
	if (len == 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID_JSON,
				     "request body is empty; a JSON object is expected");
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!doc) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID_JSON,
			      "request body is not valid JSON at line %d, column %d", jerr.line,
			      jerr.column);
		hcr_error_detail(err, "%s", jerr.text);
		return HCR_EINVALID;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "request body must be a JSON object");
	}
	*out = doc;
	return HCR_OK;
}

int hcr_json_opt_string(const char **out, json_t *obj, const char *key, const char *path,
			hcr_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return HCR_OK;
	if (!json_is_string(v))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" must be a string", path);
	*out = json_string_value(v);
	return HCR_OK;
}

int hcr_json_req_string(const char **out, json_t *obj, const char *key, const char *path,
			hcr_error *err)
{
	int rc = hcr_json_opt_string(out, obj, key, path, err);

	if (rc != HCR_OK)
		return rc;
	if (!*out || !**out)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\" is required",
				     path);
	return HCR_OK;
}

int hcr_json_opt_bool(bool *out, json_t *obj, const char *key, const char *path, hcr_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return HCR_OK;
	if (!json_is_boolean(v))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" must be true or false", path);
	*out = json_is_true(v);
	return HCR_OK;
}

int hcr_json_only_keys(json_t *obj, const char *const *allowed, const char *prefix, hcr_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *a;
		int ok = 0;

		(void)v;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = 1;
		if (!ok)
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "unknown field \"%s%s\"", prefix, key);
	}
	return HCR_OK;
}

char *hcr_json_dumps(const json_t *value)
{
	return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
