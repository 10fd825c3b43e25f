// Command peer is the Go peer of the conformance matrix
// (test/conformance.test.ts):
//
//	peer ROLE SCENARIO CHANNEL
//
// The same command line, rules and output as peer.ts; the values come from
// scenarios.json (embedded) and are encoded by arrow-go here.
package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

//go:embed scenarios.json
var description []byte

type column struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	A           float64  `json:"a"`
	B           float64  `json:"b"`
	Null        []int    `json:"null"`
	Prefix      string   `json:"prefix"`
	Suffix      string   `json:"suffix"`
	SuffixEvery int      `json:"suffixEvery"`
	Words       []string `json:"words"`
	Lengths     int      `json:"lengths"`
	Fields      []column `json:"fields"`
}

type tableSpec struct {
	Batches []int    `json:"batches"`
	Columns []column `json:"columns"`
}

type phase struct {
	Count int   `json:"count"`
	Sizes []int `json:"sizes"`
}

type scenario struct {
	Kind     string  `json:"kind"`
	Creator  string  `json:"creator"`
	Capacity int     `json:"capacity"`
	Table    string  `json:"table"`
	Phases   []phase `json:"phases"`
	Before   int     `json:"before"`
	After    int     `json:"after"`
}

var spec struct {
	Tables    map[string]tableSpec `json:"tables"`
	Scenarios map[string]scenario  `json:"scenarios"`
}

const timeout = 30 * time.Second

var stdin = bufio.NewReader(os.Stdin)

func goOn() { stdin.ReadString('\n') }

func show(value any) {
	line, err := json.Marshal(value)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peer:", err)
	os.Exit(1)
}

// codeOf is the stable name of a shmpipe error; any other error ends the peer.
func codeOf(err error) string {
	var e *shmpipe.Error
	if errors.As(err, &e) {
		return e.Name
	}
	fail(err)
	return ""
}

// ctx bounds one wait (its timer lets the context go).
func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	time.AfterFunc(timeout, cancel)
	return c
}

func recordSizes(phases []phase) []int {
	var sizes []int
	for _, p := range phases {
		for i := 0; i < p.Count; i++ {
			sizes = append(sizes, p.Sizes[len(sizes)%len(p.Sizes)])
		}
	}
	return sizes
}

// fill writes record k's bytes: byte j is (k * 131 + j) % 251.
func fill(buf []byte, k int) {
	for j := range buf {
		buf[j] = byte((k*131 + j) % 251)
	}
}

// writerEnd creates the channel, unless the scenario has the reader create it.
func writerEnd(s scenario, channel string) (*shmpipe.Writer, error) {
	if s.Creator == "reader" {
		return shmpipe.OpenWriter(channel)
	}
	return shmpipe.CreateWriter(channel, s.Capacity)
}

func readerEnd(s scenario, channel string) (*shmpipe.Reader, error) {
	if s.Creator == "reader" {
		return shmpipe.CreateReader(channel, s.Capacity)
	}
	return shmpipe.OpenReader(channel)
}

func isNull(c column, r int) bool { return len(c.Null) == 2 && r%c.Null[0] == c.Null[1] }

func writeBytes(s scenario, channel string) {
	sizes := recordSizes(s.Phases)
	w, err := writerEnd(s, channel)
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	goOn()
	sent := 0
	err = func() error {
		for p, ph := range s.Phases {
			for i := 0; i < ph.Count; i, sent = i+1, sent+1 {
				buf := make([]byte, sizes[sent])
				fill(buf, sent)
				if err := w.Send(ctx(), buf); err != nil {
					return err
				}
			}
			if p == 0 {
				if s.Kind == "writer-killed" {
					view, err := w.Claim(ctx(), 4096) // killed holding it, half filled
					if err != nil {
						return err
					}
					for j := range view[:2048] {
						view[j] = 0xee
					}
				}
				fmt.Println("half")
				goOn()
			}
		}
		return w.Close()
	}()
	if err != nil {
		show(map[string]any{"sent": sent, "error": codeOf(err)})
		return
	}
	show(map[string]any{"sent": sent, "error": nil})
}

