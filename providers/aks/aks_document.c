/*
 * The AKS document: a managed cluster as ARM's GET returns it, turned into
 * Rancher's AKSClusterConfigSpec names (hcr/provider_aks.h lists them), and
 * whether AKS is busy with it.
 *
 * Only what ARM reports goes in, read defensively: a member of the wrong JSON
 * type fails the observation (HCR_EUPSTREAM naming it) rather than becoming a
 * value hcr would then "correct". Add-on keys are matched case-insensitively
 * (AKS answers "omsagent" for the "omsAgent" it was sent). A pool's count is
 * left out while the autoscaler owns it, so that every scaling decision of the
 * autoscaler is neither reported as drift nor adoptable into a value hcr
 * would push back.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/mem.h"
#include "hcr/provider_aks.h"

typedef enum { T_STR, T_INT, T_BOOL, T_STRS } mtype;

static bool type_ok(json_t *v, mtype t)
{
	size_t i;
	json_t *x;

	switch (t) {
	case T_STR:
		return json_is_string(v);
	case T_INT:
		return json_is_integer(v);
	case T_BOOL:
		return json_is_boolean(v);
	case T_STRS:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
		return true;
	}
	return false;
}

static int wrong(hcr_error *err, const char *where, const char *key)
{
	hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		      "unexpected managed cluster from ARM");
	hcr_error_detail(err, "%s%s has the wrong type", where, key);
	return HCR_EUPSTREAM;
}

/* Copies obj[key] to doc[name] when present and not null. */
static int copy(json_t *doc, const char *name, json_t *obj, const char *key, mtype t,
		const char *where, hcr_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return HCR_OK;
	if (!type_ok(v, t))
		return wrong(err, where, key);
	json_object_set(doc, name, v);
	return HCR_OK;
}

/* An object member (NULL when absent or null); *bad when it is something else. */
static json_t *sub(json_t *obj, const char *key, bool *bad)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v) && !json_is_object(v))
		*bad = true;
	return json_is_object(v) ? v : NULL;
}

/* An add-on's profile by case-insensitive name. */
static json_t *addon(json_t *addons, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(addons, k, v) if (strcasecmp(k, name) == 0) return v;
	return NULL;
}

static int addon_flag(json_t *doc, const char *name, json_t *addons, const char *key,
		      hcr_error *err)
{
	json_t *a = addon(addons, key), *en = json_object_get(a, "enabled");

	if (a && !json_is_object(a))
		return wrong(err, "properties.addonProfiles.", key);
	if (en && !json_is_boolean(en))
		return wrong(err, "properties.addonProfiles.enabled of ", key);
	json_object_set_new(doc, name, json_boolean(json_is_true(en)));
	return HCR_OK;
}

