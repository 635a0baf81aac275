/*
 * The observed document of a GKE cluster: clusters.get's Cluster turned into
 * Rancher's GKEClusterConfigSpec names (the list is in hcr/provider_gke.h),
 * and whether GKE is busy with it.
 *
 * GKE prints proto3 JSON: members at their default value are left out, and
 * int64 members are strings. The document puts the defaults back (false, 0,
 * "", {} for labels) so that a value a user sets and the value GKE leaves
 * out compare equal, and turns int64 strings into numbers. Structs are
 * always complete, as the gke-operator fills them in, so that a managed
 * struct compares member by member.
 */
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_gke.h"

typedef struct norm {
	hcr_error *err;
	bool bad;
} norm;

static void wrong(norm *n, const char *member, const char *what)
{
	if (n->bad)
		return;
	n->bad = true;
	hcr_error_set(n->err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected response from GKE for clusters.get");
	hcr_error_detail(n->err, "\"%s\" is not %s", member, what);
}

static json_t *str(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return json_string("");
	if (!json_is_string(v)) {
		wrong(n, key, "a string");
		return json_string("");
	}
	return json_incref(v);
}

static json_t *boolean(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return json_false();
	if (!json_is_boolean(v)) {
		wrong(n, key, "a boolean");
		return json_false();
	}
	return json_incref(v);
}

/* int32 members are numbers, int64 members digit strings. */
static json_t *integer(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	char *end;
	long long x;

	if (!v || json_is_null(v))
		return json_integer(0);
	if (json_is_integer(v))
		return json_incref(v);
	if (json_is_string(v) && *json_string_value(v)) {
		x = strtoll(json_string_value(v), &end, 10);
		if (*end == '\0')
			return json_integer(x);
	}
	wrong(n, key, "an integer");
	return json_integer(0);
}

static json_t *strings(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key), *item;
	size_t i;

	if (!v || json_is_null(v))
		return json_array();
	json_array_foreach(v, i, item) if (!json_is_string(item)) break;
	if (!json_is_array(v) || i < json_array_size(v)) {
		wrong(n, key, "an array of strings");
		return json_array();
	}
	return json_deep_copy(v);
}

static json_t *string_map(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key), *item;
	const char *k;

	if (!v || json_is_null(v))
		return json_object();
	if (!json_is_object(v)) {
		wrong(n, key, "an object");
		return json_object();
	}
	json_object_foreach(v, k, item) if (!json_is_string(item))
	{
		wrong(n, key, "an object of strings");
		return json_object();
	}
	return json_deep_copy(v);
}

static json_t *sub(norm *n, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v) && !json_is_object(v))
		wrong(n, key, "an object");
	return json_is_object(v) ? v : NULL; /* borrowed; NULL reads as all defaults */
}

/* An addon is enabled unless {"disabled": true}. */
static json_t *addon(norm *n, json_t *addons, const char *key)
{
	json_t *a = sub(n, addons, key);
	json_t *disabled = boolean(n, a, "disabled");
	json_t *out = json_boolean(a && !json_is_true(disabled));

	json_decref(disabled);
	return out;
}

static json_t *taints(norm *n, json_t *config)
{
	json_t *v = json_object_get(config, "taints"), *out = json_array(), *t;
	size_t i;

	if (v && !json_is_array(v))
		wrong(n, "taints", "an array");
	json_array_foreach(v, i, t)
	{
		json_array_append_new(out,
				      json_pack("{s:o, s:o, s:o}", "key", str(n, t, "key"), "value",
						str(n, t, "value"), "effect", str(n, t, "effect")));
	}
	return out;
}

static json_t *node_config(norm *n, json_t *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "machineType", str(n, c, "machineType"), "diskSizeGb",
			 integer(n, c, "diskSizeGb"), "diskType", str(n, c, "diskType"),
			 "imageType", str(n, c, "imageType"), "labels", string_map(n, c, "labels"),
			 "localSsdCount", integer(n, c, "localSsdCount"), "oauthScopes",
			 strings(n, c, "oauthScopes"), "preemptible", boolean(n, c, "preemptible"),
			 "tags", strings(n, c, "tags"), "taints", taints(n, c), "serviceAccount",
			 str(n, c, "serviceAccount"), "bootDiskKmsKey",
			 str(n, c, "bootDiskKmsKey"));
}

