/*
 * The compare of two clusters (hcr/kube_compare.h, docs/sync/compare.md).
 *
 * Memory is the design constraint: a compare of 20,000 objects a side must
 * not hold 40,000 objects. Each side's list is read page by page (the client
 * holds one page), every item is normalised in place, hashed, and reduced to
 * a summary of about 100 bytes whose strings live in a per-side arena. The
 * object itself is dropped with its page. For a diff, the normalised object
 * is also appended to an unlinked temporary file; a summary remembers where,
 * and only the differing pairs are read back. That is faster than reading
 * them again from the clusters (one GET per object and side, each a round
 * trip), and the diff shows exactly the versions the hashes were made of.
 * Secret values are replaced by keyed digests before anything is written, so
 * the file holds no Secret value; the diff masks them anyway.
 *
 * The two sides run on two threads (this one and one more), each with its
 * own connection, arena and file; they share nothing while they run but the
 * flag that stops the other side after a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_compare.h"
#include "hcr/kube_norm.h"
#include "hcr/log.h"
#include "hcr/mem.h"

#define LEFT  0
#define RIGHT 1

#define POOL_BLOCK ((size_t)64 * 1024)
/* A diff's temporary file may grow to this; past it the compare fails rather than fill a disk. */
#define MAX_SPILL ((uint64_t)64 << 30)

/* ---- names ------------------------------------------------------------------------------ */

static const char *const state_names[] = {"equal", "different", "left-only", "right-only"};
static const char *const view_names[] = {"all",  "matching", "non-matching",
					 "left", "right",    "different"};

const char *hcr_cmp_state_name(hcr_cmp_state s)
{
	return (unsigned)s < 4 ? state_names[s] : "?";
}

const char *hcr_cmp_view_name(hcr_cmp_view v)
{
	return (unsigned)v < 6 ? view_names[v] : "?";
}

bool hcr_cmp_view_parse(hcr_cmp_view *out, const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(view_names) / sizeof(view_names[0]); i++) {
		if (strcmp(name, view_names[i]) == 0) {
			*out = (hcr_cmp_view)i;
			return true;
		}
	}
	return false;
}

bool hcr_cmp_view_shows(hcr_cmp_view v, hcr_cmp_state s)
{
	switch (v) {
	case HCR_CMP_VIEW_ALL:
		return true;
	case HCR_CMP_VIEW_MATCHING:
		return s == HCR_CMP_EQUAL || s == HCR_CMP_DIFFERENT;
	case HCR_CMP_VIEW_NON_MATCHING:
		return s == HCR_CMP_LEFT_ONLY || s == HCR_CMP_RIGHT_ONLY;
	case HCR_CMP_VIEW_LEFT:
		return s != HCR_CMP_RIGHT_ONLY;
	case HCR_CMP_VIEW_RIGHT:
		return s != HCR_CMP_LEFT_ONLY;
	case HCR_CMP_VIEW_DIFFERENT:
		return s == HCR_CMP_DIFFERENT;
	}
	return false;
}

/*
 * Kinds a default compare leaves out: history, heartbeats, the machines and
 * what the cluster's own controllers keep per node or per Service. They would
 * only ever differ. Named by (group, plural); "*" is the whole group.
 */
static const struct {
	const char *group, *plural;
} excluded[] = {
	{"", "events"},
	{"events.k8s.io", "*"},
	{"", "nodes"},
	{"", "endpoints"},
	{"", "componentstatuses"},
	{"", "bindings"},
	{"discovery.k8s.io", "endpointslices"},
	{"coordination.k8s.io", "leases"},
	{"metrics.k8s.io", "*"},
	{"authentication.k8s.io", "*"},
	{"authorization.k8s.io", "*"},
	{"storage.k8s.io", "csinodes"},
	{"storage.k8s.io", "volumeattachments"},
	{"storage.k8s.io", "csistoragecapacities"},
	{"certificates.k8s.io", "certificatesigningrequests"},
	{"internal.apiserver.k8s.io", "*"},
	{"apps", "controllerrevisions"},
};

bool hcr_cmp_kind_excluded(const char *group, const char *plural)
{
	size_t i;

	for (i = 0; i < sizeof(excluded) / sizeof(excluded[0]); i++)
		if (strcmp(group, excluded[i].group) == 0 &&
		    (strcmp(excluded[i].plural, "*") == 0 ||
		     strcmp(plural, excluded[i].plural) == 0))
			return true;
	return false;
}

/* ---- an arena for the summaries' strings ------------------------------------------------ */

typedef struct pool {
	char **blocks;
	size_t nblocks;
	size_t used, cap; /* of the last block */
} pool;

