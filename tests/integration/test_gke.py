"""GKE end to end: the real hcr binary, a real PostgreSQL and the GKE emulator
(tests/emulators/gkeemu.py), every call authenticated with an access token that hcr
obtained from the emulator's token endpoint with an RS256 JWT signed by the fixture key.

What a user of hcr with GKE clusters would notice: an imported cluster is only read;
edits reach GKE as tracked operations; console changes are adopted or reported as the
sync model says; pools made elsewhere are never deleted; busy clusters wait; failed
operations show GKE's reason; a stale label fingerprint is retried; downgrades are refused.
"""

import json
import os
import unittest

from harness import ROOT, ClusterApi, Hcr, Postgres, stop_and_check, wait_for
from test_gke_emulator import GkeEmulator

ZONE = "us-central1-a"
PROJECT = "hcr-test-project"
KEY_FILE = os.path.join(ROOT, "tests", "fixtures", "gke", "service-account.json")
FAST = {"HCR_GKE_POLL_INTERVAL_S": "1", "HCR_RECONCILE_OP_POLL_MS": "200"}
READS = {"container.projects.locations.clusters.get", "container.projects.locations.operations.get",
         "container.projects.locations.clusters.list", "token"}


def console_cluster(name, version="1.30", labels=None, pools=("pool-a",)):
    return {"name": name, "initialClusterVersion": version,
            "resourceLabels": labels if labels is not None else {"team": "payments"},
            "nodePools": [{"name": p, "initialNodeCount": 3} for p in pools]}


