package main

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const testSchema = "i:int64,f:float64,b:bool,d:date32,t:timestamp[us],z:timestamp[ms,UTC],s:string"

// values a column of each type may hold, as CSV text (unquoted); "" is null
// for all but the string column.
var sampleValues = map[string][]string{
	"i": {"0", "1", "-1", "+5", "007", "123456789012345678", "9223372036854775807", "-9223372036854775808", "", "NULL", "null"},
	"f": {"0", "1.5", "-0.0", "0.1", "3.14159", "1e300", "1E5", ".5", "5.", "-2.5e-3", "123456789012345678901.5", "9007199254740993", "1e-30", "inf", "-Inf", "", "NULL"},
	"b": {"true", "false", "True", "FALSE", "1", "0", "t", "F", ""},
	"d": {"2024-02-29", "1969-12-31", "1970-01-01", "0001-01-01", "9999-12-31", "2000-03-01", ""},
	"t": {"2026-11-24T09:30:00.123456", "2026-11-24 09:30:00", "2026-11-24", "1960-01-01T00:00:00.5", "1700000000", "2026-11-24T09:30", "2026-11-24T09", "1969-12-31T23:59:59.999999", ""},
	"z": {"2026-11-24T09:30:00.123Z", "2026-11-24T09:30:00+02:00", "2026-11-24T09:30:00Z", "1999-12-31T23:59:59.9-05:00", ""},
	"s": {"plain", "", "with space", "NULL", "ünïcödé", "x"},
}

// quotedStrings need quoting; they are written as "..." with doubled quotes.
var quotedStrings = []string{"a,b", "line\nbreak", `say "hi"`, `""`, "crlf\r\ninside", ",", "\n", "trailing\r"}

type fileSpec struct {
	rows         int
	crlf         bool
	noFinalNL    bool
	header       bool
	delim        byte
	blankLines   bool
	quoteNumbers bool
}

// writeCSV writes a file of random rows of every column type.
func writeCSV(t *testing.T, spec fileSpec, seed uint64) string {
	t.Helper()
	random := rand.New(rand.NewPCG(seed, 7))
	nl := "\n"
	if spec.crlf {
		nl = "\r\n"
	}
	names := []string{"i", "f", "b", "d", "t", "z", "s"}
	var out strings.Builder
	if spec.header {
		out.WriteString(strings.Join(names, string(spec.delim)) + nl)
	}
	for r := 0; r < spec.rows; r++ {
		fields := make([]string, len(names))
		for c, name := range names {
			values := sampleValues[name]
			v := values[random.IntN(len(values))]
			switch {
			case name == "s" && random.IntN(4) == 0:
				v = quotedStrings[random.IntN(len(quotedStrings))]
				if spec.crlf {
					v = strings.ReplaceAll(v, "\r\n", "\n") // encoding/csv reads \r\n in quotes as \n
				}
				v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
			case name == "s" && strings.ContainsRune(v, rune(spec.delim)):
				v = `"` + v + `"`
			case spec.quoteNumbers && v != "" && random.IntN(3) == 0:
				v = `"` + v + `"`
			}
			fields[c] = v
		}
		out.WriteString(strings.Join(fields, string(spec.delim)))
		if r < spec.rows-1 || !spec.noFinalNL {
			out.WriteString(nl)
		}
		if spec.blankLines && random.IntN(10) == 0 && r < spec.rows-1 {
			out.WriteString(nl)
		}
	}
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ours parses a file with the command's code; batches in file order.
func ours(t *testing.T, path, schema string, header bool, delim byte, batchRows, workers int) ([]arrow.RecordBatch, *arrow.Schema, error) {
	t.Helper()
	data, unmap, err := mapFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	var given []column
	if schema != "" {
		if given, err = parseSchema(schema); err != nil {
			t.Fatal(err)
		}
	}
	d := &dialect{delim: delim, nulls: []string{"", "NULL", "null"}}
	pl, err := prepare(data, d, header, given, 1000)
	if err != nil {
		return nil, nil, err
	}
	var batches []arrow.RecordBatch
	err = parseAll(context.Background(), data, pl, d, batchRows, workers, func(b arrow.RecordBatch, _ int) error {
		// The batch is about to be released, and data unmapped: keep a copy.
		batches = append(batches, deepCopy(b))
		return nil
	})
	return batches, pl.schema, err
}

// deepCopy copies a batch into Go memory of its own.
func deepCopy(b arrow.RecordBatch) arrow.RecordBatch {
	columns := make([]arrow.Array, b.NumCols())
	for i, c := range b.Columns() {
		columns[i], _ = array.Concatenate([]arrow.Array{c}, memory.NewGoAllocator())
	}
	return array.NewRecordBatch(b.Schema(), columns, b.NumRows())
}

// theirs reads the file with arrow-go's csv reader, the reference.
func theirs(t *testing.T, path string, schema *arrow.Schema, header bool, delim byte) ([]arrow.RecordBatch, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f, schema, csv.WithHeader(header), csv.WithComma(rune(delim)), csv.WithNullReader(false), csv.WithChunk(1000))
	defer r.Release()
	var batches []arrow.RecordBatch
	for r.Next() {
		batches = append(batches, deepCopy(r.RecordBatch()))
	}
	return batches, r.Err()
}

