// The benchmark: a thin wrapper around hyperfine. Every case is a command
// that measures itself and appends one JSON result line; hyperfine runs each
// command several times (and reports wall time); this script takes the
// median of each case's own figures and prints them side by side with the
// machine's limits, as ratios. With --write it also rewrites the results
// section of docs/BENCHMARKS.md.
import { parseArgs } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const baselines = join(root, "ffi/core/build/baselines");
const bun = process.execPath;

interface Result {
  case: string;
  value: number;
  unit: string;
  mibps?: number;
}

function cases(quick: boolean): string[] {
  const rtts = quick ? 5_000 : 20_000;
  const spins = quick ? 50_000 : 200_000;
  const sizes: [number, number][] = [[64, 2_000_000], [1024, 1_000_000], [16384, 200_000], [262144, 20_000], [1048576, 5_000]];
  return [
    `${baselines} futex ${rtts}`,
    `${baselines} spin ${spins}`,
    `${baselines} unix ${rtts}`,
    `${baselines} memcpy 2000`,
    `${bun} scripts/bench/rtt.ts blocking ${rtts}`,
    `${bun} scripts/bench/rtt.ts default ${rtts}`,
    `${bun} scripts/bench/rtt.ts busy-poll ${spins}`,
    ...sizes.map(([size, count]) => `${bun} scripts/bench/throughput.ts ${size} ${quick ? count / 10 : count}`),
    ...handoffCases(quick),
  ];
}

const KiB = 1024, MiB = 1 << 20, GiB = 1 << 30;

