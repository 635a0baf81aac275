"""Config sync through the real binary: `hcr run` (and `hcr sync`) against the Kubernetes
emulator with a kubeconfig of several clusters. A ConfigMap or Secret annotated
`hcr.io/sync-clusters` (or Kubed's `kubed.appscode.com/sync-contexts`) is copied, kept
equal and removed; objects hcr did not make are never touched; lists that fail or are
empty delete nothing; two names for one API server are refused; a cluster that is down
or badly configured is reported by name while the others keep working.
docs/sync/config-sync.md is the design these tests hold it to."""

import base64
import json
import os
import socket
import tempfile
import time
import unittest

from harness import FakeCloud, Hcr, Postgres, stop_and_check, wait_for
from test_kube_emulator import KubeEmulator

ANN = "hcr.io/sync-clusters"
KUBED = "kubed.appscode.com/sync-contexts"
ORIGIN = "hcr.io/origin"

SECRET_VALUE = "s3cr3t-Value-that-must-never-be-logged"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cm(name, ns, data=None, targets=None, kubed=None, labels=None):
    meta = {"name": name, "namespace": ns, "annotations": {}}
    if targets is not None:
        meta["annotations"][ANN] = targets
    if kubed is not None:
        meta["annotations"][KUBED] = kubed
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": data if data is not None else {"k": "v"}}


class Kube:
    """Small helpers over KubeEmulator's console (no token, never logged as hcr's)."""

    def __init__(self, emu):
        self.emu = emu

    def get(self, cluster, ns, name, kind="configmaps"):
        status, body = self.emu.console(cluster, "GET", f"/api/v1/namespaces/{ns}/{kind}/{name}")
        return body if status == 200 else None

    def put(self, cluster, obj, kind="configmaps"):
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        cur = self.get(cluster, ns, name, kind)
        if cur is None:
            status, body = self.emu.console(cluster, "POST", f"/api/v1/namespaces/{ns}/{kind}",
                                            obj)
        else:
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            status, body = self.emu.console(cluster, "PUT",
                                            f"/api/v1/namespaces/{ns}/{kind}/{name}", obj)
        assert status in (200, 201), (status, body)
        return body

    def delete(self, cluster, ns, name, kind="configmaps"):
        self.emu.console(cluster, "DELETE", f"/api/v1/namespaces/{ns}/{kind}/{name}")

    def namespace(self, cluster, ns):
        self.emu.console(cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})

    def has_ns(self, cluster, ns):
        status, _ = self.emu.console(cluster, "GET", f"/api/v1/namespaces/{ns}")
        return status == 200


