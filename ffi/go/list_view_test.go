package shmpipe

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// listViewBatch has list_view and large_list_view columns with nulls, of
// numbers, of strings, nested, and one whose views are out of order and
// overlap (what a list array cannot say).
func listViewBatch(rows int) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "list_view", Type: arrow.ListViewOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "large_list_view", Type: arrow.LargeListViewOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "strings", Type: arrow.ListViewOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "nested", Type: arrow.LargeListViewOf(arrow.ListViewOf(arrow.PrimitiveTypes.Int16)), Nullable: true},
		{Name: "shared", Type: arrow.ListViewOf(arrow.PrimitiveTypes.Int8), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	lv := b.Field(0).(*array.ListViewBuilder)
	llv := b.Field(1).(*array.LargeListViewBuilder)
	strs := b.Field(2).(*array.ListViewBuilder)
	nested := b.Field(3).(*array.LargeListViewBuilder)
	shared := b.Field(4).(*array.ListViewBuilder)
	sharedOffsets, sharedSizes, sharedValid := make([]int32, rows), make([]int32, rows), make([]bool, rows)
	for i := 0; i < rows; i++ {
		if i%5 == 3 {
			lv.AppendNull()
			llv.AppendNull()
			strs.AppendNull()
			nested.AppendNull()
		} else {
			lv.AppendWithSize(true, i%4)
			llv.AppendWithSize(true, i%4)
			for k := 0; k < i%4; k++ {
				lv.ValueBuilder().(*array.Int32Builder).Append(int32(i + k))
				llv.ValueBuilder().(*array.Int64Builder).Append(int64(i+k) << 33)
			}
			strs.AppendWithSize(true, i%3)
			for k := 0; k < i%3; k++ {
				strs.ValueBuilder().(*array.StringBuilder).Append(strings.Repeat("é", k) + "s")
			}
			nested.AppendWithSize(true, i%3)
			inner := nested.ValueBuilder().(*array.ListViewBuilder)
			for k := 0; k < i%3; k++ {
				inner.AppendWithSize(true, 2)
				inner.ValueBuilder().(*array.Int16Builder).AppendValues([]int16{int16(i), int16(-k)}, nil)
			}
		}
		sharedOffsets[i], sharedSizes[i], sharedValid[i] = int32(4-i%5), int32(i%3), i%4 != 1
	}
	shared.AppendValuesWithSizes(sharedOffsets, sharedSizes, sharedValid)
	shared.ValueBuilder().(*array.Int8Builder).AppendValues([]int8{0, 1, 2, 3, 4, 5, 6}, nil)
	return b.NewRecordBatch()
}

func TestListViewsRoundTrip(t *testing.T) {
	reader, writer, _ := arrowPair(t, 4<<20)
	ctx := context.Background()
	// No slice of a batch: arrow-go v18.8.0's IPC writer fails on a sliced
	// list view ("index out of range"). TestListViewsFromPyarrow reads
	// pyarrow's slices.
	whole, short := listViewBatch(29), listViewBatch(7)
	defer whole.Release()
	defer short.Release()
	empty := whole.NewSlice(0, 0)
	defer empty.Release()
	sent := []arrow.RecordBatch{whole, short, empty}
	for _, batch := range sent {
		if err := writer.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range sent {
		got, err := reader.Read(ctx)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if !array.RecordEqual(got, want) {
			t.Fatalf("batch %d differs:\n%v\nwant\n%v", i, got, want)
		}
		got.Release()
	}
}

// pyarrow writes list views into a channel; arrow-go reads them equal to
// what pyarrow says they hold (ffi/python/tests/list_view_tables.py).
func TestListViewsFromPyarrow(t *testing.T) {
	python, err := filepath.Abs("../../.venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the project's Python (%s) is missing: run `npm run setup` first", python)
	}
	name := uniqueName("py-list-views")
	r, err := CreateReader(name, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reader, err := NewArrowReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "../python/tests/list_view_tables.py", name)
	cmd.Env = append(os.Environ(), "PYTHONPATH=../python:../python/tests")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var received [][]byte // each batch's columns as JSON, as arrow-go marshals them
	for {
		batch, err := reader.Read(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("batch %d: %v (python: %s)", len(received), err, stderr.String())
		}
		columns := map[string]json.RawMessage{}
		for i, field := range batch.Schema().Fields() {
			text, err := batch.Column(i).(json.Marshaler).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			columns[field.Name] = text
		}
		text, _ := json.Marshal(map[string]any{"rows": batch.NumRows(), "columns": columns})
		received = append(received, text)
		batch.Release()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("python: %v: %s", err, stderr.String())
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(line), &sent); err != nil {
		t.Fatalf("python's account %q: %v", line, err)
	}
	labels := []string{"whole", "sliced", "empty"}
	if len(received) != len(labels) {
		t.Fatalf("%d batches, want %d", len(received), len(labels))
	}
	for i, label := range labels {
		var got any
		if err := json.Unmarshal(received[i], &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, sent[label]) {
			t.Fatalf("%s: arrow-go read\n%v\npyarrow sent\n%v", label, got, sent[label])
		}
	}
}

func int32s(values ...int32) []byte {
	out := make([]byte, 0, 4*len(values))
	for _, v := range values {
		out = binary.LittleEndian.AppendUint32(out, uint32(v))
	}
	return out
}

// arrow-go reads list views unchecked: a view past its child would make it
// read out of bounds. The core refuses it, with a sentence naming the field.
func TestListViewsOutsideTheirChildAreRefused(t *testing.T) {
	b := array.NewListViewBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int32)
	b.AppendValuesWithSizes([]int32{0, 1, 2}, []int32{1, 1, 2}, []bool{true, true, true})
	b.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{10, 20, 30, 40}, nil)
	column := b.NewArray()
	b.Release()
	defer column.Release()
	batch := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: column.DataType()}}, nil), []arrow.Array{column}, 3)
	defer batch.Release()
	// The offsets and the sizes buffers, the second 64 bytes after the first
	// (the writers' layout).
	views := func(offsets, sizes []int32) []byte {
		out := int32s(offsets...)
		return append(append(out, make([]byte, 64-len(out))...), int32s(sizes...)...)
	}
	got, _, _ := refusesPatched(t, batch, views([]int32{0, 1, 2}, []int32{1, 1, 2}), []patch{
		{views([]int32{0, 1, 2}, []int32{1, 1, 9}), `Field "v" has a list view at row 2 of 9 values from offset 2, past the 4 child values there are`},
		{views([]int32{0, 1, 2}, []int32{1, -1, 2}), `Field "v" has a list view of size -1 at row 1`},
		{views([]int32{0, -3, 2}, []int32{1, 1, 2}), `Field "v" has a list view at row 1 starting at offset -3`},
	})
	if !array.RecordEqual(got, batch) {
		t.Fatal("the good batch after the refused ones differs from the batch sent")
	}
}
