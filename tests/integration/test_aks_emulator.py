"""The AKS emulator (tests/emulators/aksemu.py): Azure AD client-credentials tokens and
ARM's Microsoft.ContainerService API at 2025-10-01, driven over HTTP with the standard
library. Lifecycles are driven with the emulator's clock (POST /admin/clock); nothing
sleeps except the one test of a token expiring on the real clock.
"""

import base64
import http.client
import json
import time
import unittest
import urllib.parse

import harness

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "5b1e8c7a-2222-4333-8444-955566667777"
CLIENT = ("0f2b1c3d-1111-4222-8333-944455556666", "client-secret-value")
SUB = "00000000-0000-0000-0000-000000000001"
API = "api-version=2025-10-01"
SCOPE = "https://management.azure.com/.default"


class AksEmulator(harness.EmulatorProcess):
    """tests/emulators/aksemu.py (ARM for AKS + Azure AD tokens) as a child process, with
    its admin API. `options` are its options without dashes, e.g. page_size=2,
    token_seconds=1, tenant="GUID,GUID2"."""

    def __init__(self, extra=(), **options):
        args = []
        for name, value in options.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        super().__init__("aksemu.py", args + list(extra), "aksemu")
        self.tokens = {}

    # -- HTTP --

    def request(self, method, path, body=None, headers=None, raw=None):
        """(status, headers dict with lower-case names, decoded JSON or raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            h = dict(headers or {})
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            out = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            try:
                return r.status, hdrs, json.loads(out) if out else None
            except ValueError:
                return r.status, hdrs, out
        finally:
            conn.close()

    def token_request(self, form, tenant=TENANT, v2=True):
        path = f"/{tenant}/oauth2/{'v2.0/' if v2 else ''}token"
        return self.request("POST", path, raw=urllib.parse.urlencode(form).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def token(self, client=CLIENT, tenant=TENANT):
        key = (client, tenant)
        if key not in self.tokens:
            status, _, body = self.token_request({
                "grant_type": "client_credentials", "client_id": client[0],
                "client_secret": client[1], "scope": SCOPE}, tenant)
            if status != 200:
                raise RuntimeError(f"aksemu refused the token: {status} {body}")
            self.tokens[key] = body["access_token"]
        return self.tokens[key]

    def arm(self, method, path, body=None, headers=None, token=True, api=True, raw=None):
        """An ARM call: `path` is relative to the server, api-version is added."""
        h = dict(headers or {})
        if token is True:
            token = self.token()
        if token:
            h["Authorization"] = f"Bearer {token}"
        if api:
            path += ("&" if "?" in path else "?") + API
        return self.request(method, path, body=body, headers=h, raw=raw)

    def follow(self, url, **kw):
        """GET an absolute URL this emulator handed out (Azure-AsyncOperation, nextLink)."""
        parts = urllib.parse.urlsplit(url)
        assert parts.netloc == f"127.0.0.1:{self.port}", url
        return self.arm("GET", parts.path + "?" + parts.query, api=False, **kw)

    # -- admin --

    def advance(self, seconds):
        return self.admin("POST", "/admin/clock", {"advance": seconds})[1]

    def reset(self):
        self.tokens = {}
        return self.admin("POST", "/admin/reset", {})[1]

    def add_group(self, name, location="westeurope", subscription=None):
        body = {"name": name, "location": location}
        if subscription:
            body["subscription"] = subscription
        return self.admin("POST", "/admin/resourcegroups", body)[1]

    def add_cluster(self, resource_group, cluster, provisioning_state="Succeeded"):
        status, out = self.admin("POST", "/admin/clusters", {
            "resourceGroup": resource_group, "cluster": cluster,
            "provisioningState": provisioning_state})
        if status != 201:
            raise RuntimeError(f"aksemu refused the cluster: {status} {out}")
        return out

    def state(self, resource_group, name):
        return self.admin("GET", f"/admin/clusters/{resource_group}/{name}")[1]

    def calls(self, cluster=None):
        q = f"?cluster={cluster}" if cluster else ""
        return self.admin("GET", "/admin/calls" + q)[1]["calls"]


def cpath(rg="rg1", name=None, sub=SUB):
    p = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/" \
        "managedClusters"
    return p + (f"/{name}" if name else "")


def ppath(rg, name, pool=None):
    return cpath(rg, name) + "/agentPools" + (f"/{pool}" if pool else "")


def cluster_body(version="1.31", dns="demo", pools=None, **props):
    p = {"kubernetesVersion": version, "dnsPrefix": dns,
         "agentPoolProfiles": pools or [{"name": "system", "mode": "System", "count": 2,
                                         "vmSize": "Standard_D2s_v3",
                                         "availabilityZones": ["1", "2"]}]}
    p.update(props)
    return {"location": "westeurope", "tags": {"team": "payments"}, "properties": p}


class AksEmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = AksEmulator(tenant=f"{TENANT}:contoso.onmicrosoft.com,{OTHER_TENANT}",
                              page_size=2)

    @classmethod
    def tearDownClass(cls):
        cls.emu.destroy()

    def setUp(self):
        self.emu.reset()
        self.emu.add_group("rg1")

    # -- helpers --

    def assertArmError(self, answer, status, code, message=None):
        st, headers, body = answer
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body["error"]["code"], code, body)
        if message is not None:
            self.assertIn(message, body["error"]["message"])
        self.assertTrue(headers.get("x-ms-request-id"))
        self.assertTrue(headers.get("x-ms-correlation-request-id"))
        return body["error"]

    def op_status(self, headers):
        st, h, body = self.emu.follow(headers["azure-asyncoperation"])
        self.assertEqual(st, 200, body)
        return body, h

    def create(self, name="demo", body=None, advance=True):
        st, h, out = self.emu.arm("PUT", cpath("rg1", name), body or cluster_body(dns=name))
        self.assertEqual(st, 201, out)
        if advance:
            self.emu.advance(301)
        return out, h

    def get(self, name="demo"):
        st, h, out = self.emu.arm("GET", cpath("rg1", name))
        self.assertEqual(st, 200, out)
        return out, h

    # -- Azure AD --

    def test_token_flow(self):
        form = {"grant_type": "client_credentials", "client_id": CLIENT[0],
                "client_secret": CLIENT[1], "scope": SCOPE}
        st, h, body = self.emu.token_request(form)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 3599)
        self.assertEqual(body["ext_expires_in"], 3599)
        parts = body["access_token"].split(".")
        self.assertEqual(len(parts), 3)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        self.assertEqual(claims["tid"], TENANT)
        self.assertEqual(claims["appid"], CLIENT[0])
        self.assertEqual(claims["aud"], "https://management.azure.com")
        # The tenant's domain works as well as its GUID; so does the Go SDK's scope.
        st, _, body = self.emu.token_request(
            dict(form, scope="https://management.core.windows.net//.default"),
            tenant="contoso.onmicrosoft.com")
        self.assertEqual(st, 200, body)
        # The v1 endpoint takes resource= and answers numbers as strings.
        v1 = {k: v for k, v in form.items() if k != "scope"}
        st, _, body = self.emu.token_request(dict(v1, resource="https://management.azure.com/"),
                                             v2=False)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["expires_in"], "3599")
        self.assertTrue(body["expires_on"].isdigit())

        st, _, body = self.emu.token_request(dict(form, client_secret="wrong"))
        self.assertEqual(st, 401, body)
        self.assertEqual(body["error"], "invalid_client")
        self.assertEqual(body["error_codes"], [7000215])
        self.assertTrue(body["error_description"].startswith("AADSTS7000215: Invalid client "
                                                             "secret provided."))
        self.assertTrue(body["trace_id"] and body["correlation_id"] and body["timestamp"])
        st, _, body = self.emu.token_request(
            dict(form, client_id="11111111-2222-4333-8444-555555555555"))
        self.assertEqual((st, body["error"], body["error_codes"]),
                         (400, "unauthorized_client", [700016]))
        st, _, body = self.emu.token_request(form, tenant="99999999-9999-4999-8999-999999999999")
        self.assertEqual((st, body["error"], body["error_codes"]), (400, "invalid_request", [90002]))
        st, _, body = self.emu.token_request(dict(form, scope="https://management.azure.com/"))
        self.assertEqual((st, body["error"]), (400, "invalid_scope"))
        st, _, body = self.emu.token_request(dict(form, scope="https://graph.microsoft.com/.default"))
        self.assertEqual((st, body["error"]), (400, "invalid_resource"))
        st, _, body = self.emu.token_request(dict(form, grant_type="password"))
        self.assertEqual((st, body["error"]), (400, "unsupported_grant_type"))
        ops = [c["operation"] for c in self.emu.calls()]
        self.assertEqual(set(ops), {"Token"})

    def test_arm_refuses_missing_bad_and_foreign_tokens(self):
        answer = self.emu.arm("GET", cpath("rg1"), token=None)
        self.assertArmError(answer, 401, "AuthenticationFailed",
                            "The 'Authorization' header is missing")
        www = answer[1]["www-authenticate"]
        self.assertIn(f'authorization_uri="https://login.windows.net/{TENANT}"', www)
        self.assertIn('error="invalid_token"', www)
        self.assertArmError(self.emu.arm("GET", cpath("rg1"), token="not-a-jwt"), 401,
                            "InvalidAuthenticationToken", "The access token is invalid.")
        forged = self.emu.token()[:-4] + "AAAA"
        self.assertArmError(self.emu.arm("GET", cpath("rg1"), token=forged), 401,
                            "InvalidAuthenticationToken")
        foreign = self.emu.token(tenant=OTHER_TENANT)
        self.assertArmError(self.emu.arm("GET", cpath("rg1"), token=foreign), 401,
                            "InvalidAuthenticationTokenTenant",
                            f"It must match the tenant 'https://sts.windows.net/{TENANT}/'")
        st, _, body = self.emu.arm("GET", cpath("rg1"))
        self.assertEqual((st, body), (200, {"value": []}))
        # The tenant-discovery call (Microsoft.Resources api-version) works too.
        st, _, body = self.emu.arm("GET", f"/subscriptions/{SUB}?api-version=2022-12-01",
                                   api=False)
        self.assertEqual((st, body["tenantId"], body["state"]), (200, TENANT, "Enabled"))
        self.assertArmError(self.emu.arm(
            "GET", "/subscriptions/00000000-0000-0000-0000-0000000000ff/providers/"
            "Microsoft.ContainerService/managedClusters"), 404, "SubscriptionNotFound")

    def test_expired_token_is_refused_by_arm(self):
        emu = AksEmulator(token_seconds=2)
        try:
            emu.add_group("rg1")
            issued = time.time()
            st, _, body = emu.token_request({"grant_type": "client_credentials",
                                             "client_id": CLIENT[0], "client_secret": CLIENT[1],
                                             "scope": SCOPE})
            self.assertEqual((st, body["expires_in"]), (200, 1))
            tok = body["access_token"]
            self.assertEqual(emu.arm("GET", cpath("rg1"), token=tok)[0], 200)
            # Expiry is on the real clock, not the emulator's.
            time.sleep(max(0.0, issued + 2.3 - time.time()))
            st, h, body = emu.arm("GET", cpath("rg1"), token=tok)
            self.assertArmError((st, h, body), 401, "ExpiredAuthenticationToken",
                                "The access token expiry UTC time")
            self.assertIn("invalid_token", h["www-authenticate"])
        finally:
            emu.destroy()

    def test_api_version_is_required(self):
        self.assertArmError(self.emu.arm("GET", cpath("rg1"), api=False), 400,
                            "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required")
        self.assertArmError(self.emu.arm("GET", cpath("rg1") + "?api-version=2019-01-01",
                                         api=False), 400, "NoRegisteredProviderFound")
        self.assertArmError(self.emu.arm("GET", cpath("rg1") + "?api-version=latest",
                                         api=False), 400, "InvalidApiVersionParameter")

    # -- clusters --

    def test_create_cluster_runs_creating_then_succeeded_on_the_clock(self):
        st, h, out = self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body())
        self.assertEqual(st, 201, out)
        self.assertEqual(out["properties"]["provisioningState"], "Creating")
        self.assertEqual(h["retry-after"], "10")
        self.assertIn("/providers/Microsoft.ContainerService/locations/westeurope/operations/",
                      h["azure-asyncoperation"])
        self.assertIn("api-version=2025-10-01", h["azure-asyncoperation"])
        op, oh = self.op_status(h)
        self.assertEqual(op["status"], "InProgress")
        self.assertEqual(oh["retry-after"], "10")
        self.assertIn("startTime", op)
        self.assertNotIn("endTime", op)
        self.assertEqual(self.get()[0]["properties"]["provisioningState"], "Creating")
        self.emu.advance(240)  # real time moves the clock too: leave a wide margin
        self.assertEqual(self.op_status(h)[0]["status"], "InProgress")
        self.emu.advance(61)
        op, oh = self.op_status(h)
        self.assertEqual(op["status"], "Succeeded")
        self.assertIn("endTime", op)
        self.assertNotIn("retry-after", oh)
        c, ch = self.get()
        self.assertEqual(c["id"], f"/subscriptions/{SUB}/resourcegroups/rg1/providers/"
                                  "Microsoft.ContainerService/managedClusters/demo")
        self.assertEqual((c["name"], c["type"], c["location"]),
                         ("demo", "Microsoft.ContainerService/ManagedClusters", "westeurope"))
        self.assertEqual(c["tags"], {"team": "payments"})
        self.assertRegex(c["eTag"], r'^"[0-9a-f-]{36}"$')
        self.assertEqual(ch["etag"], c["eTag"])
        self.assertEqual(c["sku"], {"name": "Base", "tier": "Free"})
        self.assertEqual(c["identity"]["type"], "SystemAssigned")
        self.assertEqual(c["identity"]["tenantId"], TENANT)
        p = c["properties"]
        self.assertEqual(p["provisioningState"], "Succeeded")
        self.assertEqual(p["powerState"], {"code": "Running"})
        self.assertEqual(p["kubernetesVersion"], "1.31")
        self.assertRegex(p["currentKubernetesVersion"], r"^1\.31\.\d+$")
        self.assertRegex(p["fqdn"], r"^demo-[0-9a-f]{8}\.hcp\.westeurope\.azmk8s\.io$")
        self.assertRegex(p["azurePortalFQDN"], r"\.portal\.hcp\.westeurope\.azmk8s\.io$")
        self.assertEqual(p["nodeResourceGroup"], "MC_rg1_demo_westeurope")
        self.assertEqual(p["servicePrincipalProfile"], {"clientId": "msi"})
        net = p["networkProfile"]
        for k in ("networkPlugin", "serviceCidr", "dnsServiceIP", "outboundType",
                  "loadBalancerSku", "podCidr"):
            self.assertIn(k, net)
        self.assertEqual((net["serviceCidr"], net["dnsServiceIP"], net["outboundType"]),
                         ("10.0.0.0/16", "10.0.0.10", "loadBalancer"))
        pool, = p["agentPoolProfiles"]
        self.assertEqual((pool["name"], pool["count"], pool["vmSize"], pool["mode"]),
                         ("system", 2, "Standard_D2s_v3", "System"))
        self.assertEqual(pool["provisioningState"], "Succeeded")
        self.assertEqual(pool["powerState"], {"code": "Running"})
        self.assertEqual(pool["currentOrchestratorVersion"], p["currentKubernetesVersion"])
        for k in ("osDiskSizeGB", "osDiskType", "maxPods", "type", "osType", "enableAutoScaling",
                  "availabilityZones", "upgradeSettings", "nodeImageVersion", "eTag"):
            self.assertIn(k, pool)
        self.assertEqual(c["systemData"]["createdBy"], CLIENT[0])
        # If-None-Match: * refuses to overwrite; the cluster is listed.
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body(),
                                         headers={"If-None-Match": "*"}), 412,
                            "PreconditionFailed")
        st, _, lst = self.emu.arm("GET", cpath("rg1"))
        self.assertEqual([x["name"] for x in lst["value"]], ["demo"])

    def test_missing_things_are_404_and_location_is_required(self):
        self.assertArmError(self.emu.arm("GET", cpath("nope", "demo")), 404,
                            "ResourceGroupNotFound", "Resource group 'nope' could not be found.")
        self.assertArmError(self.emu.arm("PUT", cpath("nope", "demo"), cluster_body()), 404,
                            "ResourceGroupNotFound")
        self.assertArmError(self.emu.arm("GET", cpath("rg1", "demo")), 404, "ResourceNotFound",
                            "The Resource 'Microsoft.ContainerService/managedClusters/demo' under "
                            "resource group 'rg1' was not found.")
        body = cluster_body()
        del body["location"]
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), body), 400,
                            "LocationRequired")
        self.assertEqual(self.emu.arm("DELETE", cpath("rg1", "demo"))[0], 204)
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body(pools=[
            {"name": "user", "count": 1}])), 400, "MustDefineAtLeastOneSystemPool")

    def test_bodies_are_checked_against_the_schema(self):
        st, h, body = self.emu.arm("PUT", cpath("rg1", "demo"), raw=b"{not json",
                                   headers={"Content-Type": "application/json"})
        self.assertArmError((st, h, body), 400, "InvalidRequestContent")
        bad = cluster_body()
        bad["properties"]["agentPoolProfiles"][0]["count"] = "two"
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), bad), 400,
                            "InvalidRequestContent",
                            "Path 'properties.agentPoolProfiles[0].count'")
        bad = cluster_body(networkProfile={"networkPlugin": "flannel"})
        err = self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), bad), 400,
                                  "InvalidParameter")
        self.assertEqual(err["target"], "properties.networkProfile.networkPlugin")
        bad = cluster_body(dns="-bad-")
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), bad), 400,
                            "InvalidParameter", "properties.dnsPrefix")
        # Members the schema does not know are dropped, as ARM drops them; the call log
        # names them.
        body = cluster_body(madeUpSetting=True)
        body["properties"]["agentPoolProfiles"][0]["colour"] = "blue"
        out, _ = self.create(body=body)
        self.assertNotIn("madeUpSetting", out["properties"])
        self.assertNotIn("colour", out["properties"]["agentPoolProfiles"][0])
        put, = [c for c in self.emu.calls() if c["operation"] == "PutManagedCluster"
                and c["status"] == 201]
        self.assertEqual(sorted(put["ignored"]),
                         ["properties.agentPoolProfiles[0].colour", "properties.madeUpSetting"])

    def test_update_with_if_match_and_a_stale_etag(self):
        self.create()
        c, _ = self.get()
        etag = c["eTag"]
        c["properties"]["apiServerAccessProfile"] = {"authorizedIPRanges": ["203.0.113.0/24"]}
        stale = dict(c)
        st, h, out = self.emu.arm("PUT", cpath("rg1", "demo"), c, headers={"If-Match": etag})
        self.assertEqual(st, 200, out)
        self.assertEqual(out["properties"]["provisioningState"], "Updating")
        self.assertIn("azure-asyncoperation", h)
        self.assertNotEqual(out["eTag"], etag)
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), stale,
                                         headers={"If-Match": etag}), 412, "PreconditionFailed")
        self.emu.advance(61)
        self.assertEqual(self.op_status(h)[0]["status"], "Succeeded")
        c2, _ = self.get()
        self.assertEqual(c2["properties"]["provisioningState"], "Succeeded")
        self.assertEqual(c2["properties"]["apiServerAccessProfile"]["authorizedIPRanges"],
                         ["203.0.113.0/24"])
        self.assertNotEqual(c2["eTag"], out["eTag"])
        self.assertArmError(self.emu.arm("DELETE", cpath("rg1", "demo"),
                                         headers={"If-Match": etag}), 412, "PreconditionFailed")
        calls = [x for x in self.emu.calls() if x["operation"] == "PutManagedCluster"]
        self.assertEqual(calls[-1]["ifMatch"], etag)

    def test_a_get_put_back_unchanged_changes_nothing(self):
        body = cluster_body(addonProfiles={"omsAgent": {"enabled": True, "config": {
            "logAnalyticsWorkspaceResourceID": "/subscriptions/x/workspaces/w"}}},
            windowsProfile={"adminUsername": "azureuser", "adminPassword": "S3cret!S3cret!"})
        body["properties"]["agentPoolProfiles"][0]["mode"] = "system"  # enums: any case
        out, _ = self.create(body=body)
        self.assertEqual(out["properties"]["agentPoolProfiles"][0]["mode"], "System")
        before, _ = self.get()
        self.assertEqual(list(before["properties"]["addonProfiles"]), ["omsagent"])
        self.assertNotIn("adminPassword", before["properties"]["windowsProfile"])
        st, h, out = self.emu.arm("PUT", cpath("rg1", "demo"), before)
        self.assertEqual((st, out["properties"]["provisioningState"]), (200, "Updating"), out)
        self.assertEqual(out["properties"]["agentPoolProfiles"][0]["provisioningState"],
                         "Succeeded")  # the pool did not change
        put, = [c for c in self.emu.calls() if c["operation"] == "PutManagedCluster"
                and c["status"] == 200]
        self.assertEqual(put["ignored"], [])  # read-only members are not "unknown"
        self.emu.advance(61)
        after, _ = self.get()
        for path in (("identity", "principalId"), ("properties", "fqdn"),
                     ("properties", "addonProfiles", "omsagent", "identity"),
                     ("properties", "networkProfile"), ("properties", "identityProfile")):
            a, b = before, after
            for k in path:
                a, b = a[k], b[k]
            self.assertEqual(a, b, path)
        state = self.emu.state("rg1", "demo")
        self.assertEqual(state["goal"]["properties"]["windowsProfile"]["adminPassword"],
                         "S3cret!S3cret!")  # kept, never shown

    def test_version_upgrade_skip_and_downgrade(self):
        self.create()
        c, _ = self.get()
        before = c["properties"]["currentKubernetesVersion"]
        c["properties"]["kubernetesVersion"] = "1.33"
        err = self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), c), 400,
                                  "OperationNotAllowed",
                                  f"Upgrading Kubernetes version {before} to 1.33.")
        self.assertIn("Available upgrades: [1.32.", err["message"])
        c["properties"]["kubernetesVersion"] = "1.30.2"
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), c), 400,
                            "OperationNotAllowed", f"Downgrading Kubernetes version {before} "
                            "to 1.30.2 is not allowed.")
        c["properties"]["kubernetesVersion"] = "1.99"
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), c), 400,
                            "K8sVersionNotSupported")
        c["properties"]["kubernetesVersion"] = "1.32"
        st, h, out = self.emu.arm("PUT", cpath("rg1", "demo"), c)
        self.assertEqual(st, 200, out)
        self.assertEqual(out["properties"]["provisioningState"], "Upgrading")
        during, _ = self.get()
        self.assertEqual(during["properties"]["kubernetesVersion"], "1.32")  # what was asked
        self.assertEqual(during["properties"]["currentKubernetesVersion"], before)  # what runs
        self.emu.advance(61)
        after, _ = self.get()
        self.assertRegex(after["properties"]["currentKubernetesVersion"], r"^1\.32\.\d+$")
        self.assertEqual(after["properties"]["provisioningState"], "Succeeded")
        # The pool stayed at its version; pools may not run ahead of the control plane.
        pool = after["properties"]["agentPoolProfiles"][0]
        self.assertEqual(pool["currentOrchestratorVersion"], before)
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "system"), {"properties": {
            "count": 2, "orchestratorVersion": "1.33"}}), 400, "NodePoolMcVersionIncompatible")

    def test_immutable_properties_are_refused(self):
        self.create()
        c, _ = self.get()
        for path, value, name in [
                (("dnsPrefix",), "other", "dnsPrefix"),
                (("networkProfile", "networkPlugin"), "kubenet", "networkProfile.networkPlugin"),
                (("apiServerAccessProfile", "enablePrivateCluster"), True,
                 "apiServerAccessProfile.enablePrivateCluster")]:
            body = json.loads(json.dumps(c))
            holder = body["properties"]
            for k in path[:-1]:
                holder = holder.setdefault(k, {})
            holder[path[-1]] = value
            err = self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), body), 400,
                                      "PropertyChangeNotAllowed",
                                      f"Changing property '{name}' is not allowed.")
            self.assertEqual(err["target"], name)
        body = dict(c, location="northeurope")
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), body), 400,
                            "InvalidResourceLocation")
        for prop, value in (("vmSize", "Standard_D8s_v3"), ("availabilityZones", ["3"]),
                            ("osDiskSizeGB", 64)):
            self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "system"), {
                "properties": {"count": 2, prop: value}}), 400, "PropertyChangeNotAllowed",
                f"Changing property 'agentPoolProfile.{prop}' is not allowed.")
        # The same zones in another order are no change.
        st, _, out = self.emu.arm("PUT", ppath("rg1", "demo", "system"), {
            "properties": {"count": 2, "availabilityZones": ["2", "1"]}})
        self.assertEqual(st, 200, out)
        self.assertEqual(self.get()[0]["properties"]["provisioningState"], "Succeeded")

    def test_writes_during_an_operation_are_409(self):
        out, h = self.create(advance=False)
        err = self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body()), 409,
                                  "OperationNotAllowed")
        self.assertEqual(err["message"],
                         "Operation is not allowed: Another operation (Creating) is in progress, "
                         "please wait for it to finish before starting a new operation. See "
                         "https://aka.ms/aks-pending-operation for more details")
        self.assertArmError(self.emu.arm("PATCH", cpath("rg1", "demo"), {"tags": {}}), 409,
                            "OperationNotAllowed")
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "user"),
                                         {"properties": {"count": 1}}), 409,
                            "OperationNotAllowed", "Another operation (Creating)")
        self.emu.advance(301)
        st, _, _ = self.emu.arm("PUT", ppath("rg1", "demo", "user"),
                                {"properties": {"count": 1, "mode": "User"}})
        self.assertEqual(st, 201)
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body()), 409,
                            "OperationNotAllowed",
                            "Another agentpool operation (user - Creating) is in progress")
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "user"),
                                         {"properties": {"count": 2}}), 409,
                            "OperationNotAllowed", "(user - Creating)")
        # Another pool may change meanwhile.
        st, _, out = self.emu.arm("PUT", ppath("rg1", "demo", "system"),
                                  {"properties": {"count": 3}})
        self.assertEqual((st, out["properties"]["provisioningState"]), (200, "Scaling"))

    def test_tags_patch(self):
        self.create()
        before, _ = self.get()
        st, h, out = self.emu.arm("PATCH", cpath("rg1", "demo"), {"tags": {"env": "prod"}})
        self.assertEqual(st, 200, out)
        self.assertEqual(out["tags"], {"env": "prod"})
        self.assertEqual(out["properties"]["provisioningState"], "Updating")
        self.assertIn("azure-asyncoperation", h)
        self.emu.advance(61)
        self.assertEqual(self.op_status(h)[0]["status"], "Succeeded")
        after, _ = self.get()
        self.assertEqual(after["tags"], {"env": "prod"})
        self.assertEqual(after["properties"]["provisioningState"], "Succeeded")
        self.assertNotEqual(after["eTag"], before["eTag"])
        self.assertEqual([c["operation"] for c in self.emu.calls()
                          if c["method"] == "PATCH"], ["PatchManagedClusterTags"])

    def test_delete_cluster_during_create_cancels_it(self):
        _, h = self.create(advance=False)
        st, dh, body = self.emu.arm("DELETE", cpath("rg1", "demo"))
        self.assertEqual((st, body), (202, None))
        self.assertIn("/operationresults/", dh["location"])
        self.assertIn("/operations/", dh["azure-asyncoperation"])
        create_op, _ = self.op_status(h)
        self.assertEqual(create_op["status"], "Canceled")
        self.assertEqual(create_op["error"]["code"], "OperationCanceled")
        self.assertEqual(self.get()[0]["properties"]["provisioningState"], "Deleting")
        st, lh, _ = self.emu.follow(dh["location"])
        self.assertEqual(st, 202)
        self.assertIn("retry-after", lh)
        self.emu.advance(121)
        self.assertEqual(self.emu.follow(dh["location"])[0], 204)
        self.assertEqual(self.op_status(dh)[0]["status"], "Succeeded")
        self.assertArmError(self.emu.arm("GET", cpath("rg1", "demo")), 404, "ResourceNotFound")

    # -- agent pools --

    def test_agent_pool_create_scale_delete(self):
        self.create()
        st, h, out = self.emu.arm("PUT", ppath("rg1", "demo", "user1"), {"properties": {
            "count": 1, "mode": "User", "vmSize": "Standard_D4s_v3",
            "nodeLabels": {"tier": "web"}, "nodeTaints": ["dedicated=web:NoSchedule"],
            "upgradeSettings": {"maxSurge": "33%"}}})
        self.assertEqual(st, 201, out)
        self.assertEqual(out["id"], cpath("rg1", "demo").replace("resourceGroups", "resourcegroups")
                         + "/agentPools/user1")
        self.assertEqual(out["type"], "Microsoft.ContainerService/managedClusters/agentPools")
        self.assertEqual(out["properties"]["provisioningState"], "Creating")
        self.assertEqual(self.op_status(h)[0]["status"], "InProgress")
        self.emu.advance(61)
        st, _, pool = self.emu.arm("GET", ppath("rg1", "demo", "user1"))
        self.assertEqual(pool["properties"]["provisioningState"], "Succeeded")
        self.assertEqual(pool["properties"]["nodeTaints"], ["dedicated=web:NoSchedule"])
        self.assertEqual(pool["properties"]["upgradeSettings"]["maxSurge"], "33%")
        props = dict(pool["properties"], count=4)
        st, h, out = self.emu.arm("PUT", ppath("rg1", "demo", "user1"), {"properties": props},
                                  headers={"If-Match": pool["properties"]["eTag"]})
        self.assertEqual((st, out["properties"]["provisioningState"]), (200, "Scaling"))
        self.assertEqual(out["properties"]["count"], 4)
        self.emu.advance(61)
        st, _, lst = self.emu.arm("GET", ppath("rg1", "demo"))
        self.assertEqual([p["name"] for p in lst["value"]], ["system", "user1"])
        c, _ = self.get()
        self.assertEqual({p["name"]: p["count"] for p in c["properties"]["agentPoolProfiles"]},
                         {"system": 2, "user1": 4})
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "user1"), {
            "properties": {"count": 1, "nodeTaints": ["bad-taint"]}}), 400, "InvalidParameter")
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "user1"), {
            "properties": {"vmSize": "Standard_D4s_v3"}}), 400, "InvalidParameter",
            "Required parameter properties.count is missing (null).")
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "Bad_Name"), {
            "properties": {"count": 1}}), 400, "InvalidParameter")
        st, dh, _ = self.emu.arm("DELETE", ppath("rg1", "demo", "user1"))
        self.assertEqual(st, 202)
        st, _, pool = self.emu.arm("GET", ppath("rg1", "demo", "user1"))
        self.assertEqual(pool["properties"]["provisioningState"], "Deleting")
        self.assertEqual(self.emu.follow(dh["location"])[0], 202)
        self.emu.advance(121)
        self.assertEqual(self.emu.follow(dh["location"])[0], 204)
        self.assertEqual(self.emu.arm("GET", ppath("rg1", "demo", "user1"))[0], 404)
        self.assertEqual(self.emu.arm("DELETE", ppath("rg1", "demo", "user1"))[0], 204)

    def test_the_last_system_pool_stays(self):
        self.create()
        self.assertArmError(self.emu.arm("DELETE", ppath("rg1", "demo", "system")), 400,
                            "OperationNotAllowed",
                            "There has to be at least one system agent pool.")
        self.assertArmError(self.emu.arm("PUT", ppath("rg1", "demo", "system"), {
            "properties": {"count": 2, "mode": "User"}}), 400, "OperationNotAllowed")
        self.emu.arm("PUT", ppath("rg1", "demo", "sys2"), {"properties": {"count": 1,
                                                                          "mode": "System"}})
        self.emu.advance(61)
        self.assertEqual(self.emu.arm("DELETE", ppath("rg1", "demo", "system"))[0], 202)

    def test_autoscaling_count_rules(self):
        self.create()

        def put(**props):
            return self.emu.arm("PUT", ppath("rg1", "demo", "auto"), {"properties": props})
        self.assertArmError(put(count=2, enableAutoScaling=True), 400, "InvalidParameter",
                            "minCount is missing")
        self.assertArmError(put(count=2, enableAutoScaling=True, minCount=5, maxCount=3), 400,
                            "InvalidParameter", "It must be less than or equal to maxCount:3.")
        self.assertArmError(put(count=7, enableAutoScaling=True, minCount=1, maxCount=5), 400,
                            "InvalidParameter", "agentPoolProfile.count was 7. It must be "
                            "greater or equal to minCount:1 and less than or equal to "
                            "maxCount:5.")
        self.assertArmError(put(count=0, mode="System"), 400, "InvalidParameter",
                            "agentPoolProfile.count is invalid")
        st, _, out = put(count=2, enableAutoScaling=True, minCount=1, maxCount=5)
        self.assertEqual(st, 201, out)
        self.assertEqual((out["properties"]["minCount"], out["properties"]["maxCount"]), (1, 5))
        self.emu.advance(61)
        self.assertArmError(put(count=9), 400, "InvalidParameter", "maxCount:5")
        st, _, out = put(count=9, enableAutoScaling=False)
        self.assertEqual(st, 200, out)
        self.assertNotIn("minCount", out["properties"])
        self.assertFalse(out["properties"]["enableAutoScaling"])

    # -- lists, credentials --

    def test_lists_page_with_next_link(self):
        self.emu.add_group("rg2")
        for rg, name in (("rg1", "a1"), ("rg1", "a2"), ("rg1", "a3"), ("rg2", "b1"),
                         ("rg2", "b2")):
            self.emu.add_cluster(rg, {"name": name, "location": "westeurope"})
        seen, url, pages = [], None, 0
        st, _, body = self.emu.arm(
            "GET", f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters")
        while True:
            self.assertEqual(st, 200, body)
            pages += 1
            self.assertLessEqual(len(body["value"]), 2)
            seen += [c["name"] for c in body["value"]]
            url = body.get("nextLink")
            if not url:
                break
            self.assertIn("api-version=2025-10-01", url)
            st, _, body = self.emu.follow(url)
        self.assertEqual((seen, pages), (["a1", "a2", "a3", "b1", "b2"], 3))
        st, _, body = self.emu.arm("GET", cpath("rg2"))
        self.assertEqual([c["name"] for c in body["value"]], ["b1", "b2"])
        self.assertNotIn("nextLink", body)
        self.assertArmError(self.emu.arm("GET", cpath("rg1") + "?$skipToken=%%%"), 400,
                            "InvalidParameter")

    def test_list_cluster_user_credential(self):
        self.create()
        c, _ = self.get()
        st, _, out = self.emu.arm("POST", cpath("rg1", "demo") + "/listClusterUserCredential")
        self.assertEqual(st, 200, out)
        kc, = out["kubeconfigs"]
        self.assertEqual(kc["name"], "clusterUser")
        text = base64.b64decode(kc["value"]).decode()
        self.assertIn(f"server: https://{c['properties']['fqdn']}:443", text)
        self.assertIn("certificate-authority-data: LS0t", text)  # base64 of "-----BEGIN"
        self.assertIn("name: clusterUser_rg1_demo", text)
        token = text.split("token: ")[1].split()[0]
        check = self.emu.admin("POST", "/admin/kube-token", {"token": token})[1]
        self.assertEqual((check["valid"], check["cluster"], check["user"]),
                         (True, "demo", "clusterUser"))
        self.assertFalse(self.emu.admin("POST", "/admin/kube-token", {"token": "x"})[1]["valid"])
        st, _, out = self.emu.arm("POST", cpath("rg1", "demo") + "/listClusterAdminCredential")
        self.assertEqual(out["kubeconfigs"][0]["name"], "clusterAdmin")
        self.emu.admin("PATCH", "/admin/clusters/rg1/demo",
                       {"properties": {"disableLocalAccounts": True}})
        self.assertArmError(self.emu.arm("POST", cpath("rg1", "demo")
                                         + "/listClusterUserCredential"), 400, "BadRequest")

    # -- failures, faults --

    def test_armed_failures_end_failed_with_the_error(self):
        self.emu.admin("POST", "/admin/fail-next", {"kind": "create", "cluster": "demo",
                                                    "code": "QuotaExceeded",
                                                    "message": "Not enough cores."})
        _, h = self.create()
        op, _ = self.op_status(h)
        self.assertEqual(op["status"], "Failed")
        self.assertEqual(op["error"], {"code": "QuotaExceeded", "message": "Not enough cores."})
        c, _ = self.get()
        self.assertEqual(c["properties"]["provisioningState"], "Failed")
        # A Failed cluster takes a new PUT (that is how AKS clusters are repaired).
        st, h, out = self.emu.arm("PUT", cpath("rg1", "demo"), cluster_body())
        self.assertEqual((st, out["properties"]["provisioningState"]), (200, "Updating"))
        self.emu.advance(61)
        self.assertEqual(self.get()[0]["properties"]["provisioningState"], "Succeeded")
        self.emu.admin("POST", "/admin/fail-next", {"kind": "agentPool"})
        st, h, out = self.emu.arm("PUT", ppath("rg1", "demo", "system"),
                                  {"properties": {"count": 5}})
        self.emu.advance(61)
        op, _ = self.op_status(h)
        self.assertEqual((op["status"], op["error"]["code"]), ("Failed", "InternalOperationError"))
        st, _, pool = self.emu.arm("GET", ppath("rg1", "demo", "system"))
        self.assertEqual(pool["properties"]["provisioningState"], "Failed")
        state = self.emu.state("rg1", "demo")
        self.assertEqual([o["status"] for o in state["operations"]],
                         ["Failed", "Succeeded", "Failed"])

    def test_faults_and_throttling(self):
        self.create()
        self.emu.admin("POST", "/admin/faults", {"operation": "GetManagedCluster",
                                                 "status": 429, "retry_after": 7})
        st, h, body = self.emu.arm("GET", cpath("rg1", "demo"))
        self.assertArmError((st, h, body), 429, "TooManyRequests")
        self.assertEqual(h["retry-after"], "7")
        self.assertEqual(self.emu.arm("GET", cpath("rg1", "demo"))[0], 200)  # count 1
        self.emu.admin("POST", "/admin/faults", {"operation": "*", "status": 500,
                                                 "cluster": "other", "count": -1})
        self.assertEqual(self.emu.arm("GET", cpath("rg1", "demo"))[0], 200)  # not this cluster
        self.assertArmError(self.emu.arm("GET", cpath("rg1", "other")), 500,
                            "InternalServerError")
        self.emu.admin("DELETE", "/admin/faults")
        self.emu.admin("POST", "/admin/faults", {"operation": "PutAgentPool", "malformed": True})
        st, _, body = self.emu.arm("PUT", ppath("rg1", "demo", "user"),
                                   {"properties": {"count": 1}})
        self.assertEqual(st, 200)
        self.assertIsInstance(body, bytes)  # not JSON
        self.emu.admin("POST", "/admin/faults", {"operation": "ManagedClusters_Get",
                                                 "drop": True})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.emu.arm("GET", cpath("rg1", "demo"))
        self.emu.admin("POST", "/admin/faults", {"operation": "Token", "status": 503})
        st, _, body = self.emu.token_request({"grant_type": "client_credentials",
                                              "client_id": CLIENT[0],
                                              "client_secret": CLIENT[1], "scope": SCOPE})
        self.assertEqual((st, body["error"]), (503, "temporarily_unavailable"))
        statuses = [(c["operation"], c["status"]) for c in self.emu.calls()]
        self.assertIn(("GetManagedCluster", 0), statuses)
        self.assertIn(("Token", 503), statuses)
        self.assertEqual(self.emu.admin("GET", "/admin/faults")[1], {"faults": []})

    def test_rate_limit_answers_429_with_retry_after(self):
        emu = AksEmulator(rate_per_s=0.2)  # one call per 5 s, burst 1
        try:
            emu.add_group("rg1")
            emu.token()
            answers = [emu.arm("GET", cpath("rg1")) for _ in range(2)]
            self.assertEqual([a[0] for a in answers], [200, 429])
            st, h, body = answers[1]
            self.assertEqual(body["error"]["code"], "TooManyRequests")
            self.assertEqual(h["retry-after"], "5")
            self.assertIn("x-ms-ratelimit-remaining-subscription-reads", answers[0][1])
        finally:
            emu.destroy()

    # -- admin: changes made elsewhere --

    def test_portal_changes_through_the_admin_api(self):
        out = self.emu.add_cluster("rg1", {
            "name": "imported", "location": "East US", "tags": {"owner": "ops"},
            "properties": {"kubernetesVersion": "1.30.4",
                           "agentPoolProfiles": [{"name": "np1", "mode": "System",
                                                  "count": 3}]}})
        self.assertEqual(out["provisioningState"], "Succeeded")
        st, _, c = self.emu.arm("GET", cpath("rg1", "imported"))
        self.assertEqual((c["location"], c["properties"]["currentKubernetesVersion"]),
                         ("eastus", "1.30.4"))
        self.assertEqual(c["systemData"]["createdByType"], "User")
        etag = c["eTag"]
        st, state = self.emu.admin("PATCH", "/admin/clusters/rg1/imported", {
            "tags": {"owner": "ops", "cost": "42"},
            "properties": {"kubernetesVersion": "1.31.2"}})
        self.assertEqual(st, 200, state)
        st, _, c = self.emu.arm("GET", cpath("rg1", "imported"))
        self.assertEqual(c["tags"], {"owner": "ops", "cost": "42"})
        self.assertEqual(c["properties"]["currentKubernetesVersion"], "1.31.2")
        self.assertNotEqual(c["eTag"], etag)
        # A PUT with the old eTag now fails: someone else wrote in between.
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "imported"), c,
                                         headers={"If-Match": etag}), 412, "PreconditionFailed")
        st, _ = self.emu.admin("POST", "/admin/clusters/rg1/imported/agentPools/np2",
                               {"properties": {"count": 2, "mode": "User"}})
        self.assertEqual(st, 201)
        self.emu.admin("PATCH", "/admin/clusters/rg1/imported/agentPools/np2",
                       {"count": 5, "provisioningState": "Scaling"})
        st, _, pool = self.emu.arm("GET", ppath("rg1", "imported", "np2"))
        self.assertEqual((pool["properties"]["count"], pool["properties"]["provisioningState"]),
                         (5, "Scaling"))
        self.assertArmError(self.emu.arm("PUT", cpath("rg1", "imported"), c), 409,
                            "OperationNotAllowed", "(np2 - Scaling)")
        self.emu.admin("DELETE", "/admin/clusters/rg1/imported/agentPools/np2")
        self.assertEqual(self.emu.arm("GET", ppath("rg1", "imported", "np2"))[0], 404)
        self.emu.admin("DELETE", "/admin/clusters/rg1/imported")
        self.assertEqual(self.emu.arm("GET", cpath("rg1", "imported"))[0], 404)

    def test_show_changes_on_success(self):
        emu = AksEmulator(show_changes="success")
        try:
            emu.add_group("rg1")
            emu.add_cluster("rg1", {"name": "demo", "location": "westeurope",
                                    "tags": {"v": "1"}})
            st, _, out = emu.arm("PATCH", cpath("rg1", "demo"), {"tags": {"v": "2"}})
            self.assertEqual(out["tags"], {"v": "2"})  # the answer shows what was asked
            self.assertEqual(emu.arm("GET", cpath("rg1", "demo"))[2]["tags"], {"v": "1"})
            emu.advance(61)
            self.assertEqual(emu.arm("GET", cpath("rg1", "demo"))[2]["tags"], {"v": "2"})
        finally:
            emu.destroy()


if __name__ == "__main__":
    unittest.main()
