#!/usr/bin/env python3
"""The compare benchmark (issue 6): `hcr compare --diff` of two emulated clusters with
20,000 objects each, beside the time `kubectl get` takes just to list the same objects
from both clusters, in the same run. See docs/performance.md ("Comparing two clusters").

    bench/compare.sh                       build bin/hcr, then run this
    python3 bench/compare.py [--objects 20000] [--runs 5] [--doc docs/performance.md]

It starts tests/emulators/kubeemu.py (through the KubeEmulator harness of
tests/integration/test_kube_emulator.py) with two clusters over TLS (kubectl sends its
token only over https), bulk-loads the same mixed objects into both (ConfigMaps,
Secrets, Services, Deployments, ServiceAccounts, Roles, RoleBindings over 20
namespaces), then changes 10 % of the right cluster's objects and makes 5 % one-sided
(half only left, half only right). Each measured round runs, one after the other:

  kubectl   two `kubectl get <kinds> -A --chunk-size=500 -o json > /dev/null`, one per
            cluster, at the same time (hcr also reads both clusters at once); <kinds> are
            exactly the kinds hcr compares, so both read the same objects. Its
            discovery cache is warm (a first run fills it), which favours kubectl.
  hcr       `bin/hcr compare --left left --right right --diff -o json > /dev/null` under
            /usr/bin/time -v (peak RSS), and once more without --diff.

Medians over --runs rounds; the ratio is hcr --diff / kubectl. The answer of every hcr
run is checked (the numbers of different and one-sided rows are known). Prints a
markdown table, and with --doc rewrites the block between the "compare-bench:begin"
and "compare-bench:end" markers. Everything listens on 127.0.0.1 and is stopped by PID.
Only public tools: Python's standard library, kubectl, GNU time.
"""

import argparse
import base64
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HCR = os.path.abspath(os.environ.get("HCR_BENCH_BIN") or os.path.join(ROOT, "bin", "hcr"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from test_kube_emulator import KubeEmulator  # noqa: E402  (reused)

# Shares of the objects, by kind (they add up to 1).
MIX = [("ConfigMap", 0.35), ("Secret", 0.15), ("Service", 0.10), ("Deployment", 0.15),
       ("ServiceAccount", 0.10), ("Role", 0.075), ("RoleBinding", 0.075)]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make(kind, name, ns, rnd, variant=0):
    """One object of `kind`; `variant` changes its content (a "different" object)."""
    meta = {"name": name, "namespace": ns, "labels": {"app": name[:40], "tier": "bench"}}
    if kind == "ConfigMap":
        data = {f"key-{i}": f"value-{i}-{variant}-" + "x" * rnd.randint(40, 160)
                for i in range(rnd.randint(3, 6))}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
    if kind == "Secret":
        data = {f"k{i}": base64.b64encode(f"secret-{name}-{i}-{variant}".encode()).decode()
                for i in range(3)}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                "data": data}
    if kind == "Service":
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
                "spec": {"selector": {"app": name[:40]},
                         "ports": [{"name": "http", "port": 80 + variant, "targetPort": 8080},
                                   {"name": "metrics", "port": 9090}]}}
    if kind == "Deployment":
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                "spec": {"replicas": 2 + variant,
                         "selector": {"matchLabels": {"app": name[:40]}},
                         "template": {"metadata": {"labels": {"app": name[:40]}},
                                      "spec": {"containers": [{
                                          "name": "main", "image": f"registry/app:{1 + variant}",
                                          "ports": [{"containerPort": 8080}],
                                          "env": [{"name": "MODE", "value": "prod"},
                                                  {"name": "WORKERS", "value": "4"}],
                                          "resources": {"limits": {"cpu": "500m",
                                                                   "memory": "256Mi"}}}]}}}}
    if kind == "ServiceAccount":
        if variant:
            meta["annotations"] = {"bench/variant": str(variant)}
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    if kind == "Role":
        verbs = ["get", "list", "watch"] + (["update"] if variant else [])
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"],
                           "verbs": verbs}]}
    if kind == "RoleBinding":
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": name.replace("rolebinding", "role")},
                "subjects": [{"kind": "ServiceAccount", "name": f"sa-{variant}",
                              "namespace": ns}]}
    raise ValueError(kind)


