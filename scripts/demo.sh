#!/bin/sh
# Install, build and start janitord in front of a demo app that behaves like
# a Gradio app.  Open the page, press the button, close the tab, and watch
# the unload and expire events and the files go away.  Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh build --prefix=/usr

root=/tmp/janitor-demo
mkdir -p "$root/state" "$root/sessions" "$root/cache"
if [ ! -f "$root/webhook.secret" ]; then
	printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64)" \
	    >"$root/webhook.secret"
fi

build/src/janitord -c scripts/demo/demo.yaml --check

/usr/bin/python3 scripts/demo/app.py --root "$root" \
    --secret-file "$root/webhook.secret" &
app=$!
build/src/janitord -c scripts/demo/demo.yaml &
jd=$!
trap 'kill $jd $app 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

cat <<MSG

  janitor demo is running.

  Open       http://127.0.0.1:8080/      (through janitord; the app is on :7860)
  Press      "Do some work", then close the tab.
  Watch      this terminal: "session.unload" about 3 s after the tab closes,
             "session.expire" 20 s later; $root/sessions/HASH disappears
             at unload, and cache files older than 30 s are swept every 10 s.
  Inspect    curl -s 127.0.0.1:9090/sessions ; curl -s 127.0.0.1:9090/metrics
             ls -R $root

MSG
wait $jd
