package main

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The parser reads the CSV dialect of Go's encoding/csv (RFC 4180), which
// is what arrow-go's csv reader reads: fields separated by one delimiter
// byte; a field that starts with a double quote is quoted, may hold
// delimiters, newlines and doubled quotes (""), and ends at a quote
// followed by a delimiter or the end of the line; a quote anywhere else is
// an error. "\r\n" ends a line as "\n" does (also inside quoted fields,
// where it reads as "\n"); empty lines are skipped.
//
// Values are parsed straight from the mapped file: a field is never copied
// unless it is quoted with escapes or CRLFs inside, and integers and
// decimals are read while the field is scanned.

// parseError is a problem with the input at a line of the file.
type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// dialect is how fields are separated and which values are null.
type dialect struct {
	delim byte
	// Fields of non-string columns equal to one of these are null (arrow-go's
	// csv.DefaultNullValues by default); string columns too if stringNulls.
	nulls       []string
	stringNulls bool
}

func (d *dialect) isNull(v []byte) bool {
	for _, n := range d.nulls {
		if string(v) == n {
			return true
		}
	}
	return false
}

// parser turns spans of the file into record batches; one per goroutine.
type parser struct {
	data    []byte
	columns []column
	d       *dialect
	stop    [256]bool // bytes that end an unquoted field's scan
	scratch []byte    // unescaped quoted fields
	outs    []output
	rows    int // rows the outputs have room for
}

// output is one column's buffers for the batch being parsed.
type output struct {
	i64   []int64 // int64, timestamp
	f64   []float64
	i32   []int32 // date32
	bits  []byte  // bool values
	offs  []int32 // string offsets
	chars []byte  // string bytes
	valid []byte  // validity bitmap, nil while there is no null
	nulls int
	raw   []byte // the memory of i64, f64, i32, bits or offs
}

func newParser(data []byte, columns []column, d *dialect) *parser {
	p := &parser{data: data, columns: columns, d: d, outs: make([]output, len(columns))}
	p.stop[d.delim], p.stop['\n'], p.stop['"'] = true, true, true
	return p
}

// field reads the field that starts at i in data: its value (a view of
// data, or of the parser's scratch space when it was unescaped) and where
// it ends: the index of the delimiter or '\n' after it (the '\r' of a
// "\r\n" is not part of the value), or len(data). line counts the newlines
// inside a quoted field.
func (p *parser) field(data []byte, i int, line *int) ([]byte, int, error) {
	if i < len(data) && data[i] == '"' {
		return p.quoted(data, i, line)
	}
	j := i
	for j < len(data) && !p.stop[data[j]] {
		j++
	}
	if j < len(data) && data[j] == '"' {
		return nil, j, &parseError{*line, `bare " in a field that is not quoted (quote the whole field and double the quotes inside: "a ""b"" c")`}
	}
	value := data[i:j]
	if len(value) > 0 && value[len(value)-1] == '\r' && (j == len(data) || data[j] == '\n') {
		value = value[:len(value)-1]
	}
	return value, j, nil
}

func (p *parser) quoted(data []byte, i int, line *int) ([]byte, int, error) {
	startLine := *line
	p.scratch = p.scratch[:0]
	copied := false
	from := i + 1 // the part not yet appended to scratch
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '"':
			if j+1 < len(data) && data[j+1] == '"' {
				p.scratch = append(p.scratch, data[from:j+1]...)
				copied = true
				j++
				from = j + 1
				continue
			}
			value := data[from:j]
			if copied {
				p.scratch = append(p.scratch, value...)
				value = p.scratch
			}
			end := j + 1
			if end < len(data) && data[end] == '\r' && (end+1 == len(data) || data[end+1] == '\n') {
				end++
			}
			if end < len(data) && data[end] != p.d.delim && data[end] != '\n' {
				return nil, end, &parseError{*line, `a quoted field goes on after its closing quote (a quote inside a quoted field is written "")`}
			}
			return value, end, nil
		case '\n':
			*line++
			if j-1 >= from && data[j-1] == '\r' { // "\r\n" reads as "\n", as in encoding/csv
				p.scratch = append(p.scratch, data[from:j-1]...)
				copied = true
				from = j
			}
		}
	}
	return nil, len(data), &parseError{startLine, "a quoted field is never closed (its closing quote is missing)"}
}

