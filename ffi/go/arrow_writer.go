package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"io"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shmpipe/shmpipe/ffi/go/internal/benchhook"
)

// ArrowWriter sends arrow-go record batches down a channel, one Arrow IPC
// message per record: the schema when it is new or changed, dictionaries
// when new, replaced or grown (as deltas), then each batch. The rules of
// the stream are the core's Arrow sender's (ffi/core/src/arrow_send.c):
// when the schema and every dictionary are owed again (a reader joined
// mid-stream, a message failed), and the check of each message before it
// is committed. Every message
// is written straight into its claimed record: the column buffers are
// copied once, from the batch into the ring. The body starts on a 64-byte
// boundary in shared memory and each buffer in it at a multiple of 64 bytes
// (the core's layout, shmp_arrow_align_buffers: arrow-go itself pads
// buffers to 8 only), so readers view them in place at 64-byte boundaries.
type ArrowWriter struct {
	w      *Writer
	name   string      // the channel's (or the table's), for errors
	ipc    *ipc.Writer // arrow-go's encoder, which hands each message to records
	out    payloadSink
	schema *arrow.Schema
}

// payloadSink takes the encoder's messages: into records, or only counted.
type payloadSink interface {
	ipc.PayloadWriter
	begin(ctx context.Context)
	failure() error   // the sink's own error, which arrow-go wraps
	schemaOwed() bool // the next batch must come after its schema and dictionaries
	release()         // lets go of what the sink holds in C
}

// NewArrowWriter writes Arrow batches to w. Each message is checked by the
// core (its metadata, and that dictionaries come before the batches that
// use them) before it is committed, so a message no reader could read is
// the writer's error, not every reader's.
func NewArrowWriter(w *Writer) *ArrowWriter {
	return &ArrowWriter{w: w, name: w.Name(), out: &recordPayloads{w: w}}
}

// sizing is an ArrowWriter that only measures the messages of the table
// name (Publish sizes its segment so).
func sizing(name string, size *footprint) *ArrowWriter {
	size.name = name
	return &ArrowWriter{name: name, out: size}
}

// Write sends one batch, waiting for room as ctx allows. A batch with a
// schema other than the last one's starts a new stream on the channel.
func (a *ArrowWriter) Write(ctx context.Context, batch arrow.RecordBatch) error {
	a.out.begin(ctx)
	if a.out.schemaOwed() || a.schema == nil || !a.schema.Equal(batch.Schema()) {
		a.schema = batch.Schema()
		// A new encoder: it sends the schema first, and no dictionary it
		// sent before is assumed known.
		a.ipc = ipc.NewWriterWithPayloadWriter(a.out, ipc.WithSchema(a.schema), ipc.WithDictionaryDeltas(true))
	}
	err := a.ipc.Write(batch)
	if err != nil {
		a.schema = nil // arrow-go's encoder keeps its first error: the next write starts afresh
	}
	if ours := a.out.failure(); ours != nil { // rather than arrow-go's wrapping of it
		return ours
	}
	if err != nil {
		return usageError(ErrArrow.Code, "send", a.name, "arrow-go could not encode the batch: "+err.Error())
	}
	return nil
}

// WriteTable sends the batches of a table that have rows; a table without
// rows sends its schema alone (its readers get no batch).
func (a *ArrowWriter) WriteTable(ctx context.Context, table arrow.Table) error {
	reader := newTableBatches(table)
	defer reader.Release()
	if reader.empty() {
		return a.WriteSchema(ctx, table.Schema())
	}
	for reader.Next() {
		if reader.RecordBatch().NumRows() == 0 {
			continue
		}
		if err := a.Write(ctx, reader.RecordBatch()); err != nil {
			return err
		}
	}
	return nil
}

// WriteSchema sends a schema message alone (what readers of an empty stream see).
func (a *ArrowWriter) WriteSchema(ctx context.Context, schema *arrow.Schema) error {
	a.out.begin(ctx)
	payload := ipc.GetSchemaPayload(schema, memory.DefaultAllocator)
	defer payload.Release()
	a.schema, a.ipc = nil, nil // the next batch sends its schema again
	return a.out.WritePayload(payload)
}

