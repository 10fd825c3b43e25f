#!/bin/sh
# The project's tests, as `npm test` runs them (after scripts/setup.sh):
# the C core under ASan/UBSan, the TypeScript type check, the Go package
# (vet, then its tests with the race detector), the R package's testthat
# suite, then every bun test (real processes in every language, real
# /dev/shm; the Python suite among them).
set -eu
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "C core (ASan + UBSan)"
make -s -C ffi/core test
step "TypeScript types"
node_modules/.bin/tsc --noEmit -p .
step "Go package"
go vet ./ffi/go/...
go test -race -count=1 ./ffi/go/...
step "R package (testthat)"
R_LIBS="$PWD/.rlib" Rscript -e 'testthat::test_dir("ffi/r/tests/testthat", package = "shmpipe", load_package = "installed", reporter = "summary", stop_on_failure = TRUE)'
step "bun test"
node_modules/.bin/bun test --timeout 120000
