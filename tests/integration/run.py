"""Runs every integration test module (tests/integration/test_*.py) and ends with
the line "integration: N passed, N failed".

    python3 tests/integration/run.py [module-or-test-name]

With no name, the modules run in HCR_TEST_JOBS processes at once (default 3):
they spend most of their time waiting for emulators' clocks and hcr's polls,
not computing, and each starts its own PostgreSQL, hcr and emulators on free
ports. A module's output is printed whole when it ends. HCR_TEST_JOBS=1 runs
them one after another in this process.
"""

import concurrent.futures
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The slowest modules start first, so that the others fill in around them.
SLOW_FIRST = ["test_eks", "test_regressions", "test_aks", "test_reconcile", "test_gke",
              "test_config_sync", "test_compare", "test_eks_emulator", "test_api"]

SUMMARY = re.compile(r"^integration: (\d+) passed, (\d+) failed$", re.M)


def run_here(only):
    loader = unittest.TestLoader()
    if only and not only.startswith("test_"):
        only = None
    if only:
        suite = loader.loadTestsFromName(only)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def modules():
    names = sorted(f[:-3] for f in os.listdir(HERE)
                   if f.startswith("test_") and f.endswith(".py"))
    rank = {n: i for i, n in enumerate(SLOW_FIRST)}
    return sorted(names, key=lambda n: (rank.get(n, len(SLOW_FIRST)), n))


def run_module(name):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), name],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", env=dict(os.environ, HCR_TEST_JOBS="1"))
    out = proc.stdout
    m = SUMMARY.findall(out)
    if m:
        passed, failed = int(m[-1][0]), int(m[-1][1])
    else:  # the module crashed before unittest could count
        passed, failed = 0, 1
    return name, out, passed, failed, time.monotonic() - start


def run_parallel(jobs):
    passed = failed = 0
    failing = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_module, n) for n in modules()]
        for f in concurrent.futures.as_completed(futures):
            name, out, p, n_failed, secs = f.result()
            # The module's own summary line is replaced by one naming it.
            sys.stdout.write(SUMMARY.sub("", out).rstrip() + "\n")
            print(f"-- {name}: {p} passed, {n_failed} failed in {secs:.0f} s", flush=True)
            passed += p
            failed += n_failed
            if n_failed:
                failing.append(name)
    if failing:
        print("failing modules: " + " ".join(sorted(failing)))
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        jobs = int(os.environ.get("HCR_TEST_JOBS", "3"))
    except ValueError:
        jobs = 3
    if only or jobs <= 1:
        return run_here(only)
    return run_parallel(jobs)


if __name__ == "__main__":
    sys.exit(main())
