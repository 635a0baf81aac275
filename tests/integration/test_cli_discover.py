"""`hcr discover` (the operator CLI) against a stub of POST /v1/discover.

No hcr server runs here: the CLI binary talks to the small stub server of
test_cli.py, which answers with canned documents and records every request.
That checks what the CLI sends, how it prints the answer, and how it reports
errors, independently of the API's implementation.

Every CLI run is checked for sanitizer reports and for the token appearing in
its output.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HCR, sanitizer_reports
from test_cli import STUB_TOKEN, Stub

CLUSTERS = {
    "provider": "eks",
    "credential": "aws-prod",
    "region": "us-east-1",
    "clusters": [
        {"cloudName": "zeta", "region": "us-east-1", "status": "ACTIVE", "version": "1.29",
         "registered": True,
         "cluster": {"id": "0b8e7a52-5d0e-4b7e-9a51-2f1f3c1d9e01", "name": "prod-zeta"}},
        {"cloudName": "alpha", "region": "us-east-1", "status": "CREATING", "version": "1.30",
         "registered": False},
        {"cloudName": "Mid_Cluster", "region": "us-east-1", "status": "ACTIVE",
         "version": "1.28", "registered": False},
    ],
}


def error(code, message, detail=None, hint=None):
    return {"error": {"code": code, "message": message, "detail": detail, "hint": hint}}


class DiscoverTest(unittest.TestCase):
    def setUp(self):
        # A HOME and working directory of our own: no ~/.config/hcr, no ./var/admin-token.
        self.home = tempfile.mkdtemp(prefix="hcr-it-discover-")
        self.stub = None

    def tearDown(self):
        if self.stub:
            self.stub.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def serve(self, status, body, headers=None):
        self.stub = Stub({("POST", "/v1/discover"): (status, headers or {}, body)})
        return self.stub

    def cli(self, *args):
        """Runs `hcr discover ARGS` against the stub; returns (exit code, stdout, stderr)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        env.update({"HOME": self.home, "TMPDIR": self.home, "HCR_TOKEN": STUB_TOKEN,
                    "HCR_URL": self.stub.url if self.stub else "http://127.0.0.1:9"})
        env.pop("XDG_CONFIG_HOME", None)
        p = subprocess.run([HCR, "discover", *args], capture_output=True, text=True,
                           timeout=60, env=env, cwd=self.home)
        self.assertFalse(sanitizer_reports(p.stderr), p.stderr)
        self.assertNotIn(STUB_TOKEN, p.stdout, "token printed on stdout")
        self.assertNotIn(STUB_TOKEN, p.stderr, "token printed on stderr")
        return p.returncode, p.stdout, p.stderr

    def sent(self):
        """The one request the stub got: (headers, JSON body)."""
        self.assertEqual(len(self.stub.requests), 1, self.stub.requests)
        method, path, headers, body = self.stub.requests[0]
        self.assertEqual((method, path), ("POST", "/v1/discover"))
        return headers, json.loads(body)

    # ---- the request --------------------------------------------------------------------

    def test_request_body(self):
        self.serve(200, CLUSTERS)
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 0, err)
        headers, body = self.sent()
        # No --provider: none is sent; the API asks the credential's provider.
        self.assertEqual(body, {"credential": "aws-prod", "region": "us-east-1"})
        self.assertEqual(headers.get("Authorization"), f"Bearer {STUB_TOKEN}")
        self.assertEqual(headers.get("Content-Type"), "application/json")

    def test_options_are_passed_through(self):
        cases = [
            (["--credential=azure-main", "--provider", "aks", "--resource-group", "rg-web"],
             {"provider": "aks", "credential": "azure-main", "resourceGroup": "rg-web"}),
            (["--provider=gke", "--credential", "gcp-main", "--project", "acme-prod",
              "--location", "europe-west1"],
             {"provider": "gke", "credential": "gcp-main", "project": "acme-prod",
              "location": "europe-west1"}),
            # No location option: none is sent, the API decides.
            (["--credential", "aws-prod"], {"credential": "aws-prod"}),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                self.serve(200, {"clusters": []})
                code, _, err = self.cli(*args)
                self.assertEqual(code, 0, err)
                self.assertEqual(self.sent()[1], want)
                self.stub.stop()
                self.stub = None

    # ---- the output ---------------------------------------------------------------------

    def test_table(self):
        self.serve(200, CLUSTERS)
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        lines = out.splitlines()
        self.assertEqual(lines[0].split("  ")[0], "CLOUD NAME")
        for head in ("REGION/LOCATION", "STATUS", "VERSION", "REGISTERED AS"):
            self.assertIn(head, lines[0])
        rows = [l.split() for l in lines[1:4]]
        # Sorted by cloud name, letter case aside.
        self.assertEqual(rows, [
            ["alpha", "us-east-1", "CREATING", "1.30", "-"],
            ["Mid_Cluster", "us-east-1", "ACTIVE", "1.28", "-"],
            ["zeta", "us-east-1", "ACTIVE", "1.29", "prod-zeta"],
        ])
        # Columns line up under their headers.
        col = lines[0].index("STATUS")
        self.assertTrue(all(l[col - 2:col] == "  " and l[col] != " " for l in lines[:4]), out)
        # The last line counts and shows how to register the first unregistered cluster.
        self.assertEqual(len(lines), 5, out)
        prefix = ("3 clusters, 2 not registered: register each with POST /v1/clusters, "
                  "for example ")
        self.assertTrue(lines[4].startswith(prefix), lines[4])
        self.assertEqual(json.loads(lines[4][len(prefix):]), {
            "name": "alpha", "provider": "eks", "imported": True, "credential": "aws-prod",
            "region": "us-east-1"})

    def test_register_hint_by_provider(self):
        one = lambda c, extra: dict({"provider": c[0], "credential": c[1], "clusters": [
            dict({"cloudName": c[2], "status": "Succeeded", "version": "1.29",
                  "registered": False}, **extra)]}, **c[3])
        cases = [
            # An upper-case cloud name: hcr names are lower case, cloudName keeps the original.
            (one(("eks", "aws-prod", "Demo", {"region": "eu-west-1"}), {"region": "eu-west-1"}),
             ["--credential", "aws-prod", "--region", "eu-west-1"], "eu-west-1",
             {"name": "demo", "provider": "eks", "imported": True, "credential": "aws-prod",
              "cloudName": "Demo", "region": "eu-west-1"}),
            (one(("aks", "azure-main", "web", {}),
                 {"resourceGroup": "rg-web", "location": "westeurope"}),
             ["--credential", "azure-main", "--provider", "aks"], "rg-web/westeurope",
             {"name": "web", "provider": "aks", "imported": True, "credential": "azure-main",
              "resourceGroup": "rg-web", "location": "westeurope"}),
            (one(("gke", "gcp-main", "analytics", {"project": "acme-prod"}),
                 {"location": "europe-west1"}),
             ["--credential", "gcp-main", "--provider", "gke", "--project", "acme-prod"],
             "acme-prod/europe-west1",
             {"name": "analytics", "provider": "gke", "imported": True,
              "credential": "gcp-main", "project": "acme-prod", "location": "europe-west1"}),
        ]
        for answer, args, where, body in cases:
            with self.subTest(provider=answer["provider"]):
                self.serve(200, answer)
                code, out, err = self.cli(*args)
                self.assertEqual(code, 0, err)
                lines = out.splitlines()
                self.assertEqual(lines[1].split()[1], where, out)
                prefix = "1 cluster, 1 not registered: register it with POST /v1/clusters "
                self.assertTrue(lines[-1].startswith(prefix), lines[-1])
                self.assertEqual(json.loads(lines[-1][len(prefix):]), body)
                self.stub.stop()
                self.stub = None

    def test_all_registered_and_none_found(self):
        answer = {"clusters": [
            {"cloudName": "b", "region": "us-east-1", "status": "ACTIVE", "version": "1.29",
             "registered": True, "cluster": {"id": "x", "name": "hcr-b"}},
            {"cloudName": "a\u001b[2J", "region": "us-east-1", "status": "ACTIVE",
             "version": "1.29", "registered": True, "cluster": {"id": "y", "name": "hcr-a"}},
        ]}
        self.serve(200, answer)
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[-1], "2 clusters, all registered")
        # A control character from the cloud never reaches the terminal.
        self.assertNotIn("\u001b", out)
        self.assertIn("a?[2J", out)
        self.stub.stop()

        self.serve(200, {"provider": "eks", "credential": "aws-prod", "region": "us-east-1",
                         "clusters": []})
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")
        self.assertEqual(err, 'no clusters found with credential "aws-prod" in us-east-1\n')

    def test_json_and_yaml(self):
        self.serve(200, CLUSTERS)
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1",
                                  "-o", "json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), CLUSTERS)  # the API's document, as it came
        code, out, err = self.cli("-ojson", "--credential", "aws-prod")
        self.assertEqual(json.loads(out), CLUSTERS)
        code, out, err = self.cli("--credential", "aws-prod", "-o", "yaml")
        self.assertEqual(code, 0, err)
        self.assertIn("- cloudName: zeta\n", out)
        self.assertIn("  registered: false\n", out)

    # ---- errors -------------------------------------------------------------------------

    def test_api_error(self):
        self.serve(422, error("invalid", 'credential "aws-prod" is for provider "eks", '
                              'not "gke"', hint="use a gke credential, or --provider eks"))
        code, out, err = self.cli("--credential", "aws-prod", "--provider", "gke")
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertEqual(err, 'hcr: credential "aws-prod" is for provider "eks", not "gke"\n'
                              "  hint: use a gke credential, or --provider eks\n")

    def test_cloud_failure_and_forbidden(self):
        self.serve(502, error("unavailable", "AWS refused to list clusters",
                              detail="AccessDeniedException: not authorized to perform "
                                     "eks:ListClusters"))
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 1)
        self.assertIn("hcr: AWS refused to list clusters\n", err)
        self.assertIn("  detail: AccessDeniedException", err)
        self.stub.stop()

        self.serve(403, error("forbidden", "this needs the operator role",
                              hint="ask an admin for an operator token"))
        code, out, err = self.cli("--credential", "aws-prod")
        self.assertEqual(code, 1)
        self.assertIn("hcr: this needs the operator role", err)

    def test_unauthorized(self):
        self.serve(401, error("unauthorized", "invalid or missing API token"),
                   headers={"WWW-Authenticate": 'Bearer realm="hcr"'})
        code, out, err = self.cli("--credential", "aws-prod", "--region", "us-east-1")
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertIn("hcr: invalid or missing API token\n", err)
        self.assertIn("the token came from HCR_TOKEN", err)

    def test_old_server_without_discovery(self):
        self.stub = Stub({})  # every route: 404 "no such stub route"
        self.stub.routes[("POST", "/v1/discover")] = (
            404, {}, error("not_found", "no such endpoint: /v1/discover"))
        code, _, err = self.cli("--credential", "aws-prod")
        self.assertEqual(code, 1)
        self.assertIn("hcr: no such endpoint: /v1/discover\n", err)
        self.assertIn("hint: this hcr has no discovery yet; upgrade it", err)

    def test_usage_errors(self):
        self.serve(200, CLUSTERS)
        for args, message in [
            ([], "hcr: discover needs --credential NAME"),
            (["--region", "us-east-1"], "hcr: discover needs --credential NAME"),
            (["--credential"], "hcr: option --credential needs a value"),
            (["--credential="], "hcr: option --credential needs a value"),
            (["--credential", "aws-prod", "extra"], 'hcr: unexpected argument "extra"'),
            (["--credential", "aws-prod", "--zone", "a"], 'hcr: unexpected argument "--zone"'),
        ]:
            with self.subTest(args=args):
                code, out, err = self.cli(*args)
                self.assertEqual(code, 2, err)
                self.assertTrue(err.startswith(message), err)
                self.assertIn("usage: hcr discover --credential NAME", err)
        self.assertEqual(self.stub.requests, [])  # nothing was sent

        code, out, err = self.cli("--help")
        self.assertEqual(code, 0)
        self.assertIn("usage: hcr discover", out)


if __name__ == "__main__":
    unittest.main()
