package main

// Flight messages without the copies arrow-go and gRPC's protobuf codec
// make by default. arrow-go's flight.Writer copies each batch's body into a
// buffer of its own, and the codec copies it again into the encoded
// message; the bridge instead hands gRPC the encoded header and the batch's
// own buffers (in shared memory, for a table or a channel) as one
// mem.BufferSlice, which gRPC copies once, into its HTTP/2 frames. The
// batch is held until gRPC has written the last of its bytes (gRPC frees
// the buffers then), so a channel's record is not given back to its writer
// while it is still being sent.
//
// Received messages are decoded in one copy (gRPC's frames into one slice)
// instead of two: the body is a slice of that copy.

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// FlightData's fields (Flight.proto).
const (
	fieldDescriptor  = 1
	fieldDataHeader  = 2
	fieldAppMetadata = 3
	fieldDataBody    = 1000
)

// wireMessage is a FlightData already encoded, as gRPC sends it.
type wireMessage struct{ data mem.BufferSlice }

// codec is gRPC's protobuf codec, but for wireMessage (sent as it is) and
// FlightData (decoded with its body in place).
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{encoding.GetCodecV2("proto")} }

func (c codec) Name() string { return "proto" }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*wireMessage); ok {
		data := m.data
		m.data = nil // gRPC frees it once written
		return data, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	switch m := v.(type) {
	case *flight.FlightData:
		return decodeFlightData(data.Materialize(), m)
	case *receivedData: // a DoGet's client, a DoPut published as a table (received.go)
		return decodeReceived(data, m)
	case *putData: // a DoPut into a channel (put.go)
		return decodePut(data, m)
	}
	return c.proto.Unmarshal(data, v)
}

// decodeFlightData parses a FlightData whose byte fields stay slices of b.
func decodeFlightData(b []byte, m *flight.FlightData) error {
	m.Reset()
	for len(b) > 0 {
		number, kind, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("a Flight message that is not protobuf: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if kind != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(number, kind, b); n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		value, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("a Flight message that is not protobuf: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch number {
		case fieldDescriptor:
			m.FlightDescriptor = &flight.FlightDescriptor{}
			if err := proto.Unmarshal(value, m.FlightDescriptor); err != nil {
				return err
			}
		case fieldDataHeader:
			m.DataHeader = value
		case fieldAppMetadata:
			m.AppMetadata = value
		case fieldDataBody:
			m.DataBody = value
		}
	}
	return nil
}

// messageSender is an ipc.PayloadWriter that sends each payload as one
// wireMessage whose body is the batch's own buffers.
type messageSender struct {
	send    func(any) error          // the stream's SendMsg
	desc    *flight.FlightDescriptor // with the first message only (DoPut)
	current arrow.RecordBatch        // the batch being written: held while gRPC sends it
}

func (s *messageSender) Start() error { return nil }
func (s *messageSender) Close() error { return nil }

// small buffers are copied: gRPC keeps no reference to its pool for them.
const small = 4 << 10

func (s *messageSender) WritePayload(payload ipc.Payload) error {
	meta := payload.Meta()
	header := meta.Bytes()
	var body bodyParts
	if err := payload.SerializeBody(&body); err != nil {
		meta.Release()
		return err
	}
	var head []byte
	if s.desc != nil {
		descriptor, err := proto.Marshal(s.desc)
		if err != nil {
			meta.Release()
			return err
		}
		head = protowire.AppendTag(head, fieldDescriptor, protowire.BytesType)
		head = protowire.AppendBytes(head, descriptor)
		s.desc = nil
	}
	head = protowire.AppendTag(head, fieldDataHeader, protowire.BytesType)
	head = protowire.AppendBytes(head, header)
	meta.Release()
	if body.size > 0 {
		head = protowire.AppendTag(head, fieldDataBody, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(body.size))
	}
	if body.size+int64(len(head)) > maxMessage {
		return fmt.Errorf("a Flight message of %s is over protobuf's 2 GiB cap", human(body.size))
	}
	data := mem.BufferSlice{mem.SliceBuffer(head)}
	// The batch is held once for the message, and let go when gRPC frees
	// the last of the message's large buffers.
	var held *heldBatch
	for _, part := range body.parts {
		if len(part) < small || s.current == nil {
			data = append(data, mem.SliceBuffer(append([]byte(nil), part...)))
			continue
		}
		if held == nil {
			s.current.Retain()
			held = &heldBatch{batch: s.current}
		}
		held.refs.Add(1)
		part := part
		data = append(data, mem.NewBuffer(&part, held))
	}
	return s.send(&wireMessage{data})
}

// bodyParts collects a body's buffers and padding without copying them.
type bodyParts struct {
	parts [][]byte
	size  int64
}

func (b *bodyParts) Write(p []byte) (int, error) {
	b.parts = append(b.parts, p)
	b.size += int64(len(p))
	return len(p), nil
}

// heldBatch is the mem.BufferPool of a message's large buffers: when gRPC
// has freed them all, the batch is released.
type heldBatch struct {
	batch arrow.RecordBatch
	refs  atomic.Int32
}

func (h *heldBatch) Get(int) *[]byte { panic("shmpipe-flight: a batch's buffer is not for reuse") }

func (h *heldBatch) Put(*[]byte) {
	if h.refs.Add(-1) == 0 {
		h.batch.Release()
	}
}

// recordSender writes batches to a Flight stream through messageSender.
type recordSender struct {
	sender *messageSender
	ipc    *ipc.Writer
}

func newRecordSender(send func(any) error, schema *arrow.Schema, desc *flight.FlightDescriptor) *recordSender {
	s := &messageSender{send: send, desc: desc}
	return &recordSender{sender: s, ipc: ipc.NewWriterWithPayloadWriter(s, ipc.WithSchema(schema))}
}

func (r *recordSender) Write(batch arrow.RecordBatch) error {
	r.sender.current = batch
	defer func() { r.sender.current = nil }()
	return r.ipc.Write(batch)
}

func (r *recordSender) Close() error { return r.ipc.Close() }

var _ io.Writer = (*bodyParts)(nil)
