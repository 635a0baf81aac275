/*
 * Creation bodies: CreateCluster from a desired cluster document and
 * CreateNodegroup from a desired node group, both in the catalog's (Rancher's)
 * names. Everything is checked before anything is sent: a document EKS would
 * refuse, or one whose fields hcr would silently drop, fails with HCR_EINVALID
 * naming the field.
 *
 * Choices worth knowing:
 *  - amiType follows gpu/arm, with Amazon Linux 2023 images from Kubernetes
 *    1.30 on (EKS's own default there; AL2 ends with 1.32) and AL2 before;
 *    neither set leaves the choice to EKS;
 *  - a node group without subnets gets the cluster's;
 *  - imageId is refused: EKS takes a custom AMI only through a launch template,
 *    and hcr does not create launch templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eks_int.h"
#include "hcr/mem.h"
#include "hcr/provider_eks.h"

static int refuse(hcr_error *err, const char *where, const char *field, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s%s\" %s", where, field,
			     what);
}

/* v is absent or JSON null. */
static bool absent(json_t *v)
{
	return !v || json_is_null(v);
}

static int want_string(json_t *v, const char *where, const char *field, hcr_error *err)
{
	if (!absent(v) && (!json_is_string(v) || !json_string_length(v)))
		return refuse(err, where, field, "must be a non-empty string");
	return HCR_OK;
}

static int want_bool(json_t *v, const char *where, const char *field, hcr_error *err)
{
	if (!absent(v) && !json_is_boolean(v))
		return refuse(err, where, field, "must be true or false");
	return HCR_OK;
}

static int want_strings(json_t *v, const char *where, const char *field, hcr_error *err)
{
	hcr_error inner;

	if (!absent(v) && hcr_eks_strings(v, field, &inner) != HCR_OK)
		return refuse(err, where, field, "must be an array of strings");
	return HCR_OK;
}

/* A map of strings without its null entries (a new object), or an error. */
static int string_map(json_t **out, json_t *v, const char *where, const char *field, hcr_error *err)
{
	const char *k;
	json_t *x;

	*out = NULL;
	if (absent(v))
		return HCR_OK;
	if (!json_is_object(v))
		return refuse(err, where, field, "must be an object of strings");
	*out = json_object();
	json_object_foreach(v, k, x)
	{
		if (json_is_string(x)) {
			json_object_set(*out, k, x);
		} else if (!json_is_null(x)) {
			json_decref(*out);
			*out = NULL;
			return refuse(err, where, field, "must be an object of strings");
		}
	}
	return HCR_OK;
}

static void set_if(json_t *body, const char *key, json_t *v)
{
	if (!absent(v))
		json_object_set(body, key, v);
}

/* ---- clusters -------------------------------------------------------------------------- */

static const char *const cluster_keys[] = {"kubernetesVersion",
					   "tags",
					   "publicAccess",
					   "privateAccess",
					   "publicAccessSources",
					   "loggingTypes",
					   "subnets",
					   "securityGroups",
					   "serviceRole",
					   "secretsEncryption",
					   "kmsKey",
					   "ipFamily",
					   "nodeGroups",
					   "ebsCSIDriver",
					   NULL};