func readBytes(s scenario, channel string) {
	sizes := recordSizes(s.Phases)
	stopAt := -1
	if s.Kind == "reader-killed" {
		stopAt = s.Phases[0].Count
	}
	r, err := readerEnd(s, channel)
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	records, total, mismatches := 0, 0, 0
	var code any
	for {
		message, err := r.Recv(ctx())
		if err == io.EOF {
			break
		}
		if err != nil {
			code = codeOf(err)
			break
		}
		data := message.Bytes
		same := records < len(sizes) && len(data) == sizes[records]
		for j := 0; same && j < len(data); j++ {
			same = data[j] == byte((records*131+j)%251)
		}
		if !same {
			mismatches++
		}
		total += len(data)
		message.Release()
		records++
		if records == stopAt {
			fmt.Println("half")
			select {} // killed here
		}
	}
	r.Close()
	show(map[string]any{"records": records, "bytes": total, "mismatches": mismatches, "error": code})
}

var arrowTypes = map[string]arrow.DataType{
	"int32": arrow.PrimitiveTypes.Int32, "int64": arrow.PrimitiveTypes.Int64, "float64": arrow.PrimitiveTypes.Float64,
	"utf8": arrow.BinaryTypes.String, "bool": arrow.FixedWidthTypes.Boolean,
	"timestamp[us,UTC]": &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
	"dictionary<utf8>":  &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
}

func arrowType(c column) arrow.DataType {
	switch {
	case c.Type == "list<int32>":
		return arrow.ListOf(arrow.PrimitiveTypes.Int32)
	case strings.HasPrefix(c.Type, "struct<"):
		fields := make([]arrow.Field, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = arrow.Field{Name: f.Name, Type: arrowType(f), Nullable: true}
		}
		return arrow.StructOf(fields...)
	}
	return arrowTypes[c.Type]
}

func schemaOf(t tableSpec) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// appendValue appends row r of column c to b (a builder of c's type).
func appendValue(b array.Builder, c column, r int) {
	if isNull(c, r) {
		b.AppendNull()
		return
	}
	switch builder := b.(type) {
	case *array.Int32Builder:
		builder.Append(int32(c.A*float64(r) + c.B))
	case *array.Int64Builder:
		builder.Append(int64(c.A)*int64(r) + int64(c.B))
	case *array.Float64Builder:
		builder.Append(c.A*float64(r) + c.B)
	case *array.TimestampBuilder:
		builder.Append(arrow.Timestamp(int64(c.A)*int64(r) + int64(c.B)))
	case *array.StringBuilder:
		suffix := ""
		if r%c.SuffixEvery == 0 {
			suffix = c.Suffix
		}
		builder.Append(fmt.Sprintf("%s%d%s", c.Prefix, r, suffix))
	case *array.BooleanBuilder:
		builder.Append(r%2 == 0)
	case *array.ListBuilder:
		builder.Append(true)
		items := builder.ValueBuilder().(*array.Int32Builder)
		for i := 0; i < r%c.Lengths; i++ {
			items.Append(int32(int(c.A)*r + int(c.B) + i))
		}
	case *array.StructBuilder:
		builder.Append(true)
		for f, field := range c.Fields {
			appendValue(builder.FieldBuilder(f), field, r)
		}
	default:
		fail(fmt.Errorf("no rule for a %T", b))
	}
}

// batchOf builds rows [from, from+count) of table t with arrow-go's builders.
func batchOf(t tableSpec, schema *arrow.Schema, from, count int) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	columns := make([]arrow.Array, len(t.Columns))
	for c, col := range t.Columns {
		var b array.Builder
		switch col.Type {
		case "dictionary<utf8>":
			words := array.NewStringBuilder(mem)
			words.AppendValues(col.Words, nil)
			dict := words.NewArray()
			indices := array.NewInt32Builder(mem)
			for i := 0; i < count; i++ {
				if isNull(col, from+i) {
					indices.AppendNull()
				} else {
					indices.Append(int32((from + i) % len(col.Words)))
				}
			}
			idx := indices.NewArray()
			columns[c] = array.NewDictionaryArray(arrowTypes[col.Type], idx, dict)
			idx.Release()
			dict.Release()
			continue
		default:
			b = array.NewBuilder(mem, arrowType(col))
		}
		for i := 0; i < count; i++ {
			appendValue(b, col, from+i)
		}
		columns[c] = b.NewArray()
		b.Release()
	}
	batch := array.NewRecordBatch(schema, columns, int64(count))
	for _, a := range columns {
		a.Release()
	}
	return batch
}

