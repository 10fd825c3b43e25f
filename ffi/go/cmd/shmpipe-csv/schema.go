package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// kind is how a column's values are parsed.
type kind uint8

const (
	kindInt64 kind = iota
	kindFloat64
	kindBool
	kindDate32
	kindTimestamp
	kindString
)

// column is one CSV column and the Arrow type it becomes.
type column struct {
	name  string
	kind  kind
	typ   arrow.DataType
	unit  arrow.TimeUnit // timestamps
	zoned bool           // a timestamp type with a time zone: values must carry an offset
	loc   *time.Location
}

const typeNames = "int64, float64, bool, date32, string, timestamp[s|ms|us|ns] or timestamp[UNIT,ZONE]"

// columnOf makes a column of the type named as --schema names it.
func columnOf(name, typeName string) (column, error) {
	c := column{name: name}
	switch typeName {
	case "int64":
		c.kind, c.typ = kindInt64, arrow.PrimitiveTypes.Int64
	case "float64", "double":
		c.kind, c.typ = kindFloat64, arrow.PrimitiveTypes.Float64
	case "bool", "boolean":
		c.kind, c.typ = kindBool, arrow.FixedWidthTypes.Boolean
	case "date32", "date":
		c.kind, c.typ = kindDate32, arrow.FixedWidthTypes.Date32
	case "string", "utf8":
		c.kind, c.typ = kindString, arrow.BinaryTypes.String
	default:
		inner, ok := strings.CutPrefix(typeName, "timestamp[")
		if !ok || !strings.HasSuffix(inner, "]") {
			return c, fmt.Errorf("column %q: unknown type %q (types: %s)", name, typeName, typeNames)
		}
		unitName, zone, _ := strings.Cut(strings.TrimSuffix(inner, "]"), ",")
		units := map[string]arrow.TimeUnit{"s": arrow.Second, "ms": arrow.Millisecond, "us": arrow.Microsecond, "ns": arrow.Nanosecond}
		unit, ok := units[strings.TrimSpace(unitName)]
		if !ok {
			return c, fmt.Errorf("column %q: unknown timestamp unit %q (s, ms, us or ns)", name, unitName)
		}
		return timestampColumn(name, unit, strings.TrimSpace(zone))
	}
	return c, nil
}

func timestampColumn(name string, unit arrow.TimeUnit, zone string) (column, error) {
	t := &arrow.TimestampType{Unit: unit, TimeZone: zone}
	loc, err := t.GetZone()
	if err != nil {
		return column{}, fmt.Errorf("column %q: unknown time zone %q", name, zone)
	}
	return column{name: name, kind: kindTimestamp, typ: t, unit: unit, zoned: zone != "", loc: loc}, nil
}

// parseSchema reads --schema: "name:type,name:type,...".
func parseSchema(text string) ([]column, error) {
	var columns []column
	seen := map[string]bool{}
	// A comma inside timestamp[us,UTC] does not separate columns.
	for _, entry := range splitOutsideBrackets(text) {
		name, typeName, ok := strings.Cut(entry, ":")
		name, typeName = strings.TrimSpace(name), strings.TrimSpace(typeName)
		if !ok || name == "" || typeName == "" {
			return nil, fmt.Errorf("--schema: %q is not name:type", entry)
		}
		if seen[name] {
			return nil, fmt.Errorf("--schema: column %q is named twice", name)
		}
		seen[name] = true
		c, err := columnOf(name, typeName)
		if err != nil {
			return nil, fmt.Errorf("--schema: %w", err)
		}
		columns = append(columns, c)
	}
	return columns, nil
}

func splitOutsideBrackets(text string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, text[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, text[start:])
}

// candidates are the types inference tries, narrowest first: a column
// gets the first one every non-null value of the sample parses as.
var candidates = func() []column {
	stamp, _ := timestampColumn("", arrow.Microsecond, "")
	zoned, _ := timestampColumn("", arrow.Microsecond, "UTC")
	kinds := []column{
		{kind: kindInt64, typ: arrow.PrimitiveTypes.Int64},
		{kind: kindFloat64, typ: arrow.PrimitiveTypes.Float64},
		{kind: kindBool, typ: arrow.FixedWidthTypes.Boolean},
		{kind: kindDate32, typ: arrow.FixedWidthTypes.Date32},
		stamp,
		zoned,
	}
	return kinds
}()

// inferColumn picks the type of a column from sample values (nulls
// already left out); string when nothing narrower fits, or no value was seen.
func inferColumn(name string, values [][]byte) column {
	for _, c := range candidates {
		fits := len(values) > 0
		for _, v := range values {
			if _, ok := convert(&c, v); !ok {
				fits = false
				break
			}
		}
		if fits {
			c.name = name
			return c
		}
	}
	return column{name: name, kind: kindString, typ: arrow.BinaryTypes.String}
}

func schemaOf(columns []column) *arrow.Schema {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// typeName is the column's type as --schema spells it.
func (c *column) typeName() string {
	if c.kind == kindTimestamp {
		units := map[arrow.TimeUnit]string{arrow.Second: "s", arrow.Millisecond: "ms", arrow.Microsecond: "us", arrow.Nanosecond: "ns"}
		if c.zoned {
			return "timestamp[" + units[c.unit] + "," + c.typ.(*arrow.TimestampType).TimeZone + "]"
		}
		return "timestamp[" + units[c.unit] + "]"
	}
	return c.typ.String()
}
