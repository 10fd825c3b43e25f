package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/shmpipe/shmpipe/ffi/go/internal/spin"
)

// Reader is the reading end of a channel. Recv calls take turns; Message
// releases may come from any goroutine.
type Reader struct {
	mu      sync.Mutex // held by core calls on r, and by uses of out
	seg     *segment
	r       *C.shmp_reader
	out     *readerOut // the core's out-parameters, in C memory
	spin    C.uint32_t
	closing atomic.Bool

	// Messages not yet released: the reader's hold on the mapping outlasts
	// Close until the last of them goes (a message costs no call into C for
	// that, on the hot path).
	outstanding atomic.Int64
	closeSeg    sync.Once

	// Releases that came while a Recv held mu (it waits for records, and the
	// writer may wait for the space they free): Recv gives them back.
	pendingMu  sync.Mutex
	pending    []uint64
	closed     bool
	anyPending atomic.Bool // pending is not empty: a poll stops to give them back

	// Where the core writes a batch (RecvBatch): (offset, length) per
	// record, in C memory like out, grown to the largest batch asked for.
	batchWords *C.uint64_t
	batchRoom  int

	spare      []Message // Messages not handed out yet (newMessage); mu is held
	spareBytes []byte    // room for copies of small records not handed out yet (copied); mu is held
}

// Message is one received record. Bytes is the record itself, in shared
// memory: valid until Release. Messages may be kept and released in any
// order; the writer reuses a record's space only after it is released (so
// a message never released holds the channel back). Release each one,
// or Copy what you keep.
//
// A record shorter than CopyBelow (512 B) arrives as a copy of its own
// instead: the core copies it and gives its space back in the same call
// (a second cgo call per record, to release it, cost as much as the
// record). Its Bytes stay valid after Release, which does nothing more.
type Message struct {
	Bytes    []byte
	reader   *Reader
	lease    uint64
	released atomic.Bool
}

// Copy returns the payload in memory of your own.
func (m *Message) Copy() []byte { return append([]byte(nil), m.Bytes...) }

// Release gives the record's space back to the writer. Bytes must not be
// used afterwards. Releasing twice does nothing.
func (m *Message) Release() {
	if m.released.Swap(true) {
		return
	}
	m.Bytes = nil
	if m.reader != nil { // nil for a copy: its space went back at once
		m.reader.giveBack(m.lease)
	}
}

// Batch is records received together by RecvBatch, in one call into the
// core: each of Records is a slice of shared memory, valid until Release,
// which gives the space of them all back at once. A batch is held like a
// Message (see there), and released from any goroutine.
type Batch struct {
	Records  [][]byte
	reader   *Reader
	lease    uint64
	released atomic.Bool
}

// Release gives the records' space back to the writer. Records must not
// be used afterwards. Releasing twice does nothing.
func (b *Batch) Release() {
	if b.released.Swap(true) {
		return
	}
	b.Records = nil
	b.reader.giveBack(b.lease)
}

// giveBack releases a lease a Message or a Batch held.
func (r *Reader) giveBack(lease uint64) {
	r.releaseLease(lease)
	if r.outstanding.Add(-1) == 0 && r.closing.Load() {
		r.closeSegment()
	}
}

// CreateReader creates the channel `name` with `capacity` bytes of record
// space and reads from it. Closing the reader removes the name.
func CreateReader(name string, capacity int, options ...Option) (*Reader, error) {
	c := configOf(options)
	seg, err := createSegment(name, capacity, c)
	if err != nil {
		return nil, err
	}
	// As every reader's: another reader's records are not this one's to change.
	if err := seg.protectRecords(); err != nil {
		seg.close()
		return nil, err
	}
	return attachReader(seg, c)
}

// OpenReader reads from a channel another process created. Its mapping of
// the records is read-only.
func OpenReader(name string, options ...Option) (*Reader, error) {
	c := configOf(append(options, withReadOnlyData()))
	seg, err := openSegment(name, c)
	if err != nil {
		return nil, err
	}
	return attachReader(seg, c)
}

