"""AKS end to end: the real hcr binary, a real PostgreSQL and the AKS emulator
(tests/emulators/aksemu.py), with Azure AD tokens and ARM bearer checks.

What a user of hcr with AKS clusters would notice: an imported cluster is only
read; edits reach AKS as tracked long-running operations; portal changes are
adopted or reported as the sync model says; pools made in the portal are shown
and never deleted; the autoscaler's count is never pushed; busy clusters, failed
operations and stale eTags lose nothing.
"""

import base64
import time
import unittest

from harness import ClusterApi, Hcr, Postgres, stop_and_check, wait_for
from test_aks_emulator import CLIENT, SUB, TENANT, AksEmulator

RG = "rg1"
FAST = {"HCR_AKS_POLL_INTERVAL_S": "2", "HCR_RECONCILE_OP_POLL_MS": "200"}
MUTATING = {"PutManagedCluster", "PatchManagedClusterTags", "DeleteManagedCluster",
            "PutAgentPool", "DeleteAgentPool"}


def portal_cluster(name, version="1.31", tags=None, pools=None):
    return {"name": name, "location": "westeurope",
            "tags": tags if tags is not None else {"team": "payments"},
            "properties": {
                "kubernetesVersion": version, "dnsPrefix": name,
                "agentPoolProfiles": pools or [
                    {"name": "system", "mode": "System", "count": 2,
                     "vmSize": "Standard_D2s_v3", "osType": "Linux",
                     "nodeLabels": {"role": "sys"}},
                    {"name": "user", "mode": "User", "count": 3, "vmSize": "Standard_D4s_v3",
                     "osType": "Linux"}]}}


