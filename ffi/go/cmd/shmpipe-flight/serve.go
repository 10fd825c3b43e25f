package main

// shmpipe-flight serve: this machine's channels and published tables over
// Arrow Flight, only the names the operator lists.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

const serveUsage = `usage: shmpipe-flight serve --serve PATTERNS [options]

Serves this machine's shmpipe channels and published tables over Arrow
Flight (gRPC), only those whose names match PATTERNS: nothing else is
reachable through it.

  DoGet(ticket NAME)       a published table, streamed from shared memory
                           (kept mapped until 10s after the last DoGet of
                           it began, so that the next one does not map it
                           again); a channel, joined as a reader and
                           streamed live until its writer ends it
  DoPut(descriptor)        the stream written into a new local channel
                           (path [NAME]), or published as a table (command
                           {"name": NAME, "publish": true[, "persist": true]});
                           a command may also give "capacity" (bytes)
  ListFlights, GetFlightInfo, GetSchema
                           the served names with their kind and, for tables,
                           schema, rows and bytes (a channel's schema is known
                           only to its readers: DoGet it)

It prints one line, "listening on grpc://HOST:PORT", when it is ready.

options:
  --serve PATTERNS    comma-separated names or shell patterns ('features,ticks-*')
  --listen HOST:PORT  where to listen (default 127.0.0.1:8815; port 0: any free one)
  --tls-cert FILE     TLS certificate (PEM), with --tls-key
  --tls-key FILE      TLS private key (PEM)
  --token-file FILE   the token clients must present in Flight's auth handshake
                      (else $SHMPIPE_FLIGHT_TOKEN; none: no token asked)
  --capacity BYTES    capacity of the channels DoPut creates (default: the
                      core's default, grown to hold 4 batches like the first)
  --linger DURATION   how long a channel DoPut wrote waits at its end for a
                      first local reader (default 30s)
  --quiet             no line per transfer on stderr

A --listen address other than loopback needs --tls-cert, --tls-key and a token.`

// server is the Flight service.
type server struct {
	flight.BaseFlightServer
	patterns []string
	capacity int
	linger   time.Duration
	quiet    bool

	mu        sync.Mutex
	published map[string]*shmpipe.PublishedTable // tables DoPut published (they go when the bridge ends)
}

func serve(args []string) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.Usage = func() {}
	flags.SetOutput(io.Discard)
	patterns := flags.String("serve", "", "")
	listen := flags.String("listen", "127.0.0.1:8815", "")
	certFile := flags.String("tls-cert", "", "")
	keyFile := flags.String("tls-key", "", "")
	tokenFile := flags.String("token-file", "", "")
	capacity := flags.Int("capacity", 0, "")
	linger := flags.Duration("linger", shmpipe.DefaultLinger, "")
	quiet := flags.Bool("quiet", false, "")
	if err := flags.Parse(args); err != nil {
		return usageErr{err}
	}
	if flags.NArg() > 0 {
		return usageErr{fmt.Errorf("serve takes no operands (%q): names go in --serve", flags.Arg(0))}
	}
	if *patterns == "" {
		return usageErr{errors.New("--serve is required: the names (or patterns) this server may serve, nothing else is reachable")}
	}
	s := &server{capacity: *capacity, linger: *linger, quiet: *quiet, published: map[string]*shmpipe.PublishedTable{}}
	for _, p := range strings.Split(*patterns, ",") {
		p = strings.TrimSpace(p)
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return usageErr{fmt.Errorf("--serve: %q is not a name or a pattern", p)}
		}
		s.patterns = append(s.patterns, p)
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return usageErr{errors.New("--tls-cert and --tls-key go together")}
	}
	useTLS := *certFile != ""
	if !isLoopback(*listen) && (!useTLS || token == "") {
		return usageErr{fmt.Errorf("--listen %s is reachable from other machines: it needs TLS (--tls-cert, --tls-key) and a token (--token-file or $SHMPIPE_FLIGHT_TOKEN), so that only who holds the token reads or writes what is served; listen on 127.0.0.1 otherwise", *listen)}
	}
	options := serverOptions()
	if useTLS {
		creds, err := credentials.NewServerTLSFromFile(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("cannot load the TLS certificate and key: %v", err)
		}
		options = append(options, grpc.Creds(creds))
	}
	if token != "" {
		s.SetAuthHandler(tokenAuth{[]byte(token)})
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", *listen, err)
	}
	srv := flight.NewServerWithMiddleware(nil, options...)
	srv.InitListener(listener)
	srv.RegisterFlightService(s)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-signals
		s.unpublishAll()
		os.Exit(0)
	}()

	where := address{hostPort: listener.Addr().String(), tls: useTLS}
	fmt.Printf("listening on %s\n", where)
	os.Stdout.Sync()
	err = srv.Serve()
	s.unpublishAll()
	return err
}

func (s *server) unpublishAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, table := range s.published {
		table.Unpublish()
		delete(s.published, name)
	}
}

