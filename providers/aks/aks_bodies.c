/*
 * The bodies of AKS writes, built from a planned operation's changes
 * ({path: value}) and what ARM returned just before (the GET whose eTag the
 * write carries). Only the members hcr manages are changed; everything else
 * goes back as ARM sent it, minus the members ARM computes, so that a write
 * never resets what another tool set.
 *
 * The cluster PUT leaves agentPoolProfiles out: pools are changed through
 * their own sub-resource, and a PUT that repeated them could undo a scaling
 * that happened between the GET and the PUT.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hcr/mem.h"
#include "hcr/provider_aks.h"

static int bad(hcr_error *err, const char *path, const char *what)
{
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "%s %s", path, what);
	hcr_error_detail(err, "InvalidChange: %s %s", path, what);
	return HCR_EINVALID;
}

static bool strings(json_t *v)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
	return true;
}

/* obj[key] as an object, made when missing or not an object. */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

/* The add-on profile `name` (matched case-insensitively), made when missing. */
static json_t *addon(json_t *props, const char *name)
{
	json_t *addons = member(props, "addonProfiles"), *v;
	const char *k;

	json_object_foreach(addons, k,
			    v) if (strcasecmp(k, name) == 0 && json_is_object(v)) return v;
	v = json_object();
	json_object_set_new(addons, name, v);
	return v;
}

static const char *const cluster_read_only[] = {"id", "name", "type", "eTag", "systemData", NULL};
static const char *const props_read_only[] = {"provisioningState",
					      "powerState",
					      "currentKubernetesVersion",
					      "fqdn",
					      "azurePortalFQDN",
					      "privateFQDN",
					      "maxAgentPools",
					      "resourceUID",
					      "agentPoolProfiles",
					      NULL};

static int cluster_change(json_t *props, const char *path, json_t *v, hcr_error *err)
{
	if (strcmp(path, "kubernetesVersion") == 0) {
		if (!json_is_string(v))
			return bad(err, path, "must be a string");
		json_object_set(props, "kubernetesVersion", v);
	} else if (strcmp(path, "authorizedIpRanges") == 0) {
		if (!strings(v))
			return bad(err, path, "must be an array of CIDRs");
		json_object_set(member(props, "apiServerAccessProfile"), "authorizedIPRanges", v);
	} else if (strcmp(path, "httpApplicationRouting") == 0 || strcmp(path, "monitoring") == 0) {
		if (!json_is_boolean(v))
			return bad(err, path, "must be true or false");
		json_object_set(
			addon(props, path[0] == 'h' ? "httpApplicationRouting" : "omsagent"),
			"enabled", v);
	} else if (strcmp(path, "networkPolicy") == 0) {
		if (!json_is_string(v))
			return bad(err, path, "must be a string");
		json_object_set(member(props, "networkProfile"), "networkPolicy", v);
	} else if (strcmp(path, "sshPublicKey") == 0) {
		if (!json_is_string(v))
			return bad(err, path, "must be a string");
		json_object_set_new(member(member(props, "linuxProfile"), "ssh"), "publicKeys",
				    json_pack("[{s:O}]", "keyData", v));
	} else {
		return bad(err, path, "is not changed by UpdateCluster");
	}
	return HCR_OK;
}

int hcr_aks_body_cluster_put(json_t **out, json_t *cluster, json_t *changes, hcr_error *err)
{
	json_t *body = json_deep_copy(cluster), *props, *id, *v;
	const char *path;
	size_t i;
	int rc = HCR_OK;

	*out = NULL;
	if (!json_is_object(body) || !json_is_object(json_object_get(body, "properties"))) {
		json_decref(body);
		return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				     "the managed cluster has no properties");
	}
	props = json_object_get(body, "properties");
	for (i = 0; cluster_read_only[i]; i++)
		json_object_del(body, cluster_read_only[i]);
	for (i = 0; props_read_only[i]; i++)
		json_object_del(props, props_read_only[i]);
	id = json_object_get(body, "identity");
	if (json_is_object(id)) {
		json_object_del(id, "principalId");
		json_object_del(id, "tenantId");
	}
	json_object_foreach(changes, path, v)
	{
		if ((rc = cluster_change(props, path, v, err)) != HCR_OK)
			break;
	}
	if (rc == HCR_OK)
		*out = body;
	else
		json_decref(body);
	return rc;
}

