#!/bin/sh
# A fuzzing campaign: each libFuzzer harness runs HOURS (a decimal is
# fine: 0.25) with the limits CI uses, JOBS harnesses at a time (default:
# one per CPU), starting from its checked-in corpus.  Afterwards the
# campaign's corpus is minimised into tests/fuzz/corpus/NAME (libFuzzer's
# -merge=1: only inputs that add coverage to the seeds are added), ready
# to be committed as regression seeds.  Findings are kept in build-logs/ and
# printed with what reproduces them; the exit status is 1 if there was any.
#
#   scripts/fuzz.sh HOURS [HARNESS...]      e.g. scripts/fuzz.sh 1 fuzz_http
set -u
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/fuzz.sh HOURS [HARNESS...]" >&2; exit 2; }
hours=$1
shift
secs=$(awk -v h="$hours" 'BEGIN { s = int(h * 3600); print (s > 0 ? s : 0) }')
[ "$secs" -gt 0 ] || { echo "fuzz: HOURS must be more than 0" >&2; exit 2; }
jobs=${JOBS:-$(nproc)}
limits="-rss_limit_mb=512 -timeout=5"
log=build-logs
mkdir -p "$log"

./scripts/deps.sh
CC=clang ./scripts/build.sh build-fuzz -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false || exit 1

if [ $# -eq 0 ]; then
	set -- $(cd build-fuzz/tests/fuzz && ls -d fuzz_* | grep -v '\.p$')
fi

# One harness's campaign, into $log/campaign-NAME/.
campaign() {
	name=$1
	h=build-fuzz/tests/fuzz/$name
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$log/campaign-$name
	rm -rf "$work" "$log/campaign-$name-"*
	mkdir -p "$work" "$seeds"
	echo "fuzz: $name for $secs s"
	# shellcheck disable=SC2086
	"$h" -max_total_time="$secs" $limits -print_final_stats=1 \
	    -artifact_prefix="$log/campaign-$name-" "$work" \
	    $(./scripts/fuzz-seeds.sh "$name") \
	    >"$log/campaign-$name.txt" 2>&1
	echo $? >"$log/campaign-$name.rc"
}

running=0
for name in "$@"; do
	[ -x "build-fuzz/tests/fuzz/$name" ] ||
	    { echo "fuzz: no harness $name" >&2; exit 2; }
	campaign "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

found=0
for name in "$@"; do
	h=build-fuzz/tests/fuzz/$name
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$log/campaign-$name
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$log/campaign-$name.txt")
	before=$(ls "$seeds" | wc -l)
	# Into the seeds goes only what adds coverage to them (the named
	# seeds stay; the new ones are named by their SHA-1).
	# shellcheck disable=SC2086
	"$h" -merge=1 $limits "$seeds" "$work" >"$log/merge-$name.txt" 2>&1
	echo "fuzz: $name: ${runs:-?} runs, exit $(cat \
	    "$log/campaign-$name.rc"); corpus $before -> $(ls "$seeds" | wc -l) seeds"
	for a in "$log/campaign-$name-"*; do
		[ -f "$a" ] || continue
		found=1
		echo "fuzz: $name: finding $a ($(wc -c <"$a") bytes);" \
		    "reproduce: $h $a"
		base64 "$a" | head -200
	done
done
exit "$found"
