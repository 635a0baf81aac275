#!/bin/sh
# The compare benchmark (issue 6): one command, from the repository root or anywhere.
#
#   bench/compare.sh                        20,000 objects a cluster, 5 rounds (about 3 minutes)
#   bench/compare.sh --objects 5000 --runs 3   every option of bench/compare.py works
#   HCR_BENCH_BIN=/path/to/hcr bench/compare.sh  measure that binary instead of building one
#
# Builds the release binary (make bin/hcr), then runs bench/compare.py, which prints a
# markdown table and writes it into docs/performance.md. Needs kubectl, GNU time
# (/usr/bin/time) and Python 3 with the cryptography module (the emulator's TLS).
# Everything it starts listens on 127.0.0.1 and is stopped by PID; its temporary files
# are removed.
set -eu
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the tree

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -n "${HCR_BENCH_BIN:-}" ]; then
	echo "bench: measuring $HCR_BENCH_BIN (HCR_BENCH_BIN), not building bin/hcr" >&2
else
	log="${TMPDIR:-/tmp}/hcr-bench-build.$$.log"
	echo "bench: building bin/hcr (release: make -s bin/hcr)" >&2
	if ! make -s bin/hcr >/dev/null 2>"$log"; then
		cat "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
fi
exec python3 bench/compare.py --doc docs/performance.md "$@"
