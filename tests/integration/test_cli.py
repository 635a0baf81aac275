"""The operator CLI (`hcr clusters|config|drift|events`) against a real hcr.

The real binary runs `hcr run` with a real PostgreSQL and the fake cloud; the
CLI is the same binary, run as a user would, with HCR_URL and HCR_TOKEN. A few
answers that a live hcr gives only in a race (412) or never (a non-JSON error,
several pages of clusters) come from a small stub server instead.

Every CLI run is checked for sanitizer reports and for the token appearing in
its output.
"""

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import HCR, FakeCloud, Hcr, Postgres, sanitizer_reports, wait_for

DOC = {
    "kubernetesVersion": "1.29",
    "tags": {"team": "payments", "env": "prod"},
    "nodeGroups": [{"nodegroupName": "ng-a", "desiredSize": 3, "minSize": 1, "maxSize": 5}],
}

FAST = {"HCR_FAKE_POLL_INTERVAL_S": "2", "HCR_RECONCILE_OP_POLL_MS": "100"}

STUB_TOKEN = "hcr_stubstubstubstubstubstubstubstubstubstubstu"


class Stub:
    """A tiny HTTP server with canned answers; records every request."""

    def __init__(self, routes):
        self.routes = routes  # {(method, path-with-query): (status, headers, body)}
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, out = stub.routes.get(
                    (self.command, self.path),
                    (404, {}, {"error": {"code": "not_found", "message": "no such stub route",
                                         "detail": None, "hint": None}}))
                data = out if isinstance(out, bytes) else json.dumps(out).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PATCH = do_POST = do_DELETE = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.cloud = FakeCloud(op_seconds=0.3)
        env = {"HCR_FAKE_ENDPOINT": cls.cloud.url}
        env.update(FAST)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=env)
        cls.hcr.wait_ready()
        cls.token = cls.hcr.admin_token
        cls.url = f"http://127.0.0.1:{cls.hcr.port}"
        # A working directory and HOME of our own: no ./var/admin-token, no ~/.config/hcr.
        cls.home = tempfile.mkdtemp(prefix="hcr-it-cli-")
        r = cls.hcr.request("POST", "/v1/credentials",
                            {"name": "fake", "provider": "fake", "fake": {"token": "fake-token"}})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        code = cls.hcr.stop()
        log = cls.hcr.log()
        cls.hcr.destroy()
        cls.cloud.destroy()
        cls.pg.destroy()
        shutil.rmtree(cls.home, ignore_errors=True)
        assert code == 0, log[-3000:]
        assert not sanitizer_reports(log), "\n".join(sanitizer_reports(log))

    # ---- helpers ------------------------------------------------------------------------

    def env(self, extra=None, url=None, token=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        e.update({"HOME": self.home, "XDG_CONFIG_HOME": "", "TMPDIR": self.home,
                  "HCR_URL": url or self.url, "HCR_TOKEN": token or self.token})
        e.update(extra or {})
        return {k: v for k, v in e.items() if v is not None}

    def check_output(self, out, err, secrets):
        self.assertFalse(sanitizer_reports(err), err)
        for s in secrets:
            self.assertNotIn(s, out, "token printed on stdout")
            self.assertNotIn(s, err, "token printed on stderr")

    def cli(self, *args, env=None, url=None, token=None, cwd=None, timeout=60):
        """Runs the CLI; returns (exit code, stdout, stderr)."""
        p = subprocess.run([HCR, *args], capture_output=True, text=True, timeout=timeout,
                           env=self.env(env, url, token), cwd=cwd or self.home)
        self.check_output(p.stdout, p.stderr, [self.token, STUB_TOKEN, token or self.token])
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        code, out, err = self.cli(*args, **kw)
        self.assertEqual(code, 0, f"hcr {' '.join(args)} failed:\n{out}\n{err}")
        return out

    def spawn(self, *args):
        return subprocess.Popen([HCR, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env(), cwd=self.home)

    def finish(self, proc):
        """Stops a --follow/--watch with Ctrl-C; returns (exit code, stdout, stderr)."""
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        self.check_output(out, err, [self.token])
        return proc.returncode, out, err

    def read_until(self, proc, needle, timeout=15):
        """Reads proc's stdout line by line until a line contains `needle`."""
        seen = []
        box = {}

        def reader():
            for line in proc.stdout:
                seen.append(line)
                if needle in line:
                    box["line"] = line
                    return

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        self.assertIn("line", box, f"no line with {needle!r} in {timeout}s:\n{''.join(seen)}")
        return "".join(seen)

    def register(self, name, doc=None):
        self.cloud.admin("PUT", f"/admin/clusters/{name}", doc or DOC)
        r = self.hcr.request("POST", "/v1/clusters",
                             {"name": name, "provider": "fake", "imported": True,
                              "region": "eu-west-1", "credential": "fake"})
        self.assertEqual(r.status, 201, r)
        wait_for(lambda: (lambda r: r.status == 200 and r.json.get("observed")
                          and r.json["state"] == "active")(
            self.hcr.request("GET", f"/v1/clusters/{name}")), what=f"{name} observed")

    def cluster(self, name):
        return self.hcr.request("GET", f"/v1/clusters/{name}").json

    def field(self, name, path):
        for f in self.cluster(name)["fields"]:
            if f["path"] == path:
                return f
        return None

    # ---- clusters ls / show --------------------------------------------------------------

    def test_ls_table_and_json(self):
        self.register("ls-a")
        self.register("ls-b")
        out = self.ok("clusters", "ls")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "PROVIDER", "LOCATION", "STATE", "POLICY",
                                            "BUSY", "VERSION", "AGE"])
        row = next(l for l in lines if l.startswith("ls-a "))
        self.assertEqual(row.split()[:4], ["ls-a", "fake", "eu-west-1", "active"])
        # Columns line up: every row starts its PROVIDER where the header does.
        col = lines[0].index("PROVIDER")
        self.assertTrue(all(l[col - 2:col] == "  " and l[col] != " " for l in lines), out)

        doc = json.loads(self.ok("clusters", "ls", "-o", "json", "--prefix", "ls-"))
        self.assertEqual([c["name"] for c in doc["items"]], ["ls-a", "ls-b"])
        self.assertIsNone(doc["nextCursor"])
        doc = json.loads(self.ok("clusters", "ls", "--prefix", "ls-", "--limit", "1", "-ojson"))
        self.assertEqual([c["name"] for c in doc["items"]], ["ls-a"])
        self.assertEqual(doc["nextCursor"], "ls-a")
        out = self.ok("clusters", "ls", "--prefix=ls-b", "-o", "yaml")
        self.assertIn("- id: ", out)
        self.assertIn("  name: ls-b\n", out)

    def test_ls_follows_pages(self):
        page = lambda names, nxt: (200, {}, {"items": [
            {"name": n, "provider": "eks", "region": "eu-west-1", "state": "active",
             "policy": "adopt", "busy": False, "version": 1} for n in names], "nextCursor": nxt})
        stub = Stub({
            ("GET", "/v1/clusters?limit=500"): page(["a1", "a2"], "a2"),
            ("GET", "/v1/clusters?cursor=a2&limit=500"): page(["b1", "b2"], "b2"),
            ("GET", "/v1/clusters?cursor=b2&limit=500"): page(["c1"], None),
            ("GET", "/v1/clusters?provider=eks&name_prefix=a&limit=3"): page(["a1", "a2", "a3"],
                                                                             "a3"),
        })
        try:
            out = self.ok("clusters", "ls", url=stub.url, token=STUB_TOKEN)
            self.assertEqual([l.split()[0] for l in out.splitlines()[1:]],
                             ["a1", "a2", "b1", "b2", "c1"])
            doc = json.loads(self.ok("clusters", "ls", "-o", "json", "--provider", "eks",
                                     "--prefix", "a", "--limit", "3", url=stub.url,
                                     token=STUB_TOKEN))
            self.assertEqual(len(doc["items"]), 3)
            self.assertEqual(doc["nextCursor"], "a3")
            # The token went in the Authorization header.
            self.assertEqual(stub.requests[0][2].get("Authorization"), f"Bearer {STUB_TOKEN}")
        finally:
            stub.stop()

    def test_show(self):
        self.register("show-a")
        out = self.ok("clusters", "show", "show-a")
        self.assertIn("Name:        show-a\n", out)
        self.assertIn("State:       active", out)
        header = next(l for l in out.splitlines() if l.startswith("PATH"))
        self.assertEqual(header.split(),
                         ["PATH", "OWNER", "STATE", "DESIRED", "OBSERVED", "APPLIED", "SINCE"])
        row = next(l for l in out.splitlines() if l.startswith("kubernetesVersion "))
        self.assertEqual(row.split()[:5], ["kubernetesVersion", "external", "in_sync", "-",
                                           "1.29"])
        self.assertIn("nodeGroups[ng-a].desiredSize", out)
        self.assertIn("Operation in flight: none", out)
        self.assertIn("Drift: none", out)
        # By id too, and -o json is the API's document.
        cid = self.cluster("show-a")["id"]
        doc = json.loads(self.ok("clusters", "show", cid, "-o", "json"))
        self.assertEqual(doc["name"], "show-a")
        self.assertEqual(doc["observed"]["kubernetesVersion"], "1.29")
        self.assertIn("fields", doc)

    # ---- config set ---------------------------------------------------------------------

    def test_config_set_reaches_the_cloud(self):
        self.register("set-a")
        v = self.cluster("set-a")["version"]
        out = self.ok("config", "set", "set-a", "tags.owner=alice", "kubernetesVersion=1.30",
                      "nodeGroups[ng-a].desiredSize=4")
        self.assertIn(f'cluster "set-a" updated to version {v + 1}', out)
        self.assertIn('tags.owner = "alice"', out)
        desired = self.cluster("set-a")["desired"]
        self.assertEqual(desired["tags"], {"owner": "alice"})
        self.assertEqual(desired["kubernetesVersion"], "1.30")  # a string, not 1.3
        self.assertEqual(desired["nodeGroups"], [{"nodegroupName": "ng-a", "desiredSize": 4}])
        wait_for(lambda: (lambda d: d["tags"].get("owner") == "alice"
                          and d["kubernetesVersion"] == "1.30"
                          and d["nodeGroups"][0]["desiredSize"] == 4)(
            self.cloud.cluster("set-a")["document"]), timeout=20, what="changes in the cloud")
        # Unmanaged tags stay; the field shows as managed by hcr.
        self.assertEqual(self.cloud.cluster("set-a")["document"]["tags"]["team"], "payments")
        self.assertEqual(self.field("set-a", "tags.owner")["owner"], "hcr")

    def test_config_set_values_and_release(self):
        self.register("set-b")
        self.ok("config", "set", "set-b", "tags.count=5", 'tags.quoted="7"',
                'nodeGroups=[{"nodegroupName": "ng-a", "desiredSize": 2, "minSize": 1}]')
        desired = self.cluster("set-b")["desired"]
        # New keys of a map of strings stay strings; JSON arrays go through as JSON.
        self.assertEqual(desired["tags"], {"count": "5", "quoted": "7"})
        self.assertEqual(desired["nodeGroups"][0]["desiredSize"], 2)
        self.ok("config", "set", "set-b", "nodeGroups=null")
        wait_for(lambda: self.field("set-b", "nodeGroups[ng-a].desiredSize")["owner"]
                 == "external", what="pool released")
        self.assertNotIn("nodeGroups", self.cluster("set-b")["desired"])
        # -o json prints the API's answer.
        doc = json.loads(self.ok("config", "set", "set-b", "kubernetesVersion=1.30", "-o",
                                 "json"))
        self.assertEqual(doc["desired"]["kubernetesVersion"], "1.30")
        self.ok("config", "set", "set-b", "kubernetesVersion=null")
        self.assertEqual(self.field("set-b", "kubernetesVersion")["owner"], "external")

    def test_config_set_refused_by_the_api(self):
        self.register("set-c")
        code, out, err = self.cli("config", "set", "set-c", "kubernetesVersion=1.20")
        self.assertEqual(code, 1, err)
        self.assertIn("hcr: ", err)
        self.assertIn("kubernetesVersion", err)
        code, _, err = self.cli("config", "set", "no-such-cluster", "tags.a=b")
        self.assertEqual(code, 1)
        self.assertIn('hcr: cluster "no-such-cluster" does not exist', err)
        self.assertIn("hcr clusters ls", err)

    def test_config_set_stale_etag_is_explained(self):
        cid = "11111111-2222-4333-8444-555555555555"
        stub = Stub({
            ("GET", "/v1/clusters/race"): (200, {"ETag": '"3"'}, {
                "id": cid, "name": "race", "version": 3, "desired": {}, "effective": {}}),
            ("PATCH", f"/v1/clusters/{cid}/config"): (412, {"ETag": '"4"'}, {"error": {
                "code": "precondition_failed",
                "message": 'cluster "race" has changed: it is at version 4, If-Match asked '
                           'for 3',
                "detail": "current version: 4", "hint": None}}),
        })
        try:
            code, out, err = self.cli("config", "set", "race", "tags.a=b", url=stub.url,
                                      token=STUB_TOKEN)
            self.assertEqual(code, 1)
            self.assertIn('hcr: cluster "race" was changed by someone else since it was read; '
                          "nothing was written", err)
            self.assertIn("run the command again", err)
            patch = [r for r in stub.requests if r[0] == "PATCH"]
            self.assertEqual(len(patch), 1)
            self.assertEqual(patch[0][2].get("If-Match"), '"3"')
            self.assertEqual(json.loads(patch[0][3]), {"tags": {"a": "b"}})
        finally:
            stub.stop()

    # ---- config edit --------------------------------------------------------------------

    def editor(self, code):
        """An EDITOR that runs Python `code` with `d` the parsed file, then writes d back."""
        script = os.path.join(self.home, f"edit-{abs(hash(code))}.py")
        with open(script, "w") as f:
            f.write("import json, sys\np = sys.argv[1]\nd = json.load(open(p))\n" + code +
                    "\njson.dump(d, open(p, 'w'), indent=2)\n")
        return f"python3 {script}"

    def test_config_edit(self):
        self.register("edit-a")
        self.ok("config", "set", "edit-a", "tags.owner=alice", "kubernetesVersion=1.30")
        v = self.cluster("edit-a")["version"]
        out = self.ok("config", "edit", "edit-a",
                      env={"EDITOR": self.editor("d['tags']['owner'] = 'bob'\n"
                                                 "d['tags']['cost'] = 'c1'\n"
                                                 "del d['kubernetesVersion']")})
        self.assertIn(f"updated to version {v + 1}", out)
        desired = self.cluster("edit-a")["desired"]
        self.assertEqual(desired["tags"], {"owner": "bob", "cost": "c1"})
        self.assertNotIn("kubernetesVersion", desired)  # deleted in the editor: released
        self.assertEqual(self.field("edit-a", "kubernetesVersion")["owner"], "external")
        wait_for(lambda: self.cloud.cluster("edit-a")["document"]["tags"].get("owner") == "bob",
                 timeout=20, what="edit in the cloud")
        # VISUAL wins over EDITOR; an editor that changes nothing sends nothing.
        v = self.cluster("edit-a")["version"]
        out = self.ok("config", "edit", "edit-a", env={"VISUAL": "true", "EDITOR": "false"})
        self.assertEqual(out.strip(), "no changes")
        out = self.ok("config", "edit", "edit-a", env={"EDITOR": self.editor("pass")})
        self.assertEqual(out.strip(), "no changes")
        self.assertEqual(self.cluster("edit-a")["version"], v)
        self.assertEqual([f for f in os.listdir(self.home) if f.startswith("hcr-edit-")], [])

    def test_config_edit_invalid_json_sends_nothing(self):
        self.register("edit-b")
        v = self.cluster("edit-b")["version"]
        bad = "sh -c 'printf \"{\\n  \\\"tags\\\": {\\\"a\\\": 1,,}\\n}\\n\" > \"$1\"' --"
        code, out, err = self.cli("config", "edit", "edit-b", env={"EDITOR": bad})
        self.assertEqual(code, 1, err)
        self.assertIn("not valid JSON at line 2, column", err)
        self.assertIn("nothing was sent", err)
        self.assertEqual(self.cluster("edit-b")["version"], v)
        kept = [f for f in os.listdir(self.home) if f.startswith("hcr-edit-")]
        self.assertEqual(len(kept), 1)
        self.assertIn(kept[0], err)  # the hint says where the edit is kept
        os.unlink(os.path.join(self.home, kept[0]))
        code, _, err = self.cli("config", "edit", "edit-b", env={"EDITOR": "false"})
        self.assertEqual(code, 1)
        self.assertIn('the editor "false" exited with status 1; nothing was sent', err)
        code, _, err = self.cli("config", "edit", "edit-b",
                                env={"EDITOR": "sh -c 'echo [1] > \"$1\"' --"})
        self.assertEqual(code, 1)
        self.assertIn("must be a JSON object", err)
        for f in os.listdir(self.home):
            if f.startswith("hcr-edit-"):
                os.unlink(os.path.join(self.home, f))
        self.assertEqual(self.cluster("edit-b")["version"], v)

    # ---- drift --------------------------------------------------------------------------

    def fail_next_op(self, name):
        self.cloud.admin("POST", "/admin/faults", {"kind": "fail_next_op", "count": 1,
                                                    "path_prefix": f"/v1/clusters/{name}"})

    def test_drift_shows_a_failed_field(self):
        self.register("drift-a")
        self.fail_next_op("drift-a")
        self.ok("config", "set", "drift-a", "tags.cost=42")
        wait_for(lambda: (self.field("drift-a", "tags.cost") or {}).get("state") == "failed",
                 timeout=15, what="failed field")
        out = self.ok("drift", "--state", "failed")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["CLUSTER", "PATH", "STATE", "DESIRED", "OBSERVED",
                                            "APPLIED", "SINCE", "REASON"])
        row = next(l for l in lines if l.startswith("drift-a "))
        self.assertEqual(row.split()[:4], ["drift-a", "tags.cost", "failed", "42"])
        self.assertIn("injected fault", row)
        doc = json.loads(self.ok("drift", "--cluster", "drift-a", "-o", "json"))
        self.assertTrue(any(d["path"] == "tags.cost" for d in doc["items"]), doc)
        self.assertIn("externalChanges", doc)
        out = self.ok("clusters", "show", "drift-a")
        self.assertIn("Drift:\n", out)

    def test_drift_watch_rerenders_on_events(self):
        self.register("drift-w")
        p = self.spawn("drift", "--watch", "--cluster", "drift-w")
        try:
            self.read_until(p, "no drift")
            t0 = time.time()
            self.fail_next_op("drift-w")
            self.ok("config", "set", "drift-w", "tags.watched=yes")
            seen = self.read_until(p, "failed")
            self.assertIn("tags.watched", seen)
            # Sooner than the 5 s refresh: the event stream woke it up.
            self.assertLess(time.time() - t0, 4.5, seen)
        finally:
            code, out, err = self.finish(p)
        self.assertEqual(code, 0, err)

    # ---- events -------------------------------------------------------------------------

    def test_events_table_and_filters(self):
        self.register("ev-a")
        self.ok("config", "set", "ev-a", "tags.owner=alice")
        wait_for(lambda: (self.field("ev-a", "tags.owner") or {}).get("state") == "in_sync",
                 timeout=15, what="applied")
        out = self.ok("events", "--cluster", "ev-a")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["AT", "CLUSTER", "KIND", "PATH", "OLD", "NEW",
                                            "ACTOR", "MESSAGE"])
        kinds = [l.split()[2] for l in lines[1:]]
        for k in ("registered", "desired_set", "applying", "applied"):
            self.assertIn(k, kinds)
        # Oldest first: the registration comes before the edit.
        self.assertLess(kinds.index("registered"), kinds.index("desired_set"))
        row = next(l for l in lines if " desired_set " in l)
        self.assertIn("tags.owner", row)
        self.assertIn("alice", row)
        self.assertIn("token:bootstrap-admin", row)
        out = self.ok("events", "--cluster", "ev-a", "--kind", "applied", "--path", "tags")
        self.assertEqual({l.split()[2] for l in out.splitlines()[1:]}, {"applied"})
        out = self.ok("events", "--cluster", "ev-a", "--limit", "2")
        self.assertEqual(len(out.splitlines()), 3)
        doc = json.loads(self.ok("events", "--cluster", "ev-a", "--limit", "2", "-o", "json"))
        self.assertEqual(len(doc["items"]), 2)
        self.assertTrue(doc["nextCursor"])
        self.assertGreater(doc["items"][0]["id"], doc["items"][1]["id"])  # the API's order
        out = self.ok("events", "--cluster", "ev-a", "--since", "1h")
        self.assertIn("desired_set", out)
        code, _, err = self.cli("events", "--cluster", "ev-a", "--since", "2099-01-01T00:00:00Z")
        self.assertEqual(code, 0)
        self.assertIn("no events found", err)
        code, _, err = self.cli("events", "--since", "yesterday-ish")
        self.assertEqual(code, 1)
        self.assertIn("is not a timestamp", err)

    def test_events_follow_prints_new_events(self):
        self.register("ev-f")
        p = self.spawn("events", "--follow", "--cluster", "ev-f")
        try:
            self.read_until(p, "AT ")
            time.sleep(0.5)
            self.ok("config", "set", "ev-f", "tags.followed=yes")
            line = self.read_until(p, "tags.followed", timeout=10)
            self.assertIn("desired_set", line)
        finally:
            code, out, err = self.finish(p)
        self.assertEqual(code, 0, err)

    def test_events_follow_json_lines(self):
        self.register("ev-j")
        p = self.spawn("events", "--follow", "--cluster", "ev-j", "--limit", "1", "-o", "json")
        try:
            first = self.read_until(p, "{")
            self.assertEqual(json.loads(first.splitlines()[-1])["cluster"], "ev-j")
            self.ok("config", "set", "ev-j", "tags.n=x")
            line = self.read_until(p, "tags.n", timeout=10).splitlines()[-1]
            self.assertEqual(json.loads(line)["path"], "tags.n")
        finally:
            code, _, err = self.finish(p)
        self.assertEqual(code, 0, err)

    # ---- errors, usage, settings --------------------------------------------------------

    def test_unreachable_and_bad_url(self):
        code, out, err = self.cli("clusters", "ls", url="http://127.0.0.1:1")
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("hcr: cannot reach hcr at http://127.0.0.1:1", err)
        self.assertIn("make run", err)
        self.assertIn("HCR_URL", err)
        code, _, err = self.cli("clusters", "ls", url="not-a-url")
        self.assertEqual(code, 1)
        self.assertIn('hcr: invalid hcr URL "not-a-url"', err)
        code, _, err = self.cli("drift", "--watch", url="http://127.0.0.1:1")
        self.assertEqual(code, 1)
        self.assertIn("cannot reach hcr", err)

    def test_tls(self):
        d = tempfile.mkdtemp(prefix="hcr-it-cli-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, check=True)
        # A second, API-only hcr on the same database, serving HTTPS.
        tls = Hcr("serve", database_url=self.pg.url, tls_ca=cert,
                  env={"HCR_TLS_CERT_FILE": cert, "HCR_TLS_KEY_FILE": key})
        try:
            tls.wait_ready()
            url = f"https://127.0.0.1:{tls.port}"
            code, _, err = self.cli("clusters", "ls", url=url)
            self.assertEqual(code, 1)
            self.assertIn(f"hcr: TLS connection to {url} failed", err)
            self.assertIn("HCR_CA_FILE", err)
            self.assertEqual(self.cli("clusters", "ls", url=url, env={"HCR_CA_FILE": cert})[0],
                             0)
            self.assertEqual(self.cli("clusters", "ls", "--insecure", url=url)[0], 0)
            code, _, err = self.cli("clusters", "ls", url=f"http://127.0.0.1:{tls.port}")
            self.assertEqual(code, 1)
            self.assertIn("use an https:// URL", err)
        finally:
            tls.destroy()
            shutil.rmtree(d, ignore_errors=True)

    def test_error_bodies(self):
        stub = Stub({("GET", "/v1/clusters/x"): (502, {}, b"<html>bad gateway</html>")})
        try:
            code, _, err = self.cli("clusters", "show", "x", url=stub.url, token=STUB_TOKEN)
            self.assertEqual(code, 1)
            self.assertIn("answered HTTP 502", err)
            self.assertIn("bad gateway", err)
        finally:
            stub.stop()

    def test_tokens(self):
        bad = "hcr_" + "A" * 43
        code, out, err = self.cli("clusters", "ls", token=bad)
        self.assertEqual(code, 1)
        self.assertIn("hcr: ", err)
        self.assertIn("the token came from HCR_TOKEN", err)
        self.assertNotIn(bad, out + err)
        code, _, err = self.cli("clusters", "ls", env={"HCR_TOKEN": ""})
        self.assertEqual(code, 1)
        self.assertIn("missing API token", err)
        self.assertIn("HCR_TOKEN", err)
        code, _, err = self.cli("clusters", "ls", token="hcr_with space\r\nX-Evil: 1")
        self.assertEqual(code, 1)
        self.assertIn("contains spaces or control characters", err)
        self.assertNotIn("Evil", err)

    def test_usage_errors(self):
        cases = [
            ("clusters",),
            ("clusters", "bogus"),
            ("clusters", "ls", "--limit", "0"),
            ("clusters", "ls", "--bogus"),
            ("clusters", "show"),
            ("config",),
            ("config", "set", "x"),
            ("config", "set", "x", "no-equals-sign"),
            ("config", "set", "x", "tags..a=1"),
            ("config", "set", "x", "tags.a=1", "tags={}"),
            ("config", "edit"),
            ("drift", "--bogus"),
            ("events", "--limit", "x"),
            ("events", "--follow", "extra"),
            ("clusters", "ls", "-o", "xml"),
            ("clusters", "ls", "--url"),
        ]
        for args in cases:
            with self.subTest(args=args):
                code, out, err = self.cli(*args)
                self.assertEqual(code, 2, f"{args}: {err}")
                self.assertIn("hcr: ", err)
                self.assertIn("usage: hcr", err)
                self.assertEqual(out, "")
        code, out, _ = self.cli("clusters", "--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: hcr clusters ls", out)
        code, out, _ = self.cli("help")
        self.assertIn("clusters, config, drift, events", out)

    def test_settings_file_and_precedence(self):
        self.register("cfg-a")
        cfg_home = tempfile.mkdtemp(prefix="hcr-it-cli-cfg-")
        try:
            d = os.path.join(cfg_home, ".config", "hcr")
            os.makedirs(d)
            path = os.path.join(d, "config")
            env = {"HOME": cfg_home, "HCR_URL": None, "HCR_TOKEN": None}

            with open(path, "w") as f:
                f.write(f"# hcr CLI\nurl = {self.url}\ntoken = \"{self.token}\"\n")
            os.chmod(path, 0o600)
            out = self.run_plain(["clusters", "ls"], env, cwd=cfg_home)
            self.assertIn("cfg-a", out)

            with open(path, "w") as f:
                f.write(f"url: {self.url}\ntoken: '{self.token}'\n")
            out = self.run_plain(["clusters", "ls"], env, cwd=cfg_home)
            self.assertIn("cfg-a", out)

            # Flags beat the environment, which beats the file.
            with open(path, "w") as f:
                f.write("url = http://127.0.0.1:1\n")
            out = self.run_plain(["clusters", "ls", "--url", self.url, "--token", self.token],
                                 dict(env, HCR_URL="http://127.0.0.1:2"), cwd=cfg_home)
            self.assertIn("cfg-a", out)
            out = self.run_plain(["clusters", "ls"],
                                 dict(env, HCR_URL=self.url, HCR_TOKEN=self.token), cwd=cfg_home)
            self.assertIn("cfg-a", out)
            code, _, err = self.run_plain(["clusters", "ls"],
                                          dict(env, HCR_TOKEN=self.token), cwd=cfg_home,
                                          check=False)
            self.assertEqual(code, 1)
            self.assertIn("cannot reach hcr at http://127.0.0.1:1", err)

            # Without a token anywhere: ./var/admin-token, as `make run` leaves it.
            with open(path, "w") as f:
                f.write(f"url = {self.url}\n")
            os.makedirs(os.path.join(cfg_home, "var"))
            with open(os.path.join(cfg_home, "var", "admin-token"), "w") as f:
                f.write(self.token + "\n")
            out = self.run_plain(["clusters", "ls"], env, cwd=cfg_home)
            self.assertIn("cfg-a", out)

            with open(path, "w") as f:
                f.write("url = x\ncolour = blue\n")
            code, _, err = self.run_plain(["clusters", "ls"], env, cwd=cfg_home, check=False)
            self.assertEqual(code, 1)
            self.assertIn(f'{path}:2: unknown key "colour"', err)
        finally:
            shutil.rmtree(cfg_home, ignore_errors=True)

    def run_plain(self, args, env, cwd, check=True):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        e["XDG_CONFIG_HOME"] = ""
        e.update({k: v for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:
            e.pop(k, None)
        p = subprocess.run([HCR, *args], capture_output=True, text=True, timeout=60, env=e,
                           cwd=cwd)
        self.check_output(p.stdout, p.stderr, [self.token])
        if not check:
            return p.returncode, p.stdout, p.stderr
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout


if __name__ == "__main__":
    unittest.main()
