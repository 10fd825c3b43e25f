#!/bin/sh
# The library exports exactly the functions include/shmpipe.h declares, and
# shmpipe.map lists exactly those: nothing internal leaks, nothing is lost.
set -eu
cd "$(dirname "$0")/.."
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort >"$tmp/exported"
# Declarations: a name right before '(' on a line that is not a comment.
grep -vE '^ *(/\*|\*)' include/shmpipe.h | grep -oE '[ *]shmp_[a-z_0-9]+\(' | tr -d ' *(' | sort >"$tmp/declared"
grep -oE '^ +shmp_[a-z_0-9]+;' shmpipe.map | tr -d ' ;' | sort >"$tmp/listed"
status=0
if ! diff -u "$tmp/declared" "$tmp/exported" >&2; then
  echo "exports.sh: $lib exports other functions than include/shmpipe.h declares" >&2
  status=1
fi
if ! diff -u "$tmp/declared" "$tmp/listed" >&2; then
  echo "exports.sh: shmpipe.map lists other functions than include/shmpipe.h declares" >&2
  status=1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libshmpipe.so.1" ] || { echo "exports.sh: soname is '$soname', not libshmpipe.so.1" >&2; status=1; }
[ $status -eq 0 ] && echo "exports: $(wc -l <"$tmp/exported") functions, as declared and listed; soname $soname"
exit $status
