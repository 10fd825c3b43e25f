// Command shmpipe-bench holds the Go cases of `shmpipe bench`
// (scripts/bench.ts builds it once and runs it under hyperfine). Each
// case measures itself, start-up excluded, and prints one JSON line per
// figure: {"case", "value", "unit"[, "mibps"]}.
//
//	shmpipe-bench oneway SIZE COUNT          Go -> Go records of SIZE bytes, Send and Recv
//	shmpipe-bench oneway-batch SIZE COUNT    the same, 256 per SendBatch and RecvBatch
//	shmpipe-bench rtt blocking|default|busy-poll COUNT
//	                                         Go <-> Go round trips of 64 B
//	shmpipe-bench handoff shm|unix|tcp-raw|csv LABEL BYTES REPS WARMUPS -- READER...
//	                                         an Arrow batch of BYTES handed to a
//	                                         reader process (READER... TAG)
//	shmpipe-bench csv-gen FILE ROWS          writes a file of market ticks
//	shmpipe-bench csv FILE BATCH-ROWS SHMPIPE-CSV
//	                                         arrow-go's csv.NewReader against the
//	                                         shmpipe-csv command, same file
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
	"github.com/shmpipe/shmpipe/ffi/go/internal/benchhook"
	"github.com/shmpipe/shmpipe/ffi/go/sample"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: shmpipe-bench oneway|rtt|handoff|csv-gen|csv ... (see the source)"))
	}
	args := os.Args[2:]
	if path := os.Getenv("SHMPIPE_BENCH_CPUPROFILE"); path != "" { // where this process spends its time
		out, err := os.Create(fmt.Sprintf("%s.%s.%d", path, os.Args[1], os.Getpid()))
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	var err error
	switch os.Args[1] {
	case "oneway", "oneway-batch":
		err = oneway(atoi(args, 0), atoi(args, 1), os.Args[1] == "oneway-batch")
	case "send", "send-batch": // the producer of oneway, in its own process
		err = send(args[0], atoi(args, 1), atoi(args, 2), os.Args[1] == "send-batch")
	case "rtt":
		err = rtt(args[0], atoi(args, 1))
	case "echo": // the far end of rtt
		err = echo(args[0], args[1], args[2])
	case "handoff":
		err = handoff(args)
	case "csv-gen":
		err = csvGen(args[0], atoi(args, 1))
	case "csv":
		err = csvCase(args[0], atoi(args, 1), args[2])
	default:
		err = fmt.Errorf("unknown case %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "shmpipe-bench:", err)
	os.Exit(1)
}

func atoi(args []string, i int) int {
	if i >= len(args) {
		fail(fmt.Errorf("argument %d missing", i+1))
	}
	n, err := strconv.Atoi(args[i])
	if err != nil {
		fail(fmt.Errorf("argument %q: %v", args[i], err))
	}
	return n
}

type figure struct {
	Case  string   `json:"case"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit"`
	MiBps *float64 `json:"mibps,omitempty"`
}

func report(f figure) {
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false) // "->" as it is
	out.Encode(f)
}

func round(v float64, digits int) float64 {
	scale := math.Pow(10, float64(digits))
	return math.Round(v*scale) / scale
}

// monotonicNs is CLOCK_MONOTONIC, the clock the TypeScript and Python
// readers stamp with.
func monotonicNs() int64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// self runs this program again as the other process of a case.
// With SHMPIPE_BENCH_CPUS=A,B (scripts/bench.ts), it runs on CPU B (taskset).
func self(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	if cpus := strings.Split(os.Getenv("SHMPIPE_BENCH_CPUS"), ","); len(cpus) == 2 && cpus[1] != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus[1], os.Args[0]}, args...)...)
	}
	cmd.Stderr = os.Stderr
	return cmd
}

// ---- one way: records of one size from a Go process to another ----------