// readRecord reads the record at i as separate values (copied), for the
// header and the sample that types are inferred from; next is where the
// following record starts. Empty lines are skipped first.
func (p *parser) readRecord(i int, line *int) (fields [][]byte, next int, err error) {
	data := p.data
	for i < len(data) && blankLine(data, i) {
		if data[i] == '\r' {
			i++
		}
		i++
		*line++
	}
	if i >= len(data) {
		return nil, len(data), nil
	}
	for {
		value, end, err := p.field(data, i, line)
		if err != nil {
			return nil, end, err
		}
		fields = append(fields, append([]byte(nil), value...))
		if end == len(data) {
			return fields, end, nil
		}
		if data[end] == '\n' {
			*line++
			return fields, end + 1, nil
		}
		i = end + 1
	}
}

// blankLine says whether an empty line starts at i: "\n", "\r\n", or a
// "\r" that ends the file (encoding/csv drops it).
func blankLine(data []byte, i int) bool {
	return data[i] == '\n' || (data[i] == '\r' && (i+1 == len(data) || data[i+1] == '\n'))
}

// parse reads the records in data[start:end] (whole records, starting on
// line `line`, at most about rows of them) into a record batch.
func (p *parser) parse(start, end, rows, line int, schema *arrow.Schema) (arrow.RecordBatch, error) {
	data := p.data[:end]
	capacity := max(rows, 1)
	p.rows = capacity
	for c := range p.outs {
		p.outs[c] = p.allocate(&p.columns[c], capacity, end-start)
	}
	last := len(p.columns) - 1
	row := 0
	i := start
	for i < len(data) {
		if blankLine(data, i) {
			if data[i] == '\r' {
				i++
			}
			i++
			line++
			continue
		}
		if row == capacity {
			capacity *= 2
			p.rows = capacity
			for c := range p.outs {
				p.grow(&p.columns[c], &p.outs[c], capacity)
			}
		}
		recordStart, recordLine := i, line
		for c := range p.columns {
			col, out := &p.columns[c], &p.outs[c]
			var end int
			var err error
			switch col.kind {
			case kindInt64:
				if v, e, ok := p.fastInt(data, i); ok {
					out.i64[row], end = v, e
					break
				}
				end, err = p.slow(col, out, row, data, i, &line)
			case kindFloat64:
				if v, e, ok := p.fastFloat(data, i); ok {
					out.f64[row], end = v, e
					break
				}
				end, err = p.slow(col, out, row, data, i, &line)
			case kindString:
				var value []byte
				value, end, err = p.field(data, i, &line)
				if err != nil {
					break
				}
				if p.d.stringNulls && p.d.isNull(value) {
					setNull(out, row, capacity)
				} else {
					appendChars(out, value)
				}
				out.offs[row+1] = int32(len(out.chars))
				if len(out.chars) > math.MaxInt32 {
					err = &parseError{line, fmt.Sprintf("column %q: a batch's strings pass 2 GiB: use a smaller --batch-rows", col.name)}
				}
			default:
				end, err = p.slow(col, out, row, data, i, &line)
			}
			if err != nil {
				return nil, err
			}
			atEnd := end == len(data) || data[end] == '\n'
			if (c < last) == atEnd {
				return nil, p.fieldCount(recordStart, recordLine)
			}
			i = end + 1
			if atEnd {
				line++
			}
		}
		row++
	}
	return p.batch(schema, row, capacity), nil
}

// slow parses a field of any type the general way: tokenize, then convert.
func (p *parser) slow(col *column, out *output, row int, data []byte, i int, line *int) (int, error) {
	value, end, err := p.field(data, i, line)
	if err != nil {
		return end, err
	}
	if p.d.isNull(value) {
		setNull(out, row, p.rows)
		switch col.kind { // the pool's memory is not zeroed: no stale value under a null
		case kindInt64, kindTimestamp:
			out.i64[row] = 0
		case kindFloat64:
			out.f64[row] = 0
		case kindDate32:
			out.i32[row] = 0
		}
		return end, nil
	}
	v, ok := convert(col, value)
	if !ok {
		return end, &parseError{*line, fmt.Sprintf("column %q: %q is not %s", col.name, value, article(col.typeName()))}
	}
	switch col.kind {
	case kindInt64, kindTimestamp:
		out.i64[row] = int64(v)
	case kindFloat64:
		out.f64[row] = math.Float64frombits(v)
	case kindDate32:
		out.i32[row] = int32(v)
	case kindBool:
		if v != 0 {
			out.bits[row>>3] |= 1 << (row & 7)
		}
	}
	return end, nil
}

