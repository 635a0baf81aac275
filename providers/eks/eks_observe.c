/*
 * observe: what EKS says about one cluster, as hcr's document and a busy flag.
 *
 * DescribeCluster, then ListNodegroups (every page) with a DescribeNodegroup
 * for each name as its page arrives, and, unless providers.eks.list_updates is
 * off, ListUpdates (every page) with a DescribeUpdate for each update not yet
 * known to be finished. The update ids known to be finished are cached per
 * cluster ARN in the instance, so a steady poll costs one ListUpdates call and
 * no DescribeUpdate: EKS keeps a cluster's updates listed for good, and
 * without the cache every poll would describe every update ever made.
 *
 * An update InProgress makes the cluster busy even while EKS still says
 * ACTIVE, which it does for a while after accepting a change
 * (rancher/eks-operator#752). Only the cluster's own updates are listed; a
 * node group being updated is seen in its status (UPDATING).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eks_int.h"
#include "hcr/mem.h"

/* ---- the cache of finished updates ------------------------------------------------------ */

struct uc_entry {
	struct uc_entry *hnext;       /* hash chain */
	struct uc_entry *prev, *next; /* recency list, most recent first */
	char *arn;
	uint64_t key;
	uint64_t *ids; /* hashes; a ring once full */
	size_t n, cap, head;
};

struct hcr_eks_ucache {
	size_t max_clusters, per_cluster, count, nbuckets;
	struct uc_entry **buckets;
	struct uc_entry *first, *last;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

hcr_eks_ucache *hcr_eks_ucache_new(size_t max_clusters, size_t per_cluster)
{
	hcr_eks_ucache *c = hcr_calloc(1, sizeof(*c));

	c->max_clusters = max_clusters ? max_clusters : 1;
	c->per_cluster = per_cluster ? per_cluster : 1;
	for (c->nbuckets = 16; c->nbuckets < c->max_clusters && c->nbuckets < (1u << 20);)
		c->nbuckets *= 2;
	c->buckets = hcr_calloc(c->nbuckets, sizeof(struct uc_entry *));
	return c;
}

static void unlink_lru(hcr_eks_ucache *c, struct uc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->last = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(hcr_eks_ucache *c, struct uc_entry *e)
{
	e->next = c->first;
	e->prev = NULL;
	if (c->first)
		c->first->prev = e;
	c->first = e;
	if (!c->last)
		c->last = e;
}

static void entry_free(struct uc_entry *e)
{
	free(e->arn);
	free(e->ids);
	free(e);
}

void hcr_eks_ucache_free(hcr_eks_ucache *c)
{
	struct uc_entry *e, *next;

	if (!c)
		return;
	for (e = c->first; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(c->buckets);
	free(c);
}

/* The entry of `arn` (moved to the front), or NULL. */
static struct uc_entry *find(hcr_eks_ucache *c, const char *arn, uint64_t key)
{
	struct uc_entry *e;

	for (e = c->buckets[key & (c->nbuckets - 1)]; e; e = e->hnext) {
		if (e->key == key && strcmp(e->arn, arn) == 0) {
			unlink_lru(c, e);
			push_front(c, e);
			return e;
		}
	}
	return NULL;
}

static void evict_last(hcr_eks_ucache *c)
{
	struct uc_entry *e = c->last, **pp;

	for (pp = &c->buckets[e->key & (c->nbuckets - 1)]; *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	unlink_lru(c, e);
	entry_free(e);
	c->count--;
}

static bool entry_has(const struct uc_entry *e, uint64_t h)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->ids[i] == h)
			return true;
	return false;
}

bool hcr_eks_ucache_has(hcr_eks_ucache *c, const char *arn, const char *id)
{
	struct uc_entry *e = find(c, arn, fnv1a(arn));

	return e && entry_has(e, fnv1a(id));
}

void hcr_eks_ucache_add(hcr_eks_ucache *c, const char *arn, const char *id)
{
	uint64_t key = fnv1a(arn), h = fnv1a(id);
	struct uc_entry *e = find(c, arn, key);

	if (!e) {
		if (c->count >= c->max_clusters)
			evict_last(c);
		e = hcr_calloc(1, sizeof(*e));
		e->arn = hcr_strdup(arn);
		e->key = key;
		e->hnext = c->buckets[key & (c->nbuckets - 1)];
		c->buckets[key & (c->nbuckets - 1)] = e;
		push_front(c, e);
		c->count++;
	}
	if (entry_has(e, h))
		return;
	if (e->n < c->per_cluster) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 16;
			if (e->cap > c->per_cluster)
				e->cap = c->per_cluster;
			e->ids = hcr_realloc(e->ids, e->cap * sizeof(*e->ids));
		}
		e->ids[e->n++] = h;
		return;
	}
	/* Full: the oldest goes. */
	e->ids[e->head] = h;
	e->head = (e->head + 1) % c->per_cluster;
}