// Close marks end-of-stream for the readers and closes the channel's writer
// (see Writer.Close).
func (a *ArrowWriter) Close() error {
	a.out.release()
	return a.w.Close()
}

// Abandon gives up the stream without ending it (see Writer.Abandon): its
// readers see their writer gone, never a clean end.
func (a *ArrowWriter) Abandon() {
	a.out.release()
	a.w.Abandon()
}

// recordPayloads is arrow-go's PayloadWriter: each payload (one IPC
// message) goes into a record of its own, framed as
//
//	0xFFFFFFFF | int32 metadata length | flatbuffer, zero padded | body
//
// with the metadata padded so that the body starts at a multiple of 64
// bytes into the record, which itself starts on a 64-byte boundary, and
// each buffer of the body at a multiple of 64 (the core's layout:
// arrow-go pads buffers to 8 bytes only).
type recordPayloads struct {
	w      *Writer
	ctx    context.Context
	err    error
	layout layout
	sender *C.shmp_arrow_sender // the core's rules of the stream; made on the first message
}

func (p *recordPayloads) Start() error              { return nil }
func (p *recordPayloads) Close() error              { return nil }
func (p *recordPayloads) begin(ctx context.Context) { p.ctx, p.err = ctx, nil }
func (p *recordPayloads) failure() error            { return p.err }

func (p *recordPayloads) schemaOwed() bool {
	return p.sender == nil || C.shmp_arrow_sender_schema_owed(p.sender) != 0
}

func (p *recordPayloads) release() {
	if p.sender != nil {
		C.shmp_arrow_sender_free(p.sender)
		p.sender = nil
	}
}

func (p *recordPayloads) WritePayload(payload ipc.Payload) error {
	err := p.layout.of(payload, p.w.Name())
	if err != nil {
		p.err = err
		return err
	}
	if p.sender == nil {
		if p.sender, err = p.w.newArrowSender(true); err != nil {
			p.err = err
			return err
		}
	}
	meta, body := p.layout.meta, p.layout.body
	prefix := int(align64(uint64(8 + len(meta))))
	record, err := p.w.Claim(p.ctx, prefix+body)
	if err != nil {
		p.err = err
		return err
	}
	putUint32(record[0:], 0xFFFFFFFF)
	putUint32(record[4:], uint32(prefix-8))
	clear(record[8+copy(record[8:], meta) : prefix])
	fill := alignedBody{buf: record[prefix:], moves: p.layout.moves, seg: p.w.seg}
	if err := payload.SerializeBody(&fill); err != nil {
		p.w.Abort()
		C.shmp_arrow_sender_abort(p.sender) // the readers cannot know what was meant: the schema is owed
		return err
	}
	fill.finish()
	if benchhook.BeforeArrowCommit != nil {
		benchhook.BeforeArrowCommit()
	}
	// The core checks the message first (the metadata: the values come
	// from arrow-go itself) and refuses it unpublished.
	if _, err := p.w.commitArrow(p.sender, len(record)); err != nil {
		p.err = err
		return err
	}
	return nil
}

func align64(n uint64) uint64 { return (n + 63) &^ 63 }

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// layout is one message as shmpipe lays it out: its metadata with the
// buffers' offsets and the body length rewritten by the core
// (shmp_arrow_align_buffers), and where each buffer of arrow-go's body goes.
type layout struct {
	meta  []byte
	moves []C.shmp_arrow_move
	body  int
}

func (l *layout) of(payload ipc.Payload, segment string) error {
	meta := payload.Meta()
	defer meta.Release()
	return l.ofMeta(meta.Bytes(), segment)
}

