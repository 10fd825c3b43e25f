package shmpipe

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var counter int

// uniqueName is a channel name no other test (or test run) uses.
func uniqueName(label string) string {
	counter++
	return fmt.Sprintf("go%d-%d-%s", os.Getpid(), counter, label)
}

// TestMain checks that the tests leave nothing in /dev/shm; a child mode
// lets tests run this binary as another process.
func TestMain(m *testing.M) {
	if role := os.Getenv("SHMPIPE_TEST_CHILD"); role != "" {
		child(role, os.Getenv("SHMPIPE_TEST_CHANNEL"))
		return
	}
	code := m.Run()
	left, _ := filepath.Glob(fmt.Sprintf("/dev/shm/shmpipe.go%d-*", os.Getpid()))
	if len(left) > 0 {
		fmt.Fprintln(os.Stderr, "segments left in /dev/shm:", left)
		code = 1
	}
	os.Exit(code)
}

func child(role, name string) {
	switch role {
	case "persistent-publisher": // lifecycle_test.go
		publishPersistent(name)
	case "batch-writer": // batch_test.go
		sendBatches(name)
	case "creator-blocked-in-recv", "opted-in-creator-blocked-in-recv":
		if role == "opted-in-creator-blocked-in-recv" {
			RemoveNamesOnSignals()
		}
		r, err := CreateReader(name, 1<<16)
		if err != nil {
			panic(err)
		}
		fmt.Println("ready")
		r.Recv(context.Background()) // blocked until the signal ends the process
	case "writer-with-its-own-sigterm-handler":
		terminated := make(chan os.Signal, 1)
		signal.Notify(terminated, syscall.SIGTERM)
		w, err := CreateWriter(name, 1<<16)
		if err != nil {
			panic(err)
		}
		if err := w.Send(context.Background(), []byte("before")); err != nil {
			panic(err)
		}
		fmt.Println("ready")
		<-terminated
		// The program's own graceful end, which takes its time: finish the
		// work in hand, send the last record, then Close.
		time.Sleep(200 * time.Millisecond)
		if err := w.Send(context.Background(), []byte("last")); err != nil {
			panic(err)
		}
		fmt.Println("closed:", w.Close())
		os.Exit(0)
	case "creating-reader-that-writes-into-a-record":
		r, err := CreateReader(name, 1<<16)
		if err != nil {
			panic(err)
		}
		w, err := OpenWriter(name)
		if err != nil {
			panic(err)
		}
		record := make([]byte, CopyBelow) // shorter ones arrive as copies of their own
		copy(record, "committed")
		if err := w.Send(context.Background(), record); err != nil {
			panic(err)
		}
		m, err := r.Recv(context.Background())
		if err != nil {
			panic(err)
		}
		fmt.Println("ready")
		m.Bytes[0] = 'X' // the mapping is read-only: the process faults here
		fmt.Println("wrote")
	case "creator-closing-unread":
		w, err := CreateWriter(name, 1<<16, WithLinger(1500*time.Millisecond))
		if err != nil {
			panic(err)
		}
		if err := w.Send(context.Background(), []byte("never read")); err != nil {
			panic(err)
		}
		fmt.Println("ready")
		fmt.Println(errors.Is(w.Close(), ErrUnread))
	case "writer-killed-mid-record":
		w, err := OpenWriter(name)
		if err != nil {
			panic(err)
		}
		for i := 0; i < 10; i++ {
			if err := w.Send(context.Background(), []byte{byte(i)}); err != nil {
				panic(err)
			}
		}
		record, err := w.Claim(context.Background(), 1000)
		if err != nil {
			panic(err)
		}
		copy(record, strings.Repeat("x", 500)) // half-written, never committed
		fmt.Println("ready")
		time.Sleep(time.Hour)
	}
}

func pair(t *testing.T, capacity int, readerOptions ...Option) (*Reader, *Writer) {
	t.Helper()
	name := uniqueName(t.Name())
	r, err := CreateReader(name, capacity, readerOptions...)
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	return r, w
}

func recvString(t *testing.T, r *Reader) string {
	t.Helper()
	m, err := r.Recv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	return string(m.Bytes)
}

