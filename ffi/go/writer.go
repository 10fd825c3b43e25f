package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"

// shmp_writer_send for Go bytes: cgo looks through an unsafe.Pointer
// argument for Go pointers (a lookup of the memory it points into, tens of
// ns a call); a char pointer points at none, so it takes no look.
static int send_bytes(shmp_writer *w, const char *data, uint64_t len, int64_t timeout_ns, uint32_t spin,
                      shmp_error *err) {
	return shmp_writer_send(w, data, len, timeout_ns, spin, err);
}
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Writer is the writing end of a channel. Its methods may be called from
// several goroutines; they take turns.
type Writer struct {
	mu      sync.Mutex
	seg     *segment
	w       *C.shmp_writer
	spin    C.uint32_t
	linger  time.Duration
	claimed int // bytes of the current claim, -1 if none
	closing atomic.Bool
	// The core's out-parameters, in C memory allocated once: a Go variable
	// passed to C escapes to the heap, an allocation per record.
	out *writerOut
	err *C.shmp_error // &out.err
	// SendBatch's records packed into one buffer, and their lengths.
	packed  []byte
	lengths []uint64
}

type writerOut struct {
	err  C.shmp_error
	sent C.uint64_t
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
	out := (*writerOut)(C.calloc(1, C.size_t(unsafe.Sizeof(writerOut{}))))
	return &Writer{seg: seg, w: w, spin: C.uint32_t(c.spin), linger: c.linger, claimed: -1, out: out, err: &out.err}, nil
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
	var ptr *C.char
	if len(data) > 0 {
		ptr = (*C.char)(unsafe.Pointer(&data[0]))
	}
	_, err := w.wait(ctx, "send", func(timeout C.int64_t, spin C.uint32_t) int64 {
		return int64(C.send_bytes(w.w, ptr, C.uint64_t(len(data)), timeout, spin, w.err))
	})
	return err
}

// SendBatch sends each of records as a record of its own, in one call
// into the core: for many small records, each of which would otherwise
// cost a cgo call. The records are packed into one buffer first (a copy,
// then the core's copy into the ring), so it pays for small records, not
// large ones. Readers see the records together (each wait for room
// publishes those before it). It returns how many were sent: all, or those
// before a wait that failed, with its error.
func (w *Writer) SendBatch(ctx context.Context, records [][]byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(records) == 0 {
		return 0, w.live("send")
	}
	if len(records) > math.MaxUint32 {
		return 0, usageError(ErrInvalid.Code, "send", w.seg.name, fmt.Sprintf("a batch holds at most %d records, not %d", uint32(math.MaxUint32), len(records)))
	}
	w.packed, w.lengths = w.packed[:0], w.lengths[:0]
	for _, record := range records {
		w.packed = append(w.packed, record...)
		w.lengths = append(w.lengths, uint64(len(record)))
	}
	// One call for the whole batch, waiting as long as ctx allows (a
	// watcher of ctx per batch costs little per record). After a stale
	// interrupt the core goes on from the records sent
	// (shmp_writer_send_batch_from), and a failure still counts the whole
	// batch.
	sent := 0
	var data unsafe.Pointer
	if len(w.packed) > 0 {
		data = unsafe.Pointer(&w.packed[0])
	}
	for {
		if err := w.live("send"); err != nil {
			return sent, err
		}
		rc := whileWaiting(ctx, func() { C.shmp_writer_interrupt(w.w) }, func() int64 {
			return int64(C.shmp_writer_send_batch_from(w.w, data, C.uint64_t(len(w.packed)),
				(*C.uint64_t)(unsafe.Pointer(&w.lengths[0])), C.uint32_t(len(records)), C.uint32_t(sent),
				C.int64_t(timeoutNs(ctx)), w.spin, &w.out.sent, w.err))
		})
		sent = int(w.out.sent)
		if rc >= 0 {
			return sent, nil
		}
		// An interrupt (a stale wake) that did not end ctx: the rest goes on.
		if err := waitFailed(ctx, rc, w.err, "send", w.seg.name); err != nil {
			return sent, err
		}
	}
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
	offset, err := w.wait(ctx, "claim", func(timeout C.int64_t, spin C.uint32_t) int64 {
		return int64(C.shmp_writer_claim(w.w, C.uint64_t(n), timeout, spin, w.err))
	})
	if err != nil {
		return nil, err
	}
	w.claimed = n
	return w.seg.bytes(int(offset), n, opClaim, w.err)
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
	if C.shmp_writer_commit(w.w, C.uint64_t(n), w.err) != 0 {
		return fromCore(w.err)
	}
	w.claimed = -1
	return nil
}

// newArrowSender makes the core's Arrow sender of this writer's stream
// (arrow_writer.go), trusting the values if arrow-go encoded them.
func (w *Writer) newArrowSender(trustValues bool) (*C.shmp_arrow_sender, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.live("send"); err != nil {
		return nil, err
	}
	trust := C.int(0)
	if trustValues {
		trust = 1
	}
	s := C.shmp_arrow_sender_new(w.w, opSend, trust, w.err)
	if s == nil {
		return nil, fromCore(w.err)
	}
	return s, nil
}

// commitArrow publishes the claimed record through the Arrow sender s,
// which checks the message first and refuses it unpublished (ErrArrow);
// either way the claim is over. Returns the message's kind
// (SHMP_ARROW_SCHEMA, ...).
func (w *Writer) commitArrow(s *C.shmp_arrow_sender, n int) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.live("send"); err != nil {
		return 0, err
	}
	w.claimed = -1
	kind := C.shmp_arrow_sender_commit(s, C.uint64_t(n), w.err)
	if kind < 0 {
		return 0, fromCore(w.err)
	}
	return int(kind), nil
}