static const char *pool_strdup(pool *p, const char *s)
{
	size_t len = strlen(s) + 1;
	char *out;

	if (len >
	    POOL_BLOCK / 4) { /* a long string gets a block of its own, kept before the last */
		out = hcr_strdup(s);
		p->blocks = hcr_realloc(p->blocks, (p->nblocks + 1) * sizeof(*p->blocks));
		if (p->nblocks) {
			p->blocks[p->nblocks] = p->blocks[p->nblocks - 1];
			p->blocks[p->nblocks - 1] = out;
		} else {
			p->blocks[0] = out;
			p->used = p->cap = 0;
		}
		p->nblocks++;
		return out;
	}
	if (!p->nblocks || p->cap - p->used < len) {
		p->blocks = hcr_realloc(p->blocks, (p->nblocks + 1) * sizeof(*p->blocks));
		p->blocks[p->nblocks++] = hcr_malloc(POOL_BLOCK);
		p->used = 0;
		p->cap = POOL_BLOCK;
	}
	out = p->blocks[p->nblocks - 1] + p->used;
	memcpy(out, s, len);
	p->used += len;
	return out;
}

static void pool_free(pool *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	memset(p, 0, sizeof(*p));
}

/* Namespaces repeat: one copy of each, found by an open-addressing table. */
typedef struct interner {
	const char **slots;
	size_t cap, n;
} interner;

static size_t str_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static const char *intern(interner *t, pool *p, const char *s)
{
	size_t i;

	if (t->n * 2 >= t->cap) {
		interner bigger = {hcr_calloc(t->cap ? t->cap * 2 : 64, sizeof(char *)),
				   t->cap ? t->cap * 2 : 64, t->n};

		for (i = 0; i < t->cap; i++) {
			size_t j;

			if (!t->slots[i])
				continue;
			for (j = str_hash(t->slots[i]) & (bigger.cap - 1); bigger.slots[j];
			     j = (j + 1) & (bigger.cap - 1))
				;
			bigger.slots[j] = t->slots[i];
		}
		free(t->slots);
		*t = bigger;
	}
	for (i = str_hash(s) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (strcmp(t->slots[i], s) == 0)
			return t->slots[i];
	t->slots[i] = pool_strdup(p, s);
	t->n++;
	return t->slots[i];
}

/* ---- the result ------------------------------------------------------------------------- */

/* A kind compared: its names and each side's resource (NULL where not served). */
typedef struct ckind {
	char *group, *kind;
	const hcr_kube_resource *res[2]; /* borrowed from the connections while running */
	char *api_version[2];            /* copied, for the report */
	bool namespaced;
	size_t count[2];
} ckind;

/* What is kept of one listed object. */
typedef struct summary {
	uint32_t kind;  /* index into the result's kinds */
	uint32_t len;   /* of its record in the spill file (0: none) */
	uint64_t off;   /* where the record starts */
	const char *ns; /* interned; NULL for cluster-scoped objects */
	const char *name;
	const char *skip; /* static skip reason, or NULL */
	unsigned char hash[32];
} summary;

typedef struct side {
	int which; /* LEFT or RIGHT */
	hcr_kube *k;
	const char *list_ns; /* the namespace listed; NULL: all */
	char *cluster, *server;
	summary *s;
	size_t n, cap;
	pool pool;
	interner names;
	FILE *spill;
	uint64_t spill_off;
	int spill_rc; /* set when writing the file failed (the list then stops) */
	const hcr_kube_discovery *disco;
	hcr_error err;
	int rc;
	/* Shared while running. */
	struct hcr_cmp_result *res;
	atomic_int *stop;
	size_t kind_now; /* the kind being listed (callback context) */
} side;

struct hcr_cmp_result {
	hcr_cmp_opts opts; /* strings point into `own` */
	char *own[4];      /* namespace_name, left_namespace, right_namespace, spill_dir */
	bool mapping;      /* two namespaces compared with each other */
	ckind *kinds;
	size_t nkinds;
	side side[2];
	hcr_cmp_row *rows;
	struct pair {
		const summary *l, *r;
	} * pairs; /* per row: the left and the right object (NULL where missing) */
	size_t nrows;
	size_t counts[4], skipped, shown;
	unsigned char digest_key[32]; /* for Secret values in the spill files */
	double t_discover, t_list, t_merge, t_diff;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn for both sides: the right one on a new thread, the left one here. */
static void run_both(void *(*fn)(void *), side *l, side *r)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, r) != 0) {
		fn(r);
		fn(l);
		return;
	}
	fn(l);
	pthread_join(t, NULL);
}

