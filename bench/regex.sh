#!/bin/sh
# The Gradio preset's patterns, matched per request: glibc's POSIX regexec
# (before issue 13) against PCRE2 with JIT and without, in alternating
# rounds (medians in ns), then instructions per match under callgrind.
#   bench/regex.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" bench/bench_regex >/dev/null
echo "== load: $(uptime)"
"$build/bench/bench_regex" -n 200000 -r 11
echo
echo "== hostile patterns on hostile paths: CPU time until the limits stop them"
"$build/bench/bench_regex" -w
if command -v valgrind >/dev/null; then
	echo
	echo "== instructions per match (callgrind, 16 matches of each method)"
	n=20000
	for m in posix pcre2-jit pcre2-interp pcre2-jit-nocallout; do
		base=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		    "$build/bench/bench_regex" -n 1 -m "$m" 2>&1 |
		    sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
		full=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		    "$build/bench/bench_regex" -n $((n + 1)) -m "$m" 2>&1 |
		    sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
		# 8 paths x 2 patterns per iteration.
		echo "$m: $(( (full - base) / n / 16 )) instructions per match"
	done
fi