/** Arrow batch hand-off: shmpipe against what a user would otherwise use, size by size. */
function handoffCases(quick: boolean): string[] {
  const sizes = quick ? [KiB, MiB, 100 * MiB] : [KiB, MiB, 100 * MiB, GiB];
  // reps and warm-up rounds: fewer where one round takes seconds
  const rounds = (bytes: number) => (bytes >= 100 * MiB ? " 2 1" : bytes >= MiB ? " 10 3" : " 50 10");
  const commands: string[] = [];
  for (const bytes of sizes) {
    commands.push(`${bun} scripts/bench/decode.ts ${bytes} ${bytes >= GiB ? 50 : 500}`);
    for (const transport of ["shm", "shm-py"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${bytes >= GiB ? " 3 2" : ""}`);
    for (const transport of ["unix", "tcp"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${rounds(bytes)}`);
    // JSON and CSV of a gigabyte take minutes per round: they stop at 100 MiB.
    if (bytes < GiB) for (const transport of ["http-json", "csv"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${rounds(bytes)}`);
  }
  // A small batch after the reader slept 20 ms, as it sleeps while a big batch is copied.
  commands.push(`${bun} scripts/bench/handoff.ts shm ${KiB} 50 10 20`);
  commands.push(`${bun} scripts/bench/fanout-pss.ts ${quick ? 64 * MiB : 256 * MiB}`);
  return commands;
}

/** How the Arrow hand-off compares, and how it grows with the batch size. */
function handoffRatios(get: (name: string) => number): string[] {
  const lines: string[] = [];
  const others = ["Arrow IPC over Unix socket", "Arrow IPC over TCP loopback", "JSON over HTTP (fetch -> Bun.serve)", "CSV file written + parsed"];
  for (const size of ["1 MiB", "100 MiB", "1 GiB"]) {
    for (const [label, shm] of [["shmpipe TS->TS commit -> usable", get(`shmpipe TS->TS commit -> usable, ${size} batch`)], ["shmpipe TS reader's work", get(`shmpipe TS reader's work per batch (one process), ${size} batch`)]] as const) {
      for (const other of others) {
        const ratio = get(`${other}, ${size} batch`) / shm;
        if (Number.isFinite(ratio)) lines.push(`| ${size} batch: ${other} ÷ ${label} | ${Math.round(ratio).toLocaleString("en-US")}× |`);
      }
    }
  }
  const growth = [["shmpipe TS reader's work per batch (one process)", "TS reader's work"], ["shmpipe TS->TS commit -> usable", "TS->TS commit -> usable"], ["shmpipe TS->Python commit -> usable", "TS->Python commit -> usable"]];
  for (const [prefix, label] of growth) {
    for (const size of ["100 MiB", "1 GiB"]) {
      const ratio = get(`${prefix}, ${size} batch`) / get(`${prefix}, 1 KiB batch`);
      if (Number.isFinite(ratio)) lines.push(`| shmpipe ${label}: ${size} batch ÷ 1 KiB batch | ${ratio.toFixed(2)}× |`);
    }
  }
  return lines;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function report(results: Map<string, Result & { runs: number }>, command: string): string {
  const get = (name: string) => results.get(name)?.value ?? NaN;
  const futex = get("C futex ping-pong"), spin = get("C spin ping-pong"), unix = get("C Unix socket ping-pong (64 B)");
  const memcpy = get("C memcpy 1 MiB");
  const blocking = get("shmpipe TS<->TS round trip, blocking");
  const polled = get("shmpipe TS<->TS round trip, busy-poll");
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Bun ${Bun.version}, with:`,
    "",
    "```sh",
    command,
    "```",
    "",
    "Each figure is the median of the case's own measurement over the hyperfine runs (start-up excluded).",
    "",
    "| case | result | runs |",
    "|---|---:|---:|",
    ...[...results.values()].map((r) => `| ${r.case} | ${r.value.toLocaleString("en-US")} ${r.unit}${r.mibps !== undefined ? ` (${r.mibps.toLocaleString("en-US")} MiB/s)` : ""} | ${r.runs} |`),
    "",
    "| ratio | value |",
    "|---|---:|",
    `| TS blocking round trip ÷ C futex ping-pong | ${(blocking / futex).toFixed(2)}× |`,
    `| TS busy-poll round trip ÷ C spin ping-pong | ${(polled / spin).toFixed(2)}× |`,
    `| Unix socket ping-pong ÷ TS blocking round trip | ${(unix / blocking).toFixed(2)}× |`,
    ...handoffRatios(get),
    ...[...results.values()].filter((r) => r.mibps !== undefined).map((r) => `| ${r.case}: payload bandwidth ÷ C memcpy | ${((r.mibps! / memcpy) * 100).toFixed(1)} % |`),
  ];
  return lines.join("\n");
}

export async function bench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "5" },
      quick: { type: "boolean", default: false },
      write: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: shmpipe bench [--runs N] [--quick] [--write]

Runs every benchmark case N times through hyperfine (default 5) and prints
the medians and ratios. --quick does a tenth of the work per case; --write
puts the report into docs/BENCHMARKS.md. \`npm run bench\` installs hyperfine.`);
    return;
  }
  if (Bun.spawnSync(["hyperfine", "--version"], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) {
    throw new Error("shmpipe bench: hyperfine is not installed; `npm run bench` installs it (apt-get)");
  }
  if (Bun.spawnSync(["make", "-s", "-C", join(root, "ffi/core"), "bench"], { stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0) {
    throw new Error("shmpipe bench: building the C baselines failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-bench-"));
  try {
    const all = cases(values.quick);
    all.forEach((command, i) => {
      console.error(`[${i + 1}/${all.length}] ${command.replace(root, "").replace(bun, "bun")}`);
      const out = join(dir, `${i}.jsonl`);
      const run = Bun.spawnSync(
        ["hyperfine", "--runs", values.runs, "--style", "none", "--export-json", join(dir, `${i}.hyperfine.json`), `${command} >> ${out}`],
        { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
      );
      if (run.exitCode !== 0) throw new Error(`shmpipe bench: case failed: ${command}`);
    });
    // A case program prints one or more figures per run, each named by its case.
    const results = new Map<string, Result & { runs: number }>();
    all.forEach((_, i) => {
      const byCase = new Map<string, Result[]>();
      for (const line of readFileSync(join(dir, `${i}.jsonl`), "utf8").trim().split("\n")) {
        const row = JSON.parse(line) as Result;
        byCase.set(row.case, [...(byCase.get(row.case) ?? []), row]);
      }
      for (const [name, rows] of byCase) {
        const first = rows[0]!;
        results.set(name, {
          ...first,
          value: median(rows.map((r) => r.value)),
          mibps: first.mibps === undefined ? undefined : median(rows.map((r) => r.mibps!)),
          runs: rows.length,
        });
      }
    });
    const command = `npm run bench -- --runs ${values.runs}${values.quick ? " --quick" : ""}${values.write ? " --write" : ""}`;
    const text = report(results, command);
    console.log(text);
    if (values.write) writeResults(text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BEGIN = "<!-- results: written by `shmpipe bench --write` -->";
const END = "<!-- end of results -->";

function writeResults(text: string): void {
  const path = join(root, "docs/BENCHMARKS.md");
  const doc = readFileSync(path, "utf8");
  const start = doc.indexOf(BEGIN), end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path} lacks the results markers`);
  writeFileSync(path, `${doc.slice(0, start + BEGIN.length)}\n${text}\n${doc.slice(end)}`);
  console.error(`wrote ${path}`);
}

if (import.meta.main) await bench(process.argv.slice(2));
