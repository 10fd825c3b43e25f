package main

// What the bridge asks the C core directly: the names in /dev/shm and
// whether each is a channel or a published table. The Go binding
// (ffi/go) has no call for these yet; the core is compiled into it, so
// its symbols are linked into this program already.

/*
#cgo CFLAGS: -I${SRCDIR}/../../../core/include
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"bytes"
	"syscall"
	"unsafe"
)

// kind is what a local name holds.
type kind int

const (
	kindChannel kind = C.SHMP_KIND_CHANNEL
	kindTable   kind = C.SHMP_KIND_TABLE
)

func (k kind) String() string {
	if k == kindTable {
		return "table"
	}
	return "channel"
}

// coreError is a failure the core worded.
// (errors.Is with fs.ErrNotExist works, as with the binding's errors).
type coreError struct {
	code          int
	name, message string
}

func (e *coreError) Error() string { return e.message }

func (e *coreError) Unwrap() error {
	if e.code < 0 && e.code > -4096 {
		return syscall.Errno(-e.code)
	}
	return nil
}

func fromCore(e *C.shmp_error) *coreError {
	return &coreError{code: int(e.code), name: C.GoString(C.shmp_error_name(e.code)), message: C.GoString(&e.message[0])}
}

// localNames lists the shmpipe segments of this machine (the core's list).
func localNames() ([]string, error) {
	var e C.shmp_error
	size := int64(4096)
	for {
		buf := make([]byte, size)
		n := int64(C.shmp_segment_list((*C.char)(unsafe.Pointer(&buf[0])), C.uint64_t(size), &e))
		if n < 0 {
			return nil, fromCore(&e)
		}
		if n <= size {
			var names []string
			for _, name := range bytes.Split(buf[:n], []byte{0}) {
				if len(name) > 0 {
					names = append(names, string(name))
				}
			}
			return names, nil
		}
		size = n
	}
}

// segmentInfo is what the bridge tells of a local name without taking part in it.
type segmentInfo struct {
	kind  kind
	size  int64 // bytes of the segment
	alive bool  // a channel's writer is alive and has not closed
	id    segmentID
	known bool // id was told
}

// inspect looks at a name's header (read-only, waiting for nothing).
func inspect(name string) (segmentInfo, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.shmp_error
	s := C.shmp_segment_open(cname, C.SHMP_OPEN_INSPECT, 0, &e)
	if s == nil {
		return segmentInfo{}, fromCore(&e)
	}
	defer C.shmp_segment_unref(s)
	var st C.shmp_stat
	if C.shmp_segment_counts(s, &st, &e) != 0 {
		return segmentInfo{}, fromCore(&e)
	}
	var id segmentID
	known := false
	if st.kind == C.SHMP_KIND_TABLE {
		id, known = idOf(s)
	}
	return segmentInfo{
		kind:  kind(st.kind),
		size:  int64(st.size),
		alive: st.writer_alive != 0 && st.writer_closed == 0,
		id:    id,
		known: known,
	}, nil
}

// defaultCapacity is the core's default channel capacity.
func defaultCapacity() int {
	cname := C.CString("DEFAULT_CAPACITY")
	defer C.free(unsafe.Pointer(cname))
	return int(C.shmp_constant(cname))
}
