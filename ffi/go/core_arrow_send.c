// The C core's arrow_send.c, compiled into this package by cgo (which builds only
// the C files of the package's own directory). core_test.go checks that
// every file of ffi/core/src has such a wrapper.
#include "../core/src/arrow_send.c"
