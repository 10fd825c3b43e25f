package main

import (
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/mem"
)

func int64Batch(t *testing.T, rows int, allocator memory.Allocator) arrow.RecordBatch {
	t.Helper()
	b := array.NewInt64Builder(allocator)
	defer b.Release()
	for i := 0; i < rows; i++ {
		b.Append(int64(i))
	}
	column := b.NewArray()
	defer column.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{column}, int64(rows))
}

// A batch over what one message carries is split by rows into pieces that
// fit, in order, none lost; a single row over it is an error naming its size.
func TestSplitForWire(t *testing.T) {
	defer func(saved int64) { maxBody = saved }(maxBody)
	maxBody = 64 << 10
	batch := int64Batch(t, 100_000, memory.DefaultAllocator) // 800 KB
	defer batch.Release()
	pieces, err := splitForWire(batch)
	if err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	for _, piece := range pieces {
		ids := piece.Column(0).(*array.Int64)
		if ids.Value(0) != next {
			t.Fatalf("a piece starts at %d, not %d", ids.Value(0), next)
		}
		if n := piece.NumRows() * 8; n > maxBody {
			t.Fatalf("a piece of %d bytes, over %d", n, maxBody)
		}
		next += piece.NumRows()
		piece.Release()
	}
	if next != 100_000 || len(pieces) < 13 {
		t.Fatalf("%d rows in %d pieces", next, len(pieces))
	}

	maxBody = 4
	one := int64Batch(t, 1, memory.DefaultAllocator)
	defer one.Release()
	if _, err := splitForWire(one); err == nil || !strings.Contains(err.Error(), "a batch of 1 row(s) takes 12 B, over the 4 B one Flight message can carry (protobuf's 2 GiB cap)") {
		t.Fatalf("error %v", err)
	}
}

// What messageSender hands gRPC decodes, by the codec's own decoder and by
// arrow-go's reader, to the batch sent; its large buffers are the batch's
// own, and the batch is let go only when gRPC frees them.
func TestWireRoundTrip(t *testing.T) {
	allocator := memory.NewCheckedAllocator(memory.NewGoAllocator())
	batch := int64Batch(t, 10_000, allocator)
	var sent []*wireMessage
	w := newRecordSender(func(m any) error { sent = append(sent, m.(*wireMessage)); return nil }, batch.Schema(),
		&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"x"}})
	if err := w.Write(batch); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 { // the schema, the batch
		t.Fatalf("%d messages", len(sent))
	}
	var shared bool
	for _, buffer := range sent[1].data {
		if b := buffer.ReadOnlyData(); len(b) > 0 && &b[0] == &batch.Column(0).Data().Buffers()[1].Bytes()[0] {
			shared = true
		}
	}
	if !shared {
		t.Fatal("the batch's values were copied")
	}
	var decoded []*flight.FlightData
	for i, m := range sent {
		var fd flight.FlightData
		if err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(m.data.Materialize())}, &fd); err != nil {
			t.Fatal(err)
		}
		if (fd.FlightDescriptor != nil) != (i == 0) {
			t.Fatalf("message %d: descriptor %v", i, fd.FlightDescriptor)
		}
		decoded = append(decoded, &fd)
	}
	reader, err := flight.NewRecordReader(&replayAll{decoded}, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Release()
	if !reader.Next() || !array.RecordEqual(reader.RecordBatch(), batch) {
		t.Fatal("the batch did not come back")
	}
	// Released here, the batch is still held by the messages...
	batch.Release()
	if allocator.CurrentAlloc() == 0 {
		t.Fatal("the batch went while gRPC still had its buffers to send")
	}
	// ...until gRPC frees them: then every byte goes back.
	for _, m := range sent {
		m.data.Free()
	}
	allocator.AssertSize(t, 0)
}

type replayAll struct{ messages []*flight.FlightData }

func (r *replayAll) Recv() (*flight.FlightData, error) {
	if len(r.messages) == 0 {
		return nil, io.EOF
	}
	m := r.messages[0]
	r.messages = r.messages[1:]
	return m, nil
}

// sent decodes what sendBatches handed gRPC back into batches, by the
// codec's own decoder and arrow-go's Flight reader, as a client would.
func sent(t *testing.T, messages []*wireMessage) []arrow.RecordBatch {
	t.Helper()
	var decoded []*flight.FlightData
	for _, m := range messages {
		var fd flight.FlightData
		if err := newCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(m.data.Materialize())}, &fd); err != nil {
			t.Fatal(err)
		}
		m.data.Free()
		decoded = append(decoded, &fd)
	}
	reader, err := flight.NewRecordReader(&replayAll{decoded})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Release()
	var batches []arrow.RecordBatch
	for reader.Next() {
		batch := reader.RecordBatch()
		batch.Retain()
		batches = append(batches, batch)
	}
	if err := reader.Err(); err != nil {
		t.Fatal(err)
	}
	return batches
}

// The path DoGet and push take: a batch over what one message carries
// (protobuf's 2 GiB cap, lowered here) goes as several messages, each
// under the cap, that a client reads back as the same rows in order; a
// row over the cap is an error that sends nothing of its batch.
func TestSendBatchesOverTheCap(t *testing.T) {
	defer func(saved int64) { maxBody = saved }(maxBody)
	maxBody = 64 << 10
	batch := int64Batch(t, 100_000, memory.DefaultAllocator) // 800 KB
	defer batch.Release()
	source, _ := array.NewRecordReader(batch.Schema(), []arrow.RecordBatch{batch})
	defer source.Release()
	var messages []*wireMessage
	send := func(m any) error { messages = append(messages, m.(*wireMessage)); return nil }
	rows, _, err := sendBatches(source, send, nil, nil)
	if err != nil || rows != 100_000 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	for i, m := range messages {
		if n := int64(m.data.Len()); n > maxBody+4096 {
			t.Fatalf("message %d takes %d bytes, over the cap %d", i, n, maxBody)
		}
	}
	next := int64(0)
	batches := sent(t, messages)
	for _, b := range batches {
		ids := b.Column(0).(*array.Int64)
		for i := 0; i < ids.Len(); i++ {
			if ids.Value(i) != next {
				t.Fatalf("row %d is %d", next, ids.Value(i))
			}
			next++
		}
		b.Release()
	}
	if next != 100_000 || len(batches) < 13 {
		t.Fatalf("%d rows back in %d batches", next, len(batches))
	}

	maxBody = 4
	one := int64Batch(t, 1, memory.DefaultAllocator)
	defer one.Release()
	source, _ = array.NewRecordReader(one.Schema(), []arrow.RecordBatch{one})
	defer source.Release()
	messages = nil
	if _, _, err := sendBatches(source, send, nil, nil); err == nil || !strings.Contains(err.Error(), "over the 4 B one Flight message can carry (protobuf's 2 GiB cap); nothing was sent of it") {
		t.Fatalf("error %v", err)
	}
	if len(messages) > 1 { // the schema at most
		t.Fatalf("%d messages sent", len(messages))
	}
}
