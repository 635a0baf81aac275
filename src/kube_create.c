/*
 * Creating in a target cluster what is missing there, and making chosen
 * objects match the source (hcr_cmp_write in hcr/kube_compare.h;
 * docs/sync/compare.md).
 *
 * A run has two phases. The plan is read-only: it resolves what to write,
 * finds which target namespaces are missing, and checks that the target
 * serves every kind or will once a CRD of the plan is created. A plan that
 * cannot work (a custom resource whose CRD is neither in the target nor in
 * the plan) fails there, before anything is written. Then the writes run in
 * dependency order, one object at a time, each read from the source just
 * before it is written, so that only one object is held at a time.
 *
 * A create is a POST: it cannot overwrite, and AlreadyExists is a result
 * ("exists"), not an error. An update is a PUT with the target's
 * resourceVersion, so a change made in between fails instead of being lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_compare.h"
#include "hcr/kube_norm.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "kube_int.h"

#define CRD_GROUP          "apiextensions.k8s.io"
#define CRD_KIND           "CustomResourceDefinition"
#define DEFAULT_CRD_WAIT   60000
#define CRD_POLL_MS        100
#define MAX_SELECTED_BYTES 1024

/*
 * The create order (docs/sync/compare.md): what others need first. Kinds not
 * listed go where "*" is; webhooks and API services go last, because a
 * webhook whose service is not running yet would refuse every later create.
 */
