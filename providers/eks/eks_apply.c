/*
 * apply and poll_operation: one planned operation of the engine becomes the
 * EKS calls that make it (see hcr/provider_eks.h for the list), and its
 * handle is followed to its end.
 *
 * Bodies are built, and so checked, before the first call: a change EKS would
 * refuse fails at once with HCR_EINVALID naming its path. Calls that EKS
 * makes idempotent carry hcr's operation id as clientRequestToken, so a
 * resent operation is applied once; the tag calls have no token, and setting
 * a tag twice changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eks_int.h"
#include "hcr/log.h"
#include "hcr/mem.h"

static json_t *done_result(void)
{
	return json_pack("{s:b}", "done", 1);
}

/* ---- updates ------------------------------------------------------------------------------ */

/* An Update* answer: a handle on the update, or done when EKS finished it already. */
static void update_done(eks_job *j, eks_reply *r, intptr_t nodegroup)
{
	json_t *update = json_object_get(r->body, "update");
	const char *id = json_string_value(json_object_get(update, "id"));
	const char *status = json_string_value(json_object_get(update, "status"));
	char *handle;

	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!update) {
		/* moto's UpdateClusterConfig answers {} after applying the change. */
		hcr_log_debug("eks", "no update in the answer; taking it as done op=%s cluster=%s",
			      j->op, j->name);
		hcr_eks_result(j, done_result());
		return;
	}
	if (!json_is_object(update) || !id || !status) {
		hcr_eks_unexpected(j, j->op, NULL, "\"update\" lacks its \"id\" or \"status\"");
		return;
	}
	if (strcmp(status, "Successful") == 0) {
		hcr_eks_result(j, done_result());
		return;
	}
	handle = hcr_eks_handle_format(HCR_EKS_H_UPDATE, nodegroup ? j->pool : NULL, id);
	if (!handle) {
		hcr_eks_unexpected(j, j->op, NULL, "the update id is not one hcr can keep");
		return;
	}
	hcr_eks_result(j, json_pack("{s:s}", "handle", handle));
	free(handle);
}

/* POST of `body` (stolen) to the cluster's `suffix`, or to its node group's when `pool`. */
static void post_update(eks_job *j, const char *op, const char *suffix, bool pool, json_t *body)
{
	char *seg = pool ? hcr_eks_seg(j->pool) : NULL;
	char *path = pool ? hcr_sprintf("/clusters/%s/node-groups/%s%s", j->enc, seg, suffix)
			  : hcr_eks_cluster_path(j, suffix);
	char *target = pool ? hcr_sprintf("%s/%s", j->name, j->pool) : NULL;
	eks_request rq = {op, target, "POST", path, NULL, 0, body};

	hcr_eks_request(j, &rq, update_done, pool);
	json_decref(body);
	free(seg);
	free(path);
	free(target);
}

/*
 * UpdateClusterConfig, minus what the cluster has already: EKS refuses a
 * change to what it has ("No changes needed"), which a resent operation or a
 * list in another order would otherwise meet.
 */
static void cluster_config_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	if (!hcr_eks_take_cluster(j, r))
		return;
	if (!hcr_eks_config_changes(j->extra, j->cluster)) {
		hcr_eks_result(j, done_result());
		return;
	}
	post_update(j, "UpdateClusterConfig", "/update-config", false, json_incref(j->extra));
}

/* ---- tags --------------------------------------------------------------------------------- */

static void tag_done(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	if (r->status != HCR_OK)
		hcr_eks_fail_reply(j, r);
	else
		hcr_eks_result(j, done_result());
}

/* TagResource and UntagResource on `arn`, with j->extra = {"set": {...}, "unset": [...]}. */
static void tag_arn(eks_job *j, const char *arn)
{
	json_t *set = json_object_get(j->extra, "set"), *unset = json_object_get(j->extra, "unset");
	char *seg = hcr_eks_seg(arn), *path = hcr_sprintf("/tags/%s", seg);
	char *target = j->pool ? hcr_sprintf("%s/%s", j->name, j->pool) : NULL;
	hcr_sigv4_param *query;
	size_t i;

	if (json_object_size(set)) {
		json_t *body = json_pack("{s:O}", "tags", set);
		eks_request rq = {"TagResource", target, "POST", path, NULL, 0, body};

		hcr_eks_request(j, &rq, tag_done, 0);
		json_decref(body);
	}
	if (json_array_size(unset)) {
		eks_request rq = {"UntagResource", target, "DELETE", path, NULL, 0, NULL};

		query = hcr_calloc(json_array_size(unset), sizeof(*query));
		for (i = 0; i < json_array_size(unset); i++) {
			query[i].key = "tagKeys";
			query[i].value = json_string_value(json_array_get(unset, i));
		}
		rq.query = query;
		rq.nquery = json_array_size(unset);
		hcr_eks_request(j, &rq, tag_done, 0);
		free(query);
	}
	if (!json_object_size(set) && !json_array_size(unset))
		hcr_eks_result(j, done_result());
	free(seg);
	free(path);
	free(target);
}

