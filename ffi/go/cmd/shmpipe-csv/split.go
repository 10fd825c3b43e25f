package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
)

// mapFile maps a file read-only; unmap ends the mapping (after which no
// slice of it may be used).
func mapFile(path string) (data []byte, unmap func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file (the file is memory-mapped: save a stream to a file first)", path)
	}
	if info.Size() == 0 {
		return nil, func() {}, nil
	}
	if info.Size() != int64(int(info.Size())) {
		return nil, nil, fmt.Errorf("%s is too large to map", path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(info.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	// Both workers read their parts front to back: ask for read-ahead.
	// syscall.Madvise(data, syscall.MADV_WILLNEED)
	return data, func() { syscall.Munmap(data) }, nil
}

// plan is what reading the header and the sample decided.
type plan struct {
	columns   []column
	schema    *arrow.Schema
	bodyStart int // where the first data record starts
	bodyLine  int // its line number
}

// prepare reads the header (if any) and infers the types --schema does not
// give from the first inferRows records.
func prepare(data []byte, d *dialect, header bool, given []column, inferRows int) (*plan, error) {
	p := newParser(data, nil, d)
	start, line := 0, 1
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) { // a UTF-8 byte order mark
		start = 3
	}
	var names []string
	if header {
		fields, next, err := p.readRecord(start, &line)
		if err != nil {
			return nil, err
		}
		if fields == nil {
			return nil, fmt.Errorf("the file is empty: it has no header line (give --no-header for a file without one)")
		}
		for _, f := range fields {
			names = append(names, string(f))
		}
		start = next
	}
	bodyLine := line

	columns := make([]column, 0, len(names))
	typed := make([]bool, 0, len(names))
	switch {
	case header:
		byName := map[string]column{}
		for _, c := range given {
			byName[c.name] = c
		}
		for _, name := range names {
			c, ok := byName[name]
			delete(byName, name)
			if !ok {
				c.name = name
			}
			columns = append(columns, c)
			typed = append(typed, ok)
		}
		for _, c := range given {
			if _, missing := byName[c.name]; missing {
				return nil, fmt.Errorf("--schema names column %q, which the header does not have (it has %s)", c.name, quotedNames(names))
			}
		}
	case len(given) > 0:
		columns = append(columns, given...)
		for range given {
			typed = append(typed, true)
		}
	}

	// A sample of records for the columns without a type.
	needSample := len(columns) == 0
	for _, t := range typed {
		needSample = needSample || !t
	}
	var sample [][][]byte
	if needSample {
		i, l := start, line
		for len(sample) < inferRows && i < len(data) {
			fields, next, err := p.readRecord(i, &l)
			if err != nil {
				return nil, err
			}
			if fields != nil {
				sample = append(sample, fields)
			}
			i = next
		}
	}
	if len(columns) == 0 { // no header and no schema: the first record says how many
		if len(sample) == 0 {
			return nil, fmt.Errorf("the file has no records, and no --schema says what its columns are")
		}
		for i := range sample[0] {
			columns = append(columns, column{name: fmt.Sprintf("f%d", i)})
			typed = append(typed, false)
		}
	}
	for c := range columns {
		if typed[c] {
			continue
		}
		var values [][]byte
		for _, record := range sample {
			if len(record) == len(columns) && !d.isNull(record[c]) {
				values = append(values, record[c])
			}
		}
		columns[c] = inferColumn(columns[c].name, values)
	}
	return &plan{columns: columns, schema: schemaOf(columns), bodyStart: start, bodyLine: bodyLine}, nil
}

func quotedNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}

// splitter cuts the file into spans of whole records, front to back. It
// follows quotes exactly (a newline inside a quoted field does not end a
// record), so that the spans can be parsed in parallel: runs without a
// quote are counted with bytes.Count, which reads many bytes per step.
type splitter struct {
	data  []byte
	pos   int
	line  int
	quote int // index of the next '"' at or after pos, len(data) if none; -1 before the first look
}

// next returns the next span of n records (fewer at the end of the file):
// data[start:end], its number of lines that end a record (records, plus
// empty lines), and the line it starts on.
func (s *splitter) next(n int) (start, end, rows, line int) {
	data := s.data
	start, line = s.pos, s.line
	i := s.pos
	for rows < n && i < len(data) {
		if s.quote < i {
			if q := bytes.IndexByte(data[i:], '"'); q >= 0 {
				s.quote = i + q
			} else {
				s.quote = len(data)
			}
		}
		if s.quote > i {
			limit := min(s.quote, i+1<<18)
			if c := bytes.Count(data[i:limit], []byte{'\n'}); rows+c < n {
				rows += c
				s.line += c
				i = limit
				continue
			}
			for rows < n { // the n-th newline is before limit
				i += bytes.IndexByte(data[i:limit], '\n') + 1
				rows++
				s.line++
			}
			continue
		}
		// A quoted field: on to its closing quote ("" is a quote inside it).
		i++
		for {
			q := bytes.IndexByte(data[i:], '"')
			if q < 0 { // never closed: the rest of the file is one record, and an error
				s.line += bytes.Count(data[i:], []byte{'\n'})
				i = len(data)
				break
			}
			s.line += bytes.Count(data[i:i+q], []byte{'\n'})
			i += q + 1
			if i < len(data) && data[i] == '"' {
				i++
				continue
			}
			break
		}
	}
	if i >= len(data) && i > start && data[len(data)-1] != '\n' {
		rows++ // the last record has no newline
	}
	s.pos = i
	return start, i, rows, line
}

// job is one span for a worker, and where its batch goes.
type job struct {
	start, end, rows, line int
	done                   chan result
}

type result struct {
	batch arrow.RecordBatch
	err   error
}

// parseAll parses data's records into batches of batchRows rows on
// `workers` goroutines and hands them to emit in file order, with the
// offset just past each batch's last record. It returns emit's error or
// the first parse error in file order; it has stopped every goroutine (so
// data may be unmapped) when it returns.
func parseAll(ctx context.Context, data []byte, pl *plan, d *dialect, batchRows, workers int, emit func(arrow.RecordBatch, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer running.Wait()
	defer cancel()
	work := make(chan *job, workers)
	order := make(chan *job, 2*workers) // bounds the batches parsed ahead of emit
	running.Add(1 + workers)
	go func() {
		defer running.Done()
		defer close(work)
		defer close(order)
		s := splitter{data: data, pos: pl.bodyStart, line: pl.bodyLine, quote: -1}
		for s.pos < len(data) {
			j := &job{done: make(chan result, 1)}
			j.start, j.end, j.rows, j.line = s.next(batchRows)
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case work <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			defer running.Done()
			p := newParser(data, pl.columns, d)
			for j := range work {
				if ctx.Err() != nil {
					j.done <- result{err: ctx.Err()}
					continue
				}
				batch, err := p.parse(j.start, j.end, j.rows, j.line, pl.schema)
				j.done <- result{batch, err}
			}
		}()
	}
	for j := range order {
		r := <-j.done
		if r.err != nil {
			return r.err
		}
		var err error
		if r.batch.NumRows() > 0 {
			err = emit(r.batch, j.end)
		}
		r.batch.Release()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
