package main

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// publishBatches publishes batches of rows ids each (8 bytes a row), ids
// counting up from 0 across them.
func publishBatches(t *testing.T, name string, batches, rows int) *shmpipe.PublishedTable {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var records []arrow.RecordBatch
	for i := 0; i < batches; i++ {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for j := 0; j < rows; j++ {
			b.Append(int64(i*rows + j))
		}
		column := b.NewArray()
		b.Release()
		records = append(records, array.NewRecordBatch(schema, []arrow.Array{column}, int64(rows)))
		column.Release()
	}
	table := array.NewTableFromRecords(schema, records)
	defer table.Release()
	for _, r := range records {
		r.Release()
	}
	published, err := shmpipe.Publish(name, table)
	if err != nil {
		t.Fatal(err)
	}
	return published
}

// A DoGet through real gRPC on loopback, its bodies in reused buffers
// (received.go): batches kept to the end keep their values while later
// ones arrive, and batches released as they come have theirs (their
// buffers reused for the next ones).
func TestPulledBodiesReusedOnlyWhenReleased(t *testing.T) {
	name := fmt.Sprintf("flight-test-bodies-%d", os.Getpid())
	const batches, rows = 6, 3 << 17 // 3 MiB a batch: over the pool's smallest
	published := publishBatches(t, name, batches, rows)
	defer published.Unpublish()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := flight.NewServerWithMiddleware(nil, serverOptions()...)
	srv.InitListener(listener)
	srv.RegisterFlightService(&server{patterns: []string{name}, quiet: true, published: map[string]*shmpipe.PublishedTable{}})
	go srv.Serve()
	defer srv.Shutdown()
	addr := address{hostPort: listener.Addr().String()}
	client, err := dial(t.Context(), addr, clientFlags{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, keep := range []bool{true, false} {
		reader, err := doGet(t.Context(), client, addr, name)
		if err != nil {
			t.Fatal(err)
		}
		var kept []arrow.RecordBatch
		check := func(batch arrow.RecordBatch, first int64) {
			ids := batch.Column(0).(*array.Int64)
			for j := 0; j < ids.Len(); j += 4099 {
				if ids.Value(j) != first+int64(j) {
					t.Fatalf("keep=%v: id %d at %d, want %d", keep, ids.Value(j), first+int64(j), first+int64(j))
				}
			}
		}
		next := int64(0)
		for reader.Next() {
			batch := reader.RecordBatch()
			check(batch, next)
			if keep {
				batch.Retain()
				kept = append(kept, batch)
			}
			next += batch.NumRows()
		}
		if err := reader.Err(); err != nil {
			t.Fatal(err)
		}
		reader.Release()
		if next != batches*rows {
			t.Fatalf("keep=%v: %d rows, want %d", keep, next, batches*rows)
		}
		first := int64(0)
		for _, batch := range kept { // after the later batches came
			check(batch, first)
			first += batch.NumRows()
			batch.Release()
		}
	}
}