static int pool_doc(json_t **out, json_t *p, hcr_error *err)
{
	static const struct {
		const char *name, *key;
		mtype t;
	} m[] = {
		{"name", "name", T_STR},
		{"enableAutoScaling", "enableAutoScaling", T_BOOL},
		{"minCount", "minCount", T_INT},
		{"maxCount", "maxCount", T_INT},
		{"maxPods", "maxPods", T_INT},
		{"vmSize", "vmSize", T_STR},
		{"osDiskSizeGB", "osDiskSizeGB", T_INT},
		{"osDiskType", "osDiskType", T_STR},
		{"mode", "mode", T_STR},
		{"osType", "osType", T_STR},
		{"orchestratorVersion", "orchestratorVersion", T_STR},
		{"availabilityZones", "availabilityZones", T_STRS},
		{"vnetSubnetID", "vnetSubnetID", T_STR},
		{"nodeTaints", "nodeTaints", T_STRS},
	};
	const char *where = "properties.agentPoolProfiles[].";
	json_t *doc = json_object(), *labels, *up;
	bool bad = false, autoscale;
	size_t i;
	int rc = HCR_OK;

	*out = NULL;
	if (!json_is_string(json_object_get(p, "name"))) {
		rc = wrong(err, where, "name");
		goto done;
	}
	for (i = 0; i < sizeof(m) / sizeof(m[0]) && rc == HCR_OK; i++)
		rc = copy(doc, m[i].name, p, m[i].key, m[i].t, where, err);
	if (rc != HCR_OK)
		goto done;
	autoscale = json_is_true(json_object_get(p, "enableAutoScaling"));
	if (!autoscale && (rc = copy(doc, "count", p, "count", T_INT, where, err)) != HCR_OK)
		goto done;
	if (!json_object_get(doc, "enableAutoScaling"))
		json_object_set_new(doc, "enableAutoScaling", json_false());
	if (!json_object_get(doc, "nodeTaints"))
		json_object_set_new(doc, "nodeTaints", json_array());
	labels = json_object_get(p, "nodeLabels");
	if (labels && !json_is_null(labels)) {
		const char *k;
		json_t *v;

		if (!json_is_object(labels)) {
			rc = wrong(err, where, "nodeLabels");
			goto done;
		}
		json_object_foreach(labels, k, v) if (!json_is_string(v))
		{
			rc = wrong(err, where, "nodeLabels");
			goto done;
		}
	}
	json_object_set_new(doc, "nodeLabels",
			    json_is_object(labels) ? json_deep_copy(labels) : json_object());
	up = sub(p, "upgradeSettings", &bad);
	if (bad) {
		rc = wrong(err, where, "upgradeSettings");
		goto done;
	}
	rc = copy(doc, "maxSurge", up, "maxSurge", T_STR, where, err);
done:
	if (rc == HCR_OK)
		*out = doc;
	else
		json_decref(doc);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
		      json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

static int pools(json_t *doc, json_t *list, hcr_error *err)
{
	json_t **items, *p, *arr = json_array();
	size_t i, n = json_array_size(list);
	int rc = HCR_OK;

	if (list && !json_is_null(list) && !json_is_array(list)) {
		json_decref(arr);
		return wrong(err, "properties.", "agentPoolProfiles");
	}
	items = hcr_calloc(n + 1, sizeof(json_t *));
	json_array_foreach(list, i, p)
	{
		if ((rc = pool_doc(&items[i], p, err)) != HCR_OK)
			break;
	}
	if (rc == HCR_OK) {
		qsort(items, n, sizeof(json_t *), by_name);
		for (i = 0; i < n; i++)
			json_array_append(arr, items[i]);
		json_object_set(doc, "nodePools", arr);
	}
	for (i = 0; i < n; i++)
		json_decref(items[i]);
	free(items);
	json_decref(arr);
	return rc;
}

int hcr_aks_normalise(json_t **out, json_t *cluster, hcr_error *err)
{
	static const struct {
		const char *name, *key;
	} net[] = {
		{"networkPlugin", "networkPlugin"},
		{"networkPolicy", "networkPolicy"},
		{"serviceCidr", "serviceCidr"},
		{"dnsServiceIp", "dnsServiceIP"},
		{"podCidr", "podCidr"},
		{"loadBalancerSku", "loadBalancerSku"},
		{"outboundType", "outboundType"},
	};
	json_t *doc = json_object(), *props, *api, *np, *lp, *ssh, *keys, *tags, *addons;
	bool bad = false;
	size_t i;
	int rc;

	*out = NULL;
	props = sub(cluster, "properties", &bad);
	if (!props || bad) {
		rc = wrong(err, "", "properties");
		goto done;
	}
	if ((rc = copy(doc, "kubernetesVersion", props, "kubernetesVersion", T_STR, "properties.",
		       err)) ||
	    (rc = copy(doc, "dnsPrefix", props, "dnsPrefix", T_STR, "properties.", err)) ||
	    (rc = copy(doc, "nodeResourceGroup", props, "nodeResourceGroup", T_STR, "properties.",
		       err)))
		goto done;
	tags = json_object_get(cluster, "tags");
	if (tags && !json_is_null(tags) && !json_is_object(tags)) {
		rc = wrong(err, "", "tags");
		goto done;
	}
	json_object_set_new(doc, "tags",
			    json_is_object(tags) ? json_deep_copy(tags) : json_object());
	api = sub(props, "apiServerAccessProfile", &bad);
	np = sub(props, "networkProfile", &bad);
	lp = sub(props, "linuxProfile", &bad);
	addons = sub(props, "addonProfiles", &bad);
	ssh = sub(lp, "ssh", &bad);
	if (bad) {
		rc = wrong(err, "properties.",
			   "apiServerAccessProfile, networkProfile, linuxProfile "
			   "or addonProfiles");
		goto done;
	}
	if ((rc = copy(doc, "privateCluster", api, "enablePrivateCluster", T_BOOL,
		       "properties.apiServerAccessProfile.", err)) ||
	    (rc = copy(doc, "authorizedIpRanges", api, "authorizedIPRanges", T_STRS,
		       "properties.apiServerAccessProfile.", err)))
		goto done;
	if (!json_object_get(doc, "privateCluster"))
		json_object_set_new(doc, "privateCluster", json_false());
	if (!json_object_get(doc, "authorizedIpRanges"))
		json_object_set_new(doc, "authorizedIpRanges", json_array());
	if ((rc = addon_flag(doc, "httpApplicationRouting", addons, "httpApplicationRouting",
			     err)) ||
	    (rc = addon_flag(doc, "monitoring", addons, "omsagent", err)))
		goto done;
	for (i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if ((rc = copy(doc, net[i].name, np, net[i].key, T_STR,
			       "properties.networkProfile.", err)))
			goto done;
	if ((rc = copy(doc, "linuxAdminUsername", lp, "adminUsername", T_STR,
		       "properties.linuxProfile.", err)))
		goto done;
	keys = json_object_get(ssh, "publicKeys");
	if (json_is_array(keys) && json_array_size(keys) > 0 &&
	    (rc = copy(doc, "sshPublicKey", json_array_get(keys, 0), "keyData", T_STR,
		       "properties.linuxProfile.ssh.publicKeys[0].", err)))
		goto done;
	rc = pools(doc, json_object_get(props, "agentPoolProfiles"), err);
done:
	if (rc == HCR_OK)
		*out = doc;
	else
		json_decref(doc);
	return rc;
}

bool hcr_aks_busy(json_t *cluster)
{
	json_t *props = json_object_get(cluster, "properties"), *p;
	const char *s = json_string_value(json_object_get(props, "provisioningState"));
	size_t i;

	if (s && !hcr_aks_terminal(s))
		return true;
	json_array_foreach(json_object_get(props, "agentPoolProfiles"), i, p)
	{
		s = json_string_value(json_object_get(p, "provisioningState"));
		if (s && !hcr_aks_terminal(s))
			return true;
	}
	return false;
}