// readerOut holds what the core writes back on each Recv. It lives in C
// memory, allocated once per reader: Go variables passed to C escape to the
// heap, an allocation per record on the hot path.
type readerOut struct {
	err    C.shmp_error
	offset C.uint64_t
	lease  C.uint64_t
	readTo C.uint64_t              // shmp_reader_try_take's: the head value that means nothing new
	copy   [C.SHMP_COPY_BELOW]byte // a small record, copied by shmp_reader_try_take_copy
}

// CopyBelow: records shorter than this arrive as copies (the core's
// COPY_BELOW, as in every binding).
var CopyBelow = constant("COPY_BELOW")

// copyRoom is the longest record copied.
const copyRoom = C.SHMP_COPY_BELOW - 1

func attachReader(seg *segment, c config) (*Reader, error) {
	var e C.shmp_error
	r := C.shmp_reader_attach(seg.ptr, &e)
	if r == nil {
		seg.close()
		return nil, fromCore(&e)
	}
	out := (*readerOut)(C.calloc(1, C.size_t(unsafe.Sizeof(readerOut{}))))
	return &Reader{seg: seg, r: r, out: out, spin: C.uint32_t(c.spin)}, nil
}

// Name is the channel's name.
func (r *Reader) Name() string { return r.seg.name }

// Recv returns the next record, waiting while ctx allows (its deadline,
// its cancellation, and the writer's life bound the wait). At the end of
// the stream (the writer closed and every record was read) it returns
// io.EOF.
func (r *Reader) Recv(ctx context.Context) (*Message, error) {
	defer r.givePendingBack()
	r.mu.Lock()
	defer r.mu.Unlock()
	length, err := r.receive(ctx, r.tryTake, func(timeout C.int64_t) int64 {
		// Wait without taking, then take as a poll does (a copy or a lease).
		if rc := C.shmp_reader_wait(r.r, timeout, 0, &r.out.err); rc != 0 {
			return int64(rc)
		}
		result, _ := r.tryTake()
		return result
	})
	if err != nil {
		return nil, err
	}
	if length <= copyRoom {
		return r.copied(int(length)), nil
	}
	return r.message(int(r.out.offset), int(length), uint64(r.out.lease)), nil
}

// DefaultBatchRecords is a good max for RecvBatch (the core's
// DEFAULT_BATCH_RECORDS, what TypeScript's batches take by default).
var DefaultBatchRecords = constant("DEFAULT_BATCH_RECORDS")

// RecvBatch returns the records there are now, up to max, in one call
// into the core: for many small records, each of which would otherwise
// cost a cgo call and a Message. It waits for the first as Recv does, and
// returns io.EOF at the end of the stream.
func (r *Reader) RecvBatch(ctx context.Context, max int) (*Batch, error) {
	if max < 1 || max > math.MaxUint32 {
		return nil, usageError(ErrInvalid.Code, "recv", r.seg.name, fmt.Sprintf("a batch holds 1 or more records, not %d", max))
	}
	defer r.givePendingBack()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.r != nil && max > r.batchRoom {
		C.free(unsafe.Pointer(r.batchWords))
		r.batchWords = (*C.uint64_t)(C.calloc(C.size_t(2*max), 8))
		r.batchRoom = max
	}
	take := func(timeout C.int64_t) int64 {
		out := r.out
		return int64(C.shmp_reader_take_batch(r.r, r.batchWords, C.uint32_t(max), &out.lease, timeout, 0, &out.err))
	}
	count, err := r.receive(ctx, func() (int64, uint64) {
		// The core's look that costs nothing when nothing is there, then
		// the batch. The head is read first: a commit after it moves it.
		seen := r.head()
		if C.shmp_reader_peek(r.r, nil, nil) == C.int64_t(codeAgain) {
			return int64(codeAgain), seen
		}
		return take(0), seen
	}, take)
	if err != nil {
		return nil, err
	}
	// Each (offset, length) lies in the mapping by the core's own checks.
	words := unsafe.Slice((*uint64)(unsafe.Pointer(r.batchWords)), 2*count)
	records := make([][]byte, count)
	for i := range records {
		records[i] = unsafe.Slice((*byte)(unsafe.Add(r.seg.base, words[2*i])), words[2*i+1])
	}
	r.outstanding.Add(1)
	return &Batch{Records: records, reader: r, lease: uint64(r.out.lease)}, nil
}

