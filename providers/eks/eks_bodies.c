/*
 * Request bodies for the changes the engine plans: each operation of the
 * catalog becomes the body of the EKS call that makes it, from the changed
 * paths only (a field nobody changed is never sent, so hcr never overwrites a
 * value it does not manage), plus what EKS insists on receiving whole (the
 * three scaling sizes) taken from the node group as EKS last described it.
 *
 * Values are checked here, before anything is sent: a malformed change fails
 * with HCR_EINVALID naming its path, not with EKS's less precise refusal.
 * Creation bodies are in eks_create.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eks_int.h"
#include "hcr/mem.h"
#include "hcr/provider_eks.h"

int hcr_eks_bad_change(hcr_error *err, const char *path, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "change \"%s\" %s", path, what);
}

int hcr_eks_not_part(hcr_error *err, const char *path, const char *op)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			     "change \"%s\" is not part of operation %s", path, op);
}

const char *hcr_eks_pool_sub(const char *path, const char *pool)
{
	size_t n = strlen(pool);

	if (strncmp(path, "nodeGroups[", 11) != 0 || strncmp(path + 11, pool, n) != 0 ||
	    path[11 + n] != ']' || path[12 + n] != '.')
		return NULL;
	return path + 13 + n;
}

int hcr_eks_strings(json_t *v, const char *path, hcr_error *err)
{
	json_t *item;
	size_t i;

	if (!json_is_array(v))
		return hcr_eks_bad_change(err, path, "must be an array of strings");
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item) || !json_string_length(item))
			return hcr_eks_bad_change(err, path, "must be an array of strings");
	}
	return HCR_OK;
}

static void set_token(json_t *body, const char *token)
{
	if (token && *token)
		json_object_set_new(body, "clientRequestToken", json_string(token));
}

int hcr_eks_body_cluster_version(json_t **out, json_t *changes, const char *token, hcr_error *err)
{
	const char *path;
	json_t *v, *body = json_object();

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		if (strcmp(path, "kubernetesVersion") != 0) {
			json_decref(body);
			return hcr_eks_not_part(err, path, "UpdateClusterVersion");
		}
		if (!json_is_string(v) || !json_string_length(v)) {
			json_decref(body);
			return hcr_eks_bad_change(err, path, "must be a version string");
		}
		json_object_set(body, "version", v);
	}
	if (!json_object_get(body, "version")) {
		json_decref(body);
		return hcr_eks_bad_change(err, "kubernetesVersion", "is missing");
	}
	set_token(body, token);
	*out = body;
	return HCR_OK;
}

int hcr_eks_body_endpoint_access(json_t **out, json_t *changes, const char *token, hcr_error *err)
{
	static const struct {
		const char *path, *member;
	} map[] = {{"publicAccess", "endpointPublicAccess"},
		   {"privateAccess", "endpointPrivateAccess"},
		   {"publicAccessSources", "publicAccessCidrs"}};
	const char *path;
	json_t *v, *vpc = json_object();
	size_t i;
	int rc = HCR_OK;

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		for (i = 0; i < 3 && strcmp(path, map[i].path) != 0; i++)
			;
		if (i == 3)
			rc = hcr_eks_not_part(err, path, "UpdateEndpointAccess");
		else if (i < 2 && !json_is_boolean(v))
			rc = hcr_eks_bad_change(err, path, "must be true or false");
		else if (i == 2)
			rc = hcr_eks_strings(v, path, err);
		if (rc != HCR_OK || i == 3) {
			json_decref(vpc);
			return rc;
		}
		json_object_set(vpc, map[i].member, v);
	}
	if (json_object_size(vpc) == 0) {
		json_decref(vpc);
		return hcr_error_set(
			err, HCR_EINVALID, HCR_ERR_INVALID,
			"operation UpdateEndpointAccess has no endpoint field to change");
	}
	*out = json_pack("{s:o}", "resourcesVpcConfig", vpc);
	set_token(*out, token);
	return HCR_OK;
}

int hcr_eks_logging(json_t **out, json_t *enabled, const char *path, hcr_error *err)
{
	json_t *on = json_array(), *off = json_array(), *setups = json_array(), *item;
	bool want[5] = {false};
	size_t i, k;
	int rc;

	*out = NULL;
	rc = hcr_eks_strings(enabled, path, err);
	json_array_foreach(enabled, i, item)
	{
		if (rc != HCR_OK)
			break;
		for (k = 0; k < 5 && strcmp(json_string_value(item), hcr_eks_log_types[k]) != 0;
		     k++)
			;
		if (k == 5) {
			rc = hcr_eks_bad_change(err, path,
						"must list log types among api, audit, "
						"authenticator, controllerManager and scheduler");
			break;
		}
		want[k] = true;
	}
	for (k = 0; rc == HCR_OK && k < 5; k++)
		json_array_append_new(want[k] ? on : off, json_string(hcr_eks_log_types[k]));
	if (rc == HCR_OK && json_array_size(on))
		json_array_append_new(setups, json_pack("{s:O, s:b}", "types", on, "enabled", 1));
	if (rc == HCR_OK && json_array_size(off))
		json_array_append_new(setups, json_pack("{s:O, s:b}", "types", off, "enabled", 0));
	json_decref(on);
	json_decref(off);
	if (rc != HCR_OK) {
		json_decref(setups);
		return rc;
	}
	*out = json_pack("{s:o}", "clusterLogging", setups);
	return HCR_OK;
}

int hcr_eks_body_logging(json_t **out, json_t *changes, const char *token, hcr_error *err)
{
	json_t *types = NULL, *v, *logging;
	const char *path;
	int rc;

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		if (strcmp(path, "loggingTypes") != 0)
			return hcr_eks_not_part(err, path, "UpdateLogging");
		types = v;
	}
	if (!types)
		return hcr_eks_bad_change(err, "loggingTypes", "is missing");
	rc = hcr_eks_logging(&logging, types, "loggingTypes", err);
	if (rc != HCR_OK)
		return rc;
	*out = json_pack("{s:o}", "logging", logging);
	set_token(*out, token);
	return HCR_OK;
}

/* Whether two arrays of strings hold the same strings, in any order. */
static bool same_set(json_t *a, json_t *b)
{
	json_t *x;
	size_t i, j;

	if (!json_is_array(a) || !json_is_array(b))
		return false;
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(pass ? b : a, i, x)
		{
			json_t *other = pass ? a : b;

			for (j = 0; j < json_array_size(other); j++)
				if (json_equal(x, json_array_get(other, j)))
					break;
			if (j == json_array_size(other))
				return false;
		}
	}
	return true;
}

