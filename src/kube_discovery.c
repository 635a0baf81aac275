/*
 * Discovery: which resources a cluster serves, under which plural, in which
 * group and preferred version, namespaced or not, with which verbs and short
 * names; and the lookups built on it (by group and kind, by plural, and by
 * the names kubectl accepts on its command line).
 *
 * Plurals always come from the server (research/resource-sync.md: guessing
 * "kind + s" or "v1" is how other sync tools break on CRDs). Only each
 * group's preferred version is read, one request per group (the aggregated
 * discovery document of newer servers is not used). A group whose discovery
 * fails, typically an aggregated API answering 503 (metrics-server down), is
 * recorded and logged; the rest of the table is usable.
 *
 * Tables are immutable once built. A rediscovery builds a new table and
 * keeps the old one until the connection closes, so resource pointers that
 * callers hold never dangle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hcr/kube.h"
#include "hcr/log.h"
#include "kube_int.h"

/* A lookup that misses rediscovers only when the table is at least this old. */
#define REDISCOVER_AFTER_S 2

struct hcr_kube_discovery {
	hcr_kube_resource *v;
	size_t n;
	hcr_kube_discovery_failure *fail;
	size_t nfail;
};

static const struct {
	const char *name;
	unsigned bit;
} verb_names[] = {
	{"get", HCR_KUBE_VERB_GET},       {"list", HCR_KUBE_VERB_LIST},
	{"watch", HCR_KUBE_VERB_WATCH},   {"create", HCR_KUBE_VERB_CREATE},
	{"update", HCR_KUBE_VERB_UPDATE}, {"patch", HCR_KUBE_VERB_PATCH},
	{"delete", HCR_KUBE_VERB_DELETE}, {"deletecollection", HCR_KUBE_VERB_DELETECOLLECTION},
};

/* ---- the table ----------------------------------------------------------------------- */

hcr_kube_discovery *hcr_kube_discovery_new(void)
{
	return hcr_calloc(1, sizeof(hcr_kube_discovery));
}

static void free_resource(hcr_kube_resource *r)
{
	size_t i;

	free((char *)r->group);
	free((char *)r->version);
	free((char *)r->api_version);
	free((char *)r->kind);
	free((char *)r->plural);
	free((char *)r->singular);
	for (i = 0; i < r->nshort; i++)
		free((char *)r->short_names[i]);
	free((void *)r->short_names);
}

void hcr_kube_discovery_free(hcr_kube_discovery *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free_resource(&d->v[i]);
	free(d->v);
	for (i = 0; i < d->nfail; i++)
		free((char *)d->fail[i].group_version);
	free(d->fail);
	free(d);
}

static unsigned parse_verbs(json_t *verbs)
{
	unsigned bits = 0;
	json_t *v;
	size_t i, j;

	json_array_foreach(verbs, i, v)
	{
		for (j = 0; j < sizeof(verb_names) / sizeof(verb_names[0]); j++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), verb_names[j].name) == 0)
				bits |= verb_names[j].bit;
	}
	return bits;
}

static void parse_short_names(hcr_kube_resource *r, json_t *names)
{
	const char **out = hcr_calloc(json_array_size(names) + 1, sizeof(*out));
	json_t *v;
	size_t i;

	json_array_foreach(names, i, v)
	{
		if (json_is_string(v) && json_string_length(v) > 0)
			out[r->nshort++] = hcr_strdup(json_string_value(v));
	}
	r->short_names = out;
}

static void add_resource(hcr_kube_discovery *d, const char *group, const char *version,
			 json_t *item)
{
	const char *name = json_string_value(json_object_get(item, "name"));
	const char *kind = json_string_value(json_object_get(item, "kind"));
	const char *singular = json_string_value(json_object_get(item, "singularName"));
	hcr_kube_resource *r;

	/* Subresources (deployments/scale, pods/log) are reached through their parent. */
	if (!name || !*name || !kind || !*kind || strchr(name, '/'))
		return;
	if (hcr_kube_discovery_find_plural(d, group, name))
		return;
	d->v = hcr_realloc(d->v, (d->n + 1) * sizeof(*d->v));
	r = &d->v[d->n++];
	memset(r, 0, sizeof(*r));
	r->group = hcr_strdup(group);
	r->version = hcr_strdup(version);
	r->api_version = *group ? hcr_sprintf("%s/%s", group, version) : hcr_strdup(version);
	r->kind = hcr_strdup(kind);
	r->plural = hcr_strdup(name);
	r->singular = hcr_strdup(singular ? singular : "");
	r->namespaced = json_is_true(json_object_get(item, "namespaced"));
	r->verbs = parse_verbs(json_object_get(item, "verbs"));
	parse_short_names(r, json_object_get(item, "shortNames"));
}

int hcr_kube_discovery_add(hcr_kube_discovery *d, const char *group, const char *version,
			   json_t *list, hcr_error *err)
{
	json_t *items = json_object_get(list, "resources"), *it;
	size_t i;

	if (!json_is_array(items))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the discovery of %s%s%s is not an APIResourceList", group,
				     *group ? "/" : "", version);
	json_array_foreach(items, i, it)
	{
		add_resource(d, group, version, it);
	}
	return HCR_OK;
}