static const struct {
	const char *group, *kind;
} order[] = {
	{"", "Namespace"},
	{CRD_GROUP, CRD_KIND},
	{"scheduling.k8s.io", "PriorityClass"},
	{"", "ResourceQuota"},
	{"", "LimitRange"},
	{"rbac.authorization.k8s.io", "ClusterRole"},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding"},
	{"rbac.authorization.k8s.io", "Role"},
	{"rbac.authorization.k8s.io", "RoleBinding"},
	{"", "ServiceAccount"},
	{"networking.k8s.io", "NetworkPolicy"},
	{"", "Secret"},
	{"", "ConfigMap"},
	{"storage.k8s.io", "StorageClass"},
	{"", "PersistentVolume"},
	{"", "PersistentVolumeClaim"},
	{"", "Service"},
	{"", "PodTemplate"},
	{"", "Pod"},
	{"", "ReplicationController"},
	{"apps", "ReplicaSet"},
	{"apps", "Deployment"},
	{"apps", "StatefulSet"},
	{"apps", "DaemonSet"},
	{"batch", "Job"},
	{"batch", "CronJob"},
	{"autoscaling", "HorizontalPodAutoscaler"},
	{"policy", "PodDisruptionBudget"},
	{"networking.k8s.io", "IngressClass"},
	{"networking.k8s.io", "Ingress"},
	{"*", "*"},
	{"apiregistration.k8s.io", "APIService"},
	{"admissionregistration.k8s.io", "MutatingWebhookConfiguration"},
	{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"},
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"},
};
#define NORDER (sizeof(order) / sizeof(order[0]))

int hcr_cmp_kind_rank(const char *group, const char *kind)
{
	size_t i, rest = 0;

	for (i = 0; i < NORDER; i++) {
		if (order[i].group[0] == '*')
			rest = i;
		else if (strcmp(order[i].group, group) == 0 && strcmp(order[i].kind, kind) == 0)
			return (int)i;
	}
	return (int)rest;
}

/* ---- the plan --------------------------------------------------------------------------- */

typedef enum { PENDING = 0, CREATED, EXISTS, SKIPPED, FAILED, UPDATED, UNCHANGED } outcome;

static const char *const outcome_names[] = {"pending", "created", "exists",   "skipped",
					    "failed",  "updated", "unchanged"};

typedef struct entry {
	char *group, *kind, *name;
	char *src_ns; /* namespace in the source; NULL for cluster-scoped */
	char *dst_ns; /* namespace in the target */
	char *dst_name;
	bool chosen;            /* named by the user: skip rules do not apply */
	bool implicit;          /* a namespace this run adds */
	const char *skip_known; /* from the compare */
	int rank;
	const hcr_kube_resource *src_res, *dst_res;
	char *crd_name; /* the target does not serve the kind yet: the CRD that will */
	outcome result;
	const char *reason;
	char *note;
	hcr_error *err; /* when failed (allocated then: a plan may hold 20,000 entries) */
} entry;

/* Marks `e` failed and returns its (new, cleared) error to fill. */
static hcr_error *failed(entry *e)
{
	if (!e->err)
		e->err = hcr_calloc(1, sizeof(*e->err));
	e->result = FAILED;
	return e->err;
}

/*
 * Entries found by a key, so that a plan of 20,000 objects is not searched
 * 20,000 times: an open-addressing map from a key string to an entry's index,
 * rebuilt from the entries whenever they moved (sorting) or changed.
 */
typedef struct keymap {
	char **keys;
	size_t *vals;
	size_t cap, n;
	bool dirty;
} keymap;

#define NO_ENTRY ((size_t)-1)

static size_t key_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void keymap_clear(keymap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}

/* Stores `key` (stolen) for `val`; a key already there keeps its first value. */
static void keymap_put(keymap *m, char *key, size_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		keymap bigger = {hcr_calloc(m->cap ? m->cap * 2 : 64, sizeof(char *)),
				 hcr_calloc(m->cap ? m->cap * 2 : 64, sizeof(size_t)),
				 m->cap ? m->cap * 2 : 64, 0, false};

		for (i = 0; i < m->cap; i++)
			if (m->keys[i])
				keymap_put(&bigger, m->keys[i], m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = bigger;
	}
	for (i = key_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (strcmp(m->keys[i], key) == 0) {
			free(key);
			return;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

static size_t keymap_get(const keymap *m, const char *key)
{
	size_t i;

	for (i = m->cap ? key_hash(key) & (m->cap - 1) : 0; m->cap && m->keys[i];
	     i = (i + 1) & (m->cap - 1))
		if (strcmp(m->keys[i], key) == 0)
			return m->vals[i];
	return NO_ENTRY;
}

typedef struct plan {
	const hcr_cmp_write_opts *o;
	hcr_kube *src, *dst;
	entry *e;
	size_t n, cap;
	bool mapping;
	keymap by_src; /* group, kind, source namespace, name */
	keymap by_dst; /* group, kind, target name: cluster-scoped entries only */
} plan;

/* "\x1f" cannot appear in a Kubernetes name, so keys cannot collide. */
static char *src_key(const char *group, const char *kind, const char *ns, const char *name)
{
	return hcr_sprintf("%s\x1f%s\x1f%s\x1f%s", group, kind, ns ? ns : "", name);
}

static char *dst_key(const char *group, const char *kind, const char *name)
{
	return hcr_sprintf("%s\x1f%s\x1f%s", group, kind, name);
}

static void reindex(plan *p)
{
	size_t i;

	if (p->by_src.dirty) {
		keymap_clear(&p->by_src);
		for (i = 0; i < p->n; i++)
			keymap_put(
				&p->by_src,
				src_key(p->e[i].group, p->e[i].kind, p->e[i].src_ns, p->e[i].name),
				i);
	}
	if (p->by_dst.dirty) {
		keymap_clear(&p->by_dst);
		for (i = 0; i < p->n; i++)
			if (!p->e[i].dst_ns)
				keymap_put(&p->by_dst,
					   dst_key(p->e[i].group, p->e[i].kind, p->e[i].dst_name),
					   i);
	}
	p->by_src.dirty = p->by_dst.dirty = false;
}

static entry *add_entry(plan *p, const char *group, const char *kind, const char *src_ns,
			const char *name)
{
	char *key = src_key(group, kind, src_ns, name);
	size_t at;
	entry *e;

	reindex(p);
	at = keymap_get(&p->by_src, key);
	if (at < p->n && p->e) {
		free(key);
		return &p->e[at];
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->e = hcr_realloc(p->e, p->cap * sizeof(*p->e));
	}
	keymap_put(&p->by_src, key, p->n);
	p->by_dst.dirty = true;
	e = &p->e[p->n++];
	memset(e, 0, sizeof(*e));
	e->group = hcr_strdup(group);
	e->kind = hcr_strdup(kind);
	e->name = hcr_strdup(name);
	e->dst_name = hcr_strdup(name);
	e->src_ns = src_ns ? hcr_strdup(src_ns) : NULL;
	e->dst_ns = src_ns ? hcr_strdup(p->mapping ? p->o->right_namespace : src_ns) : NULL;
	e->rank = hcr_cmp_kind_rank(group, kind);
	return e;
}

static void plan_free(plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		entry *e = &p->e[i];

		free(e->group);
		free(e->kind);
		free(e->name);
		free(e->src_ns);
		free(e->dst_ns);
		free(e->dst_name);
		free(e->crd_name);
		free(e->note);
		free(e->err);
	}
	free(p->e);
	keymap_clear(&p->by_src);
	keymap_clear(&p->by_dst);
}

/* "KIND/NAMESPACE/NAME" or "KIND/NAME", resolved on the source. */
static int add_selected(plan *p, const char *text, hcr_error *err)
{
	char buf[MAX_SELECTED_BYTES], *parts[4] = {0}, *save = NULL, *tok;
	const hcr_kube_resource *res;
	const char *ns = NULL, *name;
	int n = 0, rc;
	entry *e;

	if (!text || strlen(text) >= sizeof(buf))
		goto malformed;
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, "/", &save); tok && n < 4; tok = strtok_r(NULL, "/", &save))
		parts[n++] = tok;
	if (n < 2 || n > 3 || text[0] == '/' || text[strlen(text) - 1] == '/' || strstr(text, "//"))
		goto malformed;
	rc = hcr_kube_resource_resolve(&res, p->src, parts[0], err);
	if (rc != HCR_OK)
		return rc;
	name = parts[n - 1];
	if (res->namespaced) {
		ns = n == 3 ? parts[1] : (p->mapping ? p->o->left_namespace : p->o->namespace_name);
		if (!ns || !*ns) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "\"%s\" names no namespace, and %s objects live in one", text,
				      res->kind);
			hcr_error_hint(err, "write %s/NAMESPACE/%s", parts[0], name);
			return HCR_EINVALID;
		}
		if (p->mapping && strcmp(ns, p->o->left_namespace) != 0) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "\"%s\" is not in namespace \"%s\", the one compared", text,
				      p->o->left_namespace);
			return HCR_EINVALID;
		}
	} else if (n == 3) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "\"%s\" names a namespace, but %s objects are cluster-scoped", text,
			      res->kind);
		hcr_error_hint(err, "write %s/%s", parts[0], name);
		return HCR_EINVALID;
	}
	e = add_entry(p, res->group, res->kind, ns, name);
	e->chosen = true;
	e->skip_known = NULL;
	return HCR_OK;
