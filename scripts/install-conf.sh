#!/bin/sh
# meson install hook: put the default policy in place unless one exists.
# $1: the source file, $2: the directory (relative to the prefix unless absolute)
set -eu
src=$1
dir=$2
case "$dir" in
/*) ;;
*) dir="${MESON_INSTALL_PREFIX}/$dir" ;;
esac
dest="${DESTDIR:-}$dir/janitor.yaml"
mkdir -p "$(dirname "$dest")"
if [ -e "$dest" ]; then
	echo "keeping existing $dest"
	exit 0
fi
install -m 0644 "$src" "$dest"
echo "installed $dest"
