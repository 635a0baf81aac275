/*
 * AKS clusters from birth to deletion, and the list that discovery reads:
 * create (one PUT of the whole managed cluster, its pools included, since AKS
 * needs a System pool to exist), destroy (one DELETE, tracked to its end) and
 * list (by resource group or subscription, following nextLink).
 *
 * check_create refuses, before registration, what ARM would surely refuse:
 * a cluster without pools or without a System pool, and pool names AKS does
 * not take.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aks_int.h"
#include "hcr/log.h"
#include "hcr/mem.h"

#define AKS_MAX_PAGES 1000
#define AKS_MAX_ITEMS 5000

/* ---- check_create ---------------------------------------------------------------------- */

int hcr_aks_check_create(json_t *config, hcr_error *err)
{
	json_t *pools = json_object_get(config, "nodePools"), *p;
	bool system = false;
	size_t i;

	if (!json_is_array(pools) || json_array_size(pools) == 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "config.nodePools: AKS creates a cluster with at least one "
				     "pool, one of them with mode \"System\"");
	json_array_foreach(pools, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *mode = json_string_value(json_object_get(p, "mode"));

		if (!hcr_aks_valid_pool_name(name))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "config.nodePools[%s].name: 1-12 lower-case letters "
					     "and digits, starting with a letter",
					     name ? name : "");
		if (json_is_true(json_object_get(p, "enableAutoScaling")) &&
		    json_object_get(p, "count") && !json_is_null(json_object_get(p, "count")))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "config.nodePools[%s].count: leave it out of an "
					     "autoscaled pool; the autoscaler owns it (the pool "
					     "starts at minCount)",
					     name);
		system |= mode && strcasecmp(mode, "System") == 0;
	}
	if (!system)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "config.nodePools: AKS needs a pool with mode \"System\"");
	return HCR_OK;
}

/* ---- create ---------------------------------------------------------------------------- */

static void set_str(json_t *obj, const char *key, json_t *config, const char *name)
{
	json_t *v = json_object_get(config, name);

	if (json_is_string(v))
		json_object_set(obj, key, v);
}

static int create_body(json_t **out, json_t *config, const char *location, hcr_error *err)
{
	json_t *props = json_object(), *pools = json_array(), *net = json_object(), *p, *body;
	json_t *api = json_object(), *v;
	size_t i;
	int rc = HCR_OK;

	set_str(props, "kubernetesVersion", config, "kubernetesVersion");
	set_str(props, "dnsPrefix", config, "dnsPrefix");
	set_str(props, "nodeResourceGroup", config, "nodeResourceGroup");
	set_str(net, "networkPlugin", config, "networkPlugin");
	set_str(net, "networkPolicy", config, "networkPolicy");
	set_str(net, "serviceCidr", config, "serviceCidr");
	set_str(net, "dnsServiceIP", config, "dnsServiceIp");
	set_str(net, "podCidr", config, "podCidr");
	set_str(net, "loadBalancerSku", config, "loadBalancerSku");
	set_str(net, "outboundType", config, "outboundType");
	if (json_object_size(net))
		json_object_set(props, "networkProfile", net);
	if (json_is_boolean((v = json_object_get(config, "privateCluster"))))
		json_object_set(api, "enablePrivateCluster", v);
	if (json_is_array((v = json_object_get(config, "authorizedIpRanges"))) &&
	    json_array_size(v))
		json_object_set(api, "authorizedIPRanges", v);
	if (json_object_size(api))
		json_object_set(props, "apiServerAccessProfile", api);
	if (json_is_string(json_object_get(config, "linuxAdminUsername")) &&
	    json_is_string(json_object_get(config, "sshPublicKey")))
		json_object_set_new(props, "linuxProfile",
				    json_pack("{s:O, s:{s:[{s:O}]}}", "adminUsername",
					      json_object_get(config, "linuxAdminUsername"), "ssh",
					      "publicKeys", "keyData",
					      json_object_get(config, "sshPublicKey")));
	if (json_is_boolean((v = json_object_get(config, "httpApplicationRouting"))))
		json_object_set_new(props, "addonProfiles",
				    json_pack("{s:{s:O}}", "httpApplicationRouting", "enabled", v));
	json_array_foreach(json_object_get(config, "nodePools"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *pb = NULL;

		if ((rc = hcr_aks_body_pool_create(&pb, name ? name : "", p, err)) != HCR_OK)
			break;
		json_object_set_new(json_object_get(pb, "properties"), "name", json_string(name));
		json_array_append(pools, json_object_get(pb, "properties"));
		json_decref(pb);
	}
	json_object_set(props, "agentPoolProfiles", pools);
	body = json_pack("{s:s, s:{s:s}, s:O}", "location", location, "identity", "type",
			 "SystemAssigned", "properties", props);
	v = json_object_get(config, "tags");
	json_object_set_new(body, "tags", json_is_object(v) ? json_deep_copy(v) : json_object());
	json_decref(props);
	json_decref(pools);
	json_decref(net);
	json_decref(api);
	if (rc != HCR_OK) {
		json_decref(body);
		body = NULL;
	}
	*out = body;
	return rc;
}

static void created(aks_job *j, aks_reply *r)
{
	if (r->http == 412) {
		/* It exists: an earlier attempt reached ARM. Follow the cluster itself. */
		hcr_aks_result(j, json_pack("{s:s}", "handle", "res:"));
		return;
	}
	hcr_aks_track(j, r, false);
}

static void create_step(aks_job *j)
{
	char *path = hcr_aks_path(j, NULL);

	hcr_aks_send(j, "PutManagedCluster", "PUT", path, j->extra, NULL, "*", created);
	free(path);
}

int hcr_aks_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload)
{
	aks_job *j;
	json_t *body = NULL;
	hcr_error err;
	int rc;

	if (!c || !c->location || !*c->location) {
		hcr_log_warn("aks", "create refused: the cluster has no location");
		return HCR_EINVALID;
	}
	if (hcr_aks_check_create(config, &err) != HCR_OK ||
	    create_body(&body, config, c->location, &err) != HCR_OK) {
		hcr_log_warn("aks", "create refused: %s", err.message);
		return HCR_EINVALID;
	}
	if ((rc = hcr_aks_job_new(&j, p, c, "create", true, cb, payload, &err)) != HCR_OK) {
		json_decref(body);
		return rc;
	}
	j->extra = body;
	j->opname = hcr_strdup("CreateCluster");
	j->token = token ? hcr_strdup(token) : NULL;
	return hcr_aks_job_start(j, create_step, &err);
}

