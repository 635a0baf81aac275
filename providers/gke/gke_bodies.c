/*
 * Request bodies: one planned operation of the engine, with the cluster as
 * GKE has it now, becomes the one call that makes it (the list is in
 * hcr/provider_gke.h). Built, and so checked, before the call: a change GKE
 * would refuse or cannot make fails here with HCR_EINVALID naming its path.
 *
 * Calls that replace a whole member (labels, autoscaling, management, a
 * pool's labels or taints) are built from GKE's current value with the
 * planned changes laid over it, so that what hcr does not manage is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_gke.h"

static int bad(hcr_error *err, const char *path, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\" %s", path, what);
}

/* The single change of a one-field operation, or NULL. */
static json_t *only(json_t *changes, const char *path)
{
	return json_object_get(changes, path);
}

static json_t *find_pool(json_t *cluster, const char *pool)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(cluster, "nodePools"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));

		if (name && pool && strcmp(name, pool) == 0)
			return p;
	}
	return NULL;
}

/* ---- the cluster ------------------------------------------------------------------------- */

static int master_version(hcr_gke_call *c, json_t *changes, json_t *cluster, hcr_error *err)
{
	const char *want = json_string_value(only(changes, "kubernetesVersion"));
	const char *have = json_string_value(json_object_get(cluster, "currentMasterVersion"));
	int cmp;

	if (!want || !*want)
		return bad(err, "kubernetesVersion", "must be a version such as \"1.31\"");
	if (have && hcr_version_compare(want, have, &cmp) && cmp < 0) {
		char a[32], b[32];
		const char *d;

		/* Only the minor matters: "1.30" asks for the newest 1.30 patch. */
		snprintf(a, sizeof(a), "%s", want);
		snprintf(b, sizeof(b), "%s", have);
		if ((d = strchr(a, '.')) && (d = strchr(d + 1, '.')))
			a[d - a] = '\0';
		if ((d = strchr(b, '.')) && (d = strchr(d + 1, '.')))
			b[d - b] = '\0';
		if (hcr_version_compare(a, b, &cmp) && cmp < 0) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "field \"kubernetesVersion\" cannot go down from \"%s\" to "
				      "\"%s\"",
				      have, want);
			hcr_error_detail(err, "GKE does not downgrade a control plane's minor "
					      "version");
			return HCR_EINVALID;
		}
	}
	c->body = json_pack("{s:{s:s}}", "update", "desiredMasterVersion", want);
	return HCR_OK;
}

static int addons(hcr_gke_call *c, json_t *changes, hcr_error *err)
{
	static const char *const names[] = {"httpLoadBalancing", "horizontalPodAutoscaling",
					    "networkPolicyConfig"};
	json_t *v = only(changes, "clusterAddons"), *cfg = json_object();

	if (!json_is_object(v)) {
		json_decref(cfg);
		return bad(err, "clusterAddons", "must be an object of booleans");
	}
	for (size_t i = 0; i < 3; i++) {
		json_t *b = json_object_get(v, names[i]);

		if (!b)
			continue;
		if (!json_is_boolean(b)) {
			json_decref(cfg);
			return bad(err, "clusterAddons", "must be an object of booleans");
		}
		json_object_set_new(cfg, names[i],
				    json_pack("{s:b}", "disabled", !json_is_true(b)));
	}
	c->body = json_pack("{s:{s:o}}", "update", "desiredAddonsConfig", cfg);
	return HCR_OK;
}

static int authorized_networks(hcr_gke_call *c, json_t *changes, hcr_error *err)
{
	json_t *v = only(changes, "masterAuthorizedNetworks"), *blocks, *b, *out;
	size_t i;

	if (!json_is_object(v))
		return bad(err, "masterAuthorizedNetworks", "must be {enabled, cidrBlocks}");
	out = json_array();
	blocks = json_object_get(v, "cidrBlocks");
	json_array_foreach(blocks, i, b)
	{
		const char *cidr = json_string_value(json_object_get(b, "cidrBlock"));
		const char *name = json_string_value(json_object_get(b, "displayName"));

		if (!cidr) {
			json_decref(out);
			return bad(err, "masterAuthorizedNetworks",
				   "has a CIDR block without \"cidrBlock\"");
		}
		json_array_append_new(out, name && *name ? json_pack("{s:s, s:s}", "cidrBlock",
								     cidr, "displayName", name)
							 : json_pack("{s:s}", "cidrBlock", cidr));
	}
	c->body = json_pack("{s:{s:{s:b, s:o}}}", "update", "desiredMasterAuthorizedNetworksConfig",
			    "enabled", json_is_true(json_object_get(v, "enabled")), "cidrBlocks",
			    out);
	return HCR_OK;
}

