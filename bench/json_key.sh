#!/bin/sh
# What the json key source costs janitord (sessions.key {json: FIELD,
# path: REGEX}), in user-space instructions per request (callgrind, which
# other load on the machine does not move), for Gradio's request shapes:
#
#   info      GET /gradio_api/info                 (no body: never read)
#   predict   POST /gradio_api/run/echo, JSON      (another path: not read)
#   join      POST /gradio_api/queue/join, JSON    (read, parsed, keyed)
#   join?q    the same with ?session_hash= too     (an earlier source wins)
#
# each through janitord with the gradio preset's keys without the json
# source ("no json") and with them ("preset").  The join body is the size
# @gradio/client sends for a two-input event (about 200 bytes).
#
#   bench/json_key.sh [REQUESTS]      (default 2000)
set -eu
cd "$(dirname "$0")/.."
N=${1:-2000}
. bench/lib.sh
build_release

BACK=$(port)
start_backend "$BACK"
wait_port "$BACK"

# A keep-alive client: N requests of one kind, one at a time.
cat >"$dir/client.py" <<'PY'
import socket, sys
port, kind, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = (b'{"data":["hello world",null],"event_data":null,"fn_index":0,'
        b'"trigger_id":7,"session_hash":"r2zku0ah3ur"}')
def post(path):
    return (b"POST %s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n" % (path, len(body))) + body
req = {
    "info": b"GET /gradio_api/info HTTP/1.1\r\nHost: b\r\n\r\n",
    "predict": post(b"/gradio_api/run/echo"),
    "join": post(b"/gradio_api/queue/join"),
    "join?q": post(b"/gradio_api/queue/join?session_hash=r2zku0ah3ur"),
}[kind]
s = socket.create_connection(("127.0.0.1", port))
buf = b""
for i in range(n):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, buf = buf.split(b"\r\n\r\n", 1)
    cl = int([l.split(b":")[1] for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length")][0])
    while len(buf) < cl:
        buf += s.recv(65536)
    buf = buf[cl:]
print(n)
PY

conf() {
	cat >"$dir/$1.yaml" <<CONF
preset: gradio
listen: 127.0.0.1:$2
upstream: 127.0.0.1:$BACK
state_dir: $dir/state-$1
admin:
  listen: 127.0.0.1:$3
log:
  level: warn
CONF
	if [ "$1" = nojson ]; then
		cat >>"$dir/$1.yaml" <<CONF
sessions:
  key:
    - path: '/heartbeat/([A-Za-z0-9_-]+)\$'
    - query: session_hash
CONF
	fi
	mkdir -p "$dir/state-$1"
}

echo "== instructions per request in janitord (callgrind), $N requests each"
printf '  %-10s %12s %12s %10s\n' "request" "no json" "preset" "difference"
for kind in info predict join 'join?q'; do
	line=""
	for c in nojson preset; do
		p=$(port)
		conf "$c" "$p" "$(port)"
		valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$c" \
		    build-release/src/janitord -c "$dir/$c.yaml" \
		    >"$dir/$c.log" 2>&1 &
		pid=$!
		pids="$pids $pid"
		for i in $(seq 1 100); do
			wait_port "$p" && break
		done
		# Warm up (the first join creates its session), then count.
		$PY "$dir/client.py" "$p" "$kind" 50 >/dev/null
		callgrind_control -z "$pid" >/dev/null 2>&1
		$PY "$dir/client.py" "$p" "$kind" "$N" >/dev/null
		callgrind_control -d "$pid" >/dev/null 2>&1
		sleep 1
		ins=$(awk -v n="$N" \
		    '/^(summary|totals):/ { t = $2 } END { printf "%.0f", t / n }' \
		    "$dir/cg.$c.1")
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		rm -f "$dir"/cg.$c*
		line="$line $ins"
	done
	set -- $line
	printf '  %-10s %12s %12s %+10d\n' "$kind" "$1" "$2" $(($2 - $1))
done