// tryTake takes the next record if one is there (a small one copied into
// out.copy, a longer one under a lease), in one call into the
// core that never waits: its length (offset and lease in r.out), or
// codeAgain, with the head value that means nothing new yet.
func (r *Reader) tryTake() (int64, uint64) {
	out := r.out
	result := int64(C.shmp_reader_try_take_copy(r.r, unsafe.Pointer(&out.copy[0]), copyRoom, &out.offset, &out.lease, &out.readTo, &out.err))
	return result, uint64(out.readTo)
}

// receive takes what comes next as ctx allows: a look first (now: a core
// call that takes what is there without waiting, or says codeAgain with
// the head value to poll for), then polls of the head, then a wait (a core
// call that takes what comes, waiting up to its timeout). It returns the
// non-negative result, io.EOF at the end of the stream, or the error. mu
// is held.
func (r *Reader) receive(ctx context.Context, now func() (int64, uint64), wait func(timeout C.int64_t) int64) (int64, error) {
	for {
		if r.r == nil || r.closing.Load() {
			return 0, usageError(ErrClosed.Code, "recv", r.seg.name, "this reader was closed")
		}
		r.releasePending()
		// A record that is there already (or within the spin) needs no
		// watcher of ctx. The head at the last try_take's read_to says
		// nothing is there without a look (a value left by a call that
		// read less is lower than the head, which then asks for the look:
		// both only grow).
		result := int64(codeAgain)
		idle := uint64(r.out.readTo)
		if r.spin == 0 || r.head() != idle {
			result, idle = now()
		}
		if result == int64(codeAgain) && r.spin > 0 {
			result = r.poll(ctx, idle, now)
		}
		if result == int64(codeAgain) && ctx.Err() == nil {
			result = whileWaiting(ctx, func() { C.shmp_reader_interrupt(r.r) }, func() int64 {
				return wait(C.int64_t(timeoutNs(ctx)))
			})
		}
		if result >= 0 {
			return result, nil
		}
		if result == int64(ErrClosed.Code) {
			return 0, io.EOF
		}
		if err := waitFailed(ctx, result, &r.out.err, "recv", r.seg.name); err != nil {
			return 0, err
		}
	}
}

// headOffset is where a segment's header keeps the ring's head (the bytes
// committed so far), from the core.
var headOffset = constant("HEADER_HEAD_OFFSET")

// head is the ring's head now (an atomic load: no call into C).
func (r *Reader) head() uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Add(r.seg.base, headOffset)))
}

// pollsPerCall is how many polls of the head pass between looks that do
// not wait for it to move: at ctx, at Close and releases made meanwhile
// (Recv gives them back), and through the core at the end of the stream.
const pollsPerCall = 1024

// poll spins up to r.spin times on the ring's head in Go memory, without a
// cgo call per poll (one costs ~30-100 ns and lets the scheduler in), and
// calls now once the head is no longer idle (and every pollsPerCall polls).
// It returns now's result, or codeAgain when the spin ran out, ctx ended,
// or the reader has something else to do first (Close, releases to give
// back).
func (r *Reader) poll(ctx context.Context, idle uint64, now func() (int64, uint64)) int64 {
	done := ctx.Done()
	for i := uint64(1); i <= uint64(r.spin); i++ {
		look := i%pollsPerCall == 0
		if r.head() == idle && !look {
			spin.Pause()
			continue
		}
		if look && (r.closing.Load() || r.anyPending.Load() || done != nil && ctx.Err() != nil) {
			break
		}
		result, seen := now()
		if result != int64(codeAgain) {
			return result
		}
		idle = seen
	}
	return int64(codeAgain)
}

// message wraps a record the core handed out, held as a lease: its offset
// and length lie in the mapping by the core's own checks.
func (r *Reader) message(offset, length int, lease uint64) *Message {
	r.outstanding.Add(1)
	m := r.newMessage()
	m.Bytes = unsafe.Slice((*byte)(unsafe.Add(r.seg.base, offset)), length)
	m.reader, m.lease = r, lease
	return m
}