class AksTest(ClusterApi, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = AksEmulator(op_seconds=1, create_seconds=1, delete_seconds=1, retry_after=1)
        cls.env = {"HCR_AKS_ENDPOINT": cls.emu.url, "HCR_AKS_AUTHORITY": cls.emu.url}
        cls.env.update(FAST)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=cls.env)
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials", {
            "name": "azure", "provider": "aks",
            "aks": {"tenantId": TENANT, "clientId": CLIENT[0], "clientSecret": CLIENT[1],
                    "subscriptionId": SUB}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.emu, cls.pg, secrets=(CLIENT[1],))

    # ---- helpers ---------------------------------------------------------------------------

    def register(self, name, policy="adopt", wait=True, **kw):
        self.emu.add_cluster(RG, portal_cluster(name, **kw))
        r = self.req("POST", "/v1/clusters", {"name": name, "provider": "aks",
                                              "imported": True, "resourceGroup": RG,
                                              "credential": "azure", "policy": policy})
        self.assertEqual(r.status, 201, r)
        if wait:
            return wait_for(lambda: self.observed(name), timeout=20, what=f"{name} observed")
        return r

    def cloud(self, name):
        return self.emu.state(RG, name)

    def resource(self, name):
        return self.cloud(name)["resource"]

    def pool(self, name, pool):
        for p in self.resource(name)["properties"]["agentPoolProfiles"]:
            if p["name"] == pool:
                return p
        return None

    def calls(self, name, operation=None):
        return [c for c in self.emu.calls(name)
                if operation is None or c["operation"] == operation]

    def pools_with(self, name, pool, **changes):
        pools = self.cluster(name)["effective"]["nodePools"]
        for p in pools:
            if p["name"] == pool:
                p.update(changes)
        return pools

    # ---- import and observe ----------------------------------------------------------------

    def test_imported_cluster_is_observed_and_nothing_is_written(self):
        before = len([c for c in self.emu.calls() if c["operation"] == "Token"])
        r = self.register("imp1")
        obs = r.json["observed"]
        self.assertEqual(obs["kubernetesVersion"], "1.31")
        self.assertEqual(obs["tags"], {"team": "payments"})
        self.assertEqual(obs["dnsPrefix"], "imp1")
        self.assertEqual(obs["networkPlugin"], "azure")
        self.assertEqual(obs["privateCluster"], False)
        self.assertEqual([p["name"] for p in obs["nodePools"]], ["system", "user"])
        system = obs["nodePools"][0]
        self.assertEqual((system["count"], system["mode"], system["vmSize"]),
                         (2, "System", "Standard_D2s_v3"))
        self.assertEqual(system["nodeLabels"], {"role": "sys"})
        self.assertEqual(r.json["desired"], {})
        time.sleep(3)  # more polls
        ops = {c["operation"] for c in self.calls("imp1")}
        self.assertIn("GetManagedCluster", ops)
        self.assertFalse(ops & MUTATING, f"an imported cluster was written to: {ops}")
        self.assertTrue(all(c["status"] == 200 for c in self.calls("imp1")))
        # The reconciler's cached token served every poll; none was refused.
        tokens = [c for c in self.emu.calls() if c["operation"] == "Token"]
        self.assertTrue(tokens and all(c["status"] == 200 for c in tokens))
        self.assertLessEqual(len(tokens) - before, 1)

    # ---- edits reach AKS as tracked operations ---------------------------------------------

    def test_version_count_and_tags_reach_aks_through_tracked_operations(self):
        self.register("edit1")
        r = self.patch("edit1", {"kubernetesVersion": "1.32", "tags": {"owner": "alice"},
                                 "nodePools": self.pools_with("edit1", "user", count=5)})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.field_state("edit1", "kubernetesVersion", "in_sync") and
                 self.field_state("edit1", "nodePools[user].count", "in_sync") and
                 self.field_state("edit1", "tags.owner", "in_sync"),
                 timeout=40, what="version, count and tags in sync")
        res = self.resource("edit1")
        self.assertEqual(res["properties"]["kubernetesVersion"], "1.32")
        self.assertEqual(res["tags"], {"team": "payments", "owner": "alice"})
        self.assertEqual(self.pool("edit1", "user")["count"], 5)
        # Each write went through an operation hcr tracked.
        ops = self.pg.psql("hcr", "SELECT string_agg(kind || ':' || o.state || ':' || "
                           "coalesce(handle, ''), ',' ORDER BY o.created_at) FROM operations o "
                           "JOIN clusters c ON c.id = o.cluster_id WHERE c.name = 'edit1'")
        self.assertIn("UpdateCluster:succeeded:aop:/subscriptions/", ops)
        self.assertIn("UpdateAgentPool:succeeded:aop:", ops)
        self.assertIn("UpdateTags:succeeded", ops)
        self.assertTrue(self.calls("edit1", "GetOperationStatus"))
        puts = self.calls("edit1", "PutManagedCluster")
        self.assertEqual(len(puts), 1)
        self.assertTrue(puts[0]["ifMatch"], "the cluster PUT carried no If-Match")
        self.assertEqual(len(self.calls("edit1", "PutAgentPool")), 1)
        self.assertEqual(len(self.calls("edit1", "PatchManagedClusterTags")), 1)

    # ---- portal changes --------------------------------------------------------------------

    def test_portal_change_to_unmanaged_field_is_reported_not_touched(self):
        self.register("con1")
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/con1", {"tags": {"team": "platform"}})
        ev = wait_for(lambda: self.events("con1", "external_change"), timeout=20,
                      what="external_change event")
        self.assertEqual((ev[0]["path"], ev[0]["old"], ev[0]["new"]),
                         ("tags.team", "payments", "platform"))
        self.assertEqual(self.cluster("con1")["desired"], {})
        self.assertFalse({c["operation"] for c in self.calls("con1")} & MUTATING)

    def test_portal_change_to_managed_field_is_adopted(self):
        self.register("con2")
        self.assertEqual(self.patch("con2", {"tags": {"owner": "alice"}}).status, 200)
        wait_for(lambda: self.field_state("con2", "tags.owner", "in_sync"), timeout=20,
                 what="tags.owner in sync")
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/con2", {"tags": {"owner": "bob"}})
        f = wait_for(lambda: (lambda f: f if f["desired"] == "bob" else None)(
            self.field("con2", "tags.owner")), timeout=20, what="portal value adopted")
        self.assertEqual(f["state"], "in_sync")
        self.assertTrue(self.events("con2", "adopted"))
        time.sleep(2)
        self.assertEqual(self.resource("con2")["tags"]["owner"], "bob")

    def test_portal_change_to_managed_field_is_pushed_back_with_enforce(self):
        self.register("con3", policy="enforce")
        self.assertEqual(self.patch("con3", {"tags": {"owner": "alice"}}).status, 200)
        wait_for(lambda: self.field_state("con3", "tags.owner", "in_sync"), timeout=20,
                 what="tags.owner in sync")
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/con3", {"tags": {"owner": "bob"}})
        wait_for(lambda: self.resource("con3")["tags"].get("owner") == "alice" and
                 len(self.calls("con3", "PatchManagedClusterTags")) >= 2, timeout=30,
                 what="owner pushed back to alice")
        self.assertEqual(self.field("con3", "tags.owner")["desired"], "alice")

    def test_portal_pool_is_shown_and_never_deleted(self):
        self.register("pool1")
        self.emu.admin("POST", f"/admin/clusters/{RG}/pool1/agentPools/portal",
                       {"properties": {"count": 1, "vmSize": "Standard_D2s_v3", "mode": "User"}})
        wait_for(lambda: [p for p in self.cluster("pool1")["observed"]["nodePools"]
                          if p["name"] == "portal"], timeout=20, what="portal pool observed")
        self.assertTrue(self.events("pool1", "pool_external"))
        pools = [p for p in self.pools_with("pool1", "user", count=4) if p["name"] == "user"]
        self.assertEqual(self.patch("pool1", {"nodePools": pools}).status, 200)
        wait_for(lambda: self.field_state("pool1", "nodePools[user].count", "in_sync"),
                 timeout=30, what="user pool resized")
        time.sleep(2)
        self.assertIsNotNone(self.pool("pool1", "portal"))
        self.assertFalse(self.calls("pool1", "DeleteAgentPool"))

    # ---- pools hcr creates and deletes -----------------------------------------------------

    def test_pool_created_then_deleted(self):
        self.register("pool2")
        pools = self.cluster("pool2")["effective"]["nodePools"]
        pools.append({"name": "extra", "count": 1, "vmSize": "Standard_D2s_v3", "mode": "User"})
        self.assertEqual(self.patch("pool2", {"nodePools": pools}).status, 200)
        wait_for(lambda: self.field_state("pool2", "nodePools[extra]", "in_sync"),
                 timeout=30, what="extra pool created")
        self.assertEqual(self.pool("pool2", "extra")["count"], 1)
        pools = [p for p in self.cluster("pool2")["effective"]["nodePools"]
                 if p["name"] != "extra"]
        self.assertEqual(self.patch("pool2", {"nodePools": pools}).status, 200)
        wait_for(lambda: self.pool("pool2", "extra") is None, timeout=30,
                 what="extra pool deleted")
        self.assertEqual(len(self.calls("pool2", "DeleteAgentPool")), 1)

    def test_autoscaled_pool_count_is_never_pushed(self):
        self.register("auto1", pools=[
            {"name": "system", "mode": "System", "count": 2, "vmSize": "Standard_D2s_v3"},
            {"name": "user", "mode": "User", "count": 3, "vmSize": "Standard_D2s_v3",
             "enableAutoScaling": True, "minCount": 1, "maxCount": 5}])
        user = [p for p in self.cluster("auto1")["observed"]["nodePools"]
                if p["name"] == "user"][0]
        self.assertNotIn("count", user)  # the autoscaler's
        # The autoscaler scales; nothing is reported or pushed back.
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/auto1/agentPools/user", {"count": 4})
        # A change to maxCount sends the autoscaler's count back, not a value of hcr's.
        pools = self.pools_with("auto1", "user", maxCount=6)
        self.assertEqual(self.patch("auto1", {"nodePools": pools}).status, 200)
        wait_for(lambda: self.field_state("auto1", "nodePools[user].maxCount", "in_sync"),
                 timeout=30, what="maxCount applied")
        self.assertEqual(self.pool("auto1", "user")["count"], 4)
        self.assertEqual(self.pool("auto1", "user")["maxCount"], 6)
        self.assertFalse(self.events("auto1", "external_change"))
        # Asking for a count while the autoscaler owns it fails with a clear reason.
        pools = self.pools_with("auto1", "user", count=2)
        self.assertEqual(self.patch("auto1", {"nodePools": pools}).status, 200)
        f = wait_for(lambda: self.field_state("auto1", "nodePools[user].count", "failed"),
                     timeout=30, what="count refused")
        self.assertIn("autoscaler", f["reason"])
        self.assertEqual(self.pool("auto1", "user")["count"], 4)

    # ---- busy, failures, stale eTags -------------------------------------------------------

    def test_busy_cluster_waits_instead_of_failing(self):
        self.register("busy1")
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/busy1",
                       {"properties": {"provisioningState": "Updating"}})
        self.assertEqual(self.patch("busy1", {"kubernetesVersion": "1.32"}).status, 200)
        time.sleep(3)
        self.assertFalse(self.calls("busy1", "PutManagedCluster"),
                         "a PUT was sent to a busy cluster")
        self.assertNotEqual(self.field("busy1", "kubernetesVersion")["state"], "failed")
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/busy1",
                       {"properties": {"provisioningState": "Succeeded"}})
        wait_for(lambda: self.field_state("busy1", "kubernetesVersion", "in_sync"),
                 timeout=30, what="version applied once the cluster was idle")

    def test_operation_not_allowed_is_busy_not_failed(self):
        self.register("busy2")
        # AKS answers 409 OperationNotAllowed to the first PUT (an operation hcr cannot see).
        self.emu.admin("POST", "/admin/faults", {"operation": "PutManagedCluster",
                                                 "cluster": "busy2", "status": 409})
        self.assertEqual(self.patch("busy2", {"kubernetesVersion": "1.32"}).status, 200)
        wait_for(lambda: self.field_state("busy2", "kubernetesVersion", "in_sync"),
                 timeout=30, what="version applied after the 409")
        self.assertTrue([c for c in self.calls("busy2", "PutManagedCluster")
                         if c["status"] == 409])
        self.assertFalse(self.events("busy2", "failed"))

    def test_failed_operation_shows_arm_code_and_message(self):
        self.register("fail1")
        self.emu.admin("POST", "/admin/fail-next", {
            "kind": "cluster", "cluster": "fail1", "code": "UpgradeFailed",
            "message": "a PodDisruptionBudget blocks the drain"})
        self.assertEqual(self.patch("fail1", {"kubernetesVersion": "1.32"}).status, 200)
        f = wait_for(lambda: self.field_state("fail1", "kubernetesVersion", "failed"),
                     timeout=30, what="field failed")
        self.assertIn("UpgradeFailed", f["reason"])
        self.assertIn("PodDisruptionBudget", f["reason"])
        drift = self.req("GET", "/v1/clusters/fail1/drift").json["fields"]
        self.assertTrue(any(d["path"] == "kubernetesVersion" and d["state"] == "failed"
                            for d in drift), drift)

    def test_refused_change_fails_with_arms_message(self):
        self.register("bad1")
        self.assertEqual(self.patch("bad1", {"kubernetesVersion": "1.33"}).status, 200)
        f = wait_for(lambda: self.field_state("bad1", "kubernetesVersion", "failed"),
                     timeout=30, what="field failed")
        self.assertIn("OperationNotAllowed", f["reason"])
        self.assertIn("1.33", f["reason"])

    def test_throttling_retry_after_is_honoured(self):
        self.register("ra1")
        # One throttled read asking for 8 s: hcr's own back-off after a first failure is
        # 2.5 to 5 s, so a read sooner than 8 s later means Retry-After was ignored.
        self.emu.admin("POST", "/admin/faults", {"operation": "GetManagedCluster",
                                                 "cluster": "ra1", "status": 429,
                                                 "retry_after": 8})
        throttled = wait_for(lambda: [c for c in self.calls("ra1", "GetManagedCluster")
                                      if c["status"] == 429], timeout=15, what="429 sent")[0]
        after = wait_for(lambda: [c for c in self.calls("ra1", "GetManagedCluster")
                                  if c["wallTime"] > throttled["wallTime"]],
                         timeout=20, what="read again")[0]
        self.assertGreaterEqual(after["wallTime"] - throttled["wallTime"], 7.5)
        self.assertEqual(after["status"], 200)

    def test_operation_polls_wait_for_retry_after(self):
        self.register("ra2")
        self.assertEqual(self.patch("ra2", {"kubernetesVersion": "1.32"}).status, 200)
        wait_for(lambda: self.field_state("ra2", "kubernetesVersion", "in_sync"),
                 timeout=30, what="version applied")
        put = [c for c in self.calls("ra2", "PutManagedCluster") if c["status"] < 300][0]
        polls = [c for c in self.emu.calls() if c["operation"] == "GetOperationStatus" and
                 put["wallTime"] < c["wallTime"]]
        # The module's emulator answers Retry-After: 1; hcr's own operation poll is 0.2 s.
        self.assertTrue(polls, "the operation was never polled")
        self.assertGreaterEqual(polls[0]["wallTime"] - put["wallTime"], 0.9)

    def test_stale_etag_is_read_again_and_retried(self):
        self.register("etag1")
        # The first PUT meets a portal change made after hcr's GET: 412.
        self.emu.admin("POST", "/admin/faults", {"operation": "PutManagedCluster",
                                                 "cluster": "etag1", "status": 412})
        self.assertEqual(self.patch("etag1", {"authorizedIpRanges": ["10.0.0.0/8"]}).status,
                         200)
        wait_for(lambda: self.field_state("etag1", "authorizedIpRanges", "in_sync"),
                 timeout=30, what="ranges applied")
        puts = self.calls("etag1", "PutManagedCluster")
        self.assertEqual([c["status"] for c in puts], [412, 200])
        gets = [c for c in self.calls("etag1") if c["operation"] == "GetManagedCluster"]
        self.assertGreaterEqual(len(gets), 2)
        self.assertEqual(self.resource("etag1")["properties"]["apiServerAccessProfile"]
                         ["authorizedIPRanges"], ["10.0.0.0/8"])

    # ---- discovery, and clusters hcr creates -----------------------------------------------

    def test_discover_lists_by_resource_group_and_subscription(self):
        self.register("disc1")
        self.emu.add_cluster("rg2", portal_cluster("disc2"))
        r = self.req("POST", "/v1/discover", {"provider": "aks", "credential": "azure",
                                              "resourceGroup": RG})
        self.assertEqual(r.status, 200, r)
        found = {c["cloudName"]: c for c in r.json["clusters"]}
        self.assertIn("disc1", found)
        self.assertNotIn("disc2", found)
        self.assertTrue(found["disc1"]["registered"])
        self.assertEqual(found["disc1"]["version"], "1.31")
        # Without "provider", the credential's own provider is asked.
        r = self.req("POST", "/v1/discover", {"credential": "azure"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["provider"], "aks")
        found = {c["cloudName"]: c for c in r.json["clusters"]}
        self.assertEqual(found["disc2"]["resourceGroup"], "rg2")
        self.assertEqual(found["disc2"]["status"], "Succeeded")
        self.assertFalse(found["disc2"]["registered"])
        r = self.req("POST", "/v1/discover", {"provider": "gke", "credential": "azure"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("is for aks, not gke", r.json["error"]["message"])

    # ---- Kubernetes credentials ------------------------------------------------------------

    def test_kube_credentials_carry_the_cluster_users_token(self):
        self.register("kube1")
        r = self.req("POST", "/v1/clusters/kube1/kube-credentials")
        self.assertEqual(r.status, 200, r)
        creds = r.json
        fqdn = self.resource("kube1")["properties"]["fqdn"]
        self.assertEqual(creds["server"], f"https://{fqdn}:443")
        self.assertIn(b"BEGIN CERTIFICATE", base64.b64decode(creds["certificateAuthorityData"]))
        self.assertGreater(creds["expiresAt"], time.time() + 600)
        self.assertLessEqual(creds["expiresAt"], time.time() + 3600 + 5)
        self.assertIn('current-context: "kube1"', creds["kubeconfig"])
        self.assertIn(creds["token"], creds["kubeconfig"])
        check = self.emu.admin("POST", "/admin/kube-token", {"token": creds["token"]})[1]
        self.assertTrue(check["valid"], check)
        self.assertEqual((check["cluster"], check["resourceGroup"], check["user"]),
                         ("kube1", RG, "clusterUser"))
        # The cluster user's credential, never the admin's.
        self.assertEqual(len(self.calls("kube1", "ListClusterUserCredential")), 1)
        self.assertEqual(self.calls("kube1", "ListClusterAdminCredential"), [])
        # The token never reaches hcr's log.
        self.assertNotIn(creds["token"], self.hcr.log())

    def test_kube_credentials_of_a_cluster_without_local_accounts_are_refused(self):
        r = self.register("kube2")
        self.assertTrue(r)
        self.emu.admin("PATCH", f"/admin/clusters/{RG}/kube2",
                       {"properties": {"disableLocalAccounts": True}})
        r = self.req("POST", "/v1/clusters/kube2/kube-credentials")
        self.assertEqual(r.status, 422, r)
        self.assertIn("local accounts", str(r.json))

    def test_created_cluster_is_created_then_deleted(self):
        self.emu.add_group(RG)
        config = {"kubernetesVersion": "1.32", "dnsPrefix": "made1", "tags": {"owner": "hcr"},
                  "nodePools": [{"name": "system", "mode": "System", "count": 1,
                                 "vmSize": "Standard_D2s_v3"}]}
        r = self.req("POST", "/v1/clusters", {"name": "made1", "provider": "aks",
                                              "imported": False, "resourceGroup": RG,
                                              "location": "westeurope", "credential": "azure",
                                              "config": config})
        self.assertEqual(r.status, 201, r)
        wait_for(lambda: (lambda c: c if c["state"] == "active" and c["fields"] and all(
            f["state"] == "in_sync" for f in c["fields"]) else None)(self.cluster("made1")),
            timeout=40, what="created cluster active and in sync")
        res = self.resource("made1")
        self.assertEqual(res["properties"]["kubernetesVersion"], "1.32")
        self.assertEqual(res["tags"], {"owner": "hcr"})
        self.assertEqual(self.pool("made1", "system")["mode"], "System")
        puts = self.calls("made1", "PutManagedCluster")
        self.assertEqual(len(puts), 1)
        self.assertEqual(puts[0]["ifNoneMatch"], "*")
        self.assertEqual(self.req("DELETE", "/v1/clusters/made1").status, 202)
        wait_for(lambda: self.req("GET", "/v1/clusters/made1").status == 404, timeout=40,
                 what="deleted cluster forgotten")
        self.assertEqual(self.emu.admin("GET", f"/admin/clusters/{RG}/made1")[0], 404)

    def test_create_without_a_system_pool_is_refused_at_registration(self):
        r = self.req("POST", "/v1/clusters", {
            "name": "made-bad", "provider": "aks", "imported": False, "resourceGroup": RG,
            "location": "westeurope", "credential": "azure",
            "config": {"kubernetesVersion": "1.32",
                       "nodePools": [{"name": "user", "mode": "User", "count": 1}]}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("nodePools", r.json["error"]["message"])
        self.assertEqual(self.req("GET", "/v1/clusters/made-bad").status, 404)
        # A count for an autoscaled pool would be pushed against the autoscaler: refused.
        r = self.req("POST", "/v1/clusters", {
            "name": "made-bad", "provider": "aks", "imported": False, "resourceGroup": RG,
            "location": "westeurope", "credential": "azure",
            "config": {"nodePools": [{"name": "sys", "mode": "System", "count": 3,
                                      "enableAutoScaling": True, "minCount": 1,
                                      "maxCount": 4}]}})
        self.assertEqual(r.status, 422, r)
        self.assertIn("config.nodePools[sys].count", r.json["error"]["message"])
        self.assertIn("autoscaler", r.json["error"]["message"])
        self.assertEqual(self.req("GET", "/v1/clusters/made-bad").status, 404)


if __name__ == "__main__":
    unittest.main()