void hcr_kube_discovery_add_failure(hcr_kube_discovery *d, const char *group_version,
				    const hcr_error *error)
{
	d->fail = hcr_realloc(d->fail, (d->nfail + 1) * sizeof(*d->fail));
	d->fail[d->nfail].group_version = hcr_strdup(group_version);
	d->fail[d->nfail].error = *error;
	d->nfail++;
}

const hcr_kube_resource *hcr_kube_discovery_resources(const hcr_kube_discovery *d, size_t *n)
{
	*n = d->n;
	return d->v;
}

const hcr_kube_discovery_failure *hcr_kube_discovery_failures(const hcr_kube_discovery *d,
							      size_t *n)
{
	*n = d->nfail;
	return d->fail;
}

/* ---- lookups on a table -------------------------------------------------------------- */

const hcr_kube_resource *hcr_kube_discovery_find_kind(const hcr_kube_discovery *d,
						      const char *group, const char *kind)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].group, group) == 0 && strcmp(d->v[i].kind, kind) == 0)
			return &d->v[i];
	return NULL;
}

const hcr_kube_resource *hcr_kube_discovery_find_plural(const hcr_kube_discovery *d,
							const char *group, const char *plural)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].group, group) == 0 && strcmp(d->v[i].plural, plural) == 0)
			return &d->v[i];
	return NULL;
}

static bool has_short_name(const hcr_kube_resource *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nshort; i++)
		if (strcasecmp(r->short_names[i], name) == 0)
			return true;
	return false;
}

static bool names_it(const hcr_kube_resource *r, const char *name)
{
	return strcasecmp(r->plural, name) == 0 || strcasecmp(r->kind, name) == 0 ||
	       (*r->singular && strcasecmp(r->singular, name) == 0);
}

/* `group` / `version` NULL: any. Short names first, then the other names, as kubectl. */
static const hcr_kube_resource *match(const hcr_kube_discovery *d, const char *name,
				      const char *group, const char *version)
{
	size_t i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < d->n; i++) {
			const hcr_kube_resource *r = &d->v[i];

			if ((group && strcmp(r->group, group) != 0) ||
			    (version && strcmp(r->version, version) != 0))
				continue;
			if (pass == 0 ? has_short_name(r, name) : names_it(r, name))
				return r;
		}
	}
	return NULL;
}

const hcr_kube_resource *hcr_kube_discovery_resolve(const hcr_kube_discovery *d, const char *name)
{
	const char *dot = strchr(name, '.');
	const hcr_kube_resource *r = NULL;
	char *res, *rest, *dot2;

	if (!dot)
		return match(d, name, NULL, NULL);
	res = hcr_strndup(name, (size_t)(dot - name));
	rest = hcr_strdup(dot + 1);
	/* "cronjobs.v1.batch": resource, version, group; else "deployments.apps". */
	if ((dot2 = strchr(rest, '.'))) {
		*dot2 = '\0';
		r = match(d, res, dot2 + 1, rest);
		*dot2 = '.';
	}
	if (!r)
		r = match(d, res, rest, NULL);
	free(res);
	free(rest);
	return r;
}

/* ---- discovering over a connection --------------------------------------------------- */

/* GETs a discovery document; errors say "cannot discover <path>". */
static int get_document(json_t **out, hcr_kube *k, const char *path, bool retry, hcr_error *err)
{
	kube_req req = {.method = "GET", .path = path, .no_retry = !retry};

	return hcr_kube_call(out, k, &req, "discover", path, NULL, NULL, err);
}

static int discover_version(hcr_kube *k, hcr_kube_discovery *d, const char *group,
			    const char *version, hcr_error *err)
{
	char *path = *group ? hcr_sprintf("/apis/%s/%s", group, version)
			    : hcr_sprintf("/api/%s", version);
	json_t *list = NULL;
	/* An aggregated API that is down answers 503 at once: no retries for groups. */
	int rc = get_document(&list, k, path, *group == '\0', err);

	if (rc == HCR_OK)
		rc = hcr_kube_discovery_add(d, group, version, list, err);
	json_decref(list);
	free(path);
	return rc;
}

/* One group of /apis: its preferred version, or the first listed. */
static void discover_group(hcr_kube *k, hcr_kube_discovery *d, json_t *g)
{
	const char *name = json_string_value(json_object_get(g, "name"));
	json_t *pref = json_object_get(json_object_get(g, "preferredVersion"), "version");
	const char *version = json_string_value(pref);
	char gv[512];
	hcr_error err;

	if (!version)
		version = json_string_value(json_object_get(
			json_array_get(json_object_get(g, "versions"), 0), "version"));
	if (!name || !version)
		return;
	if (discover_version(k, d, name, version, &err) == HCR_OK)
		return;
	snprintf(gv, sizeof(gv), "%s/%s", name, version);
	hcr_log_warn("kube", "discovery failed cluster=%s group_version=%s error=\"%s\"",
		     hcr_kube_name(k), gv, err.message);
	hcr_kube_discovery_add_failure(d, gv, &err);
}

