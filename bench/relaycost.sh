#!/bin/sh
# What one relayed request costs janitord, HAProxy and nginx, in figures
# that other load on the machine does not move: system calls per request
# (strace -c) and user-space instructions per request (callgrind), with
# the same nginx backend and the same wrk load as bench/proxy.sh.
#
#   bench/relaycost.sh [SECONDS]      (default 5)
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-5}
. bench/lib.sh
build_release

BACK=$(port)

start_backend "$BACK"
wait_port "$BACK"

# The three proxies, configured as in bench/proxy.sh; each prints the
# command that runs it for port $1.
haproxy_cmd() {
	cat >"$dir/haproxy-$1.cfg" <<CONF
global
	nbthread 1
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	option http-keep-alive
	http-reuse always
frontend fe
	bind 127.0.0.1:$1
	default_backend be
backend be
	server app 127.0.0.1:$BACK
CONF
	echo "haproxy -f $dir/haproxy-$1.cfg -db"
}
nginx_cmd() {
	mkdir -p "$dir/ngx$1"
	cat >"$dir/ngx$1/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $dir/ngx$1/nginx.pid;
error_log $dir/ngx$1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	upstream app { server 127.0.0.1:$BACK; keepalive 128; }
	server {
		listen 127.0.0.1:$1 backlog=4096;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CONF
	echo "nginx -p $dir/ngx$1 -c $dir/ngx$1/nginx.conf"
}
janitord_cmd() {
	mkdir -p "$dir/state$1"
	cat >"$dir/janitor-$1.yaml" <<CONF
listen: 127.0.0.1:$1
upstream: 127.0.0.1:$BACK
state_dir: $dir/state$1
admin: {listen: 127.0.0.1:$(port)}
sessions: {cookie: {issue: false}}
log: {level: warn}
CONF
	echo "build-release/src/janitord -c $dir/janitor-$1.yaml"
}

# Requests wrk completed in a run against port $1 with $2 connections.
requests() {
	wrk -t1 -c"$2" -d"${SECS}s" "http://127.0.0.1:$1/" |
	    awk '/ requests in / { print $1 }'
}

# Wait (longer than wait_port: valgrind starts slowly) for port $1.
wait_slow() {
	i=0
	until wait_port "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 10 ] || { echo "port $1 never opened" >&2; exit 1; }
	done
}

echo "== per request, wrk -t1 -c50 for strace, -c10 for callgrind, ${SECS}s"
printf '  %-9s %9s %9s   %s\n' "" "syscalls" "user-ins" "syscalls by name"
for name in janitord haproxy nginx; do
	# System calls: strace counts them in the running proxy.
	p=$(port)
	$(${name}_cmd "$p") >"$dir/$name.log" 2>&1 &
	pid=$!
	wait_port "$p"
	requests "$p" 50 >/dev/null
	strace -q -c -f -p "$pid" -o "$dir/strace.$name" &
	spid=$!
	sleep 0.3
	n=$(requests "$p" 50)
	kill -INT "$spid"
	wait "$spid" 2>/dev/null || true
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	sys=$(awk -v n="$n" '/^-/ { next } $NF == "total" { print $4 / n }' \
	    "$dir/strace.$name")
	top=$(awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" &&
	    $4 / n >= 0.05 { printf "%s %.2f ", $NF, $4 / n }' "$dir/strace.$name")

	# Instructions: callgrind counts them from a zeroed start to a dump.
	p=$(port)
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$name" \
	    $(${name}_cmd "$p") >"$dir/$name-cg.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	wait_slow "$p"
	requests "$p" 10 >/dev/null
	callgrind_control -z "$pid" >/dev/null 2>&1
	n=$(requests "$p" 10)
	callgrind_control -d "$pid" >/dev/null 2>&1
	sleep 1
	ins=$(awk -v n="$n" \
	    '/^(summary|totals):/ { t = $2 } END { printf "%.0f", t / n }' \
	    "$dir/cg.$name.1")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	printf '  %-9s %9.2f %9s   %s\n' "$name" "$sys" "$ins" "$top"
done