int hcr_aks_body_tags(json_t **out, json_t *current, json_t *changes, hcr_error *err)
{
	json_t *tags = json_is_object(current) ? json_deep_copy(current) : json_object(), *v;
	const char *path;

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		if (strncmp(path, "tags.", 5) != 0 || !path[5]) {
			json_decref(tags);
			return bad(err, path, "is not changed by UpdateTags");
		}
		if (json_is_null(v)) {
			json_object_del(tags, path + 5);
		} else if (json_is_string(v)) {
			json_object_set(tags, path + 5, v);
		} else {
			json_decref(tags);
			return bad(err, path, "must be a string");
		}
	}
	*out = json_pack("{s:o}", "tags", tags);
	return HCR_OK;
}

/* The part of `path` after "nodePools[<name>].", or NULL. */
static const char *pool_sub(const char *path, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(path, "nodePools[", 10) != 0 || strncmp(path + 10, name, n) != 0 ||
	    strncmp(path + 10 + n, "].", 2) != 0)
		return NULL;
	return path + 12 + n;
}

static int pool_change(json_t *props, const char *path, const char *f, json_t *v, hcr_error *err)
{
	if (strcmp(f, "count") == 0 || strcmp(f, "minCount") == 0 || strcmp(f, "maxCount") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return bad(err, path, "must be a whole number");
		json_object_set(props, f, v);
	} else if (strcmp(f, "enableAutoScaling") == 0) {
		if (!json_is_boolean(v))
			return bad(err, path, "must be true or false");
		json_object_set(props, f, v);
	} else if (strcmp(f, "orchestratorVersion") == 0 || strcmp(f, "mode") == 0) {
		if (!json_is_string(v))
			return bad(err, path, "must be a string");
		json_object_set(props, f, v);
	} else if (strcmp(f, "maxSurge") == 0) {
		if (!json_is_string(v))
			return bad(err, path, "must be a string (\"1\" or \"33%\")");
		json_object_set(member(props, "upgradeSettings"), "maxSurge", v);
	} else if (strcmp(f, "nodeTaints") == 0) {
		if (!strings(v))
			return bad(err, path, "must be an array of \"key=value:Effect\"");
		json_object_set(props, f, v);
	} else if (strncmp(f, "nodeLabels.", 11) == 0 && f[11]) {
		if (json_is_null(v))
			json_object_del(member(props, "nodeLabels"), f + 11);
		else if (json_is_string(v))
			json_object_set(member(props, "nodeLabels"), f + 11, v);
		else
			return bad(err, path, "must be a string");
	} else {
		return bad(err, path, "is not changed by UpdateAgentPool");
	}
	return HCR_OK;
}

static const char *const pool_read_only[] = {
	"provisioningState", "powerState", "currentOrchestratorVersion",
	"nodeImageVersion",  "eTag",       NULL};

