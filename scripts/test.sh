#!/bin/sh
# Install, build and run every test: the plain build, the ASan/UBSan build,
# and each libFuzzer harness for FUZZ_SECONDS (default 60).
set -u
cd "$(dirname "$0")/.."
./scripts/deps.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
log=build-logs
mkdir -p "$log"

# Run one meson test pass and add its counts to the totals.
run_suite() {
	name=$1
	dir=$2
	echo "== $name"
	meson test -C "$dir" --print-errorlogs --num-processes 2 \
	    >"$log/$name.txt" 2>&1
	rc=$?
	grep -E '^ *[0-9]+/[0-9]+ ' "$log/$name.txt" | sed 's/^/  /'
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log/$name.txt")
	bad=$(sed -n 's/^\(Fail\|Timeout\|Unexpected Pass\): *\([0-9]*\).*/\2/p' \
	    "$log/$name.txt" | awk '{s += $1} END {print s + 0}')
	passed=$((passed + ${ok:-0}))
	failed=$((failed + bad))
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		failed=$((failed + 1))
		tail -50 "$log/$name.txt"
	elif [ "$bad" -ne 0 ]; then
		# Each failed test's whole log, up to meson's summary.
		awk '/^Summary of Failures/ { exit }
		    / (FAIL|TIMEOUT) / { on = 1 } on' "$log/$name.txt" | tail -400
	fi
}

./scripts/build.sh build --prefix=/usr || { echo "0 passed, 1 failed"; exit 1; }
run_suite plain build

./scripts/build.sh build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite asan build-asan

# Fuzzing: clang, ASan+UBSan, one corpus directory per harness.
if command -v clang >/dev/null 2>&1; then
	CC=clang ./scripts/build.sh build-fuzz -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false \
	    || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
	# The harnesses run side by side: each gets FUZZ_SECONDS of wall time.
	names=""
	for h in build-fuzz/tests/fuzz/fuzz_*; do
		[ -f "$h" ] && [ -x "$h" ] || continue
		name=$(basename "$h")
		corpus="$log/corpus-$name"
		mkdir -p "$corpus"
		seeds="tests/fuzz/corpus/${name#fuzz_}"
		[ -d "$seeds" ] || seeds=""
		echo "== $name ($FUZZ_SECONDS s)"
		# shellcheck disable=SC2086
		( "$h" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		    "$corpus" $seeds >"$log/$name.txt" 2>&1
		  echo $? >"$log/$name.rc" ) &
		names="$names $name"
	done
	wait
	for name in $names; do
		if [ "$(cat "$log/$name.rc")" = 0 ]; then
			passed=$((passed + 1))
			echo "  $name: ok"
		else
			failed=$((failed + 1))
			echo "  $name: FAILED"
			tail -40 "$log/$name.txt"
		fi
		grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' \
		    "$log/$name.txt" | sed 's/^/  /'
	done
else
	echo "== fuzz: clang is missing (scripts/deps.sh installs it)"
	failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
