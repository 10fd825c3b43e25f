package shmpipe

/*
#include <stdlib.h>
#include "shmpipe.h"
*/
import "C"

import (
	"context"
	"io"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// PublishedTable is a table this process published: written once into a
// segment of its own, read in place by any number of processes at once.
type PublishedTable struct {
	Name       string
	OwnerPid   int  // the publishing process, as the segment records it
	Persistent bool // published with Persist(): it outlives this process
	seg        *segment
}

// Unpublish removes the table's name (a persistent one's too); processes
// that opened it keep it.
func (p *PublishedTable) Unpublish() {
	if p.seg == nil {
		return
	}
	if p.Persistent {
		Unpublish(p.Name) // a name already unpublished by another process is no error here
	}
	p.seg.close()
	p.seg = nil
}

// Unpublish removes the published table name (persistent or not), from
// any process of its user (WithAllowOtherOwner for another's); the core
// checks that it is a table, not a channel. Processes that opened it keep
// it.
func Unpublish(name string, options ...Option) error {
	c := configOf(options)
	flags := C.uint32_t(0)
	if c.allowOtherOwner {
		flags |= openAllowOtherOwner
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.shmp_error
	// The core also forgets the name as this process's: a later segment under it is another's.
	if C.shmp_table_unpublish(cname, flags, &e) != 0 {
		return fromCore(&e)
	}
	return nil
}

// Publish writes table once into a new segment named name, for OpenTable
// in any process (in any language). The name goes when this process
// unpublishes it or exits, unless Persist() is given: then it stays until
// Unpublish(name) in any process.
func Publish(name string, table arrow.Table, options ...Option) (*PublishedTable, error) {
	var size footprint
	if err := sizing(name, &size).WriteTable(context.Background(), table); err != nil {
		return nil, err
	}
	w, err := CreateWriter(name, int(size.bytes), append(options, asTable())...)
	if err != nil {
		return nil, err
	}
	// The segment was sized for exactly these messages: nothing waits.
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	a := NewArrowWriter(w)
	defer a.out.release()
	if err := a.WriteTable(ctx, table); err != nil {
		w.discard()
		return nil, err
	}
	persist := configOf(options).persist
	seg := w.seal(persist)
	if persist { // sealed: from now on the name outlives this process
		seg.keep()
	}
	return &PublishedTable{Name: name, OwnerPid: int(C.shmp_segment_creator_pid(seg.ptr)), Persistent: persist, seg: seg}, nil
}

// OpenTable returns the table published as name; its buffers are slices of
// the segment, which stays mapped until every batch of the table (and every
// array taken from it) is released, also after the publisher is gone.
// Release the table when done with it.
func OpenTable(name string, options ...Option) (arrow.Table, error) {
	c := configOf(append(options, withReadOnlyData(), asTable()))
	seg, err := openSegment(name, c)
	if err != nil {
		return nil, err
	}
	defer seg.close()
	var e C.shmp_error
	table := C.shmp_table_open(seg.ptr, C.int64_t(c.readyTimeout.Nanoseconds()), &e)
	if table == nil {
		return nil, fromCore(&e)
	}
	defer C.shmp_reader_close(table)
	// A table's records never change: each is read in place, holding the
	// mapping (not a place in a ring) while its batch lives.
	src, err := newMessageSource(name, "open", func(context.Context) (*record, error) {
		var offset C.uint64_t
		length := int64(C.shmp_reader_peek(table, &offset, &e))
		if length == int64(ErrClosed.Code) {
			return nil, io.EOF
		}
		if length < 0 {
			return nil, fromCore(&e)
		}
		bytes, err := seg.bytes(int(offset), int(length), opOpen, &e)
		if err != nil {
			return nil, err
		}
		C.shmp_reader_release(table, nil)
		seg.ref()
		return &record{bytes: bytes, release: seg.unref}, nil
	})
	if err != nil {
		return nil, err
	}
	reader := &ArrowReader{src: src}
	defer reader.Close()
	var batches []arrow.RecordBatch
	defer func() {
		for _, batch := range batches {
			batch.Release()
		}
	}()
	for {
		batch, err := reader.Read(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		batches = append(batches, batch)
	}
	if reader.src.schema() == nil {
		return nil, usageError(ErrArrow.Code, "open", name, "the segment holds no Arrow schema: it is not a published table")
	}
	return array.NewTableFromRecords(reader.src.schema(), batches), nil
}

// schema is the schema of the stream read so far (nil if none came).
func (s *messageSource) schema() *arrow.Schema {
	if len(s.known) == 0 {
		return nil
	}
	schema, err := ipc.NewReaderFromMessageReader(&oneMessage{s.known[0]})
	if err != nil {
		return nil
	}
	defer schema.Release()
	return schema.Schema()
}

// oneMessage serves a single (schema) message to arrow-go.
type oneMessage struct{ message *ipc.Message }

func (o *oneMessage) Message() (*ipc.Message, error) {
	if o.message == nil {
		return nil, io.EOF
	}
	message := o.message
	o.message = nil
	message.Retain()
	return message, nil
}
func (o *oneMessage) Retain()  {}
func (o *oneMessage) Release() {}

// footprint adds up the ring bytes a stream of messages takes, laid out
// as recordPayloads lays them out.
type footprint struct {
	name   string
	bytes  int64
	layout layout
}

func (f *footprint) Start() error          { return nil }
func (f *footprint) Close() error          { return nil }
func (f *footprint) begin(context.Context) {}
func (f *footprint) failure() error        { return nil }
func (f *footprint) schemaOwed() bool      { return false }
func (f *footprint) release()              {}
func (f *footprint) WritePayload(payload ipc.Payload) error {
	if err := f.layout.of(payload, f.name); err != nil {
		return err
	}
	payloadBytes := align64(uint64(8+len(f.layout.meta))) + uint64(f.layout.body)
	f.bytes += int64(C.shmp_record_footprint(C.uint64_t(payloadBytes)))
	return nil
}