func article(typeName string) string {
	if typeName[0] == 'i' {
		return "an " + typeName
	}
	return "a " + typeName
}

// fieldCount is the error for a record with too few or too many fields.
func (p *parser) fieldCount(start, line int) error {
	n, i, l := 0, start, line
	for {
		_, end, err := p.field(p.data, i, &l)
		n++
		if err != nil || end == len(p.data) || p.data[end] == '\n' {
			break
		}
		i = end + 1
	}
	return &parseError{line, fmt.Sprintf("%d fields, expected %d (%s)", n, len(p.columns), columnNames(p.columns))}
}

func columnNames(columns []column) string {
	names := ""
	for i, c := range columns {
		if i > 0 {
			names += ", "
		}
		names += c.name
	}
	return names
}

// fastInt reads a plain decimal integer of up to 18 digits that ends the
// field; ok is false for anything else (nulls, errors, 19 digits), which
// the general path then handles.
func (p *parser) fastInt(data []byte, i int) (v int64, end int, ok bool) {
	j := i
	neg := false
	if j < len(data) && (data[j] == '-' || data[j] == '+') {
		neg = data[j] == '-'
		j++
	}
	digits := j
	var u uint64
	for j < len(data) {
		d := data[j] - '0'
		if d > 9 {
			break
		}
		u = u*10 + uint64(d)
		j++
	}
	if n := j - digits; n == 0 || n > 18 {
		return 0, 0, false
	}
	if end, ok = p.fieldEnd(data, j); !ok {
		return 0, 0, false
	}
	v = int64(u)
	if neg {
		v = -v
	}
	return v, end, true
}

// fieldEnd checks that a field read in place ends at j; end is the index
// of its delimiter or '\n' (past a '\r' before a '\n').
func (p *parser) fieldEnd(data []byte, j int) (int, bool) {
	if j == len(data) {
		return j, true
	}
	switch data[j] {
	case p.d.delim, '\n':
		return j, true
	case '\r':
		if j+1 == len(data) || data[j+1] == '\n' {
			return j + 1, true
		}
	}
	return 0, false
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat reads a decimal number whose digits fit in 2^53 and whose
// power of ten is at most 22: float64(digits) times or divided by an exact
// power of ten is then correctly rounded (Clinger's fast path), the same
// value strconv.ParseFloat gives. ok is false for anything else.
func (p *parser) fastFloat(data []byte, i int) (v float64, end int, ok bool) {
	j := i
	neg := false
	if j < len(data) && (data[j] == '-' || data[j] == '+') {
		neg = data[j] == '-'
		j++
	}
	var mantissa uint64
	digits, exp := 0, 0
	for j < len(data) {
		d := data[j] - '0'
		if d > 9 {
			break
		}
		mantissa = mantissa*10 + uint64(d)
		digits++
		j++
	}
	if j < len(data) && data[j] == '.' {
		j++
		for j < len(data) {
			d := data[j] - '0'
			if d > 9 {
				break
			}
			mantissa = mantissa*10 + uint64(d)
			digits++
			exp--
			j++
		}
	}
	if digits == 0 || digits > 19 || mantissa > 1<<53 {
		return 0, 0, false
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		j++
		eneg := false
		if j < len(data) && (data[j] == '-' || data[j] == '+') {
			eneg = data[j] == '-'
			j++
		}
		e, n := 0, 0
		for j < len(data) && n < 4 {
			d := data[j] - '0'
			if d > 9 {
				break
			}
			e = e*10 + int(d)
			n++
			j++
		}
		if n == 0 || n == 4 {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if exp < -22 || exp > 22 {
		return 0, 0, false
	}
	if end, ok = p.fieldEnd(data, j); !ok {
		return 0, 0, false
	}
	v = float64(mantissa)
	if exp < 0 {
		v /= pow10[-exp]
	} else {
		v *= pow10[exp]
	}
	if neg {
		v = -v
	}
	return v, end, true
}

// convert parses one value (not null) for a column: the value's bits
// (int64, float64 bits, 0/1, days), or ok false if it is not of the type.
// The rules are arrow-go's csv reader's: strconv for numbers and booleans,
// YYYY-MM-DD for dates, arrow.TimestampFromStringInLocation (or an
// integer, taken as is) for timestamps.
func convert(c *column, v []byte) (uint64, bool) {
	s := unsafe.String(unsafe.SliceData(v), len(v)) // not kept: no copy needed
	switch c.kind {
	case kindInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		return uint64(n), err == nil
	case kindFloat64:
		f, err := strconv.ParseFloat(s, 64)
		return math.Float64bits(f), err == nil
	case kindBool:
		b, err := strconv.ParseBool(s)
		if b {
			return 1, err == nil
		}
		return 0, err == nil
	case kindDate32:
		if days, ok := civilDate(v); ok && len(v) == 10 {
			return uint64(days), true
		}
		t, err := time.Parse("2006-01-02", s)
		return uint64(arrow.Date32FromTime(t)), err == nil
	case kindTimestamp:
		if ts, ok := fastTimestamp(c, v); ok {
			return uint64(ts), true
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return uint64(n), true
		}
		ts, zoned, err := arrow.TimestampFromStringInLocation(s, c.unit, c.loc)
		return uint64(ts), err == nil && zoned == c.zoned
	}
	return 0, true
}

// civilDate reads YYYY-MM-DD at the start of v as days since 1970-01-01.
func civilDate(v []byte) (int64, bool) {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return 0, false
	}
	century, ok1 := twoDigits(v[0], v[1])
	decade, ok2 := twoDigits(v[2], v[3])
	month, ok3 := twoDigits(v[5], v[6])
	day, ok4 := twoDigits(v[8], v[9])
	year := century*100 + decade
	if !(ok1 && ok2 && ok3 && ok4) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, false
	}
	// Howard Hinnant's days_from_civil (years 0-9999: no negative era).
	y := year
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = -1
	}
	yoe := y - era*400
	mp := (month + 9) % 12
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468, true
}

