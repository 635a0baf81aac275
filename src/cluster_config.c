/*
 * The shape of each provider's desired-configuration document: its top-level
 * fields (Rancher's EKSClusterConfigSpec / AKSClusterConfigSpec /
 * GKEClusterConfigSpec names, so a Rancher user can paste one) with their JSON
 * types, and the name field of its node pools. The identity fields of those
 * specs (region, credential, name, ...) are top-level fields of hcr's cluster
 * instead, and are refused inside "config" with a hint saying where they go.
 *
 * The full per-field catalog (which operation changes which field) comes with
 * the providers; this table is what the API needs to refuse a malformed
 * document before it is stored.
 */
#include <stdio.h>
#include <string.h>

#include "hcr/clusters.h"
#include "hcr/error.h"

struct field {
	const char *name;
	json_type type;
};

struct identity {
	const char *name;
	const char *instead;
};

struct provider_shape {
	const char *provider;
	const struct field *fields;
	const struct identity *identity;
	const char *pools;     /* the node-pool list field */
	const char *pool_name; /* its items' name field */
};

#define S JSON_STRING
#define B JSON_TRUE /* any boolean */
#define A JSON_ARRAY
#define O JSON_OBJECT

static const struct field eks_fields[] = {
	{"ipFamily", S},
	{"kubernetesVersion", S},
	{"tags", O},
	{"secretsEncryption", B},
	{"kmsKey", S},
	{"publicAccess", B},
	{"privateAccess", B},
	{"ebsCSIDriver", B},
	{"publicAccessSources", A},
	{"loggingTypes", A},
	{"subnets", A},
	{"securityGroups", A},
	{"serviceRole", S},
	{"nodeGroups", A},
	{NULL, 0},
};
static const struct identity eks_identity[] = {
	{"amazonCredentialSecret", "credential"},
	{"displayName", "cloudName"},
	{"region", "region"},
	{"imported", "imported"},
	{NULL, NULL},
};

static const struct field aks_fields[] = {
	{"baseUrl", S},
	{"authBaseUrl", S},
	{"networkPlugin", S},
	{"virtualNetworkResourceGroup", S},
	{"virtualNetwork", S},
	{"subnet", S},
	{"dnsServiceIp", S},
	{"serviceCidr", S},
	{"dockerBridgeCidr", S},
	{"podCidr", S},
	{"nodeResourceGroup", S},
	{"outboundType", S},
	{"loadBalancerSku", S},
	{"networkPolicy", S},
	{"linuxAdminUsername", S},
	{"sshPublicKey", S},
	{"dnsPrefix", S},
	{"kubernetesVersion", S},
	{"tags", O},
	{"nodePools", A},
	{"privateCluster", B},
	{"privateDnsZone", S},
	{"authorizedIpRanges", A},
	{"httpApplicationRouting", B},
	{"monitoring", B},
	{"logAnalyticsWorkspaceGroup", S},
	{"logAnalyticsWorkspaceName", S},
	{"managedIdentity", B},
	{"userAssignedIdentity", S},
	{NULL, 0},
};
static const struct identity aks_identity[] = {
	{"azureCredentialSecret", "credential"},
	{"clusterName", "cloudName"},
	{"resourceGroup", "resourceGroup"},
	{"resourceLocation", "location"},
	{"imported", "imported"},
	{NULL, NULL},
};

static const struct field gke_fields[] = {
	{"description", S},
	{"labels", O},
	{"enableKubernetesAlpha", B},
	{"clusterAddons", O},
	{"clusterIpv4Cidr", S},
	{"kubernetesVersion", S},
	{"loggingService", S},
	{"monitoringService", S},
	{"nodePools", A},
	{"network", S},
	{"subnetwork", S},
	{"networkPolicyEnabled", B},
	{"privateClusterConfig", O},
	{"ipAllocationPolicy", O},
	{"masterAuthorizedNetworks", O},
	{"locations", A},
	{"maintenanceWindow", S},
	{"autopilotConfig", O},
	{"customerManagedEncryptionKey", O},
	{NULL, 0},
};
static const struct identity gke_identity[] = {
	{"googleCredentialSecret", "credential"},
	{"clusterName", "cloudName"},
	{"projectID", "project"},
	{"region", "location"},
	{"zone", "location"},
	{"imported", "imported"},
	{NULL, NULL},
};

