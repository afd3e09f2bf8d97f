#!/bin/sh
# 1. Webhook deliveries per second to a local receiver, durability on:
#    every event is committed to the SQLite outbox (WAL, synchronous=FULL)
#    before it is sent, and every delivery is committed as done.  Uses the
#    real store, policy and webhook modules through tests/whdriver.
#    Receivers: nginx answering 204 (the figure that counts; the receiver is
#    not the bottleneck) and the Python aiohttp receiver of the tests.
# 2. Proxy throughput (wrk through janitord to nginx) alone, and while
#    10,000 events drain (5,000 sessions restored as live: 5,000 unloads at
#    once, 5,000 expires a second later).
#
#   bench/webhook.sh [BUILD_DIR] [SESSIONS]     (2 events per session)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
sessions=${2:-10000}
events=$((sessions * 2))
driver=$build/tests/whdriver
[ -x "$driver" ] || { echo "build first: ninja -C $build" >&2; exit 1; }

tmp=$(mktemp -d /tmp/janitor-bench-webhook.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Run the driver against URL; print deliveries/s.
run() {
	name=$1
	url=$2
	rm -rf "$tmp/state"
	out=$("$driver" -d "$tmp/state" -u "$url" -s 0102030405060708 \
	    -n "$sessions" -k 2000 -i 1 -x -q)
	ms=$(echo "$out" | sed -n 's/^all delivered in \([0-9]*\) ms$/\1/p')
	pending=$(echo "$out" | sed -n 's/^pending \([0-9]*\)$/\1/p')
	[ "$pending" = 0 ] || { echo "$name: $pending events not delivered" >&2; exit 1; }
	rate=$(awk -v e="$events" -v ms="$ms" 'BEGIN { printf "%d", e * 1000 / ms }')
	echo "$name: $events deliveries in $ms ms = $rate deliveries/s"
}

# nginx answering 204 to every POST.
np=$(port)
up=$(port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx;
	server {
		listen 127.0.0.1:$np;
		keepalive_requests 1000000;
		location / { return 204; }
	}
	server {
		listen 127.0.0.1:$up;
		keepalive_requests 1000000;
		location / { return 200 "hi"; }
	}
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids="$pids $!"
/usr/bin/python3 - "$np" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
PY
run "nginx receiver" "http://127.0.0.1:$np/hook"

# The tests' aiohttp receiver (single-threaded Python).
pp=$(port)
/usr/bin/python3 tests/integration/receiver.py "$pp" >"$tmp/py.log" 2>&1 &
pids="$pids $!"
sleep 1
run "python receiver" "http://127.0.0.1:$pp/hook"

# 2. Proxy throughput while events drain.
jp=$(port)
ap=$(port)
cat >"$tmp/j.yaml" <<CONF
listen: 127.0.0.1:$jp
upstream: 127.0.0.1:$up
state_dir: $tmp/jstate
admin: {listen: 127.0.0.1:$ap}
on_unload: {webhook: 'http://127.0.0.1:$np/unload'}
on_expire: {after_disconnect: 1s, webhook: 'http://127.0.0.1:$np/expire'}
log: {level: warn}
CONF
jd=$build/src/janitord
waitport() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
PY
}
wrkrun() {
	# One session for all of wrk (a browser sends its cookie back).
	wrk -t2 -c50 -d5s -H "Cookie: janitor_sid=$(/usr/bin/python3 \
	    bench/cookie.py "$tmp/jstate" benchsession0001)" \
	    "http://127.0.0.1:$jp/" | awk '
	    /Requests\/sec/ { rps = $2 }
	    /^    Latency/ { lat = $2 " avg, " $3 " stdev, " $4 " max" }
	    END { printf "%s req/s (latency %s)\n", rps, lat }'
}
"$jd" -c "$tmp/j.yaml" 2>>"$tmp/j.log" &
jpid=$!
waitport "$jp"
printf 'proxy alone: '
wrkrun
kill "$jpid"; wait "$jpid" || true
now=$(date +%s%3N)
{
	echo "BEGIN;"
	i=0
	while [ $i -lt 5000 ]; do
		echo "INSERT INTO sessions VALUES ('b$i', $now, $now, '127.0.0.1', 1, 1, 1, 0);"
		i=$((i + 1))
	done
	echo "COMMIT;"
} | sqlite3 "$tmp/jstate/janitor.db"
"$jd" -c "$tmp/j.yaml" 2>>"$tmp/j.log" &
jpid=$!
pids="$pids $jpid"
waitport "$jp"
t0=$(date +%s%3N)
# Note when the drain ends (outbox and sessions empty), meanwhile.
(
	while :; do
		left=$(sqlite3 "$tmp/jstate/janitor.db" "SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM sessions)" 2>/dev/null || echo x)
		[ "$left" = 0 ] && break
		sleep 0.05
	done
	echo $(( $(date +%s%3N) - t0 )) >"$tmp/drained"
) &
pids="$pids $!"
printf 'proxy while 10000 events drain: '
wrkrun
while [ ! -s "$tmp/drained" ]; do sleep 0.1; done
delivered=$(curl -s "http://127.0.0.1:$ap/metrics" | sed -n 's/^janitor_webhook_deliveries_total{result="success"} //p')
echo "drain: $delivered events delivered; outbox and sessions empty $(cat "$tmp/drained") ms after janitord listened (the expires come 1 s after the unloads)"
kill "$jpid"; wait "$jpid" || true