malformed:
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
		      "cannot read object \"%s\": expected KIND/NAMESPACE/NAME or KIND/NAME",
		      text ? text : "");
	hcr_error_hint(err, "e.g. deploy/web/api, configmaps/web/settings, "
			    "customresourcedefinitions/widgets.example.com");
	return HCR_EINVALID;
}

/* Every left-only row of the compare (skipped ones too: each gets its result). */
static void add_left_only(plan *p)
{
	const hcr_cmp_row *rows;
	size_t n, i;

	rows = hcr_cmp_result_rows(p->o->compare, &n);
	for (i = 0; i < n; i++) {
		entry *e;

		if (rows[i].state != HCR_CMP_LEFT_ONLY)
			continue;
		e = add_entry(p, rows[i].group, rows[i].kind, rows[i].namespace_name, rows[i].name);
		if (!e->chosen)
			e->skip_known = rows[i].skip_reason;
	}
}

/* A cluster-scoped entry (a Namespace, a CRD) by its name in the target. */
static entry *find_entry(plan *p, const char *group, const char *kind, const char *name)
{
	char *key = dst_key(group, kind, name);
	size_t at;

	reindex(p);
	at = keymap_get(&p->by_dst, key);
	free(key);
	return at < p->n && p->e ? &p->e[at] : NULL;
}

