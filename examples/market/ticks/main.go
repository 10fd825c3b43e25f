// Command ticks writes the main example's sample data: ROWS market ticks
// as CSV (package sample: the same file on every machine) to FILE, and the
// producer's own sums per symbol, which the pipeline's answers are checked
// against, as JSON to FILE.sums.json. A file already there with its sums
// is kept (the sums say how many rows it has).
//
//	go run ./examples/market/ticks FILE ROWS
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/shmpipe/shmpipe/ffi/go/sample"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ticks FILE ROWS")
		os.Exit(2)
	}
	path := os.Args[1]
	rows, err := strconv.Atoi(os.Args[2])
	if err != nil || rows < 1 {
		fmt.Fprintf(os.Stderr, "ticks: ROWS must be a positive number, not %q\n", os.Args[2])
		os.Exit(2)
	}
	if err := write(path, rows); err != nil {
		fmt.Fprintln(os.Stderr, "ticks:", err)
		os.Exit(1)
	}
}

func write(path string, rows int) error {
	if kept(path, rows) {
		return nil
	}
	// Written under temporary names, then renamed: an interrupted run
	// leaves no half file that a later run would take for complete.
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(path + ".tmp")
	sums, err := sample.WriteTicks(f, rows)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		f.Close()
		return err
	}
	text, err := json.MarshalIndent(sums, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".sums.json.tmp", text, 0o644); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	return os.Rename(path+".sums.json.tmp", path+".sums.json")
}

// kept reports whether FILE and its sums are there, for `rows` rows.
func kept(path string, rows int) bool {
	text, err := os.ReadFile(path + ".sums.json")
	if err != nil {
		return false
	}
	if _, err := os.Stat(path); err != nil {
		return false
	}
	var sums []sample.SymbolSums
	if json.Unmarshal(text, &sums) != nil {
		return false
	}
	total := int64(0)
	for _, s := range sums {
		total += s.Rows
	}
	return total == int64(rows)
}
