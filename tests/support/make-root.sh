#!/bin/sh
# Builds a minimal Debian root for the --root tests:
#   make-root.sh SUITE DIR
# (trixie: glibc 2.41; bullseye: glibc 2.31). Needs debootstrap and root.
set -eu
suite=$1
dir=$2
if [ -x "$dir/usr/bin/ls" ] && [ -f "$dir/.complete" ]; then
  exit 0
fi
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
debootstrap --variant=minbase "$suite" "$dir.tmp" http://deb.debian.org/debian > "$dir.log" 2>&1 || {
  tail -20 "$dir.log" >&2
  exit 1
}
touch "$dir.tmp/.complete"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
