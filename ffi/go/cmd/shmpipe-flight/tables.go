package main

// Published tables kept open between DoGets. Opening a table maps it
// anew: each DoGet of a 1 GiB table then faulted in every page as it was
// sent and unmapped them all at its end, about 15 % of the bridge's CPU
// for the DoGet (perf, docs/BENCHMARKS.md). A table opened for one DoGet
// is kept for the next ones for as long as its name still names the same
// segment (the same file, as Python's pickling token tells it: its inode,
// its creator's pid and its capacity; a sealed table never changes), and
// let go keepOpen after the last DoGet that asked for it began, so that
// the memory of a table unpublished meanwhile is not held much longer
// than its last use. A DoGet holds the table (arrow-go's reference count) for as long
// as it sends it, whatever becomes of the entry.

/*
#include "shmpipe.h"
*/
import "C"

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// keepOpen is how long a table stays open after the last DoGet that asked for it began.
var keepOpen = 10 * time.Second

// segmentID tells one segment from another published under the same name.
type segmentID struct {
	inode    uint64
	creator  uint32
	capacity uint64
}

type openTable struct {
	table arrow.Table
	id    segmentID
	used  int // DoGets so far: an expiry set before the last one does nothing
}

type openTables struct {
	mu     sync.Mutex
	tables map[string]*openTable
}

var tables = &openTables{tables: map[string]*openTable{}}

// open returns the published table name (id, as inspect saw it just
// before), from the entry when it is still that segment, else opened now.
// Release the table when done with it.
func (c *openTables) open(name string, id segmentID) (arrow.Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.tables[name]
	if e != nil && e.id != id { // published again (or unpublished) since
		e.table.Release()
		delete(c.tables, name)
		e = nil
	}
	if e == nil {
		table, err := shmpipe.OpenTable(name)
		if err != nil {
			return nil, err
		}
		// Kept only if what was opened is the segment inspect saw (not
		// one published in between).
		if inode, ok := tableInode(table); !ok || inode != id.inode {
			return table, nil
		}
		e = &openTable{table: table, id: id}
		c.tables[name] = e
	}
	e.used++
	used := e.used
	time.AfterFunc(keepOpen, func() { c.expire(name, e, used) })
	e.table.Retain()
	return e.table, nil
}

func (c *openTables) expire(name string, e *openTable, used int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables[name] == e && e.used == used {
		e.table.Release()
		delete(c.tables, name)
	}
}

// tableInode is the inode of the file mapped under a table's first buffer.
func tableInode(table arrow.Table) (uint64, bool) {
	for i := 0; i < int(table.NumCols()); i++ {
		for _, chunk := range table.Column(i).Data().Chunks() {
			for _, buf := range chunk.Data().Buffers() {
				if buf != nil && buf.Len() > 0 {
					return inodeAt(uintptr(unsafe.Pointer(&buf.Bytes()[0])))
				}
			}
		}
	}
	return 0, false
}

// inodeAt is the inode of the file this process maps at address (as
// /proc/self/maps says; false if none).
func inodeAt(address uintptr) (uint64, bool) {
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, false
	}
	defer maps.Close()
	lines := bufio.NewScanner(maps)
	for lines.Scan() {
		// start-end perms offset dev inode [path]
		fields := bytes.Fields(lines.Bytes())
		if len(fields) < 5 {
			continue
		}
		var start, end uintptr
		if _, err := fmt.Sscanf(string(fields[0]), "%x-%x", &start, &end); err != nil || address < start || address >= end {
			continue
		}
		inode, err := strconv.ParseUint(string(fields[4]), 10, 64)
		return inode, err == nil && inode != 0
	}
	return 0, false
}

// idOf is the identity of a segment this process has open.
func idOf(s *C.shmp_segment) (segmentID, bool) {
	inode, ok := inodeAt(uintptr(C.shmp_segment_base(s)))
	return segmentID{inode: inode, creator: uint32(C.shmp_segment_creator_pid(s)), capacity: uint64(C.shmp_segment_capacity(s))}, ok
}
