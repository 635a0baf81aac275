/*
 * Fuzz target: what the Kubernetes client reads from outside. The input is
 * tried as a kubeconfig (hcr_kubeconfig_parse, then hcr_kubeconfig_resolve of
 * the current context and of every context; relative paths point into a
 * directory that does not exist), as an exec plugin's ExecCredential
 * (hcr_kube_exec_parse), and as JSON from an API server: a Status turned into
 * an error (hcr_kube_status_error) and an APIResourceList added to a
 * discovery table, then looked up by kubectl-style names.
 */
#include <stddef.h>
#include <stdint.h>

#include "hcr/kube.h"
#include "fuzz.h"

static void as_kubeconfig(const uint8_t *data, size_t size)
{
	hcr_kubeconfig *kc = NULL;
	hcr_kube_context *c = NULL;
	hcr_error err;
	size_t i;

	if (hcr_kubeconfig_parse(&kc, (const char *)data, size, "fuzz", "/nonexistent-fuzz",
				 &err) != HCR_OK)
		return;
	if (hcr_kubeconfig_resolve(&c, kc, NULL, &err) == HCR_OK)
		hcr_kube_context_free(c);
	for (i = 0; i < hcr_kubeconfig_context_count(kc); i++) {
		if (hcr_kubeconfig_resolve(&c, kc, hcr_kubeconfig_context_name(kc, i), &err) ==
		    HCR_OK)
			hcr_kube_context_free(c);
	}
	hcr_kubeconfig_free(kc);
}

static void as_server_json(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"deploy", "ConfigMap", "widgets.example.com", "cronjobs.v1.batch", "a.b.c.d", ""};
	json_t *v = json_loadb((const char *)data, size, 0, NULL);
	hcr_kube_discovery *d;
	hcr_error err;
	size_t i, n;

	if (!v)
		return;
	(void)hcr_kube_status_error(&err, 422, v, "fuzz", "create", "ConfigMap a/b", NULL, "a");
	d = hcr_kube_discovery_new();
	if (hcr_kube_discovery_add(d, "", "v1", v, &err) == HCR_OK &&
	    hcr_kube_discovery_add(d, "example.com", "v1", v, &err) == HCR_OK) {
		(void)hcr_kube_discovery_resources(d, &n);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			(void)hcr_kube_discovery_resolve(d, names[i]);
	}
	hcr_kube_discovery_free(d);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hcr_kube_exec_credential cred;
	hcr_error err;

	fuzz_quiet();
	as_kubeconfig(data, size);
	if (hcr_kube_exec_parse(&cred, (const char *)data, size, "client.authentication.k8s.io/v1",
				&err) == HCR_OK)
		hcr_kube_exec_credential_clear(&cred);
	as_server_json(data, size);
	return 0;
}
