/*
 * Whole clusters: create (clusters.create with the cluster's node pools),
 * the check of a configuration before it is registered, and destroy
 * (clusters.delete). Both answer with an Operation, followed like any other
 * with poll_operation.
 *
 * The pools are created with the cluster (GKE needs at least one pool, or an
 * initialNodeCount, to create a cluster): the engine starts them pending, and
 * the first observation after the creation finds them as desired, so they
 * become in sync and are not created a second time.
 *
 * GKE has no idempotency token. When the answer to a clusters.create is lost,
 * the reconciler sends it again and GKE answers ALREADY_EXISTS. That answer is
 * taken as success only when the cluster GKE has under that name is not being
 * deleted or failed, and carries exactly the desired labels and node pool
 * names: then it is, as far as anything GKE shows can tell, the cluster the
 * first attempt made (and a cluster someone made by hand with the same name,
 * labels and pools would be the same one hcr would adopt by registering it
 * imported). Anything else fails the creation with a message naming the clash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gke_int.h"
#include "hcr/log.h"
#include "hcr/mem.h"

/* ---- the body ---------------------------------------------------------------------------- */

static int refuse(hcr_error *err, const char *field, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"config.%s\" %s", field,
			     what);
}

static void copy_str(json_t *dst, const char *to, json_t *src, const char *from)
{
	const char *s = json_string_value(json_object_get(src, from));

	if (s && *s)
		json_object_set_new(dst, to, json_string(s));
}

static void copy_bool(json_t *dst, const char *key, json_t *src)
{
	json_t *v = json_object_get(src, key);

	if (json_is_boolean(v))
		json_object_set(dst, key, v);
}

static void copy_members(json_t *dst, json_t *src, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(src, *keys);

		if (json_is_string(v) ? json_string_length(v) > 0 : json_is_boolean(v))
			json_object_set(dst, *keys, v);
	}
}

static json_t *addons(json_t *a)
{
	static const char *const names[] = {"httpLoadBalancing", "horizontalPodAutoscaling",
					    "networkPolicyConfig", NULL};
	json_t *out = json_object();

	for (const char *const *n = names; *n; n++) {
		json_t *v = json_object_get(a, *n);

		if (json_is_boolean(v))
			json_object_set_new(out, *n,
					    json_pack("{s:b}", "disabled", !json_is_true(v)));
	}
	return out;
}

static int check_pools(json_t *pools, json_t *autopilot, hcr_error *err)
{
	json_t *p;
	size_t i, k;

	if (pools && !json_is_null(pools) && !json_is_array(pools))
		return refuse(err, "nodePools", "must be an array of node pools");
	if (!json_array_size(pools) && !json_is_true(json_object_get(autopilot, "enabled")))
		return refuse(err, "nodePools",
			      "must name at least one node pool: GKE cannot create a cluster "
			      "without nodes (or set autopilotConfig.enabled)");
	json_array_foreach(pools, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *n = json_object_get(p, "initialNodeCount");
		json_t *as = json_object_get(p, "autoscaling");
		char field[96];

		if (!json_is_object(p)) {
			snprintf(field, sizeof(field), "nodePools[%zu]", i);
			return refuse(err, field, "must be an object");
		}
		snprintf(field, sizeof(field), "nodePools[%zu].name", i);
		if (!name || !hcr_gke_valid_name(name))
			return refuse(err, field,
				      "must be a GKE node pool name (lower-case letters, digits "
				      "and '-', starting with a letter, at most 40 characters)");
		for (k = 0; k < i; k++) {
			const char *other = json_string_value(
				json_object_get(json_array_get(pools, k), "name"));

			if (other && strcmp(other, name) == 0)
				return refuse(err, field, "names a pool twice");
		}
		snprintf(field, sizeof(field), "nodePools[%zu].initialNodeCount", i);
		if (n && !json_is_null(n) && (!json_is_integer(n) || json_integer_value(n) < 0))
			return refuse(err, field, "must be a number of nodes (0 or more)");
		if (json_is_true(json_object_get(as, "enabled"))) {
			json_int_t lo = json_integer_value(json_object_get(as, "minNodeCount"));
			json_int_t hi = json_integer_value(json_object_get(as, "maxNodeCount"));

			if (n && !json_is_null(n))
				return refuse(err, field,
					      "must be left out of an autoscaled pool: the "
					      "autoscaler owns its size (the pool starts at "
					      "autoscaling.minNodeCount, at least 1)");
			snprintf(field, sizeof(field), "nodePools[%zu].autoscaling", i);
			if (lo < 0 || hi < 1 || lo > hi)
				return refuse(err, field,
					      "needs 0 <= minNodeCount <= maxNodeCount and "
					      "maxNodeCount >= 1");
		}
	}
	return HCR_OK;
}

