/*
 * From what EKS reports to hcr's document: DescribeCluster and the
 * DescribeNodegroup of every node group become one document in Rancher's
 * EKSClusterConfigSpec names, holding only catalogued fields (anything else
 * would become a field the engine tracks), and only what EKS reported.
 *
 * EKS's answers are outside input: every member read is type-checked, and a
 * wrong type fails the observation (HCR_EUPSTREAM) rather than producing a
 * document that would make hcr push a "fix" for a value EKS never had. JSON
 * null counts as absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_eks.h"

const char *const hcr_eks_log_types[5] = {"api", "audit", "authenticator", "controllerManager",
					  "scheduler"};

static int bad(hcr_error *err, const char *where, const char *key, const char *what)
{
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "unexpected response from EKS");
	hcr_error_detail(err, "%s.%s is not %s", where, key, what);
	return HCR_EUPSTREAM;
}

/* obj[key], with JSON null as absent. */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int get_string(const char **out, json_t *obj, const char *key, const char *where,
		      hcr_error *err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (v && !json_is_string(v))
		return bad(err, where, key, "a string");
	*out = json_string_value(v);
	return HCR_OK;
}

static int get_object(json_t **out, json_t *obj, const char *key, const char *where, hcr_error *err)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (v && !json_is_object(v))
		return bad(err, where, key, "an object");
	*out = v;
	return HCR_OK;
}

/* An array of strings (a new copy), or NULL when absent. */
static int get_strings(json_t **out, json_t *obj, const char *key, const char *where,
		       hcr_error *err)
{
	json_t *v = member(obj, key), *item;
	size_t i;

	*out = NULL;
	if (!v)
		return HCR_OK;
	if (!json_is_array(v))
		return bad(err, where, key, "an array of strings");
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return bad(err, where, key, "an array of strings");
	}
	*out = json_deep_copy(v);
	return HCR_OK;
}

/* A map of strings (a new copy; {} when absent). */
static int get_map(json_t **out, json_t *obj, const char *key, const char *where, hcr_error *err)
{
	json_t *v = member(obj, key), *value;
	const char *k;

	*out = NULL;
	if (v && !json_is_object(v))
		return bad(err, where, key, "an object of strings");
	json_object_foreach(v, k, value)
	{
		if (!json_is_string(value))
			return bad(err, where, key, "an object of strings");
	}
	*out = v ? json_deep_copy(v) : json_object();
	return HCR_OK;
}

static int copy_string(json_t *doc, const char *name, json_t *obj, const char *key,
		       const char *where, hcr_error *err)
{
	const char *s;
	int rc = get_string(&s, obj, key, where, err);

	if (rc == HCR_OK && s)
		json_object_set_new(doc, name, json_string(s));
	return rc;
}

static int copy_bool(json_t *doc, const char *name, json_t *obj, const char *key, const char *where,
		     hcr_error *err)
{
	json_t *v = member(obj, key);

	if (v && !json_is_boolean(v))
		return bad(err, where, key, "a boolean");
	if (v)
		json_object_set_new(doc, name, json_boolean(json_is_true(v)));
	return HCR_OK;
}

static int copy_int(json_t *doc, const char *name, json_t *obj, const char *key, const char *where,
		    hcr_error *err)
{
	json_t *v = member(obj, key);

	if (v && !json_is_integer(v))
		return bad(err, where, key, "an integer");
	if (v)
		json_object_set_new(doc, name, json_integer(json_integer_value(v)));
	return HCR_OK;
}

static int copy_strings(json_t *doc, const char *name, json_t *obj, const char *key,
			const char *where, hcr_error *err)
{
	json_t *v;
	int rc = get_strings(&v, obj, key, where, err);

	if (rc == HCR_OK && v)
		json_object_set_new(doc, name, v);
	return rc;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether obj[key] is absent or an array of strings. */
static bool strings_ok(json_t *obj, const char *key)
{
	json_t *v = member(obj, key), *item;
	size_t i;

	if (!v)
		return true;
	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return false;
	}
	return true;
}

