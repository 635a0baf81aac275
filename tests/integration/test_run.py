"""`hcr run` as a new user starts it: an embedded PostgreSQL under --data-dir, the
admin token on first start, a clean stop, and the same data on the next start."""

import os
import signal
import stat
import subprocess
import shutil
import time
import unittest

from harness import Hcr, make_tmpdir, sanitizer_reports


def postgres_pid(data_dir):
    with open(os.path.join(data_dir, "postgres", "data", "postmaster.pid")) as f:
        return int(f.readline())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class RunTest(unittest.TestCase):
    def setUp(self):
        self.data = make_tmpdir("hcr-it-run-")

    def tearDown(self):
        shutil.rmtree(self.data, ignore_errors=True)

    def test_run_embedded_twice(self):
        first = Hcr("run", data_dir=self.data)
        try:
            first.wait_ready(timeout=60)
            token_path = os.path.join(self.data, "admin-token")
            self.assertEqual(stat.S_IMODE(os.stat(token_path).st_mode), 0o600)
            self.assertIn(token_path, first.log())
            token = first.admin_token
            r = first.request("POST", "/v1/credentials", {
                "name": "aws", "provider": "eks",
                "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                        "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})
            self.assertEqual(r.status, 201, r)
            r = first.request("POST", "/v1/clusters", {
                "name": "kept", "provider": "eks", "imported": True, "region": "eu-west-1",
                "credential": "aws"})
            self.assertEqual(r.status, 201, r)
            pg = postgres_pid(self.data)
            self.assertTrue(alive(pg))
            # A second hcr on the same data directory is refused, and says why.
            second = Hcr("run", data_dir=self.data)
            code = second.proc.wait(60)
            log2 = second.log()
            second.destroy()
            self.assertEqual(code, 1, log2)
            self.assertIn("already running", log2)
            self.assertEqual(first.request("GET", "/readyz", token=None).status, 200)

            self.assertEqual(first.stop(signal.SIGINT), 0, first.log())
            self.assertFalse(alive(pg), "embedded PostgreSQL still running after stop")
            self.assertFalse(sanitizer_reports(first.log()), first.log())
        finally:
            first.destroy()

        again = Hcr("run", data_dir=self.data)
        try:
            again.wait_ready(timeout=60)
            self.assertEqual(again.admin_token, token)
            r = again.request("GET", "/v1/clusters/kept")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(again.stop(), 0)
        finally:
            again.destroy()

    def test_embedded_postgres_does_not_outlive_a_killed_hcr(self):
        first = Hcr("run", data_dir=self.data)
        try:
            first.wait_ready(timeout=60)
            pg = postgres_pid(self.data)
            first.stop(signal.SIGKILL)
            deadline = time.time() + 20
            while alive(pg) and time.time() < deadline:
                time.sleep(0.1)
            self.assertFalse(alive(pg), "PostgreSQL outlived the hcr that started it")
        finally:
            first.destroy()
        again = Hcr("run", data_dir=self.data)
        try:
            again.wait_ready(timeout=60)
            self.assertEqual(again.stop(), 0)
        finally:
            again.destroy()

    def test_migrate_command(self):
        out = subprocess.run([os.environ.get("HCR_BIN", "build/test/hcr"), "migrate",
                              "--data-dir", self.data], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("schema is at version", out.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.data, "postgres", "data",
                                                     "postmaster.pid")))


if __name__ == "__main__":
    unittest.main()
