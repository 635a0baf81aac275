/*
 * Fuzz target: a Kubernetes object as a cluster (or anything claiming to be
 * one) returns it, through everything src/kube_normalise.c and src/kube_diff.c
 * do with it. Any JSON value is accepted; a two-element array is also taken as
 * a pair [left, right] to compare. Besides crashes and leaks it checks what
 * callers rely on:
 *  - normalising is idempotent under every flag combination, so the content
 *    hash of an object equals the hash of its normal form, with or without
 *    HCR_KUBE_NORMALISED;
 *  - an object diffed against itself gives the empty diff;
 *  - a prepared create fails only on what the header says, and leaves the
 *    object as it was when it fails;
 *  - the skip rules always answer, and masking never fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/kube_norm.h"
#include "fuzz.h"

static void one(const json_t *obj)
{
	static const unsigned int flag_sets[] = {
		0, HCR_KUBE_KEEP_STATUS, HCR_KUBE_KEEP_FINALIZERS | HCR_KUBE_KEEP_NODE_PORTS};
	char h1[65], h2[65];
	char *out = NULL;
	hcr_error err;

	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		json_t *a = json_deep_copy(obj);
		json_t *b;

		hcr_kube_normalise(a, flag_sets[i]);
		b = json_deep_copy(a);
		hcr_kube_normalise(b, flag_sets[i]);
		if (!json_equal(a, b))
			abort();
		if (hcr_kube_content_hash(h1, obj, flag_sets[i], &err) != HCR_OK ||
		    hcr_kube_content_hash(h2, a, flag_sets[i], &err) != HCR_OK ||
		    strcmp(h1, h2) != 0)
			abort();
		if (hcr_kube_content_hash(h2, a, flag_sets[i] | HCR_KUBE_NORMALISED, &err) !=
			    HCR_OK ||
		    strcmp(h1, h2) != 0)
			abort();
		json_decref(a);
		json_decref(b);
	}

	{
		json_t *c = json_deep_copy(obj);
		json_t *before = json_deep_copy(obj);

		if (hcr_kube_prepare_create(c, 0, &err) != HCR_OK) {
			if (!err.message[0] || !json_equal(c, before))
				abort();
		}
		json_decref(c);
		json_decref(before);
	}

	if (!hcr_kube_skip_reason(obj) && !json_is_object(obj))
		abort();

	if (hcr_kube_render(&out, obj, &err) == HCR_OK && !out)
		abort();
	free(out);
	out = NULL;
	if (hcr_kube_diff(&out, obj, obj, "a", "b", 0, &err) == HCR_OK && (!out || out[0] != '\0'))
		abort();
	free(out);
}

static void pair(const json_t *left, const json_t *right)
{
	json_t *l = json_deep_copy(left);
	json_t *r = json_deep_copy(right);
	char *out = NULL;
	hcr_error err;

	hcr_kube_mask_secret_pair(l, r);
	hcr_kube_mask_secret(l);
	if (hcr_kube_diff(&out, left, right, "left", "right", 0, &err) == HCR_OK && !out)
		abort();
	free(out);
	out = NULL;
	(void)hcr_kube_diff(&out, NULL, right, NULL, NULL, HCR_KUBE_KEEP_STATUS, &err);
	free(out);
	json_decref(l);
	json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *v;

	fuzz_quiet();
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v)
		return 0;
	one(v);
	if (json_is_array(v) && json_array_size(v) == 2) {
		one(json_array_get(v, 0));
		one(json_array_get(v, 1));
		pair(json_array_get(v, 0), json_array_get(v, 1));
	}
	json_decref(v);
	return 0;
}
