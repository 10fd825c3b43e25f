package shmpipe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sampleBatch has a column of every kind a user is likely to send, with
// nulls.
func sampleBatch(rows int) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "u16", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "large_text", Type: arrow.BinaryTypes.LargeString},
		{Name: "bytes", Type: arrow.BinaryTypes.Binary},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Zurich"}},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "point", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Float64}, arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Float64})},
		{Name: "symbol", Type: dictType},
		{Name: "id", Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		null := i%7 == 3
		appendOrNull(b.Field(0), null, func() { b.Field(0).(*array.Int8Builder).Append(int8(i)) })
		appendOrNull(b.Field(1), null, func() { b.Field(1).(*array.Int32Builder).Append(int32(i * 1000)) })
		b.Field(2).(*array.Int64Builder).Append(int64(i) << 40)
		b.Field(3).(*array.Uint16Builder).Append(uint16(i))
		b.Field(4).(*array.Float32Builder).Append(float32(i) / 3)
		appendOrNull(b.Field(5), null, func() { b.Field(5).(*array.Float64Builder).Append(float64(i) * 1.5) })
		appendOrNull(b.Field(6), null, func() { b.Field(6).(*array.BooleanBuilder).Append(i%2 == 0) })
		appendOrNull(b.Field(7), null, func() { b.Field(7).(*array.StringBuilder).Append("row " + strconv.Itoa(i)) })
		b.Field(8).(*array.LargeStringBuilder).Append(strings.Repeat("é", i%5))
		b.Field(9).(*array.BinaryBuilder).Append([]byte{byte(i), 0, 255})
		b.Field(10).(*array.Date32Builder).Append(arrow.Date32(19000 + i))
		b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)))
		b.Field(12).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i) * 12345))
		tags := b.Field(13).(*array.ListBuilder)
		if null {
			tags.AppendNull()
		} else {
			tags.Append(true)
			for k := 0; k < i%3; k++ {
				tags.ValueBuilder().(*array.Int32Builder).Append(int32(k))
			}
		}
		point := b.Field(14).(*array.StructBuilder)
		point.Append(true)
		point.FieldBuilder(0).(*array.Float64Builder).Append(float64(i))
		point.FieldBuilder(1).(*array.Float64Builder).Append(-float64(i))
		b.Field(15).(*array.BinaryDictionaryBuilder).AppendString([]string{"AAPL", "MSFT", "SHMP"}[i%3])
		b.Field(16).(*array.FixedSizeBinaryBuilder).Append([]byte{1, 2, 3, byte(i)})
	}
	return b.NewRecordBatch()
}

func appendOrNull(b array.Builder, null bool, value func()) {
	if null {
		b.AppendNull()
	} else {
		value()
	}
}

func arrowPair(t *testing.T, capacity int) (*ArrowReader, *ArrowWriter, *Reader) {
	t.Helper()
	r, w := pair(t, capacity)
	reader, err := NewArrowReader(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	return reader, NewArrowWriter(w), r
}

// mappedRange is where this process maps a channel's segment (a reader's
// mapping is two regions: the header read-write, the records read-only).
func mappedRange(t *testing.T, name string) (uintptr, uintptr) {
	t.Helper()
	maps, _ := os.ReadFile("/proc/self/maps")
	var first, last uint64
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.HasSuffix(line, "/dev/shm/shmpipe."+name) {
			bounds := strings.Split(strings.Fields(line)[0], "-")
			start, _ := strconv.ParseUint(bounds[0], 16, 64)
			end, _ := strconv.ParseUint(bounds[1], 16, 64)
			if first == 0 || start < first {
				first = start
			}
			last = max(last, end)
		}
	}
	if first == 0 {
		t.Fatalf("no mapping of %s", name)
	}
	return uintptr(first), uintptr(last)
}

