#!/bin/sh
# Runs hcr's tests: every cmocka unit test binary, then the integration suite
# (the real hcr binary over HTTP against a throwaway PostgreSQL). Ends with the
# line "N passed, N failed" over all of them.
#
#   tests/run-tests.sh [--unit-only|--integration-only] [name]
set -u
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--integration-only) mode=integration; shift ;;
esac
only="${1:-}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp}"

passed=0
failed=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ "$mode" != integration ]; then
	for t in build/test/unit/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if [ -n "$only" ] && [ "$name" != "$only" ]; then
			continue
		fi
		"$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			# Crashed or a sanitizer stopped it before cmocka could count.
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -ne 0 ] && failed_names="$failed_names $name"
	done
fi

if [ "$mode" != unit ]; then
	python3 tests/integration/run.py ${only:+"$only"} 2>&1 | tee "$log"
	p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -n 1)
	if [ -z "$p" ]; then
		p=0
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -ne 0 ] && failed_names="$failed_names integration"
fi

[ -n "$failed_names" ] && echo "failing:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