// copied wraps the small record the core copied into out.copy: its bytes
// are carved from a block of this reader's (spareBytes), as Messages are.
func (r *Reader) copied(length int) *Message {
	if len(r.spareBytes) < length {
		r.spareBytes = make([]byte, bytesPerBlock)
	}
	bytes := r.spareBytes[:length:length]
	r.spareBytes = r.spareBytes[length:]
	copy(bytes, r.out.copy[:length])
	m := r.newMessage()
	m.Bytes = bytes
	return m
}

// newMessage is a Message not handed out before, from a block (spare).
func (r *Reader) newMessage() *Message {
	if len(r.spare) == 0 {
		r.spare = make([]Message, messagesPerBlock)
	}
	m := &r.spare[0]
	r.spare = r.spare[1:]
	return m
}

// messagesPerBlock is how many Messages one allocation makes (spare), and
// bytesPerBlock how many bytes of small records' copies (spareBytes): an
// allocation per record costs as much as a call into C. A Message is never
// reused (a stale one released twice must stay a no-op), nor are a copy's
// bytes; a block lives until the last of them is unreachable.
const (
	messagesPerBlock = 64
	bytesPerBlock    = 16 << 10
)

// closeSegment lets go of the mapping: at Close, or after it when the last
// outstanding message is released. (The name goes at Close.)
func (r *Reader) closeSegment() { r.closeSeg.Do(r.seg.unref) }

// Close lets go of the channel; a Recv waiting in another goroutine returns
// at once. Messages not yet released stay readable (the mapping lives until
// they are released) but the writer may then reuse their space.
func (r *Reader) Close() error {
	if !r.closing.CompareAndSwap(false, true) {
		return nil
	}
	r.pendingMu.Lock()
	C.shmp_reader_interrupt(r.r) // r.r is freed only below, after closed is set
	r.pendingMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pendingMu.Lock()
	r.closed = true
	r.pending = nil
	r.anyPending.Store(false)
	r.pendingMu.Unlock()
	C.shmp_reader_close(r.r)
	r.r = nil
	C.free(unsafe.Pointer(r.out))
	r.out = nil
	C.free(unsafe.Pointer(r.batchWords))
	r.batchWords, r.batchRoom = nil, 0
	r.seg.forget()
	if r.outstanding.Load() == 0 {
		r.closeSegment()
	}
	return nil
}

func (r *Reader) releaseLease(lease uint64) {
	if r.mu.TryLock() {
		if r.r != nil {
			C.shmp_reader_release_lease(r.r, C.uint64_t(lease), nil)
		}
		r.mu.Unlock()
		return
	}
	// A Recv (or Close) holds the reader: leave the lease to it, and wake a
	// wait so that the space goes back now.
	r.pendingMu.Lock()
	if r.closed {
		r.pendingMu.Unlock()
		return
	}
	r.pending = append(r.pending, lease)
	r.anyPending.Store(true)
	C.shmp_reader_interrupt(r.r)
	r.pendingMu.Unlock()
	// The Recv may have let go of the reader before the lease was here
	// (after its own look at pending): then give it back now.
	r.givePendingBack()
}

// releasePending gives back the leases released meanwhile; mu is held.
func (r *Reader) releasePending() {
	if !r.anyPending.Load() {
		return
	}
	r.pendingMu.Lock()
	pending := r.pending
	r.pending = nil
	r.anyPending.Store(false)
	r.pendingMu.Unlock()
	for _, lease := range pending {
		C.shmp_reader_release_lease(r.r, C.uint64_t(lease), nil)
	}
}

// givePendingBack runs after Recv let go of mu: releases that came in
// between are given back by whoever gets mu next, this goroutine if free.
func (r *Reader) givePendingBack() {
	for {
		if !r.anyPending.Load() || !r.mu.TryLock() {
			return
		}
		if r.r != nil {
			r.releasePending()
		}
		r.mu.Unlock()
	}
}
