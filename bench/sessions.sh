#!/bin/sh
# The session table at 1,000,000 sessions: memory per session, request cost,
# and the longest event-loop stall while all of them expire at once.
#   bench/sessions.sh [BUILD_DIR] [N]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-1000000}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" bench/bench_sessions >/dev/null
exec "$build/bench/bench_sessions" "$n"
