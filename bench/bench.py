#!/usr/bin/env python3
"""hcr's reconciler benchmark (run it with bench/run.sh; see docs/performance.md).

For each scale (1,000 and 10,000 clusters by default) it starts, from scratch:
a throwaway PostgreSQL (tests/integration/harness.py's Postgres), the fake
cloud (tests/emulators/fakecloud.py --latency-ms 50 --op-seconds 1), and
`hcr serve` for the REST API. It seeds the clusters in the fake cloud with the
admin bulk API, registers every one through the API (POST /v1/clusters, from a
small thread pool), stops the API and then measures `hcr reconcile`:

  main run      HCR_RECONCILE_RATE_PER_S=--rate, HCR_RECONCILE_CONCURRENCY=--concurrency:
                the first cycle (every cluster observed for the first time), then
                --cycles steady cycles (UPDATE cluster_schedule SET next_poll_at = now(),
                nothing changed in the cloud): cycle time, hcr CPU per poll, database
                writes per table, xmin check, peak RSS;
  default rate  the same with the default HCR_RECONCILE_RATE_PER_S (20/s): the full
                cycle, or its projection from --probe-seconds of polling;
  unlimited     the rate limit lifted (100000/s): what the fake cloud, PostgreSQL and
                hcr's own CPU allow on this machine;
  libcurl       bench/curl_baseline.c: the same GET requests through libcurl multi on
                libev, alone, at the same concurrency and paced at the poll rate hcr
                achieved: CPU per request; and once unpaced (the fake cloud's ceiling).

Prints one markdown table and writes it, with the machine and the settings, between
the "bench:begin" and "bench:end" markers of docs/performance.md (--doc).

Everything started here listens on 127.0.0.1 or a Unix socket and is stopped by PID by
this script. If this script is killed, they die with it (PR_SET_PDEATHSIG, and the fake
cloud's own watchdog), and a small guardian process removes the temporary files.
Only the standard library is used.
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/run.sh builds bin/hcr; HCR_BENCH_BIN measures another build instead.
HCR = os.path.abspath(os.environ.get("HCR_BENCH_BIN") or os.path.join(ROOT, "bin", "hcr"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import FakeCloud, Postgres, die_with_parent  # noqa: E402  (reused)

CLK_TCK = os.sysconf("SC_CLK_TCK")
TABLES = ("clusters", "cluster_fields", "cluster_events", "operations", "cluster_schedule")

# An EKS-shaped document with two node groups: hcr keeps 21 field rows per cluster for it.
DOC = {
    "kubernetesVersion": "1.29",
    "endpointPublicAccess": True,
    "tags": {"team": "payments", "env": "prod", "cost-center": "cc-1234"},
    "subnets": ["subnet-a", "subnet-b", "subnet-c"],
    "nodeGroups": [
        {"nodegroupName": "ng-a", "desiredSize": 3, "minSize": 1, "maxSize": 5,
         "labels": {"role": "web", "tier": "front"}, "version": "1.29",
         "instanceType": "m5.large"},
        {"nodegroupName": "ng-b", "desiredSize": 2, "minSize": 1, "maxSize": 10,
         "labels": {"role": "batch"}, "version": "1.29", "instanceType": "c5.xlarge"},
    ],
}

# The guardian: when the benchmark process is gone (killed), it removes the temporary
# directories. The processes themselves die with the benchmark: hcr and PostgreSQL get
# PR_SET_PDEATHSIG (harness.die_with_parent), the fake cloud watches its parent.
GUARDIAN = r"""
import os, sys, time, shutil
parent, listfile, deadline = int(sys.argv[1]), sys.argv[2], time.time() + float(sys.argv[3])
while os.getppid() == parent and time.time() < deadline and os.path.exists(listfile):
    time.sleep(0.5)
try:
    dirs = open(listfile).read().split()
except OSError:
    sys.exit(0)
time.sleep(5)  # PostgreSQL's fast shutdown
for d in dirs:
    shutil.rmtree(d, ignore_errors=True)
os.unlink(listfile)
"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Guardian:
    """Removes the temporary directories if this process dies without cleaning up."""

    def __init__(self, workdir, max_seconds):
        self.listfile = os.path.join(tempfile.gettempdir(), f"hcr-bench-{os.getpid()}.dirs")
        with open(self.listfile, "w") as f:
            f.write(workdir + "\n")
        self.proc = subprocess.Popen([sys.executable, "-c", GUARDIAN, str(os.getpid()),
                                      self.listfile, str(max_seconds)],
                                     start_new_session=True)

    def add_dir(self, path):
        with open(self.listfile, "a") as f:
            f.write(path + "\n")

    def close(self):
        """Everything was stopped and removed normally: the guardian exits doing nothing."""
        try:
            os.unlink(self.listfile)
        except OSError:
            pass
        self.proc.wait(10)


