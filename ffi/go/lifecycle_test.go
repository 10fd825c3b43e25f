package shmpipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// seqBatch is batch b of a stream of {seq: int64, label: dictionary}: seq
// counts on from b*rows, label is "L<seq % 7>", indices into one dictionary
// that every batch shares.
func seqBatch(b, rows int, dictionary arrow.Array) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "seq", Type: arrow.PrimitiveTypes.Int64}, {Name: "label", Type: dictType}}, nil)
	seq := array.NewInt64Builder(mem)
	defer seq.Release()
	codes := array.NewInt32Builder(mem)
	defer codes.Release()
	for i := b * rows; i < (b+1)*rows; i++ {
		seq.Append(int64(i))
		codes.Append(int32(i % 7))
	}
	seqs, indices := seq.NewArray(), codes.NewArray()
	defer seqs.Release()
	defer indices.Release()
	labels := array.NewDictionaryArray(dictType, indices, dictionary)
	defer labels.Release()
	return array.NewRecordBatch(schema, []arrow.Array{seqs, labels}, int64(rows))
}

// seqVerdict reads r to the end of the stream: batches, first and last seq,
// and the first fault found ("" if none).
func seqVerdict(r *Reader) (batches int, first, last int64, fault string) {
	reader, err := NewArrowReader(r)
	if err != nil {
		return 0, 0, 0, err.Error()
	}
	defer reader.Close()
	first, last = -1, -1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		batch, err := reader.Read(ctx)
		if err == io.EOF {
			return batches, first, last, fault
		}
		if err != nil {
			return batches, first, last, err.Error()
		}
		seq := batch.Column(0).(*array.Int64)
		label := batch.Column(1).(*array.Dictionary)
		words := label.Dictionary().(*array.String)
		for i := 0; i < seq.Len(); i++ {
			v := seq.Value(i)
			if (last >= 0 && v != last+1) || words.Value(label.GetValueIndex(i)) != fmt.Sprintf("L%d", v%7) {
				fault = fmt.Sprintf("seq %d after %d, label %s", v, last, words.Value(label.GetValueIndex(i)))
			}
			if first < 0 {
				first = v
			}
			last = v
		}
		batches++
		batch.Release()
	}
}

// A reader that attaches after the ring wrapped missed the schema and the
// dictionary: the writer sends both again for it, it skips to them, and the
// reader that was there all along misses nothing.
func TestArrowReaderJoiningMidStreamReadsFromTheNextSchema(t *testing.T) {
	const rows, before, after = 200, 100, 100
	name := uniqueName("late-join")
	w, err := CreateWriter(name, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	words := array.NewStringBuilder(memory.DefaultAllocator)
	for k := 0; k < 7; k++ {
		words.Append(fmt.Sprintf("L%d", k))
	}
	dictionary := words.NewArray()
	defer dictionary.Release()
	words.Release()

	type verdict struct {
		batches     int
		first, last int64
		fault       string
	}
	results := make([]verdict, 2)
	var done sync.WaitGroup
	read := func(i int) {
		r, err := OpenReader(name)
		if err != nil {
			results[i].fault = err.Error()
			done.Done()
			return
		}
		go func() {
			defer done.Done()
			defer r.Close()
			v := &results[i]
			v.batches, v.first, v.last, v.fault = seqVerdict(r)
		}()
	}
	writer := NewArrowWriter(w)
	write := func(from, to int) {
		for b := from; b < to; b++ {
			batch := seqBatch(b, rows, dictionary)
			err := writer.Write(context.Background(), batch)
			batch.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	done.Add(2)
	read(0) // attached before the first batch
	write(0, before)
	read(1) // attached once the ring has wrapped
	write(before, before+after)
	writer.Close()
	done.Wait()
	last := int64((before+after)*rows - 1)
	want := []verdict{{before + after, 0, last, ""}, {after, before * rows, last, ""}}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("early and late reader: %+v, want %+v", results, want)
	}
}

// A table without rows is its schema alone: the reader gets no batch, and
// knows the schema after the end of the stream.
func TestArrowEmptyTableIsItsSchemaAlone(t *testing.T) {
	reader, writer, r := arrowPair(t, 1<<20)
	batch := sampleBatch(0)
	table := array.NewTableFromRecords(batch.Schema(), []arrow.RecordBatch{batch})
	batch.Release()
	defer table.Release()
	counter, err := OpenReader(r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer counter.Close()
	if err := writer.WriteTable(context.Background(), table); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	messages := 0
	for m, err := counter.Recv(context.Background()); err == nil; m, err = counter.Recv(context.Background()) {
		messages++
		m.Release()
	}
	if _, err := reader.Read(context.Background()); err != io.EOF || messages != 1 {
		t.Fatalf("read %v after %d messages, want io.EOF after the schema alone", err, messages)
	}
	if reader.Schema() == nil || !reader.Schema().Equal(table.Schema()) {
		t.Fatalf("schema after the end: %v", reader.Schema())
	}
}

// A creator's Close with records no reader ever attached to read: it waits
// for one (which then reads them all, the name gone), or says what it lost.
// A table that is not there is called a table, and a near name is offered.
func TestAMissingTableIsCalledATable(t *testing.T) {
	name := uniqueName("tables")
	publishFloat(t, name)
	defer Unpublish(name)
	_, err := OpenTable(name + "x")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "No table by that name is published") ||
		!strings.Contains(err.Error(), `Did you mean "`+name+`"?`) || !strings.HasPrefix(err.Error(), "open_table on segment") {
		t.Fatalf("open of a misspelled table: %v", err)
	}
}

func publishFloat(t *testing.T, name string) {
	t.Helper()
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]float64{1, 2, 3}, nil)
	values := b.NewArray()
	defer values.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.PrimitiveTypes.Float64}}, nil)
	batch := array.NewRecordBatch(schema, []arrow.Array{values}, 3)
	defer batch.Release()
	if _, err := Publish(name, array.NewTableFromRecords(schema, []arrow.RecordBatch{batch})); err != nil {
		t.Fatal(err)
	}
}

