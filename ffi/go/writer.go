package shmpipe

/*
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Writer is the writing end of a channel. Its methods may be called from
// several goroutines; they take turns.
type Writer struct {
	mu      sync.Mutex
	seg     *segment
	w       *C.shmp_writer
	spin    C.uint32_t
	claimed int // bytes of the current claim, -1 if none
	closing atomic.Bool
}

// CreateWriter creates the channel `name` with `capacity` bytes of record
// space (rounded up to whole pages) and writes to it. Closing the writer
// removes the name.
func CreateWriter(name string, capacity int, options ...Option) (*Writer, error) {
	c := configOf(options)
	seg, err := createSegment(name, capacity, c)
	if err != nil {
		return nil, err
	}
	return attachWriter(seg, c)
}

// OpenWriter writes to a channel another process created.
func OpenWriter(name string, options ...Option) (*Writer, error) {
	c := configOf(options)
	seg, err := openSegment(name, c)
	if err != nil {
		return nil, err
	}
	return attachWriter(seg, c)
}

func attachWriter(seg *segment, c config) (*Writer, error) {
	var e C.shmp_error
	w := C.shmp_writer_attach(seg.ptr, &e)
	if w == nil {
		seg.close()
		return nil, fromCore(&e)
	}
	return &Writer{seg: seg, w: w, spin: C.uint32_t(c.spin), claimed: -1}, nil
}

// Name is the channel's name.
func (w *Writer) Name() string { return w.seg.name }

// MaxRecordSize is the largest payload one record can carry.
func (w *Writer) MaxRecordSize() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		return 0
	}
	return int(C.shmp_writer_max_payload(w.w))
}

// Send copies data into the next record and publishes it, waiting for
// room while ctx allows (its deadline, its cancellation, and the readers'
// lives bound the wait).
func (w *Writer) Send(ctx context.Context, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	_, err := w.wait(ctx, "send", func(e *C.shmp_error) int64 {
		return int64(C.shmp_writer_send(w.w, ptr, C.uint64_t(len(data)), C.int64_t(timeoutNs(ctx)), w.spin, e))
	})
	return err
}

// Claim reserves a record of up to n bytes and returns it, in shared
// memory, to fill; Commit publishes it. The slice must not be used after
// Commit or Abort.
func (w *Writer) Claim(ctx context.Context, n int) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n < 0 {
		return nil, usageError(ErrInvalid.Code, "claim", w.seg.name, "a record's length is a count of bytes")
	}
	offset, err := w.wait(ctx, "claim", func(e *C.shmp_error) int64 {
		return int64(C.shmp_writer_claim(w.w, C.uint64_t(n), C.int64_t(timeoutNs(ctx)), w.spin, e))
	})
	if err != nil {
		return nil, err
	}
	w.claimed = n
	return w.seg.bytes(int(offset), n, "claim")
}

// Commit publishes the claimed record with its first n bytes.
func (w *Writer) Commit(n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.live("commit"); err != nil {
		return err
	}
	if n < 0 {
		n = w.claimed + 1 // the core refuses it, with its sentence
	}
	var e C.shmp_error
	if C.shmp_writer_commit(w.w, C.uint64_t(n), &e) != 0 {
		return fromCore(&e)
	}
	w.claimed = -1
	return nil
}

// Abort gives the claimed record back unpublished.
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.live("abort"); err != nil {
		return err
	}
	var e C.shmp_error
	if C.shmp_writer_abort(w.w, &e) != 0 {
		return fromCore(&e)
	}
	w.claimed = -1
	return nil
}

// Close marks end-of-stream for the readers and lets go of the channel; a
// Send or Claim waiting in another goroutine returns at once.
func (w *Writer) Close() error {
	if !w.closing.CompareAndSwap(false, true) {
		return nil
	}
	C.shmp_writer_interrupt(w.w) // w.w is freed only below, under the lock
	w.mu.Lock()
	defer w.mu.Unlock()
	C.shmp_writer_close(w.w)
	w.w = nil
	w.seg.close()
	return nil
}

// seal ends the stream and marks the segment a published table; the caller
// takes over the segment.
func (w *Writer) seal() *segment {
	w.closing.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	C.shmp_writer_seal(w.w)
	w.w = nil
	return w.seg
}

func (w *Writer) live(op string) error {
	if w.w == nil || w.closing.Load() {
		return usageError(ErrClosed.Code, op, w.seg.name, "this writer was closed")
	}
	return nil
}

// wait runs a core call that may wait for room, as ctx allows. Returns the
// call's non-negative result, or the error.
func (w *Writer) wait(ctx context.Context, op string, call func(*C.shmp_error) int64) (int64, error) {
	for {
		if err := w.live(op); err != nil {
			return 0, err
		}
		var e C.shmp_error
		rc := whileWaiting(ctx, func() { C.shmp_writer_interrupt(w.w) }, func() int64 { return call(&e) })
		if rc >= 0 {
			return rc, nil
		}
		if err := waitFailed(ctx, rc, &e, op, w.seg.name); err != nil {
			return 0, err
		}
	}
}
