#!/bin/sh
# The cache sweeper against find(1) on identical trees, in the same run.
#
#   bench/sweep.sh [FILES] [WORK_DIR] [ROUNDS]
#   (FILES 1000000, WORK_DIR /tmp: the file system being swept matters;
#   ROUNDS 3.  With BENCH_LOCK=/path each round runs under flock(1) on it,
#   so that a long run does not keep other benchmarks out for long.
#   PARTS=1 or PARTS=2 runs one part only; SECS sets wrk's duration, 5;
#   JANITORD=path measures another binary than the release build.)
#
# 1. Each round makes two trees of FILES files (bench/mktree.py: 1,000 to
#    a directory, every other file and directory two hours old), syncs
#    and stats every entry of both (`find -mmin -0`), so both start with
#    all their metadata in the page cache.  (Dropping the caches instead
#    made whichever went first up to 2.7x slower: the two trees share
#    block groups, so the first one re-reads the bitmaps for both.)  Then janitord (release build,
#    POST /sweep, age 1h) sweeps one and `find TREE -mmin +60 -delete`
#    the other; odd rounds janitord first, even rounds find first, with a
#    sync (not timed) after each.  find runs at this script's priority;
#    janitord's walkers run as janitord runs them (nice 10, lowest
#    best-effort I/O level), so a busy machine slows janitord more.
#    Reported: both wall and CPU times per round, the medians and the
#    median of the per-round ratios.  Target: janitord <= 1.0x find.
# 2. The proxy's latency (wrk, 10 connections paced to one request per ms
#    each, through janitord to nginx) for SECS without a sweep and for
#    SECS while a fresh tree of FILES files is swept, in alternating order
#    per round; the medians of the p99s.  Target: during <= 1.2x without.
#
# janitord's cache entries are J and K under the scratch directory; a tree
# is renamed to J or K only when it is to be swept, so the first periodic
# sweep (1 s after start) finds nothing and the next is a day away.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
files=${1:-1000000}
work=${2:-/tmp}
rounds=${3:-3}
secs=${SECS:-5}

trees=$(mktemp -d "$work/janitor-bench-sweep.XXXXXX")
trap 'cleanup; rm -rf "$trees"' EXIT INT TERM

if [ -n "${JANITORD:-}" ]; then
	jd=$JANITORD
else
	build_release
	jd=build-release/src/janitord
fi
parts=${PARTS:-12}
ms() { date +%s%3N; }
count() { find "$1" -type f 2>/dev/null | wc -l; }
# CPU time (user + system) a process has used so far, in milliseconds.
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' \
	    "/proc/$1/stat"
}
# The median of the numbers on standard input.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
	    else if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# The median of the numbers on standard input, to two decimals.
median2() { median | awk '{ if ($1 == "-") print; else printf "%.2f\n", $1 }'; }
# Make TREE, the same way every time.
mktree() { $PY bench/mktree.py "$1" "$files"; }
# Write the trees out, then stat every entry of them.
warm() {
	sync
	find "$@" -mmin -0 2>/dev/null || true
}
lock() {
	if [ -n "${BENCH_LOCK:-}" ]; then
		exec 9>"$BENCH_LOCK"
		flock 9
	fi
}
unlock() {
	if [ -n "${BENCH_LOCK:-}" ]; then
		flock -u 9
		exec 9>&-
	fi
}

jp=$(port)
ap=$(port)
up=$(port)
cat >"$dir/j.yaml" <<CONF
listen: 127.0.0.1:$jp
upstream: 127.0.0.1:$up
state_dir: $dir/jstate
admin: {listen: 127.0.0.1:$ap}
log: {level: info}
cache:
  - {path: $trees/J, every: 24h, age: 1h}
  - {path: $trees/K, every: 24h, age: 1h}
CONF
cat >"$dir/pace.lua" <<'LUA'
function delay() return 1 end
LUA
"$jd" -c "$dir/j.yaml" 2>>"$dir/j.log" &
jpid=$!
pids="$pids $jpid"
start_backend "$up"
wait_port "$ap"
wait_port "$up"
sleep 1.5	# the first periodic sweeps: J and K are missing

# Sweep TREE with janitord (renamed to J for it); prints "wall cpu".
jan() {
	mv "$1" "$trees/J"
	c0=$(cpu_ms "$jpid")
	t0=$(ms)
	curl -sS -X POST "http://127.0.0.1:$ap/sweep?path=$trees/J" \
	    >"$dir/jan.json"
	echo "$(( $(ms) - t0 )) $(( $(cpu_ms "$jpid") - c0 ))"
	mv "$trees/J" "$1"
}
# Sweep TREE with find; prints "wall cpu".
fnd() {
	t0=$(ms)
	/usr/bin/time -o "$dir/find.time" -f '%U %S' \
	    find "$1" -mmin +60 -delete 2>/dev/null || true
	echo "$(( $(ms) - t0 )) $(tail -1 "$dir/find.time" |
	    awk '{ print int(($1 + $2) * 1000) }')"
}