func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.INT32:
		return "int32"
	case arrow.INT64:
		return "int64"
	case arrow.FLOAT64:
		return "float64"
	case arrow.STRING:
		return "utf8"
	case arrow.BOOL:
		return "bool"
	case arrow.DICTIONARY:
		if t.(*arrow.DictionaryType).ValueType.ID() == arrow.STRING {
			return "dictionary<utf8>"
		}
	case arrow.TIMESTAMP:
		if ts := t.(*arrow.TimestampType); ts.Unit == arrow.Microsecond {
			return "timestamp[us," + ts.TimeZone + "]"
		}
	case arrow.LIST:
		return "list<" + typeName(t.(*arrow.ListType).Elem()) + ">"
	case arrow.STRUCT:
		var fields []string
		for _, f := range t.(*arrow.StructType).Fields() {
			fields = append(fields, f.Name+":"+typeName(f.Type))
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	return "?" + t.String()
}

func valueOf(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch v := a.(type) {
	case *array.Int32:
		return v.Value(i)
	case *array.Int64:
		return v.Value(i)
	case *array.Float64:
		return v.Value(i)
	case *array.String:
		return strings.Clone(v.Value(i)) // a view of the record: copied, as it outlives the lease
	case *array.Boolean:
		return v.Value(i)
	case *array.Timestamp:
		return int64(v.Value(i))
	case *array.Dictionary:
		return valueOf(v.Dictionary(), v.GetValueIndex(i))
	case *array.List:
		start, end := v.ValueOffsets(i)
		items := []any{}
		for k := start; k < end; k++ {
			items = append(items, valueOf(v.ListValues(), int(k)))
		}
		return items
	case *array.Struct:
		row := map[string]any{}
		for f, field := range v.DataType().(*arrow.StructType).Fields() {
			row[field.Name] = valueOf(v.Field(f), i)
		}
		return row
	}
	return fmt.Sprintf("?%s", a.DataType())
}

type canonical struct {
	Batches []int64           `json:"batches"`
	Types   map[string]string `json:"types"`
	Columns map[string][]any  `json:"columns"`
	Error   any               `json:"error"`
}

func newCanonical() *canonical {
	return &canonical{Batches: []int64{}, Types: map[string]string{}, Columns: map[string][]any{}}
}

func (c *canonical) add(fields []arrow.Field, columns []arrow.Array, rows int64) {
	c.Batches = append(c.Batches, rows)
	for f, field := range fields {
		c.Types[field.Name] = typeName(field.Type)
		values := c.Columns[field.Name]
		if values == nil {
			values = []any{}
		}
		for i := 0; i < columns[f].Len(); i++ {
			values = append(values, valueOf(columns[f], i))
		}
		c.Columns[field.Name] = values
	}
}

func writeArrow(s scenario, channel string, t tableSpec) {
	w, err := writerEnd(s, channel)
	if err != nil {
		fail(err)
	}
	writer := shmpipe.NewArrowWriter(w)
	fmt.Println("ready")
	goOn()
	schema := schemaOf(t)
	sent := 0
	send := func(batch arrow.RecordBatch) error {
		defer batch.Release()
		if err := writer.Write(ctx(), batch); err != nil {
			return err
		}
		sent++
		return nil
	}
	err = func() error {
		if s.Kind == "late-join" {
			rows := t.Batches[0]
			for b := 0; b < s.Before+s.After; b++ {
				if b == s.Before {
					fmt.Println("half")
					goOn()
				}
				if err := send(batchOf(t, schema, b*rows, rows)); err != nil {
					return err
				}
			}
		} else {
			from := 0
			for _, rows := range t.Batches {
				if err := send(batchOf(t, schema, from, rows)); err != nil {
					return err
				}
				from += rows
			}
			fmt.Println("half")
			goOn()
		}
		return writer.Close()
	}()
	if err != nil {
		show(map[string]any{"sent": sent, "error": codeOf(err)})
		return
	}
	show(map[string]any{"sent": sent, "error": nil})
}

