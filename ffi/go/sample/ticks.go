// Package sample writes the project's built-in sample data: market ticks
// as CSV, the same bytes for the same row count on every machine, with the
// sums a consumer's answers can be checked against.
package sample

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Symbols is how many instruments the ticks are spread over.
const Symbols = 20

// TickSchema is the CSV's columns and their types, as shmpipe-csv's
// --schema takes them.
const TickSchema = "symbol:string,ts:timestamp[us],price:float64,qty:int64"

// SymbolSums are one symbol's totals over the file.
type SymbolSums struct {
	Symbol   string  `json:"symbol"`
	Rows     int64   `json:"rows"`
	Price    float64 `json:"price"`    // sum of prices
	Qty      int64   `json:"qty"`      // sum of quantities
	Notional float64 `json:"notional"` // sum of price * qty
	Last     float64 `json:"last"`     // the last price
}

// WriteTicks writes `rows` ticks: a header "symbol,ts,price,qty", then one
// line per tick: a symbol among Symbols (SYM00 ...), a microsecond
// timestamp from 2026-11-24 09:30 UTC, a price with 2 decimals (a random
// walk per symbol), a quantity from 1 to 5000. A fixed seed makes the same
// file every time. It returns the sums per symbol, of the values as
// written (prices rounded to the cent).
func WriteTicks(out io.Writer, rows int) ([]SymbolSums, error) {
	w := bufio.NewWriterSize(out, 1<<20)
	w.WriteString("symbol,ts,price,qty\n")
	random := rand.New(rand.NewPCG(1, 2))
	sums := make([]SymbolSums, Symbols)
	prices := make([]float64, Symbols)
	for i := range sums {
		sums[i].Symbol = fmt.Sprintf("SYM%02d", i)
		prices[i] = 20 + 20*float64(i)
	}
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	var line []byte
	for i := 0; i < rows; i++ {
		s := random.IntN(Symbols)
		prices[s] = max(1, prices[s]+float64(random.IntN(21)-10)/100)
		at = at.Add(time.Duration(1+random.IntN(200)) * time.Microsecond)
		qty := int64(1 + random.IntN(5000))
		line = append(line[:0], sums[s].Symbol...)
		line = append(line, ',')
		line = at.AppendFormat(line, "2006-01-02T15:04:05.000000")
		line = append(line, ',')
		line = strconv.AppendFloat(line, prices[s], 'f', 2, 64)
		line = append(line, ',')
		line = strconv.AppendInt(line, qty, 10)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return nil, err
		}
		// The sums are of the price as written (to the cent), as a reader parses it.
		written, _ := strconv.ParseFloat(strconv.FormatFloat(prices[s], 'f', 2, 64), 64)
		sums[s].Rows++
		sums[s].Price += written
		sums[s].Qty += qty
		sums[s].Notional += written * float64(qty)
		sums[s].Last = written
	}
	return sums, w.Flush()
}
