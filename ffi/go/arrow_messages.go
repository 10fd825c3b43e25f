package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"io"
)

// MessageWriter sends Arrow IPC messages that another Arrow library
// encoded (a Flight peer's FlightData: its data_header and data_body) down
// a channel without decoding them into arrays and encoding them again:
// each body buffer is copied once, from where the caller reads it (gRPC's
// frames) into the claimed record, at the place the core's layout gives it
// (shmp_arrow_align_buffers). The rules of the stream are the core's
// Arrow sender's, as for ArrowWriter; since the messages come from
// outside, the core checks their values too before each is committed. A
// reader that joins mid-stream gets the schema and the dictionaries sent
// so far again, as they were sent, before the next message.
type MessageWriter struct {
	w      *Writer
	sender *C.shmp_arrow_sender
	layout layout
	replay [][]byte // the last schema's record and every dictionary's since, as committed
	last   []byte   // the record being written
}

// NewMessageWriter writes encoded Arrow messages to w.
func NewMessageWriter(w *Writer) *MessageWriter { return &MessageWriter{w: w} }

// Write sends one message: metadata is its flatbuffer Message (after the
// 8 bytes of framing), and its body, bodyLen bytes with the buffers
// padded to 8 as Arrow libraries write them, is read from body straight
// into the record, waiting for room as ctx allows. A message the core
// refuses is not published (ErrArrow, naming the fault); a body that ends
// early is an error of body's, and nothing is published either.
func (m *MessageWriter) Write(ctx context.Context, metadata []byte, bodyLen int, body io.Reader) error {
	name := m.w.Name()
	if m.sender == nil {
		s, err := m.w.newArrowSender(false)
		if err != nil {
			return err
		}
		m.sender = s
	} else if len(m.replay) > 0 && C.shmp_arrow_sender_schema_owed(m.sender) != 0 {
		for _, record := range m.replay {
			if _, err := m.commit(ctx, len(record), func(into []byte) error { copy(into, record); return nil }); err != nil {
				return err
			}
		}
	}
	if err := m.layout.ofMeta(metadata, name); err != nil {
		return err
	}
	prefix := int(align64(uint64(8 + len(m.layout.meta))))
	kind, err := m.commit(ctx, prefix+m.layout.body, func(record []byte) error {
		putUint32(record[0:], 0xFFFFFFFF)
		putUint32(record[4:], uint32(prefix-8))
		clear(record[8+copy(record[8:], m.layout.meta) : prefix])
		fill := alignedBody{buf: record[prefix:], moves: m.layout.moves, seg: m.w.seg, name: name}
		if _, err := fill.ReadFrom(io.LimitReader(body, int64(bodyLen))); err != nil {
			return err
		}
		if fill.at != uint64(bodyLen) {
			return io.ErrUnexpectedEOF
		}
		fill.finish()
		return nil
	})
	if err != nil {
		return err
	}
	// The committed record stays as it is until this writer claims again
	// (readers map it read-only): a copy of it is exact.
	switch kind {
	case C.SHMP_ARROW_SCHEMA:
		m.replay = [][]byte{m.lastRecord(prefix + m.layout.body)}
	case C.SHMP_ARROW_DICTIONARY:
		m.replay = append(m.replay, m.lastRecord(prefix+m.layout.body))
	}
	return nil
}

// commit claims n bytes, lets fill write them and has the core's sender
// check and commit them; returns the message's kind.
func (m *MessageWriter) commit(ctx context.Context, n int, fill func([]byte) error) (int, error) {
	record, err := m.w.Claim(ctx, n)
	if err != nil {
		return 0, err
	}
	m.last = record
	if err := fill(record); err != nil {
		m.w.Abort()
		C.shmp_arrow_sender_abort(m.sender) // the readers cannot know what was meant: the schema is owed
		return 0, err
	}
	return m.w.commitArrow(m.sender, n)
}

func (m *MessageWriter) lastRecord(n int) []byte { return append([]byte(nil), m.last[:n]...) }

// Close marks end-of-stream for the readers and closes the channel's
// writer (see Writer.Close).
func (m *MessageWriter) Close() error {
	m.release()
	return m.w.Close()
}

// Abandon gives up the stream without ending it (see Writer.Abandon).
func (m *MessageWriter) Abandon() {
	m.release()
	m.w.Abandon()
}

func (m *MessageWriter) release() {
	if m.sender != nil {
		C.shmp_arrow_sender_free(m.sender)
		m.sender = nil
	}
}