def fixture(n, namespaces, seed=6):
    """(left items, right items, expected counts): n objects a side; 10 % of the shared
    ones differ on the right; 2.5 % are only left, 2.5 % only right."""
    rnd = random.Random(seed)
    one_sided = n * 5 // 100
    shared = n - one_sided // 2
    left, right = [], []
    specs = []
    i = 0
    for kind, share in MIX:
        for _ in range(round((shared + one_sided) * share)):
            specs.append((kind, f"{kind.lower()}-{i:06d}", f"bench-{i % namespaces:02d}"))
            i += 1
    rnd.shuffle(specs)
    specs = specs[:shared + one_sided]
    left_only = set(range(0, one_sided, 2))
    right_only = set(range(1, one_sided, 2))
    different = 0
    for idx, (kind, name, ns) in enumerate(specs):
        obj_rnd = random.Random(f"{seed}-{name}")
        base = make(kind, name, ns, obj_rnd)
        if idx in left_only:
            left.append(base)
            continue
        if idx in right_only:
            right.append(base)
            continue
        left.append(base)
        if different < n // 10 and idx % 9 == 0:
            right.append(make(kind, name, ns, random.Random(f"{seed}-{name}"), variant=1))
            different += 1
        else:
            right.append(make(kind, name, ns, random.Random(f"{seed}-{name}")))
    expect = {"different": different, "leftOnly": len(left_only), "rightOnly": len(right_only)}
    return left, right, expect


# The engine alone: every object compared and diffed, only the differing rows reported.
VIEW_DIFFERENT = [HCR, "compare", "--left", "left", "--right", "right", "--diff", "--view",
                  "different", "-o", "json"]


def load(kube, cluster, items, chunk=4000):
    for i in range(0, len(items), chunk):
        out = kube.load(cluster, items=items[i:i + chunk])
        if out.get("failed"):
            raise RuntimeError(f"load into {cluster} failed: {out['errors'][:3]}")


