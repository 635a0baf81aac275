"""EKS end to end: the real hcr binary, a real PostgreSQL and the EKS emulator
(tests/emulators/eksemu.py), with every request SigV4-signed and checked.

What a user of hcr with EKS clusters would notice: an imported cluster is only
read; edits reach EKS as tracked updates; console changes are adopted or
reported as the sync model says; node groups made elsewhere are shown and never
deleted; clusters hcr creates are created and deleted; failures, busy clusters,
throttling and crashes lose nothing and apply nothing twice.
"""

import base64
import json
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

from harness import (HCR, ClusterApi, EksEmulator, Hcr, Postgres, sanitizer_reports,
                     stop_and_check, wait_for)

REGION = "eu-west-1"
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"

FAST = {"HCR_EKS_POLL_INTERVAL_S": "2", "HCR_RECONCILE_OP_POLL_MS": "200"}

MUTATING = {"CreateCluster", "DeleteCluster", "UpdateClusterVersion", "UpdateClusterConfig",
            "CreateNodegroup", "DeleteNodegroup", "UpdateNodegroupConfig",
            "UpdateNodegroupVersion", "TagResource", "UntagResource"}


def console_cluster(name, version="1.29", tags=None):
    return {"name": name, "version": version, "roleArn": ROLE,
            "tags": tags if tags is not None else {"team": "payments"},
            "resourcesVpcConfig": {"subnetIds": ["subnet-a", "subnet-b"],
                                   "securityGroupIds": ["sg-1"],
                                   "endpointPublicAccess": True,
                                   "endpointPrivateAccess": False,
                                   "publicAccessCidrs": ["0.0.0.0/0"]}}


def console_nodegroup(name, desired=3, version="1.29"):
    return {"nodegroupName": name, "version": version, "nodeRole": NODE_ROLE,
            "subnets": ["subnet-a"], "instanceTypes": ["m5.large"], "diskSize": 20,
            "scalingConfig": {"minSize": 1, "maxSize": 6, "desiredSize": desired},
            "labels": {"role": "web"}}


