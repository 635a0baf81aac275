/*
 * One provider call, run to its end on a private event loop (see
 * hcr/provider_run.h). Providers never block and call back on their loop's
 * thread; here that loop is ours, turned until the callback has run.
 */
#include <ev.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/provider_run.h"

struct run {
	bool done;
	int status;
	json_t *result;
	hcr_error err;
};

bool hcr_provider_config_for(hcr_provider_config *out, const hcr_config *cfg, const char *name)
{
	memset(out, 0, sizeof(*out));
	out->timeout_ms = cfg->rec_request_timeout_ms;
	out->settings = cfg;
	if (strcmp(name, "fake") == 0) {
		if (!cfg->fake_endpoint)
			return false;
		out->endpoint = cfg->fake_endpoint;
	} else if (strcmp(name, "eks") == 0) {
		out->endpoint = cfg->eks_endpoint;
	} else if (strcmp(name, "aks") == 0) {
		out->endpoint = cfg->aks_endpoint;
	} else if (strcmp(name, "gke") == 0) {
		out->endpoint = cfg->gke_endpoint;
	}
	return true;
}

static void on_done(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct run *r = payload;

	r->done = true;
	r->status = status;
	/* A copy: providers may wipe secrets in their result once the callback returns. */
	if (status == HCR_OK)
		r->result = json_deep_copy(result);
	else if (err)
		r->err = *err;
}

int hcr_provider_run(json_t **out, const hcr_provider_ops *ops, const hcr_config *cfg,
		     hcr_provider_call call, const hcr_cluster_ref *ref, hcr_error *err)
{
	struct ev_loop *loop = NULL;
	hcr_http *http = NULL;
	hcr_provider *inst = NULL;
	hcr_provider_config pc;
	hcr_http_opts ho = {0};
	struct run r = {0};
	int rc;

	*out = NULL;
	if (!hcr_provider_config_for(&pc, cfg, ops->name))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the %s provider is not enabled here", ops->name);
	if ((call == HCR_CALL_LIST && !ops->list) ||
	    (call == HCR_CALL_KUBE_CREDENTIALS && !ops->kube_credentials))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the %s provider does not offer this", ops->name);
	loop = ev_loop_new(EVFLAG_AUTO);
	if (!loop)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot create an event loop");
	ho.default_timeout_ms = pc.timeout_ms;
	rc = hcr_http_new(&http, loop, &ho, err);
	if (rc == HCR_OK) {
		pc.http = http;
		rc = ops->create_instance(&inst, &pc, err);
	}
	if (rc == HCR_OK) {
		hcr_error_clear(&r.err);
		if (call == HCR_CALL_LIST)
			rc = ops->list(inst, ref, on_done, &r);
		else if (call == HCR_CALL_KUBE_CREDENTIALS)
			rc = ops->kube_credentials(inst, ref, on_done, &r);
		else
			rc = ops->observe(inst, ref, on_done, &r);
		if (rc == HCR_EAGAIN) {
			while (!r.done)
				ev_run(loop, EVRUN_ONCE);
			rc = r.status;
			if (rc == HCR_OK)
				*out = r.result;
			else
				*err = r.err;
		} else if (rc == HCR_EDENIED) {
			hcr_error_set(err, rc, HCR_ERR_UNAUTHORIZED,
				      "the credential cannot be used with the %s provider",
				      ops->name);
		} else {
			hcr_error_set(err, rc, HCR_ERR_INVALID, "the %s provider refused the call",
				      ops->name);
		}
	}
	if (inst)
		ops->free_instance(inst);
	hcr_http_free(http);
	ev_loop_destroy(loop);
	return rc;
}