static int desired_string(hcr_gke_call *c, json_t *changes, const char *path, const char *member,
			  hcr_error *err)
{
	const char *v = json_string_value(only(changes, path));

	if (!v || !*v)
		return bad(err, path, "must be a non-empty string");
	c->body = json_pack("{s:{s:s}}", "update", member, v);
	return HCR_OK;
}

static int locations(hcr_gke_call *c, json_t *changes, hcr_error *err)
{
	json_t *v = only(changes, "locations"), *item;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(err, "locations", "must be a non-empty array of zones");
	json_array_foreach(v, i, item) if (!json_is_string(item)) return bad(
		err, "locations", "must be a non-empty array of zones");
	c->body = json_pack("{s:{s:O}}", "update", "desiredLocations", v);
	return HCR_OK;
}

static int network_policy(hcr_gke_call *c, json_t *changes, hcr_error *err)
{
	json_t *v = only(changes, "networkPolicyEnabled");

	if (!json_is_boolean(v))
		return bad(err, "networkPolicyEnabled", "must be a boolean");
	c->body = json_is_true(v) ? json_pack("{s:{s:b, s:s}}", "networkPolicy", "enabled", 1,
					      "provider", "CALICO")
				  : json_pack("{s:{s:b}}", "networkPolicy", "enabled", 0);
	snprintf(c->suffix, sizeof(c->suffix), ":setNetworkPolicy");
	c->api = "clusters.setNetworkPolicy";
	c->method = "POST";
	return HCR_OK;
}

static int maintenance(hcr_gke_call *c, json_t *changes, json_t *cluster, hcr_error *err)
{
	json_t *v = only(changes, "maintenanceWindow"), *policy;
	const char *rv = json_string_value(
		json_object_get(json_object_get(cluster, "maintenancePolicy"), "resourceVersion"));

	if (!json_is_string(v))
		return bad(err, "maintenanceWindow", "must be a start time \"HH:MM\" or \"\"");
	policy = *json_string_value(v) ? json_pack("{s:{s:{s:O}}}", "window",
						   "dailyMaintenanceWindow", "startTime", v)
				       : json_object();
	if (rv)
		json_object_set_new(policy, "resourceVersion", json_string(rv));
	c->body = json_pack("{s:o}", "maintenancePolicy", policy);
	snprintf(c->suffix, sizeof(c->suffix), ":setMaintenancePolicy");
	c->api = "clusters.setMaintenancePolicy";
	c->method = "POST";
	return HCR_OK;
}

/* All labels: GKE's current ones with the planned keys set or removed. */
static int labels(hcr_gke_call *c, json_t *changes, json_t *cluster, hcr_error *err)
{
	json_t *cur = json_object_get(cluster, "resourceLabels"), *all, *v;
	const char *fp = json_string_value(json_object_get(cluster, "labelFingerprint"));
	const char *path;

	all = json_is_object(cur) ? json_deep_copy(cur) : json_object();
	json_object_foreach(changes, path, v)
	{
		if (strncmp(path, "labels.", 7) != 0 || !path[7] ||
		    (!json_is_string(v) && !json_is_null(v))) {
			json_decref(all);
			return bad(err, path, "is not a label GKE can set");
		}
		if (json_is_null(v))
			json_object_del(all, path + 7);
		else
			json_object_set(all, path + 7, v);
	}
	c->body = json_pack("{s:o, s:s}", "resourceLabels", all, "labelFingerprint", fp ? fp : "");
	snprintf(c->suffix, sizeof(c->suffix), ":setResourceLabels");
	c->api = "clusters.setResourceLabels";
	c->method = "POST";
	return HCR_OK;
}