// batchRecords is how many records one SendBatch or RecvBatch of the
// batch case takes: as many as the C baseline's batches.
var batchRecords = shmpipe.DefaultBatchRecords

func oneway(size, count int, batches bool) error {
	name := fmt.Sprintf("bench-go-tput-%d", os.Getpid())
	r, err := shmpipe.CreateReader(name, max(4<<20, 8*(size+64)))
	if err != nil {
		return err
	}
	defer r.Close()
	mode, api := "send", "Send + Recv"
	if batches {
		mode, api = "send-batch", "SendBatch + RecvBatch"
	}
	producer := self(mode, name, strconv.Itoa(size), strconv.Itoa(count))
	if err := producer.Start(); err != nil {
		return err
	}
	// No deadline: with one, every wait of the Go package runs a watcher
	// goroutine (see the report in docs/BENCHMARKS.md); the writer's death
	// still ends a wait.
	ctx := context.Background()
	received := 0
	var first time.Time
	for {
		var lengths [][]byte
		var release func()
		if batches {
			b, err := r.RecvBatch(ctx, batchRecords)
			if err == nil {
				lengths, release = b.Records, b.Release
			}
			err = recvFailed(err, producer)
			if err == io.EOF {
				break
			} else if err != nil {
				return err
			}
		} else {
			m, err := r.Recv(ctx)
			if err == nil {
				lengths, release = [][]byte{m.Bytes}, m.Release
			}
			err = recvFailed(err, producer)
			if err == io.EOF {
				break
			} else if err != nil {
				return err
			}
		}
		if received == 0 {
			first = time.Now()
		}
		received += len(lengths)
		for _, record := range lengths {
			if len(record) != size {
				return fmt.Errorf("a record of %d bytes, expected %d", len(record), size)
			}
		}
		release()
	}
	seconds := time.Since(first).Seconds()
	if err := producer.Wait(); err != nil || received != count {
		return fmt.Errorf("received %d of %d records (producer: %v)", received, count, err)
	}
	rate := float64(received-1) / seconds
	mibps := math.Round(rate * float64(size) / (1 << 20))
	report(figure{Case: fmt.Sprintf("shmpipe Go->Go one way, %s, %d B records", api, size), Value: math.Round(rate), Unit: "records/s", MiBps: &mibps})
	return nil
}

// recvFailed passes err on; a failure other than the end of the stream
// also ends the producer.
func recvFailed(err error, producer *exec.Cmd) error {
	if err != nil && err != io.EOF {
		producer.Process.Kill()
		producer.Wait()
	}
	return err
}

func send(name string, size, count int, batches bool) error {
	w, err := shmpipe.OpenWriter(name)
	if err != nil {
		return err
	}
	defer w.Close()
	ctx := context.Background()
	if !batches {
		record := make([]byte, size)
		for i := 0; i < count; i++ {
			if err := w.Send(ctx, record); err != nil {
				return err
			}
		}
		return nil
	}
	batch := make([][]byte, batchRecords)
	for i := range batch {
		batch[i] = make([]byte, size)
	}
	for i := 0; i < count; i += batchRecords {
		if _, err := w.SendBatch(ctx, batch[:min(batchRecords, count-i)]); err != nil {
			return err
		}
	}
	return nil
}

// ---- round trips: 64 B to an echo process and back ----------------------

func spinOf(mode string) (shmpipe.Option, error) {
	switch mode {
	case "blocking":
		return shmpipe.WithSpin(0), nil
	case "default":
		return shmpipe.WithSpin(shmpipe.DefaultSpin), nil
	case "busy-poll":
		return shmpipe.WithSpin(math.MaxUint32), nil // the core's "spin forever"
	}
	return nil, fmt.Errorf("unknown mode %q: blocking, default or busy-poll", mode)
}

