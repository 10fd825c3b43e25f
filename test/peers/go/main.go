// Command peer is the Go peer of the conformance runs: the same command
// line as test/peers/peer.ts and peer.py (`peer ROLE NAME`), the data of
// each scenario from test/peers/scenarios.json. A reader creates the
// channel and prints "ready"; a writer waits for the name. A reader prints
// "ok <summary>" when every value matched, or fails with the first
// difference.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

type scenarios struct {
	Bytes struct {
		Records int   `json:"records"`
		Sizes   []int `json:"sizes"`
	} `json:"bytes"`
	Arrow struct {
		Batches int `json:"batches"`
		Rows    int `json:"rows"`
	} `json:"arrow"`
}

var (
	role, name string
	scenario   scenarios
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go peer %s: %s\n", role, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func recordBytes(i int) []byte {
	sizes := scenario.Bytes.Sizes
	b := make([]byte, sizes[i%len(sizes)])
	for j := range b {
		b[j] = byte((i*7 + j) % 251)
	}
	return b
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "x", Type: arrow.PrimitiveTypes.Float64},
	{Name: "y", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String},
}, nil)

// rows builds rows from..from+count of the scenario's columns.
func rows(from, count int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	x, y, s := b.Field(0).(*array.Float64Builder), b.Field(1).(*array.Int32Builder), b.Field(2).(*array.StringBuilder)
	for r := from; r < from+count; r++ {
		x.Append(float64(r) * 0.5)
		if r%7 == 3 {
			y.AppendNull()
		} else {
			y.Append(int32(r * 3))
		}
		s.Append(fmt.Sprintf("s%d", r))
	}
	return b.NewRecordBatch()
}

// check compares the rows of batch, which start at row from of the stream.
func check(batch arrow.RecordBatch, from int) int {
	x, okx := batch.Column(int(indexOf(batch, "x"))).(*array.Float64)
	y, oky := batch.Column(int(indexOf(batch, "y"))).(*array.Int32)
	s, oks := batch.Column(int(indexOf(batch, "s"))).(*array.String)
	if !okx || !oky || !oks {
		fail("columns of the wrong types: %s", batch.Schema())
	}
	for k := 0; k < int(batch.NumRows()); k++ {
		r := from + k
		if x.Value(k) != float64(r)*0.5 {
			fail("row %d: x is %v, expected %v", r, x.Value(k), float64(r)*0.5)
		}
		if (r%7 == 3) != y.IsNull(k) || (!y.IsNull(k) && y.Value(k) != int32(r*3)) {
			fail("row %d: y is %v (null %v), expected %d", r, y.Value(k), y.IsNull(k), r*3)
		}
		if s.Value(k) != fmt.Sprintf("s%d", r) {
			fail("row %d: s is %q, expected s%d", r, s.Value(k), r)
		}
	}
	return int(batch.NumRows())
}

func indexOf(batch arrow.RecordBatch, column string) int {
	indices := batch.Schema().FieldIndices(column)
	if len(indices) != 1 {
		fail("no column %q in %s", column, batch.Schema())
	}
	return indices[0]
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: peer ROLE NAME")
	}
	role, name = os.Args[1], os.Args[2]
	_, here, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "scenarios.json"))
	if err == nil {
		err = json.Unmarshal(data, &scenario)
	}
	if err != nil {
		fail("scenarios.json: %v", err)
	}
	if err := run(context.Background()); err != nil {
		fail("%v", err)
	}
}