// sameColumns compares two runs of batches column by column, whatever
// their batch boundaries.
func sameColumns(t *testing.T, got, want []arrow.RecordBatch) {
	t.Helper()
	if len(want) == 0 {
		if len(got) != 0 {
			t.Fatalf("got %d batches, want none", len(got))
		}
		return
	}
	for c := 0; c < int(want[0].NumCols()); c++ {
		g, w := concat(got, c), concat(want, c)
		if !array.Equal(g, w) {
			name := want[0].Schema().Field(c).Name
			for i := 0; i < min(g.Len(), w.Len()); i++ {
				if !array.SliceEqual(g, int64(i), int64(i+1), w, int64(i), int64(i+1)) {
					t.Fatalf("column %s differs first at row %d: got %v, want %v (%d and %d rows)", name, i, g.ValueStr(i), w.ValueStr(i), g.Len(), w.Len())
				}
			}
			t.Fatalf("column %s: %d rows, want %d", name, g.Len(), w.Len())
		}
	}
}

func concat(batches []arrow.RecordBatch, c int) arrow.Array {
	var parts []arrow.Array
	for _, b := range batches {
		parts = append(parts, b.Column(c))
	}
	a, err := array.Concatenate(parts, memory.NewGoAllocator())
	if err != nil {
		panic(err)
	}
	return a
}

func TestParsesAsArrowGoDoes(t *testing.T) {
	specs := map[string]fileSpec{
		"header":                 {rows: 2000, header: true, delim: ','},
		"crlf":                   {rows: 2000, header: true, delim: ',', crlf: true},
		"no final newline":       {rows: 999, header: true, delim: ',', noFinalNL: true},
		"crlf, no final newline": {rows: 999, header: true, delim: ',', crlf: true, noFinalNL: true},
		"no header":              {rows: 1500, delim: ','},
		"tab delimited":          {rows: 1500, header: true, delim: '\t'},
		"semicolons":             {rows: 1500, header: true, delim: ';'},
		"blank lines":            {rows: 1500, header: true, delim: ',', blankLines: true},
		"quoted numbers":         {rows: 1500, header: true, delim: ',', quoteNumbers: true},
		"one row":                {rows: 1, header: true, delim: ','},
		"one row, no newline":    {rows: 1, header: true, delim: ',', noFinalNL: true},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			path := writeCSV(t, spec, uint64(len(name)))
			for _, run := range []struct{ batchRows, workers int }{{7, 2}, {64, 2}, {100000, 1}, {13, 3}} {
				got, schema, err := ours(t, path, testSchema, spec.header, spec.delim, run.batchRows, run.workers)
				if err != nil {
					t.Fatalf("batch rows %d: %v", run.batchRows, err)
				}
				want, err := theirs(t, path, schema, spec.header, spec.delim)
				if err != nil {
					t.Fatalf("arrow-go: %v", err)
				}
				sameColumns(t, got, want)
				for i, b := range got {
					if i < len(got)-1 && b.NumRows() > int64(run.batchRows) || (!spec.blankLines && i < len(got)-1 && b.NumRows() != int64(run.batchRows)) {
						t.Fatalf("batch %d of %d has %d rows, batch rows %d", i, len(got), b.NumRows(), run.batchRows)
					}
				}
			}
		})
	}
}

func TestEmptyAndHeaderOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"header only": "i,f,b,d,t,z,s\n", "header no newline": "i,f,b,d,t,z,s", "blank lines": "i,f,b,d,t,z,s\n\n\r\n"} {
		path := filepath.Join(dir, "f.csv")
		os.WriteFile(path, []byte(content), 0o600)
		got, schema, err := ours(t, path, testSchema, true, ',', 10, 2)
		if err != nil || len(got) != 0 || schema.NumFields() != 7 {
			t.Fatalf("%s: %d batches, %v", name, len(got), err)
		}
	}
	path := filepath.Join(dir, "empty.csv")
	os.WriteFile(path, nil, 0o600)
	if _, _, err := ours(t, path, "", true, ',', 10, 2); err == nil || !strings.Contains(err.Error(), "no header line") {
		t.Fatalf("empty file: %v", err)
	}
	if got, _, err := ours(t, path, "a:int64", false, ',', 10, 2); err != nil || len(got) != 0 {
		t.Fatalf("empty file with a schema and no header: %v", err)
	}
}

func TestQuotesAcrossBatchBoundaries(t *testing.T) {
	// Every record has a quoted field with newlines and delimiters inside,
	// so that a naive split at newlines would cut records in two.
	var b strings.Builder
	b.WriteString("id,text\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "%d,\"row %d\nsecond line, with a comma\n\"\"quoted\"\"\n%s\"\n", i, i, strings.Repeat("x", i%7))
	}
	path := filepath.Join(t.TempDir(), "q.csv")
	os.WriteFile(path, []byte(b.String()), 0o600)
	for _, batchRows := range []int{1, 3, 64} {
		got, schema, err := ours(t, path, "", true, ',', batchRows, 2)
		if err != nil {
			t.Fatal(err)
		}
		if schema.Field(0).Type.ID() != arrow.INT64 || schema.Field(1).Type.ID() != arrow.STRING {
			t.Fatalf("inferred %v", schema)
		}
		want, err := theirs(t, path, schema, true, ',')
		if err != nil {
			t.Fatal(err)
		}
		sameColumns(t, got, want)
		if len(got) != (500+batchRows-1)/batchRows {
			t.Fatalf("%d batches of %d rows for 500 rows", len(got), batchRows)
		}
	}
}

