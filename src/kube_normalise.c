/*
 * Kubernetes objects normalised for comparison between clusters and prepared
 * for a create in another cluster; the skip rules; Secret masking; the
 * content hash. docs/sync/normalisation.md is the table this file implements:
 * change the two together (and HCR_KUBE_NORM_VERSION when a hash changes).
 *
 * Every rule names an exact path on an exact (group, kind), or on every kind
 * for `metadata` and top-level `status`. Nothing is removed by key name at
 * any depth, because user data (ConfigMap keys, CR specs) can use any name.
 * A value without the expected shape is left as it is: objects come from
 * clusters we do not control, and a normaliser that fails would stop a
 * compare of 20,000 objects over one odd CR.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_norm.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MASK         "***"
#define MASK_BEFORE  "*** (before)"
#define MASK_AFTER   "*** (after)"

/* Server-set or cluster-local members of `metadata`, removed from every kind. */
static const char *const server_metadata[] = {
	"uid",
	"resourceVersion",
	"selfLink",
	"generation",
	"creationTimestamp",
	"managedFields",
	"deletionTimestamp",
	"deletionGracePeriodSeconds",
	"ownerReferences",
	NULL,
};

/* Annotations that a controller writes, removed from every kind. */
static const char *const controller_annotations[] = {
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.kubernetes.io/selected-node",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"control-plane.alpha.kubernetes.io/leader",
	"autoscaling.alpha.kubernetes.io/conditions",
	"autoscaling.alpha.kubernetes.io/current-metrics",
	"batch.kubernetes.io/job-tracking",
	"endpoints.kubernetes.io/last-change-trigger-time",
	NULL,
};

/* Secret annotations that hold the Secret's own data in clear (kubectl, kapp). */
static const char *const secret_copy_annotations[] = {
	LAST_APPLIED,
	"kapp.k14s.io/original",
	NULL,
};

static const char *const job_uid_labels[] = {
	"controller-uid",
	"batch.kubernetes.io/controller-uid",
	NULL,
};

/* ---- small accessors: a wrong type reads as absent --------------------------------------- */