# 1. janitord against find, ROUNDS times.
part1() {
	echo "== 1. $files files, half old: janitord POST /sweep vs find -mmin +60 -delete ($rounds rounds, $trees)"
	: >"$dir/p1"
	r=1
	while [ "$r" -le "$rounds" ]; do
		lock
		mktree "$trees/A"
		mktree "$trees/B"
		warm "$trees/A" "$trees/B"
		load=$(uptime | sed 's/.*average: //')
		if [ $((r % 2)) -eq 1 ]; then
			j=$(jan "$trees/A"); sync
			f=$(fnd "$trees/B"); sync
			order="janitord first"
		else
			f=$(fnd "$trees/A"); sync
			j=$(jan "$trees/B"); sync
			order="find first"
		fi
		left=$(count "$trees/A")/$(count "$trees/B")
		rm -rf "$trees/A" "$trees/B"
		unlock
		set -- $j $f
		echo "$1 $2 $3 $4" >>"$dir/p1"
		awk -v r="$r" -v o="$order" -v l="$load" -v left="$left" \
		    -v jw="$1" -v jc="$2" -v fw="$3" -v fc="$4" 'BEGIN {
		    printf "round %d (%s, load %s): janitord %.2f s (CPU %.2f s), find %.2f s (CPU %.2f s): %.2fx wall, %.2fx CPU; files left %s\n",
		    r, o, l, jw / 1000, jc / 1000, fw / 1000, fc / 1000, jw / fw,
		    (fc > 0 ? jc / fc : 0), left }'
		r=$((r + 1))
	done
	[ -s "$dir/p1" ] &&
	    echo "  janitord $(tr -d ' \n' <"$dir/jan.json" | cut -c1-160)"
	echo "median: janitord $(awk '{ print $1 / 1000 }' "$dir/p1" | median) s" \
	    "(CPU $(awk '{ print $2 / 1000 }' "$dir/p1" | median) s)," \
	    "find $(awk '{ print $3 / 1000 }' "$dir/p1" | median) s" \
	    "(CPU $(awk '{ print $4 / 1000 }' "$dir/p1" | median) s)"
	echo "median ratio janitord / find: $(awk '{ print $1 / $3 }' "$dir/p1" |
	    median2) wall (target <= 1.00), $(awk '$4 > 0 { print $2 / $4 }' \
	    "$dir/p1" | median2) CPU"
}
case $parts in *1*) part1 ;; esac

# The p99 (ms) and requests/s of SECS of paced requests through janitord.
p99() {
	wrk -t1 -c10 -d"${secs}s" --latency -s "$dir/pace.lua" \
	    -H "Cookie: janitor_sid=$($PY bench/cookie.py "$dir/jstate" \
	    benchsession0001)" "http://127.0.0.1:$jp/" |
	    awk '/^ +99%/ { p = $2 } /Requests\/sec/ { r = $2 }
	    END { if (p ~ /us$/) { sub("us", "", p); p /= 1000 }
	    else if (p ~ /ms$/) sub("ms", "", p);
	    else if (p ~ /s$/) { sub("s", "", p); p *= 1000 }
	    print p, r }'
}
# The same while a fresh tree is swept (renamed to K for it).
p99_sweep() {
	mv "$trees/C" "$trees/K"
	curl -sS -X POST "http://127.0.0.1:$ap/sweep?path=$trees/K" \
	    >"$dir/k.json" &
	kpid=$!
	sleep 0.1
	p99
	if kill -0 "$kpid" 2>/dev/null; then
		echo "  (the sweep was still running when wrk ended)" >&2
	else
		echo "  (the sweep ended before wrk did)" >&2
	fi
	wait "$kpid" || true
	echo "  sweep: $(tr -d ' \n' <"$dir/k.json" | cut -c1-200)" >&2
}

case $parts in *2*) ;; *) exit 0 ;; esac
echo "== 2. proxy p99, ${secs} s without a sweep and ${secs} s during one ($rounds rounds)"
: >"$dir/p2"
r=1
while [ "$r" -le "$rounds" ]; do
	lock
	mktree "$trees/C"
	warm "$trees/C"
	load=$(uptime | sed 's/.*average: //')
	if [ $((r % 2)) -eq 1 ]; then
		without=$(p99)
		during=$(p99_sweep)
	else
		during=$(p99_sweep)
		without=$(p99)
	fi
	rm -rf "$trees/K"
	unlock
	set -- $without $during
	echo "$1 $3" >>"$dir/p2"
	echo "round $r (load $load): p99 without $1 ms ($2 req/s), during $3 ms ($4 req/s): $(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2fx", b / a }')"
	r=$((r + 1))
done
echo "median p99: without $(awk '{ print $1 }' "$dir/p2" | median) ms," \
    "during $(awk '{ print $2 }' "$dir/p2" | median) ms;" \
    "median ratio $(awk '{ print $2 / $1 }' "$dir/p2" | median2) (target <= 1.20)"