/* The log types `cluster` has enabled. */
static json_t *enabled_types(json_t *cluster)
{
	json_t *setups = json_object_get(json_object_get(cluster, "logging"), "clusterLogging");
	json_t *out = json_array(), *setup, *t;
	size_t i, j;

	json_array_foreach(setups, i, setup)
	{
		if (!json_is_true(json_object_get(setup, "enabled")))
			continue;
		json_array_foreach(json_object_get(setup, "types"), j, t)
		{
			if (json_is_string(t))
				json_array_append(out, t);
		}
	}
	return out;
}

bool hcr_eks_config_changes(json_t *body, json_t *cluster)
{
	static const char *const members[] = {"endpointPublicAccess", "endpointPrivateAccess",
					      "publicAccessCidrs"};
	json_t *vpc = json_object_get(body, "resourcesVpcConfig");
	json_t *has = json_object_get(cluster, "resourcesVpcConfig");
	json_t *logging = json_object_get(body, "logging");
	size_t i;

	for (i = 0; vpc && i < 3; i++) {
		json_t *want = json_object_get(vpc, members[i]),
		       *now = json_object_get(has, members[i]);

		if (want && now && (i == 2 ? same_set(want, now) : json_equal(want, now)))
			json_object_del(vpc, members[i]);
	}
	if (vpc && json_object_size(vpc) == 0)
		json_object_del(body, "resourcesVpcConfig");
	if (logging) {
		json_t *setups = json_object_get(logging, "clusterLogging"), *setup, *want = NULL;
		json_t *now = enabled_types(cluster);

		json_array_foreach(setups, i, setup)
		{
			if (json_is_true(json_object_get(setup, "enabled")))
				want = json_object_get(setup, "types");
		}
		if (json_object_get(cluster, "logging") &&
		    (want ? same_set(want, now) : json_array_size(now) == 0))
			json_object_del(body, "logging");
		json_decref(now);
	}
	return json_object_get(body, "resourcesVpcConfig") || json_object_get(body, "logging");
}