/* ---- kinds ------------------------------------------------------------------------------ */

static int by_group_kind(const void *a, const void *b)
{
	const ckind *x = a, *y = b;
	int c = strcmp(x->group, y->group);

	return c ? c : strcmp(x->kind, y->kind);
}

static ckind *find_ckind(hcr_cmp_result *r, const char *group, const char *kind)
{
	size_t i;

	for (i = 0; i < r->nkinds; i++)
		if (strcmp(r->kinds[i].group, group) == 0 && strcmp(r->kinds[i].kind, kind) == 0)
			return &r->kinds[i];
	return NULL;
}

/* Adds (group, kind) once, with each side's resource from its table. */
static void add_kind(hcr_cmp_result *r, const char *group, const char *kind)
{
	ckind *c;
	int s;

	if (find_ckind(r, group, kind))
		return;
	r->kinds = hcr_realloc(r->kinds, (r->nkinds + 1) * sizeof(*r->kinds));
	c = &r->kinds[r->nkinds++];
	memset(c, 0, sizeof(*c));
	c->group = hcr_strdup(group);
	c->kind = hcr_strdup(kind);
	for (s = LEFT; s <= RIGHT; s++) {
		c->res[s] = hcr_kube_discovery_find_kind(r->side[s].disco, group, kind);
		if (c->res[s]) {
			c->api_version[s] = hcr_strdup(c->res[s]->api_version);
			c->namespaced = c->namespaced || c->res[s]->namespaced;
		}
	}
}

static bool listable(const hcr_kube_resource *res)
{
	return (res->verbs & (HCR_KUBE_VERB_LIST | HCR_KUBE_VERB_GET)) ==
	       (HCR_KUBE_VERB_LIST | HCR_KUBE_VERB_GET);
}

/* The default kinds: every listable kind of either side, less the excluded ones. */
static void default_kinds(hcr_cmp_result *r, bool namespaced_only)
{
	int s;
	size_t i, n;

	for (s = LEFT; s <= RIGHT; s++) {
		const hcr_kube_resource *res = hcr_kube_discovery_resources(r->side[s].disco, &n);

		for (i = 0; i < n; i++) {
			if (!listable(&res[i]) ||
			    hcr_cmp_kind_excluded(res[i].group, res[i].plural))
				continue;
			if (namespaced_only && !res[i].namespaced)
				continue;
			add_kind(r, res[i].group, res[i].kind);
		}
	}
}

/* The kinds named by the user, each resolved on both sides. */
static int named_kinds(hcr_cmp_result *r, hcr_error *err)
{
	size_t i;
	int s;

	for (i = 0; i < r->opts.nkinds; i++) {
		const char *name = r->opts.kinds[i];
		bool found = false;

		for (s = LEFT; s <= RIGHT; s++) {
			const hcr_kube_resource *res =
				hcr_kube_discovery_resolve(r->side[s].disco, name);

			if (!res)
				continue;
			if (!listable(res)) {
				hcr_error_set(
					err, HCR_EINVALID, HCR_ERR_INVALID,
					"cannot compare %s: cluster \"%s\" does not list them",
					name, r->side[s].cluster);
				hcr_error_hint(err, "leave it out of --kind");
				return HCR_EINVALID;
			}
			add_kind(r, res->group, res->kind);
			found = true;
		}
		if (!found) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "kind \"%s\" is served by neither cluster \"%s\" nor \"%s\"",
				      name, r->side[LEFT].cluster, r->side[RIGHT].cluster);
			hcr_error_hint(err,
				       "name kinds as kubectl does (kubectl api-resources lists "
				       "them): deploy, configmaps, widgets.example.com");
			return HCR_EINVALID;
		}
	}
	return HCR_OK;
}

/* ---- listing one side ------------------------------------------------------------------- */

/* The status an error's code stands for (hcr_kube_discovery_get returns none). */
static int status_of(const hcr_error *err)
{
	static const struct {
		const char *code;
		int status;
	} map[] = {
		{HCR_ERR_UNAUTHORIZED, HCR_EDENIED}, {HCR_ERR_FORBIDDEN, HCR_EDENIED},
		{HCR_ERR_NOT_FOUND, HCR_ENOTFOUND},  {HCR_ERR_CONFLICT, HCR_ECONFLICT},
		{HCR_ERR_INVALID, HCR_EINVALID},     {HCR_ERR_BAD_REQUEST, HCR_EINVALID},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(err->code, map[i].code) == 0)
			return map[i].status;
	return HCR_EUPSTREAM;
}

