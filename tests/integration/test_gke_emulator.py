"""The GKE emulator (tests/emulators/gkeemu.py), driven over HTTP with the standard library.

The client side is written here from the same sources as the emulator (the container v1
discovery document and Google's OAuth 2.0 service-account flow): JWT assertions are
signed with the fixture service-account key (tests/fixtures/gke/) using `cryptography`.
Lifecycles are driven with the emulator's clock (POST /admin/clock); nothing sleeps.
"""

import base64
import http.client
import json
import os
import socket
import time
import unittest

import harness
from harness import ROOT

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    HAVE_CRYPTO = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_CRYPTO = False

NEEDS_CRYPTO = "the Python package cryptography is not installed (apt-get install " \
               "python3-cryptography); the emulator and these tests need it for RS256"

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "gke")
KEY_FILE = os.path.join(FIXTURES, "service-account.json")
PUB_FILE = os.path.join(FIXTURES, "service-account.pub.pem")
PROJECT = "hcr-test-project"
ZONE = "us-central1-a"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
OP_NAME_RE = r"^operation-\d+-[0-9a-f-]{36}$"
RFC3339_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"


class GkeEmulator(harness.EmulatorProcess):
    """tests/emulators/gkeemu.py (the GKE + OAuth token emulator) as a child process, with
    its admin API. `durations` are its options without dashes, e.g. op_seconds=60."""

    def __init__(self, service_accounts=(), projects=(), extra=(), **durations):
        args = []
        for sa in service_accounts:
            args += ["--service-account", sa]
        for p in projects:
            args += ["--project", p]
        for name, value in durations.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        super().__init__("gkeemu.py", args + list(extra), "gkeemu")
        self.project = projects[0] if projects else PROJECT
        self.token_uri = self.url + "/token"

    def calls(self, cluster=None):
        return self.admin("GET", "/admin/calls" + (f"?cluster={cluster}" if cluster else ""))[1][
            "calls"]

    def add_cluster(self, location, cluster, status="RUNNING", project=None):
        body = {"location": location, "cluster": cluster, "status": status}
        if project:
            body["project"] = project
        code, out = self.admin("POST", "/admin/clusters", body)
        if code != 201:
            raise RuntimeError(f"gkeemu refused the cluster: {code} {out}")
        return out

    def state(self, location, name):
        return self.admin("GET", f"/admin/clusters/{location}/{name}")[1]

    def advance(self, seconds):
        return self.admin("POST", "/admin/clock", {"advance": seconds})[1]

    def reset(self):
        return self.admin("POST", "/admin/reset", {})[1]

    def mint_token(self, **body):
        return self.admin("POST", "/admin/tokens", body)[1]["access_token"]

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        """(status, decoded JSON or raw bytes, headers) of one call."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            out = r.read()
            try:
                decoded = json.loads(out) if out else None
            except ValueError:
                decoded = out
            return r.status, decoded, r.headers
        finally:
            conn.close()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def load_key_file(path=KEY_FILE):
    with open(path) as f:
        info = json.load(f)
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    return info, key


def make_jwt(key, claims, kid=None, alg="RS256"):
    """A JWT signed RS256 (RSASSA-PKCS1-v1_5 with SHA-256), the way Google's client
    libraries sign service-account assertions."""
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def claims_for(email, aud, scope=SCOPE, iat=None, lifetime=3600):
    iat = int(time.time()) if iat is None else iat
    return {"iss": email, "scope": scope, "aud": aud, "iat": iat, "exp": iat + lifetime}


@unittest.skipUnless(HAVE_CRYPTO, NEEDS_CRYPTO)
class GkeEmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = GkeEmulator()
        cls.info, cls.key = load_key_file()
        cls.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        status, out = cls.token_request(cls.assertion())
        assert status == 200, out
        cls.token = out["access_token"]

    @classmethod
    def tearDownClass(cls):
        cls.emu.destroy()

    def setUp(self):
        self.emu.reset()

    # -- helpers --

    @classmethod
    def assertion(cls, key=None, email=None, aud=None, kid="fixture", **kw):
        if kid == "fixture":
            kid = cls.info["private_key_id"]
        return make_jwt(key or cls.key, claims_for(email or cls.info["client_email"],
                                                   aud or cls.emu.token_uri, **kw), kid=kid)

    @classmethod
    def token_request(cls, assertion, grant_type=JWT_BEARER):
        form = f"grant_type={grant_type.replace(':', '%3A')}&assertion={assertion}"
        status, out, _ = cls.emu.request(
            "POST", "/token", raw=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return status, out

    def api(self, method, path, body=None, token="default", location=ZONE, project=PROJECT):
        """A container v1 call relative to v1/projects/P/locations/L: (status, JSON)."""
        if token == "default":
            token = self.token
        full = f"/v1/projects/{project}/locations/{location}" + path
        status, out, _ = self.emu.request(method, full, body=body, token=token)
        return status, out

    def ok(self, method, path, body=None, **kw):
        status, out = self.api(method, path, body, **kw)
        self.assertEqual(status, 200, out)
        return out

    def assertApiError(self, result, status, canonical, message=None, reason=None):
        code, out = result
        self.assertEqual(code, status, out)
        err = out["error"]
        self.assertEqual(err["code"], status)
        self.assertEqual(err["status"], canonical)
        self.assertEqual(err["errors"][0]["domain"], "global")
        if reason is not None:
            self.assertEqual(err["errors"][0]["reason"], reason)
        if message is not None:
            self.assertIn(message, err["message"])
        self.assertTrue(any(d.get("@type") == "type.googleapis.com/google.rpc.RequestInfo"
                            for d in err["details"]))
        return err

    def add_running(self, name="demo", version="1.29", pools=("pool-a",), labels=None,
                    location=ZONE):
        cluster = {"name": name, "initialClusterVersion": version,
                   "nodePools": [{"name": p, "initialNodeCount": 2} for p in pools]}
        if labels is not None:
            cluster["resourceLabels"] = labels
        return self.emu.add_cluster(location, cluster)["cluster"]

    def get(self, name="demo", location=ZONE):
        return self.ok("GET", f"/clusters/{name}", location=location)

    def finish(self, op, seconds=61):
        self.emu.advance(seconds)
        done = self.ok("GET", f"/operations/{op['name']}", location=op["location"])
        self.assertEqual(done["status"], "DONE", done)
        return done

    # -- the token endpoint --

    def test_token_flow_with_the_fixture_key(self):
        status, out = self.token_request(self.assertion())
        self.assertEqual(status, 200, out)
        self.assertEqual(set(out), {"access_token", "expires_in", "token_type"})
        self.assertTrue(out["access_token"].startswith("ya29."))
        self.assertEqual(out["expires_in"], 3599)
        self.assertEqual(out["token_type"], "Bearer")
        self.assertEqual(self.api("GET", "/clusters", token=out["access_token"]), (200, {}))
        # The real token URI is an accepted audience too, and kid may be left out.
        status, out = self.token_request(self.assertion(aud="https://oauth2.googleapis.com/token",
                                                        kid=None))
        self.assertEqual(status, 200, out)
        # A JSON body works as well as a form.
        status, out, _ = self.emu.request("POST", "/token", body={
            "grant_type": JWT_BEARER, "assertion": self.assertion()})
        self.assertEqual(status, 200, out)
        log = [c for c in self.emu.calls() if c["methodId"] == "token"]
        self.assertEqual([c["status"] for c in log], [200, 200, 200])
        self.assertEqual(log[0]["client"], self.info["client_email"])

    def test_token_refusals(self):
        def refused(assertion, error, description, grant_type=JWT_BEARER):
            status, out = self.token_request(assertion, grant_type)
            self.assertEqual(status, 400, out)
            self.assertEqual(out["error"], error)
            self.assertIn(description, out["error_description"])

        bad_sig = "Invalid JWT Signature."
        refused(self.assertion(key=self.other_key), "invalid_grant", bad_sig)
        refused(self.assertion(key=self.other_key, kid=None), "invalid_grant", bad_sig)
        refused(self.assertion(email="stranger@elsewhere.iam.gserviceaccount.com"),
                "invalid_grant", bad_sig)
        refused(self.assertion(kid="0" * 40), "invalid_grant", bad_sig)
        refused("not.a.jwt", "invalid_grant", bad_sig)
        refused(self.assertion(aud="https://example.com/token"), "invalid_grant",
                "Invalid JWT: Failed audience check.")
        short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes)"
        refused(self.assertion(iat=int(time.time()) - 7200), "invalid_grant", short_lived)
        refused(self.assertion(lifetime=7200), "invalid_grant", short_lived)
        refused(self.assertion(iat=int(time.time()) + 3000), "invalid_grant", short_lived)
        refused(self.assertion(scope=""), "invalid_scope", "Invalid OAuth scope")
        refused(self.assertion(), "unsupported_grant_type", "Invalid grant_type",
                grant_type="client_credentials")
        status, out = self.token_request("", JWT_BEARER)
        self.assertEqual((status, out["error"]), (400, "invalid_request"))

    def test_service_account_given_as_email_and_public_key(self):
        emu = GkeEmulator(service_accounts=[f"{self.info['client_email']}:{PUB_FILE}"])
        try:
            form = "grant_type=" + JWT_BEARER.replace(":", "%3A") + "&assertion=" + make_jwt(
                self.key, claims_for(self.info["client_email"], emu.token_uri), kid="any-kid")
            status, out, _ = emu.request("POST", "/token", raw=form.encode(), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200, out)
        finally:
            emu.destroy()

    def test_the_api_wants_a_valid_token_with_the_scope_and_a_known_project(self):
        status, out, headers = self.emu.request(
            "GET", f"/v1/projects/{PROJECT}/locations/{ZONE}/clusters")
        self.assertApiError((status, out), 401, "UNAUTHENTICATED",
                            "Request is missing required authentication credential")
        self.assertIn('Bearer realm="https://accounts.google.com/"',
                      headers["WWW-Authenticate"])
        self.assertApiError(self.api("GET", "/clusters", token="ya29.unknown"), 401,
                            "UNAUTHENTICATED",
                            "Request had invalid authentication credentials.")
        expired = self.emu.mint_token(seconds=0)
        self.assertApiError(self.api("GET", "/clusters", token=expired), 401, "UNAUTHENTICATED")
        narrow = self.emu.mint_token(scope="https://www.googleapis.com/auth/userinfo.email")
        self.assertApiError(self.api("GET", "/clusters", token=narrow), 403, "PERMISSION_DENIED",
                            "Request had insufficient authentication scopes.")
        self.assertApiError(self.api("GET", "/clusters/demo", project="someone-elses"), 403,
                            "PERMISSION_DENIED",
                            'Required "container.clusters.get" permission(s) for '
                            f'"projects/someone-elses/locations/{ZONE}/clusters/demo".',
                            reason="forbidden")
        self.assertEqual(self.emu.admin("DELETE", "/admin/tokens")[0], 200)
        self.assertApiError(self.api("GET", "/clusters"), 401, "UNAUTHENTICATED")
        status, out = self.token_request(self.assertion())
        type(self).token = out["access_token"]
        self.assertEqual(self.api("GET", "/clusters")[0], 200)

    # -- clusters --

    def test_create_cluster_provisions_then_runs(self):
        op = self.ok("POST", "/clusters", {"cluster": {
            "name": "demo", "initialClusterVersion": "1.29",
            "resourceLabels": {"team": "payments"},
            "nodePools": [{"name": "pool-a", "initialNodeCount": 3,
                           "config": {"machineType": "e2-standard-4",
                                      "labels": {"tier": "web"},
                                      "taints": [{"key": "k", "value": "v",
                                                  "effect": "NO_SCHEDULE"}]},
                           "autoscaling": {"enabled": True, "minNodeCount": 1,
                                           "maxNodeCount": 5},
                           "maxPodsConstraint": {"maxPodsPerNode": 64}}]}})
        self.assertRegex(op["name"], OP_NAME_RE)
        self.assertEqual((op["operationType"], op["status"]), ("CREATE_CLUSTER", "RUNNING"))
        self.assertEqual((op["zone"], op["location"]), (ZONE, ZONE))
        self.assertTrue(op["selfLink"].endswith(
            f"/v1/projects/{PROJECT}/locations/{ZONE}/operations/{op['name']}"))
        self.assertTrue(op["targetLink"].endswith(f"/locations/{ZONE}/clusters/demo"))
        self.assertRegex(op["startTime"], RFC3339_RE)
        self.assertNotIn("endTime", op)
        c = self.get()
        self.assertEqual(c["status"], "PROVISIONING")
        self.assertEqual(c["nodePools"][0]["status"], "PROVISIONING")
        self.assertNotIn("endpoint", c)
        # Anything else on the cluster waits for the create.
        self.assertApiError(self.api("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {}, "labelFingerprint": c["labelFingerprint"]}), 400,
            "FAILED_PRECONDITION", f"Cluster is running incompatible operation {op['name']}",
            reason="failedPrecondition")
        self.emu.advance(299)
        self.assertEqual(self.ok("GET", f"/operations/{op['name']}")["status"], "RUNNING")
        done = self.finish(op, 2)
        self.assertRegex(done["endTime"], RFC3339_RE)
        self.assertNotIn("error", done)
        c = self.get()
        self.assertEqual(c["status"], "RUNNING")
        self.assertEqual(c["name"], "demo")
        self.assertEqual(c["location"], ZONE)
        self.assertEqual(c["zone"], ZONE)
        self.assertEqual(c["locations"], [ZONE])
        self.assertRegex(c["currentMasterVersion"], r"^1\.29\.\d+-gke\.\d+$")
        self.assertEqual(c["initialClusterVersion"], c["currentMasterVersion"])
        self.assertEqual(c["currentNodeVersion"], c["currentMasterVersion"])
        self.assertRegex(c["createTime"], RFC3339_RE)
        self.assertRegex(c["endpoint"], r"^\d+\.\d+\.\d+\.\d+$")
        pem = base64.b64decode(c["masterAuth"]["clusterCaCertificate"]).decode()
        self.assertTrue(pem.startswith("-----BEGIN CERTIFICATE-----"))
        self.assertTrue(c["selfLink"].endswith(f"/v1/projects/{PROJECT}/locations/{ZONE}/"
                                               "clusters/demo"))
        self.assertEqual(c["resourceLabels"], {"team": "payments"})
        self.assertRegex(c["labelFingerprint"], r"^[0-9a-f]{8}$")
        self.assertEqual(c["loggingService"], "logging.googleapis.com/kubernetes")
        self.assertEqual(c["monitoringService"], "monitoring.googleapis.com/kubernetes")
        self.assertEqual((c["network"], c["subnetwork"]), ("default", "default"))
        self.assertRegex(c["clusterIpv4Cidr"], r"^10\.\d+\.0\.0/14$")
        self.assertEqual(c["addonsConfig"]["httpLoadBalancing"], {})
        self.assertEqual(c["addonsConfig"]["networkPolicyConfig"], {"disabled": True})
        self.assertTrue(c["ipAllocationPolicy"]["useIpAliases"])
        self.assertEqual(c["currentNodeCount"], 3)
        self.assertIn("etag", c)
        pool = c["nodePools"][0]
        self.assertEqual(pool["status"], "RUNNING")
        self.assertEqual(pool["name"], "pool-a")
        self.assertEqual(pool["initialNodeCount"], 3)
        self.assertEqual(pool["version"], c["currentMasterVersion"])
        self.assertEqual(pool["config"]["machineType"], "e2-standard-4")
        self.assertEqual(pool["config"]["diskSizeGb"], 100)
        self.assertEqual(pool["config"]["imageType"], "COS_CONTAINERD")
        self.assertEqual(pool["config"]["labels"], {"tier": "web"})
        self.assertEqual(pool["config"]["taints"], [{"key": "k", "value": "v",
                                                     "effect": "NO_SCHEDULE"}])
        self.assertIn("https://www.googleapis.com/auth/devstorage.read_only",
                      pool["config"]["oauthScopes"])
        self.assertEqual(pool["autoscaling"], {"enabled": True, "minNodeCount": 1,
                                               "maxNodeCount": 5})
        self.assertEqual(pool["management"], {"autoUpgrade": True, "autoRepair": True})
        self.assertEqual(pool["maxPodsConstraint"], {"maxPodsPerNode": "64"})  # int64: string
        self.assertEqual(pool["podIpv4CidrSize"], 25)
        self.assertEqual(pool["locations"], [ZONE])
        self.assertEqual(len(pool["instanceGroupUrls"]), 1)
        self.assertTrue(pool["selfLink"].endswith("/clusters/demo/nodePools/pool-a"))
        self.assertEqual(c["nodeConfig"], pool["config"])
        listed = self.ok("GET", "/clusters")["clusters"]
        self.assertEqual([x["name"] for x in listed], ["demo"])
        self.assertEqual([x["name"] for x in self.ok("GET", "/clusters", location="-")[
            "clusters"]], ["demo"])
        self.assertEqual(self.ok("GET", "/clusters", location="europe-west1"), {})
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "demo", "initialNodeCount": 1}}), 409, "ALREADY_EXISTS",
            f"Already exists: projects/{PROJECT}/locations/{ZONE}/clusters/demo.")

    def test_create_refusals_and_unknown_cluster(self):
        self.assertApiError(self.api("GET", "/clusters/nope"), 404, "NOT_FOUND",
                            f"Not found: projects/{PROJECT}/locations/{ZONE}/clusters/nope.",
                            reason="notFound")
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "Bad_Name", "initialNodeCount": 1}}), 400, "INVALID_ARGUMENT", "cluster.name")
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {"name": "nonodes"}}), 400,
                            "INVALID_ARGUMENT", "initial_node_count must be greater than zero")
        err = self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "typo", "initialNodeCount": 1, "nodePoolz": []}}), 400, "INVALID_ARGUMENT",
            'Invalid JSON payload received. Unknown name "nodePoolz" at \'cluster\': Cannot '
            'find field.')
        self.assertEqual(err["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest")
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "typo", "initialNodeCount": "three"}}), 400, "INVALID_ARGUMENT",
            "Invalid value at 'cluster.initial_node_count' (TYPE_INT32)")
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "x1", "nodePools": [{"name": "p", "config": {"taints": [
                {"key": "k", "effect": "NO_WAY"}]}}]}}), 400, "INVALID_ARGUMENT")
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "x2", "initialNodeCount": 1, "initialClusterVersion": "1.12"}}), 400,
            "INVALID_ARGUMENT", 'Master version "1.12" is unsupported.')
        self.assertApiError(self.api("POST", "/clusters", {"cluster": {
            "name": "x3", "nodePools": [{"name": "p", "version": "1.33"}],
            "initialClusterVersion": "1.30"}}), 400, "INVALID_ARGUMENT",
            "must not be newer than the master version")
        status, out, _ = self.emu.request(
            "POST", f"/v1/projects/{PROJECT}/locations/{ZONE}/clusters", raw=b"{not json",
            token=self.token)
        self.assertApiError((status, out), 400, "INVALID_ARGUMENT",
                            "Invalid JSON payload received.")
        status, out, _ = self.emu.request("GET", "/v1/projects/p/nothing", token=self.token)
        self.assertEqual((status, out["error"]["status"]), (404, "NOT_FOUND"))

    def test_regional_cluster_from_initial_node_count(self):
        op = self.ok("POST", "/clusters", {"cluster": {"name": "reg", "initialNodeCount": 1}},
                     location="us-central1")
        self.finish(op, 301)
        c = self.get("reg", location="us-central1")
        self.assertEqual(c["locations"], ["us-central1-a", "us-central1-b", "us-central1-c"])
        self.assertEqual(c["nodePools"][0]["name"], "default-pool")
        self.assertEqual(len(c["nodePools"][0]["instanceGroupUrls"]), 3)
        self.assertEqual(c["currentNodeCount"], 3)  # per zone
        self.assertRegex(c["currentMasterVersion"], r"^1\.31\.")  # the default

    def test_master_upgrade_runs_reconciling_then_done(self):
        before = self.add_running()["currentMasterVersion"]
        op = self.ok("PUT", "/clusters/demo", {"update": {"desiredMasterVersion": "1.30"}})
        self.assertEqual((op["operationType"], op["status"]), ("UPGRADE_MASTER", "RUNNING"))
        c = self.get()
        self.assertEqual(c["status"], "RECONCILING")
        self.assertEqual(c["currentMasterVersion"], before)  # not yet
        self.assertApiError(self.api("POST", "/clusters/demo/nodePools/pool-a:setSize",
                                     {"nodeCount": 4}), 400, "FAILED_PRECONDITION",
                            f"Cluster is running incompatible operation {op['name']}.")
        self.finish(op)
        c = self.get()
        self.assertEqual(c["status"], "RUNNING")
        self.assertRegex(c["currentMasterVersion"], r"^1\.30\.\d+-gke\.\d+$")
        self.assertEqual(c["currentNodeVersion"], before)  # nodes stay behind
        self.assertEqual(c["initialClusterVersion"], before)
        # An explicit version with an older patch of the same minor is fine; a minor
        # downgrade or a skipped minor is not.
        self.assertApiError(self.api("PUT", "/clusters/demo", {
            "update": {"desiredMasterVersion": "1.29"}}), 400, "INVALID_ARGUMENT",
            "Master cannot be downgraded")
        self.assertApiError(self.api("PUT", "/clusters/demo", {
            "update": {"desiredMasterVersion": "1.32"}}), 400, "INVALID_ARGUMENT",
            "upgrade one minor version at a time")
        self.assertApiError(self.api("PUT", "/clusters/demo", {
            "update": {"desiredMasterVersion": "9.99"}}), 400, "INVALID_ARGUMENT")
        # Nodes follow with desiredNodeVersion ("-" is the master's version).
        op = self.ok("PUT", "/clusters/demo", {"update": {"desiredNodeVersion": "-",
                                                          "desiredNodePoolId": "pool-a"}})
        self.assertEqual(op["operationType"], "UPGRADE_NODES")
        self.assertTrue(op["targetLink"].endswith("/nodePools/pool-a"))
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-a")["status"],
                         "RECONCILING")
        self.finish(op)
        self.assertEqual(self.get()["currentNodeVersion"], self.get()["currentMasterVersion"])

    def test_cluster_update_wants_exactly_one_member(self):
        self.add_running()
        self.assertApiError(self.api("PUT", "/clusters/demo", {"update": {
            "desiredMasterVersion": "1.30",
            "desiredLoggingService": "none"}}), 400, "INVALID_ARGUMENT",
            "at most one field can be provided")
        self.assertApiError(self.api("PUT", "/clusters/demo", {"update": {}}), 400,
                            "INVALID_ARGUMENT")
        self.assertApiError(self.api("PUT", "/clusters/demo", {"update": {
            "desiredNothing": True}}), 400, "INVALID_ARGUMENT", 'Unknown name "desiredNothing"')
        self.assertApiError(self.api("PUT", "/clusters/demo", {"update": {
            "desiredLoggingService": "syslog"}}), 400, "INVALID_ARGUMENT")
        self.assertApiError(self.api("PUT", "/clusters/demo", {"update": {
            "desiredMasterVersion": "1.30", "etag": "stale"}}), 409, "ABORTED")
        # Other members apply when the operation is done.
        op = self.ok("PUT", "/clusters/demo", {"update": {
            "desiredMasterAuthorizedNetworksConfig": {
                "enabled": True, "cidrBlocks": [{"displayName": "office",
                                                 "cidrBlock": "203.0.113.0/24"}]},
            "etag": self.get()["etag"]}})
        self.assertEqual(op["operationType"], "UPDATE_CLUSTER")
        self.assertNotIn("masterAuthorizedNetworksConfig", self.get())
        self.finish(op)
        self.assertEqual(self.get()["masterAuthorizedNetworksConfig"], {
            "enabled": True, "cidrBlocks": [{"displayName": "office",
                                             "cidrBlock": "203.0.113.0/24"}]})
        op = self.ok("PUT", "/clusters/demo", {"update": {"desiredAddonsConfig": {
            "httpLoadBalancing": {"disabled": True}}}})
        self.finish(op)
        addons = self.get()["addonsConfig"]
        self.assertEqual(addons["httpLoadBalancing"], {"disabled": True})
        self.assertEqual(addons["horizontalPodAutoscaling"], {})  # untouched

    def test_set_resource_labels_checks_the_fingerprint(self):
        c = self.add_running(labels={"team": "a"})
        fp = c["labelFingerprint"]
        op = self.ok("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {"team": "b", "env": "prod"}, "labelFingerprint": fp})
        self.assertEqual(op["operationType"], "SET_LABELS")
        self.assertEqual(self.get()["resourceLabels"], {"team": "a"})
        self.finish(op)
        c = self.get()
        self.assertEqual(c["resourceLabels"], {"team": "b", "env": "prod"})
        self.assertNotEqual(c["labelFingerprint"], fp)
        err = self.assertApiError(self.api("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {"team": "c"}, "labelFingerprint": fp}), 400,
            "FAILED_PRECONDITION", "Labels could not be set due to fingerprint mismatch",
            reason="failedPrecondition")
        self.assertIn(f'incorrect fingerprint supplied was "{fp}", the expected one is '
                      f'"{c["labelFingerprint"]}".', err["message"])
        self.assertApiError(self.api("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {"team": "c"}}), 400, "FAILED_PRECONDITION",
            'incorrect fingerprint supplied was ""')
        self.assertApiError(self.api("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {"Team": "c"}, "labelFingerprint": c["labelFingerprint"]}), 400,
            "INVALID_ARGUMENT")
        # A change at the console moves the fingerprint too.
        self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/demo",
                       {"resourceLabels": {"owner": "console"}})
        c2 = self.get()
        self.assertEqual(c2["resourceLabels"], {"team": "b", "env": "prod", "owner": "console"})
        self.assertNotEqual(c2["labelFingerprint"], c["labelFingerprint"])
        self.assertApiError(self.api("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {}, "labelFingerprint": c["labelFingerprint"]}), 400,
            "FAILED_PRECONDITION")
        op = self.ok("POST", "/clusters/demo:setResourceLabels", {
            "resourceLabels": {}, "labelFingerprint": c2["labelFingerprint"]})
        self.finish(op)
        self.assertNotIn("resourceLabels", self.get())  # empty maps are left out

    def test_maintenance_and_network_policy(self):
        self.add_running()
        op = self.ok("POST", "/clusters/demo:setMaintenancePolicy", {"maintenancePolicy": {
            "window": {"dailyMaintenanceWindow": {"startTime": "03:00"}}}})
        self.assertEqual(op["operationType"], "SET_MAINTENANCE_POLICY")
        self.finish(op)
        policy = self.get()["maintenancePolicy"]
        self.assertEqual(policy["window"]["dailyMaintenanceWindow"],
                         {"startTime": "03:00", "duration": "PT4H0M0S"})
        self.assertRegex(policy["resourceVersion"], r"^[0-9a-f]{8}$")
        self.assertApiError(self.api("POST", "/clusters/demo:setMaintenancePolicy", {
            "maintenancePolicy": {"window": {"dailyMaintenanceWindow": {"startTime": "25:00"}}}}),
            400, "INVALID_ARGUMENT")
        self.assertApiError(self.api("POST", "/clusters/demo:setMaintenancePolicy", {
            "maintenancePolicy": {"resourceVersion": "00000000"}}), 400, "FAILED_PRECONDITION")
        # Network policy needs its addon first.
        self.assertApiError(self.api("POST", "/clusters/demo:setNetworkPolicy", {
            "networkPolicy": {"enabled": True, "provider": "CALICO"}}), 400,
            "FAILED_PRECONDITION")
        self.finish(self.ok("POST", "/clusters/demo:setAddons", {"addonsConfig": {
            "networkPolicyConfig": {"disabled": False}}}))
        op = self.ok("POST", "/clusters/demo:setNetworkPolicy", {
            "networkPolicy": {"enabled": True, "provider": "CALICO"}})
        self.assertEqual(op["operationType"], "SET_NETWORK_POLICY")
        self.finish(op)
        self.assertEqual(self.get()["networkPolicy"], {"enabled": True, "provider": "CALICO"})

    # -- node pools --

    def test_node_pool_lifecycle(self):
        self.add_running(pools=("pool-a",))
        op = self.ok("POST", "/clusters/demo/nodePools", {"nodePool": {
            "name": "pool-b", "initialNodeCount": 1, "config": {"imageType": "cos_containerd"}}})
        self.assertEqual(op["operationType"], "CREATE_NODE_POOL")
        self.assertTrue(op["targetLink"].endswith("/clusters/demo/nodePools/pool-b"))
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-b")["status"],
                         "PROVISIONING")
        self.assertEqual(self.get()["status"], "RECONCILING")
        self.finish(op)
        pool = self.ok("GET", "/clusters/demo/nodePools/pool-b")
        self.assertEqual(pool["status"], "RUNNING")
        self.assertEqual(pool["config"]["imageType"], "COS_CONTAINERD")
        self.assertEqual([p["name"] for p in self.ok("GET", "/clusters/demo/nodePools")[
            "nodePools"]], ["pool-a", "pool-b"])
        self.assertApiError(self.api("POST", "/clusters/demo/nodePools", {"nodePool": {
            "name": "pool-b"}}), 409, "ALREADY_EXISTS")
        # setSize: the new size shows as initialNodeCount when the operation is done.
        op = self.ok("POST", "/clusters/demo/nodePools/pool-b:setSize", {"nodeCount": 4})
        self.assertEqual(op["operationType"], "SET_NODE_POOL_SIZE")
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-b")["status"],
                         "RECONCILING")
        self.finish(op)
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-b")["initialNodeCount"], 4)
        # setAutoscaling, then setSize on an autoscaled pool (accepted).
        self.assertApiError(self.api("POST", "/clusters/demo/nodePools/pool-b:setAutoscaling", {
            "autoscaling": {"enabled": True, "minNodeCount": 5, "maxNodeCount": 2}}), 400,
            "INVALID_ARGUMENT")
        self.finish(self.ok("POST", "/clusters/demo/nodePools/pool-b:setAutoscaling", {
            "autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": 6}}))
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-b")["autoscaling"],
                         {"enabled": True, "minNodeCount": 1, "maxNodeCount": 6})
        self.finish(self.ok("POST", "/clusters/demo/nodePools/pool-b:setSize", {"nodeCount": 2}))
        op = self.ok("POST", "/clusters/demo/nodePools/pool-b:setManagement", {
            "management": {"autoUpgrade": False, "autoRepair": True}})
        self.assertEqual(op["operationType"], "SET_NODE_POOL_MANAGEMENT")
        self.finish(op)
        pool = self.ok("GET", "/clusters/demo/nodePools/pool-b")
        self.assertEqual(pool["management"], {"autoRepair": True})
        self.assertEqual(pool["initialNodeCount"], 2)
        # update: labels and taints are replaced as a whole; a version above the master's
        # is refused.
        op = self.ok("PUT", "/clusters/demo/nodePools/pool-b", {
            "labels": {"labels": {"a": "1"}},
            "taints": {"taints": [{"key": "gpu", "value": "x", "effect": "NO_EXECUTE"}]}})
        self.finish(op)
        pool = self.ok("GET", "/clusters/demo/nodePools/pool-b")
        self.assertEqual(pool["config"]["labels"], {"a": "1"})
        self.assertEqual(pool["config"]["taints"], [{"key": "gpu", "value": "x",
                                                     "effect": "NO_EXECUTE"}])
        self.assertApiError(self.api("PUT", "/clusters/demo/nodePools/pool-b", {
            "nodeVersion": "1.31", "imageType": "COS_CONTAINERD"}), 400, "INVALID_ARGUMENT",
            "must not be newer than the master version")
        self.assertApiError(self.api("PUT", "/clusters/demo/nodePools/pool-b", {}), 400,
                            "INVALID_ARGUMENT")
        # delete: STOPPING, then gone; deleting the last pool is allowed.
        op = self.ok("DELETE", "/clusters/demo/nodePools/pool-b")
        self.assertEqual(op["operationType"], "DELETE_NODE_POOL")
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-b")["status"], "STOPPING")
        self.finish(op)
        self.assertApiError(self.api("GET", "/clusters/demo/nodePools/pool-b"), 404, "NOT_FOUND",
                            f"Not found: projects/{PROJECT}/locations/{ZONE}/clusters/demo/"
                            "nodePools/pool-b.")
        self.finish(self.ok("DELETE", "/clusters/demo/nodePools/pool-a"))
        c = self.get()
        self.assertNotIn("nodePools", c)
        self.assertEqual(c["status"], "RUNNING")

    def test_delete_cluster_stops_then_disappears(self):
        self.add_running()
        op = self.ok("DELETE", "/clusters/demo")
        self.assertEqual(op["operationType"], "DELETE_CLUSTER")
        self.assertEqual(self.get()["status"], "STOPPING")
        self.emu.advance(181)
        self.assertApiError(self.api("GET", "/clusters/demo"), 404, "NOT_FOUND")
        self.assertEqual(self.ok("GET", f"/operations/{op['name']}")["status"], "DONE")

    # -- operations --

    def test_operations_get_and_list(self):
        self.add_running()
        op1 = self.ok("POST", "/clusters/demo/nodePools/pool-a:setSize", {"nodeCount": 3})
        self.finish(op1)
        op2 = self.ok("POST", "/clusters/demo/nodePools/pool-a:setSize", {"nodeCount": 1})
        ops = self.ok("GET", "/operations")["operations"]
        self.assertEqual([(o["name"], o["status"]) for o in ops],
                         [(op1["name"], "DONE"), (op2["name"], "RUNNING")])
        self.assertEqual(len(self.ok("GET", "/operations", location="-")["operations"]), 2)
        self.assertEqual(self.ok("GET", "/operations", location="europe-west1-b"), {})
        self.assertApiError(self.api("GET", f"/operations/{op1['name']}",
                                     location="europe-west1-b"), 404, "NOT_FOUND")
        self.assertApiError(self.api("GET", "/operations/operation-1-nope"), 404, "NOT_FOUND")
        log = [c for c in self.emu.calls() if c["methodId"].endswith("operations.get")]
        self.assertEqual(log[0]["cluster"], "demo")
        self.assertEqual(log[0]["operation"], op1["name"])

    def test_armed_failures_end_done_with_an_error(self):
        self.add_running()
        self.emu.admin("POST", "/admin/fail-next", {"kind": "cluster", "code": 13,
                                                    "message": "upgrade broke"})
        op = self.ok("PUT", "/clusters/demo", {"update": {"desiredMasterVersion": "1.30"}})
        done = self.finish(op)
        self.assertEqual(done["error"], {"code": 13, "message": "upgrade broke"})
        c = self.get()
        self.assertEqual(c["status"], "RUNNING")
        self.assertRegex(c["currentMasterVersion"], r"^1\.29\.")  # unchanged
        self.emu.admin("POST", "/admin/fail-next", {"kind": "nodePool", "nodePool": "pool-a",
                                                    "code": "RESOURCE_EXHAUSTED"})
        done = self.finish(self.ok("POST", "/clusters/demo/nodePools/pool-a:setSize",
                                   {"nodeCount": 9}))
        self.assertEqual(done["error"]["code"], 8)
        self.assertEqual(self.ok("GET", "/clusters/demo/nodePools/pool-a")["initialNodeCount"], 2)
        self.emu.admin("POST", "/admin/fail-next", {"kind": "create", "message": "stockout"})
        op = self.ok("POST", "/clusters", {"cluster": {"name": "doomed", "initialNodeCount": 1}})
        done = self.finish(op, 301)
        self.assertEqual(done["error"]["message"], "stockout")
        c = self.get("doomed")
        self.assertEqual((c["status"], c["statusMessage"]), ("ERROR", "stockout"))
        self.assertApiError(self.api("PUT", "/clusters/doomed", {"update": {
            "desiredLoggingService": "none"}}), 400, "FAILED_PRECONDITION")
        self.finish(self.ok("DELETE", "/clusters/doomed"), 181)
        self.assertEqual(self.emu.admin("GET", "/admin/fail-next")[1], {"armed": []})

    # -- faults and throttling --

    def test_faults(self):
        self.add_running()
        get = "container.projects.locations.clusters.get"
        self.emu.admin("POST", "/admin/faults", {"operation": get, "status": 429})
        self.assertApiError(self.api("GET", "/clusters/demo"), 429, "RESOURCE_EXHAUSTED",
                            "Quota exceeded")
        self.assertEqual(self.api("GET", "/clusters/demo")[0], 200)
        self.emu.admin("POST", "/admin/faults", {"operation": "*", "status": 500, "count": 2})
        self.assertApiError(self.api("GET", "/clusters/demo"), 500, "INTERNAL")
        self.assertApiError(self.api("GET", "/clusters"), 500, "INTERNAL")
        self.assertEqual(self.api("GET", "/clusters")[0], 200)
        self.emu.admin("POST", "/admin/faults", {"operation": get, "status": 503,
                                                 "code": "UNAVAILABLE", "message": "try later",
                                                 "cluster": "other"})
        self.assertEqual(self.api("GET", "/clusters/demo")[0], 200)  # another cluster's
        self.emu.admin("DELETE", "/admin/faults")
        self.emu.admin("POST", "/admin/faults", {"operation": get, "malformed": True})
        status, out = self.api("GET", "/clusters/demo")
        self.assertEqual(status, 200)
        self.assertIsInstance(out, bytes)
        with self.assertRaises(ValueError):
            json.loads(out)
        self.emu.admin("POST", "/admin/faults", {"operation": get, "drop": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, socket.error)):
            self.api("GET", "/clusters/demo")
        self.emu.admin("POST", "/admin/faults", {"operation": get, "latency_ms": 300})
        t0 = time.monotonic()
        self.assertEqual(self.api("GET", "/clusters/demo")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.emu.admin("POST", "/admin/faults", {"operation": "token", "status": 503})
        status, out = self.token_request(self.assertion())
        self.assertEqual((status, out["error"]), (503, "internal_failure"))
        self.assertEqual(self.emu.admin("GET", "/admin/faults")[1]["faults"], [])
        self.assertEqual(self.emu.admin("POST", "/admin/faults", {"operation": "Nope",
                                                                  "status": 500})[0], 400)
        statuses = [c["status"] for c in self.emu.calls() if c["methodId"] == get]
        self.assertEqual(statuses, [429, 200, 500, 200, 200, 0, 200])

    def test_rate_limit_answers_resource_exhausted(self):
        emu = GkeEmulator(rate_per_s=0.2)  # a burst of one, then one call per 5 s
        try:
            token = emu.mint_token()
            path = f"/v1/projects/{PROJECT}/locations/{ZONE}/clusters"
            statuses = [emu.request("GET", path, token=token)[:2] for _ in range(2)]
            self.assertEqual(statuses[0], (200, {}))
            self.assertEqual(statuses[1][0], 429, statuses)
            limited = statuses[1][1]
            self.assertEqual(limited["error"]["status"], "RESOURCE_EXHAUSTED")
            self.assertEqual(limited["error"]["errors"][0]["reason"], "rateLimitExceeded")
        finally:
            emu.destroy()

    # -- admin API --

    def test_admin_cluster_made_elsewhere_and_console_changes(self):
        state = self.emu.add_cluster("europe-west1", {
            "name": "shop", "currentMasterVersion": "1.30.6-gke.1125000",
            "resourceLabels": {"team": "shop"},
            "nodePools": [{"name": "np", "initialNodeCount": 2, "version": "1.29.12-gke.1120000"},
                          {"name": "broken", "status": "ERROR"}]})
        self.assertEqual(state["cluster"]["status"], "RUNNING")
        c = self.get("shop", location="europe-west1")
        self.assertEqual(c["currentMasterVersion"], "1.30.6-gke.1125000")
        self.assertEqual(c["currentNodeVersion"], "1.29.12-gke.1120000")
        self.assertEqual([p["status"] for p in c["nodePools"]], ["RUNNING", "ERROR"])
        self.emu.admin("PATCH", "/admin/clusters/europe-west1/shop/nodePools/np",
                       {"initialNodeCount": 7, "config": {"labels": {"by": "console"}}})
        pool = self.ok("GET", "/clusters/shop/nodePools/np", location="europe-west1")
        self.assertEqual((pool["initialNodeCount"], pool["config"]["labels"]),
                         (7, {"by": "console"}))
        self.emu.admin("DELETE", "/admin/clusters/europe-west1/shop/nodePools/broken")
        self.emu.admin("POST", "/admin/clusters/europe-west1/shop/nodePools", {"name": "extra"})
        self.assertEqual([p["name"] for p in self.get("shop", location="europe-west1")[
            "nodePools"]], ["np", "extra"])
        self.emu.admin("PATCH", "/admin/clusters/europe-west1/shop", {"status": "DEGRADED",
                                                                      "statusMessage": "hmm"})
        c = self.get("shop", location="europe-west1")
        self.assertEqual((c["status"], c["statusMessage"]), ("DEGRADED", "hmm"))
        op = self.ok("POST", "/clusters/shop/nodePools/np:setSize", {"nodeCount": 1},
                     location="europe-west1")
        state = self.emu.state("europe-west1", "shop")
        self.assertEqual(state["operation"], op["name"])
        self.assertEqual(state["operations"][0]["nodePool"], "np")
        self.assertEqual(self.emu.admin("GET", "/admin/clusters")[1]["clusters"][0]["operation"],
                         op["name"])
        self.assertEqual(self.emu.admin("DELETE", "/admin/clusters/europe-west1/shop")[0], 200)
        self.assertApiError(self.api("GET", "/clusters/shop", location="europe-west1"), 404,
                            "NOT_FOUND")
        self.assertEqual(self.emu.admin("POST", "/admin/clusters", {
            "location": "nowhere", "cluster": {"name": "x"}})[0], 400)
        self.assertEqual(self.emu.admin("POST", "/admin/clusters", {
            "location": ZONE, "cluster": {"name": "x", "nodePoolz": []}})[0], 400)
        calls = self.emu.calls()
        self.assertTrue(all(set(c) >= {"methodId", "method", "path", "status", "cluster",
                                       "nodePool", "time"} for c in calls))
        self.assertIn("container.projects.locations.clusters.nodePools.setSize",
                      [c["methodId"] for c in calls])
        clock = self.emu.admin("GET", "/admin/clock")[1]
        self.assertEqual(clock["offset"], 0)
        self.assertEqual(self.emu.advance(10)["offset"], 10)

    def test_legacy_busy_message(self):
        emu = GkeEmulator(extra=["--legacy-busy-message"])
        try:
            token = emu.mint_token()
            emu.add_cluster(ZONE, {"name": "demo", "initialClusterVersion": "1.29",
                                   "nodePools": [{"name": "p"}]})
            base = f"/v1/projects/{PROJECT}/locations/{ZONE}/clusters/demo"
            status, op, _ = emu.request("PUT", base, {"update": {"desiredMasterVersion": "1.30"}},
                                        token=token)
            self.assertEqual(status, 200, op)
            status, out, _ = emu.request("POST", base + "/nodePools/p:setSize", {"nodeCount": 1},
                                         token=token)
            self.assertEqual(status, 400)
            self.assertEqual(out["error"]["message"],
                             f"Operation {op['name']} is currently upgrading cluster demo. "
                             "Please wait and try again once it is done.")
        finally:
            emu.destroy()


if __name__ == "__main__":
    unittest.main()