static json_t *obj_get(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

static const char *str_get(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool str_is(const json_t *o, const char *key, const char *want)
{
	const char *s = str_get(o, key);

	return s && strcmp(s, want) == 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether `obj`'s apiVersion names API group `group` ("" for the core group, "v1"). */
static bool in_group(const json_t *obj, const char *group)
{
	const char *av = str_get(obj, "apiVersion");
	const char *slash;

	if (!av)
		return false;
	slash = strchr(av, '/');
	if (!slash)
		return group[0] == '\0';
	return strlen(group) == (size_t)(slash - av) && strncmp(av, group, strlen(group)) == 0;
}

static bool is_kind(const json_t *obj, const char *group, const char *kind)
{
	return str_is(obj, "kind", kind) && in_group(obj, group);
}

/* Masking keys on the kind alone: a Secret-like CR of another group is masked too. */
static bool is_secret(const json_t *obj)
{
	return str_is(obj, "kind", "Secret");
}

static void del_all(json_t *o, const char *const *keys)
{
	for (; *keys; keys++)
		json_object_del(o, *keys);
}

/* Removes o[key] when it is null, {} or []: the API server omits all three. */
static void drop_empty(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		json_object_del(o, key);
}

/* ---- was a field set by the user? (Velero's rule) ---------------------------------------- */

/* The last-applied configuration, parsed: a new reference, or NULL. */
static json_t *last_applied(const json_t *obj)
{
	const char *s = str_get(obj_get(obj_get(obj, "metadata"), "annotations"), LAST_APPLIED);
	json_t *v;

	if (!s)
		return NULL;
	v = json_loads(s, 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static bool user_value(const json_t *v)
{
	if (!v || json_is_null(v))
		return false;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
		return json_string_value(v)[0] != '\0';
	return true;
}

/* Whether some managedFields entry owns the field at `path` ("f:" names, NULL-terminated). */
static bool managed_owns(const json_t *obj, const char *const *path)
{
	json_t *entries = json_object_get(obj_get(obj, "metadata"), "managedFields");
	json_t *e;
	size_t i;

	json_array_foreach(entries, i, e)
	{
		json_t *f = obj_get(e, "fieldsV1");

		for (const char *const *p = path; f && *p; p++)
			f = obj_get(f, *p);
		if (f)
			return true;
	}
	return false;
}

static json_int_t port_number(const json_t *port)
{
	return json_integer_value(json_object_get(port, "port"));
}

static const char *port_protocol(const json_t *port)
{
	const char *p = str_get(port, "protocol");

	return p ? p : "TCP";
}

/*
 * Whether a managedFields entry owns `field` ("f:nodePort") of the Service
 * port `port`. Ports are keyed there by `k:{"port":80,"protocol":"TCP"}`.
 */
static bool managed_port_owns(const json_t *obj, const json_t *port, const char *field)
{
	json_t *entries = json_object_get(obj_get(obj, "metadata"), "managedFields");
	json_t *e, *v;
	const char *key;
	size_t i;

	json_array_foreach(entries, i, e)
	{
		json_t *ports = obj_get(obj_get(obj_get(e, "fieldsV1"), "f:spec"), "f:ports");

		json_object_foreach(ports, key, v)
		{
			json_t *k;
			bool same;

			if (!has_prefix(key, "k:") || !json_object_get(v, field))
				continue;
			k = json_loads(key + 2, 0, NULL);
			same = json_is_object(k) && port_number(k) == port_number(port) &&
			       strcmp(port_protocol(k), port_protocol(port)) == 0;
			json_decref(k);
			if (same)
				return true;
		}
	}
	return false;
}

/* Whether the last-applied ports set `field` on `port`: named ports by name, others by number. */
static bool applied_port_sets(const json_t *applied, const json_t *port, const char *field)
{
	json_t *ports = json_object_get(obj_get(applied, "spec"), "ports");
	const char *name = str_get(port, "name");
	json_t *p;
	size_t i;

	json_array_foreach(ports, i, p)
	{
		const char *pn = str_get(p, "name");
		bool same;

		if (name && name[0])
			same = pn && strcmp(pn, name) == 0;
		else
			same = port_number(p) == port_number(port) &&
			       strcmp(port_protocol(p), port_protocol(port)) == 0;
		if (same)
			return user_value(json_object_get(p, field));
	}
	return false;
}

/* ---- per kind ---------------------------------------------------------------------------- */

/*
 * Service: the cluster IPs are allocated from each cluster's service range;
 * node ports and the health-check port are allocated too unless the user
 * chose them, and ipFamilies follows the cluster's network. A compare cannot
 * tell allocated from chosen reliably (the signals depend on the tool that
 * created each copy) and must be idempotent, so it drops them all; a create
 * keeps what the user chose, read from the object as it came from the source.
 */
static void normalise_service(json_t *obj, unsigned int flags, bool create)
{
	static const char *const hc_path[] = {"f:spec", "f:healthCheckNodePort", NULL};
	static const char *const fam_path[] = {"f:spec", "f:ipFamilies", NULL};
	json_t *spec = obj_get(obj, "spec");
	json_t *ports, *port, *applied;
	json_t *spec_applied;
	size_t i;

	if (!spec)
		return;
	if (!str_is(spec, "clusterIP", "None")) {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	}
	applied = create ? last_applied(obj) : NULL;
	spec_applied = obj_get(applied, "spec");
	ports = json_object_get(spec, "ports");
	if (!(flags & HCR_KUBE_KEEP_NODE_PORTS)) {
		json_array_foreach(ports, i, port)
		{
			if (!json_object_get(port, "nodePort"))
				continue;
			if (create && (applied_port_sets(applied, port, "nodePort") ||
				       managed_port_owns(obj, port, "f:nodePort")))
				continue;
			json_object_del(port, "nodePort");
		}
		if (!create || !(user_value(json_object_get(spec_applied, "healthCheckNodePort")) ||
				 managed_owns(obj, hc_path)))
			json_object_del(spec, "healthCheckNodePort");
	}
	if (!create || !(user_value(json_object_get(spec_applied, "ipFamilies")) ||
			 managed_owns(obj, fam_path)))
		json_object_del(spec, "ipFamilies");
	json_decref(applied);
}

/*
 * Job: unless the user chose the selector (manualSelector), the API server
 * generates it and the matching template labels from the Job's uid.
 */
static void normalise_job(json_t *obj, bool create)
{
	json_t *spec = obj_get(obj, "spec");
	json_t *sel, *tmeta;
	bool manual;

	if (!spec)
		return;
	manual = json_is_true(json_object_get(spec, "manualSelector"));
	sel = obj_get(spec, "selector");
	del_all(obj_get(sel, "matchLabels"), job_uid_labels);
	drop_empty(sel, "matchLabels");
	drop_empty(spec, "selector");
	tmeta = obj_get(obj_get(spec, "template"), "metadata");
	del_all(obj_get(tmeta, "labels"), job_uid_labels);
	drop_empty(tmeta, "labels");
	if (!manual) {
		if (create)
			json_object_del(spec, "selector");
		json_object_del(spec, "manualSelector");
	}
}

/* ServiceAccount: `secrets` entries named <sa>-token-* are the cluster's own token Secrets. */
static void normalise_service_account(json_t *obj)
{
	const char *name = str_get(obj_get(obj, "metadata"), "name");
	json_t *secrets = json_object_get(obj, "secrets");
	size_t len;

	if (!name || !json_is_array(secrets))
		return;
	len = strlen(name);
	for (size_t i = json_array_size(secrets); i-- > 0;) {
		const char *s = str_get(json_array_get(secrets, i), "name");

		if (s && strncmp(s, name, len) == 0 && has_prefix(s + len, "-token-"))
			json_array_remove(secrets, i);
	}
	drop_empty(obj, "secrets");
}

/*
 * Secret: the API server folds `stringData` into `data` (stringData wins) and
 * stores a null value as empty; do the same so that a Secret written either
 * way compares equal (Argo CD's NormalizeSecret).
 */
static void normalise_secret(json_t *obj)
{
	json_t *data = json_object_get(obj, "data");
	json_t *sd = json_object_get(obj, "stringData");
	const char *key;
	json_t *v;
	void *tmp;

	if (data && !json_is_object(data) && !json_is_null(data))
		return;
	if (sd && !json_is_object(sd) && !json_is_null(sd))
		return;
	json_object_foreach(data, key, v)
	{
		if (json_is_null(v))
			json_object_set_new(data, key, json_string(""));
	}
	json_object_foreach_safe(sd, tmp, key, v)
	{
		char *enc;

		if (!json_is_string(v))
			continue;
		if (!json_is_object(data)) {
			data = json_object();
			json_object_set_new(obj, "data", data);
		}
		enc = hcr_crypto_base64_encode(json_string_value(v), json_string_length(v));
		json_object_set_new(data, key, json_string(enc));
		free(enc);
		json_object_del(sd, key);
	}
	drop_empty(obj, "stringData");
	drop_empty(obj, "data");
}

/*
 * Whether a Pod volume is the service account token the admission plugin
 * injects: `kube-api-access-<random>` (projected), or before 1.24 a secret
 * volume named after the `<sa>-token-<random>` Secret it mounts.
 */
static bool injected_volume(const json_t *vol, const char *sa)
{
	const char *name = str_get(vol, "name");
	const char *secret = str_get(obj_get(vol, "secret"), "secretName");
	size_t len = strlen(sa);

	if (!name)
		return false;
	if (has_prefix(name, "kube-api-access-") && obj_get(vol, "projected"))
		return true;
	return secret && strcmp(secret, name) == 0 && strncmp(name, sa, len) == 0 &&
	       has_prefix(name + len, "-token-");
}

static void drop_mounts(json_t *spec, const char *list, const json_t *names)
{
	json_t *containers = json_object_get(spec, list);
	json_t *c;
	size_t i;

	json_array_foreach(containers, i, c)
	{
		json_t *mounts = json_object_get(c, "volumeMounts");

		for (size_t j = json_array_size(mounts); j-- > 0;) {
			const char *n = str_get(json_array_get(mounts, j), "name");

			if (n && json_object_get(names, n))
				json_array_remove(mounts, j);
		}
		drop_empty(c, "volumeMounts");
	}
}

/*
 * Pod: the node is the scheduler's choice in this cluster; the token volume
 * is injected with a random name; on create `spec.priority` goes because the
 * priority admission plugin computes it from priorityClassName and refuses a
 * value that does not match.
 */
static void normalise_pod(json_t *obj, bool create)
{
	json_t *spec = obj_get(obj, "spec");
	json_t *volumes = json_object_get(spec, "volumes");
	json_t *names;
	const char *sa;

	if (!spec)
		return;
	json_object_del(spec, "nodeName");
	if (create)
		json_object_del(spec, "priority");
	sa = str_get(spec, "serviceAccountName");
	if (!sa)
		sa = str_get(spec, "serviceAccount");
	if (!sa)
		sa = "default";
	names = json_object();
	for (size_t i = json_array_size(volumes); i-- > 0;) {
		json_t *vol = json_array_get(volumes, i);

		if (injected_volume(vol, sa)) {
			json_object_set_new(names, str_get(vol, "name"), json_true());
			json_array_remove(volumes, i);
		}
	}
	if (json_object_size(names) > 0) {
		drop_mounts(spec, "initContainers", names);
		drop_mounts(spec, "containers", names);
		drop_mounts(spec, "ephemeralContainers", names);
		drop_empty(spec, "volumes");
	}
	json_decref(names);
}

/* ---- every kind -------------------------------------------------------------------------- */

/*
 * Embedded object metadata (pod templates and claim templates) carries
 * `creationTimestamp: null` when the writer marshalled an empty time; it
 * means nothing, and whether it is there depends on the tool.
 */
static void drop_null_timestamp(json_t *holder)
{
	json_t *meta = obj_get(holder, "metadata");

	if (meta && json_is_null(json_object_get(meta, "creationTimestamp")))
		json_object_del(meta, "creationTimestamp");
	drop_empty(holder, "metadata");
}

static void normalise_templates(json_t *obj)
{
	json_t *spec = obj_get(obj, "spec");
	json_t *jt = obj_get(spec, "jobTemplate");
	json_t *vcts = json_object_get(spec, "volumeClaimTemplates");
	json_t *t;
	size_t i;

	drop_null_timestamp(obj_get(obj, "template"));
	drop_null_timestamp(obj_get(spec, "template"));
	drop_null_timestamp(jt);
	drop_null_timestamp(obj_get(obj_get(jt, "spec"), "template"));
	json_array_foreach(vcts, i, t)
	{
		drop_null_timestamp(t);
	}
}

static void normalise_metadata(json_t *obj, unsigned int flags, bool create)
{
	json_t *meta = obj_get(obj, "metadata");
	json_t *ann = obj_get(meta, "annotations");
	const char *name = str_get(meta, "name");

	if (!meta)
		return;
	del_all(meta, server_metadata);
	if (!(flags & HCR_KUBE_KEEP_FINALIZERS))
		json_object_del(meta, "finalizers");
	if (name && name[0])
		json_object_del(meta, "generateName");
	del_all(ann, controller_annotations);
	if (!create)
		json_object_del(ann, LAST_APPLIED);
	else if (is_secret(obj))
		del_all(ann, secret_copy_annotations);
	if (is_kind(obj, "", "Namespace"))
		json_object_del(obj_get(meta, "labels"), "kubernetes.io/metadata.name");
	drop_empty(meta, "annotations");
	drop_empty(meta, "labels");
}

/* Kind rules first: the Service rule reads managedFields and last-applied before they go. */
static void normalise(json_t *obj, unsigned int flags, bool create)
{
	if (!json_is_object(obj))
		return;
	if (is_kind(obj, "", "Service"))
		normalise_service(obj, flags, create);
	else if (is_kind(obj, "", "PersistentVolumeClaim"))
		json_object_del(obj_get(obj, "spec"), "volumeName");
	else if (is_kind(obj, "batch", "Job"))
		normalise_job(obj, create);
	else if (is_kind(obj, "", "ServiceAccount"))
		normalise_service_account(obj);
	else if (is_kind(obj, "", "Secret"))
		normalise_secret(obj);
	else if (is_kind(obj, "", "Pod"))
		normalise_pod(obj, create);
	normalise_templates(obj);
	normalise_metadata(obj, flags, create);
	if (create || !(flags & HCR_KUBE_KEEP_STATUS))
		json_object_del(obj, "status");
}

void hcr_kube_normalise(json_t *obj, unsigned int flags)
{
	normalise(obj, flags, false);
}

int hcr_kube_prepare_create(json_t *obj, unsigned int flags, hcr_error *err)
{
	const char *name;

	if (!json_is_object(obj))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "object to create is not a JSON object");
	if (!str_get(obj, "kind") || !str_get(obj, "apiVersion"))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "object to create has no kind or apiVersion");
	name = str_get(obj_get(obj, "metadata"), "name");
	if (!name || !name[0]) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
			      "object to create has no metadata.name");
		hcr_error_detail(err, "kind %.100s", str_get(obj, "kind"));
		return HCR_EINVALID;
	}
	normalise(obj, flags, true);
	return HCR_OK;
}

/* ---- skip rules -------------------------------------------------------------------------- */

static bool has_controller_owner(const json_t *meta)
{
	json_t *refs = json_object_get(meta, "ownerReferences");
	json_t *r;
	size_t i;

	json_array_foreach(refs, i, r)
	{
		if (json_is_true(json_object_get(r, "controller")))
			return true;
	}
	return false;
}

static bool job_finished(const json_t *obj)
{
	json_t *conds = json_object_get(obj_get(obj, "status"), "conditions");
	json_t *c;
	size_t i;

	json_array_foreach(conds, i, c)
	{
		if ((str_is(c, "type", "Complete") || str_is(c, "type", "Failed")) &&
		    str_is(c, "status", "True"))
			return true;
	}
	return false;
}

static const char *secret_skip(const json_t *obj, const char *name)
{
	if (str_is(obj, "type", "kubernetes.io/service-account-token"))
		return "service account token";
	if (str_is(obj, "type", "bootstrap.kubernetes.io/token"))
		return "bootstrap token";
	if (str_is(obj, "type", "helm.sh/release.v1") || has_prefix(name, "sh.helm.release.v1."))
		return "helm release record";
	return NULL;
}

/* Objects that only exist in their own cluster, or that a controller there keeps. */
static const char *cluster_local_skip(const json_t *obj)
{
	if (in_group(obj, "metrics.k8s.io"))
		return "resource metrics";
	if (is_kind(obj, "", "Event") || is_kind(obj, "events.k8s.io", "Event"))
		return "event";
	if (is_kind(obj, "coordination.k8s.io", "Lease"))
		return "lease";
	if (is_kind(obj, "", "Node"))
		return "node";
	if (is_kind(obj, "storage.k8s.io", "CSINode") ||
	    is_kind(obj, "storage.k8s.io", "VolumeAttachment"))
		return "node-bound storage object";
	return NULL;
}

const char *hcr_kube_skip_reason(const json_t *obj)
{
	const json_t *meta, *labels, *ann;
	const char *name, *ns, *why;

	if (!json_is_object(obj))
		return "not a kubernetes object";
	if (!str_get(obj, "kind"))
		return "object has no kind";
	meta = obj_get(obj, "metadata");
	labels = obj_get(meta, "labels");
	ann = obj_get(meta, "annotations");
	name = str_get(meta, "name");
	ns = str_get(meta, "namespace");
	if (!name)
		name = "";
	if (!ns)
		ns = "";
	why = cluster_local_skip(obj);
	if (why)
		return why;
	if (is_kind(obj, "", "Secret") && (why = secret_skip(obj, name)))
		return why;
	if (is_kind(obj, "", "ConfigMap")) {
		if (strcmp(name, "kube-root-ca.crt") == 0)
			return "cluster CA bundle";
		if (has_prefix(name, "sh.helm.release.v1.") && str_is(labels, "owner", "helm"))
			return "helm release record";
	}
	if ((is_kind(obj, "", "Service") || is_kind(obj, "", "Endpoints") ||
	     is_kind(obj, "discovery.k8s.io", "EndpointSlice")) &&
	    strcmp(ns, "default") == 0 && strcmp(name, "kubernetes") == 0)
		return "the api server's own service";
	if (is_kind(obj, "", "Endpoints") &&
	    (str_is(labels, "endpointslice.kubernetes.io/skip-mirror", "true") ||
	     json_object_get(ann, "endpoints.kubernetes.io/last-change-trigger-time")))
		return "endpoints kept by the service controller";
	if (is_kind(obj, "discovery.k8s.io", "EndpointSlice") &&
	    (str_is(labels, "endpointslice.kubernetes.io/managed-by",
		    "endpointslice-controller.k8s.io") ||
	     str_is(labels, "endpointslice.kubernetes.io/managed-by",
		    "endpointslicemirroring-controller.k8s.io")))
		return "endpoint slice kept by a controller";
	if (is_kind(obj, "", "Pod")) {
		const char *phase = str_get(obj_get(obj, "status"), "phase");

		if (json_object_get(ann, "kubernetes.io/config.mirror"))
			return "mirror pod of a static pod";
		if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
			return "finished pod";
	}
	if (has_controller_owner(meta))
		return "owned by a controller";
	if (is_kind(obj, "batch", "Job") && job_finished(obj))
		return "finished job";
	if (is_kind(obj, "apiregistration.k8s.io", "APIService") &&
	    str_is(labels, "kube-aggregator.kubernetes.io/automanaged", "true"))
		return "built-in api service";
	return NULL;
}

/* ---- masking ----------------------------------------------------------------------------- */

/*
 * Masks l[key] and r[key] (either container may be NULL): "***", or the
 * before/after markers when both sides have the key with different values.
 * Both values are compared before either is replaced.
 */
static void mask_value(json_t *l, json_t *r, const char *key)
{
	json_t *lv = json_object_get(l, key);
	json_t *rv = json_object_get(r, key);
	bool differs;

	/* A null holds nothing to hide. */
	if (json_is_null(lv))
		lv = NULL;
	if (json_is_null(rv))
		rv = NULL;
	differs = lv && rv && !json_equal(lv, rv);

	if (lv)
		json_object_set_new(l, key, json_string(differs ? MASK_BEFORE : MASK));
	if (rv)
		json_object_set_new(r, key, json_string(differs ? MASK_AFTER : MASK));
}

/* Masks the map `field` ("data") of two Secrets key by key; a map of another type as a whole. */
static void mask_map(json_t *l, json_t *r, const char *field)
{
	json_t *lm = json_object_get(l, field);
	json_t *rm = json_object_get(r, field);
	const char *key;
	json_t *v;

	if (!json_is_object(lm) && !json_is_object(rm)) {
		mask_value(l, r, field);
		return;
	}
	if (!json_is_object(lm)) {
		mask_value(l, NULL, field);
		lm = NULL;
	}
	if (!json_is_object(rm)) {
		mask_value(NULL, r, field);
		rm = NULL;
	}
	json_object_foreach(lm, key, v)
	{
		mask_value(lm, rm, key);
	}
	json_object_foreach(rm, key, v)
	{
		if (!json_object_get(lm, key))
			mask_value(NULL, rm, key);
	}
}

void hcr_kube_mask_secret_pair(json_t *left, json_t *right)
{
	json_t *l = is_secret(left) ? left : NULL;
	json_t *r = is_secret(right) ? right : NULL;
	json_t *la = obj_get(obj_get(l, "metadata"), "annotations");
	json_t *ra = obj_get(obj_get(r, "metadata"), "annotations");

	if (!l && !r)
		return;
	mask_map(l, r, "data");
	mask_map(l, r, "stringData");
	for (const char *const *a = secret_copy_annotations; *a; a++)
		mask_value(la, ra, *a);
}

void hcr_kube_mask_secret(json_t *obj)
{
	hcr_kube_mask_secret_pair(obj, NULL);
}

/* ---- content hash ------------------------------------------------------------------------ */

int hcr_kube_content_hash(char out[65], const json_t *obj, unsigned int flags, hcr_error *err)
{
	json_t *copy;
	char *text;

	out[0] = '\0';
	if (!obj)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "no object to hash");
	if (flags & HCR_KUBE_NORMALISED) {
		text = hcr_json_dumps(obj);
	} else {
		copy = json_deep_copy(obj);
		if (!copy)
			return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
					     "cannot copy object to hash");
		hcr_kube_normalise(copy, flags);
		text = hcr_json_dumps(copy);
		json_decref(copy);
	}
	if (!text)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot serialise object to hash");
	hcr_crypto_sha256_hex(out, text, strlen(text));
	free(text);
	return HCR_OK;
}