class Psql:
    """One long-lived psql session (a fork per query would add noise on a small machine)."""

    def __init__(self, pg):
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-h", pg.sock, "-p", "5432", "-U", "hcr", "-d", "hcr",
             "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)
        self.lock = threading.Lock()
        self.queries = 0

    def q(self, sql):
        """Runs `sql`; returns its output rows as lists of strings ('|'-separated)."""
        with self.lock:
            self.queries += 1
            self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __EOQ__\n")
            self.proc.stdin.flush()
            rows = []
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError("psql exited")
                line = line.rstrip("\n")
                if line == "__EOQ__":
                    break
                if line.startswith(("ERROR:", "FATAL:")):
                    raise RuntimeError(f"psql: {line} (query: {sql[:200]})")
                rows.append(line.split("|"))
            return rows

    def one(self, sql):
        rows = self.q(sql)
        return rows[0][0] if rows and rows[0] else None

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# ---- /proc ---------------------------------------------------------------------------------


def proc_stat(pid):
    """(utime+stime, cutime+cstime, ppid) in seconds, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    return ((int(rest[11]) + int(rest[12])) / CLK_TCK, (int(rest[13]) + int(rest[14])) / CLK_TCK,
            int(rest[1]))


def cpu_s(pid):
    s = proc_stat(pid)
    return s[0] if s else 0.0


def tree_cpu_s(root):
    """CPU of a process and its children, living (utime+stime) and reaped (cutime+cstime)."""
    s = proc_stat(root)
    if not s:
        return 0.0
    total = s[0] + s[1]
    for name in os.listdir("/proc"):
        if name.isdigit():
            c = proc_stat(int(name))
            if c and c[2] == root:
                total += c[0]
    return total


def vm(pid, key):
    """VmHWM / VmRSS of a process in MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# ---- processes -----------------------------------------------------------------------------


class Proc:
    """bin/hcr as a child process, its output in a file in the work directory."""

    def __init__(self, args, env, logpath):
        # Only the settings given here: none inherited from the caller's HCR_* variables.
        e = {k: v for k, v in os.environ.items() if not k.startswith("HCR_")}
        e.update(env)
        self.logpath = logpath
        self.logf = open(logpath, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf, env=e,
                                     preexec_fn=die_with_parent)
        self.pid = self.proc.pid

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def log_lines(self, level):
        with open(self.logpath, "rb") as f:
            return [l for l in f.read().decode(errors="replace").splitlines()
                    if f"level={level}" in l]


def http_json(port, method, path, body=None, token=None, conn=None, timeout=60):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)
    finally:
        if own:
            conn.close()


def register(port, token, n, threads):
    """POST /v1/clusters for c-0 .. c-(n-1), keep-alive connections, `threads` at a time."""
    per_thread = [list(range(i, n, threads)) for i in range(threads)]
    failures = []

    def worker(indices):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for i in indices:
                body = {"name": f"c-{i}", "provider": "fake", "imported": True,
                        "region": "eu-west-1", "credential": "fake"}
                for attempt in range(3):
                    try:
                        status, reply = http_json(port, "POST", "/v1/clusters", body, token, conn)
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        if attempt == 2:
                            raise
                if status != 201:
                    failures.append((i, status, reply))
        finally:
            conn.close()

    t0 = time.time()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(worker, per_thread))
    if failures:
        raise RuntimeError(f"{len(failures)} registrations failed, first: {failures[0]}")
    return time.time() - t0


# ---- measuring -------------------------------------------------------------------------------