/* The resources of each entry on both sides; entries of one kind share a lookup. */
static int resolve_kinds(plan *p, hcr_error *err)
{
	size_t i, j, nkinds = 0;
	size_t *kinds = hcr_calloc(p->n + 1, sizeof(size_t)); /* the first entry of each kind */
	int rc = HCR_OK;

	for (i = 0; i < p->n && rc == HCR_OK; i++) {
		entry *e = &p->e[i], *same = NULL;

		/* Kinds are few (tens), entries many: look among the kinds, newest first. */
		for (j = nkinds; j > 0 && !same; j--)
			if (!strcmp(p->e[kinds[j - 1]].group, e->group) &&
			    !strcmp(p->e[kinds[j - 1]].kind, e->kind))
				same = &p->e[kinds[j - 1]];
		if (same) {
			e->src_res = same->src_res;
			e->dst_res = same->dst_res;
			e->crd_name = same->crd_name ? hcr_strdup(same->crd_name) : NULL;
			continue;
		}
		kinds[nkinds++] = i;
		rc = hcr_kube_resource_by_kind(&e->src_res, p->src, e->group, e->kind, err);
		if (rc != HCR_OK)
			break;
		rc = hcr_kube_resource_by_kind(&e->dst_res, p->dst, e->group, e->kind, err);
		if (rc == HCR_ENOTFOUND) {
			e->dst_res = NULL;
			e->crd_name = hcr_sprintf("%s.%s", e->src_res->plural, e->group);
			rc = HCR_OK;
		}
	}
	free(kinds);
	return rc;
}

/*
 * A create of a kind the target does not serve works only when the plan
 * creates its CRD first. Anything else fails the whole run here, before a
 * write, naming the object, the kind and the cluster.
 */
static int check_served(plan *p, hcr_error *err)
{
	size_t i, j, count;

	for (i = 0; p->e && i < p->n; i++) {
		entry *e = &p->e[i], *crd;

		if (e->dst_res || e->result != PENDING || (e->skip_known && !e->chosen))
			continue;
		if (p->o->mode == HCR_CMP_UPDATE) {
			hcr_error_set(
				failed(e), HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
				"cluster \"%s\" does not serve %s, so it has no %s %s to update",
				hcr_kube_name(p->dst), e->crd_name, e->kind, e->name);
			continue;
		}
		crd = *e->group ? find_entry(p, CRD_GROUP, CRD_KIND, e->crd_name) : NULL;
		if (crd && crd->result != SKIPPED)
			continue;
		for (j = 0, count = 0; j < p->n; j++)
			if (!p->e[j].dst_res && !strcmp(p->e[j].group, e->group) &&
			    !strcmp(p->e[j].kind, e->kind))
				count++;
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "cannot create %s %s%s%s in cluster \"%s\": the cluster does not "
			      "serve %s, and its CustomResourceDefinition %s is not among the "
			      "objects to create",
			      e->kind, e->src_ns ? e->src_ns : "", e->src_ns ? "/" : "", e->name,
			      hcr_kube_name(p->dst), e->crd_name, e->crd_name);
		hcr_error_detail(err,
				 "%zu object%s of kind %s%s%s wait%s for it; nothing was written",
				 count, count == 1 ? "" : "s", e->kind, *e->group ? "." : "",
				 e->group, count == 1 ? "s" : "");
		hcr_error_hint(err,
			       "create the CRD too: add customresourcedefinitions/%s to the "
			       "objects (or install it in cluster \"%s\" first)",
			       e->crd_name, hcr_kube_name(p->dst));
		return HCR_EINVALID;
	}
	return HCR_OK;
}

/*
 * Target namespaces that do not exist get a Namespace entry of their own
 * (from the source's namespace, named as in the target). A namespace the
 * target's user may not read is left alone: the create will say.
 */
