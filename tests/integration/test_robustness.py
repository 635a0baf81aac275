"""Bad input of every kind gets a clear JSON error and never a crash or a 500.

Sends malformed, mistyped and hostile bodies, paths, headers and query strings to
every route of the real hcr binary (built with AddressSanitizer and UBSan), then
checks that hcr is still serving, wrote nothing half-way, and reported no
sanitizer finding.
"""

import random
import socket
import unittest

from harness import Hcr, Postgres, sanitizer_reports

ROUTES = [("POST", "/v1/credentials"), ("POST", "/v1/clusters"), ("POST", "/v1/tokens"),
          ("GET", "/v1/clusters"), ("GET", "/v1/clusters/x"), ("DELETE", "/v1/clusters/x"),
          ("GET", "/v1/credentials/x"), ("DELETE", "/v1/credentials/x"),
          ("DELETE", "/v1/tokens/x")]

BODIES = [
    b"", b"null", b"0", b"\"str\"", b"[]", b"{", b"}", b"{\"a\":}", b"\xff\xfe\x00",
    b"{\"name\": null}", b"{\"name\": 1}", b"{\"name\": {}}", b"{\"name\": []}",
    b"{\"name\": \"a\", \"name\": \"b\"}", b"{\"provider\": \"eks\", \"eks\": 5}",
    b"{\"provider\": \"gke\", \"name\": \"g\", \"gke\": {\"serviceAccountJson\": 7}}",
    b"{\"provider\": \"gke\", \"name\": \"g\", \"gke\": {\"serviceAccountJson\": \"[1]\"}}",
    b"{\"name\": \"c\", \"provider\": \"eks\", \"imported\": false, \"region\": \"eu-west-1\", "
    b"\"credential\": \"x\", \"config\": {\"nodeGroups\": [1, null, {}]}}",
    b"{\"name\": \"c\", \"provider\": \"aks\", \"imported\": true, \"resourceGroup\": \"" +
    b"r" * 5000 + b"\", \"credential\": \"x\"}",
    b"{\"name\": \"" + "\u00e9\u4e2d\U0001f600".encode() + b"\"}",
    b"{\"name\": \"a\\u0000b\", \"role\": \"viewer\"}",
    b"{\"name\": \"x\", \"role\": \"viewer\", \"expiresInSeconds\": 1e400}",
    b"{\"name\": \"x\", \"role\": \"viewer\", \"expiresInSeconds\": -9223372036854775808}",
    b"[" * 5000 + b"]" * 5000,
    b"{\"a\": " * 3000 + b"1" + b"}" * 3000,
]


class RobustnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.hcr = Hcr(database_url=cls.pg.url)
        cls.hcr.wait_ready()

    @classmethod
    def tearDownClass(cls):
        code = cls.hcr.stop()
        log = cls.hcr.log()
        cls.hcr.destroy()
        cls.pg.destroy()
        assert code == 0, log[-2000:]
        assert not sanitizer_reports(log), "\n".join(sanitizer_reports(log))

    def check(self, r):
        self.assertLess(r.status, 500, r)
        if r.status >= 400:
            self.assertIsNotNone(r.json, r)
            self.assertIn("code", r.json["error"])
            self.assertTrue(r.json["error"]["message"])

    def test_bad_bodies_on_every_route(self):
        for method, path in ROUTES:
            for body in BODIES:
                with self.subTest(method=method, path=path, body=body[:40]):
                    self.check(self.hcr.request(method, path, raw=body))
        # Nothing half-written: every refused write left no row behind.
        counts = self.pg.psql("hcr", "SELECT (SELECT count(*) FROM clusters) || ',' || "
                                     "(SELECT count(*) FROM credentials)").strip()
        self.assertEqual(counts, "0,0")

    def test_random_bodies(self):
        rnd = random.Random(1234)
        for _ in range(300):
            n = rnd.randint(0, 300)
            body = bytes(rnd.randint(0, 255) for _ in range(n))
            method, path = rnd.choice(ROUTES[:3])
            self.check(self.hcr.request(method, path, raw=body))

    def test_hostile_paths_and_queries(self):
        for path in ["/v1/clusters/%00", "/v1/clusters/" + "a" * 4000, "/v1/clusters/../tokens",
                     "/v1//clusters", "/v1/clusters/x/y", "/v1/clusters?limit=99999999999999999",
                     "/v1/clusters?limit=-1", "/v1/clusters?cursor=%ff%fe",
                     "/v1/clusters?name_prefix=%27%3B%20DROP%20TABLE%20clusters%3B--",
                     "/v1/clusters/'%20OR%201=1--", "/%", "/v1/tokens/00000000-0000-0000-0000-000000000000"]:
            with self.subTest(path=path):
                self.check(self.hcr.request("GET", path))
                self.check(self.hcr.request("DELETE", path))
        self.assertEqual(self.hcr.request("GET", "/readyz", token=None).status, 200)

    def test_hostile_headers(self):
        for value in ["Bearer " + "x" * 6000, "Bearer\x01abc", "bearer  hcr_", "Bearer hcr_" +
                      "\u00e9" * 20, "Bearer hcr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "]:
            with self.subTest(value=value[:30]):
                try:
                    r = self.hcr.request("GET", "/v1/clusters", token=None,
                                         headers={"Authorization": value})
                except (ValueError, UnicodeEncodeError):
                    continue  # the client library refuses to send it
                self.check(r)
                self.assertIn(r.status, (400, 401, 431), r)
        r = self.hcr.request("DELETE", "/v1/clusters/x", headers={"If-Match": "\"" + "9" * 40 + "\""})
        self.check(r)

    def test_truncated_and_slow_requests(self):
        # A client that announces a body and disconnects half-way must not hurt hcr.
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.hcr.port), timeout=5)
            s.sendall(b"POST /v1/clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                      b"Authorization: Bearer " + self.hcr.admin_token.encode() + b"\r\n\r\n{\"na")
            s.close()
        s = socket.create_connection(("127.0.0.1", self.hcr.port), timeout=5)
        s.sendall(b"GARBAGE\r\n\r\n")
        s.recv(100)
        s.close()
        self.assertEqual(self.hcr.request("GET", "/healthz", token=None).status, 200)


if __name__ == "__main__":
    unittest.main()