func (s *server) served(name string) bool {
	for _, p := range s.patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// check refuses a name not served, or not on this machine.
func (s *server) check(name string) error {
	if !s.served(name) {
		return status.Errorf(codes.NotFound, "%q is not served here: this server serves only %s", name, strings.Join(s.patterns, ", "))
	}
	return nil
}

// localError turns the binding's error into a gRPC status.
func localError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return status.Errorf(codes.NotFound, "no channel or published table named %q on this machine (%v)", name, err)
	}
	if errors.Is(err, fs.ErrExist) {
		return status.Errorf(codes.AlreadyExists, "%v", err)
	}
	if errors.Is(err, shmpipe.ErrPeerGone) {
		return status.Errorf(codes.Aborted, "the writer of %q died mid-stream: %v", name, err)
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "the client went away")
	}
	var changed *schemaChanged
	if errors.As(err, &changed) {
		return status.Error(codes.FailedPrecondition, changed.Error())
	}
	var ours *shmpipe.Error
	if errors.As(err, &ours) {
		return status.Error(codes.FailedPrecondition, ours.Message)
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}

// request is what a Flight descriptor asks for.
type request struct {
	Name     string `json:"name"`
	Publish  bool   `json:"publish"`
	Persist  bool   `json:"persist"`
	Capacity int    `json:"capacity"`
}

func parseDescriptor(d *flight.FlightDescriptor) (request, error) {
	if d == nil {
		return request{}, status.Error(codes.InvalidArgument, "no flight descriptor: give path [NAME] or a command {\"name\": NAME}")
	}
	switch d.Type {
	case flight.DescriptorPATH:
		if len(d.Path) != 1 {
			return request{}, status.Errorf(codes.InvalidArgument, "a descriptor's path is one name, not %d parts", len(d.Path))
		}
		return request{Name: d.Path[0]}, nil
	case flight.DescriptorCMD:
		var r request
		decoder := json.NewDecoder(bytes.NewReader(d.Cmd))
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&r); err != nil || r.Name == "" {
			return request{}, status.Errorf(codes.InvalidArgument, "a descriptor's command is JSON {\"name\": NAME, \"publish\": BOOL, \"persist\": BOOL, \"capacity\": BYTES} (%q)", d.Cmd)
		}
		return r, nil
	}
	return request{}, status.Error(codes.InvalidArgument, "a descriptor is a path [NAME] or a command {\"name\": NAME}")
}

// kindMetadata is a FlightInfo's app_metadata: what the name holds.
type kindMetadata struct {
	Kind string `json:"kind"`
}

func (s *server) info(name string) (*flight.FlightInfo, error) {
	local, err := inspect(name)
	if err != nil {
		return nil, localError(name, err)
	}
	meta, _ := json.Marshal(kindMetadata{local.kind.String()})
	info := &flight.FlightInfo{
		FlightDescriptor: &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{name}},
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: []byte(name)}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
		AppMetadata:      meta,
	}
	if local.kind == kindTable {
		table, err := shmpipe.OpenTable(name)
		if err != nil {
			return nil, localError(name, err)
		}
		defer table.Release()
		info.Schema = flight.SerializeSchema(table.Schema(), memory.DefaultAllocator)
		info.TotalRecords = table.NumRows()
		batches := array.NewTableReader(table, -1)
		defer batches.Release()
		for info.TotalBytes = 0; batches.Next(); {
			info.TotalBytes += batchBytes(batches.RecordBatch())
		}
	}
	return info, nil
}

func (s *server) ListFlights(criteria *flight.Criteria, stream flight.FlightService_ListFlightsServer) error {
	names, err := localNames()
	if err != nil {
		return localError("", err)
	}
	for _, name := range names {
		if !s.served(name) {
			continue
		}
		info, err := s.info(name)
		if err != nil {
			continue // gone meanwhile, or not readable by this user
		}
		if err := stream.Send(info); err != nil {
			return err
		}
	}
	return nil
}

func (s *server) GetFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	r, err := parseDescriptor(d)
	if err != nil {
		return nil, err
	}
	if err := s.check(r.Name); err != nil {
		return nil, err
	}
	return s.info(r.Name)
}

func (s *server) GetSchema(ctx context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	info, err := s.GetFlightInfo(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(info.Schema) == 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "%q is a channel: its schema comes with its stream (DoGet it)", info.FlightDescriptor.Path[0])
	}
	return &flight.SchemaResult{Schema: info.Schema}, nil
}

func (s *server) DoGet(ticket *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	name := string(ticket.Ticket)
	if err := s.check(name); err != nil {
		return err
	}
	src, k, err := openSource(stream.Context(), name)
	if err != nil {
		return localError(name, err)
	}
	defer src.Release()
	start := time.Now()
	rows, size, err := sendBatches(src, stream.SendMsg, nil, nil)
	if err != nil {
		s.logf("DoGet %s (%s) to %s failed after %d rows: %s", name, k, peerOf(stream.Context()), rows, statusMessage(err))
		return localError(name, err)
	}
	s.logf("DoGet %s (%s) to %s: %s", name, k, peerOf(stream.Context()), rate(rows, size, time.Since(start)))
	return nil
}