static void add_missing_namespaces(plan *p)
{
	const hcr_kube_resource *ns_res = NULL;
	const char **seen = NULL; /* namespaces already looked at (borrowed from entries) */
	size_t i, j, nseen = 0, n = p->n;
	hcr_error err;

	if (hcr_kube_resource_by_kind(&ns_res, p->dst, "", "Namespace", &err) != HCR_OK)
		return;
	seen = hcr_calloc(n + 1, sizeof(*seen));
	for (i = 0; i < n; i++) {
		const char *dst_ns = p->e[i].dst_ns, *src_ns = p->e[i].src_ns;
		json_t *got = NULL;
		entry *e;
		int rc;

		if (!dst_ns || find_entry(p, "", "Namespace", dst_ns))
			continue;
		for (j = 0; j < nseen && strcmp(seen[j], dst_ns) != 0; j++)
			;
		if (j < nseen)
			continue;
		seen[nseen++] = dst_ns;
		rc = hcr_kube_get(&got, p->dst, ns_res, NULL, dst_ns, &err);
		json_decref(got);
		if (rc != HCR_ENOTFOUND)
			continue;
		e = add_entry(p, "", "Namespace", NULL, src_ns);
		free(e->dst_name);
		e->dst_name = hcr_strdup(dst_ns);
		p->by_dst.dirty = true;
		e->implicit = true;
		e->chosen = true; /* needed, whatever the skip rules say */
		e->src_res = e->dst_res = ns_res;
	}
	free(seen);
}

static int by_order(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if ((c = strcmp(x->group, y->group)) || (c = strcmp(x->kind, y->kind)))
		return c;
	if (x->dst_ns != y->dst_ns) {
		if (!x->dst_ns || !y->dst_ns)
			return x->dst_ns ? 1 : -1;
		if ((c = strcmp(x->dst_ns, y->dst_ns)))
			return c;
	}
	return strcmp(x->dst_name, y->dst_name);
}

/* ---- writing ---------------------------------------------------------------------------- */

static void fail_with(entry *e, const hcr_error *err)
{
	*failed(e) = *err;
}

static bool already_exists(const hcr_error *err)
{
	return strstr(err->detail, "reason AlreadyExists") != NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool established(const json_t *crd)
{
	json_t *conds = json_object_get(json_object_get(crd, "status"), "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *status = json_string_value(json_object_get(c, "status"));

		if (type && status && !strcmp(type, "Established") && !strcmp(status, "True"))
			return true;
	}
	return false;
}

/* Polls the CRD until it is Established or `timeout_ms` passed. */
static bool wait_established(plan *p, entry *crd, long timeout_ms)
{
	struct timespec start, now;
	long waited;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		json_t *got = NULL;
		hcr_error err;
		bool ok = hcr_kube_get(&got, p->dst, crd->dst_res, NULL, crd->dst_name, &err) ==
				  HCR_OK &&
			  established(got);

		json_decref(got);
		if (ok)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 +
			 (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= timeout_ms)
			return false;
		sleep_ms(CRD_POLL_MS);
	}
}

/*
 * After the CRDs: waits for each that something waits for (not in a dry
 * run), rediscovers the target once, and resolves the kinds that waited; a
 * kind still not served fails its objects.
 */
static void after_crds(plan *p, size_t first, size_t end)
{
	long timeout = p->o->crd_timeout_ms > 0 ? p->o->crd_timeout_ms : DEFAULT_CRD_WAIT;
	size_t i, j;
	hcr_error err;
	bool waited = false;

	if (!p->e)
		return;
	for (i = first; i < end; i++) {
		entry *crd = &p->e[i];

		if (crd->result != CREATED && crd->result != EXISTS)
			continue;
		for (j = end; j < p->n; j++)
			if (!p->e[j].dst_res && !strcmp(p->e[j].crd_name, crd->dst_name))
				break;
		if (j == p->n || p->o->dry_run)
			continue; /* nothing waits for this one, or nothing was stored */
		waited = true;
		if (!wait_established(p, crd, timeout)) {
			free(crd->note);
			crd->note = hcr_sprintf("not Established after %ld s", timeout / 1000);
		}
	}
	if (waited)
		hcr_kube_discover(p->dst, &err);
	for (j = end; j < p->n; j++) {
		entry *e = &p->e[j], *crd;

		if (e->dst_res || e->result != PENDING)
			continue;
		crd = find_entry(p, CRD_GROUP, CRD_KIND, e->crd_name);
		if (waited && hcr_kube_resource_by_kind(&e->dst_res, p->dst, e->group, e->kind,
							&err) == HCR_OK)
			continue;
		e->dst_res = NULL;
		if (p->o->dry_run && crd && crd->result == CREATED)
			continue; /* checked as far as a dry run can, when its turn comes */
		hcr_error_set(failed(e), HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			      "cannot create %s %s%s%s in cluster \"%s\": the cluster does not "
			      "serve %s",
			      e->kind, e->dst_ns ? e->dst_ns : "", e->dst_ns ? "/" : "",
			      e->dst_name, hcr_kube_name(p->dst), e->crd_name);
		if (!crd || (crd->result != CREATED && crd->result != EXISTS))
			hcr_error_detail(e->err, "its CustomResourceDefinition %s was not created",
					 e->crd_name);
		else
			hcr_error_detail(e->err,
					 "its CustomResourceDefinition %s is not Established "
					 "after %ld s",
					 e->crd_name, timeout / 1000);
		hcr_error_hint(e->err,
			       "check the CRD with kubectl get crd %s -o yaml, then "
			       "run again",
			       e->crd_name);
	}
}

