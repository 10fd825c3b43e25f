package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

func publishIDs(t *testing.T, name string, first int64) *shmpipe.PublishedTable {
	t.Helper()
	// ids first, first+1, ...: the same size and schema whatever first is
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := int64(0); i < 1000; i++ {
		b.Append(first + i)
	}
	column := b.NewArray()
	defer column.Release()
	batch := array.NewRecordBatch(schema, []arrow.Array{column}, 1000)
	defer batch.Release()
	table := array.NewTableFromRecords(schema, []arrow.RecordBatch{batch})
	defer table.Release()
	published, err := shmpipe.Publish(name, table)
	if err != nil {
		t.Fatal(err)
	}
	return published
}

// firstID opens name as a DoGet does and gives its first id.
func firstID(t *testing.T, name string) int64 {
	t.Helper()
	src, _, err := openSource(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Release()
	if !src.Next() {
		t.Fatalf("%s: no batch", name)
	}
	return src.RecordBatch().Column(0).(*array.Int64).Value(0)
}

// A table kept open between DoGets is the one the name names: published
// again under the same name, by the same process, with the same size, the
// next DoGet serves the new one; unpublished, it is not found; unused, it
// is let go.
func TestOpenTablesFollowTheName(t *testing.T) {
	defer func(saved time.Duration) { keepOpen = saved }(keepOpen)
	keepOpen = 300 * time.Millisecond
	name := fmt.Sprintf("flight-test-tables-%d", os.Getpid())
	first := publishIDs(t, name, 100)
	if got := firstID(t, name); got != 100 {
		t.Fatalf("first id %d, want 100", got)
	}
	if got := firstID(t, name); got != 100 {
		t.Fatalf("again: first id %d, want 100", got)
	}
	first.Unpublish()
	if _, _, err := openSource(t.Context(), name); err == nil {
		t.Fatal("an unpublished table was still served")
	}
	second := publishIDs(t, name, 200)
	defer second.Unpublish()
	if got := firstID(t, name); got != 200 {
		t.Fatalf("published again: first id %d, want 200 (the table kept open was served)", got)
	}
	kept := func() bool {
		tables.mu.Lock()
		defer tables.mu.Unlock()
		return tables.tables[name] != nil
	}
	if !kept() {
		t.Fatal("the table was not kept open")
	}
	time.Sleep(3 * keepOpen)
	if kept() {
		t.Fatalf("the table is still open after %v unused", 3*keepOpen)
	}
}