// core_sources.go holds the hash of the core's sources as they are now, as
// `make -C ffi/core` writes it: were it stale, Go's build cache (which does
// not follow #include) could test an older core than the one in the tree.
func TestCoreSourcesHashIsCurrent(t *testing.T) {
	var names []string
	for _, pattern := range []string{"../core/include/shmpipe.h", "../core/src/*.c", "../core/src/*.h"} {
		found, _ := filepath.Glob(pattern)
		names = append(names, found...)
	}
	sort.Strings(names)
	hash := sha256.New()
	for _, name := range names {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		hash.Write(text)
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != coreSourcesSHA256 {
		t.Fatalf("ffi/go/core_sources.go is stale (the core's sources hash to %s): run make -C ffi/core", got)
	}
}

func TestCoreSourcesAreCompiledIn(t *testing.T) {
	sources, _ := filepath.Glob("../core/src/*.c")
	if len(sources) == 0 {
		t.Fatal("no core sources found")
	}
	for _, source := range sources {
		wrapper := "core_" + filepath.Base(source)
		text, err := os.ReadFile(wrapper)
		if err != nil || !strings.Contains(string(text), `#include "../core/src/`+filepath.Base(source)+`"`) {
			t.Errorf("%s has no wrapper %s that includes it", source, wrapper)
		}
	}
}

func TestSendClaimRecvAndEndOfStream(t *testing.T) {
	r, w := pair(t, 1<<16)
	ctx := context.Background()
	if err := w.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(ctx, nil); err != nil {
		t.Fatal(err)
	}
	record, err := w.Claim(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	copy(record, "claimed")
	if err := w.Commit(7); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hello", "", "claimed"} {
		if got := recvString(t, r); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	w.Close()
	if _, err := r.Recv(ctx); err != io.EOF {
		t.Fatalf("after close: %v, want io.EOF", err)
	}
}

func TestErrorsAreTypedAndWorded(t *testing.T) {
	_, err := OpenReader("no-such-channel-here")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `"no-such-channel-here"`) ||
		!strings.Contains(err.Error(), "start the side that creates it first") {
		t.Fatalf("missing channel: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Name != "ENOENT" || e.Op != "open" || e.Segment != "no-such-channel-here" {
		t.Fatalf("missing channel: %#v", e)
	}
	if _, err := CreateWriter("bad/name", 4096); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "1-200 characters") {
		t.Fatalf("bad name: %v", err)
	}
	r, w := pair(t, 4096)
	if err := w.Send(context.Background(), make([]byte, 5000)); !errors.Is(err, ErrTooLarge) ||
		!strings.Contains(err.Error(), "A 5000-byte record does not fit: this channel carries at most 4032 bytes") {
		t.Fatalf("too large: %v", err)
	}
	if _, err := OpenWriter(r.Name()); !errors.Is(err, ErrBusy) {
		t.Fatalf("second writer: %v", err)
	}
	if _, err := CreateReader(r.Name(), 4096); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second creator: %v", err)
	}
	if err := w.Commit(0); !errors.Is(err, ErrState) {
		t.Fatalf("commit without claim: %v", err)
	}
}

func TestContextEndsAWait(t *testing.T) {
	r, w := pair(t, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := r.Recv(ctx); err != context.Canceled {
		t.Fatalf("cancelled recv: %v", err)
	}
	if took := time.Since(start); took > 150*time.Millisecond {
		t.Fatalf("cancellation took %v", took)
	}
	deadline, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, err := r.Recv(deadline); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("recv past its deadline: %v", err)
	}
	// The reader is still good after an interrupted wait.
	if err := w.Send(context.Background(), []byte("after")); err != nil {
		t.Fatal(err)
	}
	if got := recvString(t, r); got != "after" {
		t.Fatalf("got %q", got)
	}
}

