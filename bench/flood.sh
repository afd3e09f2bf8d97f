#!/bin/sh
# What a flood of cookie-less requests costs (issue 12): janitord (release
# build) in front of nginx (one worker, a short body), wrk -t1 -c50 with no
# cookie, in alternating rounds against three janitords:
#
#   off          sessions.cookie.issue: false: no key, nothing tracked
#   provisional  the default: every request is issued a cookie and makes a
#                provisional session that never returns (memory only)
#   first        sessions.confirm: first_request: every request makes a
#                confirmed session, held until committed (what the default
#                did before provisional sessions)
#
# For each: requests/s, janitord's CPU per request, and store commits
# (janitor_store_commits_total) during the rounds; then one round of each
# under strace -c for the fdatasync/fsync/pwrite64 counts (strace slows the
# process, so that round's rate is not reported).  Targets: provisional at
# least 0.9x off in requests/s, and 0 fdatasync.  The flood comes from
# 127.0.0.1, a trusted proxy, so sessions.new_per_client does not apply.
#
#   bench/flood.sh [ROUNDS] [SECONDS]      (defaults 5 and 10)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-10}
CONNS=${CONNS:-50}
MODES="off provisional first"
. bench/lib.sh
build_release

BACK=$(port)
start_backend "$BACK"
wait_port "$BACK"

for m in $MODES; do
	case $m in
	off)		extra='sessions: {cookie: {issue: false}}' ;;
	provisional)	extra='' ;;
	first)		extra='sessions: {confirm: first_request}' ;;
	esac
	jan=$(port); adm=$(port)
	mkdir -p "$dir/$m"
	cat >"$dir/$m/janitor.yaml" <<CONF
listen: 127.0.0.1:$jan
upstream: 127.0.0.1:$BACK
state_dir: $dir/$m
admin: {listen: 127.0.0.1:$adm}
log: {level: warn}
$extra
CONF
	build-release/src/janitord -c "$dir/$m/janitor.yaml" \
	    >"$dir/$m/janitord.log" 2>&1 &
	pids="$pids $!"
	echo "$! $jan $adm" >"$dir/$m/ports"
	wait_port "$jan"
	wait_port "$adm"
done

# One metric's value from a janitord's admin port.
metric() {
	curl -s "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}

# One wrk run against mode $1: "req/s cpu_us_per_request commits".
run_wrk() {
	read -r jpid jan adm <"$dir/$1/ports"
	c0=$(awk '{ print $14 + $15 }' "/proc/$jpid/stat")
	k0=$(metric "$adm" janitor_store_commits_total)
	wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$jan/" \
	    >"$dir/wrk.out"
	c1=$(awk '{ print $14 + $15 }' "/proc/$jpid/stat")
	k1=$(metric "$adm" janitor_store_commits_total)
	awk -v ticks=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
	    -v commits=$((k1 - k0)) \
	    '/Requests\/sec:/ { rps = $2 }
		/requests in/ { nreq = $1 }
		END { printf "%.0f %.2f %d\n", rps, ticks / hz * 1e6 / nreq,
		    commits }' "$dir/wrk.out"
}

echo "== wrk -t1 -c$CONNS -d${SECS}s, no cookie, $ROUNDS alternating rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for m in $MODES; do SECS=2 run_wrk "$m" >/dev/null; done	# warm-up
: >"$dir/results"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for m in $MODES; do
		res=$(run_wrk "$m")
		echo "$m $res" >>"$dir/results"
		printf '  round %d %-11s %8s req/s  %6s us CPU/request  %6s commits\n' \
		    "$r" "$m" $res
	done
	r=$((r + 1))
done

echo "== median over $ROUNDS rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for m in $MODES; do
	awk -v m="$m" '$1 == m { print $2, $3, $4 }' "$dir/results" |
	    sort -n | awk -v m="$m" '{ r[NR] = $1; c[NR] = $2; k[NR] = $3 }
		END { i = int((NR + 1) / 2)
		    printf "%s %s %s %s\n", m, r[i], c[i], k[i] }'
done >"$dir/medians"
awk '{ printf "  %-11s %8s req/s  %6s us CPU/request  %6s commits a round\n",
	$1, $2, $3, $4; rps[$1] = $2; cpu[$1] = $3 }
	END {
		printf "  provisional/off  req/s %.3f (target >= 0.9), CPU/request %.3f\n",
		    rps["provisional"] / rps["off"], cpu["provisional"] / cpu["off"]
		printf "  first/off        req/s %.3f, CPU/request %.3f\n",
		    rps["first"] / rps["off"], cpu["first"] / cpu["off"]
	}' "$dir/medians"

# Each round's modes ran back to back: their ratios within a round are
# less exposed to the machine's load swings than the medians above.
awk '{ rps[$1, ++n[$1]] = $2; cpu[$1, n[$1]] = $3 }
	END {
		for (i = 1; i <= n["off"]; i++) {
			rr[i] = rps["provisional", i] / rps["off", i]
			cr[i] = cpu["provisional", i] / cpu["off", i]
		}
		m = n["off"]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) {
			if (rr[j] < rr[i]) { t = rr[i]; rr[i] = rr[j]; rr[j] = t }
			if (cr[j] < cr[i]) { t = cr[i]; cr[i] = cr[j]; cr[j] = t }
		}
		k = int((m + 1) / 2)
		printf "  provisional/off, median of the rounds'"'"' ratios: req/s %.3f, CPU/request %.3f\n",
		    rr[k], cr[k]
	}' "$dir/results"

if ! command -v strace >/dev/null; then
	echo "== no strace: system call counts skipped"
	exit 0
fi
echo "== system calls during ${SECS}s of flood (strace -c -f, its rate not counted)"
for m in $MODES; do
	read -r jpid jan adm <"$dir/$m/ports"
	strace -c -f -e trace=fdatasync,fsync,pwrite64 -p "$jpid" \
	    -o "$dir/$m/strace.out" &
	spid=$!
	sleep 1
	wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$jan/" \
	    >"$dir/wrk.out"
	kill -INT "$spid"
	wait "$spid" 2>/dev/null || true
	nreq=$(awk '/requests in/ { print $1 }' "$dir/wrk.out")
	awk -v m="$m" -v n="$nreq" '
		$NF == "fdatasync" || $NF == "fsync" || $NF == "pwrite64" {
			c[$NF] = $4 }
		END { printf "  %-11s %8d requests: %5d fdatasync, %5d fsync, %6d pwrite64\n",
		    m, n, c["fdatasync"], c["fsync"], c["pwrite64"] }' \
	    "$dir/$m/strace.out"
done
