"""`hcr compare` and POST /v1/compare (issue 6), through the real binary, against two
clusters of the Kubernetes API emulator (tests/emulators/kubeemu.py).

The fixture is crafted so that the answer of every row is known (FIXTURE_ROWS): objects
equal on both sides, different in their spec, different only in fields the normalisation
strips (so equal), on one side only, a Secret whose value differs (its diff must show a
masked marker and never a value, in clear or in base64), objects that belong to their
cluster (skipped), a namespace, a CRD and a custom resource only on the left. Every test
starts from the same two clusters (the emulator is reset and loaded again).

The CLI resolves cluster names to contexts of a kubeconfig the test writes, or asks the
hcr server for a registered cluster's credentials (POST /v1/clusters/{id}/kube-credentials).
The API tests use contexts of the server's sync.kubeconfig (HCR_SYNC_KUBECONFIG), with
`hcr run`. RegisteredClustersTest registers clusters of the fake cloud
(tests/emulators/fakecloud.py, provider "fake") whose Kubernetes endpoints are the
emulator's clusters, and compares them through the API and the CLI.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HCR, FakeCloud, Hcr, Postgres, free_port, sanitizer_reports
from test_cli import Stub
from test_kube_emulator import CRD, KubeEmulator, cm, deployment, widget

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

# Values that must never appear in any output, in clear or in base64.
SECRET_VALUES = ["hunter2-on-the-left", "hunter2-on-the-right", "admin-user-9f3",
                 "sa-token-value-77", "helm-release-blob"]


def b64(s):
    return base64.b64encode(s.encode()).decode()


def secret(name, ns, data, type_=None, annotations=None):
    meta = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    s = {"apiVersion": "v1", "kind": "Secret", "metadata": meta,
         "data": {k: b64(v) for k, v in data.items()}}
    if type_:
        s["type"] = type_
    return s


def service(name, ns, cluster_ip=None):
    spec = {"selector": {"app": name}, "ports": [{"name": "http", "port": 80,
                                                   "targetPort": 8080}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def annotated(last_applied, extra_meta=None):
    c = cm("annotated", "shop", {"mode": "prod"})
    c["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": last_applied}
    c["metadata"].update(extra_meta or {})
    return c


def fresh_app():
    d = deployment("app", "fresh", image="shop/app:2.0")
    spec = d["spec"]["template"]["spec"]
    spec["serviceAccountName"] = "runner"
    spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": "cfg"}}]
    return d


LEFT_ITEMS = [
    cm("same", "shop", {"k": "v"}),
    cm("changed", "shop", {"x": "1", "y": "same"}),
    annotated('{"left":true}'),
    cm("only-left", "shop"),
    secret("creds", "shop", {"password": "hunter2-on-the-left", "user": "admin-user-9f3"}),
    secret("runner-token-abc", "shop", {"token": "sa-token-value-77"},
           "kubernetes.io/service-account-token",
           {"kubernetes.io/service-account.name": "default"}),
    secret("sh.helm.release.v1.shop.v1", "shop", {"release": "helm-release-blob"},
           "helm.sh/release.v1"),
    service("api", "shop"),
    deployment("web", "shop", image="shop/web:1.0"),
    CRD,
    cm("cfg", "fresh", {"greeting": "hello"}),
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "runner", "namespace": "fresh"}},
    fresh_app(),
]
# Loaded after the CRD is served.
LEFT_LATE = [widget("w1", "fresh", size=3, color="red"),
             deployment("web", "shop", image="shop/web:1.1")]  # a second revision on the left

RIGHT_ITEMS = [
    cm("same", "shop", {"k": "v"}),
    cm("changed", "shop", {"x": "2", "y": "same"}),
    annotated('{"right":true}', {
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "same",
                             "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}],
        "finalizers": ["example.com/keep"]}),
    cm("only-right", "shop"),
    secret("creds", "shop", {"password": "hunter2-on-the-right", "user": "admin-user-9f3"}),
    service("api", "shop", cluster_ip="10.96.200.200"),  # another allocation: still equal
    deployment("web", "shop", image="shop/web:1.1"),
]

BUILTIN_NS = ["default", "kube-node-lease", "kube-public", "kube-system"]

# (group, kind, namespace, name) -> state, for every row a default compare shows.
FIXTURE_ROWS = {
    ("", "ConfigMap", "shop", "same"): "equal",
    ("", "ConfigMap", "shop", "changed"): "different",
    ("", "ConfigMap", "shop", "annotated"): "equal",
    ("", "ConfigMap", "shop", "only-left"): "left-only",
    ("", "ConfigMap", "shop", "only-right"): "right-only",
    ("", "ConfigMap", "fresh", "cfg"): "left-only",
    ("", "Secret", "shop", "creds"): "different",
    ("", "Service", "shop", "api"): "equal",
    ("", "ServiceAccount", "fresh", "default"): "left-only",
    ("", "ServiceAccount", "fresh", "runner"): "left-only",
    ("", "ServiceAccount", "shop", "default"): "equal",
    ("", "Namespace", None, "shop"): "equal",
    ("", "Namespace", None, "fresh"): "left-only",
    ("apps", "Deployment", "shop", "web"): "equal",
    ("apps", "Deployment", "fresh", "app"): "left-only",
    ("apiextensions.k8s.io", "CustomResourceDefinition", None, "widgets.example.com"):
        "left-only",
    ("example.com", "Widget", "fresh", "w1"): "left-only",
    ("rbac.authorization.k8s.io", "ClusterRole", None, "cluster-admin"): "equal",
    ("storage.k8s.io", "StorageClass", None, "standard"): "equal",
}
for _ns in BUILTIN_NS:
    FIXTURE_ROWS[("", "Namespace", None, _ns)] = "equal"
    FIXTURE_ROWS[("", "ServiceAccount", _ns, "default")] = "equal"

# Rows hidden by default (they belong to their cluster), with their reasons.
SKIPPED_ROWS = {
    ("", "Secret", "shop", "runner-token-abc"): ("left-only", "service account token"),
    ("", "Secret", "shop", "sh.helm.release.v1.shop.v1"): ("left-only", "helm release record"),
    ("", "ConfigMap", "fresh", "kube-root-ca.crt"): ("left-only", "cluster CA bundle"),
    ("", "ConfigMap", "shop", "kube-root-ca.crt"): ("equal", "cluster CA bundle"),
    ("", "Service", "default", "kubernetes"): ("equal", "the api server's own service"),
}
for _ns in BUILTIN_NS:
    SKIPPED_ROWS[("", "ConfigMap", _ns, "kube-root-ca.crt")] = ("equal", "cluster CA bundle")

VIEWS = {
    "all": lambda s: True,
    "matching": lambda s: s in ("equal", "different"),
    "non-matching": lambda s: s in ("left-only", "right-only"),
    "left": lambda s: s != "right-only",
    "right": lambda s: s != "left-only",
    "different": lambda s: s == "different",
}


def row_key(it):
    return (it["group"], it["kind"], it.get("namespace"), it["name"])


class CompareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = KubeEmulator(clusters=["left", "right"], crd_establish_seconds=0.1)
        cls.dir = tempfile.mkdtemp(prefix="hcr-it-compare-")
        cls.kc = cls.kube.write_kubeconfig(os.path.join(cls.dir, "kubeconfig"))

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.kube.reset()
        self.load_fixture()
        self.kube.clear_requests()

    def load_fixture(self):
        k = self.kube
        k.load("left", items=LEFT_ITEMS)
        k.load("right", items=RIGHT_ITEMS)
        for _ in range(100):  # the CRD is served after crd_establish_seconds
            status, _, _ = k.request("left", "GET", "/apis/example.com/v1")
            if status == 200:
                break
            k.advance(0.1)
        out = k.load("left", items=LEFT_LATE)
        assert not out["failed"], out

    # ---- running the CLI --------------------------------------------------------------

    def hcr(self, *args, kubeconfig=True, env=None, expect=None):
        """Runs `hcr compare ARGS`; returns (exit code, stdout, stderr), checked for sanitizer
        reports and for Secret values (in clear and base64) in any output."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        e.update({"HOME": self.dir, "TMPDIR": self.dir, "HCR_URL": "http://127.0.0.1:9"})
        e.pop("KUBECONFIG", None)
        e.update(env or {})
        cmd = [HCR, "compare"] + (["--kubeconfig", self.kc] if kubeconfig is True else []) + \
            list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e, cwd=self.dir)
        self.assertFalse(sanitizer_reports(p.stderr), p.stderr)
        for v in SECRET_VALUES:
            for text in (p.stdout, p.stderr):
                self.assertNotIn(v, text, f"a Secret value reached the output of {args}")
                self.assertNotIn(b64(v), text, f"a Secret value (base64) reached the output")
        if expect is not None:
            self.assertEqual(p.returncode, expect, f"{args}:\n{p.stdout}\n{p.stderr}")
        return p.returncode, p.stdout, p.stderr

    def compare_json(self, *args, expect=1):
        _, out, _ = self.hcr("--left", "left", "--right", "right", "-o", "json", *args,
                             expect=expect)
        return json.loads(out)

    def post_writes(self, cluster="right"):
        return [r for r in self.kube.writes(cluster) if r["method"] == "POST"]

    # ---- compare ----------------------------------------------------------------------

    def test_every_view_shows_the_known_rows(self):
        for view, shows in VIEWS.items():
            doc = self.compare_json("--view", view)
            got = {row_key(it): it["state"] for it in doc["items"]}
            want = {k: s for k, s in FIXTURE_ROWS.items() if shows(s)}
            self.assertEqual(got, want, f"view {view}")
            self.assertEqual(doc["view"], view)
        s = doc["summary"]
        states = list(FIXTURE_ROWS.values())
        self.assertEqual((s["equal"], s["different"], s["leftOnly"], s["rightOnly"]),
                         (states.count("equal"), states.count("different"),
                          states.count("left-only"), states.count("right-only")))
        self.assertEqual(s["skipped"], len(SKIPPED_ROWS))
        # Rows are sorted by group, kind, namespace, name.
        doc = self.compare_json()
        keys = [(g, k, n or "", m) for g, k, n, m in map(row_key, doc["items"])]
        self.assertEqual(keys, sorted(keys))
        # Widgets are served by the left cluster only: reported, not an error.
        w = [k for k in doc["kinds"] if k["kind"] == "Widget"][0]
        self.assertEqual((w["left"], w["right"], w["leftObjects"]), ("example.com/v1", None, 1))
        # Nothing was written anywhere by a compare.
        self.assertEqual(self.kube.writes("left") + self.kube.writes("right"), [])

    def test_skipped_objects_with_their_reasons(self):
        doc = self.compare_json("--include-skipped")
        got = {row_key(it): (it["state"], it.get("skipReason")) for it in doc["items"]}
        for key, want in SKIPPED_ROWS.items():
            self.assertEqual(got.get(key), want, key)
        for key, state in FIXTURE_ROWS.items():
            self.assertEqual(got.get(key), (state, None), key)
        self.assertEqual(len(got), len(FIXTURE_ROWS) + len(SKIPPED_ROWS))

    def test_exit_codes_follow_diff(self):
        self.compare_json(expect=1)
        # The same objects on both sides: exit 0.
        self.hcr("--left", "left", "--right", "right", "--namespace", "shop",
                 "--kind", "deploy,svc", expect=0)
        # Only what the view shows counts.
        self.compare_json("--namespace", "default", "--view", "matching", expect=0)

    def test_diff_shows_exactly_what_differs(self):
        doc = self.compare_json("--diff")
        diffs = {row_key(it): it.get("diff") for it in doc["items"]}
        changed = diffs[("", "ConfigMap", "shop", "changed")]
        self.assertIn("--- left/ConfigMap/shop/changed\n+++ right/ConfigMap/shop/changed\n",
                      changed)
        body = [l for l in changed.splitlines()[2:] if l[:1] in "+-"]
        self.assertEqual(body, ['-  x: "1"', '+  x: "2"'])
        # Different only in stripped fields (uid, resourceVersion, last-applied,
        # ownerReferences, finalizers, clusterIP, the deployment's revision): no diff.
        # (The raw objects do differ in those fields, or this would prove nothing.)
        def raw(cluster, resource, name, group=""):
            return [o for o in self.kube.objects(cluster, resource=resource, group=group,
                                                 namespace="shop")
                    if o["metadata"]["name"] == name][0]
        web = [raw(c, "deployments", "web", "apps") for c in ("left", "right")]
        self.assertEqual([w["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                          for w in web], ["2", "1"])
        self.assertNotEqual(*[raw(c, "services", "api")["spec"]["clusterIP"]
                              for c in ("left", "right")])
        ann = [raw(c, "configmaps", "annotated")["metadata"] for c in ("left", "right")]
        self.assertNotEqual(ann[0]["annotations"], ann[1]["annotations"])
        self.assertIn("finalizers", ann[1])
        for key in [("", "ConfigMap", "shop", "annotated"), ("", "Service", "shop", "api"),
                    ("apps", "Deployment", "shop", "web")]:
            self.assertIsNone(diffs[key], key)
        # A one-sided or equal row has no diff; only "different" rows do.
        self.assertEqual(sorted(k for k, d in diffs.items() if d),
                         sorted(k for k, s in FIXTURE_ROWS.items() if s == "different"))
        # The Secret: masked, with kubectl diff's markers on the key that differs.
        creds = diffs[("", "Secret", "shop", "creds")]
        lines = [l for l in creds.splitlines()[2:] if l[:1] in "+-"]
        self.assertEqual(lines, ["-  password: '*** (before)'", "+  password: '*** (after)'"])
        self.assertIn("  user: '***'", creds)

    def test_table_json_and_yaml(self):
        code, out, err = self.hcr("--left", "left", "--right", "right", "--diff", expect=1)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["KIND", "NAMESPACE", "NAME", "STATE"])
        self.assertIn(["ConfigMap", "shop", "changed", "different"],
                      [l.split() for l in lines])
        self.assertIn(["Deployment.apps", "fresh", "app", "left-only"],
                      [l.split() for l in lines])
        self.assertIn("-  password: '*** (before)'", out)
        self.assertIn('note: Widget.example.com is served by cluster "left" only', out)
        self.assertIn("objects: ", lines[-1])
        self.assertIn("--include-skipped shows them", lines[-1])
        if yaml:
            _, out, _ = self.hcr("--left", "left", "--right", "right", "-o", "yaml", expect=1)
            doc = yaml.safe_load(out)
            self.assertEqual({row_key(it): it["state"] for it in doc["items"]}, FIXTURE_ROWS)

    def test_namespace_modes(self):
        doc = self.compare_json("--namespace", "shop")
        got = {row_key(it): it["state"] for it in doc["items"]}
        self.assertEqual(got, {k: s for k, s in FIXTURE_ROWS.items() if k[2] == "shop"})
        # Two namespaces compared with each other: matched on kind and name.
        self.kube.load("right", items=[cm("same", "shop-dr", {"k": "v"}),
                                       cm("changed", "shop-dr", {"x": "1", "y": "same"})])
        doc = self.compare_json("--left-namespace", "shop", "--right-namespace", "shop-dr",
                                "--kind", "configmaps", "--diff")
        got = {(it["kind"], it["name"]): it["state"] for it in doc["items"]}
        self.assertEqual(got, {("ConfigMap", "same"): "equal", ("ConfigMap", "changed"): "equal",
                               ("ConfigMap", "annotated"): "left-only",
                               ("ConfigMap", "only-left"): "left-only"})
        self.assertNotIn("namespace", doc["items"][0])
        self.assertEqual((doc["left"]["namespace"], doc["right"]["namespace"]),
                         ("shop", "shop-dr"))

    def test_kind_names_as_kubectl_takes_them(self):
        doc = self.compare_json("--kind", "cm,deployments.apps,wd")
        self.assertEqual({it["kind"] for it in doc["items"]},
                         {"ConfigMap", "Deployment", "Widget"})
        code, _, err = self.hcr("--left", "left", "--right", "right", "--kind", "gizmos",
                                expect=2)
        self.assertIn('kind "gizmos" is served by neither cluster "left" nor "right"', err)

    # ---- create missing ---------------------------------------------------------------

    def test_create_missing_dry_run_changes_nothing(self):
        code, out, err = self.hcr("--left", "left", "--right", "right", "--create-missing",
                                  "-o", "json", expect=0)
        doc = json.loads(out)
        self.assertTrue(doc["dryRun"])
        self.assertEqual(self.kube.writes("right"), [])
        self.assertEqual(self.kube.writes("left"), [])
        # The server checked what it could (dryRun=All creates).
        dry = [r for r in self.kube.requests("right") if r["method"] == "POST"]
        self.assertTrue(dry and all(r.get("dryRun") for r in dry), dry)
        res = {(it["kind"], it.get("namespace"), it["name"]): it for it in doc["items"]}
        self.assertEqual(res[("Namespace", None, "fresh")]["result"], "created")
        self.assertIn("not checked by the server", res[("Widget", "fresh", "w1")]["note"])
        self.assertIn('namespace "fresh" is created by this run',
                      res[("ConfigMap", "fresh", "cfg")]["note"])
        self.assertEqual(res[("ConfigMap", "shop", "only-left")]["result"], "created")
        self.assertNotIn("note", res[("ConfigMap", "shop", "only-left")])
        self.assertEqual((res[("Secret", "shop", "runner-token-abc")]["result"],
                          res[("Secret", "shop", "runner-token-abc")]["reason"]),
                         ("skipped", "service account token"))
        self.assertEqual(res[("ConfigMap", "fresh", "kube-root-ca.crt")]["reason"],
                         "cluster CA bundle")
        # The table says it was a dry run.
        _, out, _ = self.hcr("--left", "left", "--right", "right", "--create-missing",
                             expect=0)
        self.assertIn("dry run: nothing was written", out)
        self.assertEqual(self.kube.writes("right"), [])

    def test_create_missing_in_dependency_order(self):
        code, out, err = self.hcr("--left", "left", "--right", "right", "--create-missing",
                                  "--apply", "-o", "json", expect=0)
        doc = json.loads(out)
        self.assertFalse(doc["dryRun"])
        res = {(it["kind"], it.get("namespace"), it["name"]): it for it in doc["items"]}
        self.assertEqual(res[("Widget", "fresh", "w1")]["result"], "created")
        self.assertEqual(res[("Deployment", "fresh", "app")]["result"], "created")
        # The namespace's default ServiceAccount appeared with the namespace: "exists".
        self.assertEqual(res[("ServiceAccount", "fresh", "default")]["result"], "exists")
        self.assertEqual(res[("Secret", "shop", "sh.helm.release.v1.shop.v1")]["reason"],
                         "helm release record")
        # The order of the creates the right cluster received.
        posts = [(r["resource"], r.get("namespace"), r.get("name")) for r in self.post_writes()]
        names = [f"{res}/{ns or '-'}" for res, ns, _ in posts]

        def first(pred):
            return min(i for i, p in enumerate(posts) if pred(p))

        ns_at = first(lambda p: p[0] == "namespaces")
        crd_at = first(lambda p: p[0] == "customresourcedefinitions")
        self.assertTrue(all(i > ns_at for i, p in enumerate(posts) if p[1] == "fresh"), names)
        self.assertLess(crd_at, first(lambda p: p[0] == "widgets"), names)
        deploy_at = first(lambda p: p[0] == "deployments")
        self.assertLess(first(lambda p: p[0] == "serviceaccounts" and p[1] == "fresh"),
                        deploy_at, names)
        self.assertLess(first(lambda p: p[0] == "configmaps" and p[1] == "fresh"),
                        deploy_at, names)
        # Skipped objects were not sent; the SA token is not in the right cluster.
        self.assertFalse([p for p in posts if p[0] == "secrets"], names)
        # What exists on both sides was left alone: no update, no patch, no delete.
        self.assertEqual([r for r in self.kube.writes("right") if r["method"] != "POST"], [])
        # A compare now shows the left-only rows gone, the rest unchanged.
        doc = self.compare_json()
        got = {row_key(it): it["state"] for it in doc["items"]}
        self.assertEqual(got[("", "ConfigMap", "shop", "changed")], "different")
        self.assertEqual(sorted(s for s in got.values() if s != "equal"),
                         ["different", "different", "right-only"])
        w = self.kube.objects("right", resource="widgets", group="example.com",
                              namespace="fresh")
        self.assertEqual([o["spec"] for o in w], [{"size": 3, "color": "red"}])

    def test_create_never_overwrites(self):
        code, out, err = self.hcr("--left", "left", "--right", "right", "--create-missing",
                                  "--select", "configmaps/shop/changed,cm/shop/only-left",
                                  "--apply", "-o", "json", expect=0)
        res = {it["name"]: it["result"] for it in json.loads(out)["items"]}
        self.assertEqual(res, {"changed": "exists", "only-left": "created"})
        got = self.kube.objects("right", resource="configmaps", namespace="shop")
        self.assertEqual([o["data"] for o in got if o["metadata"]["name"] == "changed"],
                         [{"x": "2", "y": "same"}])
        self.assertEqual([r for r in self.kube.writes("right") if r["method"] != "POST"], [])

    def test_chosen_skipped_object_is_created(self):
        _, out, _ = self.hcr("--left", "left", "--right", "right", "--create-missing",
                             "--select", "secret/shop/sh.helm.release.v1.shop.v1", "-o", "json",
                             expect=0)
        self.assertEqual([it["result"] for it in json.loads(out)["items"]], ["created"])

    # ---- update chosen objects -------------------------------------------------------

    def test_update_only_the_chosen_object(self):
        _, out, _ = self.hcr("--left", "left", "--right", "right", "--update",
                             "configmaps/shop/changed", "-o", "json", expect=0)
        doc = json.loads(out)
        self.assertEqual((doc["mode"], doc["dryRun"], doc["items"][0]["result"]),
                         ("update", True, "updated"))
        self.assertEqual(self.kube.writes("right"), [])
        _, out, _ = self.hcr("--left", "left", "--right", "right", "--update",
                             "configmaps/shop/changed,cm/shop/same,cm/shop/only-left",
                             "--apply", "-o", "json", expect=1)
        res = {it["name"]: it for it in json.loads(out)["items"]}
        self.assertEqual(res["changed"]["result"], "updated")
        self.assertEqual(res["same"]["result"], "unchanged")
        self.assertEqual(res["only-left"]["result"], "failed")
        self.assertIn("does not exist in cluster \"right\"",
                      res["only-left"]["error"]["message"])
        writes = self.kube.writes("right")
        self.assertEqual([(w["method"], w["name"]) for w in writes], [("PUT", "changed")])
        doc = self.compare_json()
        got = {row_key(it): it["state"] for it in doc["items"]}
        self.assertEqual(got[("", "ConfigMap", "shop", "changed")], "equal")
        self.assertEqual(got[("", "Secret", "shop", "creds")], "different")
        # An update needs objects named one by one.
        self.hcr("--left", "left", "--right", "right", "--update", "", expect=2)

    # ---- errors: clear, naming the cluster and object, and nothing written -----------

    def assertNothingWritten(self):
        self.assertEqual(self.kube.writes("left"), [])
        self.assertEqual(self.kube.writes("right"), [])

    def test_bad_kubeconfig(self):
        bad = os.path.join(self.dir, "bad-kubeconfig")
        with open(bad, "w") as f:
            f.write("clusters: [::: not yaml\n")
        code, out, err = self.hcr("--kubeconfig", bad, "--left", "left", "--right", "right",
                                  "--create-missing", "--apply", kubeconfig=False, expect=2)
        self.assertIn('cannot open the left cluster "left"', err)
        self.assertIn(bad, err)
        self.assertEqual(out, "")
        self.assertNothingWritten()

    def test_unreachable_cluster(self):
        kc = os.path.join(self.dir, "kubeconfig-gone")
        cfg = self.kube.kubeconfig()
        cfg["clusters"].append({"name": "gone",
                                "cluster": {"server": f"http://127.0.0.1:{free_port()}"}})
        cfg["contexts"].append({"name": "gone", "context": {"cluster": "gone",
                                                            "user": "right-user"}})
        with open(kc, "w") as f:
            json.dump(cfg, f)
        code, _, err = self.hcr("--kubeconfig", kc, "--left", "gone", "--right", "right",
                                "--create-missing", "--apply", kubeconfig=False, expect=2)
        self.assertIn('cluster "gone"', err)
        self.assertIn("cannot connect", err)
        self.assertNothingWritten()

    def test_forbidden_list(self):
        self.kube.deny("right", verb="list", resource="secrets")
        code, _, err = self.hcr("--left", "left", "--right", "right", "--create-missing",
                                "--apply", expect=2)
        self.assertIn('cannot list secrets in all namespaces in cluster "right"', err)
        self.assertIn("forbidden", err)
        self.assertNothingWritten()
        code, _, err = self.hcr("--left", "left", "--right", "right", expect=2)
        self.assertIn('in cluster "right"', err)
        self.kube.clear_deny("right")

    def test_custom_resource_whose_crd_is_missing(self):
        code, out, err = self.hcr("--left", "left", "--right", "right", "--create-missing",
                                  "--select", "widgets/fresh/w1", "--apply", expect=2)
        self.assertIn('cannot create Widget fresh/w1 in cluster "right"', err)
        self.assertIn("widgets.example.com", err)
        self.assertIn("nothing was written", err)
        self.assertNothingWritten()
        # With its CRD chosen too, it works (and the namespace is created first).
        _, out, _ = self.hcr("--left", "left", "--right", "right", "--create-missing",
                             "--select", "widgets/fresh/w1,crd/widgets.example.com", "--apply",
                             "-o", "json", expect=0)
        res = [(it["kind"], it["result"]) for it in json.loads(out)["items"]]
        self.assertEqual(res, [("Namespace", "created"), ("CustomResourceDefinition", "created"),
                               ("Widget", "created")])

    def test_diff_needs_a_writable_tmpdir(self):
        code, _, err = self.hcr("--left", "left", "--right", "right", "--diff",
                                env={"TMPDIR": os.path.join(self.dir, "missing")}, expect=2)
        self.assertIn("cannot create a temporary file for the diff", err)
        self.assertIn("TMPDIR", err)
        # Without --diff there is no file.
        self.hcr("--left", "left", "--right", "right",
                 env={"TMPDIR": os.path.join(self.dir, "missing")}, expect=1)

    def test_usage_errors(self):
        for args in (["--left", "left"], ["--left", "l", "--right", "r", "--apply"],
                     ["--left", "l", "--right", "r", "--select", "cm/a/b"],
                     ["--left", "l", "--right", "r", "--view", "sideways"],
                     ["--left", "l", "--right", "r", "--namespace", "a",
                      "--left-namespace", "b", "--right-namespace", "c"]):
            code, _, err = self.hcr(*args)
            self.assertEqual(code, 2, (args, err))
            self.assertTrue(err.startswith("hcr: "), err)
        code, out, _ = self.hcr("--help", expect=0)
        self.assertIn("--create-missing", out)

    # ---- registered clusters: credentials from the hcr server -------------------------

    def test_registered_cluster_credentials_from_hcr(self):
        creds = {"server": self.kube.url("right"), "token": self.kube.token("right"),
                 "expiresAt": 4102444800}
        stub = Stub({("POST", "/v1/clusters/prod-dr/kube-credentials"): (200, {}, creds)})
        try:
            env = {"HCR_URL": stub.url, "HCR_TOKEN": "hcr_" + "a" * 43}
            doc = json.loads(self.hcr("--left", "left", "--right", "cluster:prod-dr", "-o",
                                      "json", env=env, expect=1)[1])
            self.assertEqual(doc["right"]["cluster"], "prod-dr")
            self.assertEqual({row_key(it): it["state"] for it in doc["items"]}, FIXTURE_ROWS)
            # A bare name that is no context is a registered cluster too.
            self.hcr("--left", "left", "--right", "prod-dr", env=env, expect=1)
            self.assertEqual(len(stub.requests), 2)
            self.assertEqual(stub.requests[0][2].get("Authorization"),
                             "Bearer hcr_" + "a" * 43)
            # A name that is neither.
            _, _, err = self.hcr("--left", "left", "--right", "nowhere", env=env, expect=2)
            self.assertIn('no kubeconfig context and no cluster registered in hcr is named '
                          '"nowhere"', err)
        finally:
            stub.stop()


class CompareApiTest(unittest.TestCase):
    """POST /v1/compare, /v1/compare/create and /v1/compare/update on `hcr run`, with the
    clusters as contexts of the server's sync.kubeconfig."""

    @classmethod
    def setUpClass(cls):
        cls.kube = KubeEmulator(clusters=["left", "right"], crd_establish_seconds=0.1)
        cls.dir = tempfile.mkdtemp(prefix="hcr-it-compare-api-")
        cls.kc = cls.kube.write_kubeconfig(os.path.join(cls.dir, "kubeconfig"))
        cls.pg = Postgres()
        cls.hcr = Hcr("run", database_url=cls.pg.url, env={"HCR_SYNC_KUBECONFIG": cls.kc})
        cls.hcr.wait_ready()
        tokens = {}
        for role in ("viewer", "operator"):
            r = cls.hcr.request("POST", "/v1/tokens", {"name": role, "role": role})
            assert r.status == 201, r
            tokens[role] = r.json["token"]
        cls.tokens = tokens

    @classmethod
    def tearDownClass(cls):
        code = cls.hcr.stop()
        log = cls.hcr.log()
        cls.hcr.destroy()
        cls.pg.destroy()
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert code == 0, log[-3000:]
        assert not sanitizer_reports(log), "\n".join(sanitizer_reports(log))
        for v in SECRET_VALUES:
            assert v not in log and b64(v) not in log, "a Secret value reached hcr's log"

    def setUp(self):
        self.kube.reset()
        CompareTest.load_fixture(self)
        self.kube.clear_requests()

    def post(self, path, body, token="admin"):
        r = self.hcr.request("POST", path, body, token=token, timeout=120)
        for v in SECRET_VALUES:
            self.assertNotIn(v.encode(), r.raw)
            self.assertNotIn(b64(v).encode(), r.raw)
        return r

    def test_compare(self):
        r = self.post("/v1/compare", {"left": "left", "right": "right", "diff": True},
                      token=self.tokens["operator"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual({row_key(it): it["state"] for it in r.json["items"]}, FIXTURE_ROWS)
        creds = [it for it in r.json["items"] if it["name"] == "creds"][0]
        self.assertIn("*** (before)", creds["diff"])
        r = self.post("/v1/compare", {"left": "left", "right": "right", "view": "left-only"},
                      token=self.tokens["operator"])
        self.assertEqual((r.status, r.json["error"]["code"]), (422, "invalid"), r)
        r = self.post("/v1/compare", {"left": "left", "right": "nowhere"})
        self.assertEqual(r.status, 422, r)
        self.assertIn('field "right"', r.json["error"]["message"])
        r = self.post("/v1/compare", {"left": "left", "right": "right"},
                      token=self.tokens["viewer"])
        self.assertEqual(r.status, 403, r)
        # A cluster's own refusal is not hcr's 403.
        self.kube.deny("right", verb="list", resource="secrets")
        r = self.post("/v1/compare", {"left": "left", "right": "right"})
        self.kube.clear_deny("right")
        self.assertEqual(r.status, 422, r)
        self.assertIn('cannot list secrets in all namespaces in cluster "right"',
                      r.json["error"]["message"])

    def test_create_and_update(self):
        body = {"left": "left", "right": "right"}
        r = self.post("/v1/compare/create", body, token=self.tokens["operator"])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["dryRun"])
        self.assertEqual(self.kube.writes("right"), [])
        r = self.post("/v1/compare/create",
                      dict(body, dryRun=False,
                           objects=["cm/shop/only-left",
                                    {"kind": "ConfigMap", "namespace": "shop",
                                     "name": "changed"}]),
                      token=self.tokens["operator"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(it["name"], it["result"]) for it in r.json["items"]],
                         [("changed", "exists"), ("only-left", "created")])
        upd = dict(body, objects=["configmaps/shop/changed"], dryRun=False)
        r = self.post("/v1/compare/update", upd, token=self.tokens["operator"])
        self.assertEqual(r.status, 403, r)
        r = self.post("/v1/compare/update", upd)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["items"][0]["result"], "updated")
        r = self.post("/v1/compare/update", dict(body, dryRun=False))
        self.assertEqual(r.status, 422, r)
        # Writes are audit-logged with the two clusters as the target.
        rows = self.pg.psql("hcr", "SELECT path || '|' || coalesce(target, '') || '|' || status FROM "
                            "audit_log WHERE path LIKE '/v1/compare%' ORDER BY at").split("\n")
        self.assertIn("/v1/compare/create|compare:left..right|200", rows)
        self.assertIn("/v1/compare/update|compare:left..right|200", rows)
        self.assertIn("/v1/compare/update||403", rows)


class RegisteredClustersTest(unittest.TestCase):
    """Registered clusters end to end: `hcr run` with the fake provider; the fake cloud's
    clusters "prod" and "dr" have the emulator's "left" and "right" as their Kubernetes
    endpoints, "bare" has none."""

    @classmethod
    def setUpClass(cls):
        cls.kube = KubeEmulator(clusters=["left", "right"], crd_establish_seconds=0.1)
        cls.dir = tempfile.mkdtemp(prefix="hcr-it-compare-reg-")
        cls.cloud = FakeCloud()
        cls.pg = Postgres()
        cls.hcr = Hcr("run", database_url=cls.pg.url, env={"HCR_FAKE_ENDPOINT": cls.cloud.url})
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials", {"name": "fake", "provider": "fake",
                                                        "fake": {"token": "fake-token"}})
        assert r.status == 201, r
        for name, kube in (("prod", "left"), ("dr", "right"), ("bare", None)):
            cls.cloud.admin("PUT", f"/admin/clusters/{name}", {"kubernetesVersion": "1.29"})
            if kube:
                status, body = cls.cloud.admin("PUT", f"/admin/clusters/{name}/kube", {
                    "server": cls.kube.url(kube), "token": cls.kube.token(kube)})
                assert status == 200, body
            r = cls.hcr.request("POST", "/v1/clusters", {
                "name": name, "provider": "fake", "imported": True, "region": "eu-west-1",
                "credential": "fake"})
            assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        cls.cloud.destroy()
        CompareApiTest.tearDownClass.__func__(cls)

    def setUp(self):
        self.kube.reset()
        CompareTest.load_fixture(self)
        self.kube.clear_requests()

    def test_compare_through_the_api(self):
        r = CompareApiTest.post(self, "/v1/compare", {"left": "cluster:prod", "right": "dr",
                                                      "diff": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["left"]["cluster"], r.json["right"]["cluster"]),
                         ("prod", "dr"))
        self.assertEqual({row_key(it): it["state"] for it in r.json["items"]}, FIXTURE_ROWS)
        # Credentials came from the fake cloud, once per side.
        calls = self.cloud.calls()["routes"]
        self.assertGreaterEqual(calls.get("POST /v1/clusters/{name}/kube-credentials", 0), 2)
        # A cluster without a Kubernetes endpoint: a clear error, for both routes.
        r = CompareApiTest.post(self, "/v1/clusters/bare/kube-credentials", None)
        self.assertEqual(r.status, 422, r)
        self.assertIn('the fake cloud has no Kubernetes endpoint for cluster "bare"',
                      r.json["error"]["message"])
        self.assertIn("has no Kubernetes endpoint", r.json["error"]["detail"])
        r = CompareApiTest.post(self, "/v1/compare", {"left": "cluster:bare", "right": "dr"})
        self.assertEqual(r.status, 422, r)
        self.assertIn("no Kubernetes endpoint", r.json["error"]["message"])
        # An answer that is not credentials (a server that is no http(s) URL): upstream.
        self.cloud.admin("POST", "/admin/faults", {
            "kind": "malformed", "path_prefix": "/v1/clusters/prod/kube-credentials",
            "body": json.dumps({"server": "ftp://x", "token": "t", "expiresAt": 1})})
        r = CompareApiTest.post(self, "/v1/clusters/prod/kube-credentials", None)
        self.assertEqual(r.status, 503, r)
        self.assertIn('unexpected response from the fake cloud for cluster "prod"',
                      r.json["error"]["message"])
        self.assertEqual(self.kube.writes("left") + self.kube.writes("right"), [])

    def test_compare_through_the_cli(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        e.update({"HOME": self.dir, "HCR_URL": f"http://127.0.0.1:{self.hcr.port}",
                  "HCR_TOKEN": self.hcr.admin_token})
        e.pop("KUBECONFIG", None)
        p = subprocess.run([HCR, "compare", "--left", "cluster:prod", "--right", "dr",
                            "-o", "json"], capture_output=True, text=True, timeout=60, env=e)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertFalse(sanitizer_reports(p.stderr), p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual({row_key(it): it["state"] for it in doc["items"]}, FIXTURE_ROWS)
        p = subprocess.run([HCR, "compare", "--left", "cluster:bare", "--right", "dr"],
                           capture_output=True, text=True, timeout=60, env=e)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn('cannot open the left cluster "cluster:bare"', p.stderr)
        self.assertIn("no Kubernetes endpoint", p.stderr)


if __name__ == "__main__":
    unittest.main()
