// Command shmpipe-csv parses a CSV file into Apache Arrow record batches
// and streams them into a shmpipe channel, or publishes the whole file as
// a table, for readers in any language (Go, Python, TypeScript, R).
//
//	shmpipe-csv [flags] FILE CHANNEL
//
// The file is memory-mapped and parsed in place on every CPU: a splitter
// cuts it into spans of --batch-rows records at record boundaries (it
// follows quotes, so a quoted field may hold newlines), worker goroutines
// parse the spans into batches at the same time, and the batches go out in
// file order. Run it with --help for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

const usage = `usage: shmpipe-csv [flags] FILE CHANNEL
       shmpipe-csv --publish [flags] FILE TABLE
       shmpipe-csv --dry-run [flags] FILE

Parses the CSV file FILE (RFC 4180, as Go's encoding/csv reads it) into
Arrow record batches and writes them, in file order, to the shmpipe
channel CHANNEL. A reader creates the channel first (or --create makes
it); the command ends when the last batch is written and closes the
channel, which the readers see as the end of the stream. If the file
turns out to be malformed after some batches went out, the command exits
with status 1 without closing the channel: the readers then see the writer
gone, not a clean end (also when the error comes before the first batch).

Column types come from --schema, or are inferred from the first
--infer-rows records: the narrowest of int64, float64, bool, date32,
timestamp[us], timestamp[us,UTC] that every value fits, else string.
Empty fields, NULL and null are null in every column but strings.

flags:
  --batch-rows N      rows per record batch (default 65536)
  --schema SPEC       column types as name:type,...; types: int64, float64, bool,
                      date32, string, timestamp[s|ms|us|ns], timestamp[UNIT,ZONE].
                      With a header, the columns named get these types and the
                      others are inferred; without one, list every column in order
  --infer-rows N      records that inferred types are taken from (default 1000)
  --no-header         the first line is a record; columns are named f0, f1, ...
                      unless --schema names them
  --delimiter C       field delimiter: one character, or "tab" (default ",")
  --null-strings      "", NULL and null are null in string columns too
  --create CAPACITY   create the channel, with CAPACITY bytes of record space
                      (such as 256MiB), instead of opening one; the command then
                      waits at the end until the readers took every batch
  --ready-timeout D   how long opening waits for a channel whose creator is
                      still setting it up (default 2s); the channel must exist
  --publish           publish the whole file as one table named TABLE
                      (OpenTable in Go, open_table in Python, openTable in
                      TypeScript); the table exists while the command runs:
                      until Ctrl-C, or for --hold
  --hold D            with --publish: keep the table for D (such as 10m), then
                      remove it and exit
  --dry-run           parse the whole file and report, without a channel
  --workers N         goroutines that parse (default: the number of CPUs)

Progress goes to stderr when it is a terminal; a summary line (rows,
batches, bytes, MB/s) goes to stderr at the end.
`

type options struct {
	file, channel string
	batchRows     int
	schema        string
	inferRows     int
	noHeader      bool
	delimiter     string
	nullStrings   bool
	create        string
	readyTimeout  time.Duration
	publish       bool
	hold          time.Duration
	dryRun        bool
	workers       int
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the command; its exit status: 0, 1 (failed), 2 (bad usage).
func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "shmpipe-csv: %v (see --help)\n", err)
		return 2
	}
	if err := produce(o, stderr); err != nil {
		fmt.Fprintf(stderr, "shmpipe-csv: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("shmpipe-csv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&o.batchRows, "batch-rows", 65536, "")
	fs.StringVar(&o.schema, "schema", "", "")
	fs.IntVar(&o.inferRows, "infer-rows", 1000, "")
	fs.BoolVar(&o.noHeader, "no-header", false, "")
	fs.StringVar(&o.delimiter, "delimiter", ",", "")
	fs.BoolVar(&o.nullStrings, "null-strings", false, "")
	fs.StringVar(&o.create, "create", "", "")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", shmpipe.DefaultReadyTimeout, "")
	fs.BoolVar(&o.publish, "publish", false, "")
	fs.DurationVar(&o.hold, "hold", 0, "")
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "")
	// Flags may come after the file and the channel too.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	want := 2
	if o.dryRun {
		want = 1
	}
	switch {
	case len(positional) < want && len(positional) == 0:
		return nil, errors.New("no CSV file given")
	case len(positional) < want:
		return nil, errors.New("no channel given (or --dry-run to only parse)")
	case len(positional) > want:
		return nil, fmt.Errorf("too many arguments: %s", strings.Join(positional[want:], " "))
	}
	o.file = positional[0]
	if want == 2 {
		o.channel = positional[1]
	}
	switch {
	case o.batchRows < 1:
		return nil, errors.New("--batch-rows must be at least 1")
	case o.inferRows < 1:
		return nil, errors.New("--infer-rows must be at least 1")
	case o.workers < 1:
		return nil, errors.New("--workers must be at least 1")
	case o.publish && o.dryRun:
		return nil, errors.New("--publish and --dry-run do not go together")
	case o.publish && o.create != "":
		return nil, errors.New("--publish creates its table itself: leave out --create")
	case o.hold != 0 && !o.publish:
		return nil, errors.New("--hold goes with --publish")
	case o.hold < 0:
		return nil, errors.New("--hold must not be negative")
	}
	return o, nil
}