int hcr_gke_body_create_cluster(json_t **out, const char *name, json_t *config, hcr_error *err)
{
	static const char *const ip_keys[] = {"useIpAliases",
					      "createSubnetwork",
					      "subnetworkName",
					      "clusterIpv4CidrBlock",
					      "clusterSecondaryRangeName",
					      "servicesIpv4CidrBlock",
					      "servicesSecondaryRangeName",
					      "nodeIpv4CidrBlock",
					      NULL};
	static const char *const pcc_keys[] = {"enablePrivateEndpoint", "enablePrivateNodes",
					       "masterIpv4CidrBlock", NULL};
	json_t *c, *v, *p, *pools;
	size_t i;
	int rc;

	*out = NULL;
	if (!name || !hcr_gke_valid_name(name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid GKE cluster name", name ? name : "");
	if (config && !json_is_object(config))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"config\" must be an object");
	v = json_object_get(config, "kubernetesVersion");
	if (v && !json_is_null(v) && (!json_is_string(v) || !json_string_length(v)))
		return refuse(err, "kubernetesVersion", "must be a version such as \"1.31\"");
	v = json_object_get(config, "labels");
	if (v && !json_is_null(v)) {
		const char *k;
		json_t *x;

		if (!json_is_object(v))
			return refuse(err, "labels", "must be an object of strings");
		json_object_foreach(
			v, k,
			x) if (!json_is_string(x) &&
			       !json_is_null(x)) return refuse(err, "labels",
							       "must be an object of strings");
	}
	if ((rc = check_pools(json_object_get(config, "nodePools"),
			      json_object_get(config, "autopilotConfig"), err)) != HCR_OK)
		return rc;

	c = json_pack("{s:s}", "name", name);
	copy_str(c, "initialClusterVersion", config, "kubernetesVersion");
	copy_str(c, "description", config, "description");
	copy_str(c, "network", config, "network");
	copy_str(c, "subnetwork", config, "subnetwork");
	copy_str(c, "loggingService", config, "loggingService");
	copy_str(c, "monitoringService", config, "monitoringService");
	copy_str(c, "clusterIpv4Cidr", config, "clusterIpv4Cidr");
	copy_bool(c, "enableKubernetesAlpha", config);
	v = json_object_get(config, "labels");
	if (json_object_size(v)) {
		json_t *l = json_object(), *x;
		const char *k;

		json_object_foreach(v, k, x) if (json_is_string(x)) json_object_set(l, k, x);
		json_object_set_new(c, "resourceLabels", l);
	}
	if (json_array_size(json_object_get(config, "locations")))
		json_object_set(c, "locations", json_object_get(config, "locations"));
	v = addons(json_object_get(config, "clusterAddons"));
	if (json_object_size(v))
		json_object_set_new(c, "addonsConfig", v);
	else
		json_decref(v);
	if (json_is_true(json_object_get(config, "networkPolicyEnabled")))
		json_object_set_new(c, "networkPolicy", json_pack("{s:b}", "enabled", 1));
	v = json_object();
	copy_members(v, json_object_get(config, "ipAllocationPolicy"), ip_keys);
	if (json_object_size(v))
		json_object_set_new(c, "ipAllocationPolicy", v);
	else
		json_decref(v);
	v = json_object();
	copy_members(v, json_object_get(config, "privateClusterConfig"), pcc_keys);
	if (json_object_size(v))
		json_object_set_new(c, "privateClusterConfig", v);
	else
		json_decref(v);
	v = json_object_get(config, "masterAuthorizedNetworks");
	if (json_is_object(v) && (json_is_true(json_object_get(v, "enabled")) ||
				  json_array_size(json_object_get(v, "cidrBlocks")))) {
		json_t *m =
			json_pack("{s:b}", "enabled", json_is_true(json_object_get(v, "enabled")));

		if (json_array_size(json_object_get(v, "cidrBlocks")))
			json_object_set(m, "cidrBlocks", json_object_get(v, "cidrBlocks"));
		json_object_set_new(c, "masterAuthorizedNetworksConfig", m);
	}
	v = json_object_get(config, "maintenanceWindow");
	if (json_is_string(v) && json_string_length(v))
		json_object_set_new(c, "maintenancePolicy",
				    json_pack("{s:{s:{s:O}}}", "window", "dailyMaintenanceWindow",
					      "startTime", v));
	if (json_is_true(json_object_get(json_object_get(config, "autopilotConfig"), "enabled")))
		json_object_set_new(c, "autopilot", json_pack("{s:b}", "enabled", 1));
	pools = json_array();
	json_array_foreach(json_object_get(config, "nodePools"), i, p)
	{
		const char *pname = json_string_value(json_object_get(p, "name"));
		char *path = hcr_sprintf("config.nodePools[%s]", pname);
		json_t *np;

		rc = hcr_gke_body_node_pool(&np, pname, p, path, err);
		free(path);
		if (rc != HCR_OK) {
			json_decref(pools);
			json_decref(c);
			return rc;
		}
		json_array_append_new(pools, np);
	}
	if (json_array_size(pools))
		json_object_set_new(c, "nodePools", pools);
	else
		json_decref(pools);
	*out = json_pack("{s:o}", "cluster", c);
	return HCR_OK;
}

int hcr_gke_check_create(json_t *config, hcr_error *err)
{
	json_t *body = NULL;
	int rc = hcr_gke_body_create_cluster(&body, "check", config ? config : NULL, err);

	json_decref(body);
	return rc;
}

/* ---- create ------------------------------------------------------------------------------ */

/* Whether `cluster` (GKE's) is, as far as it shows, the one `desired` describes. */
static bool same_cluster(json_t *cluster, json_t *desired)
{
	const char *status = json_string_value(json_object_get(cluster, "status"));
	json_t *want = json_object_get(desired, "labels"), *have, *x, *p;
	json_t *wp = json_object_get(desired, "nodePools"), *hp;
	const char *k;
	size_t i, n = 0;

	if (!status || strcmp(status, "STOPPING") == 0 || strcmp(status, "ERROR") == 0)
		return false;
	have = json_object_get(cluster, "resourceLabels");
	json_object_foreach(want, k, x)
	{
		if (!json_is_string(x))
			continue;
		n++;
		if (!json_equal(x, json_object_get(have, k)))
			return false;
	}
	if (json_object_size(have) != n)
		return false;
	hp = json_object_get(cluster, "nodePools");
	if (json_array_size(hp) != json_array_size(wp))
		return false;
	json_array_foreach(wp, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		bool found = false;
		size_t m;
		json_t *q;

		json_array_foreach(hp, m, q)
		{
			const char *qn = json_string_value(json_object_get(q, "name"));

			found = found || (qn && name && strcmp(qn, name) == 0);
		}
		if (!found)
			return false;
	}
	return true;
}

static void existing_read(gke_job *j, gke_reply *r)
{
	hcr_error err;

	if (r->status == HCR_OK && same_cluster(r->body, j->changes)) {
		hcr_log_info("gke",
			     "create answered ALREADY_EXISTS for a cluster that matches; taken as "
			     "created cluster=%s",
			     j->name);
		hcr_gke_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	if (r->status != HCR_OK && r->status != HCR_ENOTFOUND) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
		      "a cluster named \"%s\" already exists in GKE and is not the one hcr was "
		      "asked to create",
		      j->name);
	hcr_error_detail(&err, "ALREADY_EXISTS: projects/%s/locations/%s/clusters/%s", j->project,
			 j->location, j->name);
	hcr_error_hint(&err, "pick another name, or register the existing cluster with "
			     "\"imported\": true");
	hcr_gke_fail(j, HCR_EINVALID, &err);
}

static void create_sent(gke_job *j, gke_reply *r)
{
	if (r->status == HCR_ECONFLICT && strncmp(r->err.detail, "ALREADY_EXISTS", 14) == 0) {
		hcr_gke_get_cluster(j, existing_read);
		return;
	}
	hcr_gke_operation_done(j, r);
}

static void create_step(gke_job *j)
{
	hcr_gke_send(j, "clusters.create", NULL, "POST", "/clusters", j->cluster, create_sent);
}

int hcr_gke_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload)
{
	gke_job *j;
	hcr_error err;
	int rc;

	(void)token; /* GKE has none: see ALREADY_EXISTS above */
	rc = hcr_gke_job_new(&j, p, c, "create", true, cb, payload, &err);
	if (rc == HCR_OK) {
		rc = hcr_gke_body_create_cluster(&j->cluster, j->name, config, &err);
		if (rc != HCR_OK)
			hcr_gke_job_free(j);
	}
	if (rc == HCR_OK) {
		j->changes = json_incref(config);
		rc = hcr_gke_job_start(j, create_step, &err);
	}
	if (rc != HCR_EAGAIN)
		hcr_log_warn("gke", "create not started status=%s msg=%s", hcr_status_name(rc),
			     err.message);
	return rc;
}

/* ---- destroy ----------------------------------------------------------------------------- */

static void delete_sent(gke_job *j, gke_reply *r)
{
	if (r->status == HCR_ENOTFOUND) {
		hcr_gke_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	hcr_gke_operation_done(j, r);
}

static void destroy_step(gke_job *j)
{
	char *seg = hcr_gke_seg(j->name), *path = hcr_sprintf("/clusters/%s", seg);

	hcr_gke_send(j, "clusters.delete", NULL, "DELETE", path, NULL, delete_sent);
	free(seg);
	free(path);
}

int hcr_gke_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	gke_job *j;
	hcr_error err;
	int rc = hcr_gke_job_new(&j, p, c, "destroy", true, cb, payload, &err);

	if (rc == HCR_OK)
		rc = hcr_gke_job_start(j, destroy_step, &err);
	if (rc != HCR_EAGAIN)
		hcr_log_warn("gke", "destroy not started status=%s msg=%s", hcr_status_name(rc),
			     err.message);
	return rc;
}
