// The tables a benchmark group writes into docs/BENCHMARKS.md: its cases
// with their results and runs, then the ratios that say what they mean.
export interface Row {
  case: string;
  value: number;
  unit: string;
  runs: number;
  min?: number;
  max?: number;
}

/** A section's first lines: when it was measured, and the command. */
export function measuredWith(command: string): string[] {
  return [`Measured ${new Date().toISOString().slice(0, 10)} with:`, "", "```sh", command, "```", ""];
}

/** With spread, each case's smallest and largest figure over the runs too. */
export function groupReport(command: string, rows: Row[], ratios: [string, number][], spread = false): string {
  const range = (r: Row) => (spread ? ` ${(r.min ?? r.value).toLocaleString("en-US")} – ${(r.max ?? r.value).toLocaleString("en-US")} |` : "");
  const times = (value: number) => `${value.toLocaleString("en-US", { maximumFractionDigits: value >= 100 ? 0 : 2 })}×`;
  return [
    ...measuredWith(command),
    `| case | result |${spread ? " min – max |" : ""} runs |`,
    `|---|---:|${spread ? "---:|" : ""}---:|`,
    ...rows.map((r) => `| ${r.case} | ${r.value.toLocaleString("en-US")} ${r.unit} |${range(r)} ${r.runs} |`),
    "",
    "| ratio | value |",
    "|---|---:|",
    ...ratios.filter(([, value]) => Number.isFinite(value)).map(([label, value]) => `| ${label} | ${times(value)} |`),
  ].join("\n");
}