int hcr_aks_body_pool_put(json_t **out, json_t *pool, const char *name, json_t *changes,
			  hcr_error *err)
{
	json_t *props = json_deep_copy(json_object_get(pool, "properties")), *v, *cur;
	const char *path, *f;
	char where[160];
	size_t i;
	int rc = HCR_OK;
	bool counted = false;

	*out = NULL;
	if (!json_is_object(props)) {
		json_decref(props);
		return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				     "the agent pool %s has no properties", name);
	}
	cur = json_deep_copy(json_object_get(props, "count"));
	for (i = 0; pool_read_only[i]; i++)
		json_object_del(props, pool_read_only[i]);
	json_object_foreach(changes, path, v)
	{
		if (!(f = pool_sub(path, name))) {
			rc = bad(err, path, "is not part of this agent pool");
			break;
		}
		counted |= strcmp(f, "count") == 0;
		if ((rc = pool_change(props, path, f, v, err)) != HCR_OK)
			break;
	}
	if (rc == HCR_OK && json_is_true(json_object_get(props, "enableAutoScaling"))) {
		/* The autoscaler owns count: send its value back, kept inside the bounds. */
		json_int_t c = json_integer_value(cur), lo, hi;

		snprintf(where, sizeof(where), "nodePools[%s].count", name);
		if (counted) {
			rc = bad(err, where,
				 "belongs to the autoscaler while enableAutoScaling is true; "
				 "release "
				 "it and set minCount and maxCount instead");
		} else {
			lo = json_integer_value(json_object_get(props, "minCount"));
			hi = json_integer_value(json_object_get(props, "maxCount"));
			if (json_is_integer(json_object_get(props, "minCount")) && c < lo)
				c = lo;
			if (json_is_integer(json_object_get(props, "maxCount")) && c > hi)
				c = hi;
			json_object_set_new(props, "count", json_integer(c));
		}
	} else if (rc == HCR_OK) {
		json_object_del(props, "minCount");
		json_object_del(props, "maxCount");
	}
	json_decref(cur);
	if (rc == HCR_OK)
		*out = json_pack("{s:o}", "properties", props);
	else
		json_decref(props);
	return rc;
}

int hcr_aks_body_pool_create(json_t **out, const char *name, json_t *doc, hcr_error *err)
{
	static const char *const plain[] = {"count",
					    "enableAutoScaling",
					    "minCount",
					    "maxCount",
					    "maxPods",
					    "vmSize",
					    "osDiskSizeGB",
					    "osDiskType",
					    "mode",
					    "osType",
					    "orchestratorVersion",
					    "availabilityZones",
					    "vnetSubnetID",
					    "nodeTaints",
					    "nodeLabels",
					    NULL};
	json_t *props = json_object(), *v;
	char where[160];
	size_t i;

	*out = NULL;
	snprintf(where, sizeof(where), "nodePools[%s]", name);
	if (!hcr_aks_valid_pool_name(name)) {
		json_decref(props);
		return bad(err, where,
			   "needs a name of 1-12 lower-case letters and digits, "
			   "starting with a letter");
	}
	if (!json_is_object(doc)) {
		json_decref(props);
		return bad(err, where, "must be an object");
	}
	for (i = 0; plain[i]; i++) {
		v = json_object_get(doc, plain[i]);
		if (v && !json_is_null(v))
			json_object_set(props, plain[i], v);
	}
	v = json_object_get(doc, "maxSurge");
	if (json_is_string(v))
		json_object_set_new(props, "upgradeSettings", json_pack("{s:O}", "maxSurge", v));
	if (!json_object_get(props, "count")) {
		/* ARM wants a count; with autoscaling the lower bound is where it starts. */
		v = json_object_get(props, "minCount");
		json_object_set_new(props, "count",
				    json_integer(json_is_integer(v) ? json_integer_value(v) : 1));
	}
	if (!json_object_get(props, "type"))
		json_object_set_new(props, "type", json_string("VirtualMachineScaleSets"));
	*out = json_pack("{s:o}", "properties", props);
	return HCR_OK;
}

bool hcr_aks_last_system_pool(json_t *cluster, const char *name)
{
	json_t *p, *pools = json_object_get(json_object_get(cluster, "properties"),
					    "agentPoolProfiles");
	bool target_system = false;
	size_t i, others = 0;

	json_array_foreach(pools, i, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		const char *mode = json_string_value(json_object_get(p, "mode"));
		bool system = mode && strcasecmp(mode, "System") == 0;

		if (n && strcasecmp(n, name) == 0)
			target_system = system;
		else if (system)
			others++;
	}
	return target_system && others == 0;
}
