"""The Kubernetes API server emulator (tests/emulators/kubeemu.py), checked with the real
kubectl and over plain HTTP.

`KubeEmulator` below is the harness other test modules import (like AksEmulator from
test_aks_emulator.py):

    from test_kube_emulator import KubeEmulator
    with KubeEmulator(clusters=["left", "right"]) as kube:
        kube.url("left"), kube.token("left"), kube.port("left")
        kube.write_kubeconfig(path)                 # one context per cluster, token auth
        kube.request("left", "GET", "/api/v1/namespaces")   # (status, headers, body)
        kube.console("left", "POST", "/api/v1/namespaces", {...})  # no auth, not logged
        kube.load("left", items=[...]) / kube.load("left", generate={...})
        kube.deny("left", verb="list", resource="secrets")
        kube.fault(operation="list", resource="configmaps", status=500, count=2)
        kube.requests("left"), kube.writes("left"), kube.clear_requests("left")
        kube.reset()

docs/kubeemu.md describes the emulator, its admin API and how it differs from a real
API server.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness
from harness import ROOT, admin_call

try:
    import yaml  # kubeconfigs are written as YAML when PyYAML is there, else as JSON
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

KUBECTL = shutil.which("kubectl")
NEEDS_KUBECTL = "kubectl is not installed; these tests check the emulator with it"


class KubeEmulator:
    """tests/emulators/kubeemu.py as a child process serving one or more clusters, each
    on its own 127.0.0.1 port, with its admin API.

    `clusters`: names (ports picked freely) or (name, port) pairs. `tokens`: {name: token}
    (default: a random token per cluster). `tls`: serve HTTPS with a generated CA (the
    kubeconfig then carries certificate-authority-data). `options`: emulator options
    without dashes, e.g. crd_establish_seconds=0.5, namespace_delete_seconds=1,
    watch_history=1000. Use as a context manager, or call stop()."""

    def __init__(self, clusters=("left", "right"), tokens=None, tls=False, extra=(),
                 start=True, **options):
        self.names = []
        self.ports_wanted = {}
        for c in clusters:
            name, port = (c, 0) if isinstance(c, str) else (c[0], int(c[1]))
            self.names.append(name)
            self.ports_wanted[name] = port
        self.tokens = dict(tokens or {})
        for name in self.names:
            self.tokens.setdefault(name, "kubeemu-" + base64.urlsafe_b64encode(
                os.urandom(18)).decode().rstrip("="))
        self.tls = tls
        self.options = options
        self.extra = list(extra)
        self.proc = None
        self.info = {}
        self.admin_port = None
        self.tmp = None
        if start:
            self.start()

    # -- life --

    def start(self):
        args = ["python3", os.path.join(ROOT, "tests", "emulators", "kubeemu.py"),
                "--port", "0", "--max-seconds", "1800"]
        for name in self.names:
            args += ["--cluster", f"{name}={self.ports_wanted[name]}",
                     "--token", f"{name}={self.tokens[name]}"]
        if self.tls:
            args.append("--tls")
        for k, v in self.options.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        args += self.extra
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, preexec_fn=harness.die_with_parent)
        first = self.proc.stdout.readline()
        second = self.proc.stdout.readline()
        if "listening on" not in first or not second.startswith("clusters "):
            self.stop()
            raise RuntimeError(f"kubeemu did not start: {first!r} {second!r}")
        self.admin_port = int(first.strip().rsplit(":", 1)[1])
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.info = json.loads(second[len("clusters "):])
        self.tmp = tempfile.mkdtemp(prefix="hcr-it-kube-")
        if self.tls:
            self.ca_file = os.path.join(self.tmp, "ca.crt")
            with open(self.ca_file, "wb") as f:
                f.write(base64.b64decode(self.info[self.names[0]]["caData"]))
        return self

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    destroy = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- where --

    def url(self, name):
        return self.info[name]["url"]

    def port(self, name):
        return self.info[name]["port"]

    def token(self, name):
        return self.tokens[name]

    def kubeconfig(self, clusters=None, contexts=None, current=None, namespace=None,
                   client_cert=False):
        """A kubeconfig (dict) with one cluster, user and context per emulated cluster
        (each named like the cluster), token auth; `contexts` may map other context names
        to cluster names; `client_cert` uses the TLS client certificate instead of the
        token."""
        names = list(clusters or self.names)
        ctxs = dict(contexts) if contexts else {n: n for n in names}
        cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [], "users": [], "contexts": [],
               "current-context": current or next(iter(ctxs))}
        for n in names:
            c = {"server": self.url(n)}
            if self.tls:
                c["certificate-authority-data"] = self.info[n]["caData"]
            cfg["clusters"].append({"name": n, "cluster": c})
            if client_cert:
                user = {"client-certificate-data": self.info[n]["clientCertData"],
                        "client-key-data": self.info[n]["clientKeyData"]}
            else:
                user = {"token": self.token(n)}
            cfg["users"].append({"name": f"{n}-user", "user": user})
        for ctx, n in ctxs.items():
            c = {"cluster": n, "user": f"{n}-user"}
            if namespace:
                c["namespace"] = namespace
            cfg["contexts"].append({"name": ctx, "context": c})
        return cfg

    def write_kubeconfig(self, path, clusters=None, contexts=None, current=None,
                         namespace=None, client_cert=False, fmt="yaml"):
        """Writes kubeconfig() to path (mode 0600) as block-style YAML, like a real
        kubeconfig (fmt="json" writes JSON, which is YAML too); returns path."""
        cfg = self.kubeconfig(clusters, contexts, current, namespace, client_cert)
        with open(path, "w") as f:
            if fmt == "yaml" and yaml is not None:
                yaml.safe_dump(cfg, f, default_flow_style=False, sort_keys=False)
            else:
                json.dump(cfg, f, indent=2)
        os.chmod(path, 0o600)
        return path

    # -- HTTP --

    def _conn(self, port, tls):
        if tls:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, cluster, method, path, body=None, token=True, headers=None, raw=None,
                content_type=None):
        """A Kubernetes API call on one cluster: (status, headers dict with lower-case
        names, decoded JSON or raw bytes). token=True uses the cluster's token, None/False
        sends none, a string sends that one."""
        h = dict(headers or {})
        if token is True:
            token = self.token(cluster)
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", content_type or "application/json")
        elif content_type:
            h.setdefault("Content-Type", content_type)
        conn = self._conn(self.port(cluster), self.tls)
        try:
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

    def admin(self, method, path, body=None):
        """(status, decoded JSON) of an admin call on the admin port."""
        return admin_call(self.admin_port, method, path, body, timeout=120)

    def _ok(self, answer, what):
        status, out = answer
        if status >= 300:
            raise RuntimeError(f"kubeemu refused {what}: {status} {out}")
        return out

    # -- admin helpers --

    def reset(self, cluster=None):
        if cluster:
            return self._ok(self.admin("POST", f"/admin/clusters/{cluster}/reset", {}), "reset")
        return self._ok(self.admin("POST", "/admin/reset", {}), "reset")

    def console(self, cluster, method, path, body=None, query=None, content_type=None):
        """A Kubernetes API call as the cluster's console (no token, no deny rules, no
        faults, not logged): (status, body)."""
        req = {"method": method, "path": path}
        if body is not None:
            req["body"] = body
        if query is not None:
            req["query"] = query
        if content_type:
            req["contentType"] = content_type
        out = self._ok(self.admin("POST", f"/admin/clusters/{cluster}/console", req), "console")
        return out["status"], out["body"]

    def load(self, cluster, items=None, generate=None, create_namespaces=True, replace=True):
        body = {"items": list(items or []), "createNamespaces": create_namespaces,
                "replace": replace}
        if generate is not None:
            body["generate"] = generate
        return self._ok(self.admin("POST", f"/admin/clusters/{cluster}/load", body), "load")

    def objects(self, cluster, resource=None, group="", namespace=None):
        q = {}
        if resource:
            q["resource"], q["group"] = resource, group
        if namespace:
            q["namespace"] = namespace
        path = f"/admin/clusters/{cluster}/objects"
        if q:
            path += "?" + urllib.parse.urlencode(q)
        return self._ok(self.admin("GET", path), "objects")["items"]

    def deny(self, cluster, verb="*", resource="*", group="*", namespace=None, name=None,
             token=None, user=None):
        body = {"verb": verb, "resource": resource, "group": group}
        for k, v in (("namespace", namespace), ("name", name), ("token", token),
                     ("user", user)):
            if v is not None:
                body[k] = v
        return self._ok(self.admin("POST", f"/admin/clusters/{cluster}/deny", body), "deny")

    def clear_deny(self, cluster):
        return self._ok(self.admin("DELETE", f"/admin/clusters/{cluster}/deny"), "deny")

    def add_token(self, cluster, token, user="kubeemu-user", groups=None, replace=False):
        body = {"token": token, "user": user, "replace": replace}
        if groups is not None:
            body["groups"] = groups
        return self._ok(self.admin("POST", f"/admin/clusters/{cluster}/tokens", body), "token")

    def fault(self, **spec):
        """POST /admin/faults: e.g. fault(cluster="left", operation="list",
        resource="configmaps", status=500, count=2) or drop=True."""
        return self._ok(self.admin("POST", "/admin/faults", spec), "fault")

    def clear_faults(self):
        return self._ok(self.admin("DELETE", "/admin/faults"), "faults")

    def requests(self, cluster, since=None):
        """The request log of one cluster (oldest first); each entry has method, path,
        query, verb, group, resource, namespace, name, status, user, write, dryRun."""
        path = f"/admin/clusters/{cluster}/requests" + (f"?since={since}" if since else "")
        return self._ok(self.admin("GET", path), "requests")["requests"]

    def writes(self, cluster):
        """The logged requests that changed something (no dry runs)."""
        return [r for r in self.requests(cluster) if r.get("write")]

    def clear_requests(self, cluster=None):
        if cluster:
            return self._ok(self.admin("DELETE", f"/admin/clusters/{cluster}/requests"),
                            "requests")
        return self._ok(self.admin("DELETE", "/admin/calls"), "requests")

    def counters(self, cluster):
        return self._ok(self.admin("GET", f"/admin/clusters/{cluster}/counters"), "counters")

    def settings(self, **values):
        if values:
            return self._ok(self.admin("POST", "/admin/settings", values), "settings")
        return self._ok(self.admin("GET", "/admin/settings"), "settings")

    def compact(self, cluster):
        return self._ok(self.admin("POST", f"/admin/clusters/{cluster}/compact", {}), "compact")

    def advance(self, seconds):
        return self._ok(self.admin("POST", "/admin/clock", {"advance": seconds}), "clock")


# ---- tests ---------------------------------------------------------------------------------


def cm(name, ns="default", data=None, labels=None):
    meta = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": data if data is not None else {"k": "v"}}


def deployment(name, ns="default", image="nginx:1.25", replicas=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": ns},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "main", "image": image}]}}}}
    if replicas is not None:
        d["spec"]["replicas"] = replicas
    return d


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                  "shortNames": ["wd"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                          "jsonPath": ".spec.size"}],
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "default": 1},
                    "color": {"type": "string", "enum": ["red", "green", "blue"]}}},
                "status": {"type": "object",
                           "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def widget(name, ns="default", **spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


class Watch:
    """A watch stream read on a thread: .events fills as lines arrive."""

    def __init__(self, kube, cluster, path, token=True):
        self.conn = kube._conn(kube.port(cluster), kube.tls)
        h = {"Authorization": f"Bearer {kube.token(cluster) if token is True else token}"}
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.events = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        try:
            for line in self.resp:
                if line.strip():
                    self.events.append(json.loads(line))
        except Exception:  # closed under the reader (close()), or not JSON
            pass
        finally:
            self.done.set()

    def wait_for(self, n, timeout=5):
        deadline = time.time() + timeout
        while len(self.events) < n and time.time() < deadline and not self.done.is_set():
            time.sleep(0.02)
        return self.events

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()


class KubeHttpTest(unittest.TestCase):
    """Plain HTTP against two clusters: the API's semantics and the admin API."""

    @classmethod
    def setUpClass(cls):
        cls.kube = KubeEmulator(clusters=["left", "right"], crd_establish_seconds=0.2)

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()

    def setUp(self):
        self.kube.reset()

    # -- helpers --

    def req(self, method, path, body=None, cluster="left", **kw):
        return self.kube.request(cluster, method, path, body, **kw)

    def assertStatus(self, answer, code, reason=None, message=None):
        status, _, body = answer
        self.assertEqual(status, code, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get("kind"), "Status", body)
        self.assertEqual(body.get("apiVersion"), "v1")
        self.assertEqual(body.get("status"), "Failure")
        self.assertEqual(body.get("code"), code)
        if reason:
            self.assertEqual(body.get("reason"), reason, body)
        if message:
            self.assertIn(message, body.get("message", ""), body)
        return body

    def create(self, obj, cluster="left", **kw):
        meta = obj["metadata"]
        group, _, version = obj["apiVersion"].rpartition("/")
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        plural = {"ConfigMap": "configmaps", "Deployment": "deployments", "Secret": "secrets",
                  "Service": "services", "Namespace": "namespaces", "Widget": "widgets",
                  "PersistentVolumeClaim": "persistentvolumeclaims",
                  "CustomResourceDefinition": "customresourcedefinitions",
                  "Job": "jobs", "StatefulSet": "statefulsets"}[obj["kind"]]
        ns = meta.get("namespace")
        path = f"{base}/namespaces/{ns}/{plural}" if ns else f"{base}/{plural}"
        if kw.get("query"):
            path += "?" + kw.pop("query")
        return self.req("POST", path, obj, cluster=cluster, **kw)

    def ok(self, answer, code=None):
        status, _, body = answer
        if code is not None:
            self.assertEqual(status, code, body)
        else:
            self.assertLess(status, 300, body)
        return body

    # -- start-up, auth, clusters --

    def test_clusters_are_independent_ports(self):
        self.assertNotEqual(self.kube.port("left"), self.kube.port("right"))
        self.assertNotEqual(self.kube.port("left"), self.kube.admin_port)
        self.ok(self.create(cm("only-left")))
        self.ok(self.req("GET", "/api/v1/namespaces/default/configmaps/only-left"), 200)
        self.assertStatus(self.req("GET", "/api/v1/namespaces/default/configmaps/only-left",
                                   cluster="right"), 404, "NotFound",
                          'configmaps "only-left" not found')
        _, clusters = self.kube.admin("GET", "/admin/clusters")
        self.assertEqual([c["name"] for c in clusters["clusters"]], ["left", "right"])
        # the admin port serves no Kubernetes API
        conn = http.client.HTTPConnection("127.0.0.1", self.kube.admin_port, timeout=10)
        conn.request("GET", "/api/v1/namespaces")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()

    def test_bearer_token_auth(self):
        self.assertStatus(self.req("GET", "/api/v1/namespaces", token=None), 401,
                          "Unauthorized", "Unauthorized")
        self.assertStatus(self.req("GET", "/api/v1/namespaces", token="wrong"), 401)
        self.assertStatus(self.req("GET", "/api", token=self.kube.token("right")), 401)
        status, _, body = self.req("GET", "/version", token=None)
        self.assertEqual(status, 200)
        self.assertEqual((body["major"], body["minor"]), ("1", "32"))
        self.kube.add_token("left", "second-token", user="alice")
        status, _, body = self.req("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                   {"apiVersion": "authentication.k8s.io/v1",
                                    "kind": "SelfSubjectReview"}, token="second-token")
        self.assertEqual(status, 201, body)
        self.assertEqual(body["status"]["userInfo"]["username"], "alice")
        log = self.kube.requests("left")
        self.assertEqual(log[0]["status"], 401)
        self.assertEqual(log[-1]["user"], "alice")

    # -- discovery --

    def test_discovery(self):
        body = self.ok(self.req("GET", "/api"))
        self.assertEqual(body["kind"], "APIVersions")
        self.assertEqual(body["versions"], ["v1"])
        core = self.ok(self.req("GET", "/api/v1"))
        self.assertEqual((core["kind"], core["groupVersion"]), ("APIResourceList", "v1"))
        res = {r["name"]: r for r in core["resources"]}
        self.assertEqual(res["configmaps"]["shortNames"], ["cm"])
        self.assertTrue(res["configmaps"]["namespaced"])
        self.assertFalse(res["namespaces"]["namespaced"])
        self.assertEqual(res["services"]["singularName"], "service")
        self.assertIn("watch", res["secrets"]["verbs"])
        self.assertNotIn("deletecollection", res["namespaces"]["verbs"])
        self.assertIn("persistentvolumeclaims/status", res)
        groups = self.ok(self.req("GET", "/apis"))
        self.assertEqual(groups["kind"], "APIGroupList")
        by_name = {g["name"]: g for g in groups["groups"]}
        for g, v in (("apps", "v1"), ("batch", "v1"), ("autoscaling", "v2"),
                     ("rbac.authorization.k8s.io", "v1"), ("networking.k8s.io", "v1"),
                     ("storage.k8s.io", "v1"), ("policy", "v1"),
                     ("apiextensions.k8s.io", "v1"), ("coordination.k8s.io", "v1")):
            self.assertEqual(by_name[g]["preferredVersion"]["version"], v, g)
        apps = self.ok(self.req("GET", "/apis/apps/v1"))
        res = {r["name"]: r for r in apps["resources"]}
        self.assertEqual(res["deployments"]["kind"], "Deployment")
        self.assertEqual(res["deployments"]["shortNames"], ["deploy"])
        self.assertEqual(res["deployments"]["categories"], ["all"])
        self.assertEqual(res["deployments/scale"]["group"], "autoscaling")
        self.assertEqual(self.ok(self.req("GET", "/apis/apps"))["kind"], "APIGroup")
        self.assertStatus(self.req("GET", "/apis/example.com/v1"), 404, "NotFound",
                          "the server could not find the requested resource")
        self.assertStatus(self.req("GET", "/apis/example.com/v1/namespaces/default/widgets"),
                          404, "NotFound", "the server could not find the requested resource")
        self.assertStatus(self.req("GET", "/apis/apps/v1/namespaces//deployments"), 404)
        self.assertStatus(self.req("GET", "/api/v1/namespaces/default/configmaps/a/b"), 404)
        # a wrong JSON type is the decoder's 400, not a crash
        self.assertStatus(self.req("POST", "/apis/apps/v1/namespaces/default/deployments",
                                   {"metadata": {"name": "x"}, "spec": []}), 400, "BadRequest",
                          "cannot unmarshal array")

    # -- storage semantics --

    def test_create_get_update_conflict(self):
        created = self.ok(self.create(cm("a")), 201)
        meta = created["metadata"]
        self.assertEqual(created["kind"], "ConfigMap")
        self.assertRegex(meta["uid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(meta["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(meta["resourceVersion"].isdigit())
        self.assertNotIn("generation", meta)
        self.assertEqual(meta["managedFields"][0]["operation"], "Update")
        self.assertEqual(meta["managedFields"][0]["fieldsV1"], {"f:data": {"f:k": {}}})
        self.assertStatus(self.create(cm("a")), 409, "AlreadyExists",
                          'configmaps "a" already exists')
        path = "/api/v1/namespaces/default/configmaps/a"
        got = self.ok(self.req("GET", path), 200)
        self.assertEqual(got, created)
        got["data"] = {"k": "v2"}
        updated = self.ok(self.req("PUT", path, got), 200)
        self.assertGreater(int(updated["metadata"]["resourceVersion"]),
                           int(meta["resourceVersion"]))
        self.assertEqual(updated["metadata"]["uid"], meta["uid"])
        stale = dict(got)  # still the old resourceVersion
        body = self.assertStatus(self.req("PUT", path, stale), 409, "Conflict",
                                 'Operation cannot be fulfilled on configmaps "a": the object '
                                 'has been modified; please apply your changes to the latest '
                                 'version and try again')
        self.assertEqual(body["details"], {"name": "a", "kind": "configmaps"})
        # an update that changes nothing keeps the resourceVersion
        same = self.ok(self.req("PUT", path, updated), 200)
        self.assertEqual(same["metadata"]["resourceVersion"],
                         updated["metadata"]["resourceVersion"])
        # without a resourceVersion a built-in update is unconditional
        del updated["metadata"]["resourceVersion"]
        updated["data"] = {"k": "v3"}
        self.ok(self.req("PUT", path, updated), 200)
        self.assertStatus(self.req("PUT", "/api/v1/namespaces/default/configmaps/zz", cm("zz")),
                          404, "NotFound", 'configmaps "zz" not found')
        self.assertStatus(self.req("PUT", path, cm("other")), 400, "BadRequest",
                          "does not match the name on the URL")

    def test_resource_version_is_cluster_wide_and_monotonic(self):
        rvs = []
        for i in range(3):
            rvs.append(int(self.ok(self.create(cm(f"m{i}")))["metadata"]["resourceVersion"]))
        rvs.append(int(self.ok(self.create(deployment("d")))["metadata"]["resourceVersion"]))
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), 4)
        lst = self.ok(self.req("GET", "/api/v1/configmaps"))
        self.assertGreaterEqual(int(lst["metadata"]["resourceVersion"]), rvs[-1])

    def test_generation_and_deployment_defaults(self):
        d = self.ok(self.create(deployment("web")), 201)
        spec = d["spec"]
        self.assertEqual(d["metadata"]["generation"], 1)
        self.assertEqual(spec["replicas"], 1)
        self.assertEqual(spec["strategy"], {"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": "25%", "maxSurge": "25%"}})
        self.assertEqual(spec["revisionHistoryLimit"], 10)
        self.assertEqual(spec["progressDeadlineSeconds"], 600)
        tpl = spec["template"]
        self.assertIsNone(tpl["metadata"]["creationTimestamp"])
        pod = tpl["spec"]
        self.assertEqual((pod["restartPolicy"], pod["dnsPolicy"],
                          pod["terminationGracePeriodSeconds"], pod["schedulerName"]),
                         ("Always", "ClusterFirst", 30, "default-scheduler"))
        c = pod["containers"][0]
        self.assertEqual((c["terminationMessagePath"], c["terminationMessagePolicy"],
                          c["imagePullPolicy"]),
                         ("/dev/termination-log", "File", "IfNotPresent"))
        self.assertEqual(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1")
        self.assertEqual(d["status"]["readyReplicas"], 1)
        path = "/apis/apps/v1/namespaces/default/deployments/web"
        # a label change is metadata: no new generation
        d2 = self.ok(self.req("PATCH", path, {"metadata": {"labels": {"x": "y"}}},
                              content_type="application/merge-patch+json"))
        self.assertEqual(d2["metadata"]["generation"], 1)
        d3 = self.ok(self.req("PATCH", path, {"spec": {"replicas": 3}},
                              content_type="application/merge-patch+json"))
        self.assertEqual(d3["metadata"]["generation"], 2)
        self.assertEqual(d3["status"]["observedGeneration"], 2)
        self.assertEqual(d3["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
                         "1")
        # the status of the main resource is the server's
        d3["status"] = {"replicas": 99}
        d4 = self.ok(self.req("PUT", path, d3))
        self.assertEqual(d4["status"]["replicas"], 3)
        self.assertEqual(self.ok(self.create(deployment("latest", image="nginx")))["spec"][
            "template"]["spec"]["containers"][0]["imagePullPolicy"], "Always")

    def test_scale_subresource(self):
        self.ok(self.create(deployment("web", replicas=2)))
        path = "/apis/apps/v1/namespaces/default/deployments/web/scale"
        sc = self.ok(self.req("GET", path))
        self.assertEqual((sc["kind"], sc["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(sc["spec"]["replicas"], 2)
        self.assertEqual(sc["status"]["selector"], "app=web")
        sc = self.ok(self.req("PATCH", path, {"spec": {"replicas": 0}},
                              content_type="application/merge-patch+json"))
        self.assertEqual(sc["spec"], {})
        d = self.ok(self.req("GET", "/apis/apps/v1/namespaces/default/deployments/web"))
        self.assertEqual(d["spec"]["replicas"], 0)
        self.assertEqual(d["metadata"]["generation"], 2)
        managers = [m["manager"] for m in d["metadata"]["managedFields"]]
        self.assertEqual(len(managers), 2)

    def test_validation_422(self):
        body = self.assertStatus(self.create({"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"namespace": "default"}}),
                                 422, "Invalid",
                                 'ConfigMap "" is invalid: metadata.name: Required value: '
                                 'name or generateName is required')
        self.assertEqual(body["details"]["causes"], [{
            "reason": "FieldValueRequired", "field": "metadata.name",
            "message": "Required value: name or generateName is required"}])
        self.assertEqual(body["details"]["kind"], "ConfigMap")
        body = self.assertStatus(self.create(cm("Bad_Name")), 422, "Invalid",
                                 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC '
                                 '1123 subdomain')
        self.assertEqual(body["details"]["causes"][0]["reason"], "FieldValueInvalid")
        wrong_kind = cm("x")
        wrong_kind["kind"] = "Secret"
        body = self.assertStatus(self.req("POST", "/api/v1/namespaces/default/configmaps",
                                          wrong_kind), 422, "Invalid",
                                 'kind: Invalid value: "Secret": must be ConfigMap')
        self.assertEqual(body["details"]["causes"][0]["field"], "kind")
        wrong_api = cm("x")
        wrong_api["apiVersion"] = "apps/v1"
        self.assertStatus(self.req("POST", "/api/v1/namespaces/default/configmaps", wrong_api),
                          400, "BadRequest", "the API version in the data (apps/v1) does not "
                          "match the expected API version (v1)")
        bad = deployment("d")
        bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
        body = self.assertStatus(self.create(bad), 422, "Invalid",
                                 "`selector` does not match template `labels`")
        self.assertEqual(body["details"]["group"], "apps")
        body = self.assertStatus(self.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}), 422)
        self.assertIn("RFC 1123 label", body["message"])
        labelled = cm("l", labels={"ok": "not ok!"})
        self.assertStatus(self.create(labelled), 422, "Invalid", "a valid label must be")
        withrv = cm("rv")
        withrv["metadata"]["resourceVersion"] = "5"
        self.assertStatus(self.create(withrv), 400, "BadRequest",
                          "resourceVersion should not be set on objects to be created")
        self.assertStatus(self.req("POST", "/api/v1/namespaces/default/configmaps",
                                   raw=b"{not json", content_type="application/json"),
                          400, "BadRequest")
        # nothing of this was stored
        names = [i["metadata"]["name"] for i in self.kube.objects("left", "configmaps")]
        self.assertEqual(sorted(set(names)), ["kube-root-ca.crt"])

    def test_namespace_not_found_and_namespaces(self):
        body = self.assertStatus(self.create(cm("a", ns="nope")), 404, "NotFound",
                                 'namespaces "nope" not found')
        self.assertEqual(body["details"], {"name": "nope", "kind": "namespaces"})
        ns = self.ok(self.create({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": "apps"}}), 201)
        self.assertEqual(ns["metadata"]["labels"], {"kubernetes.io/metadata.name": "apps"})
        self.assertEqual(ns["status"], {"phase": "Active"})
        self.assertEqual(ns["spec"], {"finalizers": ["kubernetes"]})
        names = sorted(i["metadata"]["name"] for i in self.ok(self.req(
            "GET", "/api/v1/namespaces/apps/configmaps"))["items"])
        self.assertEqual(names, ["kube-root-ca.crt"])
        root = self.ok(self.req("GET", "/api/v1/namespaces/apps/configmaps/kube-root-ca.crt"))
        self.assertIn("BEGIN CERTIFICATE", root["data"]["ca.crt"])
        self.ok(self.req("GET", "/api/v1/namespaces/apps/serviceaccounts/default"))
        self.ok(self.create(cm("x", ns="apps")), 201)
        gone = self.ok(self.req("DELETE", "/api/v1/namespaces/apps"))
        self.assertEqual(gone["status"]["phase"], "Terminating")
        self.assertIn("deletionTimestamp", gone["metadata"])
        self.assertStatus(self.req("GET", "/api/v1/namespaces/apps"), 404, "NotFound")
        self.assertEqual(self.kube.objects("left", "configmaps", namespace="apps"), [])
        self.assertStatus(self.req("DELETE", "/api/v1/namespaces/default"), 403, "Forbidden",
                          "this namespace may not be deleted")

    def test_namespace_terminating_refuses_creates(self):
        self.kube.settings(namespace_delete_seconds=30)
        try:
            self.ok(self.create({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": "slow"}}))
            self.ok(self.req("DELETE", "/api/v1/namespaces/slow"))
            ns = self.ok(self.req("GET", "/api/v1/namespaces/slow"))
            self.assertEqual(ns["status"]["phase"], "Terminating")
            body = self.assertStatus(self.create(cm("late", ns="slow")), 403, "Forbidden",
                                     "unable to create new content in namespace slow because "
                                     "it is being terminated")
            self.assertEqual(body["details"]["causes"][0]["reason"], "NamespaceTerminating")
            self.kube.advance(31)
            self.assertStatus(self.req("GET", "/api/v1/namespaces/slow"), 404)
        finally:
            self.kube.settings(namespace_delete_seconds=0)

    def test_service_defaults_and_node_ports(self):
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
        s = self.ok(self.create(svc), 201)["spec"]
        self.assertEqual(s["type"], "ClusterIP")
        self.assertRegex(s["clusterIP"], r"^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$")
        self.assertEqual(s["clusterIPs"], [s["clusterIP"]])
        self.assertEqual(s["ports"], [{"port": 80, "protocol": "TCP", "targetPort": 80}])
        self.assertEqual((s["sessionAffinity"], s["ipFamilies"], s["ipFamilyPolicy"],
                          s["internalTrafficPolicy"]),
                         ("None", ["IPv4"], "SingleStack", "Cluster"))
        # an update without clusterIP keeps it; changing it is refused
        got = self.ok(self.req("GET", "/api/v1/namespaces/default/services/web"))
        del got["spec"]["clusterIP"], got["spec"]["clusterIPs"]
        got["metadata"]["labels"] = {"a": "b"}
        again = self.ok(self.req("PUT", "/api/v1/namespaces/default/services/web", got))
        self.assertEqual(again["spec"]["clusterIP"], s["clusterIP"])
        again["spec"]["clusterIP"] = "10.96.7.7"
        again["spec"]["clusterIPs"] = ["10.96.7.7"]
        self.assertStatus(self.req("PUT", "/api/v1/namespaces/default/services/web", again),
                          422, "Invalid", "may not change once set")
        headless = {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "db", "namespace": "default"},
                    "spec": {"clusterIP": "None", "selector": {"app": "db"},
                             "ports": [{"port": 5432}]}}
        h = self.ok(self.create(headless))["spec"]
        self.assertEqual((h["clusterIP"], h["clusterIPs"]), ("None", ["None"]))
        np = {"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "np", "namespace": "default"},
              "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
        n = self.ok(self.create(np))["spec"]
        self.assertEqual(n["ports"][0]["nodePort"], 30080)
        self.assertEqual(n["externalTrafficPolicy"], "Cluster")
        np2 = json.loads(json.dumps(np))
        np2["metadata"]["name"] = "np2"
        body = self.assertStatus(self.create(np2), 422, "Invalid",
                                 "spec.ports[0].nodePort: Invalid value: 30080: provided port "
                                 "is already allocated")
        self.assertEqual(body["details"]["causes"][0]["field"], "spec.ports[0].nodePort")
        lb = {"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "lb", "namespace": "default"},
              "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}
        port = self.ok(self.create(lb))["spec"]["ports"][0]["nodePort"]
        self.assertTrue(30000 <= port <= 32767)
        # deleting np frees its node port
        self.ok(self.req("DELETE", "/api/v1/namespaces/default/services/np"))
        self.ok(self.create(np2), 201)
        # the dry run does not keep what it allocated
        np3 = json.loads(json.dumps(np))
        np3["metadata"]["name"] = "np3"
        np3["spec"]["ports"][0]["nodePort"] = 30099
        self.ok(self.create(np3, query="dryRun=All"), 201)
        np3["metadata"]["name"] = "np4"
        self.ok(self.create(np3), 201)

    def test_secret_and_pvc_defaults(self):
        sec = {"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "s", "namespace": "default"},
               "stringData": {"password": "hunter2"}}
        s = self.ok(self.create(sec), 201)
        self.assertEqual(s["type"], "Opaque")
        self.assertEqual(s["data"], {"password": base64.b64encode(b"hunter2").decode()})
        self.assertNotIn("stringData", s)
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "data", "namespace": "default"},
               "spec": {"accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}}
        p = self.ok(self.create(pvc), 201)
        self.assertEqual(p["spec"]["storageClassName"], "standard")
        self.assertEqual(p["spec"]["volumeMode"], "Filesystem")
        self.assertEqual(p["status"], {"phase": "Pending"})
        self.assertEqual(p["metadata"]["finalizers"], ["kubernetes.io/pvc-protection"])
        self.ok(self.req("DELETE", "/api/v1/namespaces/default/persistentvolumeclaims/data"))
        self.assertStatus(self.req("GET",
                                   "/api/v1/namespaces/default/persistentvolumeclaims/data"),
                          404)

    def test_patches(self):
        self.ok(self.create(deployment("web")))
        path = "/apis/apps/v1/namespaces/default/deployments/web"
        smp = {"spec": {"template": {"spec": {"containers": [
            {"name": "side", "image": "busybox:1"},
            {"name": "main", "env": [{"name": "A", "value": "1"}]}]}}}}
        d = self.ok(self.req("PATCH", path, smp,
                             content_type="application/strategic-merge-patch+json"))
        cs = {c["name"]: c for c in d["spec"]["template"]["spec"]["containers"]}
        self.assertEqual(sorted(cs), ["main", "side"])
        self.assertEqual(cs["main"]["image"], "nginx:1.25")  # merged by name, not replaced
        self.assertEqual(cs["main"]["env"], [{"name": "A", "value": "1"}])
        delete = {"spec": {"template": {"spec": {"containers": [
            {"name": "side", "$patch": "delete"}]}}}}
        d = self.ok(self.req("PATCH", path, delete,
                             content_type="application/strategic-merge-patch+json"))
        self.assertEqual([c["name"] for c in d["spec"]["template"]["spec"]["containers"]],
                         ["main"])
        # a merge patch replaces lists
        d = self.ok(self.req("PATCH", path, {"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "busybox:2"}]}}}},
            content_type="application/merge-patch+json"))
        self.assertEqual([c["name"] for c in d["spec"]["template"]["spec"]["containers"]],
                         ["only"])
        ops = [{"op": "test", "path": "/spec/replicas", "value": 1},
               {"op": "replace", "path": "/spec/replicas", "value": 4}]
        d = self.ok(self.req("PATCH", path, ops, content_type="application/json-patch+json"))
        self.assertEqual(d["spec"]["replicas"], 4)
        self.assertStatus(self.req("PATCH", path, ops, content_type="application/json-patch+json"),
                          422)
        stale = {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}}
        self.assertStatus(self.req("PATCH", path, stale,
                                   content_type="application/merge-patch+json"), 409, "Conflict")
        self.assertStatus(self.req("PATCH", path, {"a": 1}, content_type="text/plain"),
                          415, "UnsupportedMediaType")
        self.assertStatus(self.req("PATCH", "/apis/apps/v1/namespaces/default/deployments/no",
                                   {"spec": {}}, content_type="application/merge-patch+json"),
                          404, "NotFound", 'deployments.apps "no" not found')

    def test_server_side_apply(self):
        path = "/api/v1/namespaces/default/configmaps/ssa"
        cfg = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
               "data": {"a": "1", "b": "2"}}
        ct = "application/apply-patch+yaml"
        self.assertStatus(self.req("PATCH", path, cfg, content_type=ct), 422, "Invalid",
                          "fieldManager: Required value")
        o = self.ok(self.req("PATCH", path + "?fieldManager=alpha", cfg, content_type=ct), 201)
        self.assertEqual(o["metadata"]["managedFields"][0]["operation"], "Apply")
        # another manager changes a, then alpha re-applies a different a: conflict
        self.ok(self.req("PATCH", path + "?fieldManager=beta", {"data": {"a": "9"}},
                         content_type="application/merge-patch+json"))
        cfg["data"]["a"] = "3"
        body = self.assertStatus(self.req("PATCH", path + "?fieldManager=alpha", cfg,
                                          content_type=ct), 409, "Conflict",
                                 'Apply failed with 1 conflict: conflict with "beta"')
        self.assertEqual(body["details"]["causes"][0]["reason"], "FieldManagerConflict")
        self.assertEqual(body["details"]["causes"][0]["field"], ".data.a")
        o = self.ok(self.req("PATCH", path + "?fieldManager=alpha&force=true", cfg,
                             content_type=ct))
        self.assertEqual(o["data"], {"a": "3", "b": "2"})
        # dropping b from alpha's configuration removes it
        o = self.ok(self.req("PATCH", path + "?fieldManager=alpha",
                             {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "ssa"}, "data": {"a": "3"}},
                             content_type=ct))
        self.assertEqual(o["data"], {"a": "3"})
        yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '3'\n"
        self.ok(self.req("PATCH", path + "?fieldManager=alpha", raw=yaml_body, content_type=ct))

    def test_dry_run(self):
        before = self.ok(self.req("GET", "/api/v1/configmaps"))["metadata"]["resourceVersion"]
        out = self.ok(self.create(cm("dry"), query="dryRun=All"), 201)
        self.assertEqual(out["metadata"]["name"], "dry")
        self.assertIn("uid", out["metadata"])
        self.assertNotIn("resourceVersion", out["metadata"])
        self.assertStatus(self.req("GET", "/api/v1/namespaces/default/configmaps/dry"), 404)
        self.ok(self.create(cm("real")))
        path = "/api/v1/namespaces/default/configmaps/real"
        p = self.ok(self.req("PATCH", path + "?dryRun=All", {"data": {"k": "dry"}},
                             content_type="application/merge-patch+json"))
        self.assertEqual(p["data"], {"k": "dry"})
        self.assertEqual(self.ok(self.req("GET", path))["data"], {"k": "v"})
        self.ok(self.req("DELETE", path + "?dryRun=All"))
        self.ok(self.req("GET", path))
        self.ok(self.req("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                          "dryRun": ["All"]}))
        self.ok(self.req("GET", path))
        d = self.ok(self.create(deployment("web"), query="dryRun=All"))
        self.assertEqual(d["spec"]["replicas"], 1)  # defaults are there
        self.assertStatus(self.create(cm("bad"), query="dryRun=Some"), 422, "Invalid")
        log = self.kube.requests("left")
        dry = [r for r in log if r.get("dryRun")]
        self.assertEqual(len(dry), 5)
        self.assertFalse(any(r["write"] for r in dry))
        after = self.ok(self.req("GET", "/api/v1/configmaps"))["metadata"]["resourceVersion"]
        self.assertEqual(int(after), int(before) + 1)  # only "real" was written

    def test_delete_preconditions_and_finalizers(self):
        o = self.ok(self.create(cm("p")))
        path = "/api/v1/namespaces/default/configmaps/p"
        self.assertStatus(self.req("DELETE", path, {"preconditions": {"uid": "nope"}}), 409,
                          "Conflict", "Precondition failed: UID in precondition: nope")
        self.assertStatus(self.req("DELETE", path, {"preconditions": {"resourceVersion": "1"}}),
                          409, "Conflict", "Precondition failed: ResourceVersion in precondition")
        st = self.ok(self.req("DELETE", path, {"preconditions": {
            "uid": o["metadata"]["uid"], "resourceVersion": o["metadata"]["resourceVersion"]}}))
        self.assertEqual(st["kind"], "Status")
        self.assertEqual(st["status"], "Success")
        self.assertEqual(st["details"]["uid"], o["metadata"]["uid"])
        self.assertStatus(self.req("DELETE", path), 404, "NotFound")
        f = cm("fin")
        f["metadata"]["finalizers"] = ["example.com/keep"]
        self.ok(self.create(f))
        path = "/api/v1/namespaces/default/configmaps/fin"
        status, _, body = self.req("DELETE", path)
        self.assertEqual(status, 202, body)
        self.assertIn("deletionTimestamp", body["metadata"])
        got = self.ok(self.req("GET", path))
        got["metadata"]["finalizers"] = []
        self.ok(self.req("PUT", path, got))
        self.assertStatus(self.req("GET", path), 404)

    def test_list_pagination_and_selectors(self):
        items = [cm(f"c{i:02d}", ns="ns-a" if i % 2 else "ns-b",
                    labels={"tier": "web" if i < 10 else "db", "idx": str(i)})
                 for i in range(25)]
        out = self.kube.load("left", items=items)
        self.assertEqual((out["created"], out["failed"]), (25, 0))
        names, cont, pages = [], None, 0
        while True:
            q = "limit=10" + (f"&continue={urllib.parse.quote(cont)}" if cont else "")
            page = self.ok(self.req("GET", f"/api/v1/configmaps?{q}"))
            self.assertEqual(page["kind"], "ConfigMapList")
            self.assertEqual(page["apiVersion"], "v1")
            pages += 1
            for it in page["items"]:
                self.assertNotIn("kind", it)  # built-in list items, as the real server
                names.append((it["metadata"]["namespace"], it["metadata"]["name"]))
            cont = page["metadata"].get("continue")
            if not cont:
                self.assertNotIn("remainingItemCount", page["metadata"])
                break
            # + the kube-root-ca.crt ConfigMaps of 4 + 2 namespaces
            self.assertEqual(page["metadata"]["remainingItemCount"], 25 + 6 - len(names))
        self.assertEqual(pages, 4)
        self.assertEqual(len(names), 31)
        self.assertEqual(names, sorted(names))
        ns_only = self.ok(self.req("GET", "/api/v1/namespaces/ns-a/configmaps?limit=100"))
        self.assertEqual(len(ns_only["items"]), 13)  # 12 odd + kube-root-ca.crt
        sel = self.ok(self.req("GET", "/api/v1/configmaps?labelSelector=tier%3Dweb,idx+notin+"
                                      "(1,2)&limit=3"))
        self.assertEqual([i["metadata"]["name"] for i in sel["items"]], ["c03", "c05", "c07"])
        self.assertIn("continue", sel["metadata"])
        self.assertNotIn("remainingItemCount", sel["metadata"])
        fs = self.ok(self.req("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dc07"))
        self.assertEqual([i["metadata"]["namespace"] for i in fs["items"]], ["ns-a"])
        fs = self.ok(self.req("GET", "/api/v1/configmaps?fieldSelector="
                                     "metadata.namespace%3Dns-b,metadata.name!%3Dc00"))
        self.assertEqual(len(fs["items"]), 13)  # 13 even-numbered + kube-root-ca.crt - c00
        self.assertStatus(self.req("GET", "/api/v1/configmaps?fieldSelector=spec.foo%3D1"),
                          400, "BadRequest", "field label not supported: spec.foo")
        self.assertStatus(self.req("GET", "/api/v1/configmaps?limit=5&continue=garbage"),
                          400, "BadRequest", "continue key is not valid")
        first = self.ok(self.req("GET", "/api/v1/configmaps?limit=5"))
        self.ok(self.create(cm("later")))
        self.kube.compact("left")  # the first page's resourceVersion is now compacted
        self.assertStatus(self.req("GET", "/api/v1/configmaps?limit=5&continue=" +
                                   first["metadata"]["continue"]), 410, "Expired",
                          "The provided continue parameter is too old")

    def test_watch(self):
        rv = self.ok(self.req("GET", "/api/v1/namespaces/default/configmaps"))["metadata"][
            "resourceVersion"]
        w = Watch(self.kube, "left", f"/api/v1/namespaces/default/configmaps?watch=1&"
                                     f"resourceVersion={rv}&labelSelector=app%3Dx&"
                                     f"timeoutSeconds=10")
        try:
            self.assertEqual(w.status, 200)
            self.ok(self.create(cm("w", labels={"app": "x"})))
            self.ok(self.create(cm("other", labels={"app": "y"})))
            path = "/api/v1/namespaces/default/configmaps/w"
            self.ok(self.req("PATCH", path, {"data": {"k": "2"}},
                             content_type="application/merge-patch+json"))
            self.ok(self.req("PATCH", path, {"metadata": {"labels": {"app": "z"}}},
                             content_type="application/merge-patch+json"))
            self.ok(self.req("PATCH", path, {"metadata": {"labels": {"app": "x"}}},
                             content_type="application/merge-patch+json"))
            self.ok(self.req("DELETE", path))
            events = w.wait_for(5)
        finally:
            w.close()
        self.assertEqual([e["type"] for e in events],
                         ["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"])
        self.assertEqual(events[0]["object"]["kind"], "ConfigMap")
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertEqual(rvs, sorted(rvs))
        # from "0": the current objects first; timeoutSeconds ends the stream
        w = Watch(self.kube, "left", "/api/v1/namespaces/default/configmaps?watch=true&"
                                     "timeoutSeconds=1")
        self.assertTrue(w.done.wait(5))
        self.assertEqual(sorted(e["object"]["metadata"]["name"] for e in w.events),
                         ["kube-root-ca.crt", "other"])
        self.assertEqual({e["type"] for e in w.events}, {"ADDED"})
        # one object by name (what kubectl delete --wait does)
        w = Watch(self.kube, "left", "/api/v1/namespaces/default/configmaps?watch=1&"
                                     "fieldSelector=metadata.name%3Dother&timeoutSeconds=1")
        self.assertTrue(w.done.wait(5))
        self.assertEqual([e["object"]["metadata"]["name"] for e in w.events], ["other"])

    def test_watch_too_old_and_bookmarks(self):
        self.ok(self.create(cm("a")))
        self.kube.compact("left")
        w = Watch(self.kube, "left", "/api/v1/configmaps?watch=1&resourceVersion=3")
        self.assertTrue(w.done.wait(5))
        self.assertEqual(w.status, 200)
        self.assertEqual(len(w.events), 1)
        ev = w.events[0]
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["kind"], ev["object"]["code"], ev["object"]["reason"]),
                         ("Status", 410, "Expired"))
        self.assertIn("too old resource version: 3", ev["object"]["message"])
        self.kube.settings(bookmark_seconds=0.2)
        try:
            w = Watch(self.kube, "left", "/api/v1/namespaces/default/configmaps?watch=1&"
                                         "allowWatchBookmarks=true&sendInitialEvents=true&"
                                         "resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
            self.assertTrue(w.done.wait(5))
        finally:
            self.kube.settings(bookmark_seconds=5)
        types = [e["type"] for e in w.events]
        self.assertEqual(types[:3], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertEqual(w.events[2]["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})
        self.assertIn("BOOKMARK", types[3:])

    def test_tables(self):
        self.ok(self.create(cm("t", data={"a": "1", "b": "2"})))
        status, _, body = self.req("GET", "/api/v1/namespaces/default/configmaps", headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual(status, 200)
        self.assertEqual((body["kind"], body["apiVersion"]), ("Table", "meta.k8s.io/v1"))
        self.assertEqual([c["name"] for c in body["columnDefinitions"]], ["Name", "Data", "Age"])
        rows = {r["cells"][0]: r for r in body["rows"]}
        self.assertEqual(rows["t"]["cells"][1], 2)
        self.assertEqual(rows["t"]["object"]["kind"], "PartialObjectMetadata")
        self.assertStatus(self.req("GET", "/api/v1/namespaces", headers={
            "Accept": "application/vnd.kubernetes.protobuf"}), 406, "NotAcceptable")

    def test_crd_lifecycle(self):
        self.kube.settings(crd_establish_seconds=60)
        try:
            wpath = "/apis/example.com/v1/namespaces/default/widgets"
            self.assertStatus(self.req("POST", wpath, widget("w1", color="red")), 404,
                              "NotFound", "the server could not find the requested resource")
            crd = self.ok(self.create(CRD), 201)
            self.assertEqual(crd["status"]["conditions"], [])
            self.assertEqual(crd["status"]["storedVersions"], ["v1"])
            # not served before it is established
            self.assertStatus(self.req("GET", wpath), 404, "NotFound")
            self.kube.advance(61)
        finally:
            self.kube.settings(crd_establish_seconds=0.2)
        crd = self.ok(self.req("GET", "/apis/apiextensions.k8s.io/v1/"
                                      "customresourcedefinitions/widgets.example.com"))
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        self.assertEqual(conds, {"NamesAccepted": "True", "Established": "True"})
        groups = {g["name"]: g for g in self.ok(self.req("GET", "/apis"))["groups"]}
        self.assertEqual(groups["example.com"]["preferredVersion"]["groupVersion"],
                         "example.com/v1")
        res = self.ok(self.req("GET", "/apis/example.com/v1"))["resources"]
        self.assertEqual({r["name"] for r in res}, {"widgets", "widgets/status"})
        self.assertEqual(res[0]["shortNames"], ["wd"])
        w = self.ok(self.create(widget("w1", color="red", junk=1)), 201)
        self.assertEqual(w["spec"], {"color": "red", "size": 1})  # pruned and defaulted
        self.assertEqual(w["metadata"]["generation"], 1)
        self.assertStatus(self.create(widget("w2", color="red", junk=1),
                                      query="fieldValidation=Strict"),
                          400, "BadRequest", 'strict decoding error: unknown field "spec.junk"')
        self.assertStatus(self.create(widget("w3", color="pink")), 422, "Invalid",
                          'spec.color: Unsupported value: "pink"')
        lst = self.ok(self.req("GET", wpath))
        self.assertEqual(lst["kind"], "WidgetList")
        self.assertEqual(lst["items"][0]["kind"], "Widget")  # CR list items keep their kind
        self.assertStatus(self.req("PATCH", wpath + "/w1", {"spec": {"size": 2}},
                                   content_type="application/strategic-merge-patch+json"),
                          415, "UnsupportedMediaType")
        w["spec"]["size"] = 3
        del w["metadata"]["resourceVersion"]
        self.assertStatus(self.req("PUT", wpath + "/w1", w), 422, "Invalid",
                          "must be specified for an update")
        # deleting the CRD deletes its objects and stops serving them
        self.ok(self.req("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                   "widgets.example.com"))
        self.assertStatus(self.req("GET", wpath), 404, "NotFound",
                          "the server could not find the requested resource")
        self.assertEqual(self.kube.objects("left", "widgets", group="example.com"), [])
        self.assertNotIn("example.com", [g["name"] for g in self.ok(self.req("GET", "/apis"))[
            "groups"]])
        bad = json.loads(json.dumps(CRD))
        bad["metadata"]["name"] = "wrong.example.com"
        self.assertStatus(self.create(bad), 422, "Invalid",
                          'must be spec.names.plural+"."+spec.group')

    def test_crd_versions_and_cluster_scope(self):
        crd = json.loads(json.dumps(CRD))
        crd["metadata"]["name"] = "gadgets.example.org"
        spec = crd["spec"]
        spec.update({"group": "example.org", "scope": "Cluster",
                     "names": {"plural": "gadgets", "kind": "Gadget"}})
        v1 = spec["versions"][0]
        v1beta1 = json.loads(json.dumps(v1))
        v1beta1.update({"name": "v1beta1", "storage": False})
        v2alpha1 = json.loads(json.dumps(v1))
        v2alpha1.update({"name": "v2alpha1", "storage": False, "served": False})
        spec["versions"] = [v1beta1, v1, v2alpha1]
        self.ok(self.create(crd), 201)
        time.sleep(0.4)  # crd_establish_seconds=0.2 of real time
        group = self.ok(self.req("GET", "/apis/example.org"))
        self.assertEqual([v["version"] for v in group["versions"]], ["v1", "v1beta1"])
        self.assertEqual(group["preferredVersion"]["version"], "v1")
        res = self.ok(self.req("GET", "/apis/example.org/v1beta1"))["resources"][0]
        self.assertEqual((res["name"], res["singularName"], res["namespaced"], res["kind"]),
                         ("gadgets", "gadget", False, "Gadget"))
        g = {"apiVersion": "example.org/v1beta1", "kind": "Gadget",
             "metadata": {"name": "g1"}, "spec": {"color": "green"}}
        out = self.ok(self.req("POST", "/apis/example.org/v1beta1/gadgets", g), 201)
        self.assertEqual(out["apiVersion"], "example.org/v1beta1")
        v1obj = self.ok(self.req("GET", "/apis/example.org/v1/gadgets/g1"))
        self.assertEqual(v1obj["apiVersion"], "example.org/v1")
        self.assertEqual(v1obj["spec"], {"color": "green", "size": 1})
        stored = self.kube.objects("left", "gadgets", group="example.org")
        self.assertEqual(stored[0]["apiVersion"], "example.org/v1")  # the storage version
        self.assertStatus(self.req("GET", "/apis/example.org/v2alpha1/gadgets"), 404)
        self.assertStatus(self.req("GET", "/apis/example.org/v1/namespaces/default/gadgets"),
                          404)

    def test_deletecollection(self):
        self.kube.load("left", items=[cm(f"d{i}", labels={"batch": "x" if i < 3 else "y"})
                                      for i in range(5)])
        out = self.ok(self.req("DELETE", "/api/v1/namespaces/default/configmaps?"
                                         "labelSelector=batch%3Dx"))
        self.assertEqual(out["kind"], "ConfigMapList")
        self.assertEqual(sorted(i["metadata"]["name"] for i in out["items"]),
                         ["d0", "d1", "d2"])
        left = sorted(o["metadata"]["name"] for o in self.kube.objects(
            "left", "configmaps", namespace="default"))
        self.assertEqual(left, ["d3", "d4", "kube-root-ca.crt"])
        self.assertStatus(self.req("DELETE", "/api/v1/namespaces"), 405, "MethodNotAllowed")

    def test_reset_keeps_resource_versions_growing(self):
        rv1 = int(self.ok(self.create(cm("a")))["metadata"]["resourceVersion"])
        w = Watch(self.kube, "left", f"/api/v1/configmaps?watch=1&resourceVersion={rv1}")
        try:
            self.kube.reset("left")
            self.assertTrue(w.done.wait(5), "a reset ends open watches")
        finally:
            w.close()
        rv2 = int(self.ok(self.create(cm("a")))["metadata"]["resourceVersion"])
        self.assertGreater(rv2, rv1)
        w = Watch(self.kube, "left", f"/api/v1/configmaps?watch=1&resourceVersion={rv1}")
        self.assertTrue(w.done.wait(5))
        self.assertEqual(w.events[0]["object"]["code"], 410)

    def test_forbidden_rules(self):
        self.kube.deny("left", verb="list", resource="secrets")
        body = self.assertStatus(self.req("GET", "/api/v1/namespaces/default/secrets"), 403,
                                 "Forbidden",
                                 'secrets is forbidden: User "kubernetes-admin" cannot list '
                                 'resource "secrets" in API group "" in the namespace "default"')
        self.assertEqual(body["details"], {"kind": "secrets"})
        self.assertStatus(self.req("GET", "/api/v1/secrets"), 403, "Forbidden",
                          "at the cluster scope")
        self.ok(self.req("GET", "/api/v1/namespaces/default/configmaps"))
        self.ok(self.req("GET", "/api/v1/namespaces/default/secrets", cluster="right"))
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"verb": "list", "resource": "secrets",
                                                  "namespace": "default"}}}
        out = self.ok(self.req("POST", "/apis/authorization.k8s.io/v1/"
                                       "selfsubjectaccessreviews", review), 201)
        self.assertFalse(out["status"]["allowed"])
        review["spec"]["resourceAttributes"]["verb"] = "get"
        self.assertTrue(self.ok(self.req("POST", "/apis/authorization.k8s.io/v1/"
                                                 "selfsubjectaccessreviews", review))["status"][
            "allowed"])
        self.kube.add_token("left", "reader", user="reader")
        self.kube.deny("left", verb="create", token="reader")
        self.assertStatus(self.create(cm("x"), token="reader"), 403, "Forbidden",
                          'User "reader" cannot create resource "configmaps"')
        self.ok(self.create(cm("x")))

    def test_faults(self):
        self.kube.fault(cluster="left", operation="list", resource="configmaps", status=500,
                        count=2)
        path = "/api/v1/namespaces/default/configmaps"
        self.assertStatus(self.req("GET", path), 500, "InternalError")
        self.ok(self.req("GET", path, cluster="right"))
        self.ok(self.req("GET", "/api/v1/namespaces/default/secrets"))
        self.assertStatus(self.req("GET", path), 500, "InternalError")
        self.ok(self.req("GET", path))
        self.kube.fault(operation="*", path="/api/v1/namespaces/default/configmaps",
                        status=429, retry_after=3)
        status, headers, body = self.req("GET", path)
        self.assertEqual(status, 429)
        self.assertEqual(headers.get("retry-after"), "3")
        self.assertEqual((body["reason"], body["details"]["retryAfterSeconds"]),
                         ("TooManyRequests", 3))
        self.kube.fault(cluster="left", operation="create", drop=True)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.create(cm("dropped"))
        self.assertStatus(self.req("GET", path + "/dropped"), 404)
        self.kube.fault(cluster="left", operation="get", malformed=True)
        status, _, body = self.req("GET", path + "/kube-root-ca.crt")
        self.assertEqual(status, 200)
        self.assertIsInstance(body, bytes)  # not JSON
        self.assertEqual(self.kube.admin("GET", "/admin/faults")[1]["faults"], [])

    def test_request_log_console_and_counters(self):
        self.kube.clear_requests("right")
        status, body = self.kube.console("right", "POST", "/api/v1/namespaces/default/configmaps",
                                         cm("from-console"))
        self.assertEqual(status, 201, body)
        self.assertEqual(self.kube.requests("right"), [])  # the console is not logged
        status, body = self.kube.console("right", "GET", "/api/v1/namespaces/nope/configmaps/x")
        self.assertEqual(status, 404)
        self.req("GET", "/api/v1/namespaces/default/configmaps", cluster="right")
        self.req("GET", "/api/v1/namespaces/default/configmaps/from-console", cluster="right")
        self.assertEqual(self.kube.writes("right"), [])
        self.create(cm("from-client"), cluster="right", query="fieldManager=hcr")
        self.create(cm("from-client"), cluster="right")  # 409: still a write attempt
        writes = self.kube.writes("right")
        self.assertEqual([(w["verb"], w["status"], w["name"] or "") for w in writes],
                         [("create", 201, ""), ("create", 409, "")])
        self.assertEqual(writes[0]["fieldManager"], "hcr")
        self.assertEqual(writes[0]["resource"], "configmaps")
        self.assertEqual(writes[0]["namespace"], "default")
        c = self.kube.counters("right")
        self.assertEqual((c["total"], c["writes"], c["byVerb"]["list"]), (4, 2, 1))

    def test_bulk_load_20000_and_paginate(self):
        t0 = time.time()
        out = self.kube.load("right", generate={"count": 20000, "namespaces": 10,
                                                "prefix": "cm", "dataBytes": 100})
        self.assertEqual((out["created"], out["failed"]), (20000, 0))
        seen, cont, conn = 0, None, self.kube._conn(self.kube.port("right"), False)
        h = {"Authorization": f"Bearer {self.kube.token('right')}"}
        try:
            while True:
                conn.request("GET", "/api/v1/configmaps?limit=500" +
                             (f"&continue={cont}" if cont else ""), headers=h)
                page = json.loads(conn.getresponse().read())
                seen += len(page["items"])
                cont = page["metadata"].get("continue")
                if not cont:
                    break
        finally:
            conn.close()
        self.assertEqual(seen, 20000 + 14)  # + kube-root-ca.crt in 14 namespaces
        self.assertLess(time.time() - t0, 30)

    def test_parent_death_stops_the_emulator(self):
        script = ("import subprocess,sys; p=subprocess.Popen([sys.executable, %r, '--port', '0',"
                  " '--clusters', 'solo'], stdout=subprocess.PIPE, text=True);"
                  " print(p.stdout.readline().strip(), p.pid, flush=True)"
                  % os.path.join(ROOT, "tests", "emulators", "kubeemu.py"))
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=30).stdout.split()
        pid = int(out[-1])
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
                time.sleep(0.1)
            else:
                self.fail("kubeemu outlived its parent")
        finally:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


@unittest.skipUnless(KUBECTL, NEEDS_KUBECTL)
class KubectlTest(unittest.TestCase):
    """The real kubectl against the emulator (over HTTPS: kubectl sends no token to an
    http:// server), with a generated kubeconfig and token auth."""

    @classmethod
    def setUpClass(cls):
        cls.kube = KubeEmulator(clusters=["left", "right"], tls=True,
                                crd_establish_seconds=0.2)
        cls.home = tempfile.mkdtemp(prefix="hcr-it-kubectl-")
        cls.kubeconfig = cls.kube.write_kubeconfig(os.path.join(cls.home, "kubeconfig"))

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.home, ignore_errors=True)

    def setUp(self):
        self.kube.reset()
        # a fresh discovery cache for every test (kubectl keeps one under $HOME/.kube)
        shutil.rmtree(os.path.join(self.home, ".kube"), ignore_errors=True)

    def kubectl(self, *args, stdin=None, context="left", kubeconfig=None, timeout=30):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
               "KUBECONFIG": kubeconfig or self.kubeconfig}
        cmd = [KUBECTL, "--context", context, *args]
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env,
                           timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args, **kw):
        code, out, err = self.kubectl(*args, **kw)
        self.assertEqual(code, 0, f"kubectl {' '.join(args)}: {err}")
        return out

    def manifest(self, name, text):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    APP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: default
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""

    def test_apply_create_then_patch(self):
        path = self.manifest("app.yaml", self.APP)
        out = self.ok("apply", "-f", path)
        self.assertIn("configmap/app-config created", out)
        self.assertIn("deployment.apps/web created", out)
        creates = [r for r in self.kube.writes("left") if r["verb"] == "create"]
        self.assertEqual([r["resource"] for r in creates], ["configmaps", "deployments"])
        self.assertEqual({r["fieldManager"] for r in creates}, {"kubectl-client-side-apply"})
        self.kube.clear_requests("left")
        out = self.ok("apply", "-f", path)  # unchanged: nothing written
        self.assertIn("configmap/app-config unchanged", out)
        self.assertEqual(self.kube.writes("left"), [])
        self.manifest("app.yaml", self.APP.replace("hello", "bonjour").replace(
            "nginx:1.25", "nginx:1.26"))
        out = self.ok("apply", "-f", path)
        self.assertIn("configmap/app-config configured", out)
        self.assertIn("deployment.apps/web configured", out)
        patches = [r for r in self.kube.writes("left") if r["verb"] == "patch"]
        self.assertEqual(len(patches), 2)
        self.assertEqual({r["contentType"] for r in patches},
                         {"application/strategic-merge-patch+json"})
        d = json.loads(self.ok("get", "deployment", "web", "-o", "json"))
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26")
        self.assertEqual(d["metadata"]["generation"], 2)
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["ports"],
                         [{"containerPort": 80, "protocol": "TCP"}])
        c = json.loads(self.ok("get", "configmap", "app-config", "-o", "json"))
        self.assertEqual(c["data"], {"greeting": "bonjour"})
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                      c["metadata"]["annotations"])

    def test_get_json_single_list_all_namespaces_and_table(self):
        self.kube.load("left", items=[cm("one", ns="apps"), cm("two", ns="apps"),
                                      cm("three", ns="default")])
        single = json.loads(self.ok("get", "configmap", "one", "-n", "apps", "-o", "json"))
        self.assertEqual((single["kind"], single["metadata"]["name"]), ("ConfigMap", "one"))
        lst = json.loads(self.ok("get", "configmaps", "-n", "apps", "-o", "json"))
        self.assertEqual(lst["kind"], "List")
        self.assertEqual(sorted(i["metadata"]["name"] for i in lst["items"]),
                         ["kube-root-ca.crt", "one", "two"])
        self.assertEqual({i["kind"] for i in lst["items"]}, {"ConfigMap"})
        every = json.loads(self.ok("get", "configmaps", "-A", "-o", "json"))
        pairs = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in every["items"]}
        self.assertIn(("apps", "two"), pairs)
        self.assertIn(("kube-system", "kube-root-ca.crt"), pairs)
        self.assertEqual(len(pairs), 3 + 5)
        # paginated by kubectl itself
        paged = json.loads(self.ok("get", "configmaps", "-A", "-o", "json", "--chunk-size=2"))
        self.assertEqual(len(paged["items"]), 8)
        lists = [r for r in self.kube.requests("left") if r.get("verb") == "list"
                 and "limit=2" in r["query"]]
        self.assertEqual(len(lists), 4)
        table = self.ok("get", "configmaps", "-n", "apps")
        self.assertRegex(table.splitlines()[0], r"^NAME\s+DATA\s+AGE$")
        self.assertRegex(table, r"(?m)^one\s+1\s+\d+s$")
        last = [r for r in self.kube.requests("left") if r.get("verb") == "list"][-1]
        self.assertIn("as=Table", last["accept"])  # kubectl got the Table it asked for
        ns = self.ok("get", "namespaces")
        self.assertRegex(ns, r"(?m)^apps\s+Active\s+")
        name_only = self.ok("get", "cm", "-n", "apps", "-o", "name")
        self.assertEqual(name_only.split(), ["configmap/kube-root-ca.crt", "configmap/one",
                                             "configmap/two"])

    def test_delete(self):
        self.kube.load("left", items=[cm("gone")])
        out = self.ok("delete", "configmap", "gone")
        self.assertIn('configmap "gone" deleted', out)
        self.assertEqual(self.kube.request("left", "GET",
                                           "/api/v1/namespaces/default/configmaps/gone")[0],
                         404)
        code, _, err = self.kubectl("delete", "configmap", "gone")
        self.assertEqual(code, 1)
        self.assertIn('Error from server (NotFound): configmaps "gone" not found', err)
        self.kube.load("left", items=[cm("x", ns="temp")])
        out = self.ok("delete", "namespace", "temp")
        self.assertIn('namespace "temp" deleted', out)
        self.assertEqual(self.kube.objects("left", "configmaps", namespace="temp"), [])

    def test_diff(self):
        path = self.manifest("app.yaml", self.APP)
        code, out, err = self.kubectl("diff", "-f", path)
        self.assertEqual(code, 1, err)  # absent: everything is new
        self.assertIn("+  name: app-config", out)
        self.ok("apply", "-f", path)
        self.kube.clear_requests("left")
        code, out, err = self.kubectl("diff", "-f", path)
        self.assertEqual((code, out), (0, ""), err)
        self.manifest("app.yaml", self.APP.replace("hello", "hi"))
        code, out, err = self.kubectl("diff", "-f", path)
        self.assertEqual(code, 1, err)
        self.assertIn("-  greeting: hello", out)
        self.assertIn("+  greeting: hi", out)
        self.assertNotIn("image", out)  # server defaults do not show as differences
        self.assertEqual(self.kube.writes("left"), [])  # diff only dry-runs
        self.assertTrue(any(r.get("dryRun") for r in self.kube.requests("left")))

    def test_crd_api_resources_and_custom_resources(self):
        crd = self.manifest("crd.json", json.dumps(CRD))
        wid = self.manifest("w.json", json.dumps(widget("w1", color="red")))
        code, _, err = self.kubectl("get", "widgets")
        self.assertNotEqual(code, 0)
        self.assertIn('the server doesn\'t have a resource type "widgets"', err)
        code, _, err = self.kubectl("apply", "-f", wid)
        self.assertNotEqual(code, 0)
        out = self.ok("api-resources")
        self.assertNotIn("Widget", out)
        self.ok("apply", "-f", crd)
        self.ok("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=10s")
        out = self.ok("api-resources", "--api-group=example.com")
        self.assertRegex(out, r"(?m)^widgets\s+wd\s+example.com/v1\s+true\s+Widget$")
        self.assertIn("created", self.ok("apply", "-f", wid))
        got = json.loads(self.ok("get", "wd", "w1", "-o", "json"))
        self.assertEqual(got["spec"], {"color": "red", "size": 1})
        table = self.ok("get", "widgets")
        self.assertRegex(table, r"(?m)^NAME\s+SIZE$")
        self.assertRegex(table, r"(?m)^w1\s+1$")
        self.manifest("w.json", json.dumps(widget("w1", color="blue")))
        code, out, _ = self.kubectl("diff", "-f", wid)
        self.assertEqual(code, 1)
        self.assertIn("+  color: blue", out)
        self.ok("apply", "-f", wid)
        patch = [r for r in self.kube.writes("left") if r["verb"] == "patch"][-1]
        self.assertEqual(patch["contentType"], "application/merge-patch+json")
        code, _, err = self.kubectl("apply", "-f", self.manifest("bad.json", json.dumps(
            widget("w2", color="red", junk=True))))
        self.assertNotEqual(code, 0)
        self.assertIn('unknown field "spec.junk"', err)
        self.ok("delete", "crd", "widgets.example.com")
        code, _, err = self.kubectl("get", "widgets")
        self.assertNotEqual(code, 0)

    def test_server_side_apply_and_conflicts(self):
        path = self.manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                        "  name: ssa\n  namespace: default\ndata:\n  a: '1'\n")
        self.assertIn("serverside-applied", self.ok("apply", "--server-side", "-f", path))
        self.ok("patch", "configmap", "ssa", "--type=merge", "-p", '{"data":{"a":"2"}}')
        self.manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                 "  name: ssa\n  namespace: default\ndata:\n  a: '3'\n")
        code, _, err = self.kubectl("apply", "--server-side", "-f", path)
        self.assertNotEqual(code, 0)
        self.assertIn("conflict", err.lower())
        self.assertIn("kubectl-patch", err)
        self.ok("apply", "--server-side", "--force-conflicts", "-f", path)
        got = json.loads(self.ok("get", "cm", "ssa", "-o", "json"))
        self.assertEqual(got["data"], {"a": "3"})

    def test_errors_namespace_forbidden_auth(self):
        code, _, err = self.kubectl("create", "configmap", "x", "-n", "nope",
                                    "--from-literal=a=b")  # a protobuf body
        self.assertNotEqual(code, 0)
        self.assertIn('namespaces "nope" not found', err)
        code, _, err = self.kubectl("apply", "-f", self.manifest("nope.json", json.dumps(
            cm("x", ns="nope"))))  # JSON
        self.assertNotEqual(code, 0)
        self.assertIn('namespaces "nope" not found', err)
        self.kube.deny("left", verb="list", resource="secrets")
        code, _, err = self.kubectl("get", "secrets")
        self.assertNotEqual(code, 0)
        self.assertIn('Error from server (Forbidden): secrets is forbidden: User '
                      '"kubernetes-admin" cannot list resource "secrets" in API group "" in '
                      'the namespace "default"', err)
        self.assertEqual(self.kubectl("auth", "can-i", "list", "secrets")[1].strip(), "no")
        self.assertEqual(self.kubectl("auth", "can-i", "get", "secrets")[1].strip(), "yes")
        self.ok("get", "secrets", context="right")
        bad = self.kube.kubeconfig()
        bad["users"][0]["user"]["token"] = "wrong"
        path = os.path.join(self.home, "bad-kubeconfig")
        with open(path, "w") as f:
            json.dump(bad, f)
        code, _, err = self.kubectl("get", "ns", kubeconfig=path)
        self.assertNotEqual(code, 0)
        self.assertIn("You must be logged in to the server", err)
        self.assertIn((401, None), {(r["status"], r["user"]) for r in self.kube.requests("left")})

    def test_client_certificate_and_contexts(self):
        path = self.kube.write_kubeconfig(os.path.join(self.home, "cert-kubeconfig"),
                                          client_cert=True, contexts={"dr": "right"},
                                          current="dr")
        self.ok("create", "configmap", "by-cert", "--from-literal=a=b", context="dr",
                kubeconfig=path)
        users = {r["user"] for r in self.kube.requests("right") if r.get("write")}
        self.assertEqual(users, {"kubeemu-admin"})
        self.assertEqual([o["metadata"]["name"] for o in self.kube.objects(
            "right", "configmaps", namespace="default") if o["metadata"]["name"] == "by-cert"],
            ["by-cert"])

    def test_everyday_commands(self):
        self.ok("apply", "-f", self.manifest("app.yaml", self.APP))
        self.ok("rollout", "status", "deployment/web", "--timeout=10s")
        self.assertIn("scaled", self.ok("scale", "deployment", "web", "--replicas=3"))
        self.assertRegex(self.ok("get", "deployment", "web"), r"(?m)^web\s+3/3\s+3\s+3\s")
        scale = [r for r in self.kube.writes("left") if r.get("subresource") == "scale"]
        self.assertEqual(len(scale), 1)
        self.ok("label", "configmap", "app-config", "team=a")
        self.ok("annotate", "configmap", "app-config", "note=x")
        out = self.ok("get", "configmap", "app-config", "-o", "yaml")
        self.assertIn("team: a", out)
        self.assertIn("note: x", out)
        self.assertNotIn("managedFields", out)  # kubectl hides them, as from a real server
        described = self.ok("describe", "configmap", "app-config")
        self.assertRegex(described, r"(?m)^Labels:\s+app=web")
        self.assertIn("greeting", described)
        self.assertIn("service/kubernetes", self.ok("get", "all"))
        out = self.ok("create", "secret", "generic", "pw", "--from-literal=password=hunter2")
        self.assertIn("secret/pw created", out)
        data = self.ok("get", "secret", "pw", "-o", "jsonpath={.data.password}")
        self.assertEqual(base64.b64decode(data), b"hunter2")
        self.assertIn("namespace/apps created", self.ok("create", "namespace", "apps"))
        self.ok("create", "serviceaccount", "bot", "-n", "apps")
        code, _, err = self.kubectl("create", "deployment", "d", "--image=nginx")
        self.assertNotEqual(code, 0)  # a protobuf Deployment body: refused, clearly
        self.assertIn("send application/json", err)

    def test_https_from_python(self):
        status, _, body = self.kube.request("left", "GET", "/api/v1/namespaces")
        self.assertEqual(status, 200, body)
        ctx = ssl.create_default_context(cafile=self.kube.ca_file)
        d = tempfile.mkdtemp(prefix="hcr-it-cert-")
        try:
            cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
            with open(cert, "wb") as f:
                f.write(base64.b64decode(self.kube.info["right"]["clientCertData"]))
            with open(key, "wb") as f:
                f.write(base64.b64decode(self.kube.info["right"]["clientKeyData"]))
            ctx.load_cert_chain(cert, key)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        conn = http.client.HTTPSConnection("127.0.0.1", self.kube.port("right"), context=ctx,
                                           timeout=10)
        try:
            conn.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                         body=json.dumps({"apiVersion": "authentication.k8s.io/v1",
                                          "kind": "SelfSubjectReview"}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = json.loads(r.read())
        finally:
            conn.close()
        self.assertEqual(r.status, 201, body)
        self.assertEqual(body["status"]["userInfo"]["username"], "kubeemu-admin")
        self.assertIn("system:masters", body["status"]["userInfo"]["groups"])
        # without a certificate or token: 401
        self.assertEqual(self.kube.request("right", "GET", "/api", token=None)[0], 401)
        # the namespaces' root CA is the cluster's CA
        root = self.kube.objects("left", "configmaps", namespace="default")
        ca = [o for o in root if o["metadata"]["name"] == "kube-root-ca.crt"][0]["data"][
            "ca.crt"]
        with open(self.kube.ca_file) as f:
            self.assertEqual(ca, f.read())

    def test_watch_with_kubectl(self):
        env = {"PATH": os.environ.get("PATH", ""), "HOME": self.home,
               "KUBECONFIG": self.kubeconfig}
        proc = subprocess.Popen([KUBECTL, "--context", "left", "get", "configmaps", "-w",
                                 "--output-watch-events"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            lines = []
            deadline = time.time() + 10
            lines.append(proc.stdout.readline())  # the header
            lines.append(proc.stdout.readline())  # kube-root-ca.crt
            self.kube.load("left", items=[cm("watched")])
            self.kube.console("left", "DELETE", "/api/v1/namespaces/default/configmaps/watched")
            while time.time() < deadline:
                line = proc.stdout.readline()
                lines.append(line)
                if line.startswith("DELETED"):
                    break
            self.assertRegex(lines[0], r"^EVENT\s+NAME\s+DATA\s+AGE")
            self.assertRegex(lines[1], r"^ADDED\s+kube-root-ca.crt\s+1\s")
            self.assertRegex(lines[2], r"^ADDED\s+watched\s+1\s")
            self.assertRegex(lines[3], r"^DELETED\s+watched\s+1\s")
            watches = [r for r in self.kube.requests("left") if r.get("verb") == "watch"]
            self.assertEqual(len(watches), 1)
            self.assertIn("resourceVersion=", watches[0]["query"])
            self.assertIn("as=Table", watches[0]["accept"])
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()


if __name__ == "__main__":
    unittest.main()
