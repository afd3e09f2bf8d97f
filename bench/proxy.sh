#!/bin/sh
# Relay throughput on this machine, in one go: nginx serving a short body
# is the backend; wrk -t1 -c50 measures it directly, through HAProxy
# (nbthread 1), through nginx as a proxy (1 worker, keep-alive upstream)
# and through janitord (release build), in alternating rounds.  Then a
# WebSocket echo throughput comparison, HAProxy against janitord.
#
#   bench/proxy.sh [ROUNDS] [SECONDS]      (defaults 5 and 5)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-5}
CONNS=${CONNS:-50}
. bench/lib.sh
build_release

BACK=$(port); HAP=$(port); NGX=$(port); JAN=$(port); JADM=$(port)
WSB=$(port); WSH=$(port); WSJ=$(port); WSJADM=$(port)

# The backend: nginx, one worker, a short body.
mkdir -p "$dir/ngx"
start_backend "$BACK"

# HAProxy, one thread, keep-alive both sides.
cat >"$dir/haproxy.cfg" <<CONF
global
	nbthread 1
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout tunnel 1h
	option http-keep-alive
	http-reuse always
frontend fe
	bind 127.0.0.1:$HAP
	bind 127.0.0.1:$WSH
	use_backend ws if { dst_port $WSH }
	default_backend be
backend be
	server app 127.0.0.1:$BACK
backend ws
	server ws 127.0.0.1:$WSB
CONF
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
HAP_PID=$!
pids="$pids $!"

# nginx as a proxy, one worker, keep-alive upstream.
cat >"$dir/ngx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/ngx/nginx.pid;
error_log $dir/ngx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	upstream app { server 127.0.0.1:$BACK; keepalive 128; }
	server {
		listen 127.0.0.1:$NGX backlog=4096;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CONF
nginx -p "$dir/ngx" -c "$dir/ngx/nginx.conf" &
NGX_PID=$!
pids="$pids $!"

# janitord, release build; relaying only (no cookie is issued, so wrk's
# requests do not each create a session).
jconf() {
	cat <<CONF
listen: 127.0.0.1:$1
upstream: 127.0.0.1:$2
state_dir: $dir/state$1
admin: {listen: 127.0.0.1:$3}
sessions: {cookie: {issue: false}}
log: {level: warn}
CONF
}
mkdir -p "$dir/state$JAN" "$dir/state$WSJ"
jconf "$JAN" "$BACK" "$JADM" >"$dir/janitor.yaml"
jconf "$WSJ" "$WSB" "$WSJADM" >"$dir/janitor-ws.yaml"
build-release/src/janitord -c "$dir/janitor.yaml" >"$dir/janitord.log" 2>&1 &
JAN_PID=$!
pids="$pids $!"
build-release/src/janitord -c "$dir/janitor-ws.yaml" >"$dir/janitord-ws.log" 2>&1 &
pids="$pids $!"
$PY bench/wsecho.py server "$WSB" &
pids="$pids $!"

for p in $BACK $HAP $NGX $JAN $WSB $WSH $WSJ; do wait_port "$p"; done
# nginx does its work in the worker, the master's only child.
BACK_PID=$(pgrep -P "$BACK_PID" | head -1)
NGX_PID=$(pgrep -P "$NGX_PID" | head -1)

# CPU time (user + system, in clock ticks) a process has used so far.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# One wrk run against port $1 while watching process $2: prints
# "req/s p99_ms cpu_us_per_request" (the CPU time the process, proxy or
# backend, spent per request: a figure other load on the machine disturbs
# much less than req/s).
run_wrk() {
	t0=$(ticks "$2")
	wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$1/" \
	    >"$dir/wrk.out"
	t1=$(ticks "$2")
	awk -v dt=$((t1 - t0)) -v hz="$HZ" '
		/ requests in / { n = $1 }
		/Requests\/sec:/ { rps = $2 }
		/^ +99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		    if (u == "us") v /= 1000; else if (u == "s") v *= 1000;
		    p99 = v }
		END { printf "%.0f %.3f %.1f\n", rps, p99, dt / hz * 1e6 / n }' \
	    "$dir/wrk.out"
}

echo "== wrk -t1 -c$CONNS -d${SECS}s --latency, $ROUNDS alternating rounds"
: >"$dir/results"
for t in $BACK:$BACK_PID $HAP:$HAP_PID $NGX:$NGX_PID $JAN:$JAN_PID; do
	run_wrk "${t%:*}" "${t#*:}" >/dev/null   # warm-up
done
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for t in direct:$BACK:$BACK_PID haproxy:$HAP:$HAP_PID \
	    nginx:$NGX:$NGX_PID janitord:$JAN:$JAN_PID; do
		name=${t%%:*}
		rest=${t#*:}
		res=$(run_wrk "${rest%:*}" "${rest#*:}")
		echo "$name $res" >>"$dir/results"
		printf '  round %d %-9s %8s req/s  p99 %7s ms  %6s us CPU/req\n' \
		    "$r" "$name" $res
	done
	r=$((r + 1))
done

# Medians, because this machine is shared and one round in five can be
# disturbed by something else; and the median of the per-round ratios,
# since the rounds alternate and a round's targets ran side by side in
# time.
echo "== median over $ROUNDS rounds"
awk '
	function median(list,   a, n, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	{ rps[$1] = rps[$1] " " $2; p99[$1] = p99[$1] " " $3; cpu[$1] = cpu[$1] " " $4
	}
	$1 == "haproxy" { hr = $2; hp = $3; hc = $4 }
	$1 == "janitord" { rr = rr " " $2 / hr; rp = rp " " $3 / hp; rc = rc " " $4 / hc }
	END {
		split("direct haproxy nginx janitord", order, " ")
		for (i = 1; i <= 4; i++) {
			k = order[i]
			printf "  %-9s %9.0f req/s  p99 %7.3f ms  %6.1f us CPU/req%s\n", k,
			    median(rps[k]), median(p99[k]), median(cpu[k]),
			    k == "direct" ? " (backend)" : ""
		}
		printf "  janitord/haproxy req/s %.2fx (target >= 1.15x), p99 %.2fx (target <= 1.00x)\n",
		    median(rps["janitord"]) / median(rps["haproxy"]),
		    median(p99["janitord"]) / median(p99["haproxy"])
		printf "  janitord/haproxy per round: req/s %.2fx, p99 %.2fx, CPU/req %.2fx (medians of the rounds\x27 ratios)\n",
		    median(rr), median(rp), median(rc)
		printf "  janitord/nginx   req/s %.2fx\n",
		    median(rps["janitord"]) / median(rps["nginx"])
	}' "$dir/results"

echo "== WebSocket echo (bench/wsecho.py: $CONNS connections, 64-byte frames)"
for round in 1 2; do
	for t in haproxy:$WSH janitord:$WSJ; do
		printf '  round %d %-9s ' "$round" "${t%%:*}"
		$PY bench/wsecho.py client "${t#*:}" "$CONNS" "$SECS"
	done
done
