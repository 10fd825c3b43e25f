// The publish group of `shmpipe bench`: R's publish_table(), Python's and
// TypeScript's publish() of a table of doubles, at 256 MiB and 1 GiB, beside the
// machine's floor for the same bytes (ffi/core/bench/baselines.c
// publish-memcpy): a memcpy into a new /dev/shm segment, first-touch page
// faults included, which any publisher pays, and a memcpy into memory
// touched before. The cases take turns (C, R, Python, TS, C, R, ...);
// each ratio is taken within a run, and its spread is over the runs.
// (`env` sets the variables: the harness may put `taskset -c A` first.)
import { join } from "node:path";
import { python } from "../python.ts";
import { measuredWith } from "./group-report.ts";

const MiB = 1 << 20, GiB = 1 << 30;
const sizes = [256 * MiB, GiB];

export function publishCases(quick: boolean, root: string, baselines: string, bun: string): string[] {
  const commands: string[] = [];
  for (const bytes of sizes) {
    const rounds = bytes >= GiB ? (quick ? 2 : 3) : quick ? 3 : 5; // each case's median of these, per run
    commands.push(`${baselines} publish-memcpy ${bytes} ${rounds}`);
    commands.push(`env R_LIBS=${join(root, ".rlib")} Rscript ${join(root, "scripts/bench/publish_table.R")} ${bytes} ${rounds}`);
    commands.push(`env PYTHONPATH=${join(root, "ffi/python")} ${python()} ${join(root, "scripts/bench/publish_table.py")} ${bytes} ${rounds}`);
    commands.push(`${bun} ${join(root, "scripts/bench/publish_table.ts")} ${bytes} ${rounds}`);
  }
  return commands;
}

export const isPublish = (name: string) =>
  name.startsWith("R publish_table,") || name.startsWith("Python publish,") || name.startsWith("TS publish,") || name.startsWith("C memcpy into");

interface Row {
  case: string;
  value: number;
  unit: string;
  min?: number;
  max?: number;
  mibps?: number;
  runs: number;
  /** The case's figure in each run, in the order of the runs. */
  values?: number[];
}

const number = (value: number) => value.toLocaleString("en-US", { maximumFractionDigits: value >= 100 ? 0 : 3 });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The publish section: each case with its spread, then each publisher's
 * speed as a share of each memcpy's (the memcpy's seconds ÷ the
 * publisher's, run by run): median (min – max) over the runs. */
export function publishReport(results: Map<string, Row>, command: string): string {
  const rows = [...results.values()].filter((r) => isPublish(r.case));
  const lines = [
    ...measuredWith(command),
    "| case | median | min – max | runs |",
    "|---|---:|---:|---:|",
    ...rows.map((r) => `| ${r.case} | ${number(r.value)} ${r.unit}${r.mibps !== undefined ? ` (${number(r.mibps)} MiB/s)` : ""} | ${number(r.min ?? r.value)} – ${number(r.max ?? r.value)} | ${r.runs} |`),
    "",
    "| publisher's speed ÷ memcpy's, same bytes, same run | median | min – max |",
    "|---|---:|---:|",
  ];
  for (const bytes of sizes) {
    const label = bytes >= GiB ? "1 GiB" : `${bytes / MiB} MiB`;
    const floors: [string, string][] = [
      ["a memcpy into a new /dev/shm segment", `C memcpy into a new /dev/shm segment (shm_open, ftruncate, mmap, copy), ${bytes} B`],
      ["a memcpy into memory touched before", `C memcpy into memory touched before, ${bytes} B`],
    ];
    for (const publisher of [`R publish_table, ${bytes} B of doubles`, `Python publish, ${bytes} B of doubles`, `TS publish, ${bytes} B of doubles`]) {
      for (const [what, floor] of floors) {
        const a = results.get(floor)?.values ?? [], b = results.get(publisher)?.values ?? [];
        const ratios = a.slice(0, b.length).map((seconds, i) => seconds / b[i]!).filter(Number.isFinite);
        if (ratios.length === 0) continue;
        const percent = (x: number) => `${(x * 100).toFixed(0)} %`;
        lines.push(`| ${label}: ${publisher.split(",")[0]} ÷ ${what} | ${percent(median(ratios))} | ${percent(Math.min(...ratios))} – ${percent(Math.max(...ratios))} |`);
      }
    }
  }
  return lines.join("\n");
}
