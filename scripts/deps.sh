#!/bin/sh
# Install what building, running and testing janitor needs (Debian 12, root).
set -eu

PACKAGES="
  build-essential clang libclang-rt-14-dev meson ninja-build pkg-config
  libevent-dev libyaml-dev check node-llhttp libsqlite3-dev
  libssl-dev libjansson-dev libpcre2-dev
  python3 python3-aiohttp python3-websockets python3-h11
  nginx-light haproxy wrk hyperfine valgrind scdoc iproute2 sqlite3 curl openssl
  systemd
  python3-numpy python3-pandas python3-pil python3-brotli python3-filelock
  python3-fsspec python3-tqdm python3-semantic-version python3-pydub
  python3-rich python3-shellingham python3-tomlkit python3-packaging
  python3-matplotlib
"
# The real Gradio's tests (tests/gradio) drive it with @gradio/client:
# Debian's Node unless a newer one is installed (its npm comes with it).
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

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

# @gradio/client, one version per Gradio major, pinned by the lock file,
# into tests/gradio/node_modules (ignored by git); again only when the
# lock file changed.
cd "$(dirname "$0")/.."
lock=tests/gradio/package-lock.json
if ! cmp -s "$lock" tests/gradio/node_modules/.janitor-lock 2>/dev/null; then
	echo "deps: npm ci in tests/gradio"
	npm ci --prefix tests/gradio --ignore-scripts --no-audit --no-fund \
	    >/dev/null
	cp "$lock" tests/gradio/node_modules/.janitor-lock
fi
