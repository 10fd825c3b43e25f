package shmpipe

/*
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ArrowWriter sends arrow-go record batches down a channel, one Arrow IPC
// message per record: the schema when it is new or changed, dictionaries
// when new, replaced or grown (as deltas), then each batch; the schema and
// every dictionary again when a reader joined mid-stream (the core tells,
// with one load per batch). Every message
// is written straight into its claimed record: the column buffers are
// copied once, from the batch into the ring. The body starts on a 64-byte
// boundary in shared memory; arrow-go places the buffers in it at multiples
// of 8 bytes (what the Arrow format requires, and enough for any reader to
// view them as typed arrays in place).
type ArrowWriter struct {
	w      *Writer
	ipc    *ipc.Writer // arrow-go's encoder, which hands each message to records
	out    payloadSink
	schema *arrow.Schema
}

// payloadSink takes the encoder's messages: into records, or only counted.
type payloadSink interface {
	ipc.PayloadWriter
	begin(ctx context.Context)
	failure() error // the sink's own error, which arrow-go wraps
}

// NewArrowWriter writes Arrow batches to w. Each message is checked by the
// core (its metadata, and that dictionaries come before the batches that
// use them) before it is committed, so a message no reader could read is
// the writer's error, not every reader's.
func NewArrowWriter(w *Writer) *ArrowWriter {
	return &ArrowWriter{w: w, out: &recordPayloads{w: w}}
}

// withPayloads sends the messages elsewhere (Publish sizes a table so).
func (a *ArrowWriter) withPayloads(sink payloadSink) *ArrowWriter {
	a.out = sink
	return a
}

// Write sends one batch, waiting for room as ctx allows. A batch with a
// schema other than the last one's starts a new stream on the channel.
func (a *ArrowWriter) Write(ctx context.Context, batch arrow.RecordBatch) error {
	a.out.begin(ctx)
	if a.schema == nil || !a.schema.Equal(batch.Schema()) || a.readersJoined() {
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
		return usageError(ErrArrow.Code, "send", a.name(), "arrow-go could not encode the batch: "+err.Error())
	}
	return nil
}

// name is the channel's, for errors ("" while Publish sizes a table).
func (a *ArrowWriter) name() string {
	if a.w == nil {
		return ""
	}
	return a.w.Name()
}

// readersJoined is true when a reader joined the channel mid-stream since
// the last batch: it needs the schema and dictionaries again.
func (a *ArrowWriter) readersJoined() bool {
	return a.w != nil && a.w.ReadersJoined() > 0
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
	if out, ok := a.out.(*recordPayloads); ok && out.checker != nil {
		out.checker.free()
		out.checker = nil
	}
	return a.w.Close()
}

// recordPayloads is arrow-go's PayloadWriter: each payload (one IPC
// message) goes into a record of its own, framed as
//
//	0xFFFFFFFF | int32 metadata length | flatbuffer, zero padded | body
//
// with the metadata padded so that the body starts at a multiple of 64
// bytes into the record, which itself starts on a 64-byte boundary.
type recordPayloads struct {
	w       *Writer
	ctx     context.Context
	err     error
	checker *messageSource // the core's checker of what this writer sends
}

func (p *recordPayloads) Start() error              { return nil }
func (p *recordPayloads) Close() error              { return nil }
func (p *recordPayloads) begin(ctx context.Context) { p.ctx, p.err = ctx, nil }
func (p *recordPayloads) failure() error            { return p.err }

func (p *recordPayloads) WritePayload(payload ipc.Payload) error {
	meta := payload.Meta()
	defer meta.Release()
	var body byteCounter
	if err := payload.SerializeBody(&body); err != nil {
		return err
	}
	prefix := int(align64(uint64(8 + meta.Len())))
	record, err := p.w.Claim(p.ctx, prefix+int(body))
	if err != nil {
		p.err = err
		return err
	}
	putUint32(record[0:], 0xFFFFFFFF)
	putUint32(record[4:], uint32(prefix-8))
	clear(record[8+copy(record[8:], meta.Bytes()) : prefix])
	fill := sliceWriter{buf: record[prefix:]}
	if err := payload.SerializeBody(&fill); err != nil || fill.n != int(body) {
		p.w.Abort()
		return fmt.Errorf("arrow-go laid out a body of %d bytes as %d: %v", body, fill.n, err)
	}
	if err := p.check(record); err != nil {
		p.w.Abort()
		p.err = err
		return err
	}
	if err := p.w.Commit(len(record)); err != nil {
		p.err = err
		return err
	}
	return nil
}

func align64(n uint64) uint64 { return (n + 63) &^ 63 }

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// byteCounter sizes a body without copying it.
type byteCounter int64

func (c *byteCounter) Write(b []byte) (int, error) {
	*c += byteCounter(len(b))
	return len(b), nil
}

// sliceWriter writes into a claimed record.
type sliceWriter struct {
	buf []byte
	n   int
}

func (s *sliceWriter) Write(b []byte) (int, error) {
	if len(b) > len(s.buf)-s.n {
		return 0, io.ErrShortWrite
	}
	s.n += copy(s.buf[s.n:], b)
	return len(b), nil
}

// check runs the core's check of a message this writer is about to commit
// (metadata only: the values come from arrow-go itself).
func (p *recordPayloads) check(record []byte) error {
	if p.checker == nil {
		checker, err := newMessageSource(p.w.Name(), "send", nil)
		if err != nil {
			return err
		}
		TrustValues()(checker)
		p.checker = checker
	}
	_, err := p.checker.check(record)
	return err
}
