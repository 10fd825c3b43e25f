// The C core's owned.c, compiled into this package by cgo (which builds only
// the C files of the package's own directory). core_test.go checks that
// every file of ffi/core/src has such a wrapper.
#include "../core/src/owned.c"