// sendBatches streams a record reader into Flight messages: its schema,
// then each batch split to fit a message. desc goes with the first
// message (DoPut).
func sendBatches(src array.RecordReader, send func(any) error, desc *flight.FlightDescriptor, progress *progress) (rows, size int64, err error) {
	w := newRecordSender(send, src.Schema(), desc)
	for src.Next() {
		batch := src.RecordBatch()
		total, batchRows := batchBytes(batch), max(batch.NumRows(), 1)
		pieces, err := splitForWire(batch)
		if err != nil {
			return rows, size, err
		}
		for _, piece := range pieces {
			if err == nil {
				err = w.Write(piece)
				n := total * piece.NumRows() / batchRows
				rows += piece.NumRows()
				size += n
				progress.add(piece.NumRows(), n)
			}
			piece.Release()
		}
		if err != nil {
			return rows, size, err
		}
	}
	if err := src.Err(); err != nil {
		return rows, size, err
	}
	return rows, size, w.Close()
}

func (s *server) DoPut(stream flight.FlightService_DoPutServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	r, err := parseDescriptor(first.FlightDescriptor)
	if err != nil {
		return err
	}
	if err := s.check(r.Name); err != nil {
		return err
	}
	start := time.Now()
	var rows, size int64
	if r.Publish {
		rows, size, err = s.publish(stream, r, first)
	} else {
		rows, size, err = s.receive(stream, r, first)
	}
	if err != nil {
		s.logf("DoPut %s from %s failed: %s", r.Name, peerOf(stream.Context()), statusMessage(err))
		return localError(r.Name, err)
	}
	s.logf("DoPut %s from %s: %s", r.Name, peerOf(stream.Context()), rate(rows, size, time.Since(start)))
	return nil
}

// publish gathers the stream and publishes it as a table, owned by the
// bridge (it goes when the bridge ends) unless persist was asked.
func (s *server) publish(stream flight.FlightService_DoPutServer, r request, first *flight.FlightData) (rows, size int64, err error) {
	// The batches, their bodies in reused buffers (received.go).
	reader, err := ipc.NewReaderFromMessageReader(newReceivedMessages(stream, first)) // it releases the messages' reader
	if err != nil {
		return 0, 0, fmt.Errorf("the stream broke before its schema; nothing was published: %w", err)
	}
	defer reader.Release()
	out := &sink{sinkOptions: sinkOptions{name: r.Name, kind: kindTable, persist: r.Persist}}
	for reader.Next() {
		batch := reader.RecordBatch()
		rows += batch.NumRows()
		size += batchBytes(batch)
		out.Write(stream.Context(), batch)
	}
	if err := reader.Err(); err != nil {
		out.Abandon()
		return rows, size, fmt.Errorf("the stream broke after %d rows; nothing was published: %w", rows, err)
	}
	if err := out.Finish(stream.Context(), reader.Schema()); err != nil {
		return rows, size, err
	}
	if !r.Persist {
		s.mu.Lock()
		s.published[r.Name] = out.table
		s.mu.Unlock()
	}
	return rows, size, nil
}

// receive writes the stream into a new channel as it comes, in this
// process, message by message as the client encoded them: each body goes
// from gRPC's frames straight into its record (put.go), and the core
// checks every message before it is committed. A stream that breaks (the
// client went away, or sent what is not Arrow) abandons the channel: its
// name goes and its readers see their writer gone, never a clean end.
func (s *server) receive(stream flight.FlightService_DoPutServer, r request, first *flight.FlightData) (rows, size int64, err error) {
	capacity := r.Capacity
	if capacity == 0 {
		capacity = s.capacity
	}
	out := &sink{sinkOptions: sinkOptions{name: r.Name, kind: kindChannel, capacity: capacity, linger: s.linger}}
	ctx := stream.Context()
	if len(first.DataHeader) > 0 {
		err = out.WriteMessage(ctx, first.DataHeader, len(first.DataBody), bytes.NewReader(first.DataBody))
		rows, size = batchRows(first.DataHeader), int64(len(first.DataBody))
	}
	for err == nil {
		m := putData{ctx: ctx, to: out}
		if err = stream.RecvMsg(&m); err != nil {
			break
		}
		if err = m.err; err == nil {
			rows += m.rows
			size += m.size
		}
	}
	if err != io.EOF {
		out.Abandon()
		var local *shmpipe.Error
		if errors.As(err, &local) {
			return rows, size, err
		}
		return rows, size, fmt.Errorf("the stream broke after %d rows; the channel %q was removed and its readers see their writer gone: %w", rows, r.Name, err)
	}
	return rows, size, out.FinishMessages(ctx)
}

func peerOf(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok {
		return p.Addr.String()
	}
	return "?"
}

func (s *server) logf(format string, args ...any) {
	if !s.quiet {
		fmt.Fprintf(os.Stderr, program+" serve: "+format+"\n", args...)
	}
}