/* ---- pools ------------------------------------------------------------------------------- */

static char *pool_path(const char *pool, const char *member)
{
	return hcr_sprintf("nodePools[%s].%s", pool, member);
}

static int pool_size(hcr_gke_call *c, const char *pool, json_t *changes, json_t *np, hcr_error *err)
{
	char *path = pool_path(pool, "initialNodeCount");
	json_t *v = only(changes, path);
	int rc = HCR_OK;

	if (json_is_true(json_object_get(json_object_get(np, "autoscaling"), "enabled")))
		rc = bad(err, path,
			 "belongs to the autoscaler while autoscaling.enabled is true; "
			 "change autoscaling.minNodeCount or maxNodeCount instead");
	else if (!json_is_integer(v) || json_integer_value(v) < 0)
		rc = bad(err, path, "must be a number of nodes, 0 or more");
	else
		c->body = json_pack("{s:O}", "nodeCount", v);
	free(path);
	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s:setSize", pool);
	c->api = "nodePools.setSize";
	return rc;
}

static int pool_autoscaling(hcr_gke_call *c, const char *pool, json_t *changes, json_t *np,
			    hcr_error *err)
{
	char *path = pool_path(pool, "autoscaling");
	json_t *v = only(changes, path), *cur = json_object_get(np, "autoscaling");
	json_t *en, *mn, *mx;
	int rc = HCR_OK;

	if (!json_is_object(v)) {
		rc = bad(err, path, "must be {enabled, minNodeCount, maxNodeCount}");
		goto done;
	}
	en = json_object_get(v, "enabled");
	mn = json_object_get(v, "minNodeCount");
	mx = json_object_get(v, "maxNodeCount");
	if (!en)
		en = json_object_get(cur, "enabled");
	if (!json_is_true(en)) {
		c->body = json_pack("{s:{s:b}}", "autoscaling", "enabled", 0);
	} else {
		json_int_t lo = json_is_integer(mn) ? json_integer_value(mn) : 0;
		json_int_t hi = json_is_integer(mx) ? json_integer_value(mx) : 0;

		if (hi < 1 || lo < 0 || lo > hi) {
			rc = bad(err, path,
				 "needs 0 <= minNodeCount <= maxNodeCount, maxNodeCount >= 1");
			goto done;
		}
		c->body = json_pack("{s:{s:b, s:I, s:I}}", "autoscaling", "enabled", 1,
				    "minNodeCount", lo, "maxNodeCount", hi);
	}
done:
	free(path);
	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s:setAutoscaling", pool);
	c->api = "nodePools.setAutoscaling";
	return rc;
}

static int pool_management(hcr_gke_call *c, const char *pool, json_t *changes, json_t *np,
			   hcr_error *err)
{
	char *path = pool_path(pool, "management");
	json_t *v = only(changes, path), *cur = json_object_get(np, "management");
	json_t *repair, *upgrade;
	int rc = HCR_OK;

	if (!json_is_object(v)) {
		rc = bad(err, path, "must be {autoRepair, autoUpgrade}");
	} else {
		repair = json_object_get(v, "autoRepair");
		upgrade = json_object_get(v, "autoUpgrade");
		c->body = json_pack(
			"{s:{s:b, s:b}}", "management", "autoRepair",
			json_is_true(repair ? repair : json_object_get(cur, "autoRepair")),
			"autoUpgrade",
			json_is_true(upgrade ? upgrade : json_object_get(cur, "autoUpgrade")));
	}
	free(path);
	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s:setManagement", pool);
	c->api = "nodePools.setManagement";
	return rc;
}

static int pool_version(hcr_gke_call *c, const char *pool, json_t *changes, hcr_error *err)
{
	char *path = pool_path(pool, "version");
	const char *v = json_string_value(only(changes, path));
	int rc = HCR_OK;

	if (!v || !*v)
		rc = bad(err, path, "must be a version");
	else
		c->body = json_pack("{s:s}", "nodeVersion", v);
	free(path);
	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s", pool);
	c->api = "nodePools.update";
	c->method = "PUT";
	return rc;
}