class GkeTest(ClusterApi, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = GkeEmulator(op_seconds=1, create_seconds=1, delete_seconds=1)
        env = {"HCR_GKE_ENDPOINT": cls.emu.url, "HCR_GKE_TOKEN_URI": cls.emu.token_uri}
        env.update(FAST)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=env)
        cls.hcr.wait_ready()
        with open(KEY_FILE) as f:
            cls.key = json.load(f)
        r = cls.hcr.request("POST", "/v1/credentials", {
            "name": "gcp", "provider": "gke", "gke": {"serviceAccountJson": cls.key}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.emu, cls.pg, secrets=(cls.key["private_key"][40:90],))

    # ---- helpers ---------------------------------------------------------------------------

    def register(self, name, policy="adopt", **cluster):
        self.emu.add_cluster(ZONE, console_cluster(name, **cluster))
        r = self.req("POST", "/v1/clusters", {"name": name, "provider": "gke", "imported": True,
                                              "location": ZONE, "credential": "gcp",
                                              "policy": policy})
        self.assertEqual(r.status, 201, r)
        return wait_for(lambda: self.observed(name), timeout=20, what=f"{name} observed")

    def cloud(self, name):
        return self.emu.state(ZONE, name)["cluster"]

    def mutations(self, name):
        return [c for c in self.emu.calls(name) if c["methodId"] not in READS]

    def pool(self, name, pool):
        return [p for p in self.cloud(name)["nodePools"] if p["name"] == pool][0]

    # ---- tests -----------------------------------------------------------------------------

    def test_imported_cluster_is_observed_and_nothing_is_written(self):
        r = self.register("imp-1", pools=("pool-a", "pool-b"))
        obs = r.json["observed"]
        self.assertTrue(obs["kubernetesVersion"].startswith("1.30."), obs)
        self.assertEqual(obs["labels"], {"team": "payments"})
        self.assertEqual([p["name"] for p in obs["nodePools"]], ["pool-a", "pool-b"])
        self.assertEqual(obs["nodePools"][0]["initialNodeCount"], 3)
        self.assertEqual(obs["nodePools"][0]["maxPodsConstraint"], 110)
        self.assertEqual(obs["clusterAddons"]["httpLoadBalancing"], True)
        self.assertEqual(obs["clusterAddons"]["networkPolicyConfig"], False)
        self.assertEqual(r.json["desired"], {})
        wait_for(lambda: len(self.emu.calls("imp-1")) >= 3, timeout=10, what="polls")
        self.assertEqual(self.mutations("imp-1"), [])

    def test_version_size_and_labels_reach_gke_through_tracked_operations(self):
        self.register("edit-1")
        r = self.patch("edit-1", {"kubernetesVersion": "1.31",
                                  "labels": {"env": "prod"},
                                  "nodePools": [{"name": "pool-a", "initialNodeCount": 5}]})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.cloud("edit-1")["currentMasterVersion"].startswith("1.31."),
                 timeout=30, what="master upgraded")
        wait_for(lambda: self.pool("edit-1", "pool-a").get("initialNodeCount") == 5,
                 timeout=30, what="pool resized")
        wait_for(lambda: self.cloud("edit-1").get("resourceLabels") ==
                 {"team": "payments", "env": "prod"}, timeout=30, what="labels set")
        for path in ("kubernetesVersion", "labels.env", "nodePools[pool-a].initialNodeCount"):
            wait_for(lambda: self.field_state("edit-1", path, "in_sync"), timeout=20,
                     what=f"{path} in sync")
        methods = [c["methodId"].rsplit(".", 1)[-1] for c in self.mutations("edit-1")]
        self.assertEqual(sorted(methods), ["setResourceLabels", "setSize", "update"])
        ops = self.emu.state(ZONE, "edit-1")["operations"]
        self.assertEqual(len(ops), 3)

    def test_console_change_to_unmanaged_field_is_reported_not_touched(self):
        self.register("ext-1")
        self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/ext-1",
                       {"loggingService": "logging.googleapis.com"})
        wait_for(lambda: self.events("ext-1", "external_change"), timeout=20,
                 what="external change")
        self.assertEqual(self.mutations("ext-1"), [])

    def test_console_change_to_managed_field_is_adopted_or_pushed_back(self):
        self.register("adopt-1")
        self.register("enforce-1", policy="enforce")
        for name in ("adopt-1", "enforce-1"):
            self.assertEqual(self.patch(name, {"monitoringService": "none"}).status, 200)
            wait_for(lambda: self.field_state(name, "monitoringService", "in_sync"),
                     timeout=30, what="monitoring set")
            self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/{name}",
                           {"monitoringService": "monitoring.googleapis.com/kubernetes"})
        wait_for(lambda: self.cluster("adopt-1")["desired"].get("monitoringService") ==
                 "monitoring.googleapis.com/kubernetes", timeout=20, what="adopted")
        wait_for(lambda: self.cloud("enforce-1").get("monitoringService") == "none",
                 timeout=30, what="pushed back")

    def test_console_pool_is_never_deleted(self):
        self.register("pools-1")
        self.emu.admin("POST", f"/admin/clusters/{ZONE}/pools-1/nodePools",
                       {"name": "console-pool", "initialNodeCount": 1})
        wait_for(lambda: self.events("pools-1", "pool_external"), timeout=20,
                 what="pool_external")
        r = self.patch("pools-1", {"nodePools": [{"name": "pool-a", "initialNodeCount": 2}]})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.pool("pools-1", "pool-a").get("initialNodeCount") == 2,
                 timeout=30, what="resized")
        self.assertIn("console-pool", [p["name"] for p in self.cloud("pools-1")["nodePools"]])
        self.assertNotIn("container.projects.locations.clusters.nodePools.delete",
                         [c["methodId"] for c in self.emu.calls("pools-1")])

    def test_autoscaled_pool_size_is_never_pushed(self):
        self.register("auto-1")
        self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/auto-1/nodePools/pool-a",
                       {"autoscaling": {"enabled": True, "minNodeCount": 1,
                                        "maxNodeCount": 5}})

        def autoscaled():
            p = self.cluster("auto-1")["observed"]["nodePools"][0]
            return p if p["autoscaling"]["enabled"] else None
        pool = wait_for(autoscaled, timeout=20, what="autoscaling observed")
        self.assertNotIn("initialNodeCount", pool)  # the autoscaler's
        # The autoscaler scales: nothing is reported, adopted or pushed back.
        seen = len(self.events("auto-1", "external_change"))
        self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/auto-1/nodePools/pool-a",
                       {"initialNodeCount": 4})
        r = self.patch("auto-1", {"nodePools": [
            {"name": "pool-a", "autoscaling": {"enabled": True, "minNodeCount": 1,
                                               "maxNodeCount": 6}}]})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.field_state("auto-1", "nodePools[pool-a].autoscaling", "in_sync"),
                 timeout=30, what="autoscaling applied")
        self.assertEqual(self.pool("auto-1", "pool-a")["autoscaling"]["maxNodeCount"], 6)
        self.assertEqual(self.pool("auto-1", "pool-a")["initialNodeCount"], 4)
        self.assertEqual(len(self.events("auto-1", "external_change")), seen)
        # Asking for a size while the autoscaler owns it fails with a clear reason.
        r = self.patch("auto-1", {"nodePools": [{"name": "pool-a", "initialNodeCount": 2}]})
        self.assertEqual(r.status, 200, r)
        f = wait_for(lambda: self.field_state("auto-1", "nodePools[pool-a].initialNodeCount",
                                              "failed"), timeout=30, what="size refused")
        self.assertIn("autoscaler", f["reason"])
        self.assertEqual(self.pool("auto-1", "pool-a")["initialNodeCount"], 4)
        self.assertNotIn("container.projects.locations.clusters.nodePools.setSize",
                         [c["methodId"] for c in self.emu.calls("auto-1")])

    def test_busy_cluster_waits_then_applies(self):
        self.register("busy-1")
        self.emu.admin("POST", "/admin/faults", {
            "operation": "container.projects.locations.clusters.nodePools.setSize",
            "cluster": "busy-1", "count": 2, "status": 400, "code": "FAILED_PRECONDITION",
            "message": "Cluster is running incompatible operation operation-1-x."})
        self.assertEqual(self.patch("busy-1", {"nodePools": [
            {"name": "pool-a", "initialNodeCount": 4}]}).status, 200)
        wait_for(lambda: self.pool("busy-1", "pool-a").get("initialNodeCount") == 4,
                 timeout=40, what="resized after busy")
        self.assertFalse(self.events("busy-1", "failed"))

    def test_failed_operation_shows_the_error_in_drift(self):
        self.register("fail-1")
        self.emu.admin("POST", "/admin/fail-next", {"kind": "nodePool", "cluster": "fail-1",
                                                    "message": "quota exhausted in zone"})
        self.assertEqual(self.patch("fail-1", {"nodePools": [
            {"name": "pool-a", "initialNodeCount": 6}]}).status, 200)
        f = wait_for(lambda: self.field_state("fail-1", "nodePools[pool-a].initialNodeCount",
                                              "failed"), timeout=30, what="failed")
        self.assertIn("quota exhausted in zone", f["reason"])
        drift = self.req("GET", "/v1/clusters/fail-1/drift")
        self.assertIn("quota exhausted", json.dumps(drift.json))

    def test_stale_label_fingerprint_is_read_again_and_retried(self):
        self.register("fp-1")
        self.emu.admin("POST", "/admin/faults", {
            "operation": "container.projects.locations.clusters.setResourceLabels",
            "cluster": "fp-1", "count": 1, "status": 400, "code": "FAILED_PRECONDITION",
            "message": "Labels could not be set due to fingerprint mismatch; try again with "
                       "the proper fingerprint."})
        self.emu.admin("PATCH", f"/admin/clusters/{ZONE}/fp-1", {"resourceLabels": {
            "team": "payments", "console": "yes"}})
        self.assertEqual(self.patch("fp-1", {"labels": {"env": "dev"}}).status, 200)
        wait_for(lambda: self.cloud("fp-1").get("resourceLabels", {}).get("env") == "dev",
                 timeout=30, what="labels set")
        self.assertEqual(self.cloud("fp-1")["resourceLabels"]["console"], "yes")
        calls = [c for c in self.emu.calls("fp-1")
                 if c["methodId"].endswith("setResourceLabels")]
        self.assertEqual([c["status"] for c in calls], [400, 200])

    def test_created_cluster_is_created_then_deleted(self):
        config = {"kubernetesVersion": "1.30", "labels": {"owner": "hcr"},
                  "loggingService": "none",
                  "nodePools": [{"name": "pool-1",
                                 "autoscaling": {"enabled": True, "minNodeCount": 2,
                                                 "maxNodeCount": 3},
                                 "config": {"machineType": "e2-standard-4"}}]}
        r = self.req("POST", "/v1/clusters", {"name": "made-1", "provider": "gke",
                                              "imported": False, "location": ZONE,
                                              "credential": "gcp", "config": config})
        self.assertEqual(r.status, 201, r)
        c = wait_for(lambda: (lambda c: c if c["state"] == "active" and c["fields"] and all(
            f["state"] == "in_sync" for f in c["fields"]) else None)(self.cluster("made-1")),
            timeout=40, what="created cluster active and in sync")
        cl = self.cloud("made-1")
        self.assertTrue(cl["currentMasterVersion"].startswith("1.30."), cl)
        self.assertEqual(cl["resourceLabels"], {"owner": "hcr"})
        self.assertEqual(cl["loggingService"], "none")
        pool = self.pool("made-1", "pool-1")
        self.assertEqual(pool["initialNodeCount"], 2)  # autoscaled: starts at minNodeCount
        self.assertEqual(pool["autoscaling"]["maxNodeCount"], 3)
        self.assertEqual(pool["config"]["machineType"], "e2-standard-4")
        self.assertEqual([p["name"] for p in c["observed"]["nodePools"]], ["pool-1"])
        methods = [m["methodId"].rsplit(".", 1)[-1] for m in self.mutations("made-1")]
        self.assertEqual(methods.count("create"), 1, methods)  # the pool was not made again

        r = self.req("DELETE", "/v1/clusters/made-1")
        self.assertEqual(r.status, 202, r)
        wait_for(lambda: self.req("GET", "/v1/clusters/made-1").status == 404, timeout=40,
                 what="deleted cluster forgotten")
        self.assertEqual(self.emu.admin("GET", f"/admin/clusters/{ZONE}/made-1")[0], 404)

    def test_create_without_a_node_pool_is_refused_at_registration(self):
        r = self.req("POST", "/v1/clusters", {"name": "made-bad", "provider": "gke",
                                              "imported": False, "location": ZONE,
                                              "credential": "gcp",
                                              "config": {"kubernetesVersion": "1.30"}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("config.nodePools", r.json["error"]["message"])
        self.assertEqual(self.req("GET", "/v1/clusters/made-bad").status, 404)
        # A size for an autoscaled pool would be pushed against the autoscaler: refused.
        r = self.req("POST", "/v1/clusters", {"name": "made-bad", "provider": "gke",
                                              "imported": False, "location": ZONE,
                                              "credential": "gcp", "config": {
                                                  "nodePools": [{
                                                      "name": "p", "initialNodeCount": 3,
                                                      "autoscaling": {"enabled": True,
                                                                      "minNodeCount": 1,
                                                                      "maxNodeCount": 4}}]}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("config.nodePools[0].initialNodeCount", r.json["error"]["message"])
        self.assertIn("autoscaler", r.json["error"]["message"])
        self.assertEqual(self.req("GET", "/v1/clusters/made-bad").status, 404)

    def test_downgrade_is_refused(self):
        self.register("down-1", version="1.31")
        r = self.patch("down-1", {"kubernetesVersion": "1.30"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("kubernetesVersion", r.json["error"]["message"])
        self.assertEqual(self.mutations("down-1"), [])


if __name__ == "__main__":
    unittest.main()