func run(ctx context.Context) error {
	batches, perBatch := scenario.Arrow.Batches, scenario.Arrow.Rows
	switch role {
	case "write-bytes":
		w, err := shmpipe.OpenWriter(name, shmpipe.WithWait(10*time.Second))
		if err != nil {
			return err
		}
		defer w.Close()
		for i := 0; i < scenario.Bytes.Records; i++ {
			if err := w.Send(ctx, recordBytes(i)); err != nil {
				return err
			}
		}
	case "read-bytes":
		r, err := shmpipe.CreateReader(name, 1<<20)
		if err != nil {
			return err
		}
		defer r.Close()
		fmt.Println("ready")
		i, total := 0, 0
		for ; ; i++ {
			m, err := r.Recv(ctx)
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			if string(m.Bytes) != string(recordBytes(i)) {
				fail("record %d differs (%d bytes)", i, len(m.Bytes))
			}
			total += len(m.Bytes)
			m.Release()
		}
		if i != scenario.Bytes.Records {
			fail("%d records, expected %d", i, scenario.Bytes.Records)
		}
		fmt.Printf("ok %d records %d bytes\n", i, total)
	case "write-bytes-hang":
		// Sends every record, says so, then hangs until killed (the writer killed mid-stream).
		w, err := shmpipe.OpenWriter(name, shmpipe.WithWait(10*time.Second))
		if err != nil {
			return err
		}
		for i := 0; i < scenario.Bytes.Records; i++ {
			if err := w.Send(ctx, recordBytes(i)); err != nil {
				return err
			}
		}
		fmt.Println("sent")
		select {}
	case "read-bytes-gone":
		// Every record the killed writer committed, then EPEERGONE rather than an end of stream.
		r, err := shmpipe.CreateReader(name, 1<<20)
		if err != nil {
			return err
		}
		defer r.Close()
		fmt.Println("ready")
		i := 0
		for ; ; i++ {
			wait, cancel := context.WithTimeout(ctx, 20*time.Second)
			m, err := r.Recv(wait)
			cancel()
			if errors.Is(err, shmpipe.ErrPeerGone) {
				break
			} else if errors.Is(err, io.EOF) {
				fail("the stream ended cleanly after %d records; expected EPEERGONE", i)
			} else if err != nil {
				return err
			}
			if string(m.Bytes) != string(recordBytes(i)) {
				fail("record %d differs", i)
			}
			m.Release()
		}
		if i != scenario.Bytes.Records {
			fail("%d records before EPEERGONE, expected %d", i, scenario.Bytes.Records)
		}
		fmt.Printf("ok %d records then EPEERGONE\n", i)
	case "write-bytes-until-gone":
		// Creates the channel and sends until its only reader is gone (killed mid-stream): EPEERGONE, not a hang.
		w, err := shmpipe.CreateWriter(name, 1<<20)
		if err != nil {
			return err
		}
		defer w.Close()
		fmt.Println("ready")
		i := 0
		for ; ; i++ {
			wait, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := w.Send(wait, recordBytes(i%scenario.Bytes.Records))
			cancel()
			if errors.Is(err, shmpipe.ErrPeerGone) {
				break
			} else if err != nil {
				return err
			}
		}
		fmt.Printf("ok EPEERGONE after %d records\n", i)
	case "read-bytes-hang":
		// Reads a few records, says so, then hangs until killed (the reader killed mid-stream).
		r, err := shmpipe.OpenReader(name, shmpipe.WithWait(10*time.Second))
		if err != nil {
			return err
		}
		for k := 0; k < 3; k++ {
			m, err := r.Recv(ctx)
			if err != nil {
				return err
			}
			m.Release()
		}
		fmt.Println("read")
		select {}
	case "write-arrow":
		w, err := shmpipe.OpenWriter(name, shmpipe.WithWait(10*time.Second))
		if err != nil {
			return err
		}
		writer := shmpipe.NewArrowWriter(w)
		defer writer.Close()
		for b := 0; b < batches; b++ {
			batch := rows(b*perBatch, perBatch)
			err := writer.Write(ctx, batch)
			batch.Release()
			if err != nil {
				return err
			}
		}
	case "read-arrow":
		r, err := shmpipe.CreateReader(name, 1<<22)
		if err != nil {
			return err
		}
		defer r.Close() // the ArrowReader leaves the channel's Reader to its owner
		reader, err := shmpipe.NewArrowReader(r)
		if err != nil {
			return err
		}
		defer reader.Close()
		fmt.Println("ready")
		seen := 0
		for {
			batch, err := reader.Read(ctx)
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			seen += check(batch, seen)
			batch.Release()
		}
		if seen != batches*perBatch {
			fail("%d rows, expected %d", seen, batches*perBatch)
		}
		fmt.Printf("ok %d rows\n", seen)
	case "publish":
		batch := rows(0, batches*perBatch)
		table := array.NewTableFromRecords(schema, []arrow.RecordBatch{batch})
		batch.Release()
		defer table.Release()
		if _, err := shmpipe.Publish(name, table, shmpipe.Persist()); err != nil {
			return err
		}
		fmt.Println("published")
	case "open-table":
		table, err := shmpipe.OpenTable(name, shmpipe.WithWait(10*time.Second))
		if err != nil {
			return err
		}
		seen := 0
		tr := array.NewTableReader(table, -1)
		for tr.Next() {
			seen += check(tr.RecordBatch(), seen)
		}
		tr.Release()
		table.Release()
		if seen != batches*perBatch {
			fail("%d rows, expected %d", seen, batches*perBatch)
		}
		if err := shmpipe.Unpublish(name); err != nil {
			return err
		}
		fmt.Printf("ok %d rows\n", seen)
	default:
		fail("no role %q", role)
	}
	return nil
}