static bool known(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

static int check_cluster(json_t *c, const char *w, hcr_error *err)
{
	static const char *const strings[] = {"kubernetesVersion", "serviceRole", "kmsKey",
					      "ipFamily"};
	static const char *const bools[] = {"publicAccess", "privateAccess", "secretsEncryption",
					    "ebsCSIDriver"};
	static const char *const lists[] = {"publicAccessSources", "subnets", "securityGroups"};
	const char *k;
	json_t *v;
	size_t i;
	int rc = HCR_OK;

	json_object_foreach(c, k, v)
	{
		if (!known(k, cluster_keys))
			return refuse(err, w, k, "is not an EKS cluster field hcr can create");
	}
	for (i = 0; rc == HCR_OK && i < 4; i++)
		rc = want_string(json_object_get(c, strings[i]), w, strings[i], err);
	for (i = 0; rc == HCR_OK && i < 4; i++)
		rc = want_bool(json_object_get(c, bools[i]), w, bools[i], err);
	for (i = 0; rc == HCR_OK && i < 3; i++)
		rc = want_strings(json_object_get(c, lists[i]), w, lists[i], err);
	if (rc != HCR_OK)
		return rc;
	if (absent(json_object_get(c, "serviceRole")))
		return refuse(err, w, "serviceRole",
			      "is required to create an EKS cluster (the cluster's IAM role ARN)");
	if (json_array_size(json_object_get(c, "subnets")) == 0)
		return refuse(err, w, "subnets",
			      "is required to create an EKS cluster (at least two subnet ids in "
			      "different availability zones)");
	if (json_is_true(json_object_get(c, "ebsCSIDriver")))
		return refuse(err, w, "ebsCSIDriver",
			      "is not supported yet: hcr does not install EKS add-ons");
	return HCR_OK;
}

static json_t *vpc_config(json_t *c)
{
	json_t *vpc = json_object();

	set_if(vpc, "subnetIds", json_object_get(c, "subnets"));
	set_if(vpc, "securityGroupIds", json_object_get(c, "securityGroups"));
	set_if(vpc, "endpointPublicAccess", json_object_get(c, "publicAccess"));
	set_if(vpc, "endpointPrivateAccess", json_object_get(c, "privateAccess"));
	set_if(vpc, "publicAccessCidrs", json_object_get(c, "publicAccessSources"));
	return vpc;
}

/* encryptionConfig, when secrets are to be encrypted; *out NULL when not. */
static int encryption(json_t **out, json_t *c, const char *w, hcr_error *err)
{
	json_t *on = json_object_get(c, "secretsEncryption"), *key = json_object_get(c, "kmsKey");

	*out = NULL;
	if (json_is_true(on) && absent(key))
		return refuse(err, w, "kmsKey",
			      "is required when secretsEncryption is true (a KMS key ARN)");
	if (json_is_false(on) && !absent(key))
		return refuse(err, w, "kmsKey", "is set but secretsEncryption is false");
	if (!absent(key))
		*out = json_pack("[{s:[s], s:{s:O}}]", "resources", "secrets", "provider", "keyArn",
				 key);
	return HCR_OK;
}

static int create_cluster(json_t **out, const char *name, json_t *config, const char *token,
			  const char *w, hcr_error *err)
{
	char path[64];
	json_t *body, *v;
	int rc;

	*out = NULL;
	if (!hcr_eks_valid_name(name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid EKS cluster name", name ? name : "");
	if (!json_is_object(config))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the cluster's configuration must be an object");
	rc = check_cluster(config, w, err);
	if (rc != HCR_OK)
		return rc;
	body = json_pack("{s:s, s:O, s:o}", "name", name, "roleArn",
			 json_object_get(config, "serviceRole"), "resourcesVpcConfig",
			 vpc_config(config));
	set_if(body, "version", json_object_get(config, "kubernetesVersion"));
	v = json_object_get(config, "loggingTypes");
	if (!absent(v)) {
		snprintf(path, sizeof(path), "%sloggingTypes", w);
		rc = hcr_eks_logging(&v, v, path, err);
		if (rc != HCR_OK)
			goto fail;
		json_object_set_new(body, "logging", v);
	}
	if ((rc = string_map(&v, json_object_get(config, "tags"), w, "tags", err)))
		goto fail;
	if (json_object_size(v))
		json_object_set(body, "tags", v);
	json_decref(v);
	if ((rc = encryption(&v, config, w, err)))
		goto fail;
	if (v)
		json_object_set_new(body, "encryptionConfig", v);
	v = json_object_get(config, "ipFamily");
	if (!absent(v))
		json_object_set_new(body, "kubernetesNetworkConfig",
				    json_pack("{s:O}", "ipFamily", v));
	if (token && *token)
		json_object_set_new(body, "clientRequestToken", json_string(token));
	*out = body;
	return HCR_OK;
fail:
	json_decref(body);
	return rc;
}

int hcr_eks_body_create_cluster(json_t **out, const char *name, json_t *config, const char *token,
				hcr_error *err)
{
	return create_cluster(out, name, config, token, "", err);
}

/* ---- node groups ----------------------------------------------------------------------- */

static const char *const pool_keys[] = {"nodegroupName",
					"desiredSize",
					"minSize",
					"maxSize",
					"labels",
					"taints",
					"tags",
					"version",
					"launchTemplate",
					"instanceType",
					"diskSize",
					"subnets",
					"nodeRole",
					"requestSpotInstances",
					"spotInstanceTypes",
					"gpu",
					"arm",
					"ec2SshKey",
					"imageId",
					NULL};

static int want_size(json_t *v, const char *where, const char *field, hcr_error *err)
{
	if (!absent(v) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000))
		return refuse(err, where, field, "must be a whole number");
	return HCR_OK;
}

static int check_pool(json_t *p, const char *w, hcr_error *err)
{
	static const char *const strings[] = {"version", "instanceType", "nodeRole", "ec2SshKey"};
	static const char *const bools[] = {"requestSpotInstances", "gpu", "arm"};
	static const char *const sizes[] = {"desiredSize", "minSize", "maxSize", "diskSize"};
	const char *k;
	json_t *v;
	size_t i;
	int rc = HCR_OK;

	json_object_foreach(p, k, v)
	{
		if (!known(k, pool_keys))
			return refuse(err, w, k, "is not an EKS node group field hcr can create");
	}
	for (i = 0; rc == HCR_OK && i < 4; i++)
		rc = want_string(json_object_get(p, strings[i]), w, strings[i], err);
	for (i = 0; rc == HCR_OK && i < 3; i++)
		rc = want_bool(json_object_get(p, bools[i]), w, bools[i], err);
	for (i = 0; rc == HCR_OK && i < 4; i++)
		rc = want_size(json_object_get(p, sizes[i]), w, sizes[i], err);
	if (rc == HCR_OK)
		rc = want_strings(json_object_get(p, "subnets"), w, "subnets", err);
	if (rc == HCR_OK)
		rc = want_strings(json_object_get(p, "spotInstanceTypes"), w, "spotInstanceTypes",
				  err);
	if (rc != HCR_OK)
		return rc;
	if (absent(json_object_get(p, "nodeRole")))
		return refuse(err, w, "nodeRole",
			      "is required to create an EKS node group (the nodes' IAM role ARN)");
	if (!absent(json_object_get(p, "imageId")))
		return refuse(err, w, "imageId",
			      "cannot be set: EKS takes a custom AMI only through a launch "
			      "template; set launchTemplate instead");
	return HCR_OK;
}

/* The amiType for gpu/arm at Kubernetes `version`, or NULL to let EKS choose. */
static const char *ami_type(bool gpu, bool arm, const char *version, hcr_error *err, const char *w,
			    int *rc)
{
	int cmp = -1;
	/* Unknown (a check before the cluster was described): today's default. */
	bool al2023 = !version || (hcr_version_compare(version, "1.30", &cmp) && cmp >= 0);

	*rc = HCR_OK;
	if (!gpu && !arm)
		return NULL;
	if (al2023)
		return gpu && arm ? "AL2023_ARM_64_NVIDIA"
		       : gpu      ? "AL2023_x86_64_NVIDIA"
				  : "AL2023_ARM_64_STANDARD";
	if (gpu && arm) {
		*rc = refuse(err, w, "gpu",
			     "and arm together need Kubernetes 1.30 or later (AL2023 images)");
		return NULL;
	}
	return gpu ? "AL2_x86_64_GPU" : "AL2_ARM_64";
}

static json_t *scaling_config(json_t *p)
{
	json_t *s = json_object();

	set_if(s, "minSize", json_object_get(p, "minSize"));
	set_if(s, "maxSize", json_object_get(p, "maxSize"));
	set_if(s, "desiredSize", json_object_get(p, "desiredSize"));
	return s;
}

/* instanceTypes and capacityType. */
static void instances(json_t *body, json_t *p)
{
	json_t *spot_types = json_object_get(p, "spotInstanceTypes");
	json_t *type = json_object_get(p, "instanceType");

	if (json_is_true(json_object_get(p, "requestSpotInstances"))) {
		json_object_set_new(body, "capacityType", json_string("SPOT"));
		if (json_array_size(spot_types))
			json_object_set(body, "instanceTypes", spot_types);
		else if (json_is_string(type))
			json_object_set_new(body, "instanceTypes", json_pack("[O]", type));
	} else if (json_is_string(type)) {
		json_object_set_new(body, "instanceTypes", json_pack("[O]", type));
	}
}

/* labels, tags, taints, launch template and AMI type. */
static int pool_extras(json_t *body, json_t *p, json_t *cluster, const char *w, hcr_error *err)
{
	json_t *v = NULL;
	const char *version, *ami;
	char where[200];
	int rc;

	if ((rc = string_map(&v, json_object_get(p, "labels"), w, "labels", err)))
		return rc;
	if (json_object_size(v))
		json_object_set(body, "labels", v);
	json_decref(v);
	if ((rc = string_map(&v, json_object_get(p, "tags"), w, "tags", err)))
		return rc;
	if (json_object_size(v))
		json_object_set(body, "tags", v);
	json_decref(v);
	snprintf(where, sizeof(where), "%staints", w);
	v = json_object_get(p, "taints");
	if (!absent(v) && (rc = hcr_eks_check_taints(v, where, err)))
		return rc;
	if (json_array_size(v))
		json_object_set(body, "taints", v);
	snprintf(where, sizeof(where), "%slaunchTemplate", w);
	v = json_object_get(p, "launchTemplate");
	if (!absent(v)) {
		if ((rc = hcr_eks_launch_template(&v, v, where, err)))
			return rc;
		json_object_set_new(body, "launchTemplate", v);
	}
	version = json_string_value(json_object_get(p, "version"));
	if (!version)
		version = json_string_value(json_object_get(cluster, "version"));
	ami = ami_type(json_is_true(json_object_get(p, "gpu")),
		       json_is_true(json_object_get(p, "arm")), version, err, w, &rc);
	if (rc != HCR_OK)
		return rc;
	if (ami)
		json_object_set_new(body, "amiType", json_string(ami));
	return HCR_OK;
}

static int create_nodegroup(json_t **out, const char *pool, json_t *pool_doc, json_t *cluster,
			    const char *token, const char *prefix, hcr_error *err)
{
	json_t *body, *subnets, *scaling, *v;
	const char *named = json_string_value(json_object_get(pool_doc, "nodegroupName"));
	char w[160];
	int rc;

	*out = NULL;
	if (!hcr_eks_valid_name(pool) || strlen(pool) > 63)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "\"%s\" is not a valid EKS node group name", pool ? pool : "");
	snprintf(w, sizeof(w), "%snodeGroups[%s].", prefix, pool);
	if (!json_is_object(pool_doc))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "node group \"%s\" must be an object", pool);
	if (named && strcmp(named, pool) != 0)
		return refuse(err, w, "nodegroupName", "does not match the node group's name");
	rc = check_pool(pool_doc, w, err);
	if (rc != HCR_OK)
		return rc;
	subnets = json_object_get(pool_doc, "subnets");
	if (json_array_size(subnets) == 0)
		subnets = json_object_get(json_object_get(cluster, "resourcesVpcConfig"),
					  "subnetIds");
	if (json_array_size(subnets) == 0)
		return refuse(err, w, "subnets",
			      "is required: neither the node group nor its cluster has subnets");
	body = json_pack("{s:s, s:O, s:O}", "nodegroupName", pool, "nodeRole",
			 json_object_get(pool_doc, "nodeRole"), "subnets", subnets);
	scaling = scaling_config(pool_doc);
	if (json_object_size(scaling))
		json_object_set(body, "scalingConfig", scaling);
	json_decref(scaling);
	instances(body, pool_doc);
	set_if(body, "diskSize", json_object_get(pool_doc, "diskSize"));
	set_if(body, "version", json_object_get(pool_doc, "version"));
	v = json_object_get(pool_doc, "ec2SshKey");
	if (!absent(v))
		json_object_set_new(body, "remoteAccess", json_pack("{s:O}", "ec2SshKey", v));
	rc = pool_extras(body, pool_doc, cluster, w, err);
	if (rc != HCR_OK) {
		json_decref(body);
		return rc;
	}
	if (token && *token)
		json_object_set_new(body, "clientRequestToken", json_string(token));
	*out = body;
	return HCR_OK;
}

