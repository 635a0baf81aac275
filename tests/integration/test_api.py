"""The REST API end to end: the real hcr binary over HTTP against a throwaway PostgreSQL.

One hcr and one PostgreSQL serve the whole class; tests that need a fresh process
(restart, shutdown) make their own.
"""

import json
import os
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from harness import Hcr, Postgres, sanitizer_reports

EKS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AKS_SECRET = "s3cr3t~azure-client-secret-value"


def gke_key():
    """A real service-account key shape with a fresh RSA key (openssl CLI)."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048"], capture_output=True, text=True,
                         check=True).stdout
    return {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "hcr@acme-prod.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.hcr = Hcr(database_url=cls.pg.url)
        cls.hcr.wait_ready()
        cls.gke = gke_key()
        r = cls.hcr.request("POST", "/v1/credentials", {
            "name": "aws-prod", "provider": "eks",
            "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": EKS_SECRET}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        admin = cls.hcr.admin_token
        code = cls.hcr.stop()
        log = cls.hcr.log()
        cls.hcr.destroy()
        cls.pg.destroy()
        assert code == 0, f"hcr exited with {code}\n{log[-3000:]}"
        assert not sanitizer_reports(log), "\n".join(sanitizer_reports(log))
        # Secrets never reach the log.
        for secret in (EKS_SECRET, AKS_SECRET, "PRIVATE KEY", admin):
            assert secret not in log, f"log contains {secret!r}"

    def req(self, *a, **kw):
        return self.hcr.request(*a, **kw)

    def assertError(self, r, status, code, message_part=None):
        self.assertEqual(r.status, status, r)
        self.assertIsNotNone(r.json, r)
        err = r.json["error"]
        self.assertEqual(err["code"], code, r)
        self.assertIn("message", err)
        self.assertIn("detail", err)
        self.assertIn("hint", err)
        if message_part:
            self.assertIn(message_part, err["message"])
        return err

    def token(self, role, name=None):
        r = self.req("POST", "/v1/tokens", {"name": name or f"t-{role}", "role": role})
        self.assertEqual(r.status, 201, r)
        return r.json

    # ---- health, metrics --------------------------------------------------------------

    def test_health_ready_metrics(self):
        r = self.req("GET", "/healthz", token=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "ok")
        r = self.req("GET", "/readyz", token=None)
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(r.json["schemaVersion"], 1)
        self.req("GET", "/v1/clusters")
        r = self.req("GET", "/metrics", token=None)
        self.assertEqual(r.status, 200)
        text = r.raw.decode()
        self.assertIn('hcr_http_requests_total{route="/v1/clusters",method="GET",status="200"}',
                      text)
        self.assertIn('hcr_http_request_duration_seconds_bucket{route="/v1/clusters",le="+Inf"}',
                      text)
        self.assertIn('hcr_db_pool_connections{state="size"}', text)
        self.assertIn("hcr_build_info{version=", text)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))

    def test_admin_token_file_is_private(self):
        mode = stat.S_IMODE(os.stat(os.path.join(self.hcr.data_dir, "admin-token")).st_mode)
        self.assertEqual(mode, 0o600)

    # ---- authentication and roles -----------------------------------------------------

    def test_missing_or_bad_token_is_401(self):
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"},
                        {"Authorization": "Bearer nonsense"},
                        {"Authorization": "Bearer hcr_" + "A" * 43}):
            r = self.req("GET", "/v1/clusters", token=None, headers=headers)
            self.assertError(r, 401, "unauthorized")
            self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="hcr"')
            self.assertIsNone(r.header("Allow"))

    def test_roles(self):
        viewer = self.token("viewer")["token"]
        operator = self.token("operator")["token"]
        self.assertEqual(self.req("GET", "/v1/clusters", token=viewer).status, 200)
        r = self.req("POST", "/v1/clusters", {"name": "x"}, token=viewer)
        self.assertError(r, 403, "forbidden")
        r = self.req("POST", "/v1/credentials", {"name": "x"}, token=operator)
        self.assertError(r, 403, "forbidden")
        r = self.req("GET", "/v1/tokens", token=operator)
        self.assertError(r, 403, "forbidden")
        # An operator may register clusters.
        r = self.req("POST", "/v1/clusters", {"name": "op-made", "provider": "eks",
                                              "imported": True, "region": "eu-west-1",
                                              "credential": "aws-prod"}, token=operator)
        self.assertEqual(r.status, 201, r)

    def test_tokens_list_and_revoke(self):
        t = self.token("viewer", "to-revoke")
        self.assertTrue(t["token"].startswith("hcr_"))
        r = self.req("GET", "/v1/tokens")
        self.assertEqual(r.status, 200)
        listed = [x for x in r.json["items"] if x["id"] == t["id"]]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("token", listed[0])
        self.assertNotIn(t["token"], r.raw.decode())
        self.assertEqual(self.req("GET", "/v1/clusters", token=t["token"]).status, 200)
        self.assertEqual(self.req("DELETE", f"/v1/tokens/{t['id']}").status, 204)
        self.assertError(self.req("GET", "/v1/clusters", token=t["token"]), 401, "unauthorized")
        self.assertError(self.req("DELETE", f"/v1/tokens/{t['id']}"), 404, "not_found")

    def test_last_admin_token_cannot_be_revoked(self):
        admins = [x for x in self.req("GET", "/v1/tokens").json["items"] if x["role"] == "admin"]
        self.assertEqual(len(admins), 1, admins)
        r = self.req("DELETE", f"/v1/tokens/{admins[0]['id']}")
        self.assertError(r, 409, "conflict")

    def test_token_validation(self):
        self.assertError(self.req("POST", "/v1/tokens", {"name": "x", "role": "root"}), 422,
                         "invalid", '"role"')
        self.assertError(self.req("POST", "/v1/tokens", {"role": "viewer"}), 422, "invalid",
                         '"name"')
        r = self.req("POST", "/v1/tokens", {"name": "x", "role": "viewer",
                                            "expiresInSeconds": 5})
        self.assertError(r, 422, "invalid", "expiresInSeconds")

    # ---- credentials ----------------------------------------------------------------------

    def test_credentials_never_return_secrets(self):
        r = self.req("POST", "/v1/credentials", {
            "name": "azure-main", "provider": "aks",
            "aks": {"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "clientId": "00000000-0000-0000-0000-000000000001",
                    "clientSecret": AKS_SECRET,
                    "subscriptionId": "00000000-0000-0000-0000-000000000002"}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Location"), "/v1/credentials/azure-main")
        r = self.req("POST", "/v1/credentials", {"name": "gcp-main", "provider": "gke",
                                                 "gke": {"serviceAccountJson": self.gke}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["clientEmail"], self.gke["client_email"])
        self.assertEqual(r.json["projectId"], "acme-prod")
        r = self.req("GET", "/v1/credentials")
        self.assertEqual(r.status, 200)
        body = r.raw.decode()
        names = [c["name"] for c in r.json["items"]]
        self.assertIn("aws-prod", names)
        for secret in (EKS_SECRET, AKS_SECRET, "PRIVATE KEY", "AKIAIOSFODNN7EXAMPLE"):
            self.assertNotIn(secret, body)
        aws = [c for c in r.json["items"] if c["name"] == "aws-prod"][0]
        self.assertEqual(aws["accessKeyId"], "AKIA...MPLE")
        # Not in plain text in the database either.
        dump = self.pg.psql("hcr", "SELECT c::text FROM credentials c")
        self.assertIn("aws-prod", dump)
        for secret in (EKS_SECRET, AKS_SECRET, "PRIVATE KEY", self.gke["private_key"][40:80]):
            self.assertNotIn(secret, dump)
        self.assertError(self.req("GET", "/v1/credentials/nope"), 404, "not_found")

    def test_credential_errors(self):
        cases = [
            ({"name": "aws-prod", "provider": "eks",
              "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": EKS_SECRET}},
             409, "conflict", "already exists"),
            ({"name": "x1", "provider": "eks", "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}},
             422, "invalid", "eks.secretAccessKey"),
            ({"name": "x1", "provider": "ibm", "eks": {}}, 422, "invalid", "provider"),
            ({"name": "Bad Name", "provider": "eks", "eks": {}}, 422, "invalid", '"name"'),
            ({"name": "x1", "provider": "aks",
              "aks": {"tenantId": "t", "clientId": "c", "clientSecret": "s",
                      "subscriptionId": "s"}}, 422, "invalid", "aks.tenantId"),
            ({"name": "x1", "provider": "gke", "gke": {"serviceAccountJson": "{not json"}},
             422, "invalid", "gke.serviceAccountJson"),
            ({"name": "x1", "provider": "gke",
              "gke": {"serviceAccountJson": dict(self.gke, private_key="nope")}},
             422, "invalid", "private_key"),
            ({"name": "x1", "provider": "eks", "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                                       "secretAccessKey": EKS_SECRET},
              "extra": 1}, 422, "invalid", '"extra"'),
        ]
        for body, status, code, part in cases:
            with self.subTest(body=body):
                err = self.assertError(self.req("POST", "/v1/credentials", body), status, code,
                                       part)
                self.assertNotIn(EKS_SECRET, json.dumps(err))
        self.assertError(self.req("GET", "/v1/credentials/x1"), 404, "not_found")

    # ---- clusters ---------------------------------------------------------------------------

    def register(self, cname, **kw):
        body = {"name": cname, "provider": "eks", "imported": True, "region": "eu-west-1",
                "credential": "aws-prod"}
        body.update(kw)
        return self.req("POST", "/v1/clusters", body)

    def test_register_get_list_delete(self):
        r = self.register("prod-eu", cloudName="prod-eu-1")
        self.assertEqual(r.status, 201, r)
        c = r.json
        self.assertEqual(c["state"], "registered")
        self.assertEqual(c["desired"], {})
        self.assertIsNone(c["observed"])
        self.assertEqual(r.header("ETag"), f'"{c["version"]}"')
        self.assertEqual(r.header("Location"), f"/v1/clusters/{c['id']}")
        for key in (c["id"], "prod-eu"):
            g = self.req("GET", f"/v1/clusters/{key}")
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.json["id"], c["id"])
            self.assertEqual(g.json["cloudName"], "prod-eu-1")
            self.assertEqual(g.header("ETag"), r.header("ETag"))
        r = self.req("DELETE", f"/v1/clusters/{c['id']}", headers={"If-Match": '"99"'})
        self.assertError(r, 412, "precondition_failed")
        r = self.req("DELETE", f"/v1/clusters/{c['id']}", headers={"If-Match": "bogus"})
        self.assertError(r, 400, "bad_request")
        r = self.req("DELETE", f"/v1/clusters/{c['id']}",
                     headers={"If-Match": f'"{c["version"]}"'})
        self.assertEqual(r.status, 204, r)
        self.assertError(self.req("GET", f"/v1/clusters/{c['id']}"), 404, "not_found")
        self.assertError(self.req("DELETE", "/v1/clusters/prod-eu"), 404, "not_found")

    def test_list_filters_and_pages(self):
        for i in range(5):
            self.assertEqual(self.register(f"page-{i}", region="us-east-1").status, 201)
        seen, cursor = [], None
        while True:
            q = "/v1/clusters?name_prefix=page-&limit=2" + (f"&cursor={cursor}" if cursor else "")
            r = self.req("GET", q)
            self.assertEqual(r.status, 200, r)
            self.assertLessEqual(len(r.json["items"]), 2)
            seen += [c["name"] for c in r.json["items"]]
            cursor = r.json["nextCursor"]
            if not cursor:
                break
        self.assertEqual(seen, [f"page-{i}" for i in range(5)])
        self.assertNotIn("desired", self.req("GET", "/v1/clusters?limit=1").json["items"][0])
        r = self.req("GET", "/v1/clusters?provider=gke&name_prefix=page-")
        self.assertEqual(r.json["items"], [])
        self.assertError(self.req("GET", "/v1/clusters?limit=0"), 400, "bad_request")
        self.assertError(self.req("GET", "/v1/clusters?provider=ibm"), 400, "bad_request")

    def test_register_conflicts_and_validation(self):
        self.assertEqual(self.register("dup").status, 201)
        self.assertError(self.register("dup"), 409, "conflict", "already exists")
        # The same cloud cluster under another name.
        self.assertError(self.register("dup-2", cloudName="dup"), 409, "conflict",
                         "already registered")
        cases = [
            ({"credential": "nope"}, "credential"),
            ({"region": None}, "region"),
            ({"region": "Mars"}, "region"),
            ({"imported": "yes"}, "imported"),
            ({"policy": "yolo"}, "policy"),
            ({"config": {"kubernetesVersion": "1.30"}}, "config"),
            ({"resourceGroup": "rg"}, "resourceGroup"),
            ({"cloudName": "-bad"}, "cloudName"),
            ({"name": "0f8fad5b-d9cb-469f-a165-70867728950e"}, "name"),
        ]
        for extra, field in cases:
            with self.subTest(extra=extra):
                self.assertError(self.register("v-1", **extra), 422, "invalid", field)
        r = self.req("POST", "/v1/credentials", {"name": "gcp-only", "provider": "gke",
                                                 "gke": {"serviceAccountJson": self.gke}})
        self.assertEqual(r.status, 201, r)
        self.assertError(self.register("v-2", credential="gcp-only"), 422, "invalid",
                         "credential")

    def test_created_cluster_config(self):
        role = "arn:aws:iam::123456789012:role/eks"
        config = {"kubernetesVersion": "1.30", "tags": {"team": "payments"},
                  "serviceRole": role, "subnets": ["subnet-a", "subnet-b"],
                  "nodeGroups": [{"nodegroupName": "ng-a", "desiredSize": 3,
                                  "nodeRole": role}]}
        r = self.register("to-create", imported=False, config=config)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["state"], "pending_create")
        self.assertEqual(r.json["desired"], config)
        bad = [
            ({"kubernetesVersion": 1.3}, "config.kubernetesVersion"),
            ({"region": "us-east-1"}, "config.region"),
            ({"nodeGroups": [{"nodegroupName": "a"}, {"nodegroupName": "a"}]}, "nodeGroups"),
            ({"nodeGroups": [{"desiredSize": 1}]}, "nodegroupName"),
            ({"flavour": "x"}, "config.flavour"),
            # What EKS would refuse is refused before anything is stored.
            ({"kubernetesVersion": "1.30", "subnets": ["subnet-a", "subnet-b"]},
             "config.serviceRole"),
            ({"serviceRole": role, "subnets": ["subnet-a", "subnet-b"],
              "nodeGroups": [{"nodegroupName": "ng-b", "desiredSize": 1}]},
             "config.nodeGroups[ng-b].nodeRole"),
        ]
        for cfg, part in bad:
            with self.subTest(cfg=cfg):
                self.assertError(self.register("bad-create", imported=False, config=cfg), 422,
                                 "invalid", part)
        self.assertError(self.register("bad-create", imported=False), 422, "invalid", "config")
        # Not yet created in the cloud: forgetting it is safe. "If-Match: *" matches any version.
        r = self.req("DELETE", "/v1/clusters/to-create?retain=false", headers={"If-Match": "*"})
        self.assertEqual(r.status, 204, r)
        row = self.pg.psql("hcr", "SELECT path || '|' || remote_addr FROM audit_log "
                                  f"WHERE request_id = '{r.header('X-Request-Id')}'").strip()
        self.assertEqual(row, "/v1/clusters/to-create?retain=false|127.0.0.1")

    def test_credential_in_use_cannot_be_deleted(self):
        self.assertEqual(self.register("uses-cred").status, 201)
        r = self.req("DELETE", "/v1/credentials/aws-prod")
        self.assertError(r, 409, "conflict", "used by")

    # ---- protocol errors ---------------------------------------------------------------------

    def test_malformed_json_names_line_and_column(self):
        r = self.req("POST", "/v1/clusters", raw=b'{\n  "name": "x",\n  oops\n}',
                     headers={"Content-Type": "application/json"})
        err = self.assertError(r, 400, "invalid_json")
        self.assertIn("line 3", err["message"])
        self.assertIn("column", err["message"])
        self.assertError(self.req("POST", "/v1/clusters", raw=b"[1,2]"), 422, "invalid")
        self.assertError(self.req("POST", "/v1/clusters", raw=b""), 400, "invalid_json")

    def test_unknown_path_and_method(self):
        self.assertError(self.req("GET", "/v1/nothing"), 404, "not_found")
        r = self.req("PUT", "/v1/clusters")
        self.assertError(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "POST, GET, HEAD")
        r = self.req("PATCH", "/v1/tokens/abc")
        self.assertError(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "DELETE")

    def test_body_too_large(self):
        # hcr answers 413 from the headers alone, before reading a byte of the body.
        sock = socket.create_connection(("127.0.0.1", self.hcr.port), timeout=10)
        sock.sendall(b"POST /v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 2097152\r\nAuthorization: Bearer " +
                     self.hcr.admin_token.encode() + b"\r\n\r\n")
        reply = b""
        while b"}\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        sock.close()
        head, _, body = reply.partition(b"\r\n\r\n")
        self.assertIn(b" 413 ", head.split(b"\r\n")[0])
        self.assertEqual(json.loads(body)["error"]["code"], "payload_too_large")
        # A chunked body announces no length: it is refused once it passes the limit.
        sock = socket.create_connection(("127.0.0.1", self.hcr.port), timeout=10)
        sock.sendall(b"POST /v1/clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                     b"\r\nAuthorization: Bearer " + self.hcr.admin_token.encode() +
                     b"\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(40):  # 2.5 MiB, past the 1 MiB limit
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # hcr may answer and close before the client has written everything
        reply = b""
        try:
            while b"}\n" not in reply:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
        except ConnectionResetError:
            pass
        sock.close()
        self.assertIn(b" 413 ", reply.split(b"\r\n")[0], reply[:200])

    def test_audit_log(self):
        r = self.register("audited")
        self.assertEqual(r.status, 201)
        rid = r.header("X-Request-Id")
        self.req("POST", "/v1/clusters", {"name": "x"}, token=None)
        rows = self.pg.psql("hcr", "SELECT actor || '|' || method || '|' || path || '|' || "
                                   "coalesce(target, '') || '|' || status || '|' || outcome "
                                   f"FROM audit_log WHERE request_id = '{rid}'").split("\n")
        self.assertIn("token:bootstrap-admin|POST|/v1/clusters|cluster:audited|201|ok", rows)
        anon = self.pg.psql("hcr", "SELECT count(*) FROM audit_log WHERE actor = 'anonymous' "
                                   "AND status = 401 AND outcome = 'unauthorized'")
        self.assertGreaterEqual(int(anon), 1)
        # Reads are not audited.
        reads = self.pg.psql("hcr", "SELECT count(*) FROM audit_log WHERE method = 'GET'")
        self.assertEqual(int(reads), 0)

    def test_request_id_is_echoed(self):
        r = self.req("GET", "/v1/clusters", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123")


class DatabaseRestartTest(unittest.TestCase):
    def test_api_answers_503_then_recovers_by_itself(self):
        pg = Postgres()
        hcr = Hcr(database_url=pg.url)
        try:
            hcr.wait_ready()
            self.assertEqual(hcr.request("GET", "/v1/clusters").status, 200)
            pg.stop()
            r = hcr.request("GET", "/readyz", token=None)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json["error"]["code"], "unavailable")
            r = hcr.request("GET", "/v1/clusters")
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json["error"]["code"], "unavailable")
            self.assertEqual(hcr.request("GET", "/healthz", token=None).status, 200)
            pg.start()
            deadline = time.time() + 15
            while time.time() < deadline:
                if hcr.request("GET", "/readyz", token=None).status == 200:
                    break
                time.sleep(0.2)
            self.assertEqual(hcr.request("GET", "/readyz", token=None).status, 200)
            self.assertEqual(hcr.request("GET", "/v1/clusters").status, 200)
            r = hcr.request("POST", "/v1/tokens", {"name": "after-restart", "role": "viewer"})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(hcr.stop(), 0)
            self.assertFalse(sanitizer_reports(hcr.log()), hcr.log())
        finally:
            hcr.destroy()
            pg.destroy()


class ConfigAndTlsTest(unittest.TestCase):
    def test_bad_config_is_refused_with_file_and_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("listen: 127.0.0.1:9999\napi:\n  threads: lots\n")
        try:
            hcr = Hcr(database_url="host=/nonexistent", extra_args=["--config", f.name])
            code = hcr.proc.wait(30)
            log = hcr.log()
            hcr.destroy()
            self.assertEqual(code, 1)
            self.assertIn(f"{f.name}:3:", log)
            self.assertIn("api.threads", log)
        finally:
            os.unlink(f.name)

    def test_unknown_option_is_refused(self):
        hcr = Hcr(database_url="host=/nonexistent", extra_args=["--frobnicate"])
        code = hcr.proc.wait(30)
        log = hcr.log()
        hcr.destroy()
        self.assertEqual(code, 1)
        self.assertIn('unknown option "--frobnicate"', log)

    def test_tls(self):
        d = tempfile.mkdtemp(prefix="hcr-it-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, check=True)
        pg = Postgres()
        hcr = Hcr(database_url=pg.url, tls_ca=cert,
                  env={"HCR_TLS_CERT_FILE": cert, "HCR_TLS_KEY_FILE": key})
        try:
            r = hcr.wait_ready()
            self.assertEqual(r.status, 200)
            self.assertEqual(hcr.request("GET", "/v1/clusters").status, 200)
            self.assertEqual(hcr.stop(), 0)
        finally:
            hcr.destroy()
            pg.destroy()
            subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    unittest.main()