func TestArrowBatchesRoundTripInPlace(t *testing.T) {
	reader, writer, r := arrowPair(t, 4<<20)
	ctx := context.Background()
	sent := []arrow.RecordBatch{sampleBatch(100), sampleBatch(0), sampleBatch(37)}
	for _, batch := range sent {
		defer batch.Release()
		if err := writer.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	writer.Close()
	start, end := mappedRange(t, r.Name())
	for i, want := range sent {
		got, err := reader.Read(ctx)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if !array.RecordEqual(got, want) {
			t.Fatalf("batch %d differs:\n%v\nwant\n%v", i, got, want)
		}
		if want.NumRows() > 0 {
			values := got.Column(5).Data().Buffers()[1].Bytes()
			address := uintptr(unsafe.Pointer(&values[0]))
			if address < start || address >= end || address%8 != 0 {
				t.Fatalf("float64 values at %#x: not an 8-byte aligned view of the mapping [%#x, %#x)", address, start, end)
			}
		}
		got.Release()
	}
	if _, err := reader.Read(ctx); err != io.EOF {
		t.Fatalf("after the last batch: %v", err)
	}
}

func TestArrowSchemaChangeStartsANewStream(t *testing.T) {
	reader, writer, _ := arrowPair(t, 1<<20)
	ctx := context.Background()
	first, second := sampleBatch(5), sampleBatch(3)
	defer first.Release()
	defer second.Release()
	other := array.NewRecordBatch(arrow.NewSchema(second.Schema().Fields()[1:3], nil), second.Columns()[1:3], 3)
	defer other.Release()
	for _, batch := range []arrow.RecordBatch{first, other, first} {
		if err := writer.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	writer.Close()
	for i, want := range []arrow.RecordBatch{first, other, first} {
		got, err := reader.Read(ctx)
		if err != nil || !array.RecordEqual(got, want) {
			t.Fatalf("batch %d: %v", i, err)
		}
		got.Release()
	}
	if _, err := reader.Read(ctx); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// A batch's record stays in the ring until the batch and its arrays are
// released; then the writer may reuse it.
func TestArrowBatchHoldsItsRecord(t *testing.T) {
	reader, writer, _ := arrowPair(t, 64<<10)
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	b := array.NewFloat64Builder(mem)
	b.AppendValues(make([]float64, 3000), nil) // 24 KB: two fit in the ring, three do not
	column := b.NewArray()
	batch := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{column}, 3000)
	defer batch.Release()
	for i := 0; i < 2; i++ {
		if err := writer.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := reader.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := got.Column(0)
	kept.Retain()
	got.Release()
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := writer.Write(short, batch); !errors.Is(err, ErrTimeout) {
		t.Fatalf("write while an array of the first batch is kept: %v", err)
	}
	kept.Release()
	if err := writer.Write(ctx, batch); err != nil {
		t.Fatalf("write after the last reference went: %v", err)
	}
}

// Reading a 100 MB batch allocates next to nothing: its buffers are the
// shared memory.
func TestArrowReadOf100MBCopiesNothing(t *testing.T) {
	reader, writer, _ := arrowPair(t, 120<<20)
	ctx := context.Background()
	values := make([]float64, 100<<20/8)
	for i := range values {
		values[i] = float64(i)
	}
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(values, nil)
	column := b.NewArray()
	batch := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{column}, int64(len(values)))
	column.Release()
	defer batch.Release()
	if err := writer.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := reader.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	defer got.Release()
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Fatalf("reading a 100 MB batch allocated %d bytes", allocated)
	}
	read := got.Column(0).(*array.Float64).Float64Values()
	if read[len(read)-1] != float64(len(values)-1) || read[12345] != 12345 {
		t.Fatal("wrong values")
	}
}

func TestArrowRefusedMessageLeavesTheStreamReadable(t *testing.T) {
	reader, writer, _ := arrowPair(t, 1<<20)
	ctx := context.Background()
	batch := sampleBatch(10)
	defer batch.Release()
	if err := writer.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := writer.w.Send(ctx, []byte("not an arrow message at all")); err != nil {
		t.Fatal(err)
	}
	if err := writer.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	first, err := reader.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first.Release()
	if _, err := reader.Read(ctx); !errors.Is(err, ErrArrow) || !strings.Contains(err.Error(), "continuation marker") {
		t.Fatalf("garbage: %v", err)
	}
	again, err := reader.Read(ctx)
	if err != nil || !array.RecordEqual(again, batch) {
		t.Fatalf("the batch after the refused message: %v", err)
	}
	again.Release()
}

func TestPublishedTableOpensInPlace(t *testing.T) {
	name := uniqueName("table")
	batches := []arrow.RecordBatch{sampleBatch(20), sampleBatch(30)}
	table := array.NewTableFromRecords(batches[0].Schema(), batches)
	defer table.Release()
	published, err := Publish(name, table)
	if err != nil {
		t.Fatal(err)
	}
	if published.OwnerPid != os.Getpid() {
		t.Fatalf("owner %d", published.OwnerPid)
	}
	opened, err := OpenTable(name)
	if err != nil {
		t.Fatal(err)
	}
	published.Unpublish() // the opened table stays valid
	defer opened.Release()
	if !array.TableEqual(opened, table) {
		t.Fatal("the opened table differs from the published one")
	}
	if _, err := OpenTable(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after unpublish: %v", err)
	}
}

// Publish writes through the table's file (shmp_table_create; 20,000
// rows: columns of 80 and 160 KB go through the core) and the core
// closes it when the table is sealed: no descriptor stays open.
func TestPublishKeepsNoFileOpen(t *testing.T) {
	openFiles := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	batch := sampleBatch(20_000)
	defer batch.Release()
	table := array.NewTableFromRecords(batch.Schema(), []arrow.RecordBatch{batch})
	defer table.Release()
	before := openFiles()
	published, err := Publish(uniqueName("table-file"), table)
	if err != nil {
		t.Fatal(err)
	}
	defer published.Unpublish()
	if after := openFiles(); after != before {
		t.Fatalf("%d descriptors open before Publish, %d after", before, after)
	}
	opened, err := OpenTable(published.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Release()
	if !array.TableEqual(opened, table) {
		t.Fatal("the opened table differs from the published one")
	}
}

// rawMessages is what an ArrowWriter puts into records for batch: the
// schema's and the batch's messages, as bytes.
func rawMessages(t *testing.T, batch arrow.RecordBatch) [][]byte {
	t.Helper()
	return streamMessages(t, batch)
}

func offsets(values ...int32) []byte {
	out := make([]byte, 0, 4*len(values))
	for _, v := range values {
		out = append(out, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return out
}

// arrow-go trusts offsets: a batch whose string offsets point past its
// data would crash the reader. The core refuses it before arrow-go sees it.
func TestArrowOffsetsOutsideTheirDataAreRefused(t *testing.T) {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.AppendValues([]string{"x", "yy", "z"}, nil)
	column := b.NewArray()
	defer column.Release()
	batch := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{column}, 3)
	defer batch.Release()
	got, messages, at := refusesPatched(t, batch, offsets(0, 1, 3, 4), []patch{
		{offsets(0, 1, 3, 1000), "ends at offset 1000, past the"},
		{offsets(0, 1, 0, 4), "go back from 1 to 0"},
	})
	if got.Column(0).(*array.String).Value(1) != "yy" {
		t.Fatalf("the good batch after the refused ones: %v", got)
	}

	// A reader that trusts its writer skips that check (not the metadata's).
	r, w := pair(t, 1<<20)
	trusting, err := NewArrowReader(r, TrustValues())
	if err != nil {
		t.Fatal(err)
	}
	defer trusting.Close()
	patched := append([]byte(nil), messages[1]...)
	copy(patched[at:], offsets(0, 1, 0, 4))
	for _, message := range [][]byte{messages[0], patched} {
		if err := w.Send(context.Background(), message); err != nil {
			t.Fatal(err)
		}
	}
	unchecked, err := trusting.Read(context.Background())
	if err != nil {
		t.Fatalf("a trusting reader: %v", err)
	}
	unchecked.Release()
}

// A message no reader could read is the writer's error, and the writer goes
// on with the next batch.
func TestArrowWriterRefusesWhatNoReaderCouldRead(t *testing.T) {
	reader, writer, _ := arrowPair(t, 1<<20)
	ctx := context.Background()
	var deep arrow.DataType = arrow.PrimitiveTypes.Int32
	for i := 0; i < 65; i++ { // readers refuse schemas nested more than 64 deep
		deep = arrow.ListOf(deep)
	}
	column := array.MakeArrayOfNull(memory.DefaultAllocator, deep, 1)
	defer column.Release()
	unreadable := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: deep, Nullable: true}}, nil), []arrow.Array{column}, 1)
	defer unreadable.Release()
	if err := writer.Write(ctx, unreadable); !errors.Is(err, ErrArrow) || err.(*Error).Op != "send" ||
		!strings.Contains(err.Error(), "nested more than 64 levels deep") {
		t.Fatalf("a schema nested 65 deep: %v", err)
	}
	good := sampleBatch(4)
	defer good.Release()
	if err := writer.Write(ctx, good); err != nil {
		t.Fatalf("the next batch: %v", err)
	}
	got, err := reader.Read(ctx)
	if err != nil || !array.RecordEqual(got, good) {
		t.Fatalf("the reader: %v", err)
	}
	got.Release()
}