static int discover_all(hcr_kube *k, hcr_kube_discovery *d, hcr_error *err)
{
	json_t *api = NULL, *apis = NULL, *g;
	const char *core;
	size_t i;
	int rc;

	if ((rc = get_document(&api, k, "/api", true, err)) != HCR_OK)
		goto done;
	core = json_string_value(json_array_get(json_object_get(api, "versions"), 0));
	if ((rc = discover_version(k, d, "", core ? core : "v1", err)) != HCR_OK ||
	    (rc = get_document(&apis, k, "/apis", true, err)) != HCR_OK)
		goto done;
	json_array_foreach(json_object_get(apis, "groups"), i, g)
	{
		discover_group(k, d, g);
	}
done:
	json_decref(api);
	json_decref(apis);
	return rc;
}

int hcr_kube_discover(hcr_kube *k, hcr_error *err)
{
	hcr_kube_discovery *d = hcr_kube_discovery_new();
	int rc = discover_all(k, d, err);

	if (rc != HCR_OK) {
		hcr_kube_discovery_free(d);
		return rc;
	}
	if (k->disco) {
		k->old_disco =
			hcr_realloc(k->old_disco, (k->nold + 1) * sizeof(hcr_kube_discovery *));
		k->old_disco[k->nold++] = k->disco;
	}
	k->disco = d;
	k->disco_at = time(NULL);
	hcr_log_debug("kube", "discovered cluster=%s resources=%zu failed_groups=%zu",
		      hcr_kube_name(k), d->n, d->nfail);
	return HCR_OK;
}

const hcr_kube_discovery *hcr_kube_discovery_get(hcr_kube *k, hcr_error *err)
{
	if (!k->disco && hcr_kube_discover(k, err) != HCR_OK)
		return NULL;
	return k->disco;
}

/* ---- lookups on a connection --------------------------------------------------------- */

static void detail_failures(const hcr_kube_discovery *d, hcr_error *err)
{
	hcr_buf b = {0};
	size_t i;

	if (!d->nfail)
		return;
	hcr_buf_puts(&b, "discovery failed for");
	for (i = 0; i < d->nfail; i++)
		hcr_buf_printf(&b, "%s %s (%s)", i ? "," : "", d->fail[i].group_version,
			       d->fail[i].error.message);
	hcr_error_detail(err, "%s", b.data);
	hcr_buf_free(&b);
}

/* Looks up with `find` (args a, b), rediscovering once on a miss. */
static int lookup(const hcr_kube_resource **out, hcr_kube *k,
		  const hcr_kube_resource *(*find)(const hcr_kube_discovery *, const char *,
						   const char *),
		  const char *a, const char *b, hcr_error *err)
{
	int rc;

	*out = NULL;
	if (!k->disco && (rc = hcr_kube_discover(k, err)) != HCR_OK)
		return rc;
	if ((*out = find(k->disco, a, b)))
		return HCR_OK;
	if (time(NULL) - k->disco_at < REDISCOVER_AFTER_S)
		return HCR_ENOTFOUND;
	if ((rc = hcr_kube_discover(k, err)) != HCR_OK)
		return rc;
	*out = find(k->disco, a, b);
	return *out ? HCR_OK : HCR_ENOTFOUND;
}

static const hcr_kube_resource *find_kind2(const hcr_kube_discovery *d, const char *group,
					   const char *kind)
{
	return hcr_kube_discovery_find_kind(d, group, kind);
}

static const hcr_kube_resource *resolve2(const hcr_kube_discovery *d, const char *name,
					 const char *unused)
{
	(void)unused;
	return hcr_kube_discovery_resolve(d, name);
}

int hcr_kube_resource_by_kind(const hcr_kube_resource **out, hcr_kube *k, const char *group,
			      const char *kind, hcr_error *err)
{
	int rc = lookup(out, k, find_kind2, group ? group : "", kind, err);

	if (rc != HCR_ENOTFOUND)
		return rc;
	hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
		      "cluster \"%s\" does not serve kind %s%s%s", hcr_kube_name(k), kind,
		      group && *group ? " of group " : " of the core group", group ? group : "");
	detail_failures(k->disco, err);
	hcr_error_hint(err, "is the CustomResourceDefinition installed (and Established) in "
			    "this cluster?");
	return HCR_ENOTFOUND;
}

int hcr_kube_resource_resolve(const hcr_kube_resource **out, hcr_kube *k, const char *name,
			      hcr_error *err)
{
	int rc = lookup(out, k, resolve2, name, NULL, err);

	if (rc != HCR_ENOTFOUND)
		return rc;
	hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
		      "cluster \"%s\" has no resource type \"%s\"", hcr_kube_name(k), name);
	detail_failures(k->disco, err);
	hcr_error_hint(err, "use a plural, kind or short name as `kubectl api-resources` lists "
			    "them, optionally with .group (deployments.apps)");
	return HCR_ENOTFOUND;
}