static void *discover_side(void *arg)
{
	side *s = arg;

	s->disco = hcr_kube_discovery_get(s->k, &s->err);
	s->rc = s->disco ? HCR_OK : status_of(&s->err);
	if (!s->disco && !s->err.message[0])
		hcr_error_set(&s->err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "cannot discover the resources of cluster \"%s\"", s->cluster);
	return NULL;
}

static void sha256(unsigned char out[32], const void *data, size_t len)
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		abort(); /* only fails when OpenSSL cannot allocate */
}

/* "sha256:<hex>" of the value under the run's key: equal values give equal digests. */
static json_t *digest_value(const unsigned char key[32], const char *v, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char hex[65], text[80];
	unsigned int n = 32;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, key, 32) != 1 || EVP_DigestUpdate(ctx, v, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &n) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	hcr_crypto_hex(hex, md, sizeof(md));
	snprintf(text, sizeof(text), "sha256:%s", hex);
	return json_string(text);
}

static void digest_map(json_t *map, const unsigned char key[32])
{
	const char *k;
	json_t *v;

	json_object_foreach(map, k, v)
	{
		if (json_is_string(v))
			json_object_set_new(
				map, k,
				digest_value(key, json_string_value(v), json_string_length(v)));
	}
}

/*
 * Replaces what a Secret holds in clear (data, stringData, the annotations
 * that copy them) with digests. Masking in the diff compares values only for
 * equality, which digests keep.
 */
static void digest_secret(json_t *obj, const unsigned char key[32])
{
	static const char *const copies[] = {"kubectl.kubernetes.io/last-applied-configuration",
					     "kapp.k14s.io/original"};
	json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
	size_t i;

	digest_map(json_object_get(obj, "data"), key);
	digest_map(json_object_get(obj, "stringData"), key);
	for (i = 0; i < 2; i++) {
		json_t *v = json_object_get(ann, copies[i]);

		if (json_is_string(v))
			json_object_set_new(
				ann, copies[i],
				digest_value(key, json_string_value(v), json_string_length(v)));
	}
}

static bool is_secret(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	return kind && strcmp(kind, "Secret") == 0;
}

static int spill_write(side *s, summary *sum, const char *text, size_t len)
{
	if (len > UINT32_MAX || s->spill_off + len > MAX_SPILL) {
		s->spill_rc =
			hcr_error_set(&s->err, HCR_EINVALID, HCR_ERR_INVALID,
				      "the diff of cluster \"%s\" needs more than %llu GiB of "
				      "temporary space",
				      s->cluster, (unsigned long long)(MAX_SPILL >> 30));
		hcr_error_hint(&s->err, "compare fewer kinds or namespaces, or leave out --diff");
		return -1;
	}
	if (fwrite(text, 1, len, s->spill) != len) {
		s->spill_rc = hcr_error_set(
			&s->err, HCR_ERROR, HCR_ERR_INTERNAL,
			"cannot write the diff's temporary file for cluster \"%s\"", s->cluster);
		hcr_error_detail(&s->err, "%s", strerror(errno));
		hcr_error_hint(&s->err, "free space in $TMPDIR, or leave out --diff");
		return -1;
	}
	sum->off = s->spill_off;
	sum->len = (uint32_t)len;
	s->spill_off += len;
	return 0;
}

/* One listed object: reduced to its summary (and its record in the spill file). */
static int on_item(json_t *item, void *payload)
{
	side *s = payload;
	hcr_cmp_result *r = s->res;
	json_t *meta = json_object_get(item, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	bool secret = is_secret(item);
	summary *sum;
	char *text;

	if (atomic_load(s->stop))
		return 1;
	if (!name || !*name)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->s = hcr_realloc(s->s, s->cap * sizeof(*s->s));
	}
	sum = &s->s[s->n];
	memset(sum, 0, sizeof(*sum));
	sum->kind = (uint32_t)s->kind_now;
	sum->name = pool_strdup(&s->pool, name);
	sum->ns = ns && *ns ? intern(&s->names, &s->pool, ns) : NULL;
	sum->skip = hcr_kube_skip_reason(item); /* before normalising: it reads ownerReferences */
	hcr_kube_normalise(item, r->opts.norm_flags);
	if (r->mapping)
		json_object_del(json_object_get(item, "metadata"), "namespace");
	/* The same text hcr_kube_content_hash hashes (test_kube_compare checks this). */
	text = hcr_json_dumps(item);
	if (!text)
		abort();
	sha256(sum->hash, text, strlen(text));
	if (s->spill) {
		if (secret) {
			hcr_crypto_wipe(text, strlen(text));
			free(text);
			digest_secret(item, r->digest_key);
			text = json_dumps(item, JSON_COMPACT);
			if (!text)
				abort();
		}
		if (spill_write(s, sum, text, strlen(text)) != 0) {
			free(text);
			atomic_store(s->stop, 1);
			return 1;
		}
	}
	if (secret)
		hcr_crypto_wipe(text, strlen(text));
	free(text);
	s->n++;
	r->kinds[s->kind_now].count[s->which]++;
	return 0;
}

