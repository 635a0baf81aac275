/*
 * The test provider "fake": the provider interface (hcr/provider.h) over HTTP
 * to the fake cloud, tests/emulators/fakecloud.py (docs/fakecloud.md). The
 * reconciler's tests and its benchmark run against it; it is enabled only
 * when providers.fake.endpoint is set.
 *
 * Instance settings: cfg->endpoint is required (the fake cloud's base URL,
 * "http://127.0.0.1:<port>"); cfg->http and cfg->timeout_ms as for any provider.
 * Free an instance only once none of its requests is in flight (or after
 * hcr_http_free has cancelled them).
 *
 * Credential: the cluster's opened secret is {"token": "<bearer token>"}.
 * The cluster's name in the cloud is c->cloud_name (c->name when NULL).
 *
 * Calls, results and failures follow hcr/provider.h:
 *   observe         GET /v1/clusters/{name}; status ACTIVE -> busy false, anything
 *                   else (UPDATING, CREATING, DELETING) -> busy true; a 404 with
 *                   ResourceNotFoundException -> {"exists": false}, HCR_OK
 *   apply           POST /v1/clusters/{name}/operations {"operation", "pool",
 *                   "changes", "clientRequestToken": token} -> {"handle": id}
 *   poll_operation  GET /v1/operations/{handle} -> {"state", "error"?}
 *   create          POST /v1/clusters {"name", "document": config (borrowed),
 *                   "clientRequestToken": token} -> {"handle": id}
 *   destroy         DELETE /v1/clusters/{name} -> {"handle": id}
 *   list            GET /v1/clusters, every page -> {"clusters": [{"cloudName",
 *                   "region" (the scope's, when set)}]}
 *   kube_credentials POST /v1/clusters/{name}/kube-credentials -> {"server",
 *                   "certificateAuthorityData"?, "token", "expiresAt"}; a 404 (no
 *                   such cluster, or one without a Kubernetes endpoint) -> HCR_ENOTFOUND
 *                   "the fake cloud has no Kubernetes endpoint for cluster ..."
 * HTTP 409 -> HCR_ECONFLICT; 429, 5xx, transport failures and bodies that are not
 * what the cloud should send -> HCR_EUPSTREAM; 400 / 422 -> HCR_EINVALID; 404 ->
 * HCR_ENOTFOUND; 401 / 403 -> HCR_EDENIED. err->detail is the cloud's
 * "<code>: <message>". A cluster reference without a token fails at once with
 * HCR_EDENIED (the callback is then not called).
 */
#ifndef HCR_PROVIDER_FAKE_H
#define HCR_PROVIDER_FAKE_H

#include "hcr/provider.h"

extern const hcr_provider_ops hcr_fake_provider_ops;

#endif
