#!/bin/sh
# What session tracking costs the relay: janitord (release build) in front
# of nginx (one worker, a short body), wrk -t1 -c50, in alternating rounds:
#
#   off     requests without a session key, cookie.issue off: the hooks run
#           but find no key, so nothing is tracked
#   on      every request carries one session's cookie: key lookup, touch,
#           forward_header added, tag kept with the exchange
#   on-10k  requests rotate over 10,000 sessions' cookies
#
# All three use the same wrk Lua request function, so wrk's own cost is the
# same in each.  Target: "on" at most 5 % below "off".
#
#   bench/session_proxy.sh [ROUNDS] [SECONDS]      (defaults 3 and 5)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-50}
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
sessions: {cookie: {issue: false}, capacity: 100000}
log: {level: warn}
CONF
build-release/src/janitord -c "$dir/janitor.yaml" >"$dir/janitord.log" 2>&1 &
JPID=$!
pids="$pids $JPID"
for p in $BACK $JAN $JADM; do wait_port "$p"; done

# The wrk scripts: the same request function, different headers.
for mode in off on on-10k; do
	case $mode in
	off)	hdr='"X-Bench", "k" .. (n % 10000)' ;;
	on)	hdr='"Cookie", "janitor_sid=benchsession"' ;;
	on-10k)	hdr='"Cookie", "janitor_sid=k" .. (n % 10000)' ;;
	esac
	cat >"$dir/$mode.lua" <<LUA
n = 0
request = function()
	n = n + 1
	local h = {}
	local k, v = $hdr
	h[k] = v
	return wrk.format("GET", "/", h)
end
LUA
done

# janitord's CPU time so far, in clock ticks (user + system).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$JPID/stat"
}

# One wrk run: prints "req/s p99_ms cpu_us_per_request".  CPU per request
# counts only janitord's own time, so it holds even on a busy machine.
run_wrk() {
	c0=$(cpu_ticks)
	wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$dir/$1.lua" \
	    "http://127.0.0.1:$JAN/" >"$dir/wrk.out"
	c1=$(cpu_ticks)
	awk -v ticks=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
	    '/Requests\/sec:/ { rps = $2 }
		/requests in/ { nreq = $1 }
		/^ +99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		    if (u == "us") v /= 1000; else if (u == "s") v *= 1000;
		    p99 = v }
		END { printf "%.0f %.3f %.2f\n", rps, p99, ticks / hz * 1e6 / nreq }' \
	    "$dir/wrk.out"
}

echo "== wrk -t1 -c$CONNS -d${SECS}s, $ROUNDS alternating rounds (load: $(cut -d' ' -f1 /proc/loadavg))"
for m in off on on-10k; do run_wrk "$m" >/dev/null; done	# warm-up
: >"$dir/results"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for m in off on on-10k; do
		res=$(run_wrk "$m")
		echo "$m $res" >>"$dir/results"
		printf '  round %d %-7s %8s req/s  p99 %s ms  %s us CPU/request\n' \
		    "$r" "$m" $res
	done
	r=$((r + 1))
done
sessions=$(curl -s "http://127.0.0.1:$JADM/metrics" |
    sed -n 's/^janitor_sessions_created_total \([0-9]*\)$/\1/p')

echo "== mean over $ROUNDS rounds ($sessions sessions created)"
awk '{ n[$1]++; rps[$1] += $2; p99[$1] += $3; cpu[$1] += $4 }
	END {
		split("off on on-10k", order, " ")
		for (i = 1; i <= 3; i++) {
			k = order[i]
			printf "  %-7s %9.0f req/s  p99 %7.3f ms  %6.2f us CPU/request\n",
			    k, rps[k] / n[k], p99[k] / n[k], cpu[k] / n[k]
		}
		off = rps["off"] / n["off"]; coff = cpu["off"] / n["off"]
		printf "  on/off     req/s %.3f (target >= 0.95), CPU/request %.3f\n",
		    (rps["on"] / n["on"]) / off, (cpu["on"] / n["on"]) / coff
		printf "  on-10k/off req/s %.3f, CPU/request %.3f\n",
		    (rps["on-10k"] / n["on-10k"]) / off, (cpu["on-10k"] / n["on-10k"]) / coff
	}' "$dir/results"