// delimiterOf reads --delimiter.
func delimiterOf(text string) (byte, error) {
	switch text {
	case "tab", `\t`:
		return '\t', nil
	}
	if len(text) != 1 || text[0] == '"' || text[0] == '\n' || text[0] == '\r' || text[0] >= 0x80 {
		return 0, fmt.Errorf("--delimiter %q: give one ASCII character other than a quote or a line end, or \"tab\"", text)
	}
	return text[0], nil
}

// sizeOf reads a capacity such as 4096, 64KiB, 256MiB, 1GiB (or KB, MB, GB: powers of 1000).
func sizeOf(text string) (int, error) {
	units := []struct {
		suffix string
		scale  int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	number, scale := text, 1
	for _, u := range units {
		if n, ok := strings.CutSuffix(text, u.suffix); ok {
			number, scale = n, u.scale
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(number), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--create %q: give a size such as 256MiB", text)
	}
	return int(n * float64(scale)), nil
}

// sink is where the batches go: a channel, a table to publish, or nowhere.
type sink struct {
	writer *shmpipe.Writer
	arrow  *shmpipe.ArrowWriter
	kept   []arrow.RecordBatch // --publish
}

func produce(o *options, stderr io.Writer) error {
	delim, err := delimiterOf(o.delimiter)
	if err != nil {
		return err
	}
	var given []column
	if o.schema != "" {
		if given, err = parseSchema(o.schema); err != nil {
			return err
		}
	}
	capacity := 0
	if o.create != "" {
		if capacity, err = sizeOf(o.create); err != nil {
			return err
		}
	}
	d := &dialect{delim: delim, nulls: []string{"", "NULL", "null"}, stringNulls: o.nullStrings}

	start := time.Now() // the summary's time: mapping, parsing and sending
	data, unmap, err := mapFile(o.file)
	if err != nil {
		return atFile(o.file, err)
	}
	defer unmap()
	pl, err := prepare(data, d, !o.noHeader, given, o.inferRows)
	if err != nil {
		return atFile(o.file, err)
	}

	// The channel is opened once the file is known to be readable.
	var out sink
	if !o.dryRun && !o.publish {
		if o.create != "" {
			// This command handles no signal while it writes: SIGINT,
			// SIGTERM or SIGHUP ends it, and the channel it created goes.
			defer shmpipe.RemoveNamesOnSignals()()
			out.writer, err = shmpipe.CreateWriter(o.channel, capacity)
		} else {
			out.writer, err = shmpipe.OpenWriter(o.channel, shmpipe.WithReadyTimeout(o.readyTimeout))
		}
		if err != nil {
			return err
		}
		out.arrow = shmpipe.NewArrowWriter(out.writer)
	}

	ctx := context.Background()
	progress := newProgress(stderr, len(data))
	var rows, batches int
	err = parseAll(ctx, data, pl, d, o.batchRows, o.workers, func(batch arrow.RecordBatch, end int) error {
		rows += int(batch.NumRows())
		batches++
		progress.update(end, rows)
		switch {
		case out.arrow != nil:
			if err := out.arrow.Write(ctx, batch); err != nil {
				return channelError(err, o, rows-int(batch.NumRows()))
			}
		case o.publish:
			batch.Retain()
			out.kept = append(out.kept, batch)
		}
		return nil
	})
	progress.done()
	if err != nil {
		if out.writer != nil {
			// Leave without closing the channel, so that the readers see
			// the writer gone rather than a clean end of a bad file.
			if o.create != "" {
				shmpipe.Unlink(o.channel)
			}
		}
		return atFile(o.file, err)
	}
	elapsed := time.Since(start)

	switch {
	case out.arrow != nil:
		if rows == 0 { // the readers still learn the columns
			if err := out.arrow.WriteSchema(ctx, pl.schema); err != nil {
				return channelError(err, o, 0)
			}
		}
		if o.create != "" {
			progress.note("waiting for the readers to take every batch")
			if err := drained(ctx, out.writer); err != nil {
				return channelError(err, o, rows)
			}
		}
		out.writer.Close()
		summary(stderr, o, rows, batches, len(data), elapsed, fmt.Sprintf("to channel %q", o.channel))
	case o.publish:
		return publish(o, pl.schema, out.kept, stderr, rows, batches, len(data), elapsed)
	default:
		summary(stderr, o, rows, batches, len(data), elapsed, "parsed (dry run)")
	}
	return nil
}

// drained waits until every reader has released every record: a claim of
// the largest record there is succeeds only on an empty ring (and, with no
// reader attached yet, waits for one to come and read).
func drained(ctx context.Context, w *shmpipe.Writer) error {
	if _, err := w.Claim(ctx, w.MaxRecordSize()); err != nil {
		return err
	}
	return w.Abort()
}

func publish(o *options, schema *arrow.Schema, batches []arrow.RecordBatch, stderr io.Writer, rows, count, size int, elapsed time.Duration) error {
	table := array.NewTableFromRecords(schema, batches)
	for _, b := range batches {
		b.Release()
	}
	// Stop on SIGINT/SIGTERM from here on, and unpublish on the way out.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	published, err := shmpipe.Publish(o.channel, table)
	table.Release()
	if err != nil {
		return err
	}
	defer published.Unpublish()
	debug.FreeOSMemory() // the table now lives in shared memory; the parsed copy goes
	summary(stderr, o, rows, count, size, elapsed, fmt.Sprintf("published as table %q", o.channel))
	var until <-chan time.Time
	if o.hold > 0 {
		fmt.Fprintf(stderr, "shmpipe-csv: holding table %q for %v (Ctrl-C removes it sooner)\n", o.channel, o.hold)
		until = time.After(o.hold)
	} else {
		fmt.Fprintf(stderr, "shmpipe-csv: holding table %q until Ctrl-C\n", o.channel)
	}
	select {
	case <-signals:
	case <-until:
	}
	return nil
}

// channelError words a failure to write to the channel.
func channelError(err error, o *options, sent int) error {
	switch {
	case errors.Is(err, shmpipe.ErrTooLarge):
		return fmt.Errorf("%w (give a smaller --batch-rows, or a larger channel)", err)
	case errors.Is(err, shmpipe.ErrClosed), errors.Is(err, shmpipe.ErrPeerGone):
		return fmt.Errorf("%w (after %d rows were sent)", err, sent)
	}
	return err
}

// atFile puts the file's name before a parse error's line.
func atFile(file string, err error) error {
	var pe *parseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %s", file, pe.line, pe.msg)
	}
	var pathError *os.PathError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: no such file", file)
	case errors.As(err, &pathError):
		return fmt.Errorf("%s: %w", file, pathError.Err)
	case strings.HasPrefix(err.Error(), file):
		return err
	}
	return fmt.Errorf("%s: %w", file, err)
}

