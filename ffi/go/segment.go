package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"os"
	"time"
	"unsafe"
)

// The defaults are the core's (shmp_constant), the same in every language.
var (
	// DefaultReadyTimeout is how long opening waits for a channel whose
	// creator has not finished setting it up.
	DefaultReadyTimeout = time.Duration(constant("DEFAULT_READY_TIMEOUT_NS"))
	// DefaultLinger is how long a writer's Close waits for a reader to
	// come for records that would otherwise be lost (the core's wait).
	DefaultLinger = time.Duration(constant("DEFAULT_TIMEOUT_NS"))
	// DefaultCapacity is the record space to create a channel with when
	// the program has no better figure.
	DefaultCapacity = constant("DEFAULT_CAPACITY")
)

// Option sets how a channel is created or opened, or how its waits poll.
type Option func(*config)

type config struct {
	mode            os.FileMode
	allowOtherOwner bool
	readyTimeout    time.Duration
	readOnlyData    bool // map the data ring read-only (readers)
	table           bool // open a published table (the core words failures so), or create one to publish
	wait            time.Duration
	spin            uint32
	linger          time.Duration // writers: see WithLinger
	persist         bool          // Publish: see Persist
}

func configOf(options []Option) config {
	c := config{mode: 0o600, readyTimeout: DefaultReadyTimeout, spin: uint32(DefaultSpin), linger: DefaultLinger}
	for _, option := range options {
		option(&c)
	}
	return c
}

// WithMode sets a new channel's permission bits (default 0600: this user only).
func WithMode(mode os.FileMode) Option { return func(c *config) { c.mode = mode } }

// WithAllowOtherOwner opens a channel another user created (refused by default).
func WithAllowOtherOwner() Option { return func(c *config) { c.allowOtherOwner = true } }

// WithReadyTimeout sets how long opening waits for a channel still being set up.
func WithReadyTimeout(timeout time.Duration) Option {
	return func(c *config) { c.readyTimeout = timeout }
}

// WithWait makes opening wait up to timeout for a channel that has not been
// created yet, so that start-up order need not matter (default: it must
// exist).
func WithWait(timeout time.Duration) Option { return func(c *config) { c.wait = timeout } }

// WithSpin sets how many times a wait polls before it sleeps (default DefaultSpin).
func WithSpin(polls int) Option { return func(c *config) { c.spin = uint32(max(polls, 0)) } }

// WithLinger sets how long a writer's Close waits (default DefaultLinger;
// negative: as long as it takes) when it created the channel and no reader
// has ever attached to read what it sent: a reader that comes in time holds
// the records once the name is gone, else Close returns ErrUnread.
func WithLinger(linger time.Duration) Option { return func(c *config) { c.linger = linger } }

// Persist makes Publish's table outlive the publishing process: its name
// stays until Unpublish(name) in any process.
func Persist() Option { return func(c *config) { c.persist = true } }

func withReadOnlyData() Option { return func(c *config) { c.readOnlyData = true } }

// asTable opens a published table: the core words its failures about a
// table ("No table by that name is published", a near name offered). To
// create, it makes the segment of a table to publish (shmp_table_create),
// which the core writes through its file until it is sealed.
func asTable() Option { return func(c *config) { c.table = true } }

var (
	openAllowOtherOwner = C.uint32_t(constant("OPEN_ALLOW_OTHER_OWNER"))
	openReadOnlyData    = C.uint32_t(constant("OPEN_READ_ONLY_DATA"))
	openWaitForName     = C.uint32_t(constant("OPEN_WAIT_FOR_NAME"))
	openTable           = C.uint32_t(constant("OPEN_TABLE"))
)

// segment is the core's reference-counted mapping of one channel; this
// struct holds one reference.
type segment struct {
	ptr   *C.shmp_segment
	name  string
	base  unsafe.Pointer
	size  int
	owned bool // this endpoint created the name (the core's registry holds it) and removes it
}

