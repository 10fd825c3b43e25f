package main

// shmpipe-flight pull and push: one name from a Flight server into this
// machine, or from this machine to a Flight server; and receive, the child
// through which serve writes a DoPut into a channel.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const pullUsage = `usage: shmpipe-flight pull ADDR NAME [LOCAL] [options]

Fetches NAME from the Flight server at ADDR (DoGet, ticket NAME) into
LOCAL on this machine (default: NAME). A table the server publishes
becomes a persistent published table here ('shmpipe unpublish LOCAL'
removes it); a channel becomes a new channel, written as the batches come,
which ends when the remote stream ends. If the stream breaks, nothing is
left half-written: a table is not published, the channel's name goes and
its readers see their writer gone.

options:
  --table             publish LOCAL as a table whatever the server says
  --channel           write LOCAL as a channel whatever the server says
  --capacity BYTES    the channel's capacity (default: the core's default,
                      grown to hold 4 batches like the first)
  --linger DURATION   how long the channel waits at its end for a first local
                      reader (default 30s)
  --token-file FILE   the server's token (else $SHMPIPE_FLIGHT_TOKEN)
  --tls-ca FILE       the CA certificate (PEM) that signed the server's
                      certificate (with grpc+tls://; default: the system's)
  --into CHANNEL      write into the existing channel CHANNEL (a pipeline's,
                      made by its runner) instead of creating LOCAL; if the
                      stream breaks, its readers see their writer gone
  --discard           fetch and count, keep nothing (no LOCAL): measures the
                      link and the server
  --wait DURATION     wait up to DURATION for NAME to appear on the server
                      (while it answers NOT_FOUND): a remote stage that
                      starts after this one (default 0: it must be there)
  --quiet             no progress, no summary

Progress (rows, bytes, rate) goes to stderr twice a second, then a summary.`

const pushUsage = `usage: shmpipe-flight push NAME ADDR [REMOTE] [options]

Sends the local NAME to the Flight server at ADDR (DoPut) as REMOTE
(default: NAME). A published table is sent whole and published there (the
descriptor's command {"name": REMOTE, "publish": true}); a channel is
joined as a reader and streamed live until its writer ends it (the
descriptor's path [REMOTE]), written there into a new channel.

options:
  --table             publish REMOTE as a table, also from a channel (its
                      whole stream, published when it ends)
  --channel           write REMOTE as a channel, also from a table
  --persist           the remote table outlives the server (default: it goes
                      when the server ends)
  --capacity BYTES    the remote channel's capacity
  --token-file FILE   the server's token (else $SHMPIPE_FLIGHT_TOKEN)
  --tls-ca FILE       the CA certificate (PEM) of the server's certificate
  --quiet             no progress, no summary`

func clientFlagSet(name, text string, c *clientFlags) *flag.FlagSet {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.Usage = func() {}
	flags.SetOutput(io.Discard)
	flags.StringVar(&c.tokenFile, "token-file", "", "")
	flags.StringVar(&c.caFile, "tls-ca", "", "")
	return flags
}

// parseInterleaved parses flags that may come before, between or after the operands.
func parseInterleaved(flags *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := flags.Parse(args); err != nil {
			return nil, usageErr{err}
		}
		if flags.NArg() == 0 {
			return operands, nil
		}
		operands = append(operands, flags.Arg(0))
		args = flags.Args()[1:]
	}
}

// interrupted is a context ended by SIGINT or SIGTERM (the stream then
// breaks as any other: nothing half-written is left).
func interrupted() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
}

func pull(args []string) error {
	var c clientFlags
	flags := clientFlagSet("pull", pullUsage, &c)
	asTable := flags.Bool("table", false, "")
	asChannel := flags.Bool("channel", false, "")
	capacity := flags.Int("capacity", 0, "")
	linger := flags.Duration("linger", shmpipe.DefaultLinger, "")
	quiet := flags.Bool("quiet", false, "")
	discard := flags.Bool("discard", false, "")
	into := flags.String("into", "", "")
	wait := flags.Duration("wait", 0, "")
	operands, err := parseInterleaved(flags, args)
	if err != nil {
		return err
	}
	if len(operands) < 2 || len(operands) > 3 {
		return usageErr{errors.New("pull takes ADDR NAME [LOCAL]")}
	}
	if *discard && len(operands) == 3 {
		return usageErr{errors.New("--discard writes nothing: it takes no LOCAL")}
	}
	if *asTable && *asChannel {
		return usageErr{errors.New("--table and --channel exclude each other")}
	}
	if *into != "" && (len(operands) == 3 || *asTable || *discard) {
		return usageErr{errors.New("--into names the channel written: it takes no LOCAL, --table or --discard")}
	}
	addr, err := parseAddress(operands[0])
	if err != nil {
		return usageErr{err}
	}
	name, local := operands[1], operands[1]
	if len(operands) == 3 {
		local = operands[2]
	}
	ctx, stop := interrupted()
	defer stop()
	client, err := dial(ctx, addr, c)
	if err != nil {
		return err
	}
	defer client.Close()

	if err := awaitName(ctx, client, addr, name, *wait); err != nil {
		return err
	}
	if *discard {
		return pullDiscard(ctx, client, addr, name, *quiet)
	}
	k := kindChannel
	switch {
	case *into != "":
		local = *into
	case *asTable:
		k = kindTable
	case *asChannel:
	default: // as the server says (a server other than shmpipe's may not say: a channel)
		info, err := client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{name}})
		if status.Code(err) == codes.NotFound || status.Code(err) == codes.Unauthenticated || status.Code(err) == codes.Unavailable {
			return explain(addr, err)
		}
		var meta kindMetadata
		if err == nil && json.Unmarshal(info.AppMetadata, &meta) == nil && meta.Kind == "table" {
			k = kindTable
		}
	}
	out := &sink{sinkOptions: sinkOptions{name: local, kind: k, persist: true, capacity: *capacity, linger: *linger, existing: *into != ""}}
	p := newProgress("pull "+name, *quiet)
	reader, err := doGet(ctx, client, addr, name)
	if err != nil {
		return err
	}
	defer reader.Release()
	for reader.Next() {
		batch := reader.RecordBatch()
		if err := out.Write(ctx, batch); err != nil {
			return fail(out, p, err)
		}
		p.add(batch.NumRows(), batchBytes(batch))
	}
	if err := reader.Err(); err != nil {
		return fail(out, p, fmt.Errorf("the stream from %s broke: %s", addr, statusMessage(err)))
	}
	if err := out.Finish(ctx, reader.Schema()); err != nil {
		return err // the core's sentence says what became of what was written
	}
	what := "channel " + local
	if k == kindTable {
		what = "persistent table " + local + " ('shmpipe unpublish " + local + "' removes it)"
	}
	p.done(fmt.Sprintf("pulled %s from %s into %s", name, addr, what))
	return nil
}

// awaitName waits up to wait for the server to have name (GetFlightInfo
// answers NOT_FOUND until then): the remote writer of a channel may start
// after this pull. Any other answer ends the wait, for DoGet to tell.
func awaitName(ctx context.Context, client flight.Client, addr address, name string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		_, err := client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{name}})
		if status.Code(err) != codes.NotFound || wait <= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s; waited %s for it (--wait)", statusMessage(err), wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// doGet asks the server for name's stream, as arrow-go batches (their
// bodies in reused buffers: received.go).
func doGet(ctx context.Context, client flight.Client, addr address, name string) (*ipc.Reader, error) {
	stream, err := client.DoGet(ctx, &flight.Ticket{Ticket: []byte(name)})
	if err != nil {
		return nil, explain(addr, err)
	}
	reader, err := ipc.NewReaderFromMessageReader(newReceivedMessages(stream, nil)) // it releases the messages' reader
	if err != nil {
		return nil, explain(addr, err)
	}
	return reader, nil
}

// pullDiscard fetches and counts, keeping nothing: what the link and the
// server give, without this machine's writing.
func pullDiscard(ctx context.Context, client flight.Client, addr address, name string, quiet bool) error {
	p := newProgress("pull "+name, quiet)
	reader, err := doGet(ctx, client, addr, name)
	if err != nil {
		return err
	}
	defer reader.Release()
	for reader.Next() {
		p.add(reader.RecordBatch().NumRows(), batchBytes(reader.RecordBatch()))
	}
	if err := reader.Err(); err != nil {
		return fmt.Errorf("the stream from %s broke after %d rows: %s", addr, p.rows, statusMessage(err))
	}
	p.done(fmt.Sprintf("pulled %s from %s and discarded it", name, addr))
	return nil
}

// fail ends a pull whose stream broke: a channel written in part is
// abandoned (never a clean end for its readers), and the error says what
// became of what arrived.
func fail(out *sink, p *progress, err error) error {
	p.stop()
	written := out.writer != nil
	out.Abandon() // the channel's readers see their writer gone, its name goes
	if out.kind == kindTable {
		return fmt.Errorf("%s; after %d rows, nothing was published as %s", statusMessage(err), p.rows, out.name)
	}
	if !written {
		return fmt.Errorf("%s; after %d rows, nothing was written to %s", statusMessage(err), p.rows, out.name)
	}
	return fmt.Errorf("%s; after %d rows, the channel %s was removed and its readers see their writer gone", statusMessage(err), p.rows, out.name)
}

func push(args []string) error {
	var c clientFlags
	flags := clientFlagSet("push", pushUsage, &c)
	persist := flags.Bool("persist", false, "")
	asTable := flags.Bool("table", false, "")
	asChannel := flags.Bool("channel", false, "")
	capacity := flags.Int("capacity", 0, "")
	quiet := flags.Bool("quiet", false, "")
	operands, err := parseInterleaved(flags, args)
	if err != nil {
		return err
	}
	if len(operands) < 2 || len(operands) > 3 {
		return usageErr{errors.New("push takes NAME ADDR [REMOTE]")}
	}
	if *asTable && *asChannel {
		return usageErr{errors.New("--table and --channel exclude each other")}
	}
	name := operands[0]
	addr, err := parseAddress(operands[1])
	if err != nil {
		return usageErr{err}
	}
	remote := name
	if len(operands) == 3 {
		remote = operands[2]
	}
	ctx, stop := interrupted()
	defer stop()
	src, k, err := openSource(ctx, name)
	if err != nil {
		return err
	}
	defer src.Release()
	client, err := dial(ctx, addr, c)
	if err != nil {
		return err
	}
	defer client.Close()
	publish := (k == kindTable || *asTable) && !*asChannel
	desc := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{remote}}
	if publish || *persist || *capacity > 0 {
		cmd, _ := json.Marshal(request{Name: remote, Publish: publish, Persist: *persist, Capacity: *capacity})
		desc = &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd}
	}
	stream, err := client.DoPut(ctx)
	if err != nil {
		return explain(addr, err)
	}
	p := newProgress("push "+name, *quiet)
	_, _, sendErr := sendBatches(src, stream.SendMsg, desc, p)
	if sendErr == nil {
		sendErr = stream.CloseSend()
	}
	// The server's verdict: its error explains a send that failed too.
	var recvErr error
	for recvErr == nil {
		_, recvErr = stream.Recv()
	}
	if recvErr != io.EOF {
		p.stop()
		if status.Code(recvErr) == codes.Unavailable || status.Code(recvErr) == codes.Unauthenticated {
			return explain(addr, recvErr)
		}
		return fmt.Errorf("%s refused the stream after %d rows: %s", addr, p.rows, statusMessage(recvErr))
	}
	if sendErr != nil {
		p.stop()
		return fmt.Errorf("after %d rows: %s", p.rows, statusMessage(sendErr))
	}
	what := "channel " + remote
	if publish {
		what = "table " + remote
	}
	p.done(fmt.Sprintf("pushed %s %s to %s as %s", k, name, addr, what))
	return nil
}

// progress prints rows, bytes and rate on stderr, at most twice a second,
// then a summary.
type progress struct {
	what        string
	quiet       bool
	rows, bytes int64
	start, last time.Time
	printed     bool
}

func newProgress(what string, quiet bool) *progress {
	now := time.Now()
	return &progress{what: what, quiet: quiet, start: now, last: now}
}

func (p *progress) add(rows, bytes int64) {
	if p == nil {
		return
	}
	p.rows += rows
	p.bytes += bytes
	if p.quiet {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 500*time.Millisecond {
		p.last = now
		p.printed = true
		fmt.Fprintf(os.Stderr, "%s: %s\n", p.what, rate(p.rows, p.bytes, now.Sub(p.start)))
	}
}

func (p *progress) stop() {}

func (p *progress) done(summary string) {
	if !p.quiet {
		fmt.Fprintf(os.Stderr, "%s: %s\n", summary, rate(p.rows, p.bytes, time.Since(p.start)))
	}
}

// rate is "1,000,000 rows, 64.0 MiB in 0.52 s (123.1 MiB/s)".
func rate(rows, bytes int64, elapsed time.Duration) string {
	seconds := max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("%s rows, %s in %.2f s (%s/s)", thousands(rows), human(bytes), seconds, human(int64(float64(bytes)/seconds)))
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
