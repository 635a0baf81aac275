"""The fake cloud (tests/emulators/fakecloud.py) over HTTP: operations and their
lifecycle, every kind of change path, auth, the admin API, faults and call
accounting. The reconciler's tests and benchmark rely on all of it behaving
like a real cloud, so it is tested like one. Standard library only.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKECLOUD = os.path.join(os.path.dirname(HERE), "emulators", "fakecloud.py")

DOC = {
    "kubernetesVersion": "1.29",
    "tags": {"team": "infra", "env": "dev"},
    "publicAccess": True,
    "loggingTypes": ["api"],
    "nodeGroups": [
        {"nodegroupName": "ng-a", "desiredSize": 2, "minSize": 1, "maxSize": 3,
         "labels": {"role": "web"}, "version": "1.29", "instanceType": "m5.large"},
    ],
}


class FakeCloud:
    """One fakecloud.py process, stopped by the test that started it."""

    def __init__(self, *args, token="fake-token"):
        self.token = token
        self.proc = subprocess.Popen([sys.executable, FAKECLOUD, "--token", token, *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"fakecloud did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def request(self, method, path, body=None, token=None, raw=None):
        """Returns (status, parsed JSON body or the raw text when it is not JSON)."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def admin(self, method, path, body=None):
        status, reply = self.request(method, "/admin" + path, body, token="")
        if status >= 300:
            raise AssertionError(f"{method} /admin{path}: {status} {reply}")
        return reply

    def seed(self, name, doc=DOC):
        return self.admin("PUT", f"/clusters/{name}", doc)

    def operation(self, cluster, changes, operation="UpdateClusterConfig", pool=None):
        return self.request("POST", f"/v1/clusters/{cluster}/operations",
                            {"operation": operation, "pool": pool, "changes": changes})

    def wait(self, op_id, timeout=10):
        """Polls an operation until it is no longer running; returns its final view."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, op = self.request("GET", f"/v1/operations/{op_id}")
            if status != 200:
                raise AssertionError(f"GET operation {op_id}: {status} {op}")
            if op["state"] != "running":
                return op
            time.sleep(0.02)
        raise AssertionError(f"operation {op_id} still running after {timeout}s")

    def run(self, cluster, changes, **kw):
        """Submits an operation, waits for it, returns (operation, document after)."""
        status, reply = self.operation(cluster, changes, **kw)
        if status != 202:
            raise AssertionError(f"operation refused: {status} {reply}")
        op = self.wait(reply["id"])
        return op, self.request("GET", f"/v1/clusters/{cluster}")[1]["document"]


def pool(doc, name):
    return next(p for p in doc["nodeGroups"] if p["nodegroupName"] == name)


class FakeCloudTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = FakeCloud("--op-seconds", "0.3")

    @classmethod
    def tearDownClass(cls):
        cls.cloud.stop()

    def setUp(self):
        self.cloud.admin("POST", "/reset")

    def assertCloudError(self, reply, status, code, got_status):
        self.assertEqual(got_status, status, reply)
        self.assertEqual(reply["error"]["code"], code, reply)

    def run_in_parallel(self, ops):
        """Runs each (pool, changes) on its own freshly seeded cluster, all at once (the
        operations take --op-seconds each); returns [(final operation, document after)]."""
        c = self.cloud
        ids = []
        for i, (target, changes) in enumerate(ops):
            c.seed(f"t-{i}")
            status, reply = c.operation(f"t-{i}", changes, pool=target)
            self.assertEqual(status, 202, (changes, reply))
            ids.append(reply["id"])
        results = []
        for i, op_id in enumerate(ids):
            op = c.wait(op_id)
            cluster = c.request("GET", f"/v1/clusters/t-{i}")[1]
            self.assertEqual(cluster["status"], "ACTIVE")
            results.append((op, cluster["document"]))
        return results

    # -- operations --

    def test_operation_lifecycle(self):
        c = self.cloud
        c.seed("prod")
        status, reply = c.operation("prod", {"kubernetesVersion": "1.30"},
                                    operation="UpdateClusterVersion")
        self.assertEqual(status, 202, reply)
        self.assertEqual(reply["state"], "running")
        self.assertRegex(reply["id"], r"^op-\d+$")

        status, cluster = c.request("GET", "/v1/clusters/prod")
        self.assertEqual((status, cluster["status"]), (200, "UPDATING"))
        self.assertEqual(cluster["document"]["kubernetesVersion"], "1.29", "applied too early")

        status, busy = c.operation("prod", {"tags.team": "x"})
        self.assertCloudError(busy, 409, "ResourceInUseException", status)
        self.assertEqual(busy["error"]["message"], "an update is in progress")

        op = c.wait(reply["id"])
        self.assertEqual(op["state"], "succeeded")
        self.assertEqual((op["cluster"], op["operation"]), ("prod", "UpdateClusterVersion"))
        self.assertNotIn("error", op)
        self.assertGreaterEqual(op["completedAt"] - op["createdAt"], 0.29)
        cluster = c.request("GET", "/v1/clusters/prod")[1]
        self.assertEqual(cluster["status"], "ACTIVE")
        self.assertEqual(cluster["document"]["kubernetesVersion"], "1.30")
        status, _ = c.operation("prod", {"tags.team": "x"})
        self.assertEqual(status, 202, "a new operation is accepted once the first is done")

    def test_change_paths(self):
        cases = [
            ("leaf set", None, {"publicAccess": False},
             lambda d: d["publicAccess"] is False),
            ("leaf removed", None, {"loggingTypes": None}, lambda d: "loggingTypes" not in d),
            ("array leaf", None, {"loggingTypes": ["api", "audit"]},
             lambda d: d["loggingTypes"] == ["api", "audit"]),
            ("new leaf", None, {"kmsKey": "arn:k"}, lambda d: d["kmsKey"] == "arn:k"),
            ("map key set", None, {"tags.owner": "ann"},
             lambda d: d["tags"] == {"team": "infra", "env": "dev", "owner": "ann"}),
            ("map key removed", None, {"tags.env": None}, lambda d: d["tags"] == {"team": "infra"}),
            ("map key with dots", None, {"tags.example.com/cost": "7"},
             lambda d: d["tags"]["example.com/cost"] == "7"),
            ("pool leaf", "ng-a", {"nodeGroups[ng-a].desiredSize": 3},
             lambda d: pool(d, "ng-a")["desiredSize"] == 3),
            ("pool leaf removed", "ng-a", {"nodeGroups[ng-a].instanceType": None},
             lambda d: "instanceType" not in pool(d, "ng-a")),
            ("pool map key", "ng-a", {"nodeGroups[ng-a].labels.kubernetes.io/os": "linux"},
             lambda d: pool(d, "ng-a")["labels"] == {"role": "web", "kubernetes.io/os": "linux"}),
            ("pool map key removed", "ng-a", {"nodeGroups[ng-a].labels.role": None},
             lambda d: pool(d, "ng-a")["labels"] == {}),
            ("pool created from true", "ng-b", {"nodeGroups[ng-b]": True},
             lambda d: pool(d, "ng-b") == {"nodegroupName": "ng-b"}),
            ("pool created from object", "ng-b",
             {"nodeGroups[ng-b]": {"desiredSize": 1, "labels": {"a": "b"}}},
             lambda d: pool(d, "ng-b") == {"nodegroupName": "ng-b", "desiredSize": 1,
                                          "labels": {"a": "b"}}),
            ("pool created with leaves", "ng-b",
             {"nodeGroups[ng-b].desiredSize": 4, "nodeGroups[ng-b]": True,
              "nodeGroups[ng-b].labels.x": "y"},
             lambda d: pool(d, "ng-b") == {"nodegroupName": "ng-b", "desiredSize": 4,
                                          "labels": {"x": "y"}}),
            ("pool deleted", "ng-a", {"nodeGroups[ng-a]": None},
             lambda d: d["nodeGroups"] == []),
        ]
        results = self.run_in_parallel([(target, changes) for _, target, changes, _ in cases])
        for (name, _, _, check), (op, doc) in zip(cases, results):
            with self.subTest(name):
                self.assertEqual(op["state"], "succeeded", op)
                self.assertTrue(check(doc), json.dumps(doc))
                self.assertEqual(doc["kubernetesVersion"], "1.29", "other fields untouched")

    def test_failed_operations_leave_the_document_alone(self):
        cases = [
            ("downgrade", None, {"kubernetesVersion": "1.28", "tags.team": "x"},
             "InvalidParameterException", "cannot downgrade"),
            ("pool version downgrade", "ng-a", {"nodeGroups[ng-a].version": "1.28"},
             "InvalidParameterException", "cannot downgrade"),
            ("leaf of a missing pool", "ng-x", {"nodeGroups[ng-x].desiredSize": 1},
             "ResourceNotFoundException", "not found"),
            ("delete a missing pool", "ng-x", {"nodeGroups[ng-x]": None},
             "ResourceNotFoundException", "not found"),
            ("create an existing pool", "ng-a", {"nodeGroups[ng-a]": True},
             "ResourceInUseException", "already exists"),
            ("map key of a non-map", None, {"publicAccess.x": "1"},
             "InvalidParameterException", "not a map"),
        ]
        results = self.run_in_parallel([(target, changes) for _, target, changes, _, _ in cases])
        for (name, _, _, code, message), (op, doc) in zip(cases, results):
            with self.subTest(name):
                self.assertEqual(op["state"], "failed", op)
                self.assertEqual(op["error"]["code"], code, op)
                self.assertIn(message, op["error"]["message"])
                self.assertEqual(doc, DOC)

    def test_idempotency_token(self):
        c = self.cloud
        c.seed("a")
        c.seed("b")
        body = {"operation": "UpdateClusterConfig", "pool": None,
                "changes": {"tags.team": "x"}, "clientRequestToken": "hcr-op-1"}
        status, first = c.request("POST", "/v1/clusters/a/operations", body)
        self.assertEqual(status, 202, first)
        status, again = c.request("POST", "/v1/clusters/a/operations", body)
        self.assertEqual((status, again["id"]), (202, first["id"]), "a retry, not a conflict")
        status, other = c.request("POST", "/v1/clusters/b/operations", body)
        self.assertEqual(status, 202)
        self.assertNotEqual(other["id"], first["id"], "tokens are per cluster")
        c.wait(first["id"])
        status, late = c.request("POST", "/v1/clusters/a/operations", body)
        self.assertEqual((status, late), (202, {"id": first["id"], "state": "succeeded"}))
        status, reply = c.request("POST", "/v1/clusters/a/operations",
                                  dict(body, changes={"tags.team": "y"}))
        self.assertCloudError(reply, 400, "IdempotentParameterMismatchException", status)
        calls = c.admin("GET", "/calls")
        self.assertEqual(calls["operations"]["a"], {"UpdateClusterConfig": 1})
        self.assertEqual(calls["replayed_operations"]["a"], {"UpdateClusterConfig": 2})

        create = {"name": "n", "document": DOC, "clientRequestToken": "hcr-op-2"}
        status, first = c.request("POST", "/v1/clusters", create)
        self.assertEqual(status, 202)
        self.assertEqual(c.request("POST", "/v1/clusters", create)[1]["id"], first["id"])
        status, reply = c.request("POST", "/v1/clusters", dict(create, clientRequestToken=""))
        self.assertCloudError(reply, 400, "InvalidParameterException", status)

    def test_versions_compare_as_numbers(self):
        self.cloud.seed("c", dict(DOC, kubernetesVersion="1.9"))
        op, doc = self.cloud.run("c", {"kubernetesVersion": "1.10"})
        self.assertEqual(op["state"], "succeeded", op)
        self.assertEqual(doc["kubernetesVersion"], "1.10")

    def test_bad_operation_requests_are_refused_at_once(self):
        c = self.cloud
        c.seed("c")
        cases = [
            ("no operation", {"pool": None, "changes": {}}),
            ("changes not an object", {"operation": "U", "changes": [1]}),
            ("pool not a string", {"operation": "U", "pool": 5, "changes": {}}),
            ("bad path", {"operation": "U", "changes": {"a[b": 1}}),
            ("pool path in a cluster op", {"operation": "U", "pool": None,
                                           "changes": {"nodeGroups[ng-a].desiredSize": 1}}),
            ("other pool's path", {"operation": "U", "pool": "ng-a",
                                   "changes": {"nodeGroups[ng-b].desiredSize": 1}}),
            ("cluster path in a pool op", {"operation": "U", "pool": "ng-a",
                                           "changes": {"tags.a": "b"}}),
        ]
        for name, body in cases:
            with self.subTest(name):
                status, reply = c.request("POST", "/v1/clusters/c/operations", body)
                self.assertCloudError(reply, 400, "InvalidParameterException", status)
                self.assertTrue(reply["error"]["message"])
        status, reply = c.request("POST", "/v1/clusters/c/operations", raw="{nope")
        self.assertCloudError(reply, 400, "SerializationException", status)
        status, reply = c.operation("missing", {"tags.a": "b"})
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        self.assertEqual(c.request("GET", "/v1/clusters/c")[1]["status"], "ACTIVE")

    def test_not_found(self):
        c = self.cloud
        status, reply = c.request("GET", "/v1/clusters/nope")
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        self.assertIn("nope", reply["error"]["message"])
        status, reply = c.request("GET", "/v1/operations/op-999999")
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        status, reply = c.request("GET", "/v1/nothing/here")
        self.assertEqual(status, 404)
        self.assertNotEqual(reply["error"]["code"], "ResourceNotFoundException")
        status, reply = c.request("PUT", "/v1/clusters/x", {})
        self.assertEqual(status, 405)

    def test_kube_credentials(self):
        c = self.cloud
        c.seed("k")
        path = "/v1/clusters/k/kube-credentials"
        status, reply = c.request("POST", path)
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        self.assertIn("has no Kubernetes endpoint", reply["error"]["message"])
        status, reply = c.request("POST", "/v1/clusters/nope/kube-credentials")
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        self.assertIn("No cluster found", reply["error"]["message"])
        for bad in ({"server": "http://127.0.0.1:1"}, {"server": "", "token": "t"},
                    {"server": "http://x", "token": "t", "certificateAuthorityData": 1},
                    {"server": "http://x", "token": "t", "user": "u"}):
            status, reply = c.request("PUT", "/admin/clusters/k/kube", bad, token="")
            self.assertCloudError(reply, 400, "InvalidParameterException", status)
        kube = {"server": "http://127.0.0.1:1234", "token": "kube-token",
                "certificateAuthorityData": "Q0E="}
        c.admin("PUT", "/clusters/k/kube", kube)
        before = time.time()
        status, reply = c.request("POST", path)
        self.assertEqual(status, 200, reply)
        expires = reply.pop("expiresAt")
        self.assertEqual(reply, kube)
        self.assertTrue(before + 800 < expires < time.time() + 1000, expires)
        # A console change of the document keeps the endpoint; auth, faults and the
        # accounting apply as to any cloud call.
        c.seed("k", {"kubernetesVersion": "1.30"})
        self.assertEqual(c.request("POST", path)[0], 200)
        self.assertEqual(c.request("POST", path, token="wrong")[0], 401)
        c.admin("POST", "/faults", {"kind": "status", "status": 503, "path_prefix": path})
        status, reply = c.request("POST", path)
        self.assertCloudError(reply, 503, "ServiceUnavailableException", status)
        calls = c.admin("GET", "/calls?cluster=k")
        self.assertEqual(calls["clusters"]["k"]["POST /v1/clusters/{name}/kube-credentials"], 5)
        c.admin("DELETE", "/clusters/k/kube")
        self.assertEqual(c.request("POST", path)[0], 404)

    # -- create, delete, list --

    def test_create_and_delete(self):
        c = self.cloud
        status, reply = c.request("POST", "/v1/clusters", {"name": "new", "document": DOC})
        self.assertEqual(status, 202, reply)
        cluster = c.request("GET", "/v1/clusters/new")[1]
        self.assertEqual((cluster["status"], cluster["document"]), ("CREATING", DOC))
        status, dup = c.request("POST", "/v1/clusters", {"name": "new", "document": {}})
        self.assertCloudError(dup, 409, "ResourceInUseException", status)
        status, busy = c.operation("new", {"tags.a": "b"})
        self.assertCloudError(busy, 409, "ResourceInUseException", status)
        self.assertEqual(c.wait(reply["id"])["state"], "succeeded")
        self.assertEqual(c.request("GET", "/v1/clusters/new")[1]["status"], "ACTIVE")

        status, reply = c.request("DELETE", "/v1/clusters/new")
        self.assertEqual(status, 202, reply)
        self.assertEqual(c.request("GET", "/v1/clusters/new")[1]["status"], "DELETING")
        op = c.wait(reply["id"])
        self.assertEqual((op["state"], op["operation"]), ("succeeded", "DeleteCluster"))
        self.assertEqual(c.request("GET", "/v1/clusters/new")[0], 404)
        self.assertEqual(c.request("DELETE", "/v1/clusters/new")[0], 404)

        status, reply = c.request("POST", "/v1/clusters", {"name": "bad name!", "document": {}})
        self.assertCloudError(reply, 400, "InvalidParameterException", status)

    def test_list_is_paginated(self):
        c = self.cloud
        c.admin("POST", "/clusters/bulk", {"count": 25, "prefix": "p-", "document": {}})
        names, token, pages = [], None, 0
        while True:
            query = "?limit=10" + (f"&next={token}" if token else "")
            status, reply = c.request("GET", "/v1/clusters" + query)
            self.assertEqual(status, 200, reply)
            names += [x["name"] for x in reply["clusters"]]
            pages += 1
            token = reply.get("next")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(names), sorted(f"p-{i}" for i in range(25)))
        self.assertEqual(len(set(names)), 25)
        status, reply = c.request("GET", "/v1/clusters?limit=0")
        self.assertCloudError(reply, 400, "InvalidParameterException", status)

    # -- auth --

    def test_auth(self):
        c = self.cloud
        c.seed("c")
        for token in ("", "wrong", "FAKE-TOKEN", "fake-token "):
            with self.subTest(token=token):
                status, reply = c.request("GET", "/v1/clusters/c", token=token)
                self.assertCloudError(reply, 401, "UnrecognizedClientException", status)
        status, reply = c.request("POST", "/v1/clusters/c/operations", token="wrong",
                                  body={"operation": "U", "changes": {"tags.a": "b"}})
        self.assertEqual(status, 401)
        self.assertEqual(c.admin("GET", "/calls")["operations"], {}, "no operation started")
        self.assertEqual(c.request("GET", "/v1/clusters/c")[0], 200)

    # -- admin --

    def test_console_change(self):
        c = self.cloud
        self.assertEqual(c.request("PUT", "/admin/clusters/c", DOC, token="")[0], 201)
        reply = c.admin("PATCH", "/clusters/c", {"tags": {"env": None, "owner": "bob"},
                                                   "publicAccess": False})
        self.assertEqual(reply["document"]["tags"], {"team": "infra", "owner": "bob"})
        doc = c.request("GET", "/v1/clusters/c")[1]["document"]
        self.assertEqual(doc["tags"], {"team": "infra", "owner": "bob"})
        self.assertIs(doc["publicAccess"], False)
        self.assertEqual(doc["nodeGroups"], DOC["nodeGroups"])

        replaced = {"kubernetesVersion": "1.31"}
        self.assertEqual(c.request("PUT", "/admin/clusters/c", replaced, token="")[0], 200)
        self.assertEqual(c.request("GET", "/v1/clusters/c")[1]["document"], replaced)
        c.admin("DELETE", "/clusters/c")
        self.assertEqual(c.request("GET", "/v1/clusters/c")[0], 404)
        self.assertEqual(c.request("PATCH", "/admin/clusters/c", {}, token="")[0], 404)

    def test_console_change_during_an_operation_is_kept(self):
        c = self.cloud
        c.seed("c")
        status, reply = c.operation("c", {"tags.team": "platform"})
        self.assertEqual(status, 202)
        c.admin("PATCH", "/clusters/c", {"tags": {"console": "yes"}})
        c.wait(reply["id"])
        doc = c.request("GET", "/v1/clusters/c")[1]["document"]
        self.assertEqual(doc["tags"], {"team": "platform", "env": "dev", "console": "yes"})

    def test_bulk_seed_of_10000_is_fast(self):
        c = self.cloud
        start = time.monotonic()
        reply = c.admin("POST", "/clusters/bulk", {"count": 10000, "prefix": "c-",
                                                    "document": DOC})
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertEqual((reply["created"], reply["first"], reply["last"]),
                         (10000, "c-0", "c-9999"))
        cluster = c.request("GET", "/v1/clusters/c-9999")[1]
        self.assertEqual((cluster["status"], cluster["document"]), ("ACTIVE", DOC))
        # The seeded documents are independent: changing one leaves the others alone.
        c.run("c-1", {"tags.team": "changed"})
        self.assertEqual(c.request("GET", "/v1/clusters/c-2")[1]["document"], DOC)
        total = len(c.request("GET", "/v1/clusters?limit=1000")[1]["clusters"])
        self.assertEqual(total, 1000)
        status, reply = c.request("POST", "/admin/clusters/bulk", {"count": 0}, token="")
        self.assertCloudError(reply, 400, "InvalidParameterException", status)

    def test_reset(self):
        c = self.cloud
        c.seed("c")
        c.admin("POST", "/faults", {"kind": "status", "count": -1})
        c.admin("POST", "/reset")
        self.assertEqual(c.admin("GET", "/faults")["faults"], [])
        status, reply = c.request("GET", "/v1/clusters/c")
        self.assertCloudError(reply, 404, "ResourceNotFoundException", status)
        self.assertEqual(c.admin("GET", "/calls")["total"], 1)

    # -- faults --

    def test_status_fault(self):
        c = self.cloud
        c.seed("x")
        c.seed("y")
        fault = c.admin("POST", "/faults", {"kind": "status", "status": 503, "count": 2,
                                            "path_prefix": "/v1/clusters/x"})
        self.assertEqual(fault["kind"], "status")
        status, reply = c.request("GET", "/v1/clusters/y")
        self.assertEqual(status, 200, "another path is not affected")
        for _ in range(2):
            status, reply = c.request("GET", "/v1/clusters/x")
            self.assertCloudError(reply, 503, "ServiceUnavailableException", status)
        self.assertEqual(c.request("GET", "/v1/clusters/x")[0], 200)
        self.assertEqual(c.admin("GET", "/faults")["faults"], [], "used up")

        c.admin("POST", "/faults", {"kind": "status", "status": 429, "method": "POST"})
        self.assertEqual(c.request("GET", "/v1/clusters/x")[0], 200, "method does not match")
        status, reply = c.operation("x", {"tags.a": "b"})
        self.assertCloudError(reply, 429, "ThrottlingException", status)
        self.assertEqual(c.admin("GET", "/calls")["operations"], {}, "nothing was started")

    def test_unlimited_fault_until_cleared(self):
        c = self.cloud
        c.seed("x")
        c.admin("POST", "/faults", {"kind": "status", "status": 500, "count": -1,
                                    "code": "InternalFailure", "message": "boom"})
        for _ in range(5):
            status, reply = c.request("GET", "/v1/clusters/x")
            self.assertCloudError(reply, 500, "InternalFailure", status)
            self.assertEqual(reply["error"]["message"], "boom")
        c.admin("DELETE", "/faults")
        self.assertEqual(c.request("GET", "/v1/clusters/x")[0], 200)

    def test_malformed_fault(self):
        c = self.cloud
        c.seed("x")
        c.admin("POST", "/faults", {"kind": "malformed"})
        status, body = c.request("GET", "/v1/clusters/x")
        self.assertEqual(status, 200)
        self.assertIsInstance(body, str, "the body must not parse as JSON")
        c.admin("POST", "/faults", {"kind": "malformed", "body": "[1, 2]"})
        self.assertEqual(c.request("GET", "/v1/clusters/x"), (200, [1, 2]))
        self.assertEqual(c.request("GET", "/v1/clusters/x")[1]["name"], "x")

    def test_latency_fault(self):
        c = self.cloud
        c.seed("x")
        c.admin("POST", "/faults", {"kind": "latency", "ms": 400, "count": 1})
        start = time.monotonic()
        self.assertEqual(c.request("GET", "/v1/clusters/x")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        start = time.monotonic()
        c.request("GET", "/v1/clusters/x")
        self.assertLess(time.monotonic() - start, 0.3)

    def test_fail_next_op(self):
        c = self.cloud
        c.seed("x")
        c.seed("y")
        c.admin("POST", "/faults", {"kind": "fail_next_op", "path_prefix": "/v1/clusters/x",
                                    "code": "InvalidRequestException", "message": "no"})
        op, doc = c.run("y", {"tags.team": "a"})
        self.assertEqual(op["state"], "succeeded", "another cluster is not affected")
        op, doc = c.run("x", {"tags.team": "a"})
        self.assertEqual((op["state"], op["error"]),
                         ("failed", {"code": "InvalidRequestException", "message": "no"}))
        self.assertEqual(doc, DOC)
        op, doc = c.run("x", {"tags.team": "a"})
        self.assertEqual(op["state"], "succeeded", "the fault was used up")

    def test_fail_next_op_on_create(self):
        c = self.cloud
        c.admin("POST", "/faults", {"kind": "fail_next_op"})
        status, reply = c.request("POST", "/v1/clusters", {"name": "n", "document": DOC})
        self.assertEqual(status, 202)
        op = c.wait(reply["id"])
        self.assertEqual((op["state"], op["error"]["code"]), ("failed", "InternalFailure"))
        self.assertEqual(c.request("GET", "/v1/clusters/n")[0], 404)

    def test_bad_faults_are_refused(self):
        for body in ({"kind": "nope"}, {"kind": "status", "status": 42},
                     {"kind": "status", "count": 0}, {"kind": "latency", "ms": -1}):
            with self.subTest(body=body):
                status, reply = self.cloud.request("POST", "/admin/faults", body, token="")
                self.assertCloudError(reply, 400, "InvalidParameterException", status)

    # -- accounting --

    def test_calls_accounting(self):
        c = self.cloud
        c.seed("a")
        c.seed("b")
        for _ in range(3):
            c.request("GET", "/v1/clusters/a")
        c.request("GET", "/v1/clusters/b")
        status, reply = c.operation("a", {"kubernetesVersion": "1.30"},
                                    operation="UpdateClusterVersion")
        self.assertEqual(c.operation("a", {"tags.a": "b"}, operation="UpdateClusterConfig")[0],
                         409)
        c.wait(reply["id"])
        c.request("GET", "/v1/clusters", token="bad")

        calls = c.admin("GET", "/calls")
        self.assertEqual(calls["operations"], {"a": {"UpdateClusterVersion": 1}})
        self.assertEqual(calls["rejected_operations"], {"a": {"UpdateClusterConfig": 1}})
        self.assertEqual(calls["clusters"]["b"], {"GET /v1/clusters/{name}": 1})
        self.assertEqual(calls["clusters"]["a"]["GET /v1/clusters/{name}"], 3)
        self.assertEqual(calls["clusters"]["a"]["POST /v1/clusters/{name}/operations"], 2)
        self.assertGreaterEqual(calls["clusters"]["a"]["GET /v1/operations/{id}"], 1)
        self.assertEqual(calls["routes"]["GET /v1/clusters"], 1, "refused calls count too")
        self.assertEqual(calls["routes"]["GET /v1/clusters/{name}"], 4)
        self.assertEqual(calls["total"], sum(calls["routes"].values()))
        self.assertNotIn("PUT /admin/clusters/{name}", calls["routes"], "admin calls are free")

        only_b = c.admin("GET", "/calls?cluster=b")
        self.assertEqual(list(only_b["clusters"]), ["b"])
        self.assertEqual(only_b["operations"], {})
        c.admin("DELETE", "/calls")
        self.assertEqual(c.admin("GET", "/calls")["total"], 0)


class ServerOptionsTest(unittest.TestCase):
    def test_latency_option_delays_cloud_calls_only(self):
        cloud = FakeCloud("--latency-ms", "300")
        try:
            cloud.seed("c")
            start = time.monotonic()
            self.assertEqual(cloud.request("GET", "/v1/clusters/c")[0], 200)
            self.assertGreaterEqual(time.monotonic() - start, 0.3)
            start = time.monotonic()
            cloud.admin("GET", "/clusters/c")
            self.assertLess(time.monotonic() - start, 0.25, "admin calls are not delayed")

            # Slow calls are served concurrently, not one after another.
            threads = [threading.Thread(target=cloud.request, args=("GET", "/v1/clusters/c"))
                       for _ in range(10)]
            start = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertLess(time.monotonic() - start, 2.0)
        finally:
            cloud.stop()

    def test_token_option(self):
        cloud = FakeCloud(token="s3cret")
        try:
            cloud.seed("c")
            self.assertEqual(cloud.request("GET", "/v1/clusters/c")[0], 200)
            self.assertEqual(cloud.request("GET", "/v1/clusters/c", token="fake-token")[0], 401)
        finally:
            cloud.stop()

    def test_stops_after_max_seconds(self):
        cloud = FakeCloud("--max-seconds", "0.5")
        try:
            self.assertEqual(cloud.proc.wait(timeout=10), 0)
        finally:
            cloud.stop()

    def test_stops_when_its_parent_dies(self):
        # A short-lived parent starts the fake cloud, reports its port, and exits.
        parent = ("import subprocess, sys\n"
                  "p = subprocess.Popen([sys.executable, sys.argv[1]], stdout=subprocess.PIPE,"
                  " text=True)\n"
                  "print(p.stdout.readline().strip(), flush=True)\n")
        out = subprocess.run([sys.executable, "-c", parent, FAKECLOUD], capture_output=True,
                             text=True, timeout=30).stdout
        port = int(out.strip().rsplit(":", 1)[1])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return
            time.sleep(0.1)
        self.fail("the fake cloud is still listening after its parent died")


if __name__ == "__main__":
    unittest.main()