func twoDigits(a, b byte) (int64, bool) {
	x, y := a-'0', b-'0'
	return int64(x)*10 + int64(y), x <= 9 && y <= 9
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// unitDigits is how many fraction digits a time unit holds.
func unitDigits(unit arrow.TimeUnit) int {
	switch unit {
	case arrow.Millisecond:
		return 3
	case arrow.Microsecond:
		return 6
	case arrow.Nanosecond:
		return 9
	}
	return 0
}

var pow10i = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// fastTimestamp reads YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z] (Z if and only if
// the type has a zone) within the unit's precision; ok false for anything
// else, which arrow-go's parser then reads or refuses.
func fastTimestamp(c *column, v []byte) (int64, bool) {
	if c.zoned {
		if len(v) == 0 || v[len(v)-1] != 'Z' {
			return 0, false
		}
		v = v[:len(v)-1]
	}
	if len(v) < 19 || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' || v[16] != ':' {
		return 0, false
	}
	days, ok := civilDate(v)
	hour, ok1 := twoDigits(v[11], v[12])
	minute, ok2 := twoDigits(v[14], v[15])
	second, ok3 := twoDigits(v[17], v[18])
	if !(ok && ok1 && ok2 && ok3) || hour > 23 || minute > 59 || second > 59 {
		return 0, false
	}
	digits := unitDigits(c.unit)
	var fraction int64
	if len(v) > 19 {
		// Only as many digits as the unit holds (arrow-go refuses more).
		n := len(v) - 20
		if v[19] != '.' || n == 0 || n > digits {
			return 0, false
		}
		for _, b := range v[20:] {
			d := b - '0'
			if d > 9 {
				return 0, false
			}
			fraction = fraction*10 + int64(d)
		}
		fraction *= pow10i[digits-n]
	}
	seconds := days*86400 + hour*3600 + minute*60 + second
	if c.unit == arrow.Nanosecond && (seconds > math.MaxInt64/1_000_000_000-1 || seconds < math.MinInt64/1_000_000_000+1) {
		return 0, false
	}
	return seconds*pow10i[digits] + fraction, true
}

// allocate makes a column's buffers for up to rows values.
func (p *parser) allocate(c *column, rows, spanBytes int) output {
	var out output
	switch c.kind {
	case kindInt64, kindTimestamp:
		out.raw = buffers.get(rows * 8)
		out.i64 = unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(out.raw))), rows)
	case kindFloat64:
		out.raw = buffers.get(rows * 8)
		out.f64 = unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(out.raw))), rows)
	case kindDate32:
		out.raw = buffers.get(rows * 4)
		out.i32 = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(out.raw))), rows)
	case kindBool:
		out.raw = buffers.get((rows + 7) / 8)
		out.bits = out.raw
		clear(out.bits)
	case kindString:
		out.raw = buffers.get((rows + 1) * 4)
		out.offs = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(out.raw))), rows+1)
		out.offs[0] = 0
		out.chars = buffers.get(min(spanBytes/len(p.columns)+64, spanBytes))[:0]
	}
	return out
}

