/*
 * Helpers of the Kubernetes client that are not about HTTP: wiping secrets,
 * reading the small files a kubeconfig names, turning YAML into JSON (the
 * kubeconfig reader then works on jansson values), PEM checks.
 *
 * Kubeconfigs and the files they name hold credentials, so every buffer that
 * held their text is wiped before it is freed, libyaml's included.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "hcr/crypto.h"
#include "kube_int.h"

/* YAML to JSON: deeper nesting or more nodes than this (alias bombs) is refused. */
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000

void hcr_kube_wipe_free(char *s)
{
	if (s) {
		hcr_crypto_wipe(s, strlen(s));
		free(s);
	}
}

void hcr_kube_wipe_free_n(void *p, size_t len)
{
	if (p) {
		hcr_crypto_wipe(p, len);
		free(p);
	}
}

static void wipe_json(json_t *v, int depth)
{
	const char *key;
	json_t *item;
	size_t i;

	/* Values shared with another document (refcount > 1) are not ours to wipe. */
	if (!v || v->refcount > 1 || depth > YAML_MAX_DEPTH + 2)
		return;
	if (json_is_string(v)) {
		/* jansson gives no writable access; the string is ours and about to go. */
		hcr_crypto_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, item)
		{
			wipe_json(item, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			wipe_json(item, depth + 1);
		}
	}
}

void hcr_kube_json_wipe_decref(json_t *v)
{
	wipe_json(v, 0);
	json_decref(v);
}

char *hcr_kube_read_file(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	buf = hcr_malloc(max + 1);
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	if (buf)
		hcr_kube_wipe_free_n(buf, got);
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return NULL;
}

/* ---- YAML to JSON -------------------------------------------------------------------- */

struct conv {
	yaml_document_t *doc;
	size_t nodes;
};

static json_t *convert(struct conv *c, yaml_node_t *n, int depth);

static json_t *convert_scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	     strcmp(s, "NULL") == 0))
		return json_null();
	return json_stringn(s, len);
}

static json_t *convert_mapping(struct conv *c, yaml_node_t *n, int depth)
{
	json_t *obj = json_object();
	yaml_node_pair_t *p;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		json_t *v;

		if (!k || k->type != YAML_SCALAR_NODE)
			goto fail;
		v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
		if (!v)
			goto fail;
		/* The first of duplicate keys wins, as in the rest of hcr's YAML. */
		if (json_object_get(obj, (const char *)k->data.scalar.value))
			hcr_kube_json_wipe_decref(v);
		else
			json_object_set_new(obj, (const char *)k->data.scalar.value, v);
	}
	return obj;
fail:
	hcr_kube_json_wipe_decref(obj);
	return NULL;
}