func rtt(mode string, count int) error {
	spin, err := spinOf(mode)
	if err != nil {
		return err
	}
	ping, pong := fmt.Sprintf("bench-go-ping-%d", os.Getpid()), fmt.Sprintf("bench-go-pong-%d", os.Getpid())
	w, err := shmpipe.CreateWriter(ping, 1<<16, spin)
	if err != nil {
		return err
	}
	defer w.Close()
	r, err := shmpipe.CreateReader(pong, 1<<16, spin)
	if err != nil {
		return err
	}
	defer r.Close()
	peer := self("echo", ping, pong, mode)
	if err := peer.Start(); err != nil {
		return err
	}
	defer peer.Wait()
	ctx := context.Background() // no deadline: see oneway
	record := make([]byte, 64)
	roundTrip := func() error {
		if err := w.Send(ctx, record); err != nil {
			return err
		}
		m, err := r.Recv(ctx)
		if err != nil {
			return err
		}
		m.Release()
		return nil
	}
	for i := 0; i < 2000; i++ { // warm-up, and the echo process is attached
		if err := roundTrip(); err != nil {
			return err
		}
	}
	start := time.Now()
	for i := 0; i < count; i++ {
		if err := roundTrip(); err != nil {
			return err
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(count)
	w.Close()
	report(figure{Case: "shmpipe Go<->Go round trip, " + mode, Value: math.Round(ns), Unit: "ns/round trip"})
	return nil
}

func echo(ping, pong, mode string) error {
	spin, err := spinOf(mode)
	if err != nil {
		return err
	}
	r, err := shmpipe.OpenReader(ping, spin)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := shmpipe.OpenWriter(pong, spin)
	if err != nil {
		return err
	}
	defer w.Close()
	ctx := context.Background()
	for {
		m, err := r.Recv(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = w.Send(ctx, m.Bytes)
		m.Release()
		if err != nil {
			return err
		}
	}
}

// ---- Arrow hand-off to a TypeScript or Python reader --------------------

// handoff hands an Arrow batch of a Float64 and an Int32 column, bytes in
// all, to the reader of scripts/bench/handoff.ts (handoff-reader.ts or
// handoff_reader.py, given as READER...; it gets the tag as its last
// argument), which reads one value of each column and acknowledges with
// its CLOCK_MONOTONIC time on the channel <tag>-ack.
//   - shm: the batch goes through shmpipe.ArrowWriter, as a user's would
//     (framed, copied into its claimed record, checked by the core,
//     committed); two figures: from just before the batch's commit (a
//     hook inside Write, internal/benchhook), and from before Write (the
//     copy into shared memory and the check included).
//   - unix: Arrow IPC stream over a Unix socket, 8-byte length first, from
//     before serialising.
func handoff(args []string) error {
	dash := slices.Index(args, "--")
	if dash != 5 || len(args) < 7 {
		return errors.New("usage: handoff shm|unix LABEL BYTES REPS WARMUPS -- READER...")
	}
	transport, label := args[0], args[1]
	bytes, reps, warmups := atoi(args, 2), atoi(args, 3), atoi(args, 4)
	batch := handoffBatch(bytes)
	defer batch.Release()
	tag := fmt.Sprintf("bench-go-%d", os.Getpid())
	ack, err := shmpipe.CreateReader(tag+"-ack", 1<<16)
	if err != nil {
		return err
	}
	defer ack.Close()

	var send func() (start, commit int64, err error)
	var writer *shmpipe.Writer
	if transport == "csv" { // the file's path goes on a channel once it is written
		if writer, err = shmpipe.CreateWriter(tag+"-data", 1<<16); err != nil {
			return err
		}
		defer writer.Close()
	}
	if transport == "shm" {
		// Room for two batches and their metadata (the first Write also
		// sends the schema).
		if writer, err = shmpipe.CreateWriter(tag+"-data", 2*(bytes+1<<16)); err != nil {
			return err
		}
		defer writer.Close()
	}
	reader := exec.Command(args[6], append(args[7:], tag)...)
	reader.Stderr = os.Stderr
	out, _ := reader.StdoutPipe()
	if err := reader.Start(); err != nil {
		return err
	}
	defer func() {
		reader.Process.Kill()
		reader.Wait()
		os.Remove(filepath.Join(os.TempDir(), tag+".sock")) // where the readers listen
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the reader ended before it was ready: %v", err)
	}
	address := strings.TrimSpace(strings.TrimPrefix(line, "ready"))
	switch transport {
	case "shm": // the first Write sends the schema (a warm-up round)
	case "unix", "tcp-raw":
		network := map[string]string{"unix": "unix", "tcp-raw": "tcp"}[transport]
		conn, err := net.Dial(network, address)
		if err != nil {
			return err
		}
		defer conn.Close()
		send = func() (int64, int64, error) { return sendOverSocket(conn, batch, bytes) }
		if transport == "tcp-raw" {
			send = func() (int64, int64, error) { return sendRawColumns(conn, batch) }
		}
	case "csv":
		path := filepath.Join(os.TempDir(), tag+".csv")
		defer os.Remove(path)
		send = func() (int64, int64, error) { return sendCSV(writer, path, batch) }
	default:
		return fmt.Errorf("unknown transport %q: shm, unix, tcp-raw or csv", transport)
	}

	if transport == "shm" {
		// Small batches of the same schema first, untimed, as
		// scripts/bench/handoff.ts sends them: a TypeScript reader's code
		// then runs compiled, as in a stream that has been going for a
		// while, rather than in the JIT's lower tiers.
		small := handoffBatch(jitRows * 12)
		defer small.Release()
		arrowWriter := shmpipe.NewArrowWriter(writer)
		for i := 0; i < jitBatches; i++ {
			if _, _, err := sendArrow(arrowWriter, small); err != nil {
				return err
			}
			if _, _, err := acknowledged(ack); err != nil {
				return err
			}
		}
		send = func() (int64, int64, error) { return sendArrow(arrowWriter, batch) }
	}
	var fromStart, fromCommit, grown []float64
	for rep := 0; rep < warmups+reps; rep++ {
		start, commit, err := send()
		if err != nil {
			return err
		}
		held, growth, err := acknowledged(ack)
		if err != nil {
			return err
		}
		if rep < warmups {
			continue
		}
		fromStart = append(fromStart, float64(held-start)/1000)
		if commit != 0 {
			fromCommit = append(fromCommit, float64(held-commit)/1000)
		}
		if growth >= 0 {
			grown = append(grown, growth)
		}
	}
	size := sizeLabel(bytes)
	name := map[string]string{
		"shm":     "shmpipe Go->%s write -> usable, %s batch",
		"unix":    "Arrow IPC over Unix socket Go->%s, %s batch",
		"tcp-raw": "raw columns over TCP loopback Go->%s, %s batch",
		"csv":     "CSV file written + parsed Go->%s, %s batch",
	}[transport]
	if transport == "shm" {
		report(figure{Case: fmt.Sprintf("shmpipe Go->%s commit -> usable, %s batch", label, size), Value: round(median(fromCommit), 1), Unit: "µs"})
	}
	report(figure{Case: fmt.Sprintf(name, label, size), Value: round(median(fromStart), 1), Unit: "µs"})
	if len(grown) > 0 {
		report(figure{Case: fmt.Sprintf(name, label, size) + ": reader's memory growth", Value: round(median(grown)/(1<<20), 2), Unit: "MiB"})
	}
	return nil
}

// How many small batches, of how many rows, a shm hand-off sends before
// its timed rounds.
const jitBatches, jitRows = 2000, 64

func handoffBatch(bytes int) arrow.RecordBatch {
	rows := max(1, bytes/12)
	x := make([]float64, rows)
	y := make([]int32, rows)
	for i := range x {
		x[i] = float64(i) * 0.5
		y[i] = int32(i)
	}
	xs := array.NewData(arrow.PrimitiveTypes.Float64, rows, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(x))}, nil, 0, 0)
	ys := array.NewData(arrow.PrimitiveTypes.Int32, rows, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(y))}, nil, 0, 0)
	defer xs.Release()
	defer ys.Release()
	columns := []arrow.Array{array.MakeFromData(xs), array.MakeFromData(ys)}
	defer columns[0].Release()
	defer columns[1].Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}, {Name: "y", Type: arrow.PrimitiveTypes.Int32}}, nil)
	return array.NewRecordBatch(schema, columns, int64(rows))
}

