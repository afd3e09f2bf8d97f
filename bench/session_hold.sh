#!/bin/sh
# What holding a new session's first request until the session is committed
# costs: janitord (release build, state_dir on the scratch directory's file
# system) in front of nginx, one client on one keep-alive connection, one
# request at a time, in alternating rounds of N requests each:
#
#   existing   every request carries the cookie of one stored session
#   new        no cookie: each request makes a new session (Set-Cookie),
#              held until its commit (an fsync of the WAL); one request
#              at a time, so no two share a commit.  This runs with
#              sessions.confirm: first_request; by default the hold falls
#              on the client's return instead, which costs the same.
#
# Prints the median and p99 latency of each (client-side, Python on a raw
# socket, the same code for both).
#
#   bench/session_hold.sh [ROUNDS] [N]        (defaults 5 and 300)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
N=${2:-300}
. bench/lib.sh
build_release

BACK=$(port); JAN=$(port); JADM=$(port)
mkdir -p "$dir/state"
start_backend "$BACK"

cat >"$dir/janitor.yaml" <<CONF
listen: 127.0.0.1:$JAN
upstream: 127.0.0.1:$BACK
state_dir: $dir/state
admin: {listen: 127.0.0.1:$JADM}
sessions: {capacity: 1000000, confirm: first_request}
log: {level: warn}
CONF
build-release/src/janitord -c "$dir/janitor.yaml" >"$dir/janitord.log" 2>&1 &
pids="$pids $!"
for p in $BACK $JAN $JADM; do wait_port "$p"; done

echo "== $ROUNDS alternating rounds of $N sequential requests (load: $(cut -d' ' -f1 /proc/loadavg)); state_dir on $(df --output=fstype "$dir" | tail -1)"
$PY - "$JAN" "$ROUNDS" "$N" <<'PY'
import socket, statistics, sys, time

jan, rounds, n = (int(a) for a in sys.argv[1:4])


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, cookie):
        req = b"GET / HTTP/1.1\r\nHost: b\r\n"
        if cookie:
            req += b"Cookie: janitor_sid=" + cookie + b"\r\n"
        t0 = time.perf_counter()
        self.s.sendall(req + b"\r\n")
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        length = 0
        cookie = None
        for line in head.split(b"\r\n")[1:]:
            k, v = line.split(b":", 1)
            if k.lower() == b"content-length":
                length = int(v)
            elif k.lower() == b"set-cookie":
                cookie = v.strip().split(b";")[0].split(b"=", 1)[1]
        while len(self.buf) < length:
            self.buf += self.s.recv(65536)
        self.buf = self.buf[length:]
        return time.perf_counter() - t0, cookie


c = Conn(jan)
_, key = c.get(None)            # the existing session
time.sleep(0.5)                 # ...is committed
res = {"existing": [], "new": []}
for mode in res:                # warm-up
    for i in range(20):
        c.get(key if mode == "existing" else None)
for r in range(rounds):
    for mode in res:
        lat = []
        for i in range(n):
            if mode == "existing":
                t, _ = c.get(key)
            else:
                t, got = c.get(None)
                assert got is not None
            lat.append(t * 1000)
        lat.sort()
        res[mode] += lat
        print("  round %d %-12s median %7.3f ms  p99 %7.3f ms" % (
            r + 1, mode, statistics.median(lat), lat[int(len(lat) * .99)]))
print("== all rounds")
for mode, lat in res.items():
    lat.sort()
    print("  %-12s median %7.3f ms  p99 %7.3f ms  (%d requests)" % (
        mode, statistics.median(lat), lat[int(len(lat) * .99)], len(lat)))
m = {k: statistics.median(v) for k, v in res.items()}
print("  added by the hold (new - existing): median %.3f ms" % (
    m["new"] - m["existing"]))
PY