def table_stats(db):
    out = {}
    for relname, ins, upd, dele, hot in db.q(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd "
            "FROM pg_stat_user_tables WHERE relname IN ("
            + ",".join(f"'{t}'" for t in TABLES) + ")"):
        out[relname] = {"ins": int(ins), "upd": int(upd), "del": int(dele), "hot": int(hot)}
    out["xact_commit"] = int(db.one(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
    return out


def settled_stats(db, min_wait=1.5, max_wait=15.0):
    """Table counters once PostgreSQL has flushed every backend's pending statistics
    (backends flush at most once a second, and within about a second of going idle)."""
    time.sleep(min_wait)
    last = table_stats(db)
    deadline = time.time() + max_wait
    while time.time() < deadline:
        time.sleep(0.7)
        cur = table_stats(db)
        if all(cur[t] == last[t] for t in TABLES if t in cur):
            return cur
        last = cur
    return last


def stats_delta(a, b):
    d = {}
    for t in TABLES:
        if t in a and t in b:
            d[t] = {k: b[t][k] - a[t][k] for k in a[t]}
    d["xact_commit"] = b["xact_commit"] - a["xact_commit"]
    return d


def xid_now(db):
    return int(db.one("SELECT txid_current() % 4294967296"))


def rewritten(db, since_xid):
    """Rows whose current version was written by a transaction after `since_xid`."""
    out = {}
    for t in ("clusters", "cluster_fields", "cluster_schedule"):
        out[t] = int(db.one(f"SELECT count(*) FROM {t} WHERE xmin::text::bigint > {since_xid}"))
    return out


def cloud_gets(cloud):
    st, calls = cloud.admin("GET", "/admin/calls?cluster=__none__")
    return calls["routes"].get("GET /v1/clusters/{name}", 0), calls["total"]


class Scale:
    """One scale: its database, fake cloud and registered clusters."""

    def __init__(self, n, opts, workdir, guardian):
        self.n, self.opts, self.guardian = n, opts, guardian
        self.dir = os.path.join(workdir, f"n{n}")
        os.makedirs(self.dir)
        self.pg = Postgres()
        guardian.add_dir(self.pg.dir)
        self.cloud = FakeCloud(latency_ms=opts.latency_ms, op_seconds=opts.op_seconds)
        self.db = Psql(self.pg)
        self.api_dir = os.path.join(self.dir, "api")
        self.key_file = os.path.join(self.api_dir, "master.key")
        self.reconcilers = []

    def close(self):
        for r in self.reconcilers:
            r.stop()
        self.db.close()
        self.cloud.destroy()
        self.pg.destroy()

    def setup(self):
        st, reply = self.cloud.admin("POST", "/admin/clusters/bulk",
                                     {"count": self.n, "prefix": "c-", "document": DOC})
        assert st == 200, reply
        port = free_port()
        api = Proc([HCR, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", self.api_dir,
                    "--database-url", self.pg.url],
                   {"HCR_FAKE_ENDPOINT": self.cloud.url}, os.path.join(self.dir, "api.log"))
        try:
            deadline = time.time() + 60
            while True:
                try:
                    if http_json(port, "GET", "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline or api.proc.poll() is not None:
                    raise RuntimeError("hcr serve did not become ready; see " + api.logpath)
                time.sleep(0.1)
            with open(os.path.join(self.api_dir, "admin-token")) as f:
                token = f.read().strip()
            st, reply = http_json(port, "POST", "/v1/credentials",
                                  {"name": "fake", "provider": "fake",
                                   "fake": {"token": "fake-token"}}, token)
            assert st == 201, reply
            self.register_s = register(port, token, self.n, self.opts.register_threads)
        finally:
            api.stop()
        count = int(self.db.one("SELECT count(*) FROM clusters"))
        assert count == self.n, count
        log(f"n={self.n}: registered {self.n} clusters through the API in "
            f"{self.register_s:.1f} s ({self.n / self.register_s:.0f}/s)")

    def start_reconciler(self, rate, concurrency, tag):
        env = {
            "HCR_FAKE_ENDPOINT": self.cloud.url,
            "HCR_FAKE_POLL_INTERVAL_S": str(self.opts.interval),
            "HCR_RECONCILE_CONCURRENCY": str(concurrency),
            "HCR_RECONCILE_RATE_PER_S": str(rate),
            "HCR_MASTER_KEY_FILE": self.key_file,
        }
        p = Proc([HCR, "reconcile", "--data-dir", os.path.join(self.dir, f"rec-{tag}"),
                  "--database-url", self.pg.url], env,
                 os.path.join(self.dir, f"reconcile-{tag}.log"))
        self.reconcilers.append(p)
        return p

    def stop_reconciler(self, p):
        """Stops it (SIGTERM); returns (warning and error lines in its log, seconds to stop)."""
        t = time.time()
        code = p.stop(timeout=180)
        took = time.time() - t
        self.reconcilers.remove(p)
        warns = p.log_lines("warn") + p.log_lines("error")
        for line in warns[:3]:
            log(f"hcr reconcile said: {line[:300]}")
        if code != 0:
            raise RuntimeError(f"hcr reconcile exited with {code}; see {p.logpath}")
        return len(warns), took

    def force_all_due(self):
        """Makes every cluster due now; returns (t0 epoch seconds, xid) of that transaction."""
        rows = self.db.q("BEGIN; UPDATE cluster_schedule SET next_poll_at = now(); "
                         "SELECT extract(epoch FROM now()), txid_current() % 4294967296; COMMIT")
        return float(rows[-1][0]), int(rows[-1][1])

    def snapshot(self, rec=None):
        """CPU of hcr (0 before it starts), PostgreSQL and the fake cloud; cloud GETs."""
        return {"hcr": cpu_s(rec.pid) if rec else 0.0, "pg": tree_cpu_s(self.pg.proc.pid),
                "cloud": cpu_s(self.cloud.proc.pid), "gets": cloud_gets(self.cloud)[0],
                "wall": time.time()}

    def cycle(self, rec, t0, limit_s, forced, snap0):
        """Waits until every cluster was polled at or after t0 (or limit_s passed).

        Returns the measurements; CPU and cloud calls are read as soon as the last cluster
        is seen polled (every 0.25 s), so at most that much idle time is included.
        """
        where = f"last_polled_at >= to_timestamp({t0})"
        done = 0
        while True:
            time.sleep(0.25)
            done = int(self.db.one(f"SELECT count(*) FROM cluster_schedule WHERE {where}"))
            if done >= self.n or time.time() - snap0["wall"] > limit_s:
                break
            if rec.proc.poll() is not None:
                raise RuntimeError(f"hcr reconcile exited; see {rec.logpath}")
        snap1 = self.snapshot(rec)
        polls = snap1["gets"] - snap0["gets"]
        hcr, pg, cloud = (snap1[k] - snap0[k] for k in ("hcr", "pg", "cloud"))
        last = float(self.db.one(
            f"SELECT extract(epoch FROM max(last_polled_at)) FROM cluster_schedule WHERE {where}")
            or t0)
        first = float(self.db.one(
            f"SELECT extract(epoch FROM min(last_polled_at)) FROM cluster_schedule WHERE {where}")
            or t0)
        peak = int(self.db.one(
            f"SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM cluster_schedule "
            f"WHERE {where} GROUP BY floor(extract(epoch FROM last_polled_at))) x"))
        complete = done >= self.n
        return {
            "peak_polls_1s": peak,
            "complete": complete, "polled": done, "polls": polls,
            "cycle_s": (last - t0) if complete else (snap1["wall"] - t0),
            "first_poll_after_s": first - t0,
            "polls_per_s": done / (last - first) if last > first else 0.0,
            "hcr_cpu_s": hcr, "pg_cpu_s": pg, "cloud_cpu_s": cloud,
            "hcr_cpu_per_poll_us": hcr / polls * 1e6 if polls else None,
            "pg_cpu_per_poll_us": pg / polls * 1e6 if polls else None,
            "cloud_cpu_per_poll_us": cloud / polls * 1e6 if polls else None,
            "forced": forced,
        }

    def measured_cycle(self, limit_s, rec=None, start=None):
        """One cycle with database-write accounting around it: the first one when `start`
        (a function that starts hcr reconcile) is given, else a forced steady one."""
        before = settled_stats(self.db)
        q0 = self.db.queries
        snap0 = self.snapshot(rec)
        if start:
            xid = xid_now(self.db)
            t0, forced_rows = time.time(), 0
            rec = start()
        else:
            t0, xid = self.force_all_due()
            forced_rows = self.n
        r = self.cycle(rec, t0, limit_s, not start, snap0)
        after = settled_stats(self.db)
        d = stats_delta(before, after)
        # Our own UPDATE made every row due: those are not the reconciler's writes. (It
        # changes the indexed next_poll_at, so none of them is a HOT update.)
        d["cluster_schedule"]["upd"] -= forced_rows
        # Our own monitoring queries (one transaction each) are not the reconciler's.
        d["xact_commit"] -= self.db.queries - q0
        r["writes"] = d
        r["rewritten"] = rewritten(self.db, xid)
        r["rss_hwm_mib"] = vm(rec.pid, "VmHWM")
        r["rss_mib"] = vm(rec.pid, "VmRSS")
        return rec, r


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def baseline(exe, cloud, n, requests, concurrency, rate, burst):
    args = [exe, "--url", cloud.url, "--count", str(requests), "--clusters", str(n),
            "--concurrency", str(concurrency), "--rate", str(rate), "--burst", str(burst)]
    fc0 = cpu_s(cloud.proc.pid)
    out = subprocess.run(args, capture_output=True, text=True, timeout=900)
    fc1 = cpu_s(cloud.proc.pid)
    if not out.stdout.strip():
        raise RuntimeError(f"curl_baseline failed: {out.stderr}")
    r = json.loads(out.stdout)
    if r["errors"]:
        raise RuntimeError(f"curl_baseline: {r['errors']} failed requests: {out.stderr}")
    r["cloud_cpu_per_req_us"] = (fc1 - fc0) / r["requests"] * 1e6
    return r


def run_scale(n, opts, workdir, guardian):
    s = Scale(n, opts, workdir, guardian)
    res = {"n": n}
    try:
        s.setup()
        res["register_s"] = s.register_s

        # -- main run: first cycle, then steady cycles -------------------------------------
        limit = max(120.0, 4.0 * n / opts.rate + 60)
        rec, first = s.measured_cycle(
            limit, start=lambda: s.start_reconciler(opts.rate, opts.concurrency, "main"))
        log(f"n={n}: first cycle {first['cycle_s']:.1f} s, "
            f"{first['hcr_cpu_per_poll_us']:.0f} us hcr CPU/poll")
        steady = []
        for i in range(opts.cycles):
            _, c = s.measured_cycle(limit, rec=rec)
            steady.append(c)
            log(f"n={n}: steady cycle {i + 1}: {c['cycle_s']:.1f} s, "
                f"{c['hcr_cpu_per_poll_us']:.0f} us hcr CPU/poll, polls={c['polls']}, "
                f"writes clusters={c['writes']['clusters']['upd']} "
                f"fields={sum(c['writes']['cluster_fields'].values())} "
                f"events={c['writes']['cluster_events']['ins']} "
                f"schedule={c['writes']['cluster_schedule']['upd']}")
        res["rss_hwm_mib"] = vm(rec.pid, "VmHWM")
        res["warnings_main"], res["stop_s_main"] = s.stop_reconciler(rec)
        res["first"], res["steady"] = first, steady

        # -- the default rate limit (20/s) ---------------------------------------------------
        if opts.default_rate:
            full = opts.full or n / opts.default_rate <= opts.probe_seconds
            snap0 = s.snapshot()
            t0, _ = s.force_all_due()
            rec = s.start_reconciler(opts.default_rate, opts.concurrency, "default")
            c = s.cycle(rec, t0, (4.0 * n / opts.default_rate + 60) if full
                        else opts.probe_seconds, True, snap0)
            c["projected_cycle_s"] = c["cycle_s"] if c["complete"] else (
                c["first_poll_after_s"] + n / c["polls_per_s"] if c["polls_per_s"] else None)
            c["rss_hwm_mib"] = vm(rec.pid, "VmHWM")
            c["warnings"], c["stop_s"] = s.stop_reconciler(rec)
            res["default_rate"] = c
            log(f"n={n}: default rate {opts.default_rate}/s: polled {c['polled']} in "
                f"{c['cycle_s']:.1f} s, full cycle "
                f"{'measured' if c['complete'] else 'projected'} "
                f"{c['projected_cycle_s']:.0f} s; stopping hcr took {c['stop_s']:.1f} s")

        # -- rate limit lifted ----------------------------------------------------------------
        if opts.unlimited:
            snap0 = s.snapshot()
            t0, _ = s.force_all_due()
            rec = s.start_reconciler(100000, opts.concurrency, "unlimited")
            c = s.cycle(rec, t0, limit, True, snap0)
            c["rss_hwm_mib"] = vm(rec.pid, "VmHWM")
            c["warnings"], c["stop_s"] = s.stop_reconciler(rec)
            res["unlimited"] = c
            log(f"n={n}: unlimited: {c['cycle_s']:.1f} s "
                f"({c['polls_per_s']:.0f} polls/s), {c['hcr_cpu_per_poll_us']:.0f} us/poll, "
                f"{c['warnings']} warnings")

        # -- libcurl alone ----------------------------------------------------------------------
        # The same GETs at the same concurrency and at the rate hcr really sent them (its
        # median steady poll rate; the configured limit, when hcr keeps to it).
        achieved = med([c["polls_per_s"] for c in steady]) or opts.rate
        base_rate = max(1, round(achieved))
        reqs = min(n, opts.baseline_requests)
        runs = [baseline(opts.baseline_exe, s.cloud, n, reqs, opts.concurrency, base_rate,
                         opts.burst) for _ in range(opts.baseline_runs)]
        res["baseline"], res["baseline_rate"] = runs, base_rate
        log(f"n={n}: libcurl alone at {base_rate}/s: "
            + ", ".join(f"{r['cpu_per_req_us']:.0f}" for r in runs) + " us/request")
        if opts.unlimited:
            r = baseline(opts.baseline_exe, s.cloud, n, n, opts.concurrency, 0, opts.burst)
            res["baseline_unlimited"] = r
            log(f"n={n}: libcurl alone, no rate limit: {r['rps']:.0f} requests/s, "
                f"{r['cpu_per_req_us']:.0f} us/request")
    finally:
        s.close()
    return res


# ---- the report ------------------------------------------------------------------------------


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pgv = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout.strip()
    curlv = subprocess.run(["curl-config", "--version"], capture_output=True,
                           text=True).stdout.strip() if shutil.which("curl-config") else "?"
    hcrv = subprocess.run([HCR, "version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "mem": mem, "kernel": platform.release(),
            "python": platform.python_version(), "postgres": pgv, "libcurl": curlv,
            "hcr": hcrv}


def fmt(x, digits=0, unit=""):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}{unit}"


def summarize(res, opts):
    st = res["steady"]
    s = {"n": res["n"]}
    s["first_cycle_s"] = res["first"]["cycle_s"]
    s["steady_cycle_s"] = med([c["cycle_s"] for c in st])
    s["hcr_us"] = med([c["hcr_cpu_per_poll_us"] for c in st])
    s["hcr_us_all"] = [c["hcr_cpu_per_poll_us"] for c in st]
    s["hcr_first_us"] = res["first"]["hcr_cpu_per_poll_us"]
    s["pg_us"] = med([c["pg_cpu_per_poll_us"] for c in st])
    s["cloud_us"] = med([c["cloud_cpu_per_poll_us"] for c in st])
    s["curl_us"] = med([r["cpu_per_req_us"] for r in res["baseline"]])
    s["curl_us_all"] = [r["cpu_per_req_us"] for r in res["baseline"]]
    s["ratio"] = s["hcr_us"] / s["curl_us"] if s["hcr_us"] and s["curl_us"] else None
    s["rss"] = max(x for x in [res.get("rss_hwm_mib"),
                               (res.get("unlimited") or {}).get("rss_hwm_mib"),
                               (res.get("default_rate") or {}).get("rss_hwm_mib")] if x)
    s["rss_main"] = res.get("rss_hwm_mib")
    w = [c["writes"] for c in st]
    s["w_clusters"] = max(x["clusters"]["upd"] + x["clusters"]["ins"] + x["clusters"]["del"]
                          for x in w)
    s["w_fields"] = max(sum(x["cluster_fields"][k] for k in ("ins", "upd", "del")) for x in w)
    s["w_events"] = max(x["cluster_events"]["ins"] for x in w)
    s["w_ops"] = max(sum(x["operations"][k] for k in ("ins", "upd", "del")) for x in w)
    s["w_sched"] = med([x["cluster_schedule"]["upd"] for x in w])
    s["w_sched_hot"] = med([x["cluster_schedule"]["hot"] for x in w])
    s["xacts"] = med([x["xact_commit"] for x in w])
    s["polls"] = med([c["polls"] for c in st])
    s["rw_clusters"] = max(c["rewritten"]["clusters"] for c in st)
    s["rw_fields"] = max(c["rewritten"]["cluster_fields"] for c in st)
    s["first_writes"] = res["first"]["writes"]
    dr = res.get("default_rate")
    s["default_cycle_s"] = dr["projected_cycle_s"] if dr else None
    s["default_measured"] = dr["complete"] if dr else None
    s["default_pps"] = (dr["polled"] / dr["cycle_s"]) if dr and dr["cycle_s"] else None
    un = res.get("unlimited")
    s["unl_cycle_s"] = un["cycle_s"] if un else None
    s["unl_pps"] = (res["n"] / un["cycle_s"]) if un and un["complete"] else None
    s["unl_hcr_us"] = un["hcr_cpu_per_poll_us"] if un else None
    s["unl_pg_us"] = un["pg_cpu_per_poll_us"] if un else None
    s["unl_cloud_us"] = un["cloud_cpu_per_poll_us"] if un else None
    bu = res.get("baseline_unlimited")
    s["curl_unl_rps"] = bu["rps"] if bu else None
    s["curl_unl_us"] = bu["cpu_per_req_us"] if bu else None
    s["curl_cloud_us"] = med([r["cloud_cpu_per_req_us"] for r in res["baseline"]])
    s["register_s"] = res["register_s"]
    s["warnings"] = res.get("warnings_main", 0)
    s["rate_achieved"] = med([c["polls_per_s"] for c in st])
    s["peak_1s"] = max(c["peak_polls_1s"] for c in st)
    # A kept limit allows `burst` at once, then `rate` a second: the busiest one-second window
    # (whole seconds of last_polled_at) holds at most rate + burst, and the average over the
    # cycle is at most rate * n / (n - burst); 5% and one poll of slack for response jitter.
    avg_max = opts.rate * s["n"] / max(1, s["n"] - opts.burst)
    s["rate_ok"] = (s["peak_1s"] <= 1.05 * (opts.rate + opts.burst) + 1
                    and s["rate_achieved"] <= 1.05 * avg_max)
    s["default_peak_1s"] = dr["peak_polls_1s"] if dr else None
    s["default_ok"] = ((dr["peak_polls_1s"] <= 1.05 * (opts.default_rate + opts.burst) + 1)
                       if dr else None)
    s["baseline_rate"] = res["baseline_rate"]
    s["stop_s_default"] = dr["stop_s"] if dr else None
    return s


def render(summaries, opts, mach, started, elapsed):
    cols = [f"{s['n']:,} clusters" for s in summaries]
    rows = []

    def row(label, values):
        rows.append(f"| {label} | " + " | ".join(values) + " |")

    row("full cycle, first (every cluster observed for the first time)",
        [fmt(s["first_cycle_s"], 1, " s") for s in summaries])
    row(f"full cycle, steady (nothing changed), median of {opts.cycles}",
        [fmt(s["steady_cycle_s"], 1, " s") for s in summaries])
    row(f"poll rate, steady (median) / busiest second, against the limit {opts.rate}/s "
        f"(burst {opts.burst})",
        [f"{fmt(s['rate_achieved'], 0)}/s / {s['peak_1s']} "
         f"({'kept' if s['rate_ok'] else '**limit not kept**'})" for s in summaries])
    row(f"full cycle at the default rate limit ({opts.default_rate}/s); busiest second",
        [((fmt(s["default_cycle_s"], 1, " s") +
           ("" if s["default_measured"] else " (projected)")) if s["default_cycle_s"] else "n/a")
         + (f"; {s['default_peak_1s']} polls"
            + ("" if s["default_ok"] else " (**limit not kept**)")
            if s["default_peak_1s"] is not None else "")
         for s in summaries])
    row("full cycle with the rate limit lifted (what this machine allows)",
        [f"{fmt(s['unl_cycle_s'], 1, ' s')} ({fmt(s['unl_pps'], 0)} polls/s)"
         for s in summaries])
    row("**hcr CPU per poll** (median of steady cycles)",
        [f"**{fmt(s['hcr_us'], 0, ' µs')}** ({', '.join(fmt(x, 0) for x in s['hcr_us_all'])})"
         for s in summaries])
    row(f"libcurl alone, CPU per request (same GETs, same concurrency, paced at hcr's poll "
        f"rate; median of {opts.baseline_runs})",
        [f"{fmt(s['curl_us'], 0, ' µs')} at {s['baseline_rate']}/s "
         f"({', '.join(fmt(x, 0) for x in s['curl_us_all'])})" for s in summaries])
    row("**ratio hcr / libcurl** (target ≤ 2)",
        [f"**{fmt(s['ratio'], 2)}×**" for s in summaries])
    row("hcr CPU per poll, first cycle (writes observed state)",
        [fmt(s["hcr_first_us"], 0, " µs") for s in summaries])
    row("hcr CPU per poll, rate limit lifted",
        [fmt(s["unl_hcr_us"], 0, " µs") for s in summaries])
    row("PostgreSQL CPU per poll, steady (all its processes)",
        [fmt(s["pg_us"], 0, " µs") for s in summaries])
    row("fake cloud CPU per poll, steady (Python)",
        [fmt(s["cloud_us"], 0, " µs") for s in summaries])
    row("**peak RSS of hcr reconcile** (VmHWM; target < 256 MB)",
        [f"**{fmt(s['rss'], 1, ' MiB')}**" for s in summaries])
    row("DB rows written per steady cycle: `clusters`",
        [f"{s['w_clusters']:,}" for s in summaries])
    row("… `cluster_fields` (ins+upd+del)",
        [f"{s['w_fields']:,}" + (f" ({s['w_fields'] / s['polls']:.1f}/poll)" if s["polls"] else "")
         for s in summaries])
    row("… `cluster_events` (inserted)", [f"{s['w_events']:,}" for s in summaries])
    row("… `operations` (ins+upd+del)", [f"{s['w_ops']:,}" for s in summaries])
    row("… `cluster_schedule` updates (claim + release; HOT)",
        [f"{fmt(s['w_sched'], 0)} = {fmt(s['w_sched'] / s['polls'] if s['polls'] else None, 2)}"
         f"/poll ({fmt(s['w_sched_hot'], 0)} HOT)" for s in summaries])
    row("… rows of `clusters` / `cluster_fields` with a new xmin after the cycle",
        [f"{s['rw_clusters']:,} / {s['rw_fields']:,}" for s in summaries])
    row("committed transactions per poll, steady",
        [fmt(s["xacts"] / s["polls"] if s["polls"] else None, 2) for s in summaries])
    row("cloud GETs per steady cycle", [fmt(s["polls"], 0) for s in summaries])
    row("registration through the API (POST /v1/clusters)",
        [f"{fmt(s['register_s'], 1, ' s')} ({fmt(s['n'] / s['register_s'], 0)}/s)"
         for s in summaries])
    row("fake cloud ceiling, libcurl alone, no rate limit",
        [f"{fmt(s['curl_unl_rps'], 0)} req/s" for s in summaries])

    lines = []
    lines.append(f"Run {started} UTC, {elapsed / 60:.1f} min, `{mach['hcr']}`.")
    lines.append("")
    lines.append(f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem']} RAM, "
                 f"Linux {mach['kernel']}, {mach['postgres']} (fsync=off, as in the tests), "
                 f"libcurl {mach['libcurl'].replace('libcurl ', '')}, Python {mach['python']}.")
    lines.append("")
    lines.append(f"Settings: fake cloud `--latency-ms {opts.latency_ms:g} --op-seconds "
                 f"{opts.op_seconds:g}`; `HCR_FAKE_POLL_INTERVAL_S={opts.interval}`, "
                 f"`HCR_RECONCILE_RATE_PER_S={opts.rate}` (burst {opts.burst}, the default), "
                 f"`HCR_RECONCILE_CONCURRENCY={opts.concurrency}`; every cluster shares one "
                 f"credential and region, so one rate-limit bucket governs the whole run. "
                 f"Steady cycles are forced with `UPDATE cluster_schedule SET next_poll_at = "
                 f"now()`; those updates are subtracted from the counts.")
    lines.append("")
    lines.append("| | " + " | ".join(cols) + " |")
    lines.append("|---|" + "---|" * len(cols))
    lines.extend(rows)
    lines.append("")
    lines.append("Targets:")
    lines.append("")
    big = summaries[-1]
    interval = opts.interval
    # (each target is judged from the figures above)
    for s in summaries:
        n, cyc = s["n"], s["steady_cycle_s"]
        allowed = max(0.0, (n - opts.burst) / opts.rate)
        if not s["rate_ok"]:
            verdict = (f"NOT met as asked: the cycle took {fmt(cyc, 1, ' s')} only because hcr "
                       f"exceeded the {opts.rate}/s limit ({fmt(s['rate_achieved'], 0)} polls/s, "
                       f"{s['peak_1s']} in its busiest second); keeping to it takes at least "
                       f"{fmt(allowed, 0, ' s')}")
        else:
            met = cyc and cyc < interval / 2
            verdict = f"{fmt(cyc, 1, ' s')} ({'met' if met else 'NOT met'})"
        lines.append(f"- {n:,} clusters, cycle well inside {interval} s at {opts.rate}/s: "
                     + verdict)
    for s in summaries:
        n = s["n"]
        if not s["default_cycle_s"]:
            continue
        allowed = max(0.0, (n - opts.burst) / opts.default_rate)
        if s["default_ok"]:
            lines.append(f"- {n:,} clusters at the default {opts.default_rate}/s: "
                         f"{fmt(s['default_cycle_s'], 0, ' s')}"
                         f"{'' if s['default_measured'] else ' (projected)'} "
                         f"({'fits' if s['default_cycle_s'] < interval else 'does NOT fit'} "
                         f"in {interval} s)")
        else:
            lines.append(f"- {n:,} clusters at the default {opts.default_rate}/s: measured "
                         f"{fmt(s['default_cycle_s'], 1, ' s')} with the limit not kept "
                         f"({s['default_peak_1s']} polls in one second); a kept limit needs "
                         f"{fmt(allowed, 0, ' s')} "
                         f"({'fits' if allowed < interval else 'does NOT fit'} in {interval} s)")
    def rows_verdict(s, written, rewritten):
        if written == 0 and rewritten == 0:
            return f"{s['n']:,}: met"
        return f"{s['n']:,}: NOT met, {max(written, rewritten):,} rows rewritten per cycle"

    lines.append("- no cluster row rewritten when nothing changed: `clusters`: "
                 + ", ".join(rows_verdict(s, s["w_clusters"], s["rw_clusters"])
                             for s in summaries)
                 + "; `cluster_fields` (one row per managed path of a cluster): "
                 + ", ".join(rows_verdict(s, s["w_fields"], s["rw_fields"]) for s in summaries)
                 + "; `cluster_events`: "
                 + ", ".join(rows_verdict(s, s["w_events"], 0) for s in summaries))
    lines.append("- CPU per poll within 2× of libcurl alone: "
                 + ", ".join(f"{s['n']:,}: {fmt(s['ratio'], 2)}× "
                             f"({'met' if s['ratio'] and s['ratio'] <= 2 else 'NOT met'})"
                             for s in summaries))
    lines.append(f"- peak RSS under 256 MB at {big['n']:,}: {fmt(big['rss'], 1, ' MiB')} "
                 f"({'met' if big['rss'] and big['rss'] * 1.048576 < 256 else 'NOT met'})")
    return "\n".join(lines)


def write_doc(path, block):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + block + "\n" + end + tail
    else:
        text = (text.rstrip() + "\n\n" if text else "# Performance\n\n") + begin + "\n" + block \
               + "\n" + end + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--rate", type=int, default=100, help="HCR_RECONCILE_RATE_PER_S")
    ap.add_argument("--burst", type=int, default=40, help="reconcile.burst (hcr's default)")
    ap.add_argument("--concurrency", type=int, default=500, help="HCR_RECONCILE_CONCURRENCY")
    ap.add_argument("--interval", type=int, default=300, help="HCR_FAKE_POLL_INTERVAL_S")
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--op-seconds", type=float, default=1)
    ap.add_argument("--cycles", type=int, default=3, help="steady cycles per scale")
    ap.add_argument("--default-rate", type=int, default=20,
                    help="also measure this rate limit (hcr's default); 0 skips it")
    ap.add_argument("--probe-seconds", type=float, default=60,
                    help="at the default rate, project the cycle from this long when the "
                         "full cycle would take longer")
    ap.add_argument("--full", action="store_true",
                    help="at the default rate, always wait for the full cycle")
    ap.add_argument("--no-unlimited", dest="unlimited", action="store_false")
    ap.add_argument("--baseline-runs", type=int, default=3)
    ap.add_argument("--baseline-requests", type=int, default=3000,
                    help="requests per libcurl run (at most the number of clusters)")
    ap.add_argument("--baseline-exe", default=None,
                    help="the compiled bench/curl_baseline.c (bench/run.sh builds it)")
    ap.add_argument("--register-threads", type=int, default=8)
    ap.add_argument("--doc", default=None, help="update this markdown file's bench block")
    ap.add_argument("--json", default=None, help="write the raw results here")
    ap.add_argument("--from-json", default=None,
                    help="render the results saved by --json instead of running")
    ap.add_argument("--max-minutes", type=float, default=45,
                    help="the guardian gives up waiting after this long")
    opts = ap.parse_args()
    if not opts.from_json and not opts.baseline_exe:
        ap.error("--baseline-exe is required (bench/run.sh builds and passes it)")

    if opts.from_json:
        # Renders a saved run again (the machine line describes this machine).
        with open(opts.from_json) as f:
            saved = json.load(f)
        results = saved["results"]
        started, elapsed = saved.get("started", "?"), saved.get("elapsed_s", 0.0)
        opts.rate = saved.get("rate", opts.rate)
    else:
        started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        t_begin = time.time()
        workdir = tempfile.mkdtemp(prefix="hcr-bench-")
        guardian = Guardian(workdir, opts.max_minutes * 60)
        results = []
        try:
            for n in [int(x) for x in opts.sizes.split(",") if x]:
                log(f"n={n}: starting")
                results.append(run_scale(n, opts, workdir, guardian))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            guardian.close()
        elapsed = time.time() - t_begin
    summaries = [summarize(r, opts) for r in results]
    block = render(summaries, opts, machine(), started, elapsed)
    print(block)
    if opts.json and not opts.from_json:
        with open(opts.json, "w") as f:
            json.dump({"results": results, "summaries": summaries, "started": started,
                       "elapsed_s": elapsed, "rate": opts.rate}, f, indent=1, default=str)
    if opts.doc:
        write_doc(opts.doc, block)
        log(f"wrote the table into {opts.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