/* The source object, prepared for the target (new), or NULL with the entry's result set. */
static json_t *read_source(plan *p, entry *e)
{
	json_t *obj = NULL, *meta;
	const char *reason;
	hcr_error err;
	int rc;

	rc = hcr_kube_get(&obj, p->src, e->src_res, e->src_ns, e->name, &err);
	if (rc == HCR_ENOTFOUND && e->implicit) {
		/* The source namespace is gone (or was never there): a bare one will do. */
		return json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
				 "metadata", "name", e->dst_name);
	}
	if (rc != HCR_OK) {
		fail_with(e, &err);
		return NULL;
	}
	reason = hcr_kube_skip_reason(obj);
	if (reason && !e->chosen) {
		e->result = SKIPPED;
		e->reason = reason;
		hcr_kube_json_wipe_decref(obj);
		return NULL;
	}
	rc = hcr_kube_prepare_create(obj, p->o->norm_flags, &err);
	if (rc != HCR_OK) {
		fail_with(e, &err);
		hcr_kube_json_wipe_decref(obj);
		return NULL;
	}
	meta = json_object_get(obj, "metadata");
	json_object_set_new(meta, "name", json_string(e->dst_name));
	if (e->dst_ns)
		json_object_set_new(meta, "namespace", json_string(e->dst_ns));
	return obj;
}

static bool ns_created_here(plan *p, const char *ns)
{
	entry *e = ns ? find_entry(p, "", "Namespace", ns) : NULL;

	return e && e->result == CREATED;
}

static void create_one(plan *p, entry *e)
{
	hcr_kube_write_opts wo = {.dry_run = p->o->dry_run};
	json_t *obj;
	hcr_error err;
	int rc;

	if (e->skip_known && !e->chosen) {
		e->result = SKIPPED;
		e->reason = e->skip_known;
		return;
	}
	obj = read_source(p, e);
	if (!obj)
		return;
	if (p->o->dry_run && (!e->dst_res || ns_created_here(p, e->dst_ns))) {
		/* The server cannot check it: what it needs was only pretended. */
		e->result = CREATED;
		e->note = !e->dst_res
				  ? hcr_sprintf("not checked by the server: its "
						"CustomResourceDefinition %s is created by "
						"this run, and a dry run stores nothing",
						e->crd_name)
				  : hcr_sprintf("not checked by the server: namespace \"%s\" is "
						"created by this run, and a dry run stores "
						"nothing",
						e->dst_ns);
		hcr_kube_json_wipe_decref(obj);
		return;
	}
	if (!e->dst_res) { /* after_crds fails these; never write without a resource */
		hcr_kube_json_wipe_decref(obj);
		hcr_error_set(failed(e), HCR_ERROR, HCR_ERR_INTERNAL,
			      "no resource for %s in \"%s\"", e->kind, hcr_kube_name(p->dst));
		return;
	}
	rc = hcr_kube_create(NULL, p->dst, e->dst_res, e->dst_ns, obj, &wo, &err);
	hcr_kube_json_wipe_decref(obj);
	if (rc == HCR_OK) {
		e->result = CREATED;
		if (e->implicit)
			e->note = hcr_strdup("the namespace of objects to create");
	} else if (rc == HCR_ECONFLICT && already_exists(&err)) {
		e->result = EXISTS;
	} else {
		fail_with(e, &err);
	}
}