// sendArrow hands the batch over as a user's program does, with
// ArrowWriter.Write, and stamps "commit" just before the batch's message
// is committed (the core's check of its metadata and the publish, one
// call), as the TypeScript case stamps just before its commit: the last
// message Write commits is the batch.
func sendArrow(w *shmpipe.ArrowWriter, batch arrow.RecordBatch) (start, commit int64, err error) {
	benchhook.BeforeArrowCommit = func() { commit = monotonicNs() }
	defer func() { benchhook.BeforeArrowCommit = nil }()
	start = monotonicNs()
	err = w.Write(context.Background(), batch)
	return start, commit, err
}

func sendOverSocket(conn net.Conn, batch arrow.RecordBatch, bytes int) (start, commit int64, err error) {
	start = monotonicNs()
	var stream growingBuffer
	stream.buf = make([]byte, 0, bytes+1<<16)
	iw := ipc.NewWriter(&stream, ipc.WithSchema(batch.Schema()))
	if err := iw.Write(batch); err != nil {
		return 0, 0, err
	}
	if err := iw.Close(); err != nil {
		return 0, 0, err
	}
	var length [8]byte
	binary.LittleEndian.PutUint64(length[:], math.Float64bits(float64(len(stream.buf))))
	if _, err := conn.Write(length[:]); err != nil {
		return 0, 0, err
	}
	_, err = conn.Write(stream.buf)
	return start, 0, err
}

