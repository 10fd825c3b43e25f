package main

// Batches in and out of this machine's shared memory, through the Go
// binding: a published table or a channel read as a stream of batches, and
// a stream of batches written into a new channel or published as a table.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// batchSource is a local table or channel read as batches: Read gives the
// next (to release), io.EOF at the end. Schema is known after the first
// Read (or at once for a table).
type batchSource interface {
	Read(ctx context.Context) (arrow.RecordBatch, error)
	Schema() *arrow.Schema
	Close() error
}

// openSource opens a local name as a table or as a channel (joined as a reader).
func openSource(name string) (batchSource, kind, error) {
	info, err := inspect(name)
	if err != nil {
		return nil, 0, err
	}
	if info.kind == kindTable {
		t, err := openTableSource(name)
		return t, kindTable, err
	}
	r, err := shmpipe.OpenReader(name)
	if err != nil {
		return nil, 0, err
	}
	a, err := shmpipe.NewArrowReader(r)
	if err != nil {
		r.Close()
		return nil, 0, err
	}
	return &channelSource{ArrowReader: a, r: r}, kindChannel, nil
}

type channelSource struct {
	*shmpipe.ArrowReader
	r *shmpipe.Reader
}

func (c *channelSource) Close() error {
	c.ArrowReader.Close()
	return c.r.Close()
}

// tableSource walks a published table's batches: their buffers are slices
// of the segment (nothing is copied into Go's heap).
type tableSource struct {
	table  arrow.Table
	reader *array.TableReader
}

func openTableSource(name string) (*tableSource, error) {
	table, err := shmpipe.OpenTable(name)
	if err != nil {
		return nil, err
	}
	return &tableSource{table: table, reader: array.NewTableReader(table, -1)}, nil
}

func (t *tableSource) Read(context.Context) (arrow.RecordBatch, error) {
	if !t.reader.Next() {
		return nil, io.EOF
	}
	batch := t.reader.RecordBatch()
	batch.Retain()
	return batch, nil
}

func (t *tableSource) Schema() *arrow.Schema { return t.table.Schema() }

func (t *tableSource) Close() error {
	t.reader.Release()
	t.table.Release()
	return nil
}

// sinkOptions say how received batches land on this machine.
type sinkOptions struct {
	name     string
	kind     kind          // a channel, or a table published at the end
	persist  bool          // a table that outlives this process
	capacity int           // a channel's capacity; 0: the core's default, grown to fit the first batch
	linger   time.Duration // how long a channel's close waits for a first reader
}

// sink writes batches into a new local channel, or gathers them and
// publishes a table once the stream is complete (a half-received table is
// never published).
type sink struct {
	sinkOptions
	writer  *shmpipe.Writer
	arrow   *shmpipe.ArrowWriter
	batches []arrow.RecordBatch
	schema  *arrow.Schema
	table   *shmpipe.PublishedTable // when published
}

// Write takes one batch (the caller keeps its reference).
func (s *sink) Write(ctx context.Context, batch arrow.RecordBatch) error {
	if s.schema == nil {
		s.schema = batch.Schema()
	}
	if s.kind == kindTable {
		batch.Retain()
		s.batches = append(s.batches, batch)
		return nil
	}
	if s.writer == nil {
		if err := s.create(batchBytes(batch)); err != nil {
			return err
		}
	}
	return s.arrow.Write(ctx, batch)
}

// create makes the channel, large enough for a few batches like the first
// (a record must fit in the ring).
func (s *sink) create(first int64) error {
	capacity := s.capacity
	if capacity == 0 {
		capacity = max(defaultCapacity(), int(min(4*first+(1<<20), 1<<36)))
	}
	w, err := shmpipe.CreateWriter(s.name, capacity, shmpipe.WithLinger(s.linger))
	if err != nil {
		return err
	}
	s.writer, s.arrow = w, shmpipe.NewArrowWriter(w)
	return nil
}

// Finish completes what arrived whole: the channel's end of stream (its
// close waits for a first reader as the binding does), or the table
// published. schema is the stream's, for a stream without batches.
func (s *sink) Finish(ctx context.Context, schema *arrow.Schema) error {
	if s.schema == nil {
		s.schema = schema
	}
	if s.kind == kindTable {
		if s.schema == nil {
			return errors.New("the stream ended before its schema: nothing to publish")
		}
		table := array.NewTableFromRecords(s.schema, s.batches)
		defer table.Release()
		var options []shmpipe.Option
		if s.persist {
			options = append(options, shmpipe.Persist())
		}
		published, err := shmpipe.Publish(s.name, table, options...)
		s.release()
		if err != nil {
			return err
		}
		s.table = published
		return nil
	}
	if s.writer == nil {
		if s.schema == nil {
			return errors.New("the stream ended before its schema: nothing to write")
		}
		if err := s.create(0); err != nil {
			return err
		}
		if err := s.arrow.WriteSchema(ctx, s.schema); err != nil {
			return err
		}
	}
	return s.arrow.Close()
}

// Abandon is a stream that broke: the name goes at once (no new reader
// finds a half-written channel) and the writer is left open, so that
// readers attached see its peer gone when this process exits, never a
// clean end of stream. A table gathered so far is dropped.
func (s *sink) Abandon() {
	s.release()
	if s.writer != nil {
		shmpipe.Unlink(s.name)
	}
}

func (s *sink) release() {
	for _, batch := range s.batches {
		batch.Release()
	}
	s.batches = nil
}

// batchBytes is the bytes of a batch's buffers (what crosses the wire, less
// the metadata).
func batchBytes(batch arrow.RecordBatch) int64 {
	var n int64
	for _, column := range batch.Columns() {
		n += dataBytes(column.Data())
	}
	return n
}

func dataBytes(data arrow.ArrayData) int64 {
	var n int64
	for _, buffer := range data.Buffers() {
		if buffer != nil {
			n += int64(buffer.Len())
		}
	}
	for _, child := range data.Children() {
		n += dataBytes(child)
	}
	if dict, ok := data.Dictionary().(*array.Data); ok && dict != nil { // a typed nil when there is none
		n += dataBytes(dict)
	}
	return n
}

// splitForWire slices a batch (no copy) into pieces whose bodies fit in one
// Flight message, by their share of the rows (arrow-go's IPC writer sends
// only a slice's part of each buffer); a single row too large for one
// message is an error naming its size.
func splitForWire(batch arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	size, rows := batchBytes(batch), batch.NumRows()
	if size <= maxBody {
		batch.Retain()
		return []arrow.RecordBatch{batch}, nil
	}
	if rows <= 1 {
		return nil, fmt.Errorf("a batch of %d row(s) takes %s, over the %s one Flight message can carry (protobuf's 2 GiB cap); nothing was sent of it", rows, human(size), human(maxBody))
	}
	// Aim at half the cap: rows differ in size.
	pieces := (size + maxBody/2 - 1) / (maxBody / 2)
	step := max((rows+pieces-1)/pieces, 1)
	var out []arrow.RecordBatch
	for start := int64(0); start < rows; start += step {
		out = append(out, batch.NewSlice(start, min(start+step, rows)))
	}
	return out, nil
}

// human is bytes for people: 512 B, 16.0 KiB, 1.5 GiB.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		value /= unit
		suffix = s
		if value < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", value, suffix)
}