func TestInference(t *testing.T) {
	content := "i,f,b,d,t,z,s,empty,mixed\n" +
		"1,1,true,2024-01-01,2024-01-01T10:00:00,2024-01-01T10:00:00Z,a,,1\n" +
		"2,2.5,false,2024-01-02,2024-01-02 10:00:00.5,2024-01-02T10:00:00.25Z,b,,x\n" +
		",NULL,,,,,,,\n"
	path := filepath.Join(t.TempDir(), "infer.csv")
	os.WriteFile(path, []byte(content), 0o600)
	got, schema, err := ours(t, path, "", true, ',', 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := "i:int64,f:float64,b:bool,d:date32,t:timestamp[us],z:timestamp[us,UTC],s:string,empty:string,mixed:string"
	var names []string
	for _, c := range got[0].Schema().Fields() {
		names = append(names, c.Name+":"+typeNameOf(c.Type))
	}
	if strings.Join(names, ",") != want {
		t.Fatalf("inferred %s\nwant     %s", strings.Join(names, ","), want)
	}
	if !schema.Equal(got[0].Schema()) || got[0].Column(0).NullN() != 1 {
		t.Fatal("the third row's nulls")
	}
	// --schema names some columns; the others are inferred.
	got, _, err = ours(t, path, "i:float64,mixed:string", true, ',', 10, 1)
	if err != nil || got[0].Schema().Field(0).Type.ID() != arrow.FLOAT64 || got[0].Schema().Field(1).Type.ID() != arrow.FLOAT64 {
		t.Fatalf("partial schema: %v", err)
	}
	if _, _, err := ours(t, path, "nope:int64", true, ',', 10, 1); err == nil || !strings.Contains(err.Error(), `--schema names column "nope", which the header does not have`) {
		t.Fatalf("unknown column: %v", err)
	}
}

func typeNameOf(dt arrow.DataType) string {
	for _, c := range candidates {
		if arrow.TypeEqual(c.typ, dt) {
			return c.typeName()
		}
	}
	if dt.ID() == arrow.STRING {
		return "string"
	}
	return dt.String()
}

func TestSchemaFlag(t *testing.T) {
	columns, err := parseSchema("a:int64, b:timestamp[us,UTC] ,c:string,d:timestamp[ns]")
	if err != nil || len(columns) != 4 || !columns[1].zoned || columns[3].unit != arrow.Nanosecond {
		t.Fatalf("%v %+v", err, columns)
	}
	for spec, want := range map[string]string{
		"a":                 `"a" is not name:type`,
		"a:int32":           `column "a": unknown type "int32"`,
		"a:int64,a:string":  `column "a" is named twice`,
		"a:timestamp[h]":    `unknown timestamp unit "h"`,
		"a:timestamp[s,Xx]": `unknown time zone "Xx"`,
	} {
		if _, err := parseSchema(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--schema %s: %v, want %q", spec, err, want)
		}
	}
}

// Malformed input is refused, with the line and column, where arrow-go's
// reader refuses it too.
func TestMalformedInput(t *testing.T) {
	header := "a,b,c\n"
	good := "1,2.5,x\n"
	for name, tc := range map[string]struct{ body, want string }{
		"bad integer":       {good + "1,2.5,x\n12x,2.5,x\n", `line 4: column "a": "12x" is not an int64`},
		"bad float":         {good + "1,2.5.1,x\n", `line 3: column "b": "2.5.1" is not a float64`},
		"integer overflow":  {good + "9223372036854775808,1,x\n", `line 3: column "a": "9223372036854775808" is not an int64`},
		"too few fields":    {good + "1,2\n", "line 3: 2 fields, expected 3 (a, b, c)"},
		"too many fields":   {good + "1,2,x,y\n", "line 3: 4 fields, expected 3 (a, b, c)"},
		"bare quote":        {good + "1,2,ab\"c\n", `line 3: bare " in a field that is not quoted`},
		"text after quotes": {good + "1,2,\"ab\"c\n", "line 3: a quoted field goes on after its closing quote"},
		"unclosed quote":    {good + "1,2,\"abc\n4,5,6\n", "line 3: a quoted field is never closed"},
		"line after quoted": {good + "1,2,\"a\nb\"\n1,x,y\n", `line 5: column "b": "x" is not a float64`},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.csv")
			os.WriteFile(path, []byte(header+tc.body), 0o600)
			for _, batchRows := range []int{1, 2, 100} {
				_, _, err := ours(t, path, "a:int64,b:float64,c:string", true, ',', batchRows, 2)
				if err == nil || err.Error() != tc.want && !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("batch rows %d: %v\nwant %s", batchRows, err, tc.want)
				}
			}
			schema := schemaOf([]column{{name: "a", typ: arrow.PrimitiveTypes.Int64}, {name: "b", typ: arrow.PrimitiveTypes.Float64}, {name: "c", typ: arrow.BinaryTypes.String}})
			if _, err := theirs(t, path, schema, true, ','); err == nil {
				t.Fatal("arrow-go read it")
			}
		})
	}
}