class EksTest(ClusterApi, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = EksEmulator(keys=[f"{AKID}:{SECRET}"], create_seconds=1, update_seconds=1,
                              nodegroup_seconds=1, delete_seconds=1)
        cls.env = {"HCR_EKS_ENDPOINT": cls.emu.url, "HCR_EKS_STS_ENDPOINT": cls.emu.url}
        cls.env.update(FAST)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=cls.env)
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials", {
            "name": "aws", "provider": "eks",
            "eks": {"accessKeyId": AKID, "secretAccessKey": SECRET}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.emu, cls.pg, secrets=(SECRET,))

    # ---- helpers ---------------------------------------------------------------------------

    def register(self, name, nodegroups=("ng-a",), policy="adopt", credential="aws",
                 wait=True, **cluster):
        self.emu.add_cluster(REGION, console_cluster(name, **cluster),
                             [console_nodegroup(ng) for ng in nodegroups])
        r = self.req("POST", "/v1/clusters", {"name": name, "provider": "eks",
                                              "imported": True, "region": REGION,
                                              "credential": credential, "policy": policy})
        self.assertEqual(r.status, 201, r)
        if wait:
            return wait_for(lambda: self.observed(name), timeout=20, what=f"{name} observed")
        return r

    def cloud(self, name):
        return self.emu.state(REGION, name)

    def calls(self, name, operation=None):
        return [c for c in self.emu.calls(name)
                if operation is None or c["operation"] == operation]

    # ---- import and observe ----------------------------------------------------------------

    def test_imported_cluster_is_observed_and_nothing_is_written(self):
        r = self.register("imp-1", nodegroups=("ng-a", "ng-b"))
        obs = r.json["observed"]
        self.assertEqual(obs["kubernetesVersion"], "1.29")
        self.assertEqual(obs["tags"], {"team": "payments"})
        self.assertEqual(obs["publicAccess"], True)
        self.assertEqual(obs["privateAccess"], False)
        self.assertEqual(obs["subnets"], ["subnet-a", "subnet-b"])
        self.assertEqual(obs["serviceRole"], ROLE)
        self.assertEqual([g["nodegroupName"] for g in obs["nodeGroups"]], ["ng-a", "ng-b"])
        ng = obs["nodeGroups"][0]
        self.assertEqual((ng["desiredSize"], ng["minSize"], ng["maxSize"]), (3, 1, 6))
        self.assertEqual(ng["labels"], {"role": "web"})
        self.assertEqual(ng["instanceType"], "m5.large")
        self.assertEqual(r.json["desired"], {})
        time.sleep(3)  # more polls
        ops = {c["operation"] for c in self.calls("imp-1")}
        self.assertTrue({"DescribeCluster", "ListNodegroups", "DescribeNodegroup"} <= ops, ops)
        self.assertFalse(ops & MUTATING, f"an imported cluster was written to: {ops}")
        # Every call was signed with the credential and accepted.
        self.assertTrue(all(c["status"] == 200 for c in self.calls("imp-1")))

    # ---- edits reach EKS as tracked updates ------------------------------------------------

    def test_version_and_desired_size_reach_eks_through_tracked_updates(self):
        self.register("edit-1")
        ngs = self.cluster("edit-1")["effective"]["nodeGroups"]
        ngs[0]["desiredSize"] = 5
        r = self.patch("edit-1", {"kubernetesVersion": "1.30", "nodeGroups": ngs})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.field_state("edit-1", "kubernetesVersion", "in_sync") and
                 self.field_state("edit-1", "nodeGroups[ng-a].desiredSize", "in_sync"),
                 timeout=30, what="version and size in sync")
        state = self.cloud("edit-1")
        self.assertEqual(state["cluster"]["version"], "1.30")
        self.assertEqual(state["nodegroups"]["ng-a"]["scalingConfig"]["desiredSize"], 5)
        # min and max were sent unchanged (EKS wants all three).
        self.assertEqual(state["nodegroups"]["ng-a"]["scalingConfig"]["minSize"], 1)
        self.assertEqual(state["nodegroups"]["ng-a"]["scalingConfig"]["maxSize"], 6)
        # Each went through an update that hcr tracked to Successful.
        updates = {u["type"]: u for u in state["updates"]}
        self.assertEqual(updates["VersionUpdate"]["status"], "Successful")
        self.assertEqual(updates["ConfigUpdate"]["status"], "Successful")
        self.assertTrue(self.calls("edit-1", "DescribeUpdate"))
        self.assertEqual(len([c for c in self.calls("edit-1", "UpdateClusterVersion")
                              if not c["replay"]]), 1)
        ops = self.pg.psql("hcr", "SELECT string_agg(kind || ':' || o.state, ',' ORDER BY "
                           "o.created_at) FROM operations o JOIN clusters c ON "
                           "c.id = o.cluster_id WHERE c.name = 'edit-1'")
        self.assertIn("UpdateClusterVersion:succeeded", ops)
        self.assertIn("UpdateNodegroupConfig:succeeded", ops)
        # The cloud's update id is the operation's handle.
        handles = self.pg.psql("hcr", "SELECT string_agg(handle, ',') FROM operations o JOIN "
                               "clusters c ON c.id = o.cluster_id WHERE c.name = 'edit-1' "
                               "AND kind = 'UpdateClusterVersion'")
        self.assertIn(updates["VersionUpdate"]["id"], handles)

    def test_tags_labels_and_logging(self):
        self.register("tags-1")
        ngs = self.cluster("tags-1")["effective"]["nodeGroups"]
        ngs[0]["labels"] = {"tier": "gold"}  # role removed, tier added
        r = self.patch("tags-1", {"tags": {"owner": "alice", "team": None},
                                  "loggingTypes": ["api", "audit"], "nodeGroups": ngs})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: not self.req("GET", "/v1/clusters/tags-1/drift").json["fields"],
                 timeout=40, what="no drift left")
        c = self.cloud("tags-1")["cluster"]
        self.assertEqual(c["tags"], {"owner": "alice"})
        enabled = [t for e in c["logging"]["clusterLogging"] if e["enabled"]
                   for t in e["types"]]
        self.assertEqual(sorted(enabled), ["api", "audit"])
        # The label hcr did not manage stays (the pool list only speaks for hcr's keys).
        self.assertEqual(self.cloud("tags-1")["nodegroups"]["ng-a"]["labels"],
                         {"role": "web", "tier": "gold"})
        self.assertTrue(self.calls("tags-1", "UntagResource"))
        # A managed label left out of the item's map is removed from the node group.
        ngs = self.cluster("tags-1")["effective"]["nodeGroups"]
        ngs[0]["labels"] = {"role": "web"}
        self.assertEqual(self.patch("tags-1", {"nodeGroups": ngs}).status, 200)
        wait_for(lambda: self.cloud("tags-1")["nodegroups"]["ng-a"]["labels"] == {"role": "web"},
                 timeout=30, what="managed label removed")

    # ---- console changes -------------------------------------------------------------------

    def test_console_change_to_unmanaged_field_is_reported_not_touched(self):
        self.register("con-1")
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/con-1",
                       {"tags": {"team": "platform"}})
        wait_for(lambda: self.cluster("con-1")["observed"]["tags"].get("team") == "platform",
                 timeout=20, what="console tag observed")
        ev = wait_for(lambda: self.events("con-1", "external_change"), timeout=10,
                      what="external_change event")
        self.assertEqual((ev[0]["path"], ev[0]["old"], ev[0]["new"]),
                         ("tags.team", "payments", "platform"))
        self.assertEqual(self.cluster("con-1")["desired"], {})
        self.assertFalse({c["operation"] for c in self.calls("con-1")} & MUTATING)

    def test_console_change_to_managed_field_is_adopted(self):
        self.register("con-2")
        self.assertEqual(self.patch("con-2", {"tags": {"owner": "alice"}}).status, 200)
        wait_for(lambda: self.field_state("con-2", "tags.owner", "in_sync"), timeout=20,
                 what="tags.owner in sync")
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/con-2", {"tags": {"owner": "bob"}})
        f = wait_for(lambda: (lambda f: f if f["desired"] == "bob" else None)(
            self.field("con-2", "tags.owner")), timeout=20, what="console value adopted")
        self.assertEqual(f["state"], "in_sync")
        self.assertTrue(self.events("con-2", "adopted"))
        time.sleep(2)
        self.assertEqual(self.cloud("con-2")["cluster"]["tags"]["owner"], "bob")

    def test_console_change_to_managed_field_is_pushed_back_with_enforce(self):
        self.register("con-3", policy="enforce")
        self.assertEqual(self.patch("con-3", {"tags": {"owner": "alice"}}).status, 200)
        wait_for(lambda: self.field_state("con-3", "tags.owner", "in_sync"), timeout=20,
                 what="tags.owner in sync")
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/con-3", {"tags": {"owner": "bob"}})
        wait_for(lambda: self.cloud("con-3")["cluster"]["tags"].get("owner") == "alice" and
                 len(self.calls("con-3", "TagResource")) >= 2, timeout=20,
                 what="owner pushed back to alice")
        self.assertEqual(self.field("con-3", "tags.owner")["desired"], "alice")

    def test_console_nodegroup_is_shown_and_never_deleted(self):
        self.register("pool-1")
        self.emu.admin("POST", f"/admin/clusters/{REGION}/pool-1/nodegroups",
                       console_nodegroup("ng-console", desired=2))
        wait_for(lambda: [g for g in self.cluster("pool-1")["observed"]["nodeGroups"]
                          if g["nodegroupName"] == "ng-console"], timeout=20,
                 what="console node group observed")
        self.assertTrue(self.events("pool-1", "pool_external"))
        # A desired pool list without it: the external pool stays.
        ngs = [g for g in self.cluster("pool-1")["effective"]["nodeGroups"]
               if g["nodegroupName"] == "ng-a"]
        ngs[0]["desiredSize"] = 4
        self.assertEqual(self.patch("pool-1", {"nodeGroups": ngs}).status, 200)
        wait_for(lambda: self.field_state("pool-1", "nodeGroups[ng-a].desiredSize", "in_sync"),
                 timeout=30, what="ng-a resized")
        time.sleep(2)
        self.assertIn("ng-console", self.cloud("pool-1")["nodegroups"])
        self.assertFalse(self.calls("pool-1", "DeleteNodegroup"))

    # ---- clusters hcr creates ---------------------------------------------------------------

    def test_created_cluster_is_created_then_deleted(self):
        config = {"kubernetesVersion": "1.30", "serviceRole": ROLE,
                  "subnets": ["subnet-a", "subnet-b"], "tags": {"owner": "hcr"},
                  "publicAccess": True, "privateAccess": True,
                  "nodeGroups": [{"nodegroupName": "ng-1", "desiredSize": 2, "minSize": 1,
                                  "maxSize": 3, "nodeRole": NODE_ROLE,
                                  "instanceType": "t3.large"}]}
        r = self.req("POST", "/v1/clusters", {"name": "made-1", "provider": "eks",
                                              "imported": False, "region": REGION,
                                              "credential": "aws", "config": config})
        self.assertEqual(r.status, 201, r)
        c = wait_for(lambda: (lambda c: c if c["state"] == "active" and c["fields"] and all(
            f["state"] == "in_sync" for f in c["fields"]) else None)(self.cluster("made-1")),
            timeout=40, what="created cluster active and in sync")
        state = self.cloud("made-1")
        self.assertEqual(state["cluster"]["version"], "1.30")
        self.assertEqual(state["cluster"]["roleArn"], ROLE)
        self.assertEqual(state["cluster"]["tags"], {"owner": "hcr"})
        self.assertEqual(state["cluster"]["resourcesVpcConfig"]["endpointPrivateAccess"], True)
        ng = state["nodegroups"]["ng-1"]
        self.assertEqual(ng["scalingConfig"], {"minSize": 1, "maxSize": 3, "desiredSize": 2})
        self.assertEqual(ng["instanceTypes"], ["t3.large"])
        self.assertEqual(c["observed"]["nodeGroups"][0]["nodegroupName"], "ng-1")
        create = self.calls("made-1", "CreateCluster")
        self.assertEqual(len([x for x in create if not x["replay"]]), 1)
        self.assertTrue(create[0]["token"], "CreateCluster carried no clientRequestToken")

        r = self.req("DELETE", "/v1/clusters/made-1")
        self.assertEqual(r.status, 202, r)
        wait_for(lambda: self.req("GET", "/v1/clusters/made-1").status == 404, timeout=40,
                 what="deleted cluster forgotten")
        self.assertEqual(self.emu.admin("GET", f"/admin/clusters/{REGION}/made-1")[0], 404)
        ops = [c["operation"] for c in self.calls("made-1")]
        self.assertIn("DeleteNodegroup", ops)
        self.assertLess(ops.index("DeleteNodegroup"), ops.index("DeleteCluster"))

    def test_create_without_a_service_role_is_refused_at_registration(self):
        r = self.req("POST", "/v1/clusters", {"name": "made-bad", "provider": "eks",
                                              "imported": False, "region": REGION,
                                              "credential": "aws",
                                              "config": {"kubernetesVersion": "1.30"}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("serviceRole", r.json["error"]["message"])
        self.assertEqual(self.req("GET", "/v1/clusters/made-bad").status, 404)

    def test_create_failure_in_the_cloud_stops_in_create_failed(self):
        self.emu.admin("POST", "/admin/fail-next", {
            "kind": "create", "cluster": "made-2", "errorCode": "Ec2SubnetInvalidConfiguration",
            "errorMessage": "subnet-a has no free addresses"})
        r = self.req("POST", "/v1/clusters", {
            "name": "made-2", "provider": "eks", "imported": False, "region": REGION,
            "credential": "aws", "config": {"kubernetesVersion": "1.30", "serviceRole": ROLE,
                                            "subnets": ["subnet-a", "subnet-b"]}})
        self.assertEqual(r.status, 201, r)
        c = wait_for(lambda: (lambda c: c if c["state"] == "create_failed" else None)(
            self.cluster("made-2")), timeout=30, what="create_failed")
        self.assertIn("subnet-a has no free addresses", json.dumps(c["lastError"]))
        # Deleting it removes what the cloud left behind (a FAILED cluster).
        self.assertEqual(self.req("DELETE", "/v1/clusters/made-2").status, 202)
        wait_for(lambda: self.req("GET", "/v1/clusters/made-2").status == 404, timeout=30,
                 what="failed cluster deleted")
        self.assertEqual(self.emu.admin("GET", f"/admin/clusters/{REGION}/made-2")[0], 404)

    # ---- the sync engine's regression scenarios, against EKS ---------------------------------

    def test_busy_cluster_waits_instead_of_failing(self):
        self.register("busy-1")
        # Someone else starts an upgrade at the console; it runs for 4 s.
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/busy-1", {"status": "UPDATING"})
        self.assertEqual(self.patch("busy-1", {"kubernetesVersion": "1.30"}).status, 200)
        time.sleep(3)
        self.assertFalse(self.calls("busy-1", "UpdateClusterVersion"),
                         "an update was sent to a busy cluster")
        f = self.field("busy-1", "kubernetesVersion")
        self.assertNotEqual(f["state"], "failed", f)
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/busy-1", {"status": "ACTIVE"})
        wait_for(lambda: self.field_state("busy-1", "kubernetesVersion", "in_sync"),
                 timeout=30, what="version applied once the cluster was idle")
        self.assertEqual(self.cloud("busy-1")["cluster"]["version"], "1.30")

    def test_overlapping_update_is_busy_not_failed(self):
        self.register("busy-2")
        # An update hcr did not start is in progress (ResourceInUseException on overlap).
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/busy-2/nodegroups/ng-a",
                       {"status": "UPDATING"})
        ngs = self.cluster("busy-2")["effective"]["nodeGroups"]
        ngs[0]["desiredSize"] = 2
        self.assertEqual(self.patch("busy-2", {"nodeGroups": ngs}).status, 200)
        time.sleep(2)
        f = self.field("busy-2", "nodeGroups[ng-a].desiredSize")
        self.assertIn(f["state"], ("pending", "applying"), f)
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/busy-2/nodegroups/ng-a",
                       {"status": "ACTIVE"})
        wait_for(lambda: self.field_state("busy-2", "nodeGroups[ng-a].desiredSize", "in_sync"),
                 timeout=30, what="size applied after the other update")

    def test_failed_update_is_shown_with_eks_reason_then_retried(self):
        self.register("fail-1")
        self.emu.admin("POST", "/admin/fail-next", {
            "kind": "update", "cluster": "fail-1", "errorCode": "PodEvictionFailure",
            "errorMessage": "a PodDisruptionBudget blocks the drain"})
        self.assertEqual(self.patch("fail-1", {"kubernetesVersion": "1.30"}).status, 200)
        f = wait_for(lambda: self.field_state("fail-1", "kubernetesVersion", "failed"),
                     timeout=30, what="field failed")
        self.assertIn("PodEvictionFailure", f["reason"])
        self.assertIn("PodDisruptionBudget", f["reason"])
        drift = self.req("GET", "/v1/clusters/fail-1/drift").json["fields"]
        self.assertTrue(any(d["path"] == "kubernetesVersion" and d["state"] == "failed"
                            for d in drift), drift)
        # The failure was one-off: the retry (with back-off) applies it.
        wait_for(lambda: self.field_state("fail-1", "kubernetesVersion", "in_sync"),
                 timeout=60, what="retried and applied")
        self.assertEqual(self.cloud("fail-1")["cluster"]["version"], "1.30")

    def test_invalid_change_fails_with_the_clouds_message(self):
        self.register("bad-1")
        # EKS moves one minor version at a time.
        self.assertEqual(self.patch("bad-1", {"kubernetesVersion": "1.31"}).status, 200)
        f = wait_for(lambda: self.field_state("bad-1", "kubernetesVersion", "failed"),
                     timeout=30, what="field failed")
        self.assertIn("InvalidParameterException", f["reason"])
        self.assertIn("1.29", f["reason"])
        self.assertEqual(self.cloud("bad-1")["cluster"]["version"], "1.29")

    def test_edit_made_while_an_update_runs_is_not_lost(self):
        self.register("race-1")
        self.assertEqual(self.patch("race-1", {"kubernetesVersion": "1.30"}).status, 200)
        wait_for(lambda: self.calls("race-1", "UpdateClusterVersion"), timeout=10,
                 what="version update sent")
        self.assertEqual(self.patch("race-1", {"tags": {"owner": "carol"}}).status, 200)
        wait_for(lambda: self.field_state("race-1", "tags.owner", "in_sync") and
                 self.field_state("race-1", "kubernetesVersion", "in_sync"), timeout=30,
                 what="both changes applied")
        self.assertEqual(self.cloud("race-1")["cluster"]["tags"]["owner"], "carol")
        self.assertEqual(self.cloud("race-1")["cluster"]["version"], "1.30")

    def test_rancher_29023_node_group_deleted_in_console_is_not_recreated(self):
        # A user edits from a stale view that still lists a node group just deleted in
        # the console: the deletion stands, and the user's real change is pushed.
        self.register("r29023", nodegroups=("ng-a", "ng-b"))
        stale = self.cluster("r29023")["effective"]["nodeGroups"]
        self.emu.admin("DELETE", f"/admin/clusters/{REGION}/r29023/nodegroups/ng-b")
        stale[0]["desiredSize"] = 5
        self.assertEqual(self.patch("r29023", {"nodeGroups": stale}).status, 200)
        wait_for(lambda: self.field_state("r29023", "nodeGroups[ng-a].desiredSize", "in_sync"),
                 timeout=30, what="ng-a resized")
        time.sleep(3)
        self.assertNotIn("ng-b", self.cloud("r29023")["nodegroups"])
        self.assertFalse(self.calls("r29023", "CreateNodegroup"))
        self.assertEqual(self.cloud("r29023")["nodegroups"]["ng-a"]["scalingConfig"]
                         ["desiredSize"], 5)

    def test_rancher_31909_console_upgrade_is_adopted_never_downgraded(self):
        # hcr manages the version (1.29); someone upgrades in the console. Even under
        # enforce, hcr adopts 1.30 instead of trying to go back, and refuses a downgrade.
        self.register("r31909", policy="enforce")
        self.assertEqual(self.patch("r31909", {"kubernetesVersion": "1.29"}).status, 200)
        wait_for(lambda: self.field_state("r31909", "kubernetesVersion", "in_sync"),
                 timeout=20, what="version managed and in sync")
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/r31909", {"version": "1.30"})
        f = wait_for(lambda: (lambda f: f if f["desired"] == "1.30" else None)(
            self.field("r31909", "kubernetesVersion")), timeout=20, what="upgrade adopted")
        self.assertEqual(f["state"], "in_sync")
        self.assertTrue(self.events("r31909", "downgrade_adopted"))
        r = self.patch("r31909", {"kubernetesVersion": "1.29"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("kubernetesVersion", r.json["error"]["message"])
        time.sleep(2)
        self.assertFalse(self.calls("r31909", "UpdateClusterVersion"))
        self.assertEqual(self.cloud("r31909")["cluster"]["version"], "1.30")

    def test_eks_operator_752_active_with_the_old_version_is_not_adopted(self):
        # EKS may say ACTIVE with the old version for a while after accepting an
        # update; ListUpdates still shows it in progress, so hcr neither adopts the old
        # value nor fails.
        self.register("e752")
        self.assertEqual(self.patch("e752", {"kubernetesVersion": "1.30"}).status, 200)
        wait_for(lambda: self.calls("e752", "UpdateClusterVersion"), timeout=10,
                 what="update sent")
        self.emu.admin("PATCH", f"/admin/clusters/{REGION}/e752", {"status": "ACTIVE"})
        for _ in range(10):
            f = self.field("e752", "kubernetesVersion")
            self.assertEqual(f["desired"], "1.30", f)
            self.assertNotEqual(f["state"], "failed", f)
            time.sleep(0.1)
        wait_for(lambda: self.field_state("e752", "kubernetesVersion", "in_sync"), timeout=30,
                 what="version in sync")
        self.assertFalse(self.events("e752", "adopted"))

    def test_throttling_and_server_errors_are_retried(self):
        self.register("thr-1")
        self.emu.admin("POST", "/admin/faults", {"operation": "UpdateNodegroupConfig",
                                                  "cluster": "thr-1", "status": 429,
                                                  "count": 1})
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeCluster",
                                                  "cluster": "thr-1", "status": 503,
                                                  "count": 2})
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeNodegroup",
                                                  "cluster": "thr-1", "malformed": True,
                                                  "count": 1})
        ngs = self.cluster("thr-1")["effective"]["nodeGroups"]
        ngs[0]["desiredSize"] = 4
        self.assertEqual(self.patch("thr-1", {"nodeGroups": ngs}).status, 200)
        wait_for(lambda: self.field_state("thr-1", "nodeGroups[ng-a].desiredSize", "in_sync"),
                 timeout=90, what="applied despite throttling and errors")
        applied = [c for c in self.calls("thr-1", "UpdateNodegroupConfig")
                   if c["status"] == 200 and not c["replay"]]
        self.assertEqual(len(applied), 1)

    # ---- credentials -------------------------------------------------------------------------

    def test_wrong_secret_is_a_clear_error(self):
        r = self.req("POST", "/v1/credentials", {
            "name": "aws-wrong", "provider": "eks",
            "eks": {"accessKeyId": AKID, "secretAccessKey": "X" * 40}})
        self.assertEqual(r.status, 201, r)
        self.register("sig-1", credential="aws-wrong", wait=False)
        c = wait_for(lambda: (lambda c: c if c.get("lastError") else None)(
            self.cluster("sig-1")), timeout=20, what="an error shown")
        text = json.dumps(c["lastError"])
        self.assertIn("InvalidSignatureException", text)
        refused = self.calls("sig-1")
        self.assertTrue(refused and all(x["status"] == 403 for x in refused))

    def test_discover_lists_clusters_and_marks_registered_ones(self):
        self.register("disc-1", nodegroups=())
        self.emu.add_cluster(REGION, console_cluster("disc-2"))
        self.emu.add_cluster("us-east-1", console_cluster("elsewhere"))
        r = self.req("POST", "/v1/discover", {"provider": "eks", "credential": "aws",
                                              "region": REGION})
        self.assertEqual(r.status, 200, r)
        found = {c["cloudName"]: c for c in r.json["clusters"]}
        self.assertIn("disc-1", found)
        self.assertIn("disc-2", found)
        self.assertNotIn("elsewhere", found)
        self.assertTrue(found["disc-1"]["registered"])
        self.assertEqual(found["disc-1"]["cluster"]["name"], "disc-1")
        self.assertFalse(found["disc-2"]["registered"])
        self.assertEqual(found["disc-2"]["status"], "ACTIVE")
        self.assertEqual(found["disc-2"]["version"], "1.29")
        self.assertEqual(sorted(found), [c["cloudName"] for c in r.json["clusters"]])
        # The CLI over the real API.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        env.update({"HCR_URL": f"http://127.0.0.1:{self.hcr.port}",
                    "HCR_TOKEN": self.hcr.admin_token})
        p = subprocess.run([HCR, "discover", "--credential", "aws", "--region", REGION],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {line.split()[0]: line.split() for line in p.stdout.splitlines()[1:]
                if line.startswith("disc-")}
        self.assertEqual(rows["disc-1"][-1], "disc-1")
        self.assertEqual(rows["disc-2"][-1], "-")
        self.assertNotIn(self.hcr.admin_token, p.stdout + p.stderr)
        # Bad requests say what is wrong.
        r = self.req("POST", "/v1/discover", {"provider": "eks", "credential": "nope",
                                              "region": REGION})
        self.assertEqual(r.status, 422, r)
        self.assertIn("credential", r.json["error"]["message"])
        r = self.req("POST", "/v1/discover", {"provider": "eks", "credential": "aws"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("region", r.json["error"]["message"])
        viewer = self.req("POST", "/v1/tokens", {"name": "disc-viewer", "role": "viewer"})
        self.assertEqual(viewer.status, 201, viewer)
        r = self.req("POST", "/v1/discover", {"provider": "eks", "credential": "aws",
                                              "region": REGION}, token=viewer.json["token"])
        self.assertEqual(r.status, 403, r)

    def test_kube_credentials_carry_a_valid_presigned_sts_token(self):
        self.register("kube-1", nodegroups=())
        r = self.req("POST", "/v1/clusters/kube-1/kube-credentials")
        self.assertEqual(r.status, 200, r)
        creds = r.json
        state = self.cloud("kube-1")["cluster"]
        self.assertEqual(creds["server"], state["endpoint"])
        self.assertEqual(creds["certificateAuthorityData"], state["certificateAuthority"]["data"])
        self.assertTrue(creds["token"].startswith("k8s-aws-v1."), creds)
        self.assertGreater(creds["expiresAt"], time.time() + 600)
        self.assertIn("current-context: \"kube-1\"", creds["kubeconfig"])
        check = self.emu.admin("POST", "/admin/kube-token", {"token": creds["token"],
                                                              "cluster": "kube-1"})[1]
        self.assertTrue(check["valid"], check)
        # The token names its cluster: it is not valid for another.
        other = self.emu.admin("POST", "/admin/kube-token", {"token": creds["token"],
                                                              "cluster": "other"})[1]
        self.assertFalse(other["valid"])
        url = base64.urlsafe_b64decode(creds["token"][len("k8s-aws-v1."):] + "==").decode()
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertEqual(q["Action"], ["GetCallerIdentity"])
        self.assertNotIn(SECRET, url)
        # The token never reaches hcr's log.
        self.assertNotIn(creds["token"], self.hcr.log())


class EksCrashTest(unittest.TestCase):
    """A reconciler killed while an EKS update is in flight resumes it; nothing twice."""

    def test_killed_after_sending_resumes_without_sending_twice(self):
        pg = Postgres()
        emu = EksEmulator(keys=[f"{AKID}:{SECRET}"], update_seconds=3)
        env = {"HCR_EKS_ENDPOINT": emu.url, "HCR_EKS_STS_ENDPOINT": emu.url}
        env.update(FAST)
        # A unit of work killed while it waited for EKS's answer holds its lease until
        # it expires: keep that short.
        env["HCR_RECONCILE_LEASE_S"] = "10"
        hcr = Hcr("run", database_url=pg.url, env=env)
        try:
            hcr.wait_ready()
            self.assertEqual(hcr.request("POST", "/v1/credentials", {
                "name": "aws", "provider": "eks",
                "eks": {"accessKeyId": AKID, "secretAccessKey": SECRET}}).status, 201)
            emu.add_cluster(REGION, console_cluster("crash-1"), [console_nodegroup("ng-a")])
            self.assertEqual(hcr.request("POST", "/v1/clusters", {
                "name": "crash-1", "provider": "eks", "imported": True, "region": REGION,
                "credential": "aws"}).status, 201)
            wait_for(lambda: hcr.request("GET", "/v1/clusters/crash-1").json.get("observed"),
                     timeout=20, what="observed")
            c = hcr.request("GET", "/v1/clusters/crash-1").json
            ngs = c["effective"]["nodeGroups"]
            ngs[0]["desiredSize"] = 5
            self.assertEqual(hcr.request("PATCH", "/v1/clusters/crash-1/config",
                                         {"nodeGroups": ngs},
                                         headers={"If-Match": f'"{c["version"]}"'}).status, 200)
            wait_for(lambda: [x for x in emu.calls("crash-1")
                              if x["operation"] == "UpdateNodegroupConfig"],
                     timeout=10, step=0.01, what="update sent")
            hcr.proc.send_signal(signal.SIGKILL)
            hcr.proc.wait()
            hcr2 = Hcr("run", database_url=pg.url, env=env, data_dir=hcr.data_dir)
            try:
                hcr2.wait_ready()
                try:
                    wait_for(lambda: (lambda f: f and f[0]["state"] == "in_sync")(
                        [f for f in hcr2.request("GET", "/v1/clusters/crash-1").json["fields"]
                         if f["path"] == "nodeGroups[ng-a].desiredSize"]), timeout=60,
                        what="size in sync after restart")
                except AssertionError:
                    print(hcr2.log()[-4000:], hcr2.request("GET", "/v1/clusters/crash-1").json,
                          emu.calls("crash-1")[-6:])
                    raise
                sent = [x for x in emu.calls("crash-1")
                        if x["operation"] == "UpdateNodegroupConfig" and x["status"] == 200
                        and not x["replay"]]
                self.assertEqual(len(sent), 1, sent)
                st = emu.state(REGION, "crash-1")
                self.assertEqual(len([u for u in st["updates"] if u["type"] == "ConfigUpdate"]),
                                 1)
                self.assertEqual(st["nodegroups"]["ng-a"]["scalingConfig"]["desiredSize"], 5)
            finally:
                code = hcr2.stop()
                log = hcr2.log()
                hcr2.destroy()
                self.assertEqual(code, 0, log[-2000:])
                self.assertFalse(sanitizer_reports(log))
        finally:
            if hcr.proc.poll() is None:
                hcr.stop()
            hcr.destroy()
            emu.destroy()
            pg.destroy()


if __name__ == "__main__":
    unittest.main()
