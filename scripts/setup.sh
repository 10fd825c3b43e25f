#!/bin/sh
# Installs what shmpipe needs, the first time only: Bun, Deno, TypeScript and the
# other npm packages (pinned in package-lock.json), the C core built with
# make, and pyarrow, pytest and the packaging tools for the Python binding
# (pinned in ffi/python/requirements-dev.txt) into the project's virtual
# environment .venv, the Go modules the Go package needs (go.sum pins
# them; Go itself must be on the machine), R and clang from Debian, and the
# R package into .rlib. With --bench it also installs hyperfine.
# Run it as often as you like: the second time it only checks that
# everything is in place.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'shmpipe setup: %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/deno ] || [ ! -f node_modules/.install-stamp ] \
   || [ package-lock.json -nt node_modules/.install-stamp ]; then
  say "installing Bun, Deno and npm packages (npm ci)"
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

# Debian's packages: R (no CRAN here: testthat, bit64 and data.table come
# from Debian too) and clang with libFuzzer for the core's fuzzer; with
# --bench also hyperfine. Installed once, without the recommended extras.
APT_NEEDED=""
command -v Rscript >/dev/null 2>&1 && Rscript -e 'quit(status = !all(vapply(c("testthat", "future"), requireNamespace, NA, quietly = TRUE)))' >/dev/null 2>&1 \
  || APT_NEEDED="$APT_NEEDED r-base-core r-base-dev r-cran-testthat r-cran-bit64 r-cran-data.table r-cran-future"
command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
  || APT_NEEDED="$APT_NEEDED clang libclang-rt-14-dev"
[ "${1:-}" = "--bench" ] && ! command -v hyperfine >/dev/null 2>&1 && APT_NEEDED="$APT_NEEDED hyperfine"
if [ -n "$APT_NEEDED" ]; then
  say "installing$APT_NEEDED (apt-get)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_NEEDED >/dev/null
fi

# The R package, into the project's own library (.rlib), again whenever
# its sources or the core's changed (R CMD INSTALL bundles the core).
R_STAMP=.rlib/.stamp
if [ ! -f "$R_STAMP" ] || [ -n "$(find ffi/r/R ffi/r/src ffi/r/DESCRIPTION ffi/r/NAMESPACE ffi/r/configure ffi/core/src ffi/core/include \
     -newer "$R_STAMP" -type f ! -name '*.o' ! -name '*.so' ! -path 'ffi/r/src/core/*' 2>/dev/null | head -1)" ]; then
  say "installing the R package into .rlib (R CMD INSTALL)"
  mkdir -p .rlib
  R CMD INSTALL --no-docs --no-html -l .rlib ffi/r >/dev/null 2>.rlib/install.log || { cat .rlib/install.log >&2; exit 1; }
  touch "$R_STAMP"
fi
