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
const baselines = join(root, "ffi/build/baselines");
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
  ];
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
  if (Bun.spawnSync(["make", "-s", "-C", join(root, "ffi"), "bench"], { stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0) {
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
    const results = new Map<string, Result & { runs: number }>();
    all.forEach((_, i) => {
      const rows = readFileSync(join(dir, `${i}.jsonl`), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Result);
      const first = rows[0]!;
      results.set(first.case, {
        ...first,
        value: median(rows.map((r) => r.value)),
        mibps: first.mibps === undefined ? undefined : median(rows.map((r) => r.mibps!)),
        runs: rows.length,
      });
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
