#!/bin/sh
# Copies what building the C core needs (include/, src/, shmpipe.map,
# Makefile) into DEST, for packages that must carry the core's sources
# because their build sees only their own directory (the Python sdist, the
# R package). `make -C DEST` then builds DEST/build/linux-<arch>/libshmpipe.so.
#   sh ffi/core/bundle.sh DEST
set -eu
[ $# -eq 1 ] || { echo "usage: sh ffi/core/bundle.sh DEST" >&2; exit 2; }
core="$(cd "$(dirname "$0")" && pwd)"
dest="$1"
mkdir -p "$dest"
# A fresh copy: a source file removed from the core must not linger in it
# (the Makefile compiles every src/*.c).
rm -rf "$dest/include" "$dest/src"
cp -R "$core/include" "$core/src" "$dest/"
cp "$core/shmpipe.map" "$core/Makefile" "$dest/"