// patch is bytes written over a message's, and what the reader must say of it.
type patch struct {
	bytes []byte
	why   string
}

// refusesPatched sends batch's schema, then its batch message with each
// patch written in turn over the bytes good: the reader must refuse each
// with ErrArrow saying why. Then it sends the message unpatched and returns
// the batch as read, the raw messages and where good lies in messages[1].
func refusesPatched(t *testing.T, batch arrow.RecordBatch, good []byte, patches []patch) (arrow.RecordBatch, [][]byte, int) {
	t.Helper()
	messages := rawMessages(t, batch)
	reader, writer, _ := arrowPair(t, 1<<20)
	ctx := context.Background()
	if err := writer.w.Send(ctx, messages[0]); err != nil {
		t.Fatal(err)
	}
	at := strings.LastIndex(string(messages[1]), string(good))
	if at < 0 {
		t.Fatal("the bytes to patch are not in the message")
	}
	for _, p := range patches {
		patched := append([]byte(nil), messages[1]...)
		copy(patched[at:], p.bytes)
		if err := writer.w.Send(ctx, patched); err != nil {
			t.Fatal(err)
		}
		if _, err := reader.Read(ctx); !errors.Is(err, ErrArrow) || !strings.Contains(err.Error(), p.why) {
			t.Fatalf("%q: %v", p.why, err)
		}
	}
	if err := writer.w.Send(ctx, messages[1]); err != nil {
		t.Fatal(err)
	}
	got, err := reader.Read(ctx)
	if err != nil {
		t.Fatalf("the good batch after the refused ones: %v", err)
	}
	t.Cleanup(got.Release)
	return got, messages, at
}