// appendChars adds a string value, moving to a larger buffer when full.
func appendChars(out *output, value []byte) {
	if len(out.chars)+len(value) > cap(out.chars) {
		larger := buffers.get(2*cap(out.chars) + len(value))[:len(out.chars)]
		copy(larger, out.chars)
		buffers.put(out.chars)
		out.chars = larger
	}
	out.chars = append(out.chars, value...)
}

// grow makes room for more rows than the span was counted to hold (it
// only happens with malformed quoting, which then fails to parse anyway).
func (p *parser) grow(c *column, out *output, rows int) {
	old := *out
	*out = p.allocate(c, rows, 0)
	copy(out.raw, old.raw)
	buffers.put(old.raw)
	if c.kind == kindString {
		out.chars = old.chars
	}
	out.nulls = old.nulls
	if old.valid != nil {
		out.valid = buffers.get((rows + 7) / 8)
		for i := range out.valid {
			out.valid[i] = 0xFF
		}
		copy(out.valid, old.valid)
		buffers.put(old.valid)
	}
}

// setNull marks a row null, making the validity bitmap at the first null.
func setNull(out *output, row, capacity int) {
	if out.valid == nil {
		out.valid = buffers.get((max(capacity, row+1) + 7) / 8)
		for i := range out.valid {
			out.valid[i] = 0xFF
		}
	}
	out.valid[row>>3] &^= 1 << (row & 7)
	out.nulls++
}

// batch wraps the parsed buffers as Arrow arrays, without copying them;
// the buffers go back to the pool when the batch's last user releases it.
func (p *parser) batch(schema *arrow.Schema, rows, capacity int) arrow.RecordBatch {
	columns := make([]arrow.Array, len(p.columns))
	wrap := func(b []byte, n int) *memory.Buffer {
		if b == nil {
			return nil
		}
		return memory.NewBufferWithAllocator(b[:n], buffers)
	}
	bitmapBytes := (rows + 7) / 8
	for c := range p.columns {
		col, out := &p.columns[c], &p.outs[c]
		list := []*memory.Buffer{wrap(out.valid, bitmapBytes)}
		switch col.kind {
		case kindInt64, kindTimestamp, kindFloat64:
			list = append(list, wrap(out.raw, rows*8))
		case kindDate32:
			list = append(list, wrap(out.raw, rows*4))
		case kindBool:
			list = append(list, wrap(out.raw, bitmapBytes))
		case kindString:
			list = append(list, wrap(out.raw, (rows+1)*4), wrap(out.chars, len(out.chars)))
		}
		data := array.NewData(col.typ, rows, list, nil, out.nulls, 0)
		for _, b := range list {
			if b != nil {
				b.Release() // data holds them
			}
		}
		columns[c] = array.MakeFromData(data)
		data.Release()
		p.outs[c] = output{}
	}
	batch := array.NewRecordBatch(schema, columns, int64(rows))
	for _, a := range columns {
		a.Release()
	}
	return batch
}

// pool recycles the parsed batches' buffers: a batch is copied into the
// channel (or the published table) and released, and the next batch is
// parsed into the same memory, which stays in the cache and needs neither
// fresh pages from the kernel nor work from the garbage collector.
type pool struct{ classes [64]sync.Pool }

var buffers = &pool{}

// get returns n bytes (not zeroed), in a slice whose capacity is a power of two.
func (p *pool) get(n int) []byte {
	if n <= 0 {
		n = 1
	}
	class := bits.Len(uint(n - 1))
	if b, ok := p.classes[class].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<class)
}

func (p *pool) put(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	p.classes[bits.Len(uint(c-1))].Put(&b)
}

// Allocator: arrow-go calls Free when a buffer's last reference goes.
func (p *pool) Allocate(int) []byte           { panic("shmpipe-csv: parsed buffers do not grow") }
func (p *pool) Reallocate(int, []byte) []byte { panic("shmpipe-csv: parsed buffers do not grow") }
func (p *pool) Free(b []byte)                 { p.put(b) }
