package main

// Batches in and out of this machine's shared memory, through the Go
// binding: a published table or a channel read as a stream of batches, and
// a stream of batches written into a new channel or published as a table.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// openSource opens a local name as arrow-go's array.RecordReader: a
// published table's batches (slices of the segment: nothing is copied into
// Go's heap), or a channel joined as a reader, streamed live until its
// writer ends it (its Next waits as ctx allows). Release it when done.
func openSource(ctx context.Context, name string) (array.RecordReader, kind, error) {
	info, err := inspect(name)
	if err != nil {
		return nil, 0, err
	}
	if info.kind == kindTable {
		var table arrow.Table
		if info.known {
			table, err = tables.open(name, info.id)
		} else {
			table, err = shmpipe.OpenTable(name)
		}
		if err != nil {
			return nil, 0, err
		}
		defer table.Release() // the reader holds it
		return array.NewTableReader(table, -1), kindTable, nil
	}
	r, err := shmpipe.OpenReader(name)
	if err != nil {
		return nil, 0, err
	}
	records, err := newChannelRecords(ctx, r)
	if err != nil {
		r.Close()
		return nil, 0, err
	}
	return records, kindChannel, nil
}

// channelRecords is the Go binding's ArrowReader in the shape arrow-go's
// tools take (array.RecordReader: flight.NewRecordWriter, pqarrow, ...),
// with a context for its waits. (The binding has no such adapter yet; this
// one could move there.) Its schema is known once it is made: making it
// waits for the stream's first message.
type channelRecords struct {
	ctx     context.Context
	r       *shmpipe.Reader
	arrow   *shmpipe.ArrowReader
	schema  *arrow.Schema
	next    arrow.RecordBatch // read ahead to learn the schema
	current arrow.RecordBatch
	err     error
	refs    atomic.Int64
}

func newChannelRecords(ctx context.Context, r *shmpipe.Reader) (*channelRecords, error) {
	a, err := shmpipe.NewArrowReader(r)
	if err != nil {
		return nil, err
	}
	c := &channelRecords{ctx: ctx, r: r, arrow: a}
	c.refs.Store(1)
	first, err := a.Read(ctx)
	switch {
	case err == io.EOF:
	case err != nil:
		a.Close()
		return nil, err
	default:
		c.next = first
	}
	if c.schema = a.Schema(); c.schema == nil {
		a.Close()
		return nil, fmt.Errorf("the channel %s ended before its schema came", r.Name())
	}
	return c, nil
}

func (c *channelRecords) Schema() *arrow.Schema { return c.schema }

// Next reads the next batch; false at the end of the stream or on an
// error (Err), such as the writer's death (shmpipe.ErrPeerGone) or a
// schema that changed mid-stream (a RecordReader has one).
func (c *channelRecords) Next() bool {
	if c.current != nil {
		c.current.Release()
		c.current = nil
	}
	if c.err != nil {
		return false
	}
	batch := c.next
	c.next = nil
	if batch == nil {
		var err error
		if batch, err = c.arrow.Read(c.ctx); err != nil {
			if err != io.EOF {
				c.err = err
			}
			return false
		}
	}
	if !batch.Schema().Equal(c.schema) {
		batch.Release()
		c.err = &schemaChanged{c.r.Name()}
		return false
	}
	c.current = batch
	return true
}

func (c *channelRecords) RecordBatch() arrow.RecordBatch { return c.current }

// Record is RecordBatch (arrow-go's older name).
func (c *channelRecords) Record() arrow.RecordBatch { return c.current }

func (c *channelRecords) Err() error { return c.err }

func (c *channelRecords) Retain() { c.refs.Add(1) }

// Release lets go of the channel when the last reference goes.
func (c *channelRecords) Release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	for _, batch := range []arrow.RecordBatch{c.current, c.next} {
		if batch != nil {
			batch.Release()
		}
	}
	c.current, c.next = nil, nil
	c.arrow.Close()
	c.r.Close()
}

