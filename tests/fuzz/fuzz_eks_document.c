/*
 * Fuzz target: what EKS (or anything claiming to be EKS) answers, through
 * every parser the EKS provider runs on it. The input is used three ways:
 *  - as an error response body, with each error status and an
 *    x-amzn-ErrorType header taken from its first line (hcr_eks_parse_error);
 *  - as JSON: a DescribeCluster answer ({"cluster", "nodegroups"?} or the
 *    cluster alone) normalised with its node groups, a DescribeNodegroup,
 *    Update or cluster object read for poll_operation, and, since hcr's own
 *    changes and documents reach the same code, as the changes and the
 *    described node group of every request-body builder and as a
 *    configuration to check before a create;
 *  - as an operation handle (hcr_eks_handle_parse, then a round trip).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/provider_eks.h"
#include "fuzz.h"

static void errors(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 403, 404, 409, 429, 500, 503, 302};
	char header[128];
	size_t i, n = 0;
	hcr_error err;

	while (n < size && n < sizeof(header) - 1 && data[n] != '\n') {
		header[n] = (char)data[n];
		n++;
	}
	header[n] = '\0';
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		(void)hcr_eks_parse_error(&err, "ListUpdates", "demo", statuses[i],
					  i % 2 ? header : NULL, (const char *)data, size);
		if (!err.message[0])
			abort();
	}
}

static void documents(json_t *v)
{
	json_t *cluster = json_object_get(v, "cluster"), *ngs = json_object_get(v, "nodegroups");
	json_t *one = json_array(), *out = NULL, *set = NULL, *unset = NULL;
	hcr_error err;

	if (!cluster)
		cluster = v;
	json_array_append(one, v);
	if (hcr_eks_normalise(&out, cluster, ngs ? ngs : one, &err) == HCR_OK && !out)
		abort();
	json_decref(out);
	(void)hcr_eks_normalise(&out, v, NULL, &err);
	json_decref(out);
	(void)hcr_eks_busy(cluster, ngs);
	(void)hcr_eks_poll_update(&out, json_object_get(v, "update"), &err);
	json_decref(out);
	(void)hcr_eks_poll_nodegroup(&out, json_object_get(v, "nodegroup"), false, &err);
	json_decref(out);
	(void)hcr_eks_poll_nodegroup(&out, v, true, &err);
	json_decref(out);
	(void)hcr_eks_poll_cluster_create(&out, cluster, &err);
	json_decref(out);

	(void)hcr_eks_body_cluster_version(&out, v, "t", &err);
	json_decref(out);
	(void)hcr_eks_body_endpoint_access(&out, v, "t", &err);
	json_decref(out);
	(void)hcr_eks_body_logging(&out, v, "t", &err);
	json_decref(out);
	if (hcr_eks_tag_split(&set, &unset, v, "tags", &err) == HCR_OK) {
		json_decref(set);
		json_decref(unset);
	}
	(void)hcr_eks_body_nodegroup_config(&out, v, "ng-a", json_object_get(v, "nodegroup"), "t",
					    &err);
	json_decref(out);
	(void)hcr_eks_body_nodegroup_version(&out, v, "ng-a", "t", &err);
	json_decref(out);
	(void)hcr_eks_body_create_nodegroup(&out, "ng-a", v, cluster, "t", &err);
	json_decref(out);
	(void)hcr_eks_body_create_cluster(&out, "demo", v, "t", &err);
	json_decref(out);
	(void)hcr_eks_check_create(v, &err);
	json_decref(one);
}

static void handles(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), *again;
	hcr_eks_handle h;
	hcr_error err;

	if (hcr_eks_handle_parse(&h, s, &err) == HCR_OK) {
		again = hcr_eks_handle_format(h.kind, h.name, h.id);
		if (!again || strcmp(again, s) != 0 || strlen(again) >= 400)
			abort();
		free(again);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v;

	fuzz_quiet();
	errors(data, size);
	handles(data, size);
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (v)
		documents(v);
	json_decref(v);
	return 0;
}