static json_t *node_pool(norm *n, json_t *p)
{
	json_t *as = sub(n, p, "autoscaling"), *mg = sub(n, p, "management"), *out;

	out = json_pack("{s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}, s:{s:o, s:o}, s:o}", "name",
			str(n, p, "name"), "initialNodeCount", integer(n, p, "initialNodeCount"),
			"version", str(n, p, "version"), "maxPodsConstraint",
			integer(n, sub(n, p, "maxPodsConstraint"), "maxPodsPerNode"), "autoscaling",
			"enabled", boolean(n, as, "enabled"), "minNodeCount",
			integer(n, as, "minNodeCount"), "maxNodeCount",
			integer(n, as, "maxNodeCount"), "management", "autoRepair",
			boolean(n, mg, "autoRepair"), "autoUpgrade", boolean(n, mg, "autoUpgrade"),
			"config", node_config(n, sub(n, p, "config")));
	/* The autoscaler owns the size: left out, so that its decisions are neither drift
	 * nor adopted into a value hcr would later push back. */
	if (out && json_is_true(json_object_get(json_object_get(out, "autoscaling"), "enabled")))
		json_object_del(out, "initialNodeCount");
	return out;
}

static int by_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));

	return strcmp(x ? x : "", y ? y : "");
}

static json_t *node_pools(norm *n, json_t *cluster)
{
	json_t *v = json_object_get(cluster, "nodePools"), *p, *out = json_array();
	json_t **items;
	size_t i, k = 0;

	if (v && !json_is_array(v))
		wrong(n, "nodePools", "an array");
	items = hcr_calloc(json_array_size(v) + 1, sizeof(json_t *));
	json_array_foreach(v, i, p)
	{
		const char *status = json_string_value(json_object_get(p, "status"));

		if (!json_is_object(p) || !json_is_string(json_object_get(p, "name"))) {
			wrong(n, "nodePools", "an array of named pools");
			continue;
		}
		if (status && strcmp(status, "STOPPING") == 0)
			continue; /* being deleted: no longer part of the cluster (as Rancher) */
		items[k++] = node_pool(n, p);
	}
	qsort(items, k, sizeof(json_t *), by_name);
	for (i = 0; i < k; i++)
		json_array_append_new(out, items[i]);
	free(items);
	return out;
}

static json_t *authorized_networks(norm *n, json_t *cluster)
{
	json_t *m = sub(n, cluster, "masterAuthorizedNetworksConfig");
	json_t *blocks = json_object_get(m, "cidrBlocks"), *b, *out = json_array();
	size_t i;

	json_array_foreach(blocks, i, b)
	{
		json_array_append_new(out,
				      json_pack("{s:o, s:o}", "cidrBlock", str(n, b, "cidrBlock"),
						"displayName", str(n, b, "displayName")));
	}
	return json_pack("{s:o, s:o}", "enabled", boolean(n, m, "enabled"), "cidrBlocks", out);
}

static json_t *maintenance(norm *n, json_t *cluster)
{
	json_t *w = sub(n, sub(n, sub(n, cluster, "maintenancePolicy"), "window"),
			"dailyMaintenanceWindow");

	return str(n, w, "startTime");
}

/* Rancher's {keyName, ringName} from projects/P/locations/L/keyRings/R/cryptoKeys/K. */
static void encryption_key(json_t *doc, json_t *cluster)
{
	json_t *de = json_object_get(cluster, "databaseEncryption");
	const char *state = json_string_value(json_object_get(de, "state"));
	const char *key = json_string_value(json_object_get(de, "keyName"));
	const char *ring, *k;

	if (!state || strcmp(state, "ENCRYPTED") != 0 || !key ||
	    !(ring = strstr(key, "/keyRings/")) || !(k = strstr(ring, "/cryptoKeys/")))
		return;
	ring += strlen("/keyRings/");
	json_object_set_new(doc, "customerManagedEncryptionKey",
			    json_pack("{s:s, s:s%}", "keyName", k + strlen("/cryptoKeys/"),
				      "ringName", ring, (size_t)(k - ring)));
}

