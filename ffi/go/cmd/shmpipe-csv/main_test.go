package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// TestMain runs the command itself when a test starts this binary as
// shmpipe-csv, and checks that the tests leave nothing in /dev/shm.
func TestMain(m *testing.M) {
	if os.Getenv("SHMPIPE_CSV_AS_COMMAND") == "1" {
		os.Exit(run(os.Args[1:], os.Stderr))
	}
	code := m.Run()
	if left, _ := filepath.Glob(fmt.Sprintf("/dev/shm/shmpipe.csvtest%d-*", os.Getpid())); len(left) > 0 {
		fmt.Fprintln(os.Stderr, "segments left in /dev/shm:", left)
		code = 1
	}
	os.Exit(code)
}

var channels int

func channelName(label string) string {
	channels++
	return fmt.Sprintf("csvtest%d-%d-%s", os.Getpid(), channels, label)
}

// command is shmpipe-csv with these arguments (this test binary, as the command).
func command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SHMPIPE_CSV_AS_COMMAND=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// readAll reads a channel's batches to the end (copies of them).
func readAll(t *testing.T, r *shmpipe.Reader) ([]arrow.RecordBatch, error) {
	t.Helper()
	reader, err := shmpipe.NewArrowReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var batches []arrow.RecordBatch
	for {
		batch, err := reader.Read(ctx)
		if err == io.EOF {
			return batches, nil
		}
		if err != nil {
			return batches, err
		}
		batches = append(batches, deepCopy(batch))
		batch.Release()
	}
}

func TestStreamsAFileIntoAChannel(t *testing.T) {
	path := writeCSV(t, fileSpec{rows: 3000, header: true, delim: ',', crlf: true}, 1)
	name := channelName("stream")
	// A small ring: the command waits for room as the reader goes.
	r, err := shmpipe.CreateReader(name, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, _, stderr := command("--batch-rows", "100", "--schema", testSchema, path, name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	want, err := theirs(t, path, got[0].Schema(), true, ',')
	if err != nil {
		t.Fatal(err)
	}
	sameColumns(t, got, want)
	if len(got) != 30 {
		t.Fatalf("%d batches, want 30", len(got))
	}
	if summary := stderr.String(); !strings.HasPrefix(summary, "shmpipe-csv: 3,000 rows in 30 batches, ") || !strings.Contains(summary, "MB/s") ||
		!strings.HasSuffix(summary, fmt.Sprintf("to channel %q\n", name)) {
		t.Fatalf("summary: %q", summary)
	}
}

// Ended by a signal while it waits for readers, the command takes the
// channel it created with it (and dies by the signal, as a parent expects).
func TestSignalEndsCreateAndRemovesItsChannel(t *testing.T) {
	path := writeCSV(t, fileSpec{rows: 100, header: true, delim: ','}, 2)
	name := channelName("create-signal")
	defer os.Remove("/dev/shm/shmpipe." + name) // if the test fails half-way
	cmd, _, stderr := command("--create", "1MiB", "--schema", testSchema, path, name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// A reader that takes nothing: the command waits for it to.
	r, err := shmpipe.OpenReader(name, shmpipe.WithWait(10*time.Second))
	if err != nil {
		t.Fatalf("the command did not create %s: %v (%s)", name, err, stderr)
	}
	defer r.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("the command ended with %v: %s", err, stderr)
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the channel is still there: %v", err)
	}
}

func TestCreateWaitsForTheReaders(t *testing.T) {
	path := writeCSV(t, fileSpec{rows: 500, header: true, delim: ','}, 2)
	name := channelName("create")
	cmd, _, stderr := command("--create", "1MiB", "--batch-rows", "50", "--schema", testSchema, path, name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var r *shmpipe.Reader
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r, err = shmpipe.OpenReader(name); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the command did not create %s: %v (%s)", name, err, stderr)
	}
	defer r.Close()
	// Everything fits in the ring: the command has written it all and
	// waits for this reader, which attached late, to take it.
	time.Sleep(100 * time.Millisecond)
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	want, _ := theirs(t, path, got[0].Schema(), true, ',')
	sameColumns(t, got, want)
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the channel is still there: %v", err)
	}
}

func TestPublishHoldsTheTableUntilInterrupted(t *testing.T) {
	path := writeCSV(t, fileSpec{rows: 1000, header: true, delim: ','}, 3)
	name := channelName("table")
	cmd, _, _ := command("--publish", "--batch-rows", "300", "--schema", testSchema, path, name)
	cmd.Stderr = nil
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var said []string
	for lines.Scan() {
		said = append(said, lines.Text())
		if strings.HasPrefix(lines.Text(), "shmpipe-csv: holding table") {
			break
		}
	}
	if len(said) != 2 || !strings.HasSuffix(said[0], fmt.Sprintf("published as table %q", name)) || said[1] != fmt.Sprintf("shmpipe-csv: holding table %q until Ctrl-C", name) {
		t.Fatalf("stderr: %q", said)
	}
	table, err := shmpipe.OpenTable(name)
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	want, _ := theirs(t, path, table.Schema(), true, ',')
	var got []arrow.RecordBatch
	reader := array.NewTableReader(table, -1)
	for reader.Next() {
		got = append(got, deepCopy(reader.RecordBatch()))
	}
	reader.Release()
	sameColumns(t, got, want)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error)
	go func() { io.Copy(io.Discard, stderr); done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the command did not end on SIGINT")
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the table is still there after SIGINT: %v (%v)", err, cmd.ProcessState)
	}
}

