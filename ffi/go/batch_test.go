package shmpipe

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// batchRecord is record i of the cross-process stream: its length and
// bytes follow from i, so the reader checks every one.
func batchRecord(i int) []byte {
	length := (i * 7919) % 300
	if i%997 == 0 {
		length = 20000 + i%5000 // larger ones: a batch then waits for room part-way
	}
	record := make([]byte, length)
	for k := range record {
		record[k] = byte(i + k*31)
	}
	return record
}

const batchStreamRecords = 200000

// sendBatches is the child of TestBatchesAcrossProcesses: the stream in
// batches of 1 to 300 records.
func sendBatches(name string) {
	w, err := OpenWriter(name)
	if err != nil {
		panic(err)
	}
	defer w.Close()
	for i := 0; i < batchStreamRecords; {
		n := min(1+(i*131)%300, batchStreamRecords-i)
		batch := make([][]byte, n)
		for k := range batch {
			batch[k] = batchRecord(i + k)
		}
		if sent, err := w.SendBatch(context.Background(), batch); err != nil || sent != n {
			panic(err)
		}
		i += n
	}
}

func TestSendBatchAndRecvBatch(t *testing.T) {
	r, w := pair(t, 1<<16)
	ctx := context.Background()
	if n, err := w.SendBatch(ctx, [][]byte{[]byte("hello"), nil, []byte("world")}); n != 3 || err != nil {
		t.Fatalf("SendBatch: %d, %v", n, err)
	}
	if err := w.Send(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if n, err := w.SendBatch(ctx, nil); n != 0 || err != nil {
		t.Fatalf("an empty batch: %d, %v", n, err)
	}
	first, err := r.RecvBatch(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.RecvBatch(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range []*Batch{first, second} {
		for _, record := range b.Records {
			got = append(got, string(record))
		}
	}
	if strings.Join(got, ",") != "hello,,world,one" || len(first.Records) != 2 {
		t.Fatalf("records %q, first batch %d", got, len(first.Records))
	}
	// Batches are leases like messages: released in any order.
	second.Release()
	first.Release()
	first.Release() // twice: nothing
	if _, err := r.RecvBatch(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a batch of 0: %v", err)
	}
	w.Close()
	if _, err := r.RecvBatch(ctx, 10); err != io.EOF {
		t.Fatalf("after close: %v, want io.EOF", err)
	}
}

func TestBatchHoldsItsSpaceAndSaysHowFarItGot(t *testing.T) {
	r, w := pair(t, 4096) // 21 records of 100 B
	ctx := context.Background()
	records := make([][]byte, 30)
	for i := range records {
		records[i] = make([]byte, 100)
		records[i][0] = byte(i)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	n, err := w.SendBatch(short, records)
	// How many went is n, and the core's sentence says it too.
	if n != 21 || !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "21 of the batch's 30 records were sent") {
		t.Fatalf("a batch larger than the ring: %d, %v", n, err)
	}
	b, err := r.RecvBatch(ctx, 100)
	if err != nil || len(b.Records) != 21 || b.Records[20][0] != 20 {
		t.Fatalf("the records sent: %v", err)
	}
	// The same when ctx's timer fires before the core's own timeout (here
	// by 50 ms, where a real deadline's timer and the core's race by µs):
	// the core's timeout still ends the wait, with its sentence.
	early, cancelEarly := earlyTimer(ctx, 20*time.Millisecond, 50*time.Millisecond)
	defer cancelEarly()
	n, err = w.SendBatch(early, records)
	if n != 0 || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "0 of the batch's 30 records were sent") {
		t.Fatalf("a batch whose ctx's timer fired first: %d, %v", n, err)
	}
	// The batch holds the ring; a release from another goroutine frees it
	// while the writer waits.
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.Release()
	}()
	if n, err := w.SendBatch(ctx, records[21:]); n != 9 || err != nil {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	if b, err := r.RecvBatch(ctx, 100); err != nil || len(b.Records) != 9 || b.Records[0][0] != 21 {
		t.Fatalf("the rest received: %v", err)
	}
	// A record too large sends nothing of its batch.
	n, err = w.SendBatch(ctx, [][]byte{[]byte("a"), make([]byte, 5000)})
	if n != 0 || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "Record 1 of the batch (5000 bytes)") {
		t.Fatalf("a record too large: %d, %v", n, err)
	}
}

// earlyTimer is a context whose timer fires `after`, `before` ahead of the
// deadline it reports.
func earlyTimer(parent context.Context, after, before time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, after)
	return early{ctx, time.Now().Add(after + before)}, cancel
}

type early struct {
	context.Context
	deadline time.Time
}

func (e early) Deadline() (time.Time, bool) { return e.deadline, true }

func TestContextAndCloseEndARecvBatch(t *testing.T) {
	r, _ := pair(t, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if _, err := r.RecvBatch(ctx, 10); err != context.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		r.Close()
	}()
	if _, err := r.RecvBatch(context.Background(), 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed meanwhile: %v", err)
	}
}

// A child process sends 200,000 records in batches; this one reads them
// in batches of varying size and checks every byte.
func TestBatchesAcrossProcesses(t *testing.T) {
	name := uniqueName("batches")
	r, err := CreateReader(name, 1<<18)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD=batch-writer", "SHMPIPE_TEST_CHANNEL="+name)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, batches := 0, 0
	for {
		b, err := r.RecvBatch(ctx, 1+batches%200)
		if err == io.EOF {
			break
		}
		if err != nil {
			child.Process.Kill()
			t.Fatal(err)
		}
		batches++
		for _, record := range b.Records {
			if want := batchRecord(got); string(record) != string(want) {
				child.Process.Kill()
				t.Fatalf("record %d: %d bytes, want %d (or its bytes differ)", got, len(record), len(want))
			}
			got++
		}
		b.Release()
	}
	if got != batchStreamRecords || batches >= got/2 {
		t.Fatalf("%d records in %d batches", got, batches)
	}
}
