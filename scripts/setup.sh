#!/bin/sh
# Installs what shmpipe needs, the first time only: Bun, TypeScript and the
# other npm packages (pinned in package-lock.json), the C core built with
# make, and pyarrow, pytest and the packaging tools for the Python binding
# (pinned in ffi/python/requirements-dev.txt) into the project's virtual
# environment .venv. With --bench it also installs hyperfine from Debian.
# Run it as often as you like: the second time it only checks that
# everything is in place.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'shmpipe setup: %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/bun ] || [ ! -f node_modules/.install-stamp ] \
   || [ package-lock.json -nt node_modules/.install-stamp ]; then
  say "installing Bun and npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.install-stamp
fi

make -s -C ffi/core

# Python: a virtual environment of the project's own (.venv), so that
# nothing is installed into the machine's Python; scripts/python.ts runs it.
PY_STAMP=.venv/.requirements-stamp
if [ ! -x .venv/bin/python ] || [ ! -f "$PY_STAMP" ] || [ ffi/python/requirements-dev.txt -nt "$PY_STAMP" ]; then
  say "installing pyarrow, pytest and the packaging tools into .venv (pip)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r ffi/python/requirements-dev.txt
  touch "$PY_STAMP"
fi

if [ "${1:-}" = "--bench" ] && ! command -v hyperfine >/dev/null 2>&1; then
  say "installing hyperfine (apt-get)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq hyperfine >/dev/null
fi
