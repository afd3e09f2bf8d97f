#!/bin/sh
# Install, build and run every test: the plain build, the ASan/UBSan build,
# and each libFuzzer harness for FUZZ_SECONDS (default 60).  The last line
# is "tests: N passed, N failed, N skipped"; every skipped test is named,
# with its reason, in build-logs/skipped.txt.
set -u
cd "$(dirname "$0")/.."
./scripts/deps.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
skipped=0
log=build-logs
mkdir -p "$log"
: >"$log/skipped.txt"

# Print the totals and leave.
finish() {
	echo "tests: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

# Run one meson test pass and add its counts to the totals.
run_suite() {
	name=$1
	dir=$2
	shift 2
	echo "== $name"
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" \
	    >"$log/$name.txt" 2>&1
	rc=$?
	grep -E '^ *[0-9]+/[0-9]+ ' "$log/$name.txt" | sed 's/^/  /'
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log/$name.txt")
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log/$name.txt")
	bad=$(sed -n 's/^\(Fail\|Timeout\|Unexpected Pass\): *\([0-9]*\).*/\2/p' \
	    "$log/$name.txt" | awk '{s += $1} END {print s + 0}')
	passed=$((passed + ${ok:-0}))
	skipped=$((skipped + ${skip:-0}))
	failed=$((failed + bad))
	# Each skipped test by name, then why, as the tests said it
	# (jtest.py and the unit tests print "SKIP test: reason").
	if [ "${skip:-0}" -ne 0 ]; then
		sed -n 's/^ *[0-9]*\/[0-9]* [^/]*\/ *\([^ ]*\) *SKIP .*/\1/p' \
		    "$log/$name.txt" | sed "s/^/$name: /" >>"$log/skipped.txt"
		grep -E '^(jtest|unit): SKIP ' "$dir/meson-logs/testlog.txt" |
		    sort -u | sed 's/^/  /'
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		failed=$((failed + 1))
		tail -50 "$log/$name.txt"
	elif [ "$bad" -ne 0 ]; then
		# Each failed test's whole log, up to meson's summary.
		awk '/^Summary of Failures/ { exit }
		    / (FAIL|TIMEOUT) / { on = 1 } on' "$log/$name.txt" | tail -400
	fi
}

./scripts/build.sh build --prefix=/usr || { failed=1; finish; }
run_suite plain build

./scripts/build.sh build-asan -Db_sanitize=address,undefined \
    -Db_lundef=false || { failed=$((failed + 1)); finish; }
# The real-Gradio suite drives the same relay code as the integration
# tests with a slower app, and the timing suite measures latencies, which
# mean little under ASan: both run in the plain build only, to keep the
# whole command within a few minutes.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite asan build-asan --no-suite gradio --no-suite timing

# Fuzzing: clang, ASan+UBSan, one corpus directory per harness, the limits
# scripts/fuzz.sh uses for long campaigns.
if ! command -v clang >/dev/null 2>&1; then
	echo "== fuzz: clang is missing (scripts/deps.sh installs it)"
	failed=$((failed + 1))
	finish
fi
CC=clang ./scripts/build.sh build-fuzz -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false ||
    { failed=$((failed + 1)); finish; }
# The harnesses run side by side: each gets FUZZ_SECONDS of wall time.
names=""
for h in build-fuzz/tests/fuzz/fuzz_*; do
	[ -f "$h" ] && [ -x "$h" ] || continue
	name=$(basename "$h")
	corpus="$log/corpus-$name"
	rm -rf "$corpus" "$log/$name-"*
	mkdir -p "$corpus"
	mkdir -p "tests/fuzz/corpus/${name#fuzz_}"
	seeds=$(./scripts/fuzz-seeds.sh "$name")
	echo "== $name ($FUZZ_SECONDS s)"
	# shellcheck disable=SC2086
	( "$h" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=512 -timeout=5 \
	    -print_final_stats=1 -artifact_prefix="$log/$name-" \
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
		tail -60 "$log/$name.txt"
		# Everything a finding needs to be reproduced elsewhere.
		for a in "$log/$name-"*; do
			[ -f "$a" ] || continue
			echo "  finding $(basename "$a"), $(wc -c <"$a") bytes;" \
			    "reproduce: base64 -d >input, then" \
			    "build-fuzz/tests/fuzz/$name input"
			base64 "$a" | head -200
		done
	fi
	grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' \
	    "$log/$name.txt" | sed 's/^/  /'
done
finish