static void *list_side(void *arg)
{
	side *s = arg;
	hcr_cmp_result *r = s->res;
	size_t i;

	s->rc = HCR_OK;
	for (i = 0; i < r->nkinds && s->rc == HCR_OK && !atomic_load(s->stop); i++) {
		const hcr_kube_resource *res = r->kinds[i].res[s->which];
		hcr_kube_list_opts lo = {.page_size = r->opts.page_size};

		if (!res)
			continue;
		lo.ns = res->namespaced ? s->list_ns : NULL;
		s->kind_now = i;
		s->rc = hcr_kube_list(s->k, res, &lo, on_item, s, NULL, &s->err);
		if (s->rc == HCR_OK && s->spill_rc != HCR_OK)
			s->rc = s->spill_rc; /* the callback stopped the list: the file failed */
		if (s->rc == HCR_OK && s->spill && fflush(s->spill) != 0)
			s->rc = hcr_error_set(&s->err, HCR_ERROR, HCR_ERR_INTERNAL,
					      "cannot write the diff's temporary file for cluster "
					      "\"%s\"",
					      s->cluster);
	}
	if (s->rc != HCR_OK)
		atomic_store(s->stop, 1);
	return NULL;
}

/* An unlinked file in `dir` (mode 0600): gone from the disk when closed or when hcr dies. */
static FILE *spill_open(const char *dir, hcr_error *err)
{
	char *path;
	int fd;
	FILE *f;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		goto opened;
#endif
	path = hcr_sprintf("%s/hcr-compare-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	if (fd < 0) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "cannot create a temporary file for the diff in \"%s\"", dir);
		hcr_error_detail(err, "%s", strerror(errno));
		hcr_error_hint(err, "set TMPDIR to a writable directory");
		return NULL;
	}
#ifdef O_TMPFILE
opened:
#endif
	f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

/* ---- matching --------------------------------------------------------------------------- */

static int by_key(const void *a, const void *b, void *arg)
{
	const summary *x = a, *y = b;
	const bool *mapping = arg;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (!*mapping && x->ns != y->ns) {
		if (!x->ns || !y->ns)
			return x->ns ? 1 : -1;
		c = strcmp(x->ns, y->ns);
		if (c)
			return c;
	}
	return strcmp(x->name, y->name);
}

static void add_row(hcr_cmp_result *r, const summary *l, const summary *rt)
{
	hcr_cmp_row *row = &r->rows[r->nrows];
	const summary *any = l ? l : rt;
	const ckind *k;

	if (!any)
		return;
	k = &r->kinds[any->kind];
	row->group = k->group;
	row->kind = k->kind;
	row->namespace_name = any->ns;
	row->name = any->name;
	if (l && rt)
		row->state = memcmp(l->hash, rt->hash, 32) == 0 ? HCR_CMP_EQUAL : HCR_CMP_DIFFERENT;
	else
		row->state = l ? HCR_CMP_LEFT_ONLY : HCR_CMP_RIGHT_ONLY;
	row->skip_reason = l && l->skip ? l->skip : (rt ? rt->skip : NULL);
	row->shown = (!row->skip_reason || r->opts.include_skipped) &&
		     hcr_cmp_view_shows(r->opts.view, row->state);
	r->pairs[r->nrows].l = l;
	r->pairs[r->nrows].r = rt;
	if (row->skip_reason)
		r->skipped++;
	else
		r->counts[row->state]++;
	if (row->shown)
		r->shown++;
	r->nrows++;
}

/* Sorts both sides and joins them on (kind, namespace, name). */
static void merge(hcr_cmp_result *r)
{
	side *L = &r->side[LEFT], *R = &r->side[RIGHT];
	size_t i = 0, j = 0;

	if (L->n)
		qsort_r(L->s, L->n, sizeof(summary), by_key, &r->mapping);
	if (R->n)
		qsort_r(R->s, R->n, sizeof(summary), by_key, &r->mapping);
	r->rows = hcr_calloc(L->n + R->n + 1, sizeof(*r->rows));
	r->pairs = hcr_calloc(L->n + R->n + 1, sizeof(*r->pairs));
	while (i < L->n || j < R->n) {
		int c;

		/* A list read while it changed may name an object twice: once is enough. */
		if (i > 0 && i < L->n && by_key(&L->s[i], &L->s[i - 1], &r->mapping) == 0) {
			i++;
			continue;
		}
		if (j > 0 && j < R->n && by_key(&R->s[j], &R->s[j - 1], &r->mapping) == 0) {
			j++;
			continue;
		}
		if (i == L->n)
			c = 1;
		else if (j == R->n)
			c = -1;
		else
			c = by_key(&L->s[i], &R->s[j], &r->mapping);
		if (c == 0)
			add_row(r, &L->s[i++], &R->s[j++]);
		else if (c < 0)
			add_row(r, &L->s[i++], NULL);
		else
			add_row(r, NULL, &R->s[j++]);
	}
}

