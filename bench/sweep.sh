#!/bin/sh
# The cache sweeper against find(1) on identical trees, in the same run:
#   1. FILES files (half of them two hours old, 1,000 to a directory) made
#      twice by bench/mktree.py; caches dropped (when allowed) and both
#      trees read once so the page cache holds both alike; then a POST
#      /sweep of janitord on A (age 1h) and `find B -mmin +60 -delete` are
#      timed, with a sync (not timed) after each.  Target: janitord <= 1.0x
#      find.
#   2. The proxy's latency (wrk, paced to 10 connections x 1 request/ms,
#      through janitord to nginx) without a sweep, then while a third such
#      tree is swept.  Target: p99 during <= 1.2x p99 without.
#
#   bench/sweep.sh [BUILD_DIR] [FILES] [WORK_DIR]
#   (WORK_DIR defaults to /tmp: the file system being swept matters.)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
files=${2:-1000000}
work=${3:-/tmp}
jd=$build/src/janitord
[ -x "$jd" ] || { echo "build first: ninja -C $build" >&2; exit 1; }

tmp=$(mktemp -d "$work/janitor-bench-sweep.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ms() { date +%s%3N; }
port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
waitport() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
PY
}
count() { find "$1" -type f | wc -l; }
# CPU time (user + system) a process has used so far, in milliseconds.
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' \
	    "/proc/$1/stat"
}

echo "making two trees of $files files in $tmp ..."
t0=$(ms)
/usr/bin/python3 bench/mktree.py "$tmp/A" "$files"
/usr/bin/python3 bench/mktree.py "$tmp/B" "$files"
sync
echo "  made in $(( $(ms) - t0 )) ms"
# Same cache state for both: cold if we may drop caches, then read once.
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
find "$tmp/A" "$tmp/B" -printf '' 2>/dev/null

jp=$(port)
ap=$(port)
up=$(port)
cat >"$tmp/j.yaml" <<CONF
listen: 127.0.0.1:$jp
upstream: 127.0.0.1:$up
state_dir: $tmp/jstate
admin: {listen: 127.0.0.1:$ap}
log: {level: info}
cache:
  - {path: $tmp/A, every: 1h, age: 1h}
  - {path: $tmp/C, every: 1h, age: 1h}
CONF
"$jd" -c "$tmp/j.yaml" 2>>"$tmp/j.log" &
jpid=$!
pids="$pids $jpid"
waitport "$ap"

# 1. janitord first (POST before the first timer, 1 s after start, which
#    then finds the entry busy), then find; the journal is flushed between.
c0=$(cpu_ms "$jpid")
t0=$(ms)
out=$(curl -sS -X POST "http://127.0.0.1:$ap/sweep?path=$tmp/A")
jan_ms=$(( $(ms) - t0 ))
jan_cpu=$(( $(cpu_ms "$jpid") - c0 ))
sync
t0=$(ms)
/usr/bin/time -o "$tmp/find.time" -f '%U %S' \
    find "$tmp/B" -mmin +60 -delete 2>/dev/null || true
find_ms=$(( $(ms) - t0 ))
find_cpu=$(tail -1 "$tmp/find.time" | awk '{ print int(($1 + $2) * 1000) }')
sync
left_a=$(count "$tmp/A")
left_b=$(count "$tmp/B")
echo "janitord POST /sweep:   $jan_ms ms wall, $jan_cpu ms CPU ($left_a files left)"
echo "find -mmin +60 -delete: $find_ms ms wall, $find_cpu ms CPU ($left_b files left)"
echo "  $(echo "$out" | tr -d ' \n' | cut -c1-200)"
awk -v j="$jan_ms" -v f="$find_ms" \
    'BEGIN { printf "janitord / find = %.2f wall (target <= 1.00)\n", j / f }'
awk -v j="$jan_cpu" -v f="$find_cpu" \
    'BEGIN { if (f > 0) printf "janitord / find = %.2f CPU\n", j / f }'

# 2. Proxy latency, paced so that wrk itself does not take both CPUs.
cat >"$tmp/pace.lua" <<'LUA'
function delay() return 1 end
LUA
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$up;
		keepalive_requests 1000000;
		location / { return 200 "hi"; }
	}
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids="$pids $!"
waitport "$up"
echo "making the third tree ..."
/usr/bin/python3 bench/mktree.py "$tmp/C" "$files"
sync
find "$tmp/C" -printf ''
secs=$(( jan_ms / 1000 ))
[ "$secs" -ge 2 ] || secs=2
[ "$secs" -le 10 ] || secs=10
p99() {
	wrk -t1 -c10 -d"${secs}s" --latency -s "$tmp/pace.lua" \
	    -H "Cookie: janitor_sid=benchsession0001" "http://127.0.0.1:$jp/" |
	    awk '/^ +99%/ { p = $2 } /Requests\/sec/ { r = $2 }
	    END { print p " (" r " req/s)" }'
}
echo "proxy p99 without a sweep ($secs s): $(p99)"
curl -sS -X POST "http://127.0.0.1:$ap/sweep?path=$tmp/C" >"$tmp/c.json" &
cpid=$!
sleep 0.1
echo "proxy p99 during a sweep  ($secs s): $(p99)"
if kill -0 "$cpid" 2>/dev/null; then
	# No need to wait for it: SIGTERM (at cleanup) interrupts it.
	echo "  (the sweep was still running when wrk ended)"
else
	echo "  (the sweep ended before wrk did)"
	echo "  $(tr -d ' \n' <"$tmp/c.json" | cut -c1-200)"
fi