int hcr_eks_tag_split(json_t **set, json_t **unset, json_t *changes, const char *prefix,
		      hcr_error *err)
{
	size_t n = strlen(prefix);
	const char *path;
	json_t *v;

	*set = json_object();
	*unset = json_array();
	json_object_foreach(changes, path, v)
	{
		const char *key = path + n;
		int rc = HCR_OK;

		if (strncmp(path, prefix, n) != 0 || key[0] != '.' || !key[1])
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					   "change \"%s\" is not a key of \"%s\"", path, prefix);
		else if (json_is_string(v))
			json_object_set(*set, key + 1, v);
		else if (json_is_null(v))
			json_array_append_new(*unset, json_string(key + 1));
		else
			rc = hcr_eks_bad_change(err, path,
						"must be a string, or null to remove it");
		if (rc != HCR_OK) {
			json_decref(*set);
			json_decref(*unset);
			*set = *unset = NULL;
			return rc;
		}
	}
	return HCR_OK;
}

/* ---- node groups ----------------------------------------------------------------------- */

int hcr_eks_check_taints(json_t *taints, const char *path, hcr_error *err)
{
	json_t *t;
	size_t i;

	if (!json_is_array(taints))
		return hcr_eks_bad_change(err, path, "must be an array of {key, value, effect}");
	json_array_foreach(taints, i, t)
	{
		json_t *value = json_object_get(t, "value");
		const char *k;
		json_t *x;

		if (!json_is_object(t) || !json_is_string(json_object_get(t, "key")) ||
		    !json_is_string(json_object_get(t, "effect")) ||
		    (value && !json_is_string(value) && !json_is_null(value)))
			return hcr_eks_bad_change(err, path,
						  "must be an array of {key, value, effect} with "
						  "string values");
		json_object_foreach(t, k, x)
		{
			if (strcmp(k, "key") != 0 && strcmp(k, "value") != 0 &&
			    strcmp(k, "effect") != 0)
				return hcr_eks_bad_change(err, path,
							  "has a taint member other than key, "
							  "value and effect");
		}
	}
	return HCR_OK;
}

/* A taint as EKS takes it: {key, value?, effect}. */
static json_t *taint_copy(json_t *t)
{
	json_t *out = json_pack("{s:O, s:O}", "key", json_object_get(t, "key"), "effect",
				json_object_get(t, "effect"));

	if (json_is_string(json_object_get(t, "value")))
		json_object_set(out, "value", json_object_get(t, "value"));
	return out;
}

/* The taint of `list` with t's key and effect (Kubernetes keys taints by both), or NULL. */
static json_t *taint_find(json_t *list, json_t *t)
{
	const char *key = json_string_value(json_object_get(t, "key"));
	const char *effect = json_string_value(json_object_get(t, "effect"));
	json_t *x;
	size_t i;

	json_array_foreach(list, i, x)
	{
		const char *k = json_string_value(json_object_get(x, "key"));
		const char *e = json_string_value(json_object_get(x, "effect"));

		if (k && e && key && effect && strcmp(k, key) == 0 && strcmp(e, effect) == 0)
			return x;
	}
	return NULL;
}

