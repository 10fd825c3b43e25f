package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"errors"
	"io"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ArrowReader receives arrow-go record batches whose buffers are slices of
// shared memory: reading a batch copies nothing, whatever its size.
//
// Every message passes the C core's check (its metadata copied out of
// shared memory first) before arrow-go sees it. A batch holds its record in
// the ring until the batch and every array taken from it are released
// (arrow-go's reference counts): then the writer may reuse the space.
// Batches may be kept and released in any order; one never released holds
// the channel back.
type ArrowReader struct {
	src    *messageSource
	ipc    *ipc.Reader // arrow-go's decoder, nil between batches
	schema *arrow.Schema
}

// ArrowOption sets how an ArrowReader checks what it reads.
type ArrowOption func(*messageSource)

// TrustValues skips the core's check of offsets and dictionary indices (the
// metadata is checked still). Only for a writer you trust: arrow-go does not
// check them itself.
func TrustValues() ArrowOption {
	return func(s *messageSource) { C.shmp_arrow_checker_trust_values(s.checker, 1) }
}

// NewArrowReader reads Arrow batches from r. A reader that joined the
// channel mid-stream skips what it cannot read until the next schema, which
// the writer sends again for it (the core's rule).
func NewArrowReader(r *Reader, options ...ArrowOption) (*ArrowReader, error) {
	src, err := newMessageSource(r.seg.name, "recv", func(ctx context.Context) (*record, error) {
		message, err := r.Recv(ctx)
		if err != nil {
			return nil, err
		}
		return &record{bytes: message.Bytes, release: message.Release}, nil
	})
	if err != nil {
		return nil, err
	}
	src.reader = r
	for _, option := range options {
		option(src)
	}
	return &ArrowReader{src: src}, nil
}

// Read returns the next batch, waiting as ctx allows; io.EOF at the end of
// the stream. Release the batch when done with it. A message refused (by
// the core's check or by arrow-go) is returned as an error, and reading
// goes on with the next one.
func (a *ArrowReader) Read(ctx context.Context) (arrow.RecordBatch, error) {
	a.src.ctx = ctx
	for {
		if a.ipc == nil {
			if err := a.start(); err != nil {
				return nil, err
			}
		}
		if a.ipc.Next() {
			// arrow-go's decoder and the message keep references to the
			// batch until the next one: let go of both now, so that the
			// user's release is the last and gives the record back at once.
			// The next Read makes a new decoder, given the schema and
			// dictionaries again (no data is copied for that).
			batch := a.ipc.RecordBatch()
			batch.Retain()
			a.schema = a.ipc.Schema()
			a.ipc.Release()
			a.ipc = nil
			a.src.releaseLast()
			return batch, nil
		}
		err := a.ipc.Err()
		if err != nil {
			a.src.refuseLast()
		}
		a.ipc.Release()
		a.ipc = nil
		if err != nil {
			return nil, a.src.errorOf(err)
		}
		// The stream ended: a new schema starts the next one, or the writer closed.
		if !a.src.newStream {
			return nil, io.EOF
		}
	}
}

// Schema is the stream's latest schema (nil before the first), also after
// the end of a stream that had no batch.
func (a *ArrowReader) Schema() *arrow.Schema { return a.schema }

// Close frees the decoder; the channel's Reader is closed separately.
func (a *ArrowReader) Close() error {
	if a.ipc != nil {
		a.ipc.Release()
		a.ipc = nil
	}
	a.src.free()
	return nil
}

// start makes a decoder for the current stream: its schema and the
// dictionaries it has seen are given to it again (after a refused message,
// or for a new stream), or it waits for the first schema.
func (a *ArrowReader) start() error {
	if err := a.src.rewind(); err != nil {
		return err
	}
	reader, err := ipc.NewReaderFromMessageReader(a.src)
	if err != nil {
		a.src.refuseLast()
		return a.src.errorOf(err)
	}
	a.ipc = reader
	a.schema = reader.Schema()
	return nil
}

// errorOf unwraps arrow-go's wrapping of this package's own errors, and
// words arrow-go's own as the channel's.
func (s *messageSource) errorOf(err error) error {
	var ours *Error
	if errors.As(err, &ours) {
		return ours
	}
	for _, known := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, known) {
			return known
		}
	}
	return usageError(ErrArrow.Code, s.op, s.segment, "arrow-go could not load the message: "+err.Error())
}

// record is one message's bytes and how to give them back.
type record struct {
	bytes   []byte
	release func()
}

// messageSource is arrow-go's MessageReader over the records of a channel
// or a published table.
type messageSource struct {
	segment, op string // what errors name
	fetch       func(context.Context) (*record, error)
	ctx         context.Context
	checker     *C.shmp_arrow_checker
	reader      *Reader // the channel's reader, for the core's rule on joining mid-stream; nil for a table
	// The current stream's schema and dictionaries, in order: a new decoder
	// is given them again.
	known []*ipc.Message
	queue []*ipc.Message // to serve before reading on
	last  *ipc.Message   // handed out; released on the next call, as arrow-go expects
	// A schema arrived after the stream had started: the current decoder
	// ends (io.EOF) and a new one starts with it.
	newStream bool
	started   bool
}

func newMessageSource(segment, op string, fetch func(context.Context) (*record, error)) (*messageSource, error) {
	cseg, cop := C.CString(segment), C.CString(op)
	defer C.free(unsafe.Pointer(cseg))
	defer C.free(unsafe.Pointer(cop))
	var e C.shmp_error
	checker := C.shmp_arrow_checker_new(cseg, cop, &e)
	if checker == nil {
		return nil, fromCore(&e)
	}
	return &messageSource{segment: segment, op: op, fetch: fetch, ctx: context.Background(), checker: checker}, nil
}

