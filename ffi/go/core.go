// Package shmpipe hands bytes and Apache Arrow record batches between
// processes on one machine through POSIX shared memory, over the same C
// core as shmpipe's TypeScript, Python and R bindings (ffi/core, compiled
// into this package by cgo).
//
// A channel has one writer and up to 32 readers, each of which sees every
// record. The side that creates a channel owns its name: Close removes it
// from /dev/shm. The package never takes a signal by itself: a program
// that handles none can ask for its names to go on SIGINT, SIGTERM and
// SIGHUP with RemoveNamesOnSignals; otherwise the names of a process that
// ended without closing stay until `shmpipe gc`.
//
// Received bytes are slices of shared memory: valid until the Message (or
// the arrow.RecordBatch) is released. Keep data longer by copying it.
package shmpipe

/*
#cgo CFLAGS: -std=c11 -O2 -I${SRCDIR}/../core/include -I${SRCDIR}/../core/src
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// coreABI is the ABI of the C core this package is written for; the core is
// compiled in, so this only guards against a mismatched checkout.
const coreABI = 1

func init() {
	if abi := uint32(C.shmp_abi()); abi != coreABI {
		panic(fmt.Sprintf("shmpipe: the C core %s has ABI %d, this package needs %d", C.GoString(C.shmp_version()), abi, coreABI))
	}
}

// Version is the shmpipe release of the C core compiled into this package.
func Version() string { return C.GoString(C.shmp_version()) }

// constant is one of the core's named constants (shmp_constant).
func constant(name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	value := int64(C.shmp_constant(cname))
	if value == -1<<63 {
		panic("shmpipe: the C core has no constant " + name)
	}
	return int(value)
}

// Error is every failure shmpipe reports. Its message is the C core's
// sentence, the same in every language. Compare with errors.Is against the
// Err* values; system errors also match their syscall.Errno (so
// errors.Is(err, fs.ErrNotExist) works for a missing channel).
type Error struct {
	Code    int    // the numeric code: -errno, or the core's own
	Name    string // stable name: "ETIMEOUT", "EPEERGONE", "ENOENT", ...
	Op      string // what was being done: "create", "recv", ...
	Segment string // the channel's name
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches another *Error with the same code, such as the Err* values.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap gives the syscall.Errno of a system error.
func (e *Error) Unwrap() error {
	if e.Code < 0 && e.Code > -4096 {
		return syscall.Errno(-e.Code)
	}
	return nil
}

func sentinel(name string) *Error {
	return &Error{Code: constant(name), Name: name, Message: "shmpipe: " + name}
}

// Values to compare errors with (errors.Is).
var (
	ErrTimeout   = sentinel("ETIMEOUT")   // a wait ran out of time
	ErrClosed    = sentinel("ECLOSED")    // the other end closed the channel
	ErrPeerGone  = sentinel("EPEERGONE")  // the process at the other end died
	ErrTooLarge  = sentinel("ETOOLARGE")  // a record larger than the channel can hold
	ErrBusy      = sentinel("EINUSE")     // the role is held by another live process
	ErrNotReady  = sentinel("ENOTREADY")  // the segment's creator has not finished
	ErrState     = sentinel("ESTATE")     // a call out of order
	ErrInvalid   = sentinel("EBADARG")    // a bad argument
	ErrArrow     = sentinel("EARROW")     // a record is not a valid Arrow IPC message
	ErrCorrupt   = sentinel("ECORRUPT")   // the segment's header or a record is corrupt
	ErrBadMagic  = sentinel("EBADMAGIC")  // not a shmpipe segment
	ErrABI       = sentinel("EABI")       // made by an incompatible shmpipe version
	ErrTruncated = sentinel("ETRUNCATED") // smaller than its header says
	ErrUnread    = sentinel("EUNREAD")    // a close lost records that no reader ever read
)

var codeAgain = constant("ENOTYET")

// fromCore turns the core's shmp_error into an *Error.
func fromCore(e *C.shmp_error) *Error {
	code := int(e.code)
	return &Error{
		Code:    code,
		Name:    C.GoString(C.shmp_error_name(e.code)),
		Op:      C.GoString(&e.op[0]),
		Segment: C.GoString(&e.segment[0]),
		Message: C.GoString(&e.message[0]),
	}
}

// usageError is a failure this package detects itself, worded by the core.
func usageError(code int, op, segment, detail string) *Error {
	var e C.shmp_error
	cop, cseg, cdetail := C.CString(op), C.CString(segment), C.CString(detail)
	defer C.free(unsafe.Pointer(cop))
	defer C.free(unsafe.Pointer(cseg))
	defer C.free(unsafe.Pointer(cdetail))
	C.shmp_error_set(&e, C.int(code), cop, cseg, cdetail)
	return fromCore(&e)
}