/* ---- diffs ------------------------------------------------------------------------------ */

static json_t *read_record(const side *s, const summary *sum, hcr_error *err)
{
	char *buf = hcr_malloc((size_t)sum->len + 1);
	size_t got = 0;
	json_t *obj = NULL;
	json_error_t jerr;

	while (got < sum->len) {
		ssize_t n =
			pread(fileno(s->spill), buf + got, sum->len - got, (off_t)(sum->off + got));

		if (n <= 0) {
			hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				      "cannot read the diff's temporary file");
			hcr_error_detail(err, "%s", n < 0 ? strerror(errno) : "short read");
			goto done;
		}
		got += (size_t)n;
	}
	obj = json_loadb(buf, sum->len, 0, &jerr);
	if (!obj)
		hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
			      "the diff's temporary file is damaged");
done:
	free(buf);
	return obj;
}

/* "prod/Deployment/web/api": the label of one side of a diff. */
static char *label(const char *cluster, const hcr_cmp_row *row, const char *ns)
{
	return ns ? hcr_sprintf("%s/%s/%s/%s", cluster, row->kind, ns, row->name)
		  : hcr_sprintf("%s/%s/%s", cluster, row->kind, row->name);
}

typedef struct diff_job {
	hcr_cmp_result *r;
	size_t first, step;
} diff_job;

static void diff_row(hcr_cmp_result *r, size_t i)
{
	hcr_cmp_row *row = &r->rows[i];
	const summary *l = r->pairs[i].l, *rt = r->pairs[i].r;
	json_t *lo = NULL, *ro = NULL;
	char *ll, *rl, *out = NULL;
	hcr_error err;

	hcr_error_clear(&err);
	ll = label(r->side[LEFT].cluster, row, l->ns ? l->ns : NULL);
	rl = label(r->side[RIGHT].cluster, row, rt->ns ? rt->ns : NULL);
	lo = read_record(&r->side[LEFT], l, &err);
	ro = lo ? read_record(&r->side[RIGHT], rt, &err) : NULL;
	if (!lo || !ro || hcr_kube_diff(&out, lo, ro, ll, rl, r->opts.norm_flags, &err) != HCR_OK) {
		free(out);
		out = hcr_sprintf("# no diff: %s\n", err.message);
	}
	row->diff = out;
	json_decref(lo);
	json_decref(ro);
	free(ll);
	free(rl);
}

static void *diff_rows(void *arg)
{
	diff_job *j = arg;
	size_t i;

	for (i = j->first; i < j->r->nrows; i += j->step)
		if (j->r->rows[i].shown && j->r->rows[i].state == HCR_CMP_DIFFERENT)
			diff_row(j->r, i);
	return NULL;
}

/* Diffs on two threads: a diff costs about 0.2 ms, and thousands of them add up. */
static void diffs(hcr_cmp_result *r)
{
	diff_job a = {r, 0, 2}, b = {r, 1, 2};
	pthread_t t;

	if (pthread_create(&t, NULL, diff_rows, &b) != 0) {
		a.step = 1;
		diff_rows(&a);
		return;
	}
	diff_rows(&a);
	pthread_join(t, NULL);
}

/* ---- running ---------------------------------------------------------------------------- */

static char *own(hcr_cmp_result *r, int slot, const char *s)
{
	r->own[slot] = s && *s ? hcr_strdup(s) : NULL;
	return r->own[slot];
}

static int check_opts(const hcr_cmp_opts *o, hcr_error *err)
{
	bool ln = o->left_namespace && *o->left_namespace;
	bool rn = o->right_namespace && *o->right_namespace;

	if (ln != rn)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "comparing two namespaces needs both the left and the right "
				     "namespace");
	if (ln && o->namespace_name && *o->namespace_name)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "give either one namespace for both sides or a left and a "
				     "right namespace, not both");
	if ((unsigned)o->view > HCR_CMP_VIEW_DIFFERENT)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "unknown view");
	return HCR_OK;
}