static void tag_cluster(eks_job *j, eks_reply *r, intptr_t tag)
{
	const char *arn;

	(void)tag;
	if (!hcr_eks_take_cluster(j, r))
		return;
	arn = json_string_value(json_object_get(j->cluster, "arn"));
	if (!arn || !*arn) {
		hcr_eks_unexpected(j, "DescribeCluster", NULL, "the cluster has no \"arn\"");
		return;
	}
	tag_arn(j, arn);
}

static void tag_nodegroup(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *ng = json_object_get(r->body, "nodegroup");
	const char *arn = json_string_value(json_object_get(ng, "nodegroupArn"));

	(void)tag;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!arn || !*arn) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL,
				   "the node group has no \"nodegroupArn\"");
		return;
	}
	tag_arn(j, arn);
}

/* ---- node groups -------------------------------------------------------------------------- */

static void config_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *ng = json_object_get(r->body, "nodegroup"), *body;
	hcr_error err;

	(void)tag;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(ng)) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL,
				   "\"nodegroup\" is missing or not an object");
		return;
	}
	if (hcr_eks_body_nodegroup_config(&body, j->changes, j->pool, ng, j->token, &err) !=
	    HCR_OK) {
		hcr_eks_fail(j, HCR_EINVALID, &err);
		return;
	}
	if (!body) {
		/* EKS already has every value (labels removed, taints equal): nothing to send. */
		hcr_eks_result(j, done_result());
		return;
	}
	post_update(j, "UpdateNodegroupConfig", "/update-config", true, body);
}

static void nodegroup_created(eks_job *j, eks_reply *r, intptr_t tag)
{
	char *handle;

	(void)tag;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(json_object_get(r->body, "nodegroup"))) {
		hcr_eks_unexpected(j, "CreateNodegroup", NULL, "\"nodegroup\" is missing");
		return;
	}
	handle = hcr_eks_handle_format(HCR_EKS_H_NGCREATE, j->pool, NULL);
	hcr_eks_result(j, json_pack("{s:s}", "handle", handle));
	free(handle);
}

static void create_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	char *path;
	json_t *body;
	hcr_error err;
	eks_request rq = {"CreateNodegroup", NULL, "POST", NULL, NULL, 0, NULL};

	(void)tag;
	if (!hcr_eks_take_cluster(j, r))
		return;
	if (hcr_eks_body_create_nodegroup(&body, j->pool, j->extra, j->cluster, j->token, &err) !=
	    HCR_OK) {
		hcr_eks_fail(j, HCR_EINVALID, &err);
		return;
	}
	rq.path = path = hcr_eks_cluster_path(j, "/node-groups");
	rq.body = body;
	hcr_eks_request(j, &rq, nodegroup_created, 0);
	json_decref(body);
	free(path);
}

static void nodegroup_deleted(eks_job *j, eks_reply *r, intptr_t tag)
{
	char *handle;

	(void)tag;
	if (r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0) {
		hcr_eks_result(j, done_result());
		return;
	}
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	handle = hcr_eks_handle_format(HCR_EKS_H_NGDELETE, j->pool, NULL);
	hcr_eks_result(j, json_pack("{s:s}", "handle", handle));
	free(handle);
}

/*
 * The pool document of a CreateNodegroup ({"nodeGroups[ng]": {...}}) into
 * j->extra, or of a DeleteNodegroup ({"nodeGroups[ng]": null}).
 */
static int pool_change(eks_job *j, bool create, hcr_error *err)
{
	char *path = hcr_sprintf("nodeGroups[%s]", j->pool);
	json_t *v = json_object_get(j->changes, path);
	int rc = HCR_OK;

	if (json_object_size(j->changes) != 1 || !v || (create && !json_is_object(v)) ||
	    (!create && !json_is_null(v)))
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "operation %s takes one change, \"%s\": %s",
				   create ? "CreateNodegroup" : "DeleteNodegroup", path,
				   create ? "the node group" : "null");
	else if (create)
		j->extra = json_incref(v);
	free(path);
	return rc;
}

