#!/bin/sh
# Installs what shmpipe needs, the first time only: Bun, TypeScript and the
# other npm packages (pinned in package-lock.json), the C core built with
# make, and pyarrow, pytest and the packaging tools for the Python binding
# (pinned in ffi/python/requirements-dev.txt) into the project's virtual
# environment .venv, and the Go modules the Go package needs (go.sum pins
# them; Go itself must be on the machine). With --bench it also installs
# hyperfine from Debian.
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

GO_STAMP=ffi/core/build/.go-modules-stamp
if [ ! -f "$GO_STAMP" ] || [ go.sum -nt "$GO_STAMP" ]; then
  command -v go >/dev/null 2>&1 || { say "Go is not installed: the Go package needs Go 1.25 or later"; exit 1; }
  say "downloading Go modules (go mod download)"
  go mod download
  touch "$GO_STAMP"
fi

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