func readArrow(s scenario, channel string, t tableSpec) {
	r, err := readerEnd(s, channel)
	if err != nil {
		fail(err)
	}
	reader, err := shmpipe.NewArrowReader(r)
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	each := func(fn func(arrow.RecordBatch)) any {
		for {
			batch, err := reader.Read(ctx())
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return codeOf(err)
			}
			fn(batch)
			batch.Release()
		}
	}
	if s.Kind == "late-join" {
		words := t.Columns[1].Words
		var first, last *int64
		batches, problems := 0, 0
		code := each(func(batch arrow.RecordBatch) {
			seq := batch.Column(batch.Schema().FieldIndices("seq")[0]).(*array.Int64)
			label := batch.Column(batch.Schema().FieldIndices("label")[0]).(*array.Dictionary)
			dict := label.Dictionary().(*array.String)
			for i := 0; i < int(batch.NumRows()); i++ {
				value := seq.Value(i)
				if last != nil && value != *last+1 {
					problems++
				}
				if dict.Value(label.GetValueIndex(i)) != words[value%int64(len(words))] {
					problems++
				}
				if first == nil {
					first = new(int64)
					*first = value
				}
				last = new(int64)
				*last = value
			}
			batches++
		})
		reader.Close()
		r.Close()
		show(map[string]any{"batches": batches, "first": first, "last": last, "problems": problems, "error": code})
		return
	}
	result := newCanonical()
	result.Error = each(func(batch arrow.RecordBatch) {
		result.add(batch.Schema().Fields(), batch.Columns(), batch.NumRows())
	})
	reader.Close()
	r.Close()
	show(result)
}

func publish(s scenario, channel string, t tableSpec) {
	schema := schemaOf(t)
	var batches []arrow.RecordBatch
	from := 0
	for _, rows := range t.Batches {
		batches = append(batches, batchOf(t, schema, from, rows))
		from += rows
	}
	table := array.NewTableFromRecords(schema, batches)
	// A persistent table outlives its publisher: it exits at once, and the reader unpublishes it.
	persistent := s.Kind == "table-persistent"
	var options []shmpipe.Option
	if persistent {
		options = append(options, shmpipe.Persist())
	}
	published, err := shmpipe.Publish(channel, table, options...)
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	if !persistent {
		goOn()
		published.Unpublish()
	}
	show(map[string]any{"sent": len(batches), "error": nil})
}

func openTable(s scenario, channel string) {
	table, err := shmpipe.OpenTable(channel)
	if err != nil {
		show(map[string]any{"error": codeOf(err)})
		return
	}
	defer table.Release()
	result := newCanonical()
	reader := array.NewTableReader(table, 0)
	defer reader.Release()
	for reader.Next() {
		batch := reader.RecordBatch()
		result.add(batch.Schema().Fields(), batch.Columns(), batch.NumRows())
	}
	if s.Kind == "table-persistent" {
		if err := shmpipe.Unpublish(channel); err != nil {
			show(map[string]any{"error": codeOf(err)})
			return
		}
	}
	show(result)
}

func main() {
	if len(os.Args) < 4 {
		fail(errors.New("usage: peer ROLE SCENARIO CHANNEL"))
	}
	if err := json.Unmarshal(description, &spec); err != nil {
		fail(err)
	}
	role, name, channel := os.Args[1], os.Args[2], os.Args[3]
	s, ok := spec.Scenarios[name]
	if !ok {
		fail(fmt.Errorf("no scenario %q", name))
	}
	t := spec.Tables[s.Table]
	switch role {
	case "write-bytes":
		writeBytes(s, channel)
	case "read-bytes":
		readBytes(s, channel)
	case "write-arrow":
		writeArrow(s, channel, t)
	case "read-arrow":
		readArrow(s, channel, t)
	case "publish":
		publish(s, channel, t)
	case "open-table":
		openTable(s, channel)
	default:
		fail(fmt.Errorf("unknown role %q", role))
	}
}