/* ---- apply -------------------------------------------------------------------------------- */

static int cluster_op(eks_job *j, hcr_error *err)
{
	json_t *body = NULL;
	int rc;

	if (strcmp(j->op, "UpdateClusterVersion") == 0) {
		rc = hcr_eks_body_cluster_version(&body, j->changes, j->token, err);
		if (rc == HCR_OK)
			post_update(j, j->op, "/updates", false, body);
	} else if (strcmp(j->op, "UpdateEndpointAccess") == 0 ||
		   strcmp(j->op, "UpdateLogging") == 0) {
		rc = strcmp(j->op, "UpdateLogging") == 0
			     ? hcr_eks_body_logging(&body, j->changes, j->token, err)
			     : hcr_eks_body_endpoint_access(&body, j->changes, j->token, err);
		if (rc == HCR_OK) {
			/* Sent only once EKS was asked what it has. */
			j->extra = body;
			hcr_eks_describe_cluster(j, cluster_config_described);
		}
	} else if (strcmp(j->op, "TagResource") == 0) {
		json_t *set, *unset;

		rc = hcr_eks_tag_split(&set, &unset, j->changes, "tags", err);
		if (rc == HCR_OK) {
			j->extra = json_pack("{s:o, s:o}", "set", set, "unset", unset);
			hcr_eks_describe_cluster(j, tag_cluster);
		}
	} else {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "operation \"%s\" is not one the EKS provider knows", j->op);
	}
	return rc;
}

static int pool_op(eks_job *j, hcr_error *err)
{
	json_t *body = NULL, *set, *unset;
	char *prefix;
	int rc;

	if (strcmp(j->op, "UpdateNodegroupConfig") == 0) {
		/* Checked now against an empty node group; built for real once described. */
		json_t *none = json_object();

		rc = hcr_eks_body_nodegroup_config(&body, j->changes, j->pool, none, NULL, err);
		json_decref(none);
		json_decref(body);
		if (rc == HCR_OK)
			hcr_eks_describe_nodegroup(j, j->pool, config_described, 0);
	} else if (strcmp(j->op, "UpdateNodegroupVersion") == 0) {
		rc = hcr_eks_body_nodegroup_version(&body, j->changes, j->pool, j->token, err);
		if (rc == HCR_OK)
			post_update(j, j->op, "/update-version", true, body);
	} else if (strcmp(j->op, "TagNodegroup") == 0) {
		prefix = hcr_sprintf("nodeGroups[%s].tags", j->pool);
		rc = hcr_eks_tag_split(&set, &unset, j->changes, prefix, err);
		free(prefix);
		if (rc == HCR_OK) {
			j->extra = json_pack("{s:o, s:o}", "set", set, "unset", unset);
			hcr_eks_describe_nodegroup(j, j->pool, tag_nodegroup, 0);
		}
	} else if (strcmp(j->op, "CreateNodegroup") == 0) {
		/* Checked now (nodeRole, types) with stand-in cluster subnets. */
		json_t *stand_in = json_pack("{s:{s:[s]}}", "resourcesVpcConfig", "subnetIds", "-");

		rc = pool_change(j, true, err);
		if (rc == HCR_OK)
			rc = hcr_eks_body_create_nodegroup(&body, j->pool, j->extra, stand_in, NULL,
							   err);
		json_decref(stand_in);
		json_decref(body);
		if (rc == HCR_OK)
			hcr_eks_describe_cluster(j, create_described);
	} else if (strcmp(j->op, "DeleteNodegroup") == 0) {
		rc = pool_change(j, false, err);
		if (rc == HCR_OK) {
			char *seg = hcr_eks_seg(j->pool);
			char *path = hcr_sprintf("/clusters/%s/node-groups/%s", j->enc, seg);
			char *target = hcr_sprintf("%s/%s", j->name, j->pool);
			eks_request rq = {"DeleteNodegroup", target, "DELETE", path, NULL, 0, NULL};

			hcr_eks_request(j, &rq, nodegroup_deleted, 0);
			free(seg);
			free(path);
			free(target);
		}
	} else {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "operation \"%s\" is not one the EKS provider knows", j->op);
	}
	return rc;
}

static bool pool_operation(const char *op)
{
	return strstr(op, "Nodegroup") != NULL;
}