// The first error in the file is the one reported, whichever worker finds
// an error first.
func TestFirstErrorInFileOrderIsReported(t *testing.T) {
	var b strings.Builder
	b.WriteString("a\n")
	for i := 0; i < 10000; i++ {
		if i == 5000 || i == 9000 {
			b.WriteString("bad\n")
		} else {
			b.WriteString("1\n")
		}
	}
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte(b.String()), 0o600)
	for i := 0; i < 20; i++ {
		_, _, err := ours(t, path, "a:int64", true, ',', 100, 3)
		if err == nil || !strings.HasPrefix(err.Error(), "line 5002:") {
			t.Fatalf("%v", err)
		}
	}
}

// Spans cut by the splitter hold whole records: parsed one by one they give
// the records of the whole file.
func FuzzSplitterCutsBetweenRecords(f *testing.F) {
	f.Add([]byte("a,\"b\nc\",d\n1,2,3\n\"x\"\"y\",z,\n"), 2)
	f.Add([]byte("\"\"\n\n\"a\nb\"\r\n,\n\"\"\"\"\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		n = max(1, n%50)
		records := func(data []byte, start int) ([]string, bool) {
			p := newParser(data, nil, &dialect{delim: ','})
			var out []string
			line := 1
			for i := start; i < len(data); {
				fields, next, err := p.readRecord(i, &line)
				if err != nil {
					return nil, false
				}
				if fields != nil {
					out = append(out, fmt.Sprintf("%q", fields))
				}
				i = next
			}
			return out, true
		}
		whole, ok := records(data, 0)
		if !ok {
			return // malformed: the parser reports it, wherever the cuts are
		}
		var pieces []string
		s := splitter{data: data, line: 1, quote: -1}
		for s.pos < len(data) {
			start, end, _, _ := s.next(n)
			span, ok := records(data[:end], start)
			if !ok {
				t.Fatalf("the span [%d, %d) does not parse alone", start, end)
			}
			pieces = append(pieces, span...)
		}
		if strings.Join(pieces, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("spans give\n%v\nthe whole file\n%v", pieces, whole)
		}
	})
}

// The tokenizer reads records as encoding/csv (which arrow-go's reader
// uses) does: the same fields, or an error for both.
func FuzzRecordsMatchEncodingCSV(f *testing.F) {
	for _, seed := range []string{"a,b\n1,2\n", "\"a\"\"b\",\"c\nd\"\r\ne,f", "a,\"b\n", "x\"y,z\n", "\n\r\n,\n\"\"\r", "a\rb,\"c\rd\"\n", "a\n\r"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newParser(data, nil, &dialect{delim: ','})
		var ours [][]string
		ourErr := false
		line := 1
		for i := 0; i < len(data); {
			fields, next, err := p.readRecord(i, &line)
			if err != nil {
				ourErr = true
				break
			}
			if fields != nil {
				record := make([]string, len(fields))
				for k, f := range fields {
					record[k] = string(f)
				}
				ours = append(ours, record)
			}
			i = next
		}
		r := stdcsv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		theirs, err := r.ReadAll()
		if (err != nil) != ourErr {
			t.Fatalf("%q: encoding/csv error %v, ours %v", data, err, ourErr)
		}
		if err == nil && fmt.Sprintf("%q", ours) != fmt.Sprintf("%q", theirs) {
			t.Fatalf("%q:\nours         %q\nencoding/csv %q", data, ours, theirs)
		}
	})
}
