package main

// The hand-off's transports for readers without an Arrow library (R),
// what such a user would otherwise do: the columns' bytes over a socket
// (readBin), or a CSV file (read.csv, data.table::fread).

import (
	"bufio"
	"context"
	"encoding/binary"
	"math"
	"net"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

// sendRawColumns writes the row count (a float64, as readBin reads it), then the
// float64 column's bytes, then the int32 column's, as they lie in memory.
func sendRawColumns(conn net.Conn, batch arrow.RecordBatch) (start, commit int64, err error) {
	start = monotonicNs()
	x := batch.Column(0).(*array.Float64).Values()
	y := batch.Column(1).(*array.Int32).Values()
	var rows [8]byte
	binary.LittleEndian.PutUint64(rows[:], math.Float64bits(float64(len(x))))
	buffers := net.Buffers{rows[:], arrow.Float64Traits.CastToBytes(x), arrow.Int32Traits.CastToBytes(y)}
	_, err = buffers.WriteTo(conn)
	return start, 0, err
}

// sendCSV writes the batch as a CSV file (a header line "x,y", then one
// line per row) and sends its path on the channel once it is complete.
func sendCSV(w *shmpipe.Writer, path string, batch arrow.RecordBatch) (start, commit int64, err error) {
	start = monotonicNs()
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	out := bufio.NewWriterSize(f, 1<<20)
	x := batch.Column(0).(*array.Float64).Values()
	y := batch.Column(1).(*array.Int32).Values()
	line := []byte("x,y\n")
	out.Write(line)
	for i := range x {
		line = strconv.AppendFloat(line[:0], x[i], 'g', -1, 64)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(y[i]), 10)
		out.Write(append(line, '\n'))
	}
	if err = out.Flush(); err == nil {
		err = f.Close()
	}
	if err != nil {
		return 0, 0, err
	}
	return start, 0, w.Send(context.Background(), []byte(path))
}