int hcr_eks_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload)
{
	hcr_error err;
	eks_job *j;
	int rc;

	if (!op || !op->operation || !json_is_object(op->changes)) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				   "a planned operation needs a name and an object of changes");
		return hcr_eks_not_started(rc, &err, "apply");
	}
	if (pool_operation(op->operation) && !hcr_eks_valid_name(op->pool)) {
		rc = hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID,
				   "operation %s needs a valid node group name, not \"%s\"",
				   op->operation, op->pool ? op->pool : "");
		return hcr_eks_not_started(rc, &err, "apply");
	}
	rc = hcr_eks_job_new(&j, p, c, "apply", true, cb, payload, &err);
	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "apply");
	j->op = hcr_strdup(op->operation);
	j->pool = hcr_strdup(op->pool);
	j->token = hcr_strdup(token);
	j->changes = json_incref(op->changes);
	rc = pool_operation(j->op) ? pool_op(j, &err) : cluster_op(j, &err);
	if (rc != HCR_OK) {
		hcr_eks_job_free(j);
		return hcr_eks_not_started(rc, &err, "apply");
	}
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "apply");
}

/* ---- poll_operation ----------------------------------------------------------------------- */

static void polled_update(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *out;
	hcr_error err;

	(void)tag;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (hcr_eks_poll_update(&out, json_object_get(r->body, "update"), &err) != HCR_OK) {
		hcr_eks_unexpected(j, "DescribeUpdate", NULL, "%s", err.detail);
		return;
	}
	hcr_eks_result(j, out);
}

static void polled_nodegroup(eks_job *j, eks_reply *r, intptr_t deleting)
{
	json_t *ng = json_object_get(r->body, "nodegroup"), *out;
	hcr_error err;
	bool gone = r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0;

	if (r->status != HCR_OK && !gone) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!gone && !json_is_object(ng)) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL, "\"nodegroup\" is missing");
		return;
	}
	if (hcr_eks_poll_nodegroup(&out, gone ? NULL : ng, deleting, &err) != HCR_OK) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL, "%s", err.detail);
		return;
	}
	hcr_eks_result(j, out);
}

static void polled_create(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *out;
	hcr_error err;

	(void)tag;
	if (r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0) {
		hcr_eks_result(j, json_pack("{s:s, s:{s:s, s:s}}", "state", "failed", "error",
					    "code", "ClusterNotFound", "message",
					    "the cluster vanished while it was being created"));
		return;
	}
	if (!hcr_eks_take_cluster(j, r))
		return;
	if (hcr_eks_poll_cluster_create(&out, j->cluster, &err) != HCR_OK) {
		hcr_eks_unexpected(j, "DescribeCluster", NULL, "%s", err.detail);
		return;
	}
	hcr_eks_result(j, out);
}

static void poll_update(eks_job *j, const hcr_eks_handle *h)
{
	char *seg = hcr_eks_seg(h->id), *base = hcr_eks_cluster_path(j, "/updates/");
	char *path = hcr_sprintf("%s%s", base, seg);
	hcr_sigv4_param query[1] = {{"nodegroupName", h->name}};
	eks_request rq = {"DescribeUpdate", NULL, "GET", path, query, h->name[0] ? 1 : 0, NULL};

	hcr_eks_request(j, &rq, polled_update, 0);
	free(seg);
	free(base);
	free(path);
}

int hcr_eks_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload)
{
	hcr_eks_handle h;
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_handle_parse(&h, handle, &err);

	if (rc == HCR_OK)
		rc = hcr_eks_job_new(&j, p, c, "poll_operation", true, cb, payload, &err);
	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "poll_operation");
	switch (h.kind) {
	case HCR_EKS_H_UPDATE:
		poll_update(j, &h);
		break;
	case HCR_EKS_H_NGCREATE:
	case HCR_EKS_H_NGDELETE:
		hcr_eks_describe_nodegroup(j, h.name, polled_nodegroup,
					   h.kind == HCR_EKS_H_NGDELETE);
		break;
	case HCR_EKS_H_CREATE:
	case HCR_EKS_H_DELETE:
		/* The cluster the handle names, which hcr gave it when it was created. */
		free(j->name);
		free(j->enc);
		j->name = hcr_strdup(h.name);
		j->enc = hcr_eks_seg(h.name);
		if (h.kind == HCR_EKS_H_CREATE) {
			hcr_eks_describe_cluster(j, polled_create);
		} else {
			j->flag = true; /* polling: states, not handles */
			hcr_eks_delete_step(j);
		}
		break;
	}
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "poll_operation");
}