static int side_failed(hcr_cmp_result *r, hcr_error *err)
{
	int s;

	/* The first side's error, unless it only stopped because the other one failed. */
	for (s = LEFT; s <= RIGHT; s++) {
		if (r->side[s].rc != HCR_OK && r->side[s].err.message[0]) {
			*err = r->side[s].err;
			return r->side[s].rc;
		}
	}
	return HCR_OK;
}

int hcr_cmp_run(hcr_cmp_result **out, hcr_kube *left, hcr_kube *right, const hcr_cmp_opts *opts,
		hcr_error *err)
{
	static const hcr_cmp_opts defaults = {0};
	hcr_cmp_result *r;
	atomic_int stop = 0;
	const char *dir;
	double t0;
	int rc, s;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	rc = check_opts(opts, err);
	if (rc != HCR_OK)
		return rc;
	r = hcr_calloc(1, sizeof(*r));
	r->opts = *opts;
	r->opts.namespace_name = own(r, 0, opts->namespace_name);
	r->opts.left_namespace = own(r, 1, opts->left_namespace);
	r->opts.right_namespace = own(r, 2, opts->right_namespace);
	r->opts.spill_dir = own(r, 3, opts->spill_dir);
	r->opts.kinds = NULL; /* only needed while running */
	r->mapping = r->opts.left_namespace != NULL;
	for (s = LEFT; s <= RIGHT; s++) {
		side *sd = &r->side[s];

		sd->which = s;
		sd->k = s == LEFT ? left : right;
		sd->res = r;
		sd->stop = &stop;
		sd->cluster = hcr_strdup(hcr_kube_name(sd->k));
		sd->server = hcr_strdup(hcr_kube_server(sd->k));
		sd->list_ns =
			r->mapping ? (s == LEFT ? r->opts.left_namespace : r->opts.right_namespace)
				   : r->opts.namespace_name;
		hcr_error_clear(&sd->err);
	}

	t0 = now_s();
	run_both(discover_side, &r->side[LEFT], &r->side[RIGHT]);
	if ((rc = side_failed(r, err)) != HCR_OK)
		goto fail;
	r->opts.kinds = opts->kinds;
	rc = opts->nkinds ? named_kinds(r, err) : HCR_OK;
	r->opts.kinds = NULL;
	if (rc != HCR_OK)
		goto fail;
	if (!opts->nkinds)
		default_kinds(r, r->opts.namespace_name || r->mapping);
	qsort(r->kinds, r->nkinds, sizeof(*r->kinds), by_group_kind);
	r->t_discover = now_s() - t0;

	t0 = now_s();
	if (opts->diff) {
		dir = opts->spill_dir && *opts->spill_dir ? opts->spill_dir : getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
		if (hcr_crypto_random(r->digest_key, sizeof(r->digest_key), err) != HCR_OK) {
			rc = HCR_ERROR;
			goto fail;
		}
		for (s = LEFT; s <= RIGHT; s++) {
			r->side[s].spill = spill_open(dir, err);
			if (!r->side[s].spill) {
				rc = HCR_ERROR;
				goto fail;
			}
		}
	}
	run_both(list_side, &r->side[LEFT], &r->side[RIGHT]);
	if ((rc = side_failed(r, err)) != HCR_OK)
		goto fail;
	r->t_list = now_s() - t0;

	t0 = now_s();
	merge(r);
	r->t_merge = now_s() - t0;
	t0 = now_s();
	if (opts->diff)
		diffs(r);
	r->t_diff = now_s() - t0;
	hcr_log_info("compare",
		     "compared left=%s right=%s kinds=%zu left_objects=%zu right_objects=%zu "
		     "equal=%zu different=%zu left_only=%zu right_only=%zu skipped=%zu "
		     "list_s=%.2f diff_s=%.2f",
		     r->side[LEFT].cluster, r->side[RIGHT].cluster, r->nkinds, r->side[LEFT].n,
		     r->side[RIGHT].n, r->counts[HCR_CMP_EQUAL], r->counts[HCR_CMP_DIFFERENT],
		     r->counts[HCR_CMP_LEFT_ONLY], r->counts[HCR_CMP_RIGHT_ONLY], r->skipped,
		     r->t_list, r->t_diff);
	/* The connections belong to the caller again: nothing may point into them. */
	for (s = LEFT; s <= RIGHT; s++) {
		size_t i;

		r->side[s].disco = NULL;
		r->side[s].k = NULL;
		for (i = 0; i < r->nkinds; i++)
			r->kinds[i].res[s] = NULL;
		if (r->side[s].spill) {
			fclose(r->side[s].spill);
			r->side[s].spill = NULL;
		}
	}
	*out = r;
	return HCR_OK;
fail:
	hcr_cmp_result_free(r);
	return rc;
}

