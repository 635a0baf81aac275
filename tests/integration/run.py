"""Runs every integration test module (tests/integration/test_*.py) and ends with
the line "integration: N passed, N failed".

    python3 tests/integration/run.py [module-or-test-name]
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else None
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


if __name__ == "__main__":
    sys.exit(main())