static json_t *convert(struct conv *c, yaml_node_t *n, int depth)
{
	json_t *arr;
	yaml_node_item_t *i;

	if (!n || depth > YAML_MAX_DEPTH || ++c->nodes > YAML_MAX_NODES)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return convert_scalar(n);
	case YAML_MAPPING_NODE:
		return convert_mapping(c, n, depth);
	case YAML_SEQUENCE_NODE:
		arr = json_array();
		for (i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			json_t *v = convert(c, yaml_document_get_node(c->doc, *i), depth + 1);

			if (!v) {
				hcr_kube_json_wipe_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	default:
		return NULL;
	}
}

static void wipe_document(yaml_document_t *doc)
{
	yaml_node_t *n;

	for (n = doc->nodes.start; n && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			hcr_crypto_wipe(n->data.scalar.value, n->data.scalar.length);
}

static void wipe_parser(yaml_parser_t *p)
{
	if (p->buffer.start)
		hcr_crypto_wipe(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start)
		hcr_crypto_wipe(p->raw_buffer.start,
				(size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

static int load_document(json_t **out, yaml_parser_t *parser, const char *what, hcr_error *err)
{
	yaml_document_t doc;
	yaml_node_t *root;
	struct conv c = {&doc, 0};

	if (!yaml_parser_load(parser, &doc)) {
		/* The problem's text only: never the document's own. */
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "%s is not YAML", what);
		hcr_error_detail(err, "line %lu column %lu: %s",
				 (unsigned long)parser->problem_mark.line + 1,
				 (unsigned long)parser->problem_mark.column + 1,
				 parser->problem ? parser->problem : "syntax error");
		return HCR_EINVALID;
	}
	root = yaml_document_get_root_node(&doc);
	*out = root ? convert(&c, root, 0) : json_object();
	wipe_document(&doc);
	yaml_document_delete(&doc);
	if (!*out) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "%s is not YAML hcr can read",
			      what);
		hcr_error_detail(err,
				 "nested deeper than %d levels, more than %d nodes, or a "
				 "mapping key that is not a plain value",
				 YAML_MAX_DEPTH, YAML_MAX_NODES);
		return HCR_EINVALID;
	}
	return HCR_OK;
}

int hcr_kube_yaml_to_json(json_t **out, const char *text, size_t len, const char *what,
			  hcr_error *err)
{
	yaml_parser_t parser;
	int rc;

	*out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "hcr: out of memory initialising the YAML parser\n");
		abort();
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	rc = load_document(out, &parser, what, err);
	wipe_parser(&parser);
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- PEM ----------------------------------------------------------------------------- */

bool hcr_kube_is_pem(const char *pem, size_t len)
{
	return pem && memmem(pem, len, "-----BEGIN ", 11) != NULL;
}

char *hcr_kube_pem_from_base64(const char *b64, size_t *len, bool *bad_base64)
{
	size_t n = strlen(b64), i, j = 0, out_len = 0;
	char *clean = hcr_malloc(n + 1);
	unsigned char *raw;
	char *pem;

	/* YAML folding and hand-wrapped values put whitespace inside; drop it. */
	for (i = 0; i < n; i++)
		if (b64[i] != ' ' && b64[i] != '\n' && b64[i] != '\r' && b64[i] != '\t')
			clean[j++] = b64[i];
	clean[j] = '\0';
	raw = hcr_crypto_base64_decode(clean, &out_len);
	hcr_kube_wipe_free_n(clean, j);
	*bad_base64 = raw == NULL || j == 0;
	if (*bad_base64) {
		hcr_kube_wipe_free_n(raw, out_len);
		return NULL;
	}
	pem = hcr_malloc(out_len + 1);
	memcpy(pem, raw, out_len);
	pem[out_len] = '\0';
	hcr_kube_wipe_free_n(raw, out_len);
	*len = out_len;
	return pem;
}

/* ---- exec configuration copies ------------------------------------------------------- */

static char **dup_strings(char *const *v, size_t n)
{
	char **out = hcr_calloc(n + 1, sizeof(*out));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = hcr_strdup(v[i]);
	return out;
}

hcr_kube_exec_config *hcr_kube_exec_config_dup(const hcr_kube_exec_config *x)
{
	hcr_kube_exec_config *c;

	if (!x)
		return NULL;
	c = hcr_calloc(1, sizeof(*c));
	c->api_version = hcr_strdup(x->api_version);
	c->command = hcr_strdup(x->command);
	c->args = dup_strings(x->args, x->nargs);
	c->nargs = x->nargs;
	c->env = dup_strings(x->env, x->nenv);
	c->nenv = x->nenv;
	c->install_hint = hcr_strdup(x->install_hint);
	c->provide_cluster_info = x->provide_cluster_info;
	c->timeout_ms = x->timeout_ms;
	return c;
}

void hcr_kube_exec_config_free(hcr_kube_exec_config *x)
{
	size_t i;

	if (!x)
		return;
	free(x->api_version);
	free(x->command);
	for (i = 0; i < x->nargs; i++)
		hcr_kube_wipe_free(x->args[i]);
	free(x->args);
	/* The env may carry secrets (AWS_SECRET_ACCESS_KEY for aws eks get-token). */
	for (i = 0; i < x->nenv; i++)
		hcr_kube_wipe_free(x->env[i]);
	free(x->env);
	free(x->install_hint);
	free(x);
}

void hcr_kube_buf_escape(hcr_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			hcr_buf_append(b, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			hcr_buf_append(b, e, 3);
		}
	}
}