/* The enabled log types of cluster.logging, sorted and unique; NULL when EKS sent no logging. */
static int logging_types(json_t **out, json_t *cluster, hcr_error *err)
{
	json_t *logging = NULL, *setups, *setup, *t;
	const char **names = NULL; /* borrowed from `cluster` */
	size_t i, j, n = 0, cap = 0;
	int rc;

	*out = NULL;
	rc = get_object(&logging, cluster, "logging", "cluster", err);
	if (rc != HCR_OK || !logging)
		return rc;
	setups = member(logging, "clusterLogging");
	if (setups && !json_is_array(setups))
		return bad(err, "cluster.logging", "clusterLogging", "an array");
	json_array_foreach(setups, i, setup)
	{
		json_t *enabled = member(setup, "enabled");

		if (!json_is_object(setup) || (enabled && !json_is_boolean(enabled)) ||
		    !strings_ok(setup, "types")) {
			rc = bad(err, "cluster.logging", "clusterLogging", "an array of LogSetup");
			break;
		}
		if (!json_is_true(enabled))
			continue;
		json_array_foreach(member(setup, "types"), j, t)
		{
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				names = hcr_realloc(names, cap * sizeof(*names));
			}
			names[n++] = json_string_value(t);
		}
	}
	if (rc == HCR_OK) {
		if (n > 1)
			qsort(names, n, sizeof(*names), cmp_strings);
		*out = json_array();
		for (i = 0; i < n; i++)
			if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
				json_array_append_new(*out, json_string(names[i]));
	}
	free(names);
	return rc;
}

static int vpc_fields(json_t *doc, json_t *cluster, hcr_error *err)
{
	const char *w = "cluster.resourcesVpcConfig";
	json_t *vpc;
	int rc = get_object(&vpc, cluster, "resourcesVpcConfig", "cluster", err);

	if (rc != HCR_OK || !vpc)
		return rc;
	if ((rc = copy_bool(doc, "publicAccess", vpc, "endpointPublicAccess", w, err)) ||
	    (rc = copy_bool(doc, "privateAccess", vpc, "endpointPrivateAccess", w, err)) ||
	    (rc = copy_strings(doc, "publicAccessSources", vpc, "publicAccessCidrs", w, err)) ||
	    (rc = copy_strings(doc, "subnets", vpc, "subnetIds", w, err)) ||
	    (rc = copy_strings(doc, "securityGroups", vpc, "securityGroupIds", w, err)))
		return rc;
	return HCR_OK;
}

static int encryption_fields(json_t *doc, json_t *cluster, hcr_error *err)
{
	json_t *list = member(cluster, "encryptionConfig"), *first, *provider;
	int rc;

	if (list && !json_is_array(list))
		return bad(err, "cluster", "encryptionConfig", "an array");
	json_object_set_new(doc, "secretsEncryption", json_boolean(json_array_size(list) > 0));
	first = json_array_get(list, 0);
	if (!first)
		return HCR_OK;
	if (!json_is_object(first))
		return bad(err, "cluster", "encryptionConfig", "an array of EncryptionConfig");
	rc = get_object(&provider, first, "provider", "cluster.encryptionConfig[0]", err);
	if (rc == HCR_OK && provider)
		rc = copy_string(doc, "kmsKey", provider, "keyArn",
				 "cluster.encryptionConfig[0].provider", err);
	return rc;
}

static int cluster_fields(json_t *doc, json_t *cluster, hcr_error *err)
{
	json_t *v, *net;
	int rc;

	if ((rc = copy_string(doc, "kubernetesVersion", cluster, "version", "cluster", err)) ||
	    (rc = get_map(&v, cluster, "tags", "cluster", err)))
		return rc;
	json_object_set_new(doc, "tags", v);
	if ((rc = vpc_fields(doc, cluster, err)) || (rc = logging_types(&v, cluster, err)))
		return rc;
	if (v)
		json_object_set_new(doc, "loggingTypes", v);
	if ((rc = copy_string(doc, "serviceRole", cluster, "roleArn", "cluster", err)) ||
	    (rc = encryption_fields(doc, cluster, err)) ||
	    (rc = get_object(&net, cluster, "kubernetesNetworkConfig", "cluster", err)))
		return rc;
	if (net)
		rc = copy_string(doc, "ipFamily", net, "ipFamily",
				 "cluster.kubernetesNetworkConfig", err);
	return rc;
}