// ofMeta is the layout of a message whose metadata is meta (left as it is).
func (l *layout) ofMeta(meta []byte, segment string) error {
	l.meta = append(l.meta[:0], meta...)
	if len(l.meta) == 0 {
		return usageError(ErrArrow.Code, "send", segment, "a message without metadata")
	}
	if len(l.moves) == 0 {
		l.moves = make([]C.shmp_arrow_move, 16)
	}
	cseg := C.CString(segment)
	defer C.free(unsafe.Pointer(cseg))
	var e C.shmp_error
	for {
		var count C.uint32_t
		n := int64(C.shmp_arrow_align_buffers(unsafe.Pointer(&l.meta[0]), C.uint64_t(len(l.meta)), &l.moves[0], C.uint32_t(len(l.moves)), &count, cseg, &e))
		if n == int64(ErrInvalid.Code) && int(count) > len(l.moves) {
			l.moves = make([]C.shmp_arrow_move, count)
			continue
		}
		if n < 0 {
			return fromCore(&e)
		}
		l.moves, l.body = l.moves[:count], int(n)
		return nil
	}
}

// alignedBody takes arrow-go's body as SerializeBody writes it (buffers
// padded to 8 bytes) and writes each buffer where its move says, in a
// claimed record, zero-filling the bytes between them: one copy, of a
// large buffer made by the core (shmp_segment_write: through the file of
// a table being published, faster than through the mapping).
type alignedBody struct {
	seg    *segment
	name   string // the segment's, for errors
	buf    []byte
	moves  []C.shmp_arrow_move
	next   int    // the move of the buffer being written, or the next
	at     uint64 // position in arrow-go's body
	filled uint64 // bytes of buf written or zeroed
}

func (a *alignedBody) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		for a.next < len(a.moves) && a.at >= uint64(a.moves[a.next].from+a.moves[a.next].length) {
			a.next++
		}
		if a.next == len(a.moves) { // padding after the last buffer
			break
		}
		m := a.moves[a.next]
		if from := uint64(m.from); a.at < from { // arrow-go's padding: not copied
			skip := min(uint64(len(b)), from-a.at)
			b, a.at = b[skip:], a.at+skip
			continue
		}
		into := a.at - uint64(m.from)
		k := min(uint64(len(b)), uint64(m.length)-into)
		to := uint64(m.to) + into
		if to+k > uint64(len(a.buf)) {
			return 0, io.ErrShortWrite
		}
		clear(a.buf[min(a.filled, to):to])
		if k < 1<<16 { // small: a cgo call would cost more than the copy
			copy(a.buf[to:to+k], b[:k])
		} else {
			at := uintptr(unsafe.Pointer(&a.buf[to])) - uintptr(a.seg.base)
			var e C.shmp_error
			if C.shmp_segment_write(a.seg.ptr, C.uint64_t(at), unsafe.Pointer(&b[0]), C.uint64_t(k), &e) != 0 {
				return 0, fromCore(&e)
			}
		}
		a.filled = max(a.filled, to+k)
		b, a.at = b[k:], a.at+k
	}
	a.at += uint64(len(b))
	return n, nil
}

// ReadFrom reads a body as an Arrow library writes it (buffers in order,
// padded to 8 bytes) from r, each buffer straight into its place: one
// copy, from wherever r has it. Buffers out of the body's order (no Arrow
// library writes them so) are an error: r is read once, forward.
func (a *alignedBody) ReadFrom(r io.Reader) (int64, error) {
	start := a.at
	for _, m := range a.moves[a.next:] {
		from, to, length := uint64(m.from), uint64(m.to), uint64(m.length)
		if from < a.at {
			return int64(a.at - start), usageError(ErrArrow.Code, "send", a.name, "the message's buffers are not in the order of its body")
		}
		if to+length > uint64(len(a.buf)) {
			return int64(a.at - start), io.ErrShortWrite
		}
		skipped, err := io.CopyN(io.Discard, r, int64(from-a.at)) // the library's padding
		a.at += uint64(skipped)
		if err != nil {
			return int64(a.at - start), err
		}
		clear(a.buf[min(a.filled, to):to])
		n, err := io.ReadFull(r, a.buf[to:to+length])
		a.at += uint64(n)
		a.filled = max(a.filled, to+uint64(n))
		if err != nil {
			return int64(a.at - start), err
		}
	}
	a.next = len(a.moves)
	rest, err := io.Copy(io.Discard, r) // padding after the last buffer
	a.at += uint64(rest)
	return int64(a.at - start), err
}

// finish zero-fills the body after the last buffer.
func (a *alignedBody) finish() { clear(a.buf[min(a.filled, uint64(len(a.buf))):]) }