const hcr_cmp_row *hcr_cmp_result_rows(const hcr_cmp_result *r, size_t *n)
{
	*n = r ? r->nrows : 0;
	return r ? r->rows : NULL;
}

bool hcr_cmp_result_differs(const hcr_cmp_result *r)
{
	size_t i;

	for (i = 0; r && i < r->nrows; i++)
		if (r->rows[i].shown && !r->rows[i].skip_reason &&
		    r->rows[i].state != HCR_CMP_EQUAL)
			return true;
	return false;
}

/* ---- the report ------------------------------------------------------------------------- */

static json_t *side_json(const hcr_cmp_result *r, int s)
{
	const char *ns = r->mapping ? (s == LEFT ? r->opts.left_namespace : r->opts.right_namespace)
				    : r->opts.namespace_name;

	return json_pack("{s:s, s:s, s:s*}", "cluster", r->side[s].cluster, "server",
			 r->side[s].server, "namespace", ns);
}

static json_t *kinds_json(const hcr_cmp_result *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->nkinds; i++) {
		const ckind *k = &r->kinds[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:I, s:I}", "group",
						   k->group, "kind", k->kind, "namespaced",
						   k->namespaced, "left", k->api_version[LEFT],
						   "right", k->api_version[RIGHT], "leftObjects",
						   (json_int_t)k->count[LEFT], "rightObjects",
						   (json_int_t)k->count[RIGHT]));
	}
	return a;
}

static json_t *row_json(const hcr_cmp_result *r, const hcr_cmp_row *row)
{
	json_t *o = json_pack("{s:s, s:s}", "group", row->group, "kind", row->kind);

	if (row->namespace_name && !r->mapping)
		json_object_set_new(o, "namespace", json_string(row->namespace_name));
	json_object_set_new(o, "name", json_string(row->name));
	json_object_set_new(o, "state", json_string(hcr_cmp_state_name(row->state)));
	if (row->skip_reason)
		json_object_set_new(o, "skipReason", json_string(row->skip_reason));
	if (row->diff)
		json_object_set_new(o, "diff", json_string(row->diff));
	return o;
}

json_t *hcr_cmp_result_json(const hcr_cmp_result *r)
{
	json_t *items = json_array();
	size_t i;

	for (i = 0; i < r->nrows; i++)
		if (r->rows[i].shown)
			json_array_append_new(items, row_json(r, &r->rows[i]));
	return json_pack("{s:o, s:o, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, "
			 "s:{s:f, s:f, s:f}}",
			 "left", side_json(r, LEFT), "right", side_json(r, RIGHT), "view",
			 hcr_cmp_view_name(r->opts.view), "includeSkipped", r->opts.include_skipped,
			 "summary", "objects", (json_int_t)r->nrows, "equal",
			 (json_int_t)r->counts[HCR_CMP_EQUAL], "different",
			 (json_int_t)r->counts[HCR_CMP_DIFFERENT], "leftOnly",
			 (json_int_t)r->counts[HCR_CMP_LEFT_ONLY], "rightOnly",
			 (json_int_t)r->counts[HCR_CMP_RIGHT_ONLY], "skipped",
			 (json_int_t)r->skipped, "shown", (json_int_t)r->shown, "kinds",
			 kinds_json(r), "items", items, "seconds", "discover", r->t_discover,
			 "list", r->t_list, "diff", r->t_diff);
}

void hcr_cmp_result_free(hcr_cmp_result *r)
{
	size_t i;
	int s;

	if (!r)
		return;
	for (i = 0; i < r->nrows; i++)
		free((char *)r->rows[i].diff);
	free(r->rows);
	free(r->pairs);
	for (i = 0; i < r->nkinds; i++) {
		free(r->kinds[i].group);
		free(r->kinds[i].kind);
		free(r->kinds[i].api_version[LEFT]);
		free(r->kinds[i].api_version[RIGHT]);
	}
	free(r->kinds);
	for (s = LEFT; s <= RIGHT; s++) {
		side *sd = &r->side[s];

		if (sd->spill)
			fclose(sd->spill);
		free(sd->s);
		pool_free(&sd->pool);
		free(sd->names.slots);
		free(sd->cluster);
		free(sd->server);
	}
	for (i = 0; i < sizeof(r->own) / sizeof(r->own[0]); i++)
		free(r->own[i]);
	hcr_crypto_wipe(r->digest_key, sizeof(r->digest_key));
	free(r);
}