// rewind queues the known schema and dictionaries for a new decoder; with
// none known yet, it reads up to the first schema.
func (s *messageSource) rewind() error {
	s.releaseLast()
	s.newStream, s.started = false, false
	if len(s.known) == 0 {
		if _, err := s.Message(); err != nil {
			return err
		}
		s.releaseLast()
	}
	s.queue = append(s.queue[:0], s.known...)
	return nil
}

// Message gives arrow-go the next message (MessageReader).
func (s *messageSource) Message() (*ipc.Message, error) {
	s.releaseLast()
	if len(s.queue) > 0 {
		message := s.queue[0]
		s.queue = s.queue[1:]
		message.Retain() // s.known keeps its own reference
		s.started = true
		return s.hand(message), nil
	}
	if s.newStream {
		return nil, io.EOF
	}
	rec, err := s.fetch(s.ctx)
	if err != nil {
		return nil, err
	}
	kind, err := s.check(rec.bytes)
	if err != nil {
		rec.release()
		return nil, err
	}
	if kind == 0 { // this reader joined mid-stream: skipped until the next schema
		rec.release()
		return s.Message()
	}
	prefix := int(C.shmp_arrow_checker_prefix_length(s.checker))
	bodyLength := int(C.shmp_arrow_checker_body_length(s.checker))
	// The checked private copy, without the 8 bytes of framing.
	meta := memory.NewBufferBytes(C.GoBytes(unsafe.Add(C.shmp_arrow_checker_prefix(s.checker), 8), C.int(prefix-8)))
	body := rec.bytes[prefix : prefix+bodyLength]
	switch kind {
	case kindSchema:
		rec.release()
		s.forget()
		s.known = []*ipc.Message{ipc.NewMessage(meta, memory.NewBufferBytes(nil))}
		if s.started {
			s.newStream = true
			return nil, io.EOF
		}
		s.queue = append(s.queue[:0], s.known...)
		return s.Message()
	case kindDictionary:
		// Dictionaries outlive their record (every later batch uses them).
		message := ipc.NewMessage(meta, memory.NewBufferBytes(append([]byte(nil), body...)))
		rec.release()
		s.known = append(s.known, message)
		message.Retain()
		return s.hand(message), nil
	default:
		// The body stays in the ring: its last reference gives the record back.
		leased := memory.NewBufferWithAllocator(body, leaseAllocator{rec.release})
		message := ipc.NewMessage(meta, leased)
		leased.Release()
		return s.hand(message), nil
	}
}

// check runs the core's checker over one message: its kind, 0 for one the
// channel's reader skips (it joined mid-stream), or the error.
func (s *messageSource) check(message []byte) (int, error) {
	var e C.shmp_error
	var ptr unsafe.Pointer
	if len(message) > 0 {
		ptr = unsafe.Pointer(&message[0])
	}
	var kind int
	if r := s.reader; r != nil {
		r.mu.Lock()
		if r.r == nil {
			r.mu.Unlock()
			return 0, usageError(ErrClosed.Code, "recv", r.seg.name, "this reader was closed")
		}
		kind = int(C.shmp_reader_check_arrow(r.r, s.checker, ptr, C.uint64_t(len(message)), &e))
		r.mu.Unlock()
	} else {
		kind = int(C.shmp_arrow_checker_check(s.checker, ptr, C.uint64_t(len(message)), &e))
	}
	if kind < 0 {
		return 0, fromCore(&e)
	}
	return kind, nil
}

func (s *messageSource) hand(message *ipc.Message) *ipc.Message {
	s.last = message
	return message
}

// refuseLast takes the message arrow-go just refused out of the stream's
// known schema and dictionaries, so that no later decoder is given it
// again: a dictionary arrow-go could not take (a delta to one never sent)
// is dropped, a schema it could not read drops the stream. Either way the
// next schema starts clean (each decoder has a dictionary memo of its own).
func (s *messageSource) refuseLast() {
	for i, message := range s.known {
		if message != s.last {
			continue
		}
		if i == 0 {
			s.forget()
		} else {
			message.Release()
			s.known = append(s.known[:i], s.known[i+1:]...)
		}
		break
	}
	s.releaseLast()
}

func (s *messageSource) releaseLast() {
	if s.last != nil {
		s.last.Release()
		s.last = nil
	}
}

func (s *messageSource) forget() {
	for _, message := range s.known {
		message.Release()
	}
	s.known = nil
}

func (s *messageSource) free() {
	s.releaseLast()
	s.forget()
	if s.checker != nil {
		C.shmp_arrow_checker_free(s.checker)
		s.checker = nil
	}
}

// Retain and Release complete arrow-go's MessageReader; the source's life is
// the ArrowReader's.
func (s *messageSource) Retain()  {}
func (s *messageSource) Release() {}

var (
	kindSchema     = constant("ARROW_SCHEMA")
	kindDictionary = constant("ARROW_DICTIONARY")
)

// leaseAllocator frees nothing but a record's lease: arrow-go calls Free
// when the last reference to a batch's body is released.
type leaseAllocator struct{ release func() }

func (l leaseAllocator) Allocate(int) []byte {
	panic("shmpipe: a record in shared memory does not grow")
}
func (l leaseAllocator) Reallocate(int, []byte) []byte {
	panic("shmpipe: a record in shared memory does not grow")
}
func (l leaseAllocator) Free([]byte) { l.release() }