/* The config members nodePools.update takes, and the name it takes each under. */
static const char *const config_updatable[] = {"labels",   "taints",     "tags",     "machineType",
					       "diskType", "diskSizeGb", "imageType"};

static bool updatable(const char *member)
{
	for (size_t i = 0; i < sizeof(config_updatable) / sizeof(config_updatable[0]); i++)
		if (strcmp(member, config_updatable[i]) == 0)
			return true;
	return false;
}

/* Taints as GKE takes them: key, value, effect; "" members left out. */
static int taint_list(json_t **out, json_t *v, const char *path, hcr_error *err)
{
	json_t *t;
	size_t i;

	*out = json_array();
	if (!json_is_array(v) && !json_is_null(v) && v)
		goto bad;
	json_array_foreach(v, i, t)
	{
		const char *key = json_string_value(json_object_get(t, "key"));
		const char *value = json_string_value(json_object_get(t, "value"));
		const char *effect = json_string_value(json_object_get(t, "effect"));
		json_t *item;

		if (!key || !*key || !effect || !*effect)
			goto bad;
		item = json_pack("{s:s, s:s}", "key", key, "effect", effect);
		if (value && *value)
			json_object_set_new(item, "value", json_string(value));
		json_array_append_new(*out, item);
	}
	return HCR_OK;
bad:
	json_decref(*out);
	*out = NULL;
	return bad(err, path, "must be an array of {key, value, effect}");
}

/* nodePools.update with the config members that differ from GKE's (np.config). */
static int pool_config(hcr_gke_call *c, const char *pool, json_t *changes, json_t *np,
		       hcr_error *err)
{
	char *path = pool_path(pool, "config");
	json_t *want = only(changes, path), *cur = json_object_get(np, "config");
	json_t *now_doc = NULL, *have = NULL, *body, *v;
	const char *k;
	hcr_error ignored;
	int rc = HCR_OK;

	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s", pool);
	c->api = "nodePools.update";
	c->method = "PUT";
	if (!json_is_object(want)) {
		rc = bad(err, path, "must be an object");
		goto done;
	}
	/* GKE's config in the document's form, to compare member by member. */
	{
		json_t *one = json_pack("{s:[{s:s, s:o}]}", "nodePools", "name", pool, "config",
					cur ? json_incref(cur) : json_object());

		if (hcr_gke_normalise(&now_doc, one, &ignored) == HCR_OK)
			have = json_object_get(
				json_array_get(json_object_get(now_doc, "nodePools"), 0), "config");
		json_decref(one);
	}
	body = json_object();
	json_object_foreach(want, k, v)
	{
		if (have && json_equal(v, json_object_get(have, k)))
			continue;
		if (!updatable(k)) {
			char *sub = hcr_sprintf("%s.%s", path, k);

			json_decref(body);
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "field \"%s\" cannot change on an existing node pool", sub);
			hcr_error_hint(err, "create a new node pool with it and delete this one");
			free(sub);
			rc = HCR_EINVALID;
			goto done;
		}
		if (strcmp(k, "labels") == 0) {
			if (!json_is_object(v) && !json_is_null(v)) {
				json_decref(body);
				rc = bad(err, path, "has labels that are not an object");
				goto done;
			}
			json_object_set_new(
				body, "labels",
				json_pack("{s:o}", "labels",
					  json_is_object(v) ? json_incref(v) : json_object()));
		} else if (strcmp(k, "taints") == 0) {
			json_t *list;

			if ((rc = taint_list(&list, v, path, err)) != HCR_OK) {
				json_decref(body);
				goto done;
			}
			json_object_set_new(body, "taints", json_pack("{s:o}", "taints", list));
		} else if (strcmp(k, "tags") == 0) {
			json_object_set_new(body, "tags", json_pack("{s:O}", "tags", v));
		} else if (strcmp(k, "diskSizeGb") == 0) {
			json_object_set_new(body, k, json_pack("I", json_integer_value(v)));
		} else {
			json_object_set(body, k, v);
		}
	}
	if (json_object_size(body) == 0)
		c->none = true;
	c->body = body;
