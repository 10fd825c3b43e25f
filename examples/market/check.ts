// The main example's self-check: R's results table and Python's totals
// against the sums the generator wrote with the CSV file.

/** One symbol's sums, as the generator (ffi/go/sample) writes them. */
export interface SymbolSums {
  symbol: string;
  rows: number;
  price: number;
  qty: number;
  notional: number;
  last: number;
}

import type { ResultRow } from "./results.ts";

export interface Answers {
  results: ResultRow[];
  python: { rows: number; price: number; parquet: string } | null;
  resultsDelayMs: number;
}

/** Agreement to 1e-9 relative: sums in another order differ in the last bits. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** What disagrees, one sentence each; empty if every answer is right. */
export function checkAnswers(sums: SymbolSums[], answers: Answers): string[] {
  const problems: string[] = [];
  const bySymbol = new Map(answers.results.map((row) => [row.symbol, row]));
  for (const expected of sums) {
    const got = bySymbol.get(expected.symbol);
    if (!got) {
      problems.push(`R's table has no row for ${expected.symbol}`);
      continue;
    }
    if (got.ticks !== expected.rows) problems.push(`${expected.symbol}: R counted ${got.ticks} ticks, the producer wrote ${expected.rows}`);
    if (!close(got.mean_price, expected.price / expected.rows)) problems.push(`${expected.symbol}: R's mean price ${got.mean_price} ≠ ${expected.price / expected.rows}`);
    if (!close(got.vwap, expected.notional / expected.qty)) problems.push(`${expected.symbol}: R's VWAP ${got.vwap} ≠ ${expected.notional / expected.qty}`);
  }
  if (answers.results.length !== sums.length) problems.push(`R's table has ${answers.results.length} rows for ${sums.length} symbols`);
  const rows = sums.reduce((total, s) => total + s.rows, 0);
  const price = sums.reduce((total, s) => total + s.price, 0);
  if (!answers.python) problems.push("the Python stage gave no answer");
  else {
    if (answers.python.rows !== rows) problems.push(`Python wrote ${answers.python.rows} rows to Parquet, the producer ${rows}`);
    if (!close(answers.python.price, price)) problems.push(`Python's sum of prices ${answers.python.price} ≠ ${price}`);
  }
  return problems;
}