/* The target's object with the source's content: its own version, finalizers and owners. */
static void keep_target_metadata(json_t *obj, json_t *target)
{
	static const char *const kept[] = {"resourceVersion", "finalizers", "ownerReferences"};
	json_t *meta = json_object_get(obj, "metadata");
	json_t *tmeta = json_object_get(target, "metadata");
	size_t i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		json_t *v = json_object_get(tmeta, kept[i]);

		if (v)
			json_object_set(meta, kept[i], v);
		else
			json_object_del(meta, kept[i]);
	}
}

/* Whether `a` and `b` normalise to the same object (namespaces aside when mapping). */
static bool same_content(plan *p, const json_t *a, const json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	bool same;

	hcr_kube_normalise(x, p->o->norm_flags);
	hcr_kube_normalise(y, p->o->norm_flags);
	json_object_del(json_object_get(x, "metadata"), "namespace");
	json_object_del(json_object_get(y, "metadata"), "namespace");
	same = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

static void update_one(plan *p, entry *e)
{
	hcr_kube_write_opts wo = {.dry_run = p->o->dry_run};
	json_t *obj = NULL, *target = NULL;
	hcr_error err;
	int rc;

	if (e->result != PENDING)
		return;
	obj = read_source(p, e);
	if (!obj)
		return;
	rc = hcr_kube_get(&target, p->dst, e->dst_res, e->dst_ns, e->dst_name, &err);
	if (rc == HCR_ENOTFOUND) {
		hcr_error_set(failed(e), HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
			      "%s %s%s%s does not exist in cluster \"%s\": nothing to update",
			      e->kind, e->dst_ns ? e->dst_ns : "", e->dst_ns ? "/" : "",
			      e->dst_name, hcr_kube_name(p->dst));
		hcr_error_hint(e->err, "create what is missing with --create-missing");
		goto done;
	}
	if (rc != HCR_OK) {
		fail_with(e, &err);
		goto done;
	}
	if (same_content(p, obj, target)) {
		e->result = UNCHANGED;
		goto done;
	}
	keep_target_metadata(obj, target);
	rc = hcr_kube_update(NULL, p->dst, e->dst_res, e->dst_ns, obj, &wo, &err);
	if (rc == HCR_OK)
		e->result = UPDATED;
	else
		fail_with(e, &err);
done:
	hcr_kube_json_wipe_decref(obj);
	hcr_kube_json_wipe_decref(target);
}

/* ---- the report ------------------------------------------------------------------------- */

static json_t *entry_json(const entry *e)
{
	json_t *o = json_pack("{s:s, s:s}", "group", e->group, "kind", e->kind);

	if (e->dst_ns)
		json_object_set_new(o, "namespace", json_string(e->dst_ns));
	json_object_set_new(o, "name", json_string(e->dst_name));
	json_object_set_new(o, "result", json_string(outcome_names[e->result]));
	if (e->reason)
		json_object_set_new(o, "reason", json_string(e->reason));
	if (e->result == FAILED && e->err)
		json_object_set_new(o, "error",
				    json_pack("{s:s, s:s?, s:s?}", "message", e->err->message,
					      "detail", e->err->detail[0] ? e->err->detail : NULL,
					      "hint", e->err->hint[0] ? e->err->hint : NULL));
	if (e->note)
		json_object_set_new(o, "note", json_string(e->note));
	return o;
}

static json_t *report(const plan *p)
{
	/* The results a mode can have, in the order people read them. */
	static const outcome create_order[] = {CREATED, EXISTS, SKIPPED, FAILED};
	static const outcome update_order[] = {UPDATED, UNCHANGED, FAILED};
	const outcome *ord = p->o->mode == HCR_CMP_CREATE ? create_order : update_order;
	size_t nord = p->o->mode == HCR_CMP_CREATE ? 4 : 3;
	json_t *items = json_array(), *summary = json_object();
	size_t counts[sizeof(outcome_names) / sizeof(outcome_names[0])] = {0}, i;

	for (i = 0; i < p->n; i++) {
		counts[p->e[i].result]++;
		json_array_append_new(items, entry_json(&p->e[i]));
	}
	for (i = 0; i < nord; i++)
		json_object_set_new(summary, outcome_names[ord[i]],
				    json_integer((json_int_t)counts[ord[i]]));
	return json_pack("{s:s, s:b, s:{s:s, s:s*}, s:{s:s, s:s*}, s:o, s:o}", "mode",
			 p->o->mode == HCR_CMP_CREATE ? "create" : "update", "dryRun",
			 p->o->dry_run, "source", "cluster", hcr_kube_name(p->src), "namespace",
			 p->mapping ? p->o->left_namespace : p->o->namespace_name, "target",
			 "cluster", hcr_kube_name(p->dst), "namespace",
			 p->mapping ? p->o->right_namespace : p->o->namespace_name, "summary",
			 summary, "items", items);
}

bool hcr_cmp_write_failed(const json_t *report_doc)
{
	json_t *v = json_object_get(json_object_get(report_doc, "summary"), "failed");

	return json_integer_value(v) > 0;
}

static void log_result(const plan *p, const entry *e)
{
	char kind[128], ns[300], name[300];

	hcr_log_info("compare", "%s cluster=%s kind=%s namespace=%s name=%s result=%s dry_run=%s",
		     p->o->mode == HCR_CMP_CREATE ? "create" : "update", hcr_kube_name(p->dst),
		     hcr_log_quote(kind, sizeof(kind), e->kind),
		     hcr_log_quote(ns, sizeof(ns), e->dst_ns ? e->dst_ns : ""),
		     hcr_log_quote(name, sizeof(name), e->dst_name), outcome_names[e->result],
		     p->o->dry_run ? "true" : "false");
}

/* ---- running ---------------------------------------------------------------------------- */

static int build(plan *p, hcr_error *err)
{
	size_t i;
	int rc;

	if (p->o->mode == HCR_CMP_UPDATE && !p->o->nselect)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "an update needs the objects to update, named one by one");
	if (!p->o->nselect && !p->o->compare)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "nothing to create: name objects or give a compare");
	for (i = 0; i < p->o->nselect; i++)
		if ((rc = add_selected(p, p->o->select[i], err)) != HCR_OK)
			return rc;
	if (!p->o->nselect)
		add_left_only(p);
	if ((rc = resolve_kinds(p, err)) != HCR_OK)
		return rc;
	if (p->o->mode == HCR_CMP_CREATE)
		add_missing_namespaces(p);
	if ((rc = check_served(p, err)) != HCR_OK)
		return rc;
	if (p->n)
		qsort(p->e, p->n, sizeof(*p->e), by_order);
	p->by_src.dirty = p->by_dst.dirty = true;
	return HCR_OK;
}