static const struct provider_shape shapes[] = {
	{"eks", eks_fields, eks_identity, "nodeGroups", "nodegroupName"},
	{"aks", aks_fields, aks_identity, "nodePools", "name"},
	{"gke", gke_fields, gke_identity, "nodePools", "name"},
	/* The test provider's clusters are shaped like EKS's. */
	{"fake", eks_fields, eks_identity, "nodeGroups", "nodegroupName"},
};

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "a string";
	case JSON_TRUE:
	case JSON_FALSE:
		return "true or false";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	default:
		return "a number";
	}
}

static bool type_ok(json_t *v, json_type want)
{
	if (want == JSON_TRUE)
		return json_is_boolean(v);
	return json_typeof(v) == want;
}

/* Node pools are matched by name, so every item needs a unique one. */
static int check_pools(const struct provider_shape *s, json_t *pools, const char *path,
		       hcr_error *err)
{
	size_t i, j;
	json_t *item;

	json_array_foreach(pools, i, item)
	{
		json_t *name = json_object_get(item, s->pool_name);

		if (!json_is_object(item))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "field \"%s.%s[%zu]\" must be an object", path,
					     s->pools, i);
		if (!json_is_string(name) || !*json_string_value(name))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "field \"%s.%s[%zu].%s\" is required", path, s->pools,
					     i, s->pool_name);
		for (j = 0; j < i; j++) {
			json_t *other = json_object_get(json_array_get(pools, j), s->pool_name);

			if (json_equal(other, name))
				return hcr_error_set(
					err, HCR_EINVALID, HCR_ERR_INVALID,
					"field \"%s.%s\": two pools are named \"%s\"; pools are "
					"matched by name, so names must be unique",
					path, s->pools, json_string_value(name));
		}
	}
	return HCR_OK;
}

int hcr_cluster_config_check(const char *provider, json_t *config, const char *path, hcr_error *err)
{
	const struct provider_shape *s = NULL;
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (strcmp(shapes[i].provider, provider) == 0)
			s = &shapes[i];
	if (!s)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "unknown provider \"%s\"",
				     provider);
	if (!json_is_object(config))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" must be an object", path);
	json_object_foreach(config, key, v)
	{
		const struct field *f;
		const struct identity *id;
		bool known = false;

		for (id = s->identity; id->name; id++) {
			if (strcmp(id->name, key) == 0) {
				hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					      "field \"%s.%s\" belongs at the top level", path,
					      key);
				hcr_error_hint(err, "set \"%s\" beside \"config\", not inside it",
					       id->instead);
				return HCR_EINVALID;
			}
		}
		for (f = s->fields; f->name; f++) {
			if (strcmp(f->name, key) != 0)
				continue;
			known = true;
			/* null releases a field: allowed for every field */
			if (!json_is_null(v) && !type_ok(v, f->type))
				return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
						     "field \"%s.%s\" must be %s", path, key,
						     type_name(f->type));
		}
		if (!known) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "unknown field \"%s.%s\" for provider %s", path, key,
				      provider);
			hcr_error_hint(err, "field names follow Rancher's %s cluster config spec",
				       strcmp(provider, "eks") == 0   ? "EKS"
				       : strcmp(provider, "aks") == 0 ? "AKS"
								      : "GKE");
			return HCR_EINVALID;
		}
	}
	v = json_object_get(config, s->pools);
	if (json_is_array(v))
		return check_pools(s, v, path, err);
	return HCR_OK;
}