def timed(cmd, env=None, stdout=subprocess.DEVNULL):
    """Runs `cmd` under /usr/bin/time -v: (seconds, peak RSS KiB, CPU seconds, exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + cmd, stdout=stdout,
                           stderr=subprocess.PIPE, env=env)
        wall = time.monotonic() - t0
        text = tf.read()
    rss = int(next(l.split(":")[1] for l in text.splitlines() if "Maximum resident" in l))
    user = float(next(l.split(":")[1] for l in text.splitlines() if "User time" in l))
    sys_ = float(next(l.split(":")[1] for l in text.splitlines() if "System time" in l))
    if p.returncode not in (0, 1):
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return wall, rss, user + sys_, p.returncode


def kubectl_both(kubeconfig, kinds, cache):
    """Both clusters listed at once: (wall seconds, [per-cluster seconds], [peak RSS KiB])."""
    procs = []
    t0 = time.monotonic()
    for ctx in ("left", "right"):
        tf = tempfile.NamedTemporaryFile("r", suffix=".time", delete=False)
        cmd = ["/usr/bin/time", "-v", "-o", tf.name, "kubectl", "--kubeconfig", kubeconfig,
               "--context", ctx, "--cache-dir", cache, "get", ",".join(kinds), "-A",
               "--chunk-size=500", "-o", "json"]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE), tf, time.monotonic()))
    each, rss = [], []
    for p, tf, start in procs:
        _, err = p.communicate()
        each.append(time.monotonic() - start)
        text = open(tf.name).read()
        os.unlink(tf.name)
        if p.returncode != 0:
            raise RuntimeError(f"kubectl failed: {err.decode()[-2000:]}")
        rss.append(int(next(l.split(":")[1] for l in text.splitlines()
                            if "Maximum resident" in l)))
    return time.monotonic() - t0, each, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=20000, help="objects per cluster")
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5, help="measured rounds (medians)")
    ap.add_argument("--doc", default=None, help="update this markdown file's block")
    ap.add_argument("--json", default=None, help="write the raw figures here")
    args = ap.parse_args()
    if not shutil.which("kubectl"):
        sys.exit("bench: kubectl is not installed")
    if not os.access(HCR, os.X_OK):
        sys.exit(f"bench: {HCR} is missing; run make bin/hcr (or bench/compare.sh)")

    work = tempfile.mkdtemp(prefix="hcr-bench-cmp-")
    kube = None
    try:
        log(f"building the fixture: {args.objects} objects a cluster")
        left, right, expect = fixture(args.objects, args.namespaces)
        kube = KubeEmulator(clusters=["left", "right"], tls=True)
        t0 = time.monotonic()
        load(kube, "left", left)
        load(kube, "right", right)
        log(f"loaded {len(left)} + {len(right)} objects in {time.monotonic() - t0:.1f} s; "
            f"expect {expect}")
        del left, right
        kc = kube.write_kubeconfig(os.path.join(work, "kubeconfig"))
        env = dict(os.environ, KUBECONFIG=kc, TMPDIR=work)
        cache = os.path.join(work, "kubectl-cache")

        # The kinds hcr compares by default, named for kubectl; and a warm-up of both.
        out = subprocess.run([HCR, "compare", "--left", "left", "--right", "right", "-o", "json"],
                             capture_output=True, env=env)
        if out.returncode not in (0, 1):
            raise RuntimeError(f"hcr compare failed: {out.stderr.decode()}")
        doc = json.loads(out.stdout)
        plurals = resource_names(kube, doc["kinds"])
        kubectl_both(kc, plurals, cache)

        rounds = []
        for r in range(args.runs):
            kwall, keach, krss = kubectl_both(kc, plurals, cache)
            kalone, _, _, _ = timed(["kubectl", "--kubeconfig", kc, "--context", "left",
                                     "--cache-dir", cache, "get", ",".join(plurals), "-A",
                                     "--chunk-size=500", "-o", "json"])
            with tempfile.TemporaryFile() as f:
                hwall, hrss, hcpu, code = timed(
                    [HCR, "compare", "--left", "left", "--right", "right", "--diff", "-o",
                     "json"], env=env, stdout=f)
                f.seek(0)
                got = json.load(f)
            s = got["summary"]
            for key, want in expect.items():
                if s[key] != want:
                    raise RuntimeError(f"hcr compare found {key}={s[key]}, expected {want}")
            diffs = sum(1 for it in got["items"] if it.get("diff"))
            nwall, nrss, ncpu, _ = timed([HCR, "compare", "--left", "left", "--right", "right",
                                          "-o", "json"], env=env)
            vwall, vrss, _, _ = timed(VIEW_DIFFERENT, env=env)
            rounds.append({"kubectl": kwall, "kubectl_each": keach, "kubectl_rss": krss,
                           "kubectl_alone": kalone,
                           "hcr": hwall, "hcr_rss": hrss, "hcr_cpu": hcpu,
                           "hcr_nodiff": nwall, "hcr_nodiff_rss": nrss,
                           "hcr_vd": vwall, "hcr_vd_rss": vrss,
                           "seconds": got["seconds"], "rows": s, "diffs": diffs})
            log(f"round {r + 1}: kubectl {kwall:.2f} s ({keach[0]:.2f} + {keach[1]:.2f}); "
                f"hcr --diff {hwall:.2f} s, {hrss / 1024:.1f} MiB, {diffs} diffs; "
                f"without --diff {nwall:.2f} s")
        # Memory per object: as many objects again on both sides (all equal), same run.
        log(f"scale check: {args.objects} more objects a cluster")
        more, _, _ = fixture(args.objects, args.namespaces, seed=7)
        for o in more:
            o["metadata"]["name"] = "more-" + o["metadata"]["name"]
        load(kube, "left", more)
        load(kube, "right", more)
        del more
        big = [timed([HCR, "compare", "--left", "left", "--right", "right", "--diff", "-o",
                      "json"], env=env) for _ in range(3)]
        bigv = [timed(VIEW_DIFFERENT, env=env) for _ in range(3)]
        scale = {"objects": 2 * args.objects, "hcr_s": statistics.median(b[0] for b in big),
                 "hcr_rss_kib": statistics.median(b[1] for b in big),
                 "hcr_vd_s": statistics.median(b[0] for b in bigv),
                 "hcr_vd_rss_kib": statistics.median(b[1] for b in bigv)}
        log(f"scale check: {scale}")
        result = summarise(rounds, args, doc, plurals)
        result["scale"] = scale
        table = render(result)
        print(table)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        if args.doc:
            write_doc(args.doc, table)
    finally:
        if kube:
            kube.stop()
        shutil.rmtree(work, ignore_errors=True)


def resource_names(kube, kinds):
    """plural(.group) of each compared kind, from the emulator's discovery."""
    names = []
    for k in kinds:
        ver = k["left"] or k["right"]
        path = f"/apis/{ver}" if "/" in ver else f"/api/{ver}"
        _, _, lst = kube.request("left" if k["left"] else "right", "GET", path)
        for r in lst["resources"]:
            if r["kind"] == k["kind"] and "/" not in r["name"]:
                names.append(r["name"] + ("." + k["group"] if k["group"] else ""))
                break
    return names


def med(rounds, key):
    return statistics.median(r[key] for r in rounds)


def summarise(rounds, args, doc, plurals):
    s = rounds[-1]["rows"]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "hcr": subprocess.run([HCR, "version"], capture_output=True, text=True).stdout.strip(),
        "machine": f"{os.cpu_count()} CPUs, Linux {platform.release()}, "
                   f"Python {platform.python_version()}",
        "kubectl": subprocess.run(["kubectl", "version", "--client", "-o", "json"],
                                  capture_output=True, text=True).stdout,
        "objects": args.objects, "runs": args.runs, "kinds": len(plurals),
        "rows": s, "diffs": rounds[-1]["diffs"],
        "kubectl_s": med(rounds, "kubectl"),
        "kubectl_each_s": statistics.median(max(r["kubectl_each"]) for r in rounds),
        "kubectl_alone_s": med(rounds, "kubectl_alone"),
        "kubectl_rss_kib": statistics.median(max(r["kubectl_rss"]) for r in rounds),
        "hcr_s": med(rounds, "hcr"), "hcr_rss_kib": med(rounds, "hcr_rss"),
        "hcr_cpu_s": med(rounds, "hcr_cpu"),
        "hcr_nodiff_s": med(rounds, "hcr_nodiff"),
        "hcr_nodiff_rss_kib": med(rounds, "hcr_nodiff_rss"),
        "hcr_vd_s": med(rounds, "hcr_vd"), "hcr_vd_rss_kib": med(rounds, "hcr_vd_rss"),
        "hcr_list_s": statistics.median(r["seconds"]["list"] for r in rounds),
        "hcr_diff_s": statistics.median(r["seconds"]["diff"] for r in rounds),
        "all": rounds,
    }


