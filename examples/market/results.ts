// Prints the R stage's results table.

export interface ResultRow {
  symbol: string;
  ticks: number;
  mean_price: number;
  vwap: number;
  rolling_mean: number;
  rolling_volatility: number;
  trend_per_minute: number;
  r_squared: number;
  written_at: number; // ms since the epoch (R's Sys.time() when it wrote the table; apache-arrow gives timestamps in ms)
}

const COLUMNS: [string, (row: ResultRow) => string][] = [
  ["symbol", (row) => row.symbol],
  ["ticks", (row) => row.ticks.toLocaleString("en-US")],
  ["mean price", (row) => row.mean_price.toFixed(2)],
  ["VWAP", (row) => row.vwap.toFixed(2)],
  ["mean, last 500", (row) => row.rolling_mean.toFixed(2)],
  ["volatility, last 500", (row) => `${(row.rolling_volatility * 1e4).toFixed(2)} bp`],
  ["trend / minute", (row) => row.trend_per_minute.toFixed(3)],
  ["R²", (row) => row.r_squared.toFixed(3)],
];

export function printResults(rows: ResultRow[]): void {
  const cells = [COLUMNS.map(([title]) => title), ...rows.map((row) => COLUMNS.map(([, cell]) => cell(row)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  console.log("\nR's statistics per symbol (computed on the ticks in shared memory, sent back as an Arrow table):");
  cells.forEach((line, n) => {
    console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  });
}
