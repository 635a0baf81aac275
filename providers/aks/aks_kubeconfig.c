/*
 * kube_credentials for AKS: POST .../managedClusters/{name}/listClusterUserCredential
 * answers {"kubeconfigs": [{"name", "value": base64 kubeconfig}]}; hcr reads the
 * current context's cluster (server, certificate-authority-data) and user
 * (token) from the first kubeconfig.
 *
 * The kubeconfig's static token carries no expiry, so expiresAt is now + 3600:
 * the sync worker asks again within the hour (a rotated token is then seen).
 * Every copy of the kubeconfig and of the token hcr makes is wiped when freed
 * (libyaml's buffers and nodes included); none is logged.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "aks_int.h"
#include "hcr/crypto.h"
#include "hcr/mem.h"

#define AKS_KUBE_TOKEN_S 3600

/* ---- parsing (pure) -------------------------------------------------------------------- */

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
	(void)doc;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of `key` in mapping `map`, or NULL. */
static yaml_node_t *member(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, p->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* The `inner` mapping of the item of sequence `list` whose name is `name`, or NULL. */
static yaml_node_t *named(yaml_document_t *doc, yaml_node_t *root, const char *list,
			  const char *name, const char *inner)
{
	yaml_node_t *seq = member(doc, root, list);
	yaml_node_item_t *i;

	if (!seq || seq->type != YAML_SEQUENCE_NODE || !name)
		return NULL;
	for (i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		yaml_node_t *it = yaml_document_get_node(doc, *i);
		const char *n = scalar(doc, member(doc, it, "name"));

		if (n && strcmp(n, name) == 0)
			return member(doc, it, inner);
	}
	return NULL;
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

static int bad(hcr_error *err, const char *what)
{
	return hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
			     "the kubeconfig from listClusterUserCredential %s", what);
}

static int read_kubeconfig(json_t **out, yaml_document_t *doc, time_t now, hcr_error *err)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *ctx, *cluster, *user;
	const char *current, *server, *ca, *token;

	if (!root || root->type != YAML_MAPPING_NODE)
		return bad(err, "is not a YAML mapping");
	current = scalar(doc, member(doc, root, "current-context"));
	if (!current || !*current)
		return bad(err, "has no current-context");
	if (!(ctx = named(doc, root, "contexts", current, "context")))
		return bad(err, "lacks its current context");
	cluster = named(doc, root, "clusters", scalar(doc, member(doc, ctx, "cluster")), "cluster");
	if (!cluster)
		return bad(err, "lacks the current context's cluster");
	server = scalar(doc, member(doc, cluster, "server"));
	if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0))
		return bad(err, "has no http(s) server for the current context's cluster");
	ca = scalar(doc, member(doc, cluster, "certificate-authority-data"));
	user = named(doc, root, "users", scalar(doc, member(doc, ctx, "user")), "user");
	if (!user)
		return bad(err, "lacks the current context's user");
	token = scalar(doc, member(doc, user, "token"));
	if (!token || !*token)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the cluster's user credential has no static token (Azure AD "
				     "integration with exec/azure-cli login, or local accounts "
				     "disabled): hcr cannot use it");
	*out = json_pack("{s:s, s:s, s:I}", "server", server, "token", token, "expiresAt",
			 (json_int_t)now + AKS_KUBE_TOKEN_S);
	if (ca && *ca)
		json_object_set_new(*out, "certificateAuthorityData", json_string(ca));
	return HCR_OK;
}

int hcr_aks_parse_kubeconfig(json_t **out, const char *b64, time_t now, hcr_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	unsigned char *raw;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!b64 || !(raw = hcr_crypto_base64_decode(b64, &len)))
		return bad(err, "is not base64");
	if (!yaml_parser_initialize(&parser)) {
		hcr_crypto_wipe(raw, len);
		free(raw);
		return bad(err, "could not be parsed (out of memory)");
	}
	yaml_parser_set_input_string(&parser, raw, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* The problem's text only: never the kubeconfig's own. */
		rc = hcr_error_set(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
				   "the kubeconfig from listClusterUserCredential is not YAML");
		hcr_error_detail(err, "line %lu: %s", (unsigned long)parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "syntax error");
	} else {
		rc = read_kubeconfig(out, &doc, now, err);
		wipe_document(&doc);
		yaml_document_delete(&doc);
	}
	wipe_parser(&parser);
	yaml_parser_delete(&parser);
	hcr_crypto_wipe(raw, len);
	free(raw);
	return rc;
}

/* ---- the call -------------------------------------------------------------------------- */

/* Wipes a string held by a JSON document in place (jansson does not). */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		hcr_crypto_wipe((char *)json_string_value(s), json_string_length(s));
}

static void credentials_listed(aks_job *j, aks_reply *r)
{
	json_t *list = json_object_get(r->body, "kubeconfigs"), *first, *out = NULL, *v;
	hcr_error err;
	size_t i;
	int rc;

	hcr_crypto_wipe(j->snip, sizeof(j->snip));
	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	first = json_array_get(list, 0);
	if (!json_is_string((v = json_object_get(first, "value")))) {
		hcr_aks_unexpected(j, "no kubeconfigs[0].value");
	} else if ((rc = hcr_aks_parse_kubeconfig(&out, json_string_value(v), time(NULL), &err)) !=
		   HCR_OK) {
		hcr_aks_fail(j, rc, &err);
	} else {
		hcr_aks_result(j, out);
	}
	for (i = 0; i < json_array_size(list); i++)
		wipe_json_string(json_object_get(json_array_get(list, i), "value"));
}

static void credentials_step(aks_job *j)
{
	char *path = hcr_aks_path(j, "/listClusterUserCredential");

	hcr_aks_send(j, "ListClusterUserCredential", "POST", path, NULL, NULL, NULL,
		     credentials_listed);
	free(path);
}

int hcr_aks_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload)
{
	aks_job *j;
	hcr_error err;
	int rc = hcr_aks_job_new(&j, p, c, "kube_credentials", true, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	return hcr_aks_job_start(j, credentials_step, &err);
}