static bool same_value(json_t *a, json_t *b)
{
	const char *x = json_string_value(json_object_get(a, "value"));
	const char *y = json_string_value(json_object_get(b, "value"));

	return strcmp(x ? x : "", y ? y : "") == 0;
}

/* {addOrUpdateTaints, removeTaints} taking `current` to `desired`; NULL when they agree. */
static json_t *taint_diff(json_t *desired, json_t *current)
{
	json_t *add = json_array(), *remove = json_array(), *t, *out = NULL;
	size_t i;

	json_array_foreach(desired, i, t)
	{
		json_t *had = taint_find(current, t);

		if (!had || !same_value(had, t))
			json_array_append_new(add, taint_copy(t));
	}
	json_array_foreach(current, i, t)
	{
		if (json_is_object(t) && !taint_find(desired, t))
			json_array_append_new(remove, taint_copy(t));
	}
	if (json_array_size(add) || json_array_size(remove)) {
		out = json_object();
		if (json_array_size(add))
			json_object_set(out, "addOrUpdateTaints", add);
		if (json_array_size(remove))
			json_object_set(out, "removeTaints", remove);
	}
	json_decref(add);
	json_decref(remove);
	return out;
}

static int size_change(json_t *scaling, const char *sub, json_t *v, const char *path,
		       hcr_error *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000)
		return hcr_eks_bad_change(err, path, "must be a whole number of nodes");
	json_object_set(scaling, sub, v);
	return HCR_OK;
}

/* Sorts one change of UpdateNodegroupConfig into scaling, label adds or label removals. */
static int config_change(json_t *scaling, json_t *add, json_t *remove, json_t **taints,
			 json_t *current_labels, const char *path, const char *sub, json_t *v,
			 hcr_error *err)
{
	if (strcmp(sub, "desiredSize") == 0 || strcmp(sub, "minSize") == 0 ||
	    strcmp(sub, "maxSize") == 0)
		return size_change(scaling, sub, v, path, err);
	if (strcmp(sub, "taints") == 0) {
		int rc = hcr_eks_check_taints(v, path, err);

		*taints = v;
		return rc;
	}
	if (strncmp(sub, "labels.", 7) == 0 && sub[7]) {
		json_t *had = json_object_get(current_labels, sub + 7);

		if (json_is_string(v) && !(had && json_equal(had, v)))
			json_object_set(add, sub + 7, v);
		else if (json_is_string(v))
			return HCR_OK; /* EKS has it already */
		else if (!json_is_null(v))
			return hcr_eks_bad_change(err, path,
						  "must be a string, or null to remove it");
		else if (had)
			/* EKS refuses to remove what is not there; not there is done. */
			json_array_append_new(remove, json_string(sub + 7));
		return HCR_OK;
	}
	return hcr_eks_not_part(err, path, "UpdateNodegroupConfig");
}