int hcr_gke_normalise(json_t **out, json_t *cluster, hcr_error *err)
{
	norm n = {err, false};
	json_t *addons = sub(&n, cluster, "addonsConfig");
	json_t *pcc = sub(&n, cluster, "privateClusterConfig");
	json_t *ip = sub(&n, cluster, "ipAllocationPolicy");
	json_t *doc;

	*out = NULL;
	if (!json_is_object(cluster))
		return hcr_error_set(
			err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			"unexpected response from GKE for clusters.get: not a cluster");
	doc = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"kubernetesVersion", str(&n, cluster, "currentMasterVersion"), "description",
		str(&n, cluster, "description"), "labels",
		string_map(&n, cluster, "resourceLabels"), "enableKubernetesAlpha",
		boolean(&n, cluster, "enableKubernetesAlpha"), "loggingService",
		str(&n, cluster, "loggingService"), "monitoringService",
		str(&n, cluster, "monitoringService"), "network", str(&n, cluster, "network"),
		"subnetwork", str(&n, cluster, "subnetwork"), "clusterIpv4Cidr",
		str(&n, cluster, "clusterIpv4Cidr"), "locations", strings(&n, cluster, "locations"),
		"networkPolicyEnabled", boolean(&n, sub(&n, cluster, "networkPolicy"), "enabled"),
		"masterAuthorizedNetworks", authorized_networks(&n, cluster), "maintenanceWindow",
		maintenance(&n, cluster), "autopilotConfig",
		json_pack("{s:o}", "enabled",
			  boolean(&n, sub(&n, cluster, "autopilot"), "enabled")),
		"nodePools", node_pools(&n, cluster));
	json_object_set_new(
		doc, "clusterAddons",
		json_pack("{s:o, s:o, s:o}", "httpLoadBalancing",
			  addon(&n, addons, "httpLoadBalancing"), "horizontalPodAutoscaling",
			  addon(&n, addons, "horizontalPodAutoscaling"), "networkPolicyConfig",
			  addon(&n, addons, "networkPolicyConfig")));
	json_object_set_new(doc, "privateClusterConfig",
			    json_pack("{s:o, s:o, s:o}", "enablePrivateEndpoint",
				      boolean(&n, pcc, "enablePrivateEndpoint"),
				      "enablePrivateNodes", boolean(&n, pcc, "enablePrivateNodes"),
				      "masterIpv4CidrBlock", str(&n, pcc, "masterIpv4CidrBlock")));
	json_object_set_new(
		doc, "ipAllocationPolicy",
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "useIpAliases",
			  boolean(&n, ip, "useIpAliases"), "createSubnetwork",
			  boolean(&n, ip, "createSubnetwork"), "subnetworkName",
			  str(&n, ip, "subnetworkName"), "clusterIpv4CidrBlock",
			  str(&n, ip, "clusterIpv4CidrBlock"), "clusterSecondaryRangeName",
			  str(&n, ip, "clusterSecondaryRangeName"), "servicesIpv4CidrBlock",
			  str(&n, ip, "servicesIpv4CidrBlock"), "servicesSecondaryRangeName",
			  str(&n, ip, "servicesSecondaryRangeName"), "nodeIpv4CidrBlock",
			  str(&n, ip, "nodeIpv4CidrBlock")));
	encryption_key(doc, cluster);
	if (n.bad || !doc) {
		json_decref(doc);
		if (!n.bad)
			hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				      "unexpected response from GKE for clusters.get");
		return HCR_EUPSTREAM;
	}
	*out = doc;
	return HCR_OK;
}

static bool status_busy(json_t *obj)
{
	const char *s = json_string_value(json_object_get(obj, "status"));

	return s && (strcmp(s, "PROVISIONING") == 0 || strcmp(s, "RECONCILING") == 0 ||
		     strcmp(s, "STOPPING") == 0);
}

bool hcr_gke_busy(json_t *cluster)
{
	json_t *p;
	size_t i;

	if (status_busy(cluster))
		return true;
	json_array_foreach(json_object_get(cluster, "nodePools"), i,
			   p) if (status_busy(p)) return true;
	return false;
}
