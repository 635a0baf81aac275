"""Test harness: a throwaway PostgreSQL and the real hcr binary, driven over HTTP.

Everything started here listens on 127.0.0.1 or a Unix socket in a temporary
directory, and is stopped by the process that started it (by PID), also when
a test fails. Only the standard library is used.
"""

import ctypes
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HCR = os.environ.get("HCR_BIN", os.path.join(ROOT, "build", "test", "hcr"))


def pg_bindir():
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        d = out.stdout.strip()
        if os.path.exists(os.path.join(d, "postgres")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    base = "/usr/lib/postgresql"
    versions = sorted((int(v) for v in os.listdir(base) if v.isdigit()), reverse=True)
    return os.path.join(base, str(versions[0]), "bin")


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent(sig=signal.SIGTERM):
    """In a child: receive `sig` when the test process dies, so nothing outlives a test run."""
    _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def as_postgres():
    """preexec_fn that drops to the postgres user when running as root, and ties the
    server's life to the test's (set after the uid change, which clears it)."""
    pw = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def drop():
        if pw:
            os.setgid(pw.pw_gid)
            os.initgroups("postgres", pw.pw_gid)
            os.setuid(pw.pw_uid)
        die_with_parent(signal.SIGINT)

    return drop


def chown_postgres(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # the postgres user must be able to traverse it
    return d


class Postgres:
    """A throwaway PostgreSQL on a Unix socket, stoppable and restartable."""

    def __init__(self):
        self.dir = make_tmpdir("hcr-it-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.bindir = pg_bindir()
        self.proc = None
        for d in (self.data, self.sock):
            os.mkdir(d, 0o700)
            chown_postgres(d)
        self.log = open(os.path.join(self.dir, "postgres.log"), "ab")
        subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "hcr",
                        "--auth=trust", "-E", "UTF8", "--locale=C"],
                       stdout=self.log, stderr=self.log, preexec_fn=as_postgres(), check=True)
        self.start()
        self.psql("postgres", "CREATE DATABASE hcr")

    @property
    def url(self):
        return f"host={self.sock} port=5432 dbname=hcr user=hcr"

    def start(self):
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "postgres"), "-D", self.data, "-c", "listen_addresses=",
             "-c", f"unix_socket_directories={self.sock}", "-c", "fsync=off", "-p", "5432"],
            stdout=self.log, stderr=self.log, preexec_fn=as_postgres(), start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-h", self.sock,
                                "-p", "5432", "-q"])
            if r.returncode == 0:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited at start; see " + self.dir)
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def psql(self, db, sql):
        out = subprocess.run(["psql", "-h", self.sock, "-p", "5432", "-U", "hcr", "-d", db,
                              "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                             capture_output=True, text=True, check=True)
        return out.stdout

    def destroy(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Hcr:
    """The real hcr binary as a child process."""

    def __init__(self, command="serve", database_url=None, data_dir=None, extra_args=(),
                 env=None, tls_ca=None):
        self.port = free_port()
        self.own_data_dir = data_dir is None
        self.data_dir = data_dir or make_tmpdir("hcr-it-data-")
        self.stderr_path = os.path.join(tempfile.gettempdir(),
                                        f"hcr-it-{os.getpid()}-{self.port}.log")
        self.tls_ca = tls_ca
        self.ready = False
        args = [HCR, command, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
        if database_url:
            args += ["--database-url", database_url]
        args += list(extra_args)
        e = dict(os.environ)
        e.pop("HCR_DATABASE_URL", None)
        # Tests never reach a real cloud: unless a test points a provider at an
        # emulator, its calls go to the discard port and fail at once.
        for var in ("HCR_EKS_ENDPOINT", "HCR_EKS_STS_ENDPOINT", "HCR_AKS_ENDPOINT",
                    "HCR_AKS_AUTHORITY", "HCR_GKE_ENDPOINT", "HCR_GKE_TOKEN_URI"):
            e.setdefault(var, "http://127.0.0.1:9")
        e.update(env or {})
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.stderr, stderr=self.stderr, env=e,
                                     preexec_fn=die_with_parent)

    def wait_ready(self, path="/readyz", timeout=60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hcr exited with {self.proc.returncode}:\n{self.log()}")
            try:
                last = self.request("GET", path, token=None)
                if last.status == 200:
                    self.ready = True
                    return last
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hcr not ready in {timeout}s: {last}\n{self.log()}")

    @property
    def admin_token(self):
        with open(os.path.join(self.data_dir, "admin-token")) as f:
            return f.read().strip()

    def request(self, method, path, body=None, token="admin", headers=None, raw=None,
                timeout=30):
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token == "admin":
            token = self.admin_token
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops hcr; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def destroy(self):
        self.stop()
        # An embedded PostgreSQL that this hcr started and left behind (a crash) is ours
        # to stop too; one that a refused second hcr found running belongs to another.
        pidfile = os.path.join(self.data_dir, "postgres", "data", "postmaster.pid")
        if self.ready and os.path.exists(pidfile):
            try:
                with open(pidfile) as f:
                    os.kill(int(f.readline().strip()), signal.SIGQUIT)
            except (OSError, ValueError):
                pass
        self.stderr.close()
        if self.own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass


def stop_and_check(hcr, *others, secrets=()):
    """Stops hcr and then `others` (anything with destroy()), and fails when hcr did not
    exit cleanly, a sanitizer reported something, or one of `secrets` reached its log."""
    code = hcr.stop()
    log = hcr.log()
    hcr.destroy()
    for o in others:
        o.destroy()
    assert code == 0, log[-3000:]
    assert not sanitizer_reports(log), "\n".join(sanitizer_reports(log))
    for secret in secrets:
        assert secret not in log, "a secret reached hcr's log"


def sanitizer_reports(text):
    """Lines in hcr's output that show an AddressSanitizer or UBSan finding."""
    return [l for l in text.splitlines()
            if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l
            or "runtime error:" in l]


def admin_call(port, method, path, body=None, timeout=30):
    """(status, decoded JSON or raw bytes) of a JSON call to an emulator's admin API on
    127.0.0.1:`port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        raw = r.read()
        try:
            return r.status, (json.loads(raw) if raw else None)
        except ValueError:
            return r.status, raw
    finally:
        conn.close()


class EmulatorProcess:
    """An emulator script of tests/emulators/ as a child process: it prints "listening on
    127.0.0.1:<port>" first, answers JSON on its admin API, and dies with its parent."""

    def __init__(self, script, args, what):
        self.proc = subprocess.Popen(
            ["python3", os.path.join(ROOT, "tests", "emulators", script), "--port", "0",
             "--max-seconds", "1800", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"{what} did not start: {line!r}")
        self.url = "http://" + line.strip().split("listening on ")[1]
        self.port = int(self.url.rsplit(":", 1)[1])

    def admin(self, method, path, body=None):
        return admin_call(self.port, method, path, body)

    def destroy(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class FakeCloud(EmulatorProcess):
    """tests/emulators/fakecloud.py as a child process, with its admin API."""

    def __init__(self, latency_ms=0, op_seconds=0.3, extra=()):
        super().__init__("fakecloud.py", ["--latency-ms", str(latency_ms),
                                          "--op-seconds", str(op_seconds), *extra], "fakecloud")

    def cluster(self, name):
        return self.admin("GET", f"/admin/clusters/{name}")[1]

    def calls(self, cluster=None):
        return self.admin("GET", "/admin/calls" + (f"?cluster={cluster}" if cluster else ""))[1]


def wait_for(predicate, timeout=10.0, step=0.05, what="condition"):
    """Polls `predicate` until it returns something truthy; returns it."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class EksEmulator(EmulatorProcess):
    """tests/emulators/eksemu.py (the EKS + STS emulator) as a child process, with its
    admin API. `keys` are "AKID:SECRET[:TOKEN]" strings or (akid, secret[, token]) tuples;
    `durations` are its options without dashes, e.g. create_seconds=600, rate_per_s=5."""

    DEFAULT_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)

    def __init__(self, keys=None, extra=(), **durations):
        self.keys = [self.DEFAULT_KEY]
        args = []
        if keys:
            self.keys = []
            for k in keys:
                parts = k.split(":") if isinstance(k, str) else list(k)
                parts = [p for p in parts if p is not None]
                self.keys.append((parts[0], parts[1], parts[2] if len(parts) > 2 else None))
            args += ["--keys", ",".join(":".join(p for p in k if p is not None)
                                        for k in self.keys)]
        for name, value in durations.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        super().__init__("eksemu.py", args + list(extra), "eksemu")

    def calls(self, cluster=None):
        return self.admin("GET", "/admin/calls" + (f"?cluster={cluster}" if cluster else ""))[1][
            "calls"]

    def add_cluster(self, region, cluster, nodegroups=(), status="ACTIVE"):
        status_code, out = self.admin("POST", "/admin/clusters", {
            "region": region, "cluster": cluster, "nodegroups": list(nodegroups),
            "status": status})
        if status_code != 201:
            raise RuntimeError(f"eksemu refused the cluster: {status_code} {out}")
        return out

    def state(self, region, name):
        return self.admin("GET", f"/admin/clusters/{region}/{name}")[1]

    def advance(self, seconds):
        return self.admin("POST", "/admin/clock", {"advance": seconds})[1]

    def reset(self):
        return self.admin("POST", "/admin/reset", {})[1]


class MotoServer:
    """moto_server (installed with the machine's Python) on a free loopback port: a second,
    independently written implementation of the AWS APIs, used as a second opinion."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(tempfile.gettempdir(), f"hcr-it-moto-{self.port}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=self.log,
                                     preexec_fn=die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        self.destroy()
        raise RuntimeError("moto_server did not start in 30 s")

    def eks(self, region):
        import boto3  # only where moto is used
        return boto3.client("eks", region_name=region, endpoint_url=self.url,
                            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    def destroy(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


def have_moto():
    """Whether moto_server and boto3 are installed (they are on hcr's CI machines)."""
    import importlib.util
    return shutil.which("moto_server") is not None and \
        importlib.util.find_spec("boto3") is not None


class ClusterApi:
    """What the provider modules' tests ask hcr about a cluster, over its REST API.
    Mixed into a unittest.TestCase whose class has `hcr` (an Hcr)."""

    def req(self, *a, **kw):
        return self.hcr.request(*a, **kw)

    def observed(self, name):
        """The cluster's response once it is observed and active, else None."""
        r = self.req("GET", f"/v1/clusters/{name}")
        if r.status == 200 and r.json.get("observed") and r.json["state"] == "active":
            return r
        return None

    def cluster(self, name):
        return self.req("GET", f"/v1/clusters/{name}").json

    def field(self, name, path):
        for f in self.cluster(name)["fields"]:
            if f["path"] == path:
                return f
        return None

    def field_state(self, name, path, state):
        f = self.field(name, path)
        return f if f and f["state"] == state else None

    def patch(self, name, body):
        """A config PATCH under the cluster's current version."""
        version = self.cluster(name)["version"]
        return self.req("PATCH", f"/v1/clusters/{name}/config", body,
                        headers={"If-Match": f'"{version}"'})

    def events(self, name, kind):
        r = self.req("GET", f"/v1/events?cluster={name}&limit=500")
        self.assertEqual(r.status, 200, r)
        return [e for e in r.json["items"] if e["kind"] == kind]
