package main

// A DoPut into a channel, written as gRPC decodes it: each FlightData's
// Arrow message goes into the channel as the client encoded it, its body
// copied once, from gRPC's frames straight into the claimed record (the Go
// binding's MessageWriter lays it out and the core checks it). Decoded
// into arrays first, the body was copied into Go's memory, then again
// into the record, and arrow-go encoded each batch again.

import (
	"bytes"
	"context"
	"io"

	flatbuffers "github.com/google/flatbuffers/go"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// putData is one DoPut message; the codec (wire.go) hands it to decodePut.
type putData struct {
	ctx        context.Context
	to         *sink
	rows, size int64 // what it carried
	err        error // the channel's: the message was read, the channel refused it
}

// decodePut parses a FlightData from gRPC's frames and writes its Arrow
// message into m.to. An error of the channel's is m.err; the error
// returned is the message's (not protobuf).
func decodePut(data mem.BufferSlice, m *putData) error {
	var header, body []byte
	written, stopped := false, false
	err := eachBytesField(data, func(number protowire.Number, n uint64, r *mem.Reader) (bool, error) {
		var err error
		switch {
		case number == fieldDataHeader:
			header = make([]byte, n)
			_, err = io.ReadFull(r, header)
		case number == fieldDataBody && header != nil && !written:
			// The header came first (as every Flight library sends
			// it): the body goes straight into the channel.
			written = true
			m.write(header, int(n), io.LimitReader(r, int64(n)))
			if m.err != nil {
				stopped = true
				return true, nil // the rest of the message is of no use
			}
		case number == fieldDataBody:
			body = make([]byte, n)
			_, err = io.ReadFull(r, body)
		default: // the descriptor and app_metadata
			_, err = r.Discard(int(n))
		}
		return false, err
	})
	if err != nil || stopped {
		return err
	}
	if len(header) > 0 && !written {
		m.write(header, len(body), bytes.NewReader(body))
	}
	return nil
}

func (m *putData) write(header []byte, n int, body io.Reader) {
	if m.err = m.to.WriteMessage(m.ctx, header, n, body); m.err == nil {
		m.rows, m.size = batchRows(header), int64(n)
	}
}

// batchRows is the row count of a record batch message's metadata, 0 for
// another message. Call it only on metadata the core checked.
func batchRows(meta []byte) (rows int64) {
	const recordBatch = 3 // MessageHeader.RecordBatch (Message.fbs)
	defer func() {
		if recover() != nil {
			rows = 0
		}
	}()
	message := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	// Message: version (field 0), header_type (1), header (2).
	if o := flatbuffers.UOffsetT(message.Offset(6)); o == 0 || message.GetByte(o+message.Pos) != recordBatch {
		return 0
	}
	o := flatbuffers.UOffsetT(message.Offset(8))
	if o == 0 {
		return 0
	}
	batch := flatbuffers.Table{Bytes: meta, Pos: message.Indirect(o + message.Pos)}
	// RecordBatch: length (field 0).
	if o := flatbuffers.UOffsetT(batch.Offset(4)); o != 0 {
		return batch.GetInt64(o + batch.Pos)
	}
	return 0
}