// symbolBatch is one dictionary-encoded column of strings.
func symbolBatch(symbols ...string) arrow.RecordBatch {
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "symbol", Type: dictType}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, symbol := range symbols {
		b.Field(0).(*array.BinaryDictionaryBuilder).AppendString(symbol)
	}
	return b.NewRecordBatch()
}

// streamMessages is what an ArrowWriter sends for batches, one message each.
func streamMessages(t *testing.T, batches ...arrow.RecordBatch) [][]byte {
	t.Helper()
	r, w := pair(t, 1<<20)
	writer := NewArrowWriter(w)
	for _, batch := range batches {
		if err := writer.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var messages [][]byte
	for {
		m, err := r.Recv(context.Background())
		if err == io.EOF {
			return messages
		}
		if err != nil {
			t.Fatal(err)
		}
		messages = append(messages, m.Copy())
		m.Release()
	}
}

func symbols(batch arrow.RecordBatch) []string {
	column := batch.Column(0).(*array.Dictionary)
	values := column.Dictionary().(*array.String)
	var out []string
	for i := 0; i < column.Len(); i++ {
		out = append(out, values.Value(column.GetValueIndex(i)))
	}
	return out
}

// A delta for a dictionary never sent is refused (arrow-go cannot add to
// nothing), naming the channel; the next schema starts a readable stream.
func TestArrowDeltaForAnUnknownDictionaryLeavesTheNextStreamReadable(t *testing.T) {
	first, grown := symbolBatch("a", "b"), symbolBatch("a", "b", "c")
	defer first.Release()
	defer grown.Release()
	sent := streamMessages(t, first, grown) // schema, dictionary, batch, delta, batch
	if len(sent) != 5 {
		t.Fatalf("%d messages", len(sent))
	}
	schema, dictionary, batch, delta := sent[0], sent[1], sent[2], sent[3]
	reader, writer, r := arrowPair(t, 1<<20)
	ctx := context.Background()
	for _, message := range [][]byte{schema, delta, schema, dictionary, batch, batch} {
		if err := writer.w.Send(ctx, message); err != nil {
			t.Fatal(err)
		}
	}
	_, err := reader.Read(ctx)
	var refused *Error
	if !errors.As(err, &refused) || !errors.Is(err, ErrArrow) || refused.Segment != r.Name() ||
		!strings.Contains(err.Error(), r.Name()) || !strings.Contains(err.Error(), "delta") {
		t.Fatalf("the delta for a dictionary never sent: %v", err)
	}
	for i := 0; i < 2; i++ {
		got, err := reader.Read(ctx)
		if err != nil {
			t.Fatalf("batch %d of the next stream: %v", i, err)
		}
		if fmt.Sprint(symbols(got)) != "[a b]" {
			t.Fatalf("batch %d: %v", i, symbols(got))
		}
		got.Release()
	}
}

// flatbuffer reads the few fields of an Arrow Message this package's tests
// look at, with no help from the core or arrow-go (an independent reading).
type flatbuffer []byte

func (f flatbuffer) u16(at int) int { return int(f[at]) | int(f[at+1])<<8 }
func (f flatbuffer) u32(at int) int {
	return int(uint32(f[at]) | uint32(f[at+1])<<8 | uint32(f[at+2])<<16 | uint32(f[at+3])<<24)
}
func (f flatbuffer) i64(at int) int64 {
	return int64(uint64(f.u32(at)) | uint64(f.u32(at+4))<<32)
}

// field is the position of table's field id, or 0 if absent.
func (f flatbuffer) field(table, id int) int {
	vtable := table - int(int32(f.u32(table)))
	if slot := 4 + 2*id; slot < f.u16(vtable) {
		if off := f.u16(vtable + slot); off != 0 {
			return table + off
		}
	}
	return 0
}

// sub is the table (or vector) an offset field points to.
func (f flatbuffer) sub(table, id int) int {
	at := f.field(table, id)
	return at + f.u32(at)
}

// bufferOffsets are the body offsets of a batch or dictionary message's
// buffers, its body length, and its kind (2 dictionary, 3 batch).
func bufferOffsets(meta flatbuffer) (offsets []int64, bodyLength int64, kind int) {
	root := meta.u32(0)
	kind = int(meta[meta.field(root, 1)])
	header := meta.sub(root, 2)
	bodyLength = meta.i64(meta.field(root, 3))
	batch := header
	if kind == 2 {
		batch = meta.sub(header, 1)
	}
	vector := meta.sub(batch, 2)
	for i := 0; i < meta.u32(vector); i++ {
		offsets = append(offsets, meta.i64(vector+4+16*i))
	}
	return offsets, bodyLength, kind
}

// shmpipe.h promises that writers lay every Arrow buffer at a 64-byte
// boundary (arrow-go pads them to 8 only): each buffer of every message the
// ArrowWriter sends starts at a multiple of 64 in shared memory.
func TestArrowWriterLaysBuffersAt64ByteBoundaries(t *testing.T) {
	r, w := pair(t, 1<<20)
	ctx := context.Background()
	batch := sampleBatch(11) // odd lengths: bitmaps of 2 bytes, int8 values of 11, ...
	defer batch.Release()
	if err := NewArrowWriter(w).Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var kinds []int
	for {
		m, err := r.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		record := m.Bytes
		metaLength := int(flatbuffer(record).u32(4))
		body := 8 + metaLength
		if addr := uintptr(unsafe.Pointer(&record[0])); addr%64 != 0 || body%64 != 0 {
			t.Fatalf("record at %#x, body %d bytes in", addr, body)
		}
		if meta := flatbuffer(record[8:]); meta[meta.field(meta.u32(0), 1)] == 1 { // the schema: no body
			kinds = append(kinds, 1)
			m.Release()
			continue
		}
		offsets, bodyLength, kind := bufferOffsets(flatbuffer(record[8 : 8+metaLength]))
		kinds = append(kinds, kind)
		if len(offsets) < 2 || body+int(bodyLength) != len(record) {
			t.Fatalf("kind %d: %d buffers, body of %d bytes in a record of %d", kind, len(offsets), bodyLength, len(record))
		}
		for i, offset := range offsets {
			if offset%64 != 0 {
				t.Fatalf("kind %d: buffer %d at offset %d of the body (offsets %v)", kind, i, offset, offsets)
			}
		}
		m.Release()
	}
	if fmt.Sprint(kinds) != "[1 2 3]" {
		t.Fatalf("messages of kinds %v", kinds)
	}
}

// encodedMessages is an Arrow IPC stream as arrow-go writes it (buffers
// padded to 8), split into its messages' metadata and bodies.
func encodedMessages(t *testing.T, batches ...arrow.RecordBatch) (metas, bodies [][]byte) {
	t.Helper()
	var stream bytes.Buffer
	w := ipc.NewWriter(&stream, ipc.WithSchema(batches[0].Schema()))
	for _, batch := range batches {
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	b := stream.Bytes()
	for {
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n == 0 {
			return metas, bodies
		}
		meta := b[8 : 8+n]
		message := ipc.NewMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(nil))
		length := int(message.BodyLen())
		message.Release()
		metas, bodies = append(metas, meta), append(bodies, b[8+n:8+n+length])
		b = b[8+n+length:]
	}
}

// Messages another Arrow library encoded go into the channel as they are,
// laid out and checked by the core; a reader that joins mid-stream gets the
// schema and the dictionary again before the next batch; metadata that is
// not Arrow is refused.
func TestMessageWriterSendsEncodedMessages(t *testing.T) {
	metas, bodies := encodedMessages(t, symbolBatch("A", "B", "A"), symbolBatch("A", "B"))
	if len(metas) != 4 { // schema, dictionary, two batches
		t.Fatalf("%d messages", len(metas))
	}
	ctx := context.Background()
	first, w := pair(t, 1<<16)
	firstArrow, err := NewArrowReader(first)
	if err != nil {
		t.Fatal(err)
	}
	defer firstArrow.Close()
	m := NewMessageWriter(w)
	write := func(i int) {
		t.Helper()
		if err := m.Write(ctx, metas[i], len(bodies[i]), bytes.NewReader(bodies[i])); err != nil {
			t.Fatal(err)
		}
	}
	read := func(a *ArrowReader, want ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		batch, err := a.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer batch.Release()
		if got := symbols(batch); !slices.Equal(got, want) {
			t.Fatalf("read %v, want %v", got, want)
		}
	}
	for i := 0; i < 3; i++ {
		write(i)
	}
	read(firstArrow, "A", "B", "A")
	// Round the ring once, so that a reader who comes now starts mid-stream.
	for i := 0; i < 300; i++ {
		write(2)
		read(firstArrow, "A", "B", "A")
	}
	late, err := OpenReader(w.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	lateArrow, err := NewArrowReader(late)
	if err != nil {
		t.Fatal(err)
	}
	defer lateArrow.Close()
	write(3)
	read(firstArrow, "A", "B")
	read(lateArrow, "A", "B") // after the schema and the dictionary, sent again for it
	// A body that ends early: nothing is published, and the stream goes on.
	if err := m.Write(ctx, metas[3], len(bodies[3]), bytes.NewReader(bodies[3][:4])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short body: %v", err)
	}
	write(3)
	read(firstArrow, "A", "B")
	read(lateArrow, "A", "B")
	if err := m.Write(ctx, []byte{1, 2, 3, 4}, 0, bytes.NewReader(nil)); !errors.Is(err, ErrArrow) {
		t.Fatalf("metadata that is not Arrow: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := lateArrow.Read(ctx); err != io.EOF {
		t.Fatalf("after close: %v", err)
	}
}