int hcr_eks_body_create_nodegroup(json_t **out, const char *pool, json_t *pool_doc, json_t *cluster,
				  const char *token, hcr_error *err)
{
	return create_nodegroup(out, pool, pool_doc, cluster, token, "", err);
}

int hcr_eks_check_create(json_t *config, hcr_error *err)
{
	json_t *body = NULL, *pools = json_object_get(config, "nodeGroups"), *pool, *stand_in;
	size_t i;
	int rc;

	if (!config)
		return refuse(err, "config.", "serviceRole",
			      "is required to create an EKS cluster (the cluster's IAM role ARN)");
	rc = create_cluster(&body, "check", config, NULL, "config.", err);
	json_decref(body);
	if (rc != HCR_OK)
		return rc;
	if (!absent(pools) && !json_is_array(pools))
		return refuse(err, "config.", "nodeGroups", "must be an array of node groups");
	/* The node groups are created once the cluster is: with its subnets and version. */
	stand_in = json_pack("{s:{s:O}, s:O?}", "resourcesVpcConfig", "subnetIds",
			     json_object_get(config, "subnets"), "version",
			     json_object_get(config, "kubernetesVersion"));
	json_array_foreach(pools, i, pool)
	{
		const char *name = json_string_value(json_object_get(pool, "nodegroupName"));

		if (!name || !hcr_eks_valid_name(name) || strlen(name) > 63) {
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					   "field \"config.nodeGroups[%zu].nodegroupName\" must be "
					   "a valid EKS node group name",
					   i);
			break;
		}
		rc = create_nodegroup(&body, name, pool, stand_in, NULL, "config.", err);
		json_decref(body);
		if (rc != HCR_OK)
			break;
	}
	json_decref(stand_in);
	return rc;
}
