#!/bin/sh
# Configure (once) and build one flavour: build.sh DIR [meson options...]
set -eu
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