/* ---- destroy --------------------------------------------------------------------------- */

static void deleted(aks_job *j, aks_reply *r)
{
	hcr_aks_track(j, r, true);
}

static void destroy_step(aks_job *j)
{
	char *path = hcr_aks_path(j, NULL);

	hcr_aks_send(j, "DeleteManagedCluster", "DELETE", path, NULL, NULL, NULL, deleted);
	free(path);
}

int hcr_aks_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	aks_job *j;
	hcr_error err;
	int rc = hcr_aks_job_new(&j, p, c, "destroy", true, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	j->opname = hcr_strdup("DeleteCluster");
	return hcr_aks_job_start(j, destroy_step, &err);
}

/* ---- list ------------------------------------------------------------------------------ */

/* The resource group inside an ARM id ("/subscriptions/s/resourcegroups/<rg>/..."). */
static json_t *group_of(const char *id)
{
	const char *p = id ? strcasestr(id, "/resourcegroups/") : NULL, *end;

	if (!p)
		return json_null();
	p += 16;
	end = strchr(p, '/');
	return json_stringn(p, end ? (size_t)(end - p) : strlen(p));
}

static void page_done(aks_job *j, aks_reply *r)
{
	json_t *items = json_object_get(r->body, "value"), *it,
	       *next = json_object_get(r->body, "nextLink");
	json_t *list = json_object_get(j->result, "clusters");
	const char *rel;
	size_t i;

	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (!json_is_array(items) || (next && !json_is_null(next) && !json_is_string(next))) {
		hcr_aks_unexpected(j, "\"value\" or \"nextLink\" has the wrong type");
		return;
	}
	json_array_foreach(items, i, it)
	{
		json_t *props = json_object_get(it, "properties"), *item;

		if (!json_is_string(json_object_get(it, "name")) ||
		    json_array_size(list) >= AKS_MAX_ITEMS) {
			hcr_aks_unexpected(j, "a cluster without a name, or too many clusters");
			return;
		}
		item = json_pack("{s:O, s:o}", "cloudName", json_object_get(it, "name"),
				 "resourceGroup",
				 group_of(json_string_value(json_object_get(it, "id"))));
		if (json_is_string(json_object_get(it, "location")))
			json_object_set(item, "location", json_object_get(it, "location"));
		if (json_is_string(json_object_get(props, "provisioningState")))
			json_object_set(item, "status",
					json_object_get(props, "provisioningState"));
		if (json_is_string(json_object_get(props, "kubernetesVersion")))
			json_object_set(item, "version",
					json_object_get(props, "kubernetesVersion"));
		json_array_append_new(list, item);
	}
	if (!json_is_string(next) || !*json_string_value(next))
		return;
	rel = json_string_value(next);
	if (strncmp(rel, j->ap->endpoint, strlen(j->ap->endpoint)) != 0 ||
	    rel[strlen(j->ap->endpoint)] != '/' || ++j->retries > AKS_MAX_PAGES) {
		hcr_aks_unexpected(j,
				   "a nextLink outside the endpoint, or a list that does not end");
		return;
	}
	hcr_aks_send(j, "ListManagedClusters", "GET", rel + strlen(j->ap->endpoint), NULL, NULL,
		     NULL, page_done);
}

static void list_step(aks_job *j)
{
	char *path;

	if (j->rg)
		path = hcr_sprintf("/subscriptions/%s/resourceGroups/%s/providers/"
				   "Microsoft.ContainerService/managedClusters?api-version=%s",
				   j->sub, j->rg, HCR_AKS_API_VERSION);
	else
		path = hcr_sprintf("/subscriptions/%s/providers/Microsoft.ContainerService/"
				   "managedClusters?api-version=%s",
				   j->sub, HCR_AKS_API_VERSION);
	hcr_aks_send(j, "ListManagedClusters", "GET", path, NULL, NULL, NULL, page_done);
	free(path);
}

int hcr_aks_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload)
{
	aks_job *j;
	hcr_error err;
	int rc = hcr_aks_job_new(&j, p, scope, "list", false, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	j->result = json_pack("{s:[]}", "clusters");
	return hcr_aks_job_start(j, list_step, &err);
}
