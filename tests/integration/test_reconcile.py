"""The reconciler end to end: the real hcr binary, a real PostgreSQL and the fake cloud.

Edits go through the REST API, reach the cloud as operations, and come back as
observations; console changes made in the fake cloud are adopted or pushed back
by policy; two reconcilers share one database; a reconciler killed in the middle
of an operation resumes it without sending it twice.
"""

import json
import os
import signal
import socket
import time
import unittest

from harness import FakeCloud, Hcr, Postgres, stop_and_check, wait_for

DOC = {
    "kubernetesVersion": "1.29",
    "tags": {"team": "payments", "env": "prod"},
    "publicAccess": True,
    "subnets": ["subnet-a", "subnet-b"],
    "nodeGroups": [
        {"nodegroupName": "ng-a", "desiredSize": 3, "minSize": 1, "maxSize": 5,
         "labels": {"role": "web"}, "version": "1.29", "instanceType": "m5.large"},
    ],
}

FAST = {"HCR_FAKE_POLL_INTERVAL_S": "2", "HCR_RECONCILE_OP_POLL_MS": "100"}


def fake_env(cloud, extra=None):
    env = {"HCR_FAKE_ENDPOINT": cloud.url}
    env.update(FAST)
    env.update(extra or {})
    return env


class ReconcileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.cloud = FakeCloud(op_seconds=0.5)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=fake_env(cls.cloud))
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials",
                            {"name": "fake", "provider": "fake", "fake": {"token": "fake-token"}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.cloud, cls.pg)

    def req(self, *a, **kw):
        return self.hcr.request(*a, **kw)

    def register(self, name, doc=None, policy="adopt"):
        self.cloud.admin("PUT", f"/admin/clusters/{name}", doc or DOC)
        r = self.req("POST", "/v1/clusters", {"name": name, "provider": "fake", "imported": True,
                                              "region": "eu-west-1", "credential": "fake",
                                              "policy": policy})
        self.assertEqual(r.status, 201, r)
        return wait_for(lambda: self.observed(name), what=f"{name} observed")

    def observed(self, name):
        r = self.req("GET", f"/v1/clusters/{name}")
        if r.status == 200 and r.json.get("observed") and r.json["state"] == "active":
            return r
        return None

    def field(self, name, path):
        r = self.req("GET", f"/v1/clusters/{name}")
        for f in r.json["fields"]:
            if f["path"] == path:
                return f
        return None

    def patch(self, name, body, version=None):
        if version is None:
            version = self.req("GET", f"/v1/clusters/{name}").json["version"]
        return self.req("PATCH", f"/v1/clusters/{name}/config", body,
                        headers={"If-Match": f'"{version}"'})

    def ops(self, name):
        return self.cloud.calls(name).get("operations", {}).get(name, {})

    # ---------------------------------------------------------------------------------------

    def test_import_writes_nothing_to_the_cloud(self):
        r = self.register("imp-1")
        self.assertEqual(r.json["desired"], {})
        self.assertEqual(r.json["observed"]["kubernetesVersion"], "1.29")
        self.assertEqual(r.json["effective"]["tags"], {"team": "payments", "env": "prod"})
        self.assertTrue(all(f["owner"] == "external" for f in r.json["fields"]))
        cid = r.json["id"]
        rows = ("SELECT string_agg(xmin::text, ',' ORDER BY path) FROM cluster_fields "
                f"WHERE cluster_id = '{cid}'")
        cluster_row = f"SELECT xmin::text FROM clusters WHERE id = '{cid}'"
        polled = f"SELECT last_polled_at FROM cluster_schedule WHERE cluster_id = '{cid}'"
        before = (self.pg.psql("hcr", rows), self.pg.psql("hcr", cluster_row),
                  self.pg.psql("hcr", polled))
        time.sleep(4.5)  # at least two more polls
        self.assertEqual(self.ops("imp-1"), {})
        # Polls that found nothing new rewrote neither the cluster nor any field row.
        self.assertNotEqual(self.pg.psql("hcr", polled), before[2], "not polled again")
        self.assertEqual(self.pg.psql("hcr", rows), before[0])
        self.assertEqual(self.pg.psql("hcr", cluster_row), before[1])

    def test_created_cluster_manages_what_it_was_created_with(self):
        r = self.req("POST", "/v1/clusters", {
            "name": "new-1", "provider": "fake", "imported": False, "region": "eu-west-1",
            "credential": "fake", "config": {"kubernetesVersion": "1.30", "tags": {"a": "b"}}})
        self.assertEqual(r.status, 201, r)
        fields = {f["path"]: f for f in self.req("GET", "/v1/clusters/new-1").json["fields"]}
        self.assertEqual(set(fields), {"kubernetesVersion", "tags.a"})
        self.assertTrue(all(f["owner"] == "hcr" for f in fields.values()))
        self.assertEqual(fields["tags.a"]["desired"], "b")

    def test_created_cluster_is_created_then_deleted_in_the_cloud(self):
        config = {"kubernetesVersion": "1.30", "tags": {"a": "b"},
                  "nodeGroups": [{"nodegroupName": "ng-1", "desiredSize": 2}]}
        r = self.req("POST", "/v1/clusters", {
            "name": "life-1", "provider": "fake", "imported": False, "region": "eu-west-1",
            "credential": "fake", "config": config})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["state"], "pending_create")
        # The reconciler creates it, then sees it active and in sync.
        c = wait_for(lambda: (lambda c: c if c and c["state"] == "active" and all(
            f["state"] == "in_sync" for f in c["fields"]) else None)(
                self.req("GET", "/v1/clusters/life-1").json), timeout=20,
            what="created cluster active and in sync")
        doc = self.cloud.cluster("life-1")["document"]
        self.assertEqual(doc["kubernetesVersion"], "1.30")
        self.assertEqual(doc["tags"], {"a": "b"})
        self.assertEqual([p["nodegroupName"] for p in doc["nodeGroups"]], ["ng-1"])
        self.assertEqual(c["observed"]["nodeGroups"][0]["desiredSize"], 2)
        kinds = self.pg.psql("hcr", "SELECT string_agg(kind || ':' || o.state, ',' ORDER BY "
                             "o.created_at) FROM operations o JOIN clusters c ON "
                             "c.id = o.cluster_id WHERE c.name = 'life-1'")
        self.assertTrue(kinds.startswith("CreateCluster:succeeded"), kinds)
        # A second DELETE while the first runs is accepted too; then it is gone everywhere.
        r = self.req("DELETE", "/v1/clusters/life-1")
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["state"], "deleting")
        self.assertIn(self.req("DELETE", "/v1/clusters/life-1").status, (202, 204))
        wait_for(lambda: self.req("GET", "/v1/clusters/life-1").status == 404, timeout=20,
                 what="cluster forgotten after its deletion")
        self.assertEqual(self.cloud.admin("GET", "/admin/clusters/life-1")[0], 404)

    def test_created_cluster_the_cloud_refuses_stops_in_create_failed(self):
        self.cloud.admin("PUT", "/admin/clusters/taken-1", DOC)
        r = self.req("POST", "/v1/clusters", {
            "name": "taken-1", "provider": "fake", "imported": False, "region": "eu-west-1",
            "credential": "fake", "config": {"kubernetesVersion": "1.30"}})
        self.assertEqual(r.status, 201, r)
        c = wait_for(lambda: (lambda c: c if c["state"] == "create_failed" else None)(
            self.req("GET", "/v1/clusters/taken-1").json), timeout=20, what="create_failed")
        self.assertIn("already exists", json.dumps(c["lastError"]))
        # The existing cluster in the cloud was not touched, and nothing polls it.
        self.assertEqual(self.cloud.cluster("taken-1")["document"]["kubernetesVersion"], "1.29")
        # Deleting it: the cloud's cluster of that name is hcr's to delete only if hcr made it;
        # retain=true forgets it without touching the cloud.
        self.assertEqual(self.req("DELETE", "/v1/clusters/taken-1?retain=true").status, 204)
        self.assertEqual(self.cloud.admin("GET", "/admin/clusters/taken-1")[0], 200)

    def test_edit_reaches_the_cloud_within_a_second(self):
        self.register("edit-1")
        t0 = time.time()
        r = self.patch("edit-1", {"tags": {"owner": "alice"}})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.ops("edit-1"), timeout=5, step=0.01, what="operation in the cloud")
        elapsed = time.time() - t0
        self.assertLess(elapsed, 1.0, f"edit took {elapsed:.2f}s to reach the cloud")
        wait_for(lambda: (self.cloud.cluster("edit-1")["document"]["tags"].get("owner")
                          == "alice"), timeout=10, what="tag applied in the cloud")
        f = wait_for(lambda: (lambda f: f if f and f["state"] == "in_sync" else None)(
            self.field("edit-1", "tags.owner")), timeout=10, what="tags.owner in sync")
        self.assertEqual(f["owner"], "hcr")
        self.assertEqual(f["applied"], "alice")
        # Unmanaged tags were left alone.
        self.assertEqual(self.cloud.cluster("edit-1")["document"]["tags"]["team"], "payments")
        self.assertEqual(sum(self.ops("edit-1").values()), 1)
        metrics = self.req("GET", "/metrics", token=None).raw.decode()
        started = [l for l in metrics.splitlines()
                   if l.startswith("hcr_reconcile_operations_started_total ")]
        self.assertTrue(started and int(started[0].split()[1]) >= 1, started)
        self.assertIn("hcr_reconcile_polls_total", metrics)

    def test_if_match_rules(self):
        self.register("etag-1")
        v = self.req("GET", "/v1/clusters/etag-1").json["version"]
        r = self.req("PATCH", "/v1/clusters/etag-1/config", {"tags": {"a": "b"}})
        self.assertEqual(r.status, 428, r)
        self.assertEqual(r.json["error"]["code"], "precondition_required")
        r = self.patch("etag-1", {"tags": {"a": "b"}}, version=v)
        self.assertEqual(r.status, 200, r)
        r = self.patch("etag-1", {"tags": {"a": "c"}}, version=v)
        self.assertEqual(r.status, 412, r)
        self.assertEqual(r.json["error"]["code"], "precondition_failed")
        self.assertEqual(r.header("ETag"), f'"{v + 1}"')
        # An edit must name the version it was made against: "*" is not enough.
        r = self.req("PATCH", "/v1/clusters/etag-1/config", {"tags": {"a": "b"}},
                     headers={"If-Match": "*"})
        self.assertEqual(r.status, 428, r)
        # An edit that changes nothing writes nothing: the version stays.
        r = self.patch("etag-1", {"tags": {"a": "b"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["version"], v + 1)

    def test_invalid_edits_are_refused_naming_the_field(self):
        self.register("bad-1")
        r = self.patch("bad-1", {"subnets": ["subnet-z"]})
        self.assertEqual(r.status, 422, r)
        self.assertIn("subnets", r.json["error"]["message"])
        r = self.patch("bad-1", {"kubernetesVersion": "1.27"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("kubernetesVersion", r.json["error"]["message"])
        r = self.patch("bad-1", {"nodeGroups": [{"nodegroupName": "x"}, {"nodegroupName": "x"}]})
        self.assertEqual(r.status, 422, r)
        # Nothing was written by the refused edits.
        self.assertEqual(self.req("GET", "/v1/clusters/bad-1").json["desired"], {})

    def test_console_change_is_adopted_and_recorded(self):
        self.register("adopt-1")
        r = self.patch("adopt-1", {"nodeGroups": [dict(DOC["nodeGroups"][0], desiredSize=4)]})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: (self.field("adopt-1", "nodeGroups[ng-a].desiredSize") or {}).get(
            "state") == "in_sync", timeout=10, what="desiredSize applied")
        n_ops = sum(self.ops("adopt-1").values())
        # A script scales the pool in the console (gke-operator#190).
        doc = self.cloud.cluster("adopt-1")["document"]
        doc["nodeGroups"][0]["desiredSize"] = 7
        self.cloud.admin("PUT", "/admin/clusters/adopt-1", doc)
        self.req("POST", "/v1/clusters/adopt-1/refresh")
        f = wait_for(lambda: (lambda f: f if f and f["desired"] == 7 else None)(
            self.field("adopt-1", "nodeGroups[ng-a].desiredSize")), timeout=10,
            what="desiredSize adopted")
        self.assertEqual(f["state"], "in_sync")
        time.sleep(2.5)
        self.assertEqual(sum(self.ops("adopt-1").values()), n_ops, "pushed back a console change")
        ev = self.req("GET", "/v1/events?cluster=adopt-1&kind=adopted").json["items"]
        self.assertTrue(any(e["path"] == "nodeGroups[ng-a].desiredSize" for e in ev), ev)

    def test_enforce_pushes_back(self):
        self.register("enf-1", policy="enforce")
        self.assertEqual(self.patch("enf-1", {"tags": {"env": "prod"}}).status, 200)
        wait_for(lambda: (self.field("enf-1", "tags.env") or {}).get("owner") == "hcr",
                 what="managed")
        self.cloud.admin("PATCH", "/admin/clusters/enf-1", {"tags": {"env": "dev"}})
        self.req("POST", "/v1/clusters/enf-1/refresh")
        wait_for(lambda: self.cloud.cluster("enf-1")["document"]["tags"]["env"] == "prod",
                 timeout=10, what="managed tag pushed back")

    def test_drift_and_events(self):
        self.register("drift-1")
        self.cloud.admin("POST", "/admin/faults", {"kind": "fail_next_op", "count": 1,
                                                    "path_prefix": "/v1/clusters/drift-1"})
        self.assertEqual(self.patch("drift-1", {"tags": {"cost": "1"}}).status, 200)
        f = wait_for(lambda: (lambda f: f if f and f["state"] == "failed" else None)(
            self.field("drift-1", "tags.cost")), timeout=10, what="failed field")
        self.assertTrue(f["reason"])
        r = self.req("GET", "/v1/clusters/drift-1/drift")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(any(d["path"] == "tags.cost" for d in r.json["fields"]), r.json)
        r = self.req("GET", "/v1/drift?state=failed")
        self.assertTrue(any(d["cluster"] == "drift-1" for d in r.json["items"]), r.json)
        # Retried with back-off, then applied.
        wait_for(lambda: (self.field("drift-1", "tags.cost") or {}).get("state") == "in_sync",
                 timeout=30, step=0.2, what="retried after failure")
        r = self.req("GET", "/v1/events?cluster=drift-1&limit=2")
        self.assertEqual(len(r.json["items"]), 2)
        self.assertTrue(r.json["nextCursor"])
        older = self.req("GET", f"/v1/events?cluster=drift-1&cursor={r.json['nextCursor']}")
        self.assertTrue(all(e["id"] < r.json["items"][-1]["id"] for e in older.json["items"]))

    def test_event_stream(self):
        self.register("sse-1")
        sock = socket.create_connection(("127.0.0.1", self.hcr.port), timeout=15)
        sock.sendall(("GET /v1/events?cluster=sse-1 HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {self.hcr.admin_token}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        self.assertIn(b"200", head.split(b"\r\n")[0])
        self.assertIn(b"text/event-stream", head)
        self.assertEqual(self.patch("sse-1", {"tags": {"watch": "me"}}).status, 200)
        data = b""
        deadline = time.time() + 10
        while b"tags.watch" not in data and time.time() < deadline:
            data += sock.recv(4096)
        sock.close()
        self.assertIn(b"event: cluster-event", data)
        self.assertIn(b"tags.watch", data)


class TwoReconcilersTest(unittest.TestCase):
    """Two reconcilers on one database never work on the same cluster at once."""

    def test_exclusive_and_resumable(self):
        pg = Postgres()
        cloud = FakeCloud(latency_ms=20, op_seconds=2.0)
        # 40 clusters polled every second are 40 calls/s: lift the per-account rate limit
        # (20/s by default) so that this test of exclusivity does not also wait on it.
        env = fake_env(cloud, {"HCR_FAKE_POLL_INTERVAL_S": "1", "HCR_RECONCILE_LEASE_S": "10",
                               "HCR_RECONCILE_RATE_PER_S": "1000"})
        api = Hcr("serve", database_url=pg.url, env=env)
        recs = []
        try:
            api.wait_ready()
            r = api.request("POST", "/v1/credentials", {"name": "fake", "provider": "fake",
                                                        "fake": {"token": "fake-token"}})
            self.assertEqual(r.status, 201, r)
            cloud.admin("POST", "/admin/clusters/bulk", {"count": 40, "prefix": "multi-",
                                                          "document": DOC})
            for i in range(40):
                r = api.request("POST", "/v1/clusters", {
                    "name": f"multi-{i}", "provider": "fake", "imported": True,
                    "region": "eu-west-1", "credential": "fake"})
                self.assertEqual(r.status, 201, r)
            # Every process of one installation shares the master key.
            env["HCR_MASTER_KEY_FILE"] = os.path.join(api.data_dir, "master.key")
            recs = [Hcr("reconcile", database_url=pg.url, env=env) for _ in range(2)]
            time.sleep(4)  # a few poll rounds for both
            calls = cloud.calls()
            self.assertGreater(calls["total"], 80)
            overlaps = calls.get("max_concurrent_per_cluster", {})
            self.assertTrue(all(v <= 1 for v in overlaps.values()), overlaps)

            # An edit, and the reconciler that takes it is killed mid-operation.
            v = api.request("GET", "/v1/clusters/multi-0").json["version"]
            r = api.request("PATCH", "/v1/clusters/multi-0/config", {"tags": {"k": "v"}},
                            headers={"If-Match": f'"{v}"'})
            self.assertEqual(r.status, 200, r)
            wait_for(lambda: cloud.calls("multi-0").get("operations", {}).get("multi-0"),
                     timeout=30, what="operation sent")
            for rec in recs:
                rec.stop(signal.SIGKILL)
            recs = [Hcr("reconcile", database_url=pg.url, env=env)]
            wait_for(lambda: cloud.cluster("multi-0")["document"]["tags"].get("k") == "v",
                     timeout=30, what="operation completed after restart")

            def in_sync(cluster, path):
                for f in api.request("GET", f"/v1/clusters/{cluster}").json["fields"]:
                    if f["path"] == path:
                        return f["state"] == "in_sync"
                return False
            wait_for(lambda: in_sync("multi-0", "tags.k"), timeout=40, step=0.3,
                     what="tags.k in sync after restart")
            ops = cloud.calls("multi-0")["operations"]["multi-0"]
            self.assertEqual(sum(ops.values()), 1, ops)

            # Killed while the cloud call itself is in flight: the operation is recorded
            # but its answer is lost. The next reconciler sends it again with the same
            # idempotency token, and the cloud applies it once.
            cloud.admin("POST", "/admin/faults", {"kind": "latency", "ms": 3000, "count": 1,
                                                   "method": "POST",
                                                   "path_prefix": "/v1/clusters/multi-1/"})
            v = api.request("GET", "/v1/clusters/multi-1").json["version"]
            r = api.request("PATCH", "/v1/clusters/multi-1/config", {"tags": {"k2": "v2"}},
                            headers={"If-Match": f'"{v}"'})
            self.assertEqual(r.status, 200, r)
            wait_for(lambda: cloud.calls("multi-1")["clusters"].get("multi-1", {}).get(
                "POST /v1/clusters/{name}/operations"), timeout=20, step=0.02,
                what="operation request sent")
            for rec in recs:
                rec.stop(signal.SIGKILL)
            recs = [Hcr("reconcile", database_url=pg.url, env=env)]
            wait_for(lambda: cloud.cluster("multi-1")["document"]["tags"].get("k2") == "v2",
                     timeout=40, step=0.3, what="operation applied after the restart")
            wait_for(lambda: in_sync("multi-1", "tags.k2"), timeout=40, step=0.3,
                     what="tags.k2 in sync after the restart")
            calls = cloud.calls("multi-1")
            self.assertEqual(sum(calls["operations"]["multi-1"].values()), 1, calls)
            self.assertGreaterEqual(sum(calls["replayed_operations"].get("multi-1", {}).values()),
                                    1, calls)
        finally:
            for rec in recs:
                rec.destroy()
            api.destroy()
            cloud.destroy()
            pg.destroy()


if __name__ == "__main__":
    unittest.main()