func summary(stderr io.Writer, o *options, rows, batches, size int, elapsed time.Duration, where string) {
	seconds := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(stderr, "shmpipe-csv: %s rows in %s batches, %.1f MB in %.2f s (%.1f MB/s, %.2f M rows/s), %s\n",
		thousands(rows), thousands(batches), float64(size)/1e6, seconds, float64(size)/1e6/seconds, float64(rows)/1e6/seconds, where)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// progress shows how far the parse is, on a terminal only.
type progress struct {
	out   *os.File
	size  int
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(stderr io.Writer, size int) *progress {
	f, ok := stderr.(*os.File)
	if !ok {
		return &progress{}
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	now := time.Now()
	return &progress{out: f, size: size, start: now, last: now}
}

func (p *progress) update(offset, rows int) {
	if p.out == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	mbps := float64(offset) / 1e6 / time.Since(p.start).Seconds()
	fmt.Fprintf(p.out, "\rshmpipe-csv: %3.0f%%  %s rows  %.0f MB/s\033[K", 100*float64(offset)/float64(max(p.size, 1)), thousands(rows), mbps)
	p.shown = true
}

func (p *progress) note(text string) {
	if p.out != nil {
		fmt.Fprintf(p.out, "shmpipe-csv: %s\n", text)
		p.shown = true
	}
}

func (p *progress) done() {
	if p.out != nil && p.shown {
		fmt.Fprint(p.out, "\r\033[K")
	}
}