done:
	json_decref(now_doc);
	free(path);
	return rc;
}

/* ---- pool create ------------------------------------------------------------------------- */

static void copy_string(json_t *dst, const char *key, json_t *src)
{
	const char *s = json_string_value(json_object_get(src, key));

	if (s && *s)
		json_object_set_new(dst, key, json_string(s));
}

static void copy_positive(json_t *dst, const char *key, json_t *src)
{
	json_t *v = json_object_get(src, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		json_object_set(dst, key, v);
}

int hcr_gke_body_node_pool(json_t **out, const char *name, json_t *pool_doc, const char *path,
			   hcr_error *err)
{
	json_t *np, *cfg = json_object_get(pool_doc, "config"), *c, *v, *as, *mg;
	int rc;

	*out = NULL;
	if (!hcr_gke_valid_name(name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid GKE node pool name", name);
	if (pool_doc && !json_is_object(pool_doc))
		return bad(err, path, "must be an object");
	np = json_pack("{s:s}", "name", name);
	v = json_object_get(pool_doc, "initialNodeCount");
	as = json_object_get(pool_doc, "autoscaling");
	if (!json_is_integer(v) && json_is_true(json_object_get(as, "enabled"))) {
		/* The autoscaler owns the size: it starts at the lower bound (at least 1). */
		json_int_t lo = json_integer_value(json_object_get(as, "minNodeCount"));

		json_object_set_new(np, "initialNodeCount", json_integer(lo > 1 ? lo : 1));
	} else {
		json_object_set_new(np, "initialNodeCount",
				    json_integer(json_is_integer(v) ? json_integer_value(v) : 1));
	}
	copy_string(np, "version", pool_doc);
	v = json_object_get(pool_doc, "maxPodsConstraint");
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		json_object_set_new(np, "maxPodsConstraint",
				    json_pack("{s:s}", "maxPodsPerNode", buf));
	}
	if (json_is_true(json_object_get(as, "enabled")))
		json_object_set_new(
			np, "autoscaling",
			json_pack("{s:b, s:I, s:I}", "enabled", 1, "minNodeCount",
				  json_integer_value(json_object_get(as, "minNodeCount")),
				  "maxNodeCount",
				  json_integer_value(json_object_get(as, "maxNodeCount"))));
	mg = json_object_get(pool_doc, "management");
	if (json_is_object(mg))
		json_object_set_new(np, "management",
				    json_pack("{s:b, s:b}", "autoRepair",
					      json_is_true(json_object_get(mg, "autoRepair")),
					      "autoUpgrade",
					      json_is_true(json_object_get(mg, "autoUpgrade"))));
	c = json_object();
	copy_string(c, "machineType", cfg);
	copy_string(c, "diskType", cfg);
	copy_string(c, "imageType", cfg);
	copy_string(c, "serviceAccount", cfg);
	copy_string(c, "bootDiskKmsKey", cfg);
	copy_positive(c, "diskSizeGb", cfg);
	copy_positive(c, "localSsdCount", cfg);
	if (json_is_true(json_object_get(cfg, "preemptible")))
		json_object_set_new(c, "preemptible", json_true());
	if (json_object_size(json_object_get(cfg, "labels")))
		json_object_set(c, "labels", json_object_get(cfg, "labels"));
	if (json_array_size(json_object_get(cfg, "oauthScopes")))
		json_object_set(c, "oauthScopes", json_object_get(cfg, "oauthScopes"));
	if (json_array_size(json_object_get(cfg, "tags")))
		json_object_set(c, "tags", json_object_get(cfg, "tags"));
	if (json_array_size(json_object_get(cfg, "taints"))) {
		json_t *list;

		if ((rc = taint_list(&list, json_object_get(cfg, "taints"), path, err)) != HCR_OK) {
			json_decref(c);
			json_decref(np);
			return rc;
		}
		json_object_set_new(c, "taints", list);
	}
	if (json_object_size(c))
		json_object_set_new(np, "config", c);
	else
		json_decref(c);
	*out = np;
	return HCR_OK;
}

static int pool_create(hcr_gke_call *c, const char *pool, json_t *changes, json_t *np,
		       hcr_error *err)
{
	char *path = hcr_sprintf("nodePools[%s]", pool);
	json_t *body;
	int rc;

	snprintf(c->suffix, sizeof(c->suffix), "/nodePools");
	c->api = "nodePools.create";
	if (np) {
		c->none = true; /* GKE has it already: a resent create */
		free(path);
		return HCR_OK;
	}
	rc = hcr_gke_body_node_pool(&body, pool, only(changes, path), path, err);
	if (rc == HCR_OK)
		c->body = json_pack("{s:o}", "nodePool", body);
	free(path);
	return rc;
}

static int pool_delete(hcr_gke_call *c, const char *pool, json_t *np)
{
	snprintf(c->suffix, sizeof(c->suffix), "/nodePools/%s", pool);
	c->api = "nodePools.delete";
	c->method = "DELETE";
	c->none = np == NULL; /* gone already */
	return HCR_OK;
}

int hcr_gke_build_call(hcr_gke_call *out, const char *operation, const char *pool, json_t *changes,
		       json_t *cluster, hcr_error *err)
{
	json_t *np = pool ? find_pool(cluster, pool) : NULL;
	const char *op = operation ? operation : "";
	int rc;

	memset(out, 0, sizeof(*out));
	out->method = "PUT";
	out->api = "clusters.update";
	if (pool && (!hcr_gke_valid_name(pool)))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid GKE node pool name", pool);
	if (pool && !np && strcmp(op, "CreateNodePool") != 0 && strcmp(op, "DeleteNodePool") != 0)
		return hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				     "node pool \"%s\" does not exist in GKE", pool);
	out->method = pool ? "POST" : "PUT";
	if (strcmp(op, "UpdateMasterVersion") == 0)
		rc = master_version(out, changes, cluster, err);
	else if (strcmp(op, "UpdateAddons") == 0)
		rc = addons(out, changes, err);
	else if (strcmp(op, "UpdateMasterAuthorizedNetworks") == 0)
		rc = authorized_networks(out, changes, err);
	else if (strcmp(op, "UpdateLoggingService") == 0)
		rc = desired_string(out, changes, "loggingService", "desiredLoggingService", err);
	else if (strcmp(op, "UpdateMonitoringService") == 0)
		rc = desired_string(out, changes, "monitoringService", "desiredMonitoringService",
				    err);
	else if (strcmp(op, "UpdateLocations") == 0)
		rc = locations(out, changes, err);
	else if (strcmp(op, "SetNetworkPolicy") == 0)
		rc = network_policy(out, changes, err);
	else if (strcmp(op, "SetMaintenancePolicy") == 0)
		rc = maintenance(out, changes, cluster, err);
	else if (strcmp(op, "SetLabels") == 0)
		rc = labels(out, changes, cluster, err);
	else if (pool && strcmp(op, "SetNodePoolSize") == 0)
		rc = pool_size(out, pool, changes, np, err);
	else if (pool && strcmp(op, "SetNodePoolAutoscaling") == 0)
		rc = pool_autoscaling(out, pool, changes, np, err);
	else if (pool && strcmp(op, "SetNodePoolManagement") == 0)
		rc = pool_management(out, pool, changes, np, err);
	else if (pool && strcmp(op, "UpdateNodePool") == 0)
		rc = pool_version(out, pool, changes, err);
	else if (pool && strcmp(op, "UpdateNodePoolConfig") == 0)
		rc = pool_config(out, pool, changes, np, err);
	else if (pool && strcmp(op, "CreateNodePool") == 0)
		rc = pool_create(out, pool, changes, np, err);
	else if (pool && strcmp(op, "DeleteNodePool") == 0)
		rc = pool_delete(out, pool, np);
	else
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "the GKE provider has no operation \"%s\"", op);
	if (rc != HCR_OK) {
		json_decref(out->body);
		out->body = NULL;
	}
	return rc;
}