/* [{key, value?, effect}] from nodegroup.taints ([] when none). */
static int taints_of(json_t **out, json_t *ng, const char *where, hcr_error *err)
{
	json_t *list = member(ng, "taints"), *t;
	size_t i;
	int rc = HCR_OK;

	*out = NULL;
	if (list && !json_is_array(list))
		return bad(err, where, "taints", "an array");
	*out = json_array();
	json_array_foreach(list, i, t)
	{
		json_t *item = json_object();

		if (!json_is_object(t))
			rc = bad(err, where, "taints", "an array of Taint");
		if (rc == HCR_OK)
			rc = copy_string(item, "key", t, "key", "taint", err);
		if (rc == HCR_OK)
			rc = copy_string(item, "value", t, "value", "taint", err);
		if (rc == HCR_OK)
			rc = copy_string(item, "effect", t, "effect", "taint", err);
		json_array_append_new(*out, item);
		if (rc != HCR_OK)
			break;
	}
	if (rc != HCR_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* Rancher's LaunchTemplate: {id, name, version}, the version a number when it is one. */
static int launch_template(json_t *item, json_t *ng, const char *where, hcr_error *err)
{
	json_t *lt, *out;
	const char *version;
	int rc = get_object(&lt, ng, "launchTemplate", where, err);

	if (rc != HCR_OK || !lt)
		return rc;
	out = json_object();
	if ((rc = copy_string(out, "id", lt, "id", "launchTemplate", err)) ||
	    (rc = copy_string(out, "name", lt, "name", "launchTemplate", err)) ||
	    (rc = get_string(&version, lt, "version", "launchTemplate", err))) {
		json_decref(out);
		return rc;
	}
	if (version) {
		size_t n = strspn(version, "0123456789");

		if (n > 0 && n < 16 && version[n] == '\0')
			json_object_set_new(out, "version",
					    json_integer(strtoll(version, NULL, 10)));
		else
			json_object_set_new(out, "version", json_string(version));
	}
	json_object_set_new(item, "launchTemplate", out);
	return HCR_OK;
}

/* instanceType, requestSpotInstances, spotInstanceTypes, gpu, arm. */
static int instance_fields(json_t *item, json_t *ng, const char *where, hcr_error *err)
{
	const char *capacity, *ami;
	json_t *types;
	bool spot;
	int rc;

	if ((rc = get_strings(&types, ng, "instanceTypes", where, err)) ||
	    (rc = get_string(&capacity, ng, "capacityType", where, err)) ||
	    (rc = get_string(&ami, ng, "amiType", where, err))) {
		json_decref(types);
		return rc;
	}
	spot = capacity && strcmp(capacity, "SPOT") == 0;
	if (json_array_size(types) > 0)
		json_object_set(item, "instanceType", json_array_get(types, 0));
	json_object_set_new(item, "requestSpotInstances", json_boolean(spot));
	if (spot && types)
		json_object_set(item, "spotInstanceTypes", types);
	json_decref(types);
	if (ami && strcmp(ami, "CUSTOM") != 0) {
		json_object_set_new(item, "gpu",
				    json_boolean(strstr(ami, "GPU") || strstr(ami, "NVIDIA")));
		json_object_set_new(item, "arm", json_boolean(strstr(ami, "ARM_64") != NULL));
	}
	return HCR_OK;
}

static int nodegroup_item(json_t **out, json_t *ng, hcr_error *err)
{
	const char *name, *w = "nodegroup";
	json_t *item = json_object(), *scaling = NULL, *v = NULL, *remote = NULL;
	int rc;

	*out = NULL;
	rc = get_string(&name, ng, "nodegroupName", w, err);
	if (rc == HCR_OK && !name)
		rc = bad(err, w, "nodegroupName", "a string");
	if (rc == HCR_OK)
		json_object_set_new(item, "nodegroupName", json_string(name));
	if (rc == HCR_OK)
		rc = get_object(&scaling, ng, "scalingConfig", w, err);
	if (rc == HCR_OK && scaling &&
	    ((rc = copy_int(item, "desiredSize", scaling, "desiredSize", "scalingConfig", err)) ||
	     (rc = copy_int(item, "minSize", scaling, "minSize", "scalingConfig", err)) ||
	     (rc = copy_int(item, "maxSize", scaling, "maxSize", "scalingConfig", err))))
		goto done;
	if (rc == HCR_OK && (rc = get_map(&v, ng, "labels", w, err)) == HCR_OK)
		json_object_set_new(item, "labels", v);
	if (rc == HCR_OK && (rc = taints_of(&v, ng, w, err)) == HCR_OK)
		json_object_set_new(item, "taints", v);
	if (rc == HCR_OK && (rc = get_map(&v, ng, "tags", w, err)) == HCR_OK)
		json_object_set_new(item, "tags", v);
	if (rc != HCR_OK || (rc = copy_string(item, "version", ng, "version", w, err)) ||
	    (rc = instance_fields(item, ng, w, err)) ||
	    (rc = copy_int(item, "diskSize", ng, "diskSize", w, err)) ||
	    (rc = copy_strings(item, "subnets", ng, "subnets", w, err)) ||
	    (rc = copy_string(item, "nodeRole", ng, "nodeRole", w, err)) ||
	    (rc = get_object(&remote, ng, "remoteAccess", w, err)))
		goto done;
	if (remote && (rc = copy_string(item, "ec2SshKey", remote, "ec2SshKey",
					"nodegroup.remoteAccess", err)))
		goto done;
	rc = launch_template(item, ng, w, err);
done:
	if (rc == HCR_OK)
		*out = item;
	else
		json_decref(item);
	return rc;
}

struct pool {
	json_t *item;
	size_t at; /* its place in EKS's list: equal names keep EKS's order */
};

static int cmp_pools(const void *a, const void *b)
{
	const struct pool *x = a, *y = b;
	int c = strcmp(json_string_value(json_object_get(x->item, "nodegroupName")),
		       json_string_value(json_object_get(y->item, "nodegroupName")));

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

static int nodegroup_list(json_t **out, json_t *nodegroups, hcr_error *err)
{
	struct pool *items = NULL;
	json_t *ng;
	size_t i, n = 0;
	int rc = HCR_OK;

	*out = NULL;
	if (nodegroups && !json_is_array(nodegroups))
		return bad(err, "nodegroups", "list", "an array");
	items = hcr_calloc(json_array_size(nodegroups) + 1, sizeof(*items));
	json_array_foreach(nodegroups, i, ng)
	{
		const char *status;

		if (!json_is_object(ng)) {
			rc = bad(err, "nodegroups", "item", "an object");
			break;
		}
		rc = get_string(&status, ng, "status", "nodegroup", err);
		if (rc != HCR_OK)
			break;
		/* Going away: no longer part of the cluster's configuration (as Rancher does). */
		if (status && strcmp(status, "DELETING") == 0)
			continue;
		rc = nodegroup_item(&items[n].item, ng, err);
		if (rc != HCR_OK)
			break;
		items[n++].at = i;
	}
	if (rc == HCR_OK) {
		const char *kept = NULL; /* the name last kept, borrowed from *out */

		qsort(items, n, sizeof(*items), cmp_pools);
		*out = json_array();
		for (i = 0; i < n; i++) {
			const char *name =
				json_string_value(json_object_get(items[i].item, "nodegroupName"));

			/* The same name twice is EKS's mistake; keep the first. */
			if (kept && strcmp(name, kept) == 0) {
				json_decref(items[i].item);
				continue;
			}
			json_array_append_new(*out, items[i].item);
			kept = name;
		}
	} else {
		for (i = 0; i < n; i++)
			json_decref(items[i].item);
	}
	free(items);
	return rc;
}

int hcr_eks_normalise(json_t **out, json_t *cluster, json_t *nodegroups, hcr_error *err)
{
	json_t *doc, *pools;
	int rc;

	*out = NULL;
	if (!json_is_object(cluster)) {
		hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "unexpected response from EKS");
		hcr_error_detail(err, "\"cluster\" is missing or not an object");
		return HCR_EUPSTREAM;
	}
	doc = json_object();
	rc = cluster_fields(doc, cluster, err);
	if (rc == HCR_OK)
		rc = nodegroup_list(&pools, nodegroups, err);
	if (rc != HCR_OK) {
		json_decref(doc);
		return rc;
	}
	json_object_set_new(doc, "nodeGroups", pools);
	*out = doc;
	return HCR_OK;
}

bool hcr_eks_busy(json_t *cluster, json_t *nodegroups)
{
	const char *status = json_string_value(json_object_get(cluster, "status"));
	json_t *ng;
	size_t i;

	if (!status || strcmp(status, "ACTIVE") != 0)
		return true;
	json_array_foreach(nodegroups, i, ng)
	{
		const char *s = json_string_value(json_object_get(ng, "status"));

		if (s && (strcmp(s, "CREATING") == 0 || strcmp(s, "UPDATING") == 0 ||
			  strcmp(s, "DELETING") == 0))
			return true;
	}
	return false;
}