class ConfigSyncTest(unittest.TestCase):
    """One `hcr run` with a kubeconfig of contexts a, b, c, s (clusters), b-apps (cluster b,
    namespace apps), down (a closed port) and broken (a token file that does not exist)."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = KubeEmulator(clusters=["a", "b", "c", "s"], bookmark_seconds=1)
        cls.k = Kube(cls.emu)
        cls.tmp = tempfile.mkdtemp(prefix="hcr-it-sync-")
        cfg = cls.emu.kubeconfig(contexts={"a": "a", "b": "b", "c": "c", "s": "s",
                                           "b-apps": "b"})
        for ctx in cfg["contexts"]:
            if ctx["name"] == "b-apps":
                ctx["context"]["namespace"] = "apps"
        cfg["clusters"].append({"name": "down", "cluster": {
            "server": f"http://127.0.0.1:{closed_port()}"}})
        cfg["users"].append({"name": "down-user", "user": {"token": "x"}})
        cfg["contexts"].append({"name": "down", "context": {"cluster": "down",
                                                            "user": "down-user"}})
        cfg["users"].append({"name": "broken-user", "user": {
            "tokenFile": os.path.join(cls.tmp, "no-such-token")}})
        cfg["contexts"].append({"name": "broken", "context": {"cluster": "c",
                                                              "user": "broken-user"}})
        cls.kubeconfig = os.path.join(cls.tmp, "kubeconfig")
        with open(cls.kubeconfig, "w") as f:
            json.dump(cfg, f)
        for cluster in ("a", "b", "c", "s"):
            for ns in ("app", "apps", "guard", "lists"):
                cls.k.namespace(cluster, ns)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env={
            "HCR_SYNC_KUBECONFIG": cls.kubeconfig, "HCR_SYNC_RESYNC_S": "5"})
        cls.hcr.wait_ready()

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.emu, cls.pg, secrets=(
            SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode()))

    # -- helpers --

    def events(self, **q):
        query = "&".join(f"{k}={v}" for k, v in q.items())
        r = self.hcr.request("GET", "/v1/events?limit=1000&" + query)
        self.assertEqual(r.status, 200, r)
        return r.json["items"]

    def wait_event(self, kind, path=None, cluster=None, contains=None, timeout=20):
        def find():
            q = {"kind": kind}
            if cluster:
                q["cluster"] = cluster
            for e in self.events(**q):
                if path and e.get("path") != path:
                    continue
                if contains and contains not in e.get("message", ""):
                    continue
                return e
            return None
        return wait_for(find, timeout=timeout, step=0.2, what=f"event {kind} {path} {contains}")

    def wait_copy(self, cluster, ns, name, pred=lambda o: True, kind="configmaps", timeout=20):
        return wait_for(lambda: (lambda o: o if o is not None and pred(o) else None)(
            self.k.get(cluster, ns, name, kind)), timeout=timeout, step=0.1,
            what=f"copy {cluster}/{ns}/{name}")

    def wait_gone(self, cluster, ns, name, kind="configmaps", timeout=20):
        wait_for(lambda: self.k.get(cluster, ns, name, kind) is None, timeout=timeout, step=0.1,
                 what=f"{cluster}/{ns}/{name} gone")

    # -- tests --

    def test_configmap_copied_updated_and_removed(self):
        src = self.k.put("a", cm("settings", "app", {"mode": "blue"}, targets="b"))
        copy = self.wait_copy("b", "app", "settings")
        self.assertEqual(copy["data"], {"mode": "blue"})
        labels = copy["metadata"]["labels"]
        self.assertEqual(labels["hcr.io/origin-cluster"], "a")
        self.assertEqual(labels["hcr.io/origin-namespace"], "app")
        self.assertEqual(labels["hcr.io/origin-name"], "settings")
        ann = copy["metadata"]["annotations"]
        self.assertNotIn(ANN, ann, "the copy must not sync onwards")
        origin = json.loads(ann[ORIGIN])
        self.assertEqual((origin["cluster"], origin["namespace"], origin["name"]),
                         ("a", "app", "settings"))
        self.assertEqual(origin["uid"], src["metadata"]["uid"])
        self.assertEqual(len(origin["hash"]), 64)
        self.assertNotIn("ownerReferences", copy["metadata"])
        # b is a source too: its copy is not copied anywhere (c stays empty).
        self.assertIsNone(self.k.get("c", "app", "settings"))
        e = self.wait_event("sync.created", path="ConfigMap/app/settings", cluster="b")
        self.assertEqual(e["actor"], "sync")
        self.assertEqual(e["context"], "b")
        self.assertEqual(e["new"]["source"], {"cluster": "a", "kind": "ConfigMap",
                                              "namespace": "app", "name": "settings"})
        self.assertEqual(e["new"]["target"], {"cluster": "b", "namespace": "app",
                                              "name": "settings"})
        metrics = self.hcr.request("GET", "/metrics", token=None).raw.decode()
        created = [l for l in metrics.splitlines() if l.startswith("hcr_sync_created_total ")]
        self.assertTrue(created and int(created[0].split()[1]) >= 1, created)

        # The source changes: the copy follows.
        self.k.put("a", cm("settings", "app", {"mode": "green"}, targets="b"))
        self.wait_copy("b", "app", "settings", lambda o: o["data"] == {"mode": "green"})
        self.wait_event("sync.updated", path="ConfigMap/app/settings", cluster="b")

        # The copy is edited in the target: it is put back.
        drifted = self.k.get("b", "app", "settings")
        drifted["data"] = {"mode": "edited-in-b"}
        self.emu.console("b", "PUT", "/api/v1/namespaces/app/configmaps/settings", drifted)
        self.wait_copy("b", "app", "settings", lambda o: o["data"] == {"mode": "green"})

        # Every change is an event of its own (repeats of a failure are not; changes are).
        wait_for(lambda: len([e for e in self.events(kind="sync.updated", cluster="b")
                              if e.get("path") == "ConfigMap/app/settings"]) >= 2,
                 what="a second sync.updated event")

        # The copy is deleted in the target: it comes back (at the latest at the resync).
        self.k.delete("b", "app", "settings")
        self.wait_copy("b", "app", "settings", timeout=15)

        # The list grows and shrinks.
        self.k.put("a", cm("settings", "app", {"mode": "green"}, targets="b, c"))
        self.wait_copy("c", "app", "settings")
        self.k.put("a", cm("settings", "app", {"mode": "green"}, targets="c"))
        self.wait_gone("b", "app", "settings")
        self.wait_event("sync.deleted", path="ConfigMap/app/settings", cluster="b")
        self.assertIsNotNone(self.k.get("c", "app", "settings"))

        # The annotation goes: so do the copies.
        self.k.put("a", cm("settings", "app", {"mode": "green"}))
        self.wait_gone("c", "app", "settings")

        # Annotated again, then the source is deleted: the copy goes with it.
        self.k.put("a", cm("settings", "app", {"mode": "green"}, targets="c"))
        self.wait_copy("c", "app", "settings")
        self.k.delete("a", "app", "settings")
        self.wait_gone("c", "app", "settings")
        e = self.wait_event("sync.deleted", path="ConfigMap/app/settings", cluster="c",
                            contains="source was deleted")
        self.assertIn('cluster "a"', e["message"])

    def test_secret_copied_and_its_values_never_logged(self):
        b64 = base64.b64encode(SECRET_VALUE.encode()).decode()
        self.k.put("a", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": "db", "namespace": "app",
                                      "annotations": {ANN: "c"}},
                         "data": {"password": b64}}, kind="secrets")
        copy = self.wait_copy("c", "app", "db", kind="secrets")
        self.assertEqual(copy["data"], {"password": b64})
        self.assertEqual(copy["type"], "Opaque")
        self.wait_event("sync.created", path="Secret/app/db", cluster="c")
        log = self.hcr.log()
        self.assertNotIn(SECRET_VALUE, log)
        self.assertNotIn(b64, log)
        for e in self.events(kind="sync.*"):
            self.assertNotIn(b64, json.dumps(e))
        self.k.delete("a", "app", "db", kind="secrets")
        self.wait_gone("c", "app", "db", kind="secrets")

    def test_foreign_object_never_overwritten_or_deleted(self):
        mine = self.k.put("b", cm("shared", "app", {"owner": "team-b"}))
        self.k.put("a", cm("shared", "app", {"owner": "team-a"}, targets="b"))
        e = self.wait_event("sync.foreign", path="ConfigMap/app/shared", cluster="b")
        self.assertIn("not made by hcr", e["message"])
        self.assertIn('cluster "b"', e["message"])
        # Stop naming b, then delete the source: b's own object survives both.
        self.k.put("a", cm("shared", "app", {"owner": "team-a"}, targets=""))
        time.sleep(1.5)
        self.k.delete("a", "app", "shared")
        time.sleep(1.5)
        now = self.k.get("b", "app", "shared")
        self.assertIsNotNone(now)
        self.assertEqual(now["data"], {"owner": "team-b"})
        self.assertEqual(now["metadata"]["resourceVersion"], mine["metadata"]["resourceVersion"])
        writes = [w for w in self.emu.writes("b") if w.get("name") == "shared"]
        self.assertEqual(writes, [], "hcr wrote to an object it did not make")

    def test_lookalike_marks_are_not_ours(self):
        # Someone copied the marks by hand (the label without the annotation): not ours.
        fake = cm("lookalike", "app", {"x": "1"},
                  labels={"hcr.io/origin-cluster": "a", "hcr.io/origin-namespace": "app",
                          "hcr.io/origin-name": "lookalike"})
        before = self.k.put("c", fake)
        self.k.put("a", cm("lookalike", "app", {"x": "2"}, targets="c"))
        self.wait_event("sync.foreign", path="ConfigMap/app/lookalike", cluster="c")
        self.k.delete("a", "app", "lookalike")
        time.sleep(1.5)
        self.assertEqual(self.k.get("c", "app", "lookalike")["metadata"]["resourceVersion"],
                         before["metadata"]["resourceVersion"])

    def test_a_copy_is_never_a_source(self):
        self.k.put("a", cm("relay", "app", {"hop": "1"}, targets="b"))
        copy = self.wait_copy("b", "app", "relay")
        # Someone annotates the copy in b (a source too) to pass it on to c: refused.
        copy["metadata"]["annotations"][ANN] = "c"
        self.emu.console("b", "PUT", "/api/v1/namespaces/app/configmaps/relay", copy)
        e = self.wait_event("sync.refused", path="ConfigMap/app/relay", cluster="b")
        self.assertIn("a copy made by hcr", e["message"])
        time.sleep(1)
        self.assertIsNone(self.k.get("c", "app", "relay"))
        self.k.delete("a", "app", "relay")
        self.wait_gone("b", "app", "relay")

    def test_kubed_annotation(self):
        self.k.put("a", cm("legacy", "app", {"from": "kubed"}, kubed="c"))
        copy = self.wait_copy("c", "app", "legacy")
        self.assertNotIn(KUBED, copy["metadata"].get("annotations", {}))
        self.k.delete("a", "app", "legacy")
        self.wait_gone("c", "app", "legacy")

    def test_context_namespace_is_the_target_namespace(self):
        self.k.put("a", cm("routed", "app", {"to": "apps"}, targets="b-apps"))
        copy = self.wait_copy("b", "apps", "routed")
        self.assertEqual(json.loads(copy["metadata"]["annotations"][ORIGIN])["namespace"], "app")
        self.assertIsNone(self.k.get("b", "app", "routed"))
        self.k.delete("a", "app", "routed")
        self.wait_gone("b", "apps", "routed")

    def test_missing_namespace_is_a_clear_failure(self):
        self.k.namespace("a", "only-in-a")
        self.k.put("a", cm("lonely", "only-in-a", targets="c"))
        e = self.wait_event("sync.failed", path="ConfigMap/only-in-a/lonely", cluster="c")
        self.assertIn('namespace "only-in-a" does not exist in cluster "c"', e["message"])
        self.assertIn("sync.create_namespaces", e["new"]["hint"])
        self.assertFalse(self.k.has_ns("c", "only-in-a"))
        self.k.delete("a", "only-in-a", "lonely")

    def test_two_names_for_one_server_are_refused(self):
        self.k.put("a", cm("twice", "app", targets="b,b-apps"))
        e = self.wait_event("sync.refused", path="ConfigMap/app/twice", contains="same API server")
        self.assertIn(self.emu.url("b"), e["message"])
        time.sleep(1)
        self.assertIsNone(self.k.get("b", "app", "twice"))
        self.assertIsNone(self.k.get("b", "apps", "twice"))
        # A name for the object's own cluster is refused too.
        self.k.put("a", cm("self", "app", targets="a"))
        self.wait_event("sync.refused", path="ConfigMap/app/self", contains="API server it is in")
        self.k.delete("a", "app", "twice")
        self.k.delete("a", "app", "self")

    def test_unreachable_and_broken_targets_are_named_and_others_work(self):
        self.k.put("a", cm("spread", "app", {"v": "1"},
                           targets="down,broken,nowhere,cluster:ghost,c"))
        self.wait_copy("c", "app", "spread")
        e = self.wait_event("sync.failed", cluster="down", path="ConfigMap/app/spread")
        self.assertIn('cluster "down"', e["message"])
        self.assertIn("ConfigMap app/spread", e["message"])
        e = self.wait_event("sync.failed", cluster="broken", path="ConfigMap/app/spread")
        self.assertIn('"broken"', e["message"])
        self.assertIn("tokenFile", e["message"] + e["new"].get("detail", ""))
        e = self.wait_event("sync.failed", cluster="nowhere")
        self.assertIn('"nowhere"', e["message"])
        e = self.wait_event("sync.failed", cluster="cluster:ghost")
        self.assertIn('no registered cluster is named "ghost"', e["message"])
        # As sources, both are reported by name too.
        e = self.wait_event("sync.failed", cluster="down", path="ConfigMap")
        self.assertIn('cannot list the ConfigMaps of cluster "down"', e["message"])
        self.assertIn("cannot connect", e["message"])
        e = self.wait_event("sync.failed", cluster="context:broken",
                            contains="cannot read source cluster")
        self.assertEqual(e["context"], "broken")
        # b-apps is the same server as b: it is read once, as b.
        self.wait_event("sync.refused", cluster="b-apps", contains='read once, as "b"')
        self.k.delete("a", "app", "spread")
        self.wait_gone("c", "app", "spread")

    def blind_watch(self, cluster, resource):
        """Denies watches of `resource` in `cluster` and waits until hcr's open watch has
        ended, so that deletions there reach hcr only through its next list."""
        kind = "Secret" if resource == "secrets" else "ConfigMap"
        line = f'msg="watch failed" cluster={cluster} kind={kind}'
        seen = self.hcr.log().count(line)
        self.addCleanup(self.emu.clear_deny, cluster)
        self.emu.deny(cluster, verb="watch", resource=resource)
        wait_for(lambda: self.hcr.log().count(line) > seen, timeout=20, what=line)

    def test_failed_and_empty_lists_delete_nothing(self):
        # Copies from source s: a ConfigMap and a Secret, both to b.
        self.k.put("s", cm("keep", "lists", {"v": "1"}, targets="b"))
        self.k.put("s", {"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "keep", "namespace": "lists",
                                      "annotations": {ANN: "b"}},
                         "data": {"k": "dg=="}}, kind="secrets")
        self.wait_copy("b", "lists", "keep")
        self.wait_copy("b", "lists", "keep", kind="secrets")
        # s cannot list its ConfigMaps; hcr sees no Secret deletions but by listing.
        self.addCleanup(self.emu.clear_deny, "s")
        self.emu.deny("s", verb="list", resource="configmaps")
        self.emu.deny("s", verb="watch", resource="configmaps")
        self.blind_watch("s", "secrets")
        self.wait_event("sync.failed", cluster="s", contains="cannot list configmaps")
        # The sources go while hcr cannot see it happen.
        self.k.delete("s", "lists", "keep")
        self.k.delete("s", "lists", "keep", kind="secrets")
        # The Secret list of s is now empty (the emulator seeds no Secrets): nothing goes.
        e = self.wait_event("sync.refused", cluster="s", contains="list of Secrets")
        self.assertIn("is empty", e["message"])
        time.sleep(6)  # past another resync
        self.assertIsNotNone(self.k.get("b", "lists", "keep"))
        self.assertIsNotNone(self.k.get("b", "lists", "keep", kind="secrets"))
        # Lists work again: the orphaned ConfigMap copy goes, the Secret copy stays.
        self.emu.clear_deny("s")
        self.wait_gone("b", "lists", "keep", timeout=30)
        e = self.wait_event("sync.deleted", cluster="b", path="ConfigMap/lists/keep")
        self.assertIn("source is gone", e["message"])
        self.assertIsNotNone(self.k.get("b", "lists", "keep", kind="secrets"))
        self.k.delete("b", "lists", "keep", kind="secrets")

    def test_guard_refuses_a_mass_deletion(self):
        names = [f"g{i}" for i in range(12)]
        for n in names:
            self.k.put("s", cm(n, "guard", {"n": n}, targets="c"))
        for n in names:
            self.wait_copy("c", "guard", n)
        # Every source goes while hcr cannot watch: its next list finds all 12 gone.
        self.blind_watch("s", "configmaps")
        for n in names:
            self.k.delete("s", "guard", n)
        e = self.wait_event("sync.refused", cluster="s", contains="refusing to delete 12")
        self.assertIn("max_delete_percent", e["message"])
        time.sleep(1)
        for n in names:
            self.assertIsNotNone(self.k.get("c", "guard", n))
        self.emu.clear_deny("s")
        for n in names:
            self.k.delete("c", "guard", n)


class SyncRoleTest(unittest.TestCase):
    """`hcr sync` alone (no API), creating missing namespaces; and a kubeconfig that does
    not load, which stops nothing else."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = KubeEmulator(clusters=["x", "y"], bookmark_seconds=1)
        cls.k = Kube(cls.emu)
        cls.tmp = tempfile.mkdtemp(prefix="hcr-it-sync2-")

    @classmethod
    def tearDownClass(cls):
        cls.emu.destroy()
        cls.pg.destroy()

    def test_sync_role_creates_missing_namespaces_when_allowed(self):
        kubeconfig = self.emu.write_kubeconfig(os.path.join(self.tmp, "kc.yaml"))
        hcr = Hcr("sync", database_url=self.pg.url, env={
            "HCR_SYNC_KUBECONFIG": kubeconfig, "HCR_SYNC_RESYNC_S": "5",
            "HCR_SYNC_CREATE_NAMESPACES": "true", "HCR_SYNC_SOURCES": "x"})
        try:
            wait_for(lambda: "is syncing" in hcr.log(), timeout=30, what="hcr sync started")
            # Only x is a source (sync.sources): y's annotations are not read.
            self.k.put("y", cm("from-y", "default", targets="x"))
            self.k.namespace("x", "fresh")
            self.k.put("x", cm("conf", "fresh", {"a": "1"}, targets="y"))
            copy = self.wait_copy("y", "fresh", "conf")
            self.assertEqual(copy["data"], {"a": "1"})
            status, ns = self.emu.console("y", "GET", "/api/v1/namespaces/fresh")
            self.assertEqual(ns["metadata"]["labels"]["hcr.io/created-by"], "config-sync")
            rows = wait_for(lambda: self.pg.psql(
                "hcr", "SELECT kind || ' ' || context || ' ' || path FROM cluster_events "
                "WHERE actor = 'sync' ORDER BY id"), what="events in the database")
            self.assertIn("sync.created y Namespace/fresh", rows)
            self.assertIn("sync.created y ConfigMap/fresh/conf", rows)
            self.assertIsNone(self.k.get("x", "default", "from-y"))
            self.assertIn("msg=\"reading source\" cluster=x", hcr.log())
            self.assertNotIn("msg=\"reading source\" cluster=y", hcr.log())
        finally:
            stop_and_check(hcr)

    def wait_copy(self, cluster, ns, name):
        return wait_for(lambda: self.k.get(cluster, ns, name), timeout=20, step=0.1,
                        what=f"copy {cluster}/{ns}/{name}")

    def test_bad_kubeconfig_is_reported_and_hcr_runs(self):
        path = os.path.join(self.tmp, "garbage.yaml")
        with open(path, "w") as f:
            f.write("clusters: [this is: not: a kubeconfig\n")
        hcr = Hcr("run", database_url=self.pg.url, env={
            "HCR_SYNC_KUBECONFIG": path, "HCR_SYNC_RESYNC_S": "5"})
        try:
            hcr.wait_ready()
            log = wait_for(lambda: (lambda l: l if "cannot load sync.kubeconfig" in l else None)(
                hcr.log()), what="the kubeconfig error")
            self.assertIn(path, log)
            self.assertEqual(hcr.request("GET", "/v1/clusters").status, 200)
        finally:
            stop_and_check(hcr)