func wrapSegment(ptr *C.shmp_segment, owned bool) *segment {
	return &segment{
		ptr:   ptr,
		name:  C.GoString(C.shmp_segment_name(ptr)),
		base:  C.shmp_segment_base(ptr),
		size:  int(C.shmp_segment_length(ptr)),
		owned: owned,
	}
}

func createSegment(name string, capacity int, c config) (*segment, error) {
	mode := c.mode
	if capacity < 0 {
		capacity = 0 // the core refuses it, with its sentence
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.shmp_error
	var ptr *C.shmp_segment
	if c.table {
		ptr = C.shmp_table_create(cname, C.uint64_t(capacity), C.uint32_t(mode), &e)
	} else {
		ptr = C.shmp_segment_create(cname, C.uint64_t(capacity), C.uint32_t(mode), &e)
	}
	if ptr == nil {
		return nil, fromCore(&e)
	}
	// The core recorded the name as this process's (shmp_owned_*): see
	// RemoveNamesOnSignals for what happens to it when the process ends.
	return wrapSegment(ptr, true), nil
}

func openSegment(name string, c config) (*segment, error) {
	flags := C.uint32_t(0)
	if c.allowOtherOwner {
		flags |= openAllowOtherOwner
	}
	if c.readOnlyData {
		flags |= openReadOnlyData
	}
	if c.table {
		flags |= openTable
	}
	ready := c.readyTimeout
	if c.wait > 0 { // one limit for both: the name to appear, then the header
		flags |= openWaitForName
		ready = c.wait
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.shmp_error
	ptr := C.shmp_segment_open(cname, flags, C.int64_t(ready.Nanoseconds()), &e)
	if ptr == nil {
		return nil, fromCore(&e)
	}
	return wrapSegment(ptr, false), nil
}

// bytes is the mapping from offset on, length bytes long (checked by the core).
// `e` is the caller's error struct (in C memory on hot paths).
func (s *segment) bytes(offset, length int, op *C.char, e *C.shmp_error) ([]byte, error) {
	if C.shmp_segment_range(s.ptr, C.uint64_t(offset), C.uint64_t(length), op, e) != 0 {
		return nil, fromCore(e)
	}
	return unsafe.Slice((*byte)(unsafe.Add(s.base, offset)), length), nil
}

// The operations hot paths name to the core, as C strings made once.
var (
	opRecv  = C.CString("recv")
	opClaim = C.CString("claim")
	opOpen  = C.CString("open")
	opSend  = C.CString("send")
)

func (s *segment) ref()   { C.shmp_segment_ref(s.ptr) }
func (s *segment) unref() { C.shmp_segment_unref(s.ptr) }

// close drops this reference and removes the name if this process made it.
func (s *segment) close() {
	s.forget()
	s.unref()
}

// forget removes the name if this endpoint made it and this process still
// owns it (the core's registry: a name unlinked or unpublished since may be
// another process's segment now); mappings stay valid.
func (s *segment) forget() {
	if s.owned {
		s.owned = false
		cname := C.CString(s.name)
		defer C.free(unsafe.Pointer(cname))
		C.shmp_owned_unlink(cname, nil)
	}
}

// protectRecords maps the records read-only, for a reader of a segment
// this process created (an opened one is mapped so by the core): no reader
// can change what another reads.
func (s *segment) protectRecords() error {
	var e C.shmp_error
	if C.shmp_segment_protect_records(s.ptr, &e) != 0 {
		return fromCore(&e)
	}
	return nil
}

// keep lets the name outlive this process (a persistent table): the core
// forgets it as this process's, and closing the segment leaves it.
func (s *segment) keep() {
	s.owned = false
	forgetName(s.name)
}

// Unlink removes a channel's name from /dev/shm; mappings stay valid.
func Unlink(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.shmp_error
	if C.shmp_unlink(cname, &e) != 0 {
		return fromCore(&e)
	}
	return nil
}

func forgetName(name string) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	C.shmp_owned_forget(cname)
}