int hcr_eks_body_nodegroup_config(json_t **out, json_t *changes, const char *pool, json_t *current,
				  const char *token, hcr_error *err)
{
	static const char *const sizes[] = {"desiredSize", "minSize", "maxSize"};
	json_t *scaling = json_object(), *add = json_object(), *remove = json_array();
	json_t *taints = NULL, *body = json_object(), *v, *diff;
	json_t *cur_scaling = json_object_get(current, "scalingConfig");
	const char *path, *sub;
	int rc = HCR_OK;
	size_t i;

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		sub = hcr_eks_pool_sub(path, pool);
		rc = sub ? config_change(scaling, add, remove, &taints,
					 json_object_get(current, "labels"), path, sub, v, err)
			 : hcr_eks_not_part(err, path, "UpdateNodegroupConfig");
		if (rc != HCR_OK)
			goto done;
	}
	if (json_object_size(scaling)) {
		bool same = true;

		/* EKS wants all three sizes whenever one changes. */
		for (i = 0; i < 3; i++) {
			json_t *had = json_object_get(cur_scaling, sizes[i]);

			if (!json_object_get(scaling, sizes[i]) && json_is_integer(had))
				json_object_set(scaling, sizes[i], had);
			same = same && had && json_equal(had, json_object_get(scaling, sizes[i]));
		}
		if (!same)
			json_object_set(body, "scalingConfig", scaling);
	}
	if (json_object_size(add) || json_array_size(remove)) {
		json_t *labels = json_object();

		if (json_object_size(add))
			json_object_set(labels, "addOrUpdateLabels", add);
		if (json_array_size(remove))
			json_object_set(labels, "removeLabels", remove);
		json_object_set_new(body, "labels", labels);
	}
	if (taints) {
		json_t *cur = json_object_get(current, "taints");

		diff = taint_diff(taints, json_is_array(cur) ? cur : NULL);
		if (diff)
			json_object_set_new(body, "taints", diff);
	}
	if (json_object_size(body)) {
		set_token(body, token);
		*out = json_incref(body);
	}
done:
	json_decref(scaling);
	json_decref(add);
	json_decref(remove);
	json_decref(body);
	return rc;
}

int hcr_eks_launch_template(json_t **out, json_t *lt, const char *path, hcr_error *err)
{
	json_t *id = json_object_get(lt, "id"), *name = json_object_get(lt, "name");
	json_t *version = json_object_get(lt, "version");

	*out = NULL;
	if (!json_is_object(lt) || (id && !json_is_string(id) && !json_is_null(id)) ||
	    (name && !json_is_string(name) && !json_is_null(name)))
		return hcr_eks_bad_change(err, path, "must be {id or name, version}");
	if (!json_is_string(id) && !json_is_string(name))
		return hcr_eks_bad_change(err, path, "needs the launch template's id or name");
	/* EKS takes the id or the name, not both; EKS reports both. */
	*out = json_is_string(id) ? json_pack("{s:O}", "id", id) : json_pack("{s:O}", "name", name);
	if (json_is_integer(version) && json_integer_value(version) > 0) {
		char text[24];

		snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(version));
		json_object_set_new(*out, "version", json_string(text));
	} else if (json_is_string(version) && json_string_length(version)) {
		json_object_set(*out, "version", version);
	} else if (version && !json_is_null(version)) {
		json_decref(*out);
		*out = NULL;
		return hcr_eks_bad_change(
			err, path, "has a version that is not a positive number or a string");
	}
	return HCR_OK;
}

int hcr_eks_body_nodegroup_version(json_t **out, json_t *changes, const char *pool,
				   const char *token, hcr_error *err)
{
	json_t *body = json_object(), *v, *lt;
	const char *path, *sub;
	int rc = HCR_OK;

	*out = NULL;
	json_object_foreach(changes, path, v)
	{
		sub = hcr_eks_pool_sub(path, pool);
		if (sub && strcmp(sub, "version") == 0) {
			if (!json_is_string(v) || !json_string_length(v))
				rc = hcr_eks_bad_change(err, path, "must be a version string");
			else
				json_object_set(body, "version", v);
		} else if (sub && strcmp(sub, "launchTemplate") == 0) {
			rc = hcr_eks_launch_template(&lt, v, path, err);
			if (rc == HCR_OK)
				json_object_set_new(body, "launchTemplate", lt);
		} else {
			rc = hcr_eks_not_part(err, path, "UpdateNodegroupVersion");
		}
		if (rc != HCR_OK) {
			json_decref(body);
			return rc;
		}
	}
	if (json_object_size(body) == 0) {
		json_decref(body);
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "operation UpdateNodegroupVersion has no version or launch "
				     "template to change");
	}
	set_token(body, token);
	*out = body;
	return HCR_OK;
}
