#!/bin/sh
# Install what building, running and testing janitor needs (Debian 12, root).
set -eu

PACKAGES="
  build-essential clang libclang-rt-14-dev meson ninja-build pkg-config
  libevent-dev libyaml-dev check node-llhttp libsqlite3-dev
  libssl-dev libjansson-dev
  python3 python3-aiohttp python3-websockets python3-h11
  nginx-light haproxy wrk hyperfine valgrind scdoc iproute2 sqlite3 curl openssl
  systemd
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Debian starts nginx and haproxy on install; the tests start their own.
for s in nginx haproxy; do
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	fi
done