var _ array.RecordReader = (*channelRecords)(nil)

// schemaChanged ends a channel's records whose schema changed mid-stream.
type schemaChanged struct{ channel string }

func (e *schemaChanged) Error() string {
	return fmt.Sprintf("the schema of channel %s changed mid-stream: a record reader (and a Flight stream) has one schema", e.channel)
}

// sinkOptions say how received batches land on this machine.
type sinkOptions struct {
	name     string
	kind     kind          // a channel, or a table published at the end
	persist  bool          // a table that outlives this process
	capacity int           // a channel's capacity; 0: the core's default, grown to fit the first batch
	linger   time.Duration // how long a channel's close waits for a first reader
	existing bool          // the channel exists (a pipeline's runner made it): open it, never remove its name
}

// sink writes batches into a new local channel, or gathers them and
// publishes a table once the stream is complete (a half-received table is
// never published).
type sink struct {
	sinkOptions
	writer   *shmpipe.Writer
	arrow    *shmpipe.ArrowWriter
	messages *shmpipe.MessageWriter // for WriteMessage: encoded messages written as they are
	pending  [][]byte               // messages without a body that came before the channel was made
	batches  []arrow.RecordBatch
	schema   *arrow.Schema
	table    *shmpipe.PublishedTable // when published
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
	var w *shmpipe.Writer
	var err error
	if s.existing {
		w, err = shmpipe.OpenWriter(s.name)
	} else {
		w, err = shmpipe.CreateWriter(s.name, capacity, shmpipe.WithLinger(s.linger))
	}
	if err != nil {
		return err
	}
	s.writer, s.arrow, s.messages = w, shmpipe.NewArrowWriter(w), shmpipe.NewMessageWriter(w)
	return nil
}

// WriteMessage writes one encoded Arrow message into the channel as it is
// (a DoPut's FlightData: no arrays are made of it), its body of n bytes
// read from body straight into the record. The channel is made when the
// first message with a body comes (its size sizes the channel); the
// messages before it (the schema) wait for it. Use either WriteMessage or
// Write for one stream.
func (s *sink) WriteMessage(ctx context.Context, header []byte, n int, body io.Reader) error {
	if s.writer == nil {
		if n == 0 {
			s.pending = append(s.pending, header)
			return nil
		}
		if err := s.create(int64(n)); err != nil {
			return err
		}
		if err := s.writePending(ctx); err != nil {
			return err
		}
	}
	return s.messages.Write(ctx, header, n, body)
}

func (s *sink) writePending(ctx context.Context) error {
	for _, header := range s.pending {
		if err := s.messages.Write(ctx, header, 0, bytes.NewReader(nil)); err != nil {
			return err
		}
	}
	s.pending = nil
	return nil
}

// FinishMessages completes a stream written with WriteMessage: the
// channel's end of stream (its close waits for a first reader as the
// binding does).
func (s *sink) FinishMessages(ctx context.Context) error {
	if s.writer == nil {
		if len(s.pending) == 0 {
			return errors.New("the stream ended before its schema: nothing to write")
		}
		if err := s.create(0); err != nil {
			return err
		}
		if err := s.writePending(ctx); err != nil {
			s.Abandon()
			return err
		}
	}
	s.arrow = nil
	return s.messages.Close()
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

// Abandon is a stream that broke: the writer abandons the channel
// (shmpipe's Writer.Abandon), so that readers attached read what came,
// then see their writer gone, never a clean end of stream, and the name
// goes at once (no new reader finds a half-written channel). A table
// gathered so far is dropped.
func (s *sink) Abandon() {
	s.release()
	if s.writer != nil {
		s.messages.Abandon() // a pipeline's channel (existing) was opened, not created: its name stays its runner's
		if s.arrow != nil {
			s.arrow.Abandon() // its sender; the writer is abandoned already
		}
		s.writer, s.arrow, s.messages = nil, nil, nil
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