def render(r):
    ratio = r["hcr_s"] / r["kubectl_s"]
    s = r["rows"]
    lines = [
        f"Run {r['when']}, `{r['hcr']}`, {r['runs']} rounds (medians); {r['machine']}; "
        f"kubeemu over TLS, both clusters in one emulator process.",
        "",
        f"Fixture: {r['objects']:,} objects a cluster (ConfigMaps 35 %, Secrets 15 %, "
        f"Deployments 15 %, Services 10 %, ServiceAccounts 10 %, Roles and RoleBindings "
        f"7.5 % each, over 20 namespaces); {r['kinds']} kinds compared; the compare finds "
        f"{s['equal']:,} equal, {s['different']:,} different, {s['leftOnly']:,} left only, "
        f"{s['rightOnly']:,} right only ({s['skipped']} skipped as cluster-owned).",
        "",
        "| | time | peak RSS |",
        "|---|---|---|",
        f"| `kubectl get <the same {r['kinds']} kinds> -A --chunk-size=500 -o json`, both "
        f"clusters at once (wall) | {r['kubectl_s']:.2f} s | "
        f"{r['kubectl_rss_kib'] / 1024:.0f} MiB each |",
        f"| … the same for one cluster alone | {r['kubectl_alone_s']:.2f} s | |",
        f"| **`hcr compare --diff -o json`** ({r['diffs']:,} diffs) | **{r['hcr_s']:.2f} s** "
        f"(list {r['hcr_list_s']:.2f} s, diffs {r['hcr_diff_s']:.2f} s; CPU "
        f"{r['hcr_cpu_s']:.2f} s) | **{r['hcr_rss_kib'] / 1024:.1f} MiB** |",
        f"| `hcr compare -o json` (no diff) | {r['hcr_nodiff_s']:.2f} s | "
        f"{r['hcr_nodiff_rss_kib'] / 1024:.1f} MiB |",
        f"| **ratio hcr --diff / kubectl** (target ≤ 1.5) | **{ratio:.2f}×** "
        f"({'met' if ratio <= 1.5 else 'NOT met'}) | |",
    ]
    sc = r.get("scale")
    if sc:
        added = 2 * (sc["objects"] - r["objects"])
        per = (sc["hcr_rss_kib"] - r["hcr_rss_kib"]) * 1024 / added
        per_vd = (sc["hcr_vd_rss_kib"] - r["hcr_vd_rss_kib"]) * 1024 / added
        lines[-1:-1] = [
            f"| `hcr compare --diff --view different -o json` (every object compared and "
            f"diffed; only the {s['different']:,} different rows reported) | "
            f"{r['hcr_vd_s']:.2f} s | {r['hcr_vd_rss_kib'] / 1024:.1f} MiB |",
        ]
        lines += [
            "",
            f"Memory per object: the same run with {sc['objects']:,} objects a cluster (as "
            f"many again, all equal):",
            "",
            "| | time | peak RSS | RSS growth per object added (both sides) |",
            "|---|---|---|---|",
            f"| `hcr compare --diff -o json` (every row reported) | {sc['hcr_s']:.2f} s | "
            f"{sc['hcr_rss_kib'] / 1024:.1f} MiB | {per:.0f} bytes |",
            f"| `hcr compare --diff --view different -o json` (the engine alone) | "
            f"{sc['hcr_vd_s']:.2f} s | {sc['hcr_vd_rss_kib'] / 1024:.1f} MiB | "
            f"**{per_vd:.0f} bytes** |",
        ]
        r["bytes_per_object"] = per
        r["bytes_per_object_engine"] = per_vd
    return "\n".join(lines)


def write_doc(path, table):
    text = open(path).read()
    begin, end = "<!-- compare-bench:begin -->", "<!-- compare-bench:end -->"
    if begin not in text:
        log(f"{path} has no {begin} marker; not written")
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + table + "\n" + end + tail)
    log(f"wrote the table into {path}")


if __name__ == "__main__":
    main()
