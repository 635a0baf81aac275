#!/bin/sh
# hcr's reconciler benchmark: one command, from the repository root or anywhere.
#
#   bench/run.sh                      1,000 and 10,000 clusters (5 to 15 minutes)
#   bench/run.sh --sizes 1000         one scale; every option of bench/bench.py works
#   HCR_BENCH_BIN=/path/to/hcr bench/run.sh   measure that binary instead of building one
#
# Builds the release binary (make bin/hcr) and the libcurl baseline, then runs
# bench/bench.py, which prints a markdown table and writes it into
# docs/performance.md. Needs what `make test` needs (PostgreSQL 15, libcurl, libev,
# Python 3). Everything it starts listens on 127.0.0.1 or a Unix socket and is
# stopped by PID; its temporary files are removed.
set -eu
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the tree

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log="${TMPDIR:-/tmp}/hcr-bench-build.$$.log"
if [ -n "${HCR_BENCH_BIN:-}" ]; then
	echo "bench: measuring $HCR_BENCH_BIN (HCR_BENCH_BIN), not building bin/hcr" >&2
else
	echo "bench: building bin/hcr (release: make -s bin/hcr)" >&2
	if ! make -s bin/hcr >/dev/null 2>"$log"; then
		cat "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hcr-bench-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
echo "bench: building the libcurl baseline" >&2
# Debian's libev has no pkg-config file; -lev as the top-level Makefile does.
cc -std=c11 -O2 -g -Wall -Wextra -o "$tmp/curl_baseline" bench/curl_baseline.c \
	$(pkg-config --cflags --libs libcurl) -lev

python3 bench/bench.py --baseline-exe "$tmp/curl_baseline" --doc docs/performance.md "$@"
