package main

// Batches as they are received, their bodies in buffers that are reused:
// a DoGet's by the client (pull), a DoPut's by the server. Decoded into new Go slices, every 16 MiB body
// was zeroed by Go before the copy into it, and, once collected, went
// back to the kernel and was faulted in again for a later one: about a
// third of pull's CPU on a 1 GiB table (perf: memclr, page faults). Here
// the body is copied from gRPC's frames into a buffer from a pool, which
// arrow-go's arrays hold through its reference count: the buffer goes
// back to the pool when the last of them is released, never before, and
// is overwritten only then (a batch kept, as pull --table keeps them all,
// keeps its buffer). The pool is a sync.Pool per size class, which Go's
// collector empties when buffers go unused.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// receivedData is a FlightData whose body is in a buffer of bodies.
type receivedData struct {
	header []byte
	body   []byte // nil if none; from bodies
}

// pooledBody is the smallest body taken from the pool (smaller ones are
// ordinary slices: zeroing them costs little).
const pooledBody = 1 << 20

// bodyPool holds buffers of 2^k bytes in pools[k].
type bodyPool struct{ pools [64]sync.Pool }

var bodies = &bodyPool{}

func (p *bodyPool) get(n int) []byte {
	if n < pooledBody {
		return make([]byte, n)
	}
	class := bits.Len(uint(n - 1))
	if b, ok := p.pools[class].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<class)
}

// Allocate and Reallocate are memory.Allocator's; bodies only frees.
func (p *bodyPool) Allocate(int) []byte {
	panic("shmpipe-flight: the body pool does not allocate for arrow-go")
}
func (p *bodyPool) Reallocate(int, []byte) []byte {
	panic("shmpipe-flight: the body pool does not allocate for arrow-go")
}

// Free takes a body back once arrow-go released the last array over it.
func (p *bodyPool) Free(b []byte) {
	if cap(b) < pooledBody || cap(b)&(cap(b)-1) != 0 {
		return
	}
	b = b[:cap(b)]
	p.pools[bits.Len(uint(cap(b)-1))].Put(&b)
}

// eachBytesField walks the protobuf fields of a FlightData in gRPC's
// frames. For each length-delimited field (the header, the body, the
// descriptor, app_metadata) field gets its number and length, with r at
// its content, and consumes exactly n bytes of r, or returns stop to end
// the walk there; fields of other wire types are skipped. An error is the
// message's: "a Flight message that is not protobuf".
func eachBytesField(data mem.BufferSlice, field func(number protowire.Number, n uint64, r *mem.Reader) (stop bool, err error)) error {
	r := data.Reader()
	defer r.Close()
	for r.Remaining() > 0 {
		tag, err := binary.ReadUvarint(r)
		if err != nil {
			return notProtobuf(err)
		}
		number, kind := protowire.DecodeTag(tag)
		switch kind {
		case protowire.VarintType:
			_, err = binary.ReadUvarint(r)
		case protowire.Fixed32Type:
			_, err = r.Discard(4)
		case protowire.Fixed64Type:
			_, err = r.Discard(8)
		case protowire.BytesType:
			var n uint64
			if n, err = binary.ReadUvarint(r); err == nil && n > uint64(r.Remaining()) {
				err = fmt.Errorf("a field of %d bytes in the %d left", n, r.Remaining())
			}
			if err == nil {
				var stop bool
				if stop, err = field(number, n, r); stop && err == nil {
					return nil
				}
			}
		default:
			err = fmt.Errorf("field %d of wire type %d", number, kind)
		}
		if err != nil {
			return notProtobuf(err)
		}
	}
	return nil
}

func notProtobuf(err error) error {
	return fmt.Errorf("a Flight message that is not protobuf: %v", err)
}

// decodeReceived parses a FlightData from gRPC's frames, copying its body
// once, into a buffer from bodies.
func decodeReceived(data mem.BufferSlice, m *receivedData) error {
	err := eachBytesField(data, func(number protowire.Number, n uint64, r *mem.Reader) (bool, error) {
		var err error
		switch number {
		case fieldDataHeader:
			m.header = make([]byte, n)
			_, err = io.ReadFull(r, m.header)
		case fieldDataBody:
			m.body = bodies.get(int(n))
			_, err = io.ReadFull(r, m.body)
		default: // the descriptor and app_metadata: not for a DoGet's client
			_, err = r.Discard(int(n))
		}
		return false, err
	})
	if err != nil && m.body != nil {
		bodies.Free(m.body)
	}
	return err
}

// messageStream is a stream of Flight messages: a DoGet's, as its client
// receives it, or a DoPut's, as the server receives it.
type messageStream interface{ RecvMsg(any) error }

// receivedMessages is an ipc.MessageReader over a DoGet's or a DoPut's
// stream: each message's body is a memory.Buffer that gives its bytes back
// to bodies when released.
type receivedMessages struct {
	stream messageStream
	first  *flight.FlightData // a DoPut's first message, received already (for its descriptor): read first
	msg    *ipc.Message       // the last one, held until the next (as arrow-go's own reader does)
	refs   atomic.Int64
}

// newReceivedMessages reads stream, after first if it is not nil.
func newReceivedMessages(stream messageStream, first *flight.FlightData) *receivedMessages {
	m := &receivedMessages{stream: stream, first: first}
	m.refs.Add(1)
	return m
}

func (m *receivedMessages) Message() (*ipc.Message, error) {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
	if first := m.first; first != nil && len(first.DataHeader) > 0 {
		m.first = nil // its body is a slice of its own, not from bodies
		meta, body := memory.NewBufferBytes(first.DataHeader), memory.NewBufferBytes(first.DataBody)
		m.msg = ipc.NewMessage(meta, body) // holds both
		meta.Release()
		body.Release()
		return m.msg, nil
	}
	m.first = nil
	var d receivedData
	for len(d.header) == 0 { // a message without an Arrow header (app_metadata only) carries no batch
		d = receivedData{}
		if err := m.stream.RecvMsg(&d); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if len(d.header) == 0 && d.body != nil {
			bodies.Free(d.body)
		}
	}
	meta := memory.NewBufferBytes(d.header)
	body := memory.NewBufferBytes(nil)
	if d.body != nil {
		body = memory.NewBufferWithAllocator(d.body, bodies)
	}
	m.msg = ipc.NewMessage(meta, body) // holds both
	meta.Release()
	body.Release()
	return m.msg, nil
}

func (m *receivedMessages) Retain() { m.refs.Add(1) }

func (m *receivedMessages) Release() {
	if m.refs.Add(-1) == 0 && m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
}

var _ ipc.MessageReader = (*receivedMessages)(nil)
var _ memory.Allocator = (*bodyPool)(nil)