size_t hcr_eks_ucache_clusters(const hcr_eks_ucache *c)
{
	return c ? c->count : 0;
}

/* ---- observe ----------------------------------------------------------------------------- */

/* The cache's key for the job's cluster: its ARN, else region and name. */
static const char *cache_key(eks_job *j)
{
	const char *arn = json_string_value(json_object_get(j->cluster, "arn"));

	if (arn && *arn)
		return arn;
	if (!j->op)
		j->op = hcr_sprintf("%s/%s", j->region, j->name);
	return j->op;
}

static void observe_nodegroup(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *ng = json_object_get(r->body, "nodegroup");

	(void)tag;
	/* Deleted between the list and now: it is not part of the cluster any more. */
	if (r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0)
		return;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(ng)) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL,
				   "\"nodegroup\" is missing or not an object");
		return;
	}
	json_array_append(j->nodegroups, ng);
}

static void observe_nodegroup_name(eks_job *j, const char *name)
{
	if (!hcr_eks_valid_name(name)) {
		hcr_eks_unexpected(j, "ListNodegroups", NULL, "a node group name is not valid");
		return;
	}
	hcr_eks_describe_nodegroup(j, name, observe_nodegroup, 0);
}

static void observe_update(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *update = json_object_get(r->body, "update");
	const char *id = json_string_value(json_array_get(j->names, (size_t)tag));
	const char *status = json_string_value(json_object_get(update, "status"));

	if (r->status == HCR_ENOTFOUND && r->code[0])
		return;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(update) || !status) {
		hcr_eks_unexpected(j, "DescribeUpdate", NULL,
				   "\"update\" or its \"status\" is missing");
		return;
	}
	if (strcmp(status, "InProgress") == 0)
		j->flag = true;
	else if (id)
		hcr_eks_ucache_add(j->ep->updates, cache_key(j), id);
}

static void observe_update_id(eks_job *j, const char *id)
{
	char *seg, *path, *target;
	eks_request rq = {"DescribeUpdate", NULL, "GET", NULL, NULL, 0, NULL};

	if (hcr_eks_ucache_has(j->ep->updates, cache_key(j), id))
		return;
	json_array_append_new(j->names, json_string(id));
	seg = hcr_eks_seg(id);
	path = hcr_eks_cluster_path(j, "/updates/");
	rq.path = target = hcr_sprintf("%s%s", path, seg);
	hcr_eks_request(j, &rq, observe_update, (intptr_t)json_array_size(j->names) - 1);
	free(seg);
	free(path);
	free(target);
}

static void observe_done(eks_job *j)
{
	json_t *doc;
	hcr_error err;
	int rc = hcr_eks_normalise(&doc, j->cluster, j->nodegroups, &err);

	if (rc != HCR_OK) {
		hcr_error_set(&err, rc, HCR_ERR_UNAVAILABLE,
			      "unexpected response from EKS for DescribeCluster %s", j->name);
		hcr_eks_fail(j, rc, &err);
		return;
	}
	hcr_eks_result(j, json_pack("{s:b, s:b, s:o}", "exists", 1, "busy",
				    j->flag || hcr_eks_busy(j->cluster, j->nodegroups), "document",
				    doc));
}

static void observe_cluster(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	/*
	 * Only EKS's own "no such cluster" means that it does not exist: a 404
	 * from a wrong endpoint or a proxy must not make hcr think it vanished.
	 */
	if (r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0) {
		hcr_eks_result(j, json_pack("{s:b, s:b}", "exists", 0, "busy", 0));
		return;
	}
	if (!hcr_eks_take_cluster(j, r))
		return;
	j->nodegroups = json_array();
	j->names = json_array();
	hcr_eks_list(j, 0, "ListNodegroups", hcr_eks_cluster_path(j, "/node-groups"), "nodegroups",
		     observe_nodegroup_name);
	if (j->ep->list_updates)
		hcr_eks_list(j, 1, "ListUpdates", hcr_eks_cluster_path(j, "/updates"), "updateIds",
			     observe_update_id);
	j->next = observe_done;
}

int hcr_eks_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_job_new(&j, p, c, "observe", true, cb, payload, &err);

	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "observe");
	hcr_eks_describe_cluster(j, observe_cluster);
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "observe");
}