int hcr_cmp_write(json_t **out, hcr_kube *source, hcr_kube *target, const hcr_cmp_write_opts *opts,
		  hcr_error *err)
{
	plan p = {.o = opts, .src = source, .dst = target};
	int crd_rank = hcr_cmp_kind_rank(CRD_GROUP, CRD_KIND);
	size_t i, crd_first, crd_end;
	int rc;

	*out = NULL;
	p.mapping = opts->left_namespace && *opts->left_namespace;
	if (p.mapping != (opts->right_namespace && *opts->right_namespace))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "writing into another namespace needs both the left and the "
				     "right namespace");
	rc = build(&p, err);
	if (rc != HCR_OK)
		goto done;
	/* [crd_first, crd_end): the CRDs; what comes after may need them served. */
	for (crd_first = 0; crd_first < p.n && p.e[crd_first].rank < crd_rank; crd_first++)
		;
	for (crd_end = crd_first; crd_end < p.n && p.e[crd_end].rank == crd_rank; crd_end++)
		;
	for (i = 0; i < p.n; i++) {
		entry *e = &p.e[i];

		if (i == crd_end && opts->mode == HCR_CMP_CREATE)
			after_crds(&p, crd_first, crd_end);
		if (e->result == PENDING) {
			if (opts->mode == HCR_CMP_CREATE)
				create_one(&p, e);
			else
				update_one(&p, e);
		}
		if (e->result != SKIPPED)
			log_result(&p, e);
	}
	*out = report(&p);
done:
	plan_free(&p);
	return rc;
}