func TestCloseLingersForAReaderOrTellsWhatWasLost(t *testing.T) {
	ctx := context.Background()
	name := uniqueName("unread")
	w, err := CreateWriter(name, 4096, WithLinger(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		if err := w.Send(ctx, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	drainCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := w.Drain(drainCtx); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "3 records (384 bytes) were still unread when the wait ended: no reader has opened the channel yet") {
		t.Fatalf("drain: %v", err)
	}
	start := time.Now()
	err = w.Close()
	if !errors.Is(err, ErrUnread) || !strings.Contains(err.Error(), "3 records (384 bytes) written to it were never read") || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("close after %v: %v", time.Since(start), err)
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the name: %v", err)
	}

	// A reader that comes while Close lingers holds the records.
	name = uniqueName("linger")
	if w, err = CreateWriter(name, 4096); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		w.Send(ctx, []byte(text))
	}
	got := make(chan string, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		r, err := OpenReader(name)
		if err != nil {
			got <- err.Error()
			return
		}
		defer r.Close()
		var texts []string
		for m, err := r.Recv(ctx); err == nil; m, err = r.Recv(ctx) {
			texts = append(texts, string(m.Bytes))
			m.Release()
		}
		got <- strings.Join(texts, ",")
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if texts := <-got; texts != "one,two,three" {
		t.Fatalf("the late reader read %q", texts)
	}
}

func publishPersistent(name string) {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1, 2, 3}, nil)
	values := b.NewArray()
	schema := arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.PrimitiveTypes.Float64}}, nil)
	batch := array.NewRecordBatch(schema, []arrow.Array{values}, 3)
	table := array.NewTableFromRecords(schema, []arrow.RecordBatch{batch})
	if _, err := Publish(name, table, Persist()); err != nil {
		panic(err)
	}
	fmt.Println("published")
}

// A table published with Persist() outlives its publisher's process, until
// some process unpublishes it by name.
func TestPersistentTableOutlivesItsPublisher(t *testing.T) {
	name := uniqueName("persist")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD=persistent-publisher", "SHMPIPE_TEST_CHANNEL="+name)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "published\n" {
		t.Fatalf("publisher: %v, %q", err, out)
	}
	defer Unpublish(name) // if the test fails half-way
	table, err := OpenTable(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Column(0).Data().Chunk(0).(*array.Float64).Float64Values(); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("values %v", got)
	}
	table.Release()
	if err := Unpublish(name); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTable(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after unpublish: %v", err)
	}
	r, err := CreateReader(name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Unpublish(name); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a published table") {
		t.Fatalf("unpublishing a channel: %v", err)
	}
}