// A reader that busy-polls (the head, in Go memory, without a cgo call per
// poll) gets every record sent with gaps from another goroutine, and the end
// of the stream; a cancelled context and Close end its spin.
func TestBusyPollingReader(t *testing.T) {
	name := uniqueName(t.Name())
	r, err := CreateReader(name, 1<<16, WithSpin(math.MaxUint32))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := OpenWriter(name)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 200; i++ {
			if i%20 == 0 {
				time.Sleep(3 * time.Millisecond)
			}
			if err := w.Send(context.Background(), []byte{byte(i)}); err != nil {
				panic(err)
			}
		}
		w.Close()
	}()
	for i := 0; ; i++ {
		m, err := r.Recv(context.Background())
		if err == io.EOF {
			if i != 200 {
				t.Fatalf("end of stream after %d records", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Bytes[0] != byte(i) {
			t.Fatalf("record %d holds %d", i, m.Bytes[0])
		}
		m.Release()
	}

	idle, _ := pair(t, 4096)
	idle.spin = math.MaxUint32
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	if _, err := idle.Recv(ctx); err == nil {
		t.Fatal("a cancelled spin returned a record")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("cancelling the spin took %v", took)
	}
	done := make(chan error)
	go func() {
		_, err := idle.Recv(context.Background())
		done <- err
	}()
	time.Sleep(30 * time.Millisecond)
	idle.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("spin ended by Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the spin")
	}
}

func TestCloseEndsAWaitInAnotherGoroutine(t *testing.T) {
	r, _ := pair(t, 4096)
	done := make(chan error)
	go func() {
		_, err := r.Recv(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("recv after close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("a recv waiting in another goroutine did not return after Close")
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("close took %v", took)
	}
}

// Messages may be kept and released in any order; the writer gets space
// back up to the oldest one still held.
func TestMessagesAreLeases(t *testing.T) {
	r, w := pair(t, 8192) // 7 records of 1000 B (shorter ones arrive as copies)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		record := make([]byte, 1000)
		record[0] = byte(i)
		if err := w.Send(ctx, record); err != nil {
			t.Fatal(err)
		}
	}
	var held []*Message
	for i := 0; i < 3; i++ {
		m, err := r.Recv(ctx)
		if err != nil || m.Bytes[0] != byte(i) {
			t.Fatalf("record %d: %v", i, err)
		}
		held = append(held, m)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := w.Send(short, make([]byte, 1000)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("send into a full ring: %v", err)
	}
	held[1].Release()
	held[2].Release()
	if held[0].Bytes[0] != 0 {
		t.Fatal("the oldest held record changed")
	}
	// A release from another goroutine while the writer waits frees room.
	go func() {
		time.Sleep(20 * time.Millisecond)
		held[0].Release()
	}()
	if err := w.Send(ctx, make([]byte, 1000)); err != nil {
		t.Fatalf("send after the releases: %v", err)
	}
	held[0].Release() // twice: nothing
}

// A record shorter than CopyBelow arrives as a copy: kept unreleased, it
// holds no space (the writer goes round the ring many times), and its
// bytes outlive Release.
func TestSmallRecordsArriveAsCopies(t *testing.T) {
	r, w := pair(t, 4096)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var kept []*Message
	for i := 0; i < 200; i++ { // 200 records of 192 ring bytes each: 9 rings' worth
		record := make([]byte, CopyBelow-1)
		record[0], record[CopyBelow-2] = byte(i), byte(i+1)
		if err := w.Send(ctx, record); err != nil {
			t.Fatalf("send %d with every message before it kept: %v", i, err)
		}
		m, err := r.Recv(ctx)
		if err != nil || len(m.Bytes) != CopyBelow-1 {
			t.Fatalf("record %d: %v", i, err)
		}
		kept = append(kept, m)
	}
	for i, m := range kept {
		bytes := m.Bytes
		m.Release()
		if bytes[0] != byte(i) || bytes[CopyBelow-2] != byte(i+1) {
			t.Fatalf("the copy of record %d changed", i)
		}
	}
	if err := w.Send(ctx, make([]byte, CopyBelow)); err != nil { // the first length that is leased
		t.Fatal(err)
	}
	if m, err := r.Recv(ctx); err != nil || len(m.Bytes) != CopyBelow || m.reader == nil {
		t.Fatalf("a record of CopyBelow bytes is a lease: %v", err)
	}
}

// A record costs no allocation of its own on either side (Messages are
// made in blocks): an allocation per record costs as much as the record.
func TestARecordAllocatesNothingOfItsOwn(t *testing.T) {
	r, w := pair(t, 1<<16, WithSpin(math.MaxUint32))
	ctx := context.Background()
	record := make([]byte, 64)
	perRecord := testing.AllocsPerRun(1000, func() {
		if err := w.Send(ctx, record); err != nil {
			t.Fatal(err)
		}
		m, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Release()
	})
	if perRecord > 0.1 {
		t.Fatalf("Send + Recv + Release allocates %.2f times per record", perRecord)
	}
}

// A release from another goroutine while Recv waits (asleep, or polling
// the head) reaches the writer, which waits for that space.
func TestReleaseWhileRecvWaits(t *testing.T) {
	for _, spin := range []int{DefaultSpin, math.MaxUint32} {
		releaseWhileRecvWaits(t, spin)
	}
}

func releaseWhileRecvWaits(t *testing.T, spin int) {
	r, w := pair(t, 8192, WithSpin(spin))
	ctx := context.Background()
	for i := 0; i < 7; i++ { // leased records of 1000 B fill the ring
		if err := w.Send(ctx, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	var held []*Message
	for i := 0; i < 7; i++ {
		m, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, m)
	}
	got := make(chan error)
	go func() {
		_, err := r.Recv(ctx) // waits: nothing more is committed
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	for _, m := range held {
		m.Release()
	}
	timed, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := w.Send(timed, []byte("room")); err != nil {
		t.Fatalf("send after releases made during a wait: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestWriterKilledMidRecord(t *testing.T) {
	name := uniqueName("killed")
	r, err := CreateReader(name, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD=writer-killed-mid-record", "SHMPIPE_TEST_CHANNEL="+name)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	defer cmd.Wait()
	for i := 0; i < 10; i++ {
		if got := recvString(t, r); got != string([]byte{byte(i)}) {
			t.Fatalf("record %d: %q", i, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Recv(ctx); !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "every record it committed was delivered") {
		t.Fatalf("after the writer died: %v", err)
	}
}

// A writer that abandons its stream (its source broke): the name goes at
// once, and the reader gets every record sent, then its writer gone, in
// this same process, never the end of a stream.
func TestAbandonedWriterIsAWriterGone(t *testing.T) {
	name := uniqueName("abandoned")
	w, err := CreateWriter(name, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(name)
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := w.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Claim(ctx, 100); err != nil { // left open: dropped
		t.Fatal(err)
	}
	w.Abandon()
	w.Abandon() // once is enough
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the name of an abandoned channel is still there: %v", err)
	}
	if err := w.Send(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("a send after Abandon: %v", err)
	}
	for i := 0; i < 3; i++ {
		if got := recvString(t, r); got != string([]byte{byte(i)}) {
			t.Fatalf("record %d: %q", i, got)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := r.Recv(ctx); !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "abandoned the stream") {
		t.Fatalf("after the writer abandoned the stream: %v", err)
	}
}

// startChild runs this test binary as a child in the given role on the
// channel name and waits for its "ready" line.
func startChild(t *testing.T, role, name string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD="+role, "SHMPIPE_TEST_CHANNEL="+name)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewReader(out)
	if line, _ := lines.ReadString('\n'); line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child %s said %q", role, line)
	}
	return cmd, lines
}

// endedBy is the signal that ended a child, or 0 if it exited.
func endedBy(err error) syscall.Signal {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if status := exit.Sys().(syscall.WaitStatus); status.Signaled() {
			return status.Signal()
		}
	}
	return 0
}

// A reader that created its channel maps the records read-only, as every
// reader does: a write into a received record faults, it never changes
// what another reader of the record sees.
func TestACreatingReadersRecordsAreReadOnly(t *testing.T) {
	name := uniqueName("creating-reader")
	defer os.Remove("/dev/shm/shmpipe." + name) // a crash removes nothing: the test does
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD=creating-reader-that-writes-into-a-record", "SHMPIPE_TEST_CHANNEL="+name)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Go's runtime ends a process that faults outside Go's heap with exit
	// status 2 and "unexpected fault address".
	if stdout.String() != "ready\n" || !strings.Contains(stderr.String(), "unexpected fault address") {
		t.Fatalf("the child ended with %v, said %q after its write; stderr:\n%s", err, stdout.String(), stderr.String())
	}
}

// A creating writer whose records nobody read says once, before Close
// waits, what it waits for and for how long (the core's sentence).
func TestCloseSaysWhatItWaitsForFirst(t *testing.T) {
	name := uniqueName("notice")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SHMPIPE_TEST_CHILD=creator-closing-unread", "SHMPIPE_TEST_CHANNEL="+name)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != "ready\ntrue\n" {
		t.Fatalf("the child ended with %v, said %q; stderr:\n%s", err, stdout.String(), stderr.String())
	}
	said := strings.Count(stderr.String(), "waits up to")
	if said != 1 || !strings.Contains(stderr.String(), `closing "`+name+`" waits up to 1.5 s for a reader`) {
		t.Fatalf("the notice, once: %q", stderr.String())
	}
}

// A program that handles SIGTERM itself decides when it ends: the package
// never kills it before its handler has run.
func TestProgramsOwnSignalHandlerRuns(t *testing.T) {
	name := uniqueName("own-handler")
	cmd, lines := startChild(t, "writer-with-its-own-sigterm-handler", name)
	defer cmd.Process.Kill()
	defer os.Remove("/dev/shm/shmpipe." + name) // if the test fails half-way
	r, err := OpenReader(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := recvString(t, r); got != "before" {
		t.Fatalf("first record %q", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.Recv(ctx)
	if err != nil {
		t.Fatalf("the record the handler sent: %v", err)
	}
	if string(m.Bytes) != "last" {
		t.Fatalf("the handler's record %q", m.Bytes)
	}
	m.Release()
	if _, err := r.Recv(ctx); err != io.EOF {
		t.Fatalf("after the handler's Close: %v", err)
	}
	said, _ := io.ReadAll(lines)
	if err := cmd.Wait(); err != nil || string(said) != "closed: <nil>\n" {
		t.Fatalf("the child ended with %v (signal %v), said %q", err, endedBy(err), said)
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the closed writer's channel is still in /dev/shm (%v)", err)
	}
}

// Ctrl-C (or SIGTERM, SIGHUP) ends a process blocked in a wait at once; the
// names it created go with it where it asked for that.
func TestSignalEndsABlockedCreatorThatAskedAndRemovesItsName(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		name := uniqueName("signal")
		cmd, _ := startChild(t, "opted-in-creator-blocked-in-recv", name)
		start := time.Now()
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if endedBy(err) != sig {
			os.Remove("/dev/shm/shmpipe." + name)
			t.Fatalf("%v: child ended with %v", sig, err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Fatalf("%v took %v to end the child", sig, took)
		}
		if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
			os.Remove("/dev/shm/shmpipe." + name)
			t.Fatalf("%v: the child's channel is still in /dev/shm (%v)", sig, err)
		}
	}
}

// A program that neither handles the signal nor asked for its names to go
// is ended by it as Go ends any program; its names stay (for shmpipe gc).
func TestSignalEndsABlockedCreatorThatDidNotAsk(t *testing.T) {
	name := uniqueName("signal-kept")
	defer os.Remove("/dev/shm/shmpipe." + name)
	cmd, _ := startChild(t, "creator-blocked-in-recv", name)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); endedBy(err) != syscall.SIGTERM {
		t.Fatalf("child ended with %v", err)
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); err != nil {
		t.Fatalf("the dead creator's channel: %v", err)
	}
}

func TestCorruptSegmentIsAnErrorNotACrash(t *testing.T) {
	name := uniqueName("garbage")
	path := "/dev/shm/shmpipe." + name
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if _, err := OpenReader(name); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("garbage segment: %v", err)
	}
}

func TestOpenWaitsForTheChannelToBeCreated(t *testing.T) {
	name := uniqueName("later")
	if _, err := OpenWriter(name, WithWait(30*time.Millisecond)); !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "for it to be created") {
		t.Fatalf("nobody creates it: %v", err)
	}
	created := make(chan *Reader)
	go func() {
		time.Sleep(100 * time.Millisecond)
		r, err := CreateReader(name, 4096)
		if err != nil {
			t.Error(err)
		}
		created <- r
	}()
	w, err := OpenWriter(name, WithWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := <-created
	w.Close()
	r.Close()
}

// The defaults are the core's numbers (shmpipe.h), whatever they become.
func TestDefaultsAreTheCores(t *testing.T) {
	header, err := os.ReadFile("../core/include/shmpipe.h")
	if err != nil {
		t.Fatal(err)
	}
	define := func(name string) int64 {
		for _, line := range strings.Split(string(header), "\n") {
			line, _, _ = strings.Cut(line, "/*")
			fields := strings.Fields(line)
			if len(fields) >= 3 && fields[0] == "#define" && fields[1] == name {
				value := strings.Join(fields[2:], "")
				value = strings.TrimSuffix(strings.TrimPrefix(value, "INT64_C("), ")")
				if shift := strings.Split(strings.Trim(value, "()"), "<<"); len(shift) == 2 {
					base, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(shift[0], "u")), 10, 64)
					bits, _ := strconv.ParseInt(strings.TrimSpace(shift[1]), 10, 64)
					return base << bits
				}
				n, _ := strconv.ParseInt(strings.TrimSuffix(value, "u"), 10, 64)
				return n
			}
		}
		t.Fatalf("shmpipe.h defines no %s", name)
		return 0
	}
	got := []int64{int64(DefaultSpin), int64(DefaultReadyTimeout), int64(DefaultLinger), int64(DefaultCapacity), int64(DefaultBatchRecords)}
	want := []int64{define("SHMP_DEFAULT_SPIN"), define("SHMP_DEFAULT_READY_TIMEOUT_NS"), define("SHMP_DEFAULT_TIMEOUT_NS"), define("SHMP_DEFAULT_CAPACITY"), define("SHMP_DEFAULT_BATCH_RECORDS")}
	if fmt.Sprint(got) != fmt.Sprint(want) || want[0] == 0 || want[3] == 0 {
		t.Fatalf("spin, ready timeout, linger, capacity: %v; shmpipe.h: %v", got, want)
	}
}