// Abort gives the claimed record back unpublished.
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.live("abort"); err != nil {
		return err
	}
	if C.shmp_writer_abort(w.w, w.err) != 0 {
		return fromCore(w.err)
	}
	w.claimed = -1
	return nil
}

// Drain waits, as ctx allows, until every record sent so far has been read
// and released by every reader attached (with none attached yet, until one
// comes and reads them). Its error (ErrTimeout, ErrClosed when the readers
// left first, ErrPeerGone when they died) names what is still unread.
func (w *Writer) Drain(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.wait(ctx, "drain", func(timeout C.int64_t, spin C.uint32_t) int64 {
		return int64(C.shmp_writer_drain(w.w, timeout, spin, w.err))
	})
	return err
}

// ReadersJoined is how many readers joined mid-stream since the last call:
// they missed the start of the stream (ArrowWriter sends its schema and
// dictionaries again for them). One load of a shared word.
func (w *Writer) ReadersJoined() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.w == nil {
		return 0
	}
	return int(C.shmp_writer_readers_joined(w.w))
}

// Close marks end-of-stream for the readers and lets go of the channel; a
// Send or Claim waiting in another goroutine returns at once.
//
// Nothing is lost silently: if this writer created the channel (its name
// goes now) and no reader has ever attached to read what it sent, Close
// first waits up to its linger (WithLinger, default DefaultLinger) for one
// to come; if none does, it closes and returns ErrUnread, naming the
// records lost. Readers that attached read every record to the end, also
// after the name is gone.
func (w *Writer) Close() error {
	if !w.closing.CompareAndSwap(false, true) {
		return nil
	}
	C.shmp_writer_interrupt(w.w) // w.w is freed only below, under the lock
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lingerForReaders()
	rc := C.shmp_writer_close_checked(w.w, w.err)
	w.w = nil
	var err error
	if rc != 0 {
		err = fromCore(w.err)
	}
	w.freeErr()
	w.seg.close()
	return err
}

// lingerForReaders waits, as the core decides, for a reader to come for
// records that would be lost. The interrupt Close sent to end other calls
// may end a wait early: it looks again until the linger is over.
func (w *Writer) lingerForReaders() {
	// Said once, before a wait long enough to wonder about (the core's sentence).
	ns := int64(-1)
	if w.linger >= 0 {
		ns = int64(w.linger)
	}
	var notice [512]C.char
	if C.shmp_writer_linger_notice(w.w, C.int64_t(ns), &notice[0], C.uint64_t(len(notice))) > 0 {
		fmt.Fprintln(os.Stderr, C.GoString(&notice[0]))
	}
	deadline := time.Now().Add(w.linger)
	for {
		ns := int64(-1)
		if w.linger >= 0 {
			ns = max(int64(time.Until(deadline)), 0)
		}
		if C.shmp_writer_linger(w.w, C.int64_t(ns), w.spin, nil) != C.int(codeAgain) || ns == 0 {
			return
		}
	}
}

// Abandon gives up the stream without ending it, for a writer whose
// source broke mid-stream (a network peer that went away): its readers
// read every record sent so far, then get ErrPeerGone, as if this process
// had died, never the clean end Close gives (the core's
// shmp_writer_abandon). A claim not committed is dropped. The name goes,
// as after Close, at once: no new reader finds a half-written channel.
// Another process may then open the channel as its writer.
func (w *Writer) Abandon() {
	w.end(func(h *C.shmp_writer) { C.shmp_writer_abandon(h) })
}

// discard closes at once, neither waiting nor telling (a Publish that
// failed half-way).
func (w *Writer) discard() {
	w.end(func(h *C.shmp_writer) { C.shmp_writer_close(h) })
}

// end gives the writer up once, as `how` says (the core's close or
// abandon), and frees what it held. A Send waiting in another goroutine
// returns first: w.w is freed only under the lock.
func (w *Writer) end(how func(*C.shmp_writer)) {
	if !w.closing.CompareAndSwap(false, true) {
		return
	}
	C.shmp_writer_interrupt(w.w)
	w.mu.Lock()
	defer w.mu.Unlock()
	how(w.w)
	w.w = nil
	w.freeErr()
	w.seg.close()
}

func (w *Writer) freeErr() {
	C.free(unsafe.Pointer(w.out))
	w.out, w.err = nil, nil
}

// seal ends the stream and marks the segment a published table (persistent:
// one that outlives this process); the caller takes over the segment.
func (w *Writer) seal(persistent bool) *segment {
	w.closing.Store(true)
	w.mu.Lock()
	defer w.mu.Unlock()
	if persistent {
		C.shmp_writer_seal_persistent(w.w)
	} else {
		C.shmp_writer_seal(w.w)
	}
	w.w = nil
	w.freeErr()
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
func (w *Writer) wait(ctx context.Context, op string, call func(timeout C.int64_t, spin C.uint32_t) int64) (int64, error) {
	for {
		if err := w.live(op); err != nil {
			return 0, err
		}
		// Room that is there already (or within the spin) needs no watcher
		// of ctx: look first, then wait.
		rc := call(0, w.spin)
		if rc == int64(ErrTimeout.Code) && ctx.Err() == nil {
			rc = whileWaiting(ctx, func() { C.shmp_writer_interrupt(w.w) }, func() int64 {
				return call(C.int64_t(timeoutNs(ctx)), 0)
			})
		}
		if rc >= 0 {
			return rc, nil
		}
		if err := waitFailed(ctx, rc, w.err, op, w.seg.name); err != nil {
			return 0, err
		}
	}
}
