package main

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// BenchmarkParse parses the file named by SHMPIPE_CSV_BENCH in this
// process (skipped without it), on SHMPIPE_CSV_BENCH_WORKERS goroutines
// (default 2), for profiling the parser:
//
//	SHMPIPE_CSV_BENCH=ticks.csv go test -run - -bench Parse -cpuprofile cpu.out
func BenchmarkParse(b *testing.B) {
	path := os.Getenv("SHMPIPE_CSV_BENCH")
	if path == "" {
		b.Skip("set SHMPIPE_CSV_BENCH to a CSV file")
	}
	data, unmap, err := mapFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer unmap()
	d := &dialect{delim: ',', nulls: []string{"", "NULL", "null"}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		pl, err := prepare(data, d, true, nil, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if err := parseAll(context.Background(), data, pl, d, 65536, benchWorkers(), func(arrow.RecordBatch, int) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWorkers() int {
	if n, err := strconv.Atoi(os.Getenv("SHMPIPE_CSV_BENCH_WORKERS")); err == nil {
		return n
	}
	return 2
}