func TestPublishHoldForADuration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.csv")
	os.WriteFile(path, []byte("a,b\n1,x\n2,y\n"), 0o600)
	name := channelName("held")
	cmd, _, stderr := command("--publish", "--hold", "300ms", path, name)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("held for %v", took)
	}
	if _, err := os.Stat("/dev/shm/shmpipe." + name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the table is still there: %v", err)
	}
}

// A file that turns out malformed after batches went out: the command
// exits 1 without closing the channel, so the reader sees the writer gone,
// not a clean end of the stream.
func TestErrorMidStreamIsNotACleanEnd(t *testing.T) {
	var b strings.Builder
	b.WriteString("a\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("1\n")
	}
	b.WriteString("oops\n")
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte(b.String()), 0o600)
	name := channelName("midway")
	r, err := shmpipe.CreateReader(name, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, _, stderr := command("--batch-rows", "100", path, name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	cmd.Wait()
	if !errors.Is(err, shmpipe.ErrPeerGone) {
		t.Fatalf("after %d batches: %v, want the writer gone", len(got), err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), fmt.Sprintf(`%s:1002: column "a": "oops" is not an int64`, path)) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestUsageAndErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("a,b\n1,2\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("a,b\n1,2\n3,x\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string // the whole of stderr's first line, or its start
	}{
		{nil, 2, "shmpipe-csv: no CSV file given (see --help)"},
		{[]string{good}, 2, "shmpipe-csv: no channel given (or --dry-run to only parse) (see --help)"},
		{[]string{good, "ch", "extra"}, 2, "shmpipe-csv: too many arguments: extra (see --help)"},
		{[]string{"--bogus", good, "ch"}, 2, "shmpipe-csv: flag provided but not defined: -bogus (see --help)"},
		{[]string{"--batch-rows", "0", good, "ch"}, 2, "shmpipe-csv: --batch-rows must be at least 1 (see --help)"},
		{[]string{"--hold", "1s", good, "ch"}, 2, "shmpipe-csv: --hold goes with --publish (see --help)"},
		{[]string{filepath.Join(dir, "missing.csv"), "ch"}, 1, "shmpipe-csv: " + filepath.Join(dir, "missing.csv") + ": no such file"},
		{[]string{dir, "ch"}, 1, "shmpipe-csv: " + dir + " is not a regular file"},
		{[]string{"--schema", "a:int32", good, "ch"}, 1, `shmpipe-csv: --schema: column "a": unknown type "int32"`},
		{[]string{"--delimiter", "ab", good, "ch"}, 1, `shmpipe-csv: --delimiter "ab": give one ASCII character`},
		{[]string{"--create", "lots", good, "ch"}, 1, `shmpipe-csv: --create "lots": give a size such as 256MiB`},
		{[]string{"--dry-run", "--schema", "a:int64,b:int64", bad}, 1, "shmpipe-csv: " + bad + `:3: column "b": "x" is not an int64`},
		{[]string{good, channelName("absent")}, 1, "shmpipe-csv: "},
	} {
		cmd, _, stderr := command(tc.args...)
		code := exitCode(cmd.Run())
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != tc.code || !strings.HasPrefix(first, tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("shmpipe-csv %s: exit %d, stderr %q\nwant exit %d, %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
	// A channel nobody created: the shmpipe package's sentence.
	cmd, _, stderr := command(good, "csvtest-nobody-made-this")
	if code := exitCode(cmd.Run()); code != 1 || !strings.Contains(stderr.String(), `"csvtest-nobody-made-this"`) || !strings.Contains(stderr.String(), "start the side that creates it first") {
		t.Errorf("missing channel: exit %d, %s", code, stderr)
	}
	cmd, stdout, _ := command("--help")
	if code := exitCode(cmd.Run()); code != 0 || !strings.HasPrefix(stdout.String(), "usage: shmpipe-csv [flags] FILE CHANNEL") {
		t.Errorf("--help: exit %d, %s", code, stdout)
	}
	// A dry run reports what it parsed.
	cmd, _, stderr = command("--dry-run", good)
	if code := exitCode(cmd.Run()); code != 0 || !strings.HasPrefix(stderr.String(), "shmpipe-csv: 1 rows in 1 batches, 0.0 MB in ") || !strings.HasSuffix(stderr.String(), "parsed (dry run)\n") {
		t.Errorf("dry run: exit %d, %s", code, stderr)
	}
}

func TestBatchTooLargeForTheChannel(t *testing.T) {
	path := writeCSV(t, fileSpec{rows: 2000, header: true, delim: ','}, 4)
	name := channelName("small")
	r, err := shmpipe.CreateReader(name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, _, stderr := command("--schema", testSchema, path, name)
	if code := exitCode(cmd.Run()); code != 1 || !strings.Contains(stderr.String(), "does not fit") || !strings.Contains(stderr.String(), "give a smaller --batch-rows, or a larger channel") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