// acknowledged waits for the reader's acknowledgement: its CLOCK_MONOTONIC
// time once it held the batch, and (a reader that measures it) how many
// bytes its resident memory grew by holding it, -1 if not measured.
func acknowledged(ack *shmpipe.Reader) (held int64, growth float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Second)
	defer cancel()
	m, err := ack.Recv(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("waiting for the reader's acknowledgement: %w", err)
	}
	defer m.Release()
	growth = -1
	if len(m.Bytes) >= 16 {
		growth = math.Float64frombits(binary.LittleEndian.Uint64(m.Bytes[8:]))
	}
	return int64(math.Float64frombits(binary.LittleEndian.Uint64(m.Bytes))), growth, nil
}

type growingBuffer struct{ buf []byte }

func (g *growingBuffer) Write(b []byte) (int, error) { g.buf = append(g.buf, b...); return len(b), nil }

func median(values []float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// sizeLabel names a batch size as scripts/bench/size-label.ts does.
func sizeLabel(bytes int) string {
	switch {
	case bytes >= 1<<30:
		return strconv.FormatFloat(float64(bytes)/(1<<30), 'f', -1, 64) + " GiB"
	case bytes >= 1<<20:
		return strconv.FormatFloat(float64(bytes)/(1<<20), 'f', -1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(bytes)/1024, 'f', -1, 64) + " KiB"
}

// ---- CSV: arrow-go's reader against shmpipe-csv --------------------------

const tickSchema = sample.TickSchema

// csvGen writes the project's sample market ticks (package sample).
func csvGen(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := sample.WriteTicks(f, rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// csvCase reads the same file (in the page cache: the wrapper wrote it)
// with arrow-go's csv.NewReader over an os.File, then with shmpipe-csv
// --dry-run (parse only) on all CPUs and on one, then with shmpipe-csv
// into a channel that this process reads to the end. The commands are
// timed from start to exit, so the figures include their start-up. The
// four take turns, three rounds, and each reports its median: on a shared
// machine, load that comes and goes then touches all four alike.
func csvCase(path string, batchRows int, command string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	size := float64(info.Size())
	names := []string{
		"arrow-go csv.NewReader (os.File, 1 goroutine)",
		"shmpipe-csv --dry-run, 2 workers",
		"shmpipe-csv --dry-run, 1 worker",
		"shmpipe-csv -> channel -> Go reader",
	}
	seconds := make([][]float64, len(names))
	rows := 0
	for round := 0; round < 3; round++ {
		for i, name := range names {
			start := time.Now()
			var n int
			var err error
			switch i {
			case 0:
				n, err = csvArrowGo(path, batchRows)
			case 1, 2:
				n = rows
				dry := exec.Command(command, "--dry-run", "--schema", tickSchema, "--batch-rows", strconv.Itoa(batchRows), "--workers", strconv.Itoa(3-i), path)
				if out, e := dry.CombinedOutput(); e != nil {
					err = fmt.Errorf("%s: %v: %s", command, e, out)
				}
			case 3:
				n, err = csvThroughChannel(path, batchRows, command)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			seconds[i] = append(seconds[i], time.Since(start).Seconds())
			if i == 0 {
				rows = n
			} else if n != rows {
				return fmt.Errorf("%s: %d rows, arrow-go read %d", name, n, rows)
			}
		}
	}
	for i, name := range names {
		s := median(seconds[i])
		mibps := math.Round(size / (1 << 20) / s)
		report(figure{Case: "CSV of market ticks: " + name, Value: math.Round(float64(rows) / s), Unit: "rows/s", MiBps: &mibps})
	}
	return nil
}

var tickFields = arrow.NewSchema([]arrow.Field{
	{Name: "symbol", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// quantities adds up the qty column, so that every reader of the file
// touches its values (and they can be compared).
var quantities = map[string]int64{}

// csvArrowGo is arrow-go's reader over the file read normally.
func csvArrowGo(path string, batchRows int) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f, tickFields, csv.WithHeader(true), csv.WithChunk(batchRows))
	defer r.Release()
	rows, quantity := 0, int64(0)
	for r.Next() {
		batch := r.RecordBatch()
		rows += int(batch.NumRows())
		for _, q := range batch.Column(3).(*array.Int64).Int64Values() {
			quantity += q
		}
	}
	quantities["arrow-go"] = quantity
	return rows, r.Err()
}

// csvThroughChannel runs shmpipe-csv into a channel this process reads.
func csvThroughChannel(path string, batchRows int, command string) (int, error) {
	name := fmt.Sprintf("bench-go-csv-%d", os.Getpid())
	channel, err := shmpipe.CreateReader(name, 64<<20)
	if err != nil {
		return 0, err
	}
	defer channel.Close()
	reader, err := shmpipe.NewArrowReader(channel)
	if err != nil {
		return 0, err
	}
	defer reader.Close()
	producer := exec.Command(command, "--schema", tickSchema, "--batch-rows", strconv.Itoa(batchRows), path, name)
	producer.Stderr = io.Discard
	if err := producer.Start(); err != nil {
		return 0, err
	}
	rows, quantity := 0, int64(0)
	for {
		batch, err := reader.Read(context.Background()) // the producer's death ends it too
		if err == io.EOF {
			break
		}
		if err != nil {
			producer.Process.Kill()
			producer.Wait()
			return 0, err
		}
		rows += int(batch.NumRows())
		for _, q := range batch.Column(3).(*array.Int64).Int64Values() {
			quantity += q
		}
		batch.Release()
	}
	if err := producer.Wait(); err != nil {
		return 0, fmt.Errorf("%s: %v", command, err)
	}
	if want, ok := quantities["arrow-go"]; ok && quantity != want {
		return 0, fmt.Errorf("the channel carried a total quantity of %d, arrow-go read %d", quantity, want)
	}
	return rows, nil
}