class RegisteredClustersSyncTest(unittest.TestCase):
    """Registered clusters as source and target: `hcr run` with the fake provider and no
    kubeconfig; the fake cloud's clusters "src" and "dst" have the emulator's "a" and "b"
    as their Kubernetes endpoints (credentials through the provider's kube_credentials)."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.emu = KubeEmulator(clusters=["a", "b"], bookmark_seconds=1)
        cls.k = Kube(cls.emu)
        cls.cloud = FakeCloud()
        for cluster in ("a", "b"):
            cls.k.namespace(cluster, "app")
        cls.hcr = Hcr("run", database_url=cls.pg.url, env={
            "HCR_FAKE_ENDPOINT": cls.cloud.url, "HCR_FAKE_POLL_INTERVAL_S": "1",
            "HCR_SYNC_SOURCES": "clusters", "HCR_SYNC_RESYNC_S": "5"})
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials", {"name": "fake", "provider": "fake",
                                                        "fake": {"token": "fake-token"}})
        assert r.status == 201, r
        for name, kube in (("src", "a"), ("dst", "b")):
            cls.cloud.admin("PUT", f"/admin/clusters/{name}", {"kubernetesVersion": "1.29"})
            status, body = cls.cloud.admin("PUT", f"/admin/clusters/{name}/kube", {
                "server": cls.emu.url(kube), "token": cls.emu.token(kube)})
            assert status == 200, body
            r = cls.hcr.request("POST", "/v1/clusters", {
                "name": name, "provider": "fake", "imported": True, "region": "eu-west-1",
                "credential": "fake"})
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        tokens = (cls.emu.token("a"), cls.emu.token("b"))
        stop_and_check(cls.hcr, cls.emu, cls.cloud, cls.pg, secrets=tokens)

    def test_configmap_copied_between_registered_clusters_and_removed(self):
        self.k.put("a", cm("shared", "app", {"mode": "blue"}, targets="dst"))
        copy = wait_for(lambda: self.k.get("b", "app", "shared"), timeout=30, step=0.2,
                        what="the copy in dst")
        self.assertEqual(copy["data"], {"mode": "blue"})
        self.assertEqual(copy["metadata"]["labels"]["hcr.io/origin-cluster"], "src")
        self.assertEqual(json.loads(copy["metadata"]["annotations"][ORIGIN])["cluster"], "src")
        r = self.hcr.request("GET", "/v1/events?kind=sync.created&cluster=dst")
        self.assertEqual(r.status, 200, r)
        self.assertIn("ConfigMap/app/shared", [e.get("path") for e in r.json["items"]])
        calls = self.cloud.calls()["routes"]
        self.assertGreaterEqual(calls.get("POST /v1/clusters/{name}/kube-credentials", 0), 2)
        self.k.delete("a", "app", "shared")
        wait_for(lambda: self.k.get("b", "app", "shared") is None, timeout=30, step=0.2,
                 what="the copy in dst removed")


if __name__ == "__main__":
    unittest.main()
