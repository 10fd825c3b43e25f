// The benchmark: a thin wrapper around hyperfine. Every case is a command
// that measures itself and appends one JSON result line; hyperfine runs each
// command several times (and reports wall time); this script takes the
// median of each case's own figures and prints them side by side with the
// machine's limits, as ratios. With --write it also rewrites the results
// sections of docs/BENCHMARKS.md (the main one, and the Go one). The Go
// cases are two programs, ffi/go/cmd/shmpipe-bench and shmpipe-csv, built
// once per run into the run's temporary directory.
import { parseArgs } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { python } from "./python.ts";
import { rCases, rReport } from "./bench/r-cases.ts";
import { poolCases, poolsReport } from "./bench/pools.ts";
import { zmqCases, zmqRatios } from "./bench/zmq-cases.ts";
import { publishCases, publishReport } from "./bench/publish.ts";
import { flightCases, flightReport } from "./bench/flight-cases.ts";

const root = new URL("..", import.meta.url).pathname;
const baselines = join(root, "ffi/core/build/baselines");
const bun = process.execPath;

export interface Result {
  case: string;
  /** The group of the case that printed it (set when the run's figures are gathered). */
  group?: Group;
  value: number;
  unit: string;
  mibps?: number;
  /** The smallest and largest value over the runs (the report's figure is their median). */
  min?: number;
  max?: number;
  /** Every run's value, run by run (a ratio's spread pairs the values of one run). */
  values?: number[];
}

/** A case's group, for --only: the C baselines, TypeScript's channel cases, its Arrow hand-off cases, the same under Deno, the Go cases, the R cases, Python's worker pools, Python's hand-off beside ZeroMQ, publishing tables from R, Python and TypeScript against memcpy, the Flight bridge. */
export type Group = "c" | "ts" | "ts-arrow" | "deno" | "go" | "python" | "r" | "pools" | "zmq" | "publish" | "flight";
const GROUPS: Group[] = ["c", "ts", "ts-arrow", "deno", "go", "python", "r", "pools", "zmq", "publish", "flight"];
const deno = `${join(root, "node_modules/.bin/deno")} run -A`;

/** The Go programs (built once per run) and the CSV file their case reads. */
interface GoTools {
  bench: string;
  csv: string;
  ticks: string;
  flight: string;
}

function cases(quick: boolean, go: GoTools): [Group, string][] {
  const rtts = quick ? 5_000 : 20_000;
  const spins = quick ? 50_000 : 200_000;
  const sizes: [number, number][] = [[64, 2_000_000], [1024, 1_000_000], [16384, 200_000], [262144, 20_000], [1048576, 5_000]];
  return [
    ["c", `${baselines} futex ${rtts}`],
    ["c", `${baselines} spin ${spins}`],
    ...["1", "2", "3", "core"].map((lines): [Group, string] => ["c", `${baselines} record-lines ${lines} ${spins}`]),
    ["c", `${baselines} unix ${rtts}`],
    ["c", `${baselines} memcpy 2000`],
    ["c", `${baselines} core-rtt blocking ${rtts}`],
    ["c", `${baselines} core-rtt busy-poll ${spins}`],
    ...sizes.map(([size, count]): [Group, string] => ["c", `${baselines} core-oneway ${size} ${quick ? count / 10 : count}`]),
    // Small records also in batches of 256 per call, in C and in each binding (sendPacked or sendBatch / batches(), SendBatch / RecvBatch).
    ...sizes.slice(0, 2).map(([size, count]): [Group, string] => ["c", `${baselines} core-oneway-batch ${size} ${quick ? count / 10 : count}`]),
    // The C floor of the Arrow hand-off's "commit -> usable": a reader that slept, at 100 MiB and after 20 ms idle.
    ["c", `${baselines} core-handoff ${100 * MiB} 0 11`],
    ["c", `${baselines} core-handoff ${KiB} 20 21`],
    ["ts", `${bun} scripts/bench/rtt.ts blocking ${rtts}`],
    ["ts", `${bun} scripts/bench/rtt.ts default ${rtts}`],
    ["ts", `${bun} scripts/bench/rtt.ts busy-poll ${spins}`],
    ["ts", `${bun} scripts/bench/small-batch.ts 5000`],
    ...sizes.map(([size, count]): [Group, string] => ["ts", `${bun} scripts/bench/throughput.ts ${size} ${quick ? count / 10 : count} record`]),
    ...sizes.slice(0, 2).flatMap(([size, count]) => ["sync", "batch", "views"].map((mode): [Group, string] => ["ts", `${bun} scripts/bench/throughput.ts ${size} ${quick ? count / 10 : count} ${mode}`])),
    ...handoffCases(quick).map((command): [Group, string] => ["ts-arrow", command]),
    // The same scripts under Deno (each starts its peer with its own runtime), beside Bun's.
    ["deno", `${deno} scripts/bench/rtt.ts blocking ${rtts}`],
    ["deno", `${deno} scripts/bench/rtt.ts busy-poll ${spins}`],
    ...sizes.slice(0, 2).flatMap(([size, count]) => ["record", "batch"].map((mode): [Group, string] => ["deno", `${deno} scripts/bench/throughput.ts ${size} ${quick ? count / 10 : count} ${mode}`])),
    ...[KiB, MiB, 100 * MiB].map((bytes): [Group, string] => ["deno", `${deno} scripts/bench/decode.ts ${bytes} ${DECODE_ROUNDS}`]),
    ...[KiB, MiB, 100 * MiB].map((bytes): [Group, string] => ["deno", `${deno} scripts/bench/handoff.ts shm ${bytes}`]),
    ["deno", `${deno} scripts/bench/handoff.ts shm ${KiB} 50 10 20`],
    ...goCases(quick, go, rtts, spins, sizes).map((command): [Group, string] => ["go", command]),
    // Python's channel, a call per record and in batches of 256 (send_batch, batches()).
    ...sizes.slice(0, 2).flatMap(([size]) => ([["record", 200_000], ["batch", 2_000_000]] as const).map(([mode, count]): [Group, string] => ["python", `env PYTHONPATH=${join(root, "ffi/python")} ${python()} scripts/bench/one_way.py ${size} ${quick ? count / 10 : count} ${mode}`])),
    ...rCases(quick, root, go.bench).map((command): [Group, string] => ["r", command]),
    ...poolCases(quick, root).map((command): [Group, string] => ["pools", command]),
    ...zmqCases(quick, root, bun).map((command): [Group, string] => ["zmq", command]),
    ...publishCases(quick, root, baselines, bun).map((command): [Group, string] => ["publish", command]),
    ...flightCases(quick, root, go.flight, baselines).map((command): [Group, string] => ["flight", command]),
  ];
}

/** Rows of the generated CSV file of market ticks the Go CSV case reads. */
const tickRows = (quick: boolean) => (quick ? 1_000_000 : 5_000_000);

/** The Go cases: the same channel cases as TypeScript's, the Arrow hand-off to TypeScript and Python, the CSV producer. */
function goCases(quick: boolean, go: GoTools, rtts: number, spins: number, sizes: [number, number][]): string[] {
  const commands = [
    `${go.bench} rtt blocking ${rtts}`,
    `${go.bench} rtt default ${rtts}`,
    `${go.bench} rtt busy-poll ${spins}`,
    ...sizes.map(([size, count]) => `${go.bench} oneway ${size} ${quick ? count / 10 : count}`),
    ...sizes.slice(0, 2).map(([size, count]) => `${go.bench} oneway-batch ${size} ${quick ? count / 10 : count}`),
  ];
  const readers = {
    TS: (transport: string) => `${bun} scripts/bench/handoff-reader.ts ${transport}`,
    Python: (transport: string) => `${python()} scripts/bench/handoff_reader.py${transport === "unix" ? " unix" : ""}`,
  };
  for (const bytes of quick ? [MiB, 100 * MiB] : [MiB, 100 * MiB, GiB]) {
    // reps and warm-up rounds, as the TypeScript cases take them
    const shmRounds = bytes >= GiB ? "3 2" : bytes >= 100 * MiB ? "20 5" : "200 30";
    const socketRounds = bytes >= 100 * MiB ? "2 1" : "10 3";
    for (const [label, reader] of Object.entries(readers)) {
      for (const transport of ["shm", "unix"]) {
        const env = label === "Python" ? `PYTHONPATH=${join(root, "ffi/python")} ` : "";
        commands.push(`${env}${go.bench} handoff ${transport} ${label} ${bytes} ${transport === "shm" ? shmRounds : socketRounds} -- ${reader(transport)}`);
      }
    }
  }
  commands.push(`${go.bench} csv ${go.ticks} 65536 ${go.csv}`);
  return commands;
}

const KiB = 1024, MiB = 1 << 20, GiB = 1 << 30;

/** Rounds of the reader's-work cases (decode.ts: as many untimed first). */
const DECODE_ROUNDS = 2000;

/** Arrow batch hand-off: shmpipe against what a user would otherwise use, size by size. */
function handoffCases(quick: boolean): string[] {
  const sizes = quick ? [KiB, MiB, 100 * MiB] : [KiB, MiB, 100 * MiB, GiB];
  // reps and warm-up rounds: fewer where one round takes seconds
  const rounds = (bytes: number) => (bytes >= 100 * MiB ? " 2 1" : bytes >= MiB ? " 10 3" : " 50 10");
  const commands: string[] = [];
  for (const bytes of sizes) {
    // The TypeScript reader's work per batch, and pyarrow's decode of the same columns beside it.
    // The same rounds at every size: a round costs microseconds whatever the size (views, not
    // copies), and the TS figure depends on how many batches the process decoded before (the
    // JIT's tiers: about 3.5 µs from the 50th to the 1,000th, 1.3 µs after), not on the size.
    commands.push(`${bun} scripts/bench/decode.ts ${bytes} ${DECODE_ROUNDS}`);
    commands.push(`${python()} scripts/bench/decode_pyarrow.py ${bytes} ${DECODE_ROUNDS}`);
    if (bytes === MiB || bytes === 100 * MiB) commands.push(`${bun} scripts/bench/value-check.ts ${bytes} ${bytes >= 100 * MiB ? 20 : 300}`);
    for (const transport of ["shm", "shm-py"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${bytes >= GiB ? " 3 2" : ""}`);
    for (const transport of ["unix", "tcp"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${rounds(bytes)}`);
    // JSON and CSV of a gigabyte take minutes per round: they stop at 100 MiB.
    if (bytes < GiB) for (const transport of ["http-json", "csv"]) commands.push(`${bun} scripts/bench/handoff.ts ${transport} ${bytes}${rounds(bytes)}`);
  }
  // A small batch after the reader slept 20 ms, as it sleeps while a big batch is copied.
  commands.push(`${bun} scripts/bench/handoff.ts shm ${KiB} 50 10 20`);
  // The same, and at 100 MiB, with a reader that keeps its decode warm while it waits (ArrowReader's keepWarm).
  commands.push(`env SHMPIPE_BENCH_KEEP_WARM=1 ${bun} scripts/bench/handoff.ts shm ${KiB} 50 10 20`);
  commands.push(`env SHMPIPE_BENCH_KEEP_WARM=1 ${bun} scripts/bench/handoff.ts shm ${100 * MiB}`);
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
  for (const size of ["1 KiB", "1 MiB", "100 MiB", "1 GiB"]) {
    const ratio = get(`shmpipe TS reader's work per batch (one process), ${size} batch`) / get(`pyarrow read_record_batch (one process), ${size} batch`);
    if (Number.isFinite(ratio)) lines.push(`| ${size} batch: shmpipe TS reader's work (check + decode + views) ÷ pyarrow read_record_batch | ${ratio.toFixed(2)}× |`);
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

/** The Go section: its figures beside the baselines and TypeScript's, as ratios. */
function goReport(results: Map<string, Result & { runs: number }>, command: string, quick: boolean): string {
  const get = (name: string) => results.get(name)?.value ?? NaN;
  const times = (value: number) => {
    const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
    return `${value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })}×`;
  };
  const goCases = [...results.values()].filter(isGo);
  // The figures of other groups that the ratios below divide by, from the same run.
  const compared = [...results.values()].filter((r) => isMain(r) && (/^C( |<->|->)/.test(r.case) || /TS(<->|->)TS (round trip|one way)/.test(r.case)));
  const ratios: [string, number][] = [
    ["Go blocking round trip ÷ C futex ping-pong", get("shmpipe Go<->Go round trip, blocking") / get("C futex ping-pong")],
    ["Go busy-poll round trip ÷ C spin ping-pong", get("shmpipe Go<->Go round trip, busy-poll") / get("C spin ping-pong")],
    ["Go blocking round trip ÷ TS blocking round trip", get("shmpipe Go<->Go round trip, blocking") / get("shmpipe TS<->TS round trip, blocking")],
    ["Go busy-poll round trip ÷ TS busy-poll round trip", get("shmpipe Go<->Go round trip, busy-poll") / get("shmpipe TS<->TS round trip, busy-poll")],
  ];
  ratios.push(["Go busy-poll round trip ÷ C round trip through the core, busy-poll", get("shmpipe Go<->Go round trip, busy-poll") / get("C<->C round trip through the core, busy-poll")]);
  for (const size of [64, 1024, 16384, 262144, 1048576]) {
    ratios.push([`Go->Go ÷ C->C one way through the core, a call per record, ${size} B records (records/s)`, get(oneWay("Go", "record", size)) / get(oneWay("C", "record", size))]);
    ratios.push([`Go->Go ÷ TS->TS one way, a call per record, ${size} B records (records/s)`, get(oneWay("Go", "record", size)) / get(oneWay("TS", "record", size))]);
    ratios.push([`Go->Go SendBatch + RecvBatch ÷ C->C a call per record, ${size} B records (records/s)`, get(oneWay("Go", "batch", size)) / get(oneWay("C", "record", size))]);
    ratios.push([`Go->Go SendBatch + RecvBatch ÷ C->C batches of 256, ${size} B records (records/s)`, get(oneWay("Go", "batch", size)) / get(oneWay("C", "batch", size))]);
  }
  for (const size of ["1 MiB", "100 MiB", "1 GiB"]) {
    for (const label of ["TS", "Python"]) {
      ratios.push([`${size} batch: Arrow IPC over Unix socket Go->${label} ÷ shmpipe Go->${label} commit -> usable`, get(`Arrow IPC over Unix socket Go->${label}, ${size} batch`) / get(`shmpipe Go->${label} commit -> usable, ${size} batch`)]);
      ratios.push([`${size} batch: Arrow IPC over Unix socket Go->${label} ÷ shmpipe Go->${label} write -> usable`, get(`Arrow IPC over Unix socket Go->${label}, ${size} batch`) / get(`shmpipe Go->${label} write -> usable, ${size} batch`)]);
    }
  }
  const csv = (name: string) => get(`CSV of market ticks: ${name}`);
  const arrowGo = csv("arrow-go csv.NewReader (os.File, 1 goroutine)");
  ratios.push(
    ["CSV: shmpipe-csv --dry-run, 2 workers ÷ arrow-go csv.NewReader (rows/s)", csv("shmpipe-csv --dry-run, 2 workers") / arrowGo],
    ["CSV: shmpipe-csv --dry-run, 1 worker ÷ arrow-go csv.NewReader (rows/s)", csv("shmpipe-csv --dry-run, 1 worker") / arrowGo],
    ["CSV: shmpipe-csv -> channel -> Go reader ÷ arrow-go csv.NewReader (rows/s)", csv("shmpipe-csv -> channel -> Go reader") / arrowGo],
    ["CSV: shmpipe-csv 2 workers ÷ 1 worker (rows/s)", csv("shmpipe-csv --dry-run, 2 workers") / csv("shmpipe-csv --dry-run, 1 worker")],
  );
  const memcpy = get("C memcpy 1 MiB");
  return [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Bun.spawnSync(["go", "version"]).stdout.toString().trim().replace(/^go version /, "Go ")}, Bun ${Bun.version}, with:`,
    "",
    "```sh",
    command,
    "```",
    "",
    `Each figure is the median of the case's own measurement over the hyperfine runs (start-up excluded, except for the shmpipe-csv commands, which are timed from start to exit), the cases taking turns run after run; min – max is the spread over the runs. The CSV file has ${tickRows(quick).toLocaleString("en-US")} rows.`,
    "",
    "| case | result | min – max | runs |",
    "|---|---:|---:|---:|",
    ...goCases.map((r) => `| ${r.case} | ${r.value.toLocaleString("en-US")} ${r.unit}${r.mibps !== undefined ? ` (${r.mibps.toLocaleString("en-US")} MiB/s)` : ""} | ${spread(r)} | ${r.runs} |`),
    ...compared.map((r) => `| *for comparison:* ${r.case} | ${r.value.toLocaleString("en-US")} ${r.unit}${r.mibps !== undefined ? ` (${r.mibps.toLocaleString("en-US")} MiB/s)` : ""} | ${spread(r)} | ${r.runs} |`),
    "",
    "| ratio | value |",
    "|---|---:|",
    ...ratios.filter(([, value]) => Number.isFinite(value)).map(([label, value]) => `| ${label} | ${times(value)} |`),
    ...goCases.filter((r) => r.mibps !== undefined && r.case.includes("one way")).map((r) => `| ${r.case}: payload bandwidth ÷ C memcpy | ${((r.mibps! / memcpy) * 100).toFixed(1)} % |`),
  ].join("\n");
}

/**
 * The name of a one-way case: C through the core, the TypeScript script
 * (scripts/bench/throughput.ts) or the Go command, a call per record or
 * in batches of 256 (TypeScript's packed and read in place, or sendBatch with a view per record).
 */
function oneWay(who: "C" | "TS" | "Go" | "Python", api: "record" | "sync" | "batch" | "views", size: number): string {
  if (who === "C") return `C->C one way through the core, ${api === "record" ? "" : "batches of 256, "}${size} B records`;
  if (who === "Go") return `shmpipe Go->Go one way, ${api === "record" ? "Send + Recv" : "SendBatch + RecvBatch"}, ${size} B records`;
  if (who === "Python") return `shmpipe Python->Python one way, ${api === "record" ? "send + recv" : "send_batch + batches(), a view per record"}, ${size} B records`;
  const how = { record: "send + messages()", sync: "send + recvSync()", batch: "sendPacked + batches(), read in place", views: "sendBatch + batches(), a view per record" }[api];
  return `shmpipe TS->TS one way, ${how}, ${size} B records`;
}

/** A case's smallest and largest figure over the runs. */
const spread = (r: Result) => `${(r.min ?? r.value).toLocaleString("en-US")} – ${(r.max ?? r.value).toLocaleString("en-US")}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const isGo = (r: Result) => r.group === "go";
/** The groups whose figures the main results show. */
const MAIN: Group[] = ["c", "ts", "ts-arrow", "deno", "python", "zmq"];
const isMain = (r: Result) => r.group !== undefined && MAIN.includes(r.group);

/** Deno's figures over Bun's, case by case (the same scripts under each). */
function denoRatios(get: (name: string) => number): string[] {
  const pairs: [string, string][] = [
    ["round trip, blocking", "shmpipe %<->% round trip, blocking"],
    ["round trip, busy-poll", "shmpipe %<->% round trip, busy-poll"],
    ...[64, 1024].flatMap((size): [string, string][] => [
      [`one way, send + messages(), ${size} B records (records/s)`, `shmpipe %->% one way, send + messages(), ${size} B records`],
      [`one way, sendPacked + batches(), ${size} B records (records/s)`, `shmpipe %->% one way, sendPacked + batches(), read in place, ${size} B records`],
    ]),
    ...["1 KiB", "1 MiB", "100 MiB"].flatMap((size): [string, string][] => [
      [`reader's work per batch, ${size}`, `shmpipe % reader's work per batch (one process), ${size} batch`],
      [`commit -> usable, ${size}`, `shmpipe %->% commit -> usable, ${size} batch`],
    ]),
    ["commit -> usable, reader idle 20 ms, 1 KiB", "shmpipe %->%, reader idle 20 ms, commit -> usable, 1 KiB batch"],
  ];
  return pairs
    .map(([label, name]): [string, number] => [label, get(name.replaceAll("%", "Deno")) / get(name.replaceAll("%", "TS"))])
    .filter(([, ratio]) => Number.isFinite(ratio))
    .map(([label, ratio]) => `| Deno ÷ Bun: ${label} | ${ratio.toFixed(2)}× |`);
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
    "Each figure is the median of the case's own measurement over the hyperfine runs (start-up excluded), the cases taking turns run after run; min – max is the spread over the runs. Two-process cases run pinned, one process on each of two CPUs, unless the command says `--cpus ''`.",
    "",
    "| case | result | min – max | runs |",
    "|---|---:|---:|---:|",
    ...[...results.values()].filter(isMain).map((r) => `| ${r.case} | ${r.value.toLocaleString("en-US")} ${r.unit}${r.mibps !== undefined ? ` (${r.mibps.toLocaleString("en-US")} MiB/s)` : ""} | ${spread(r)} | ${r.runs} |`),
    "",
    "| ratio | value |",
    "|---|---:|",
    // (a ratio whose cases did not run, with --only, is left out)
    ...([
      ["TS blocking round trip ÷ C futex ping-pong", blocking / futex],
      ["TS busy-poll round trip ÷ C spin ping-pong", polled / spin],
      ["TS busy-poll round trip ÷ C round trip through the core, busy-poll", polled / get("C<->C round trip through the core, busy-poll")],
      ["TS blocking round trip ÷ C round trip through the core, blocking", blocking / get("C<->C round trip through the core, blocking")],
      ...[64, 1024, 16384, 262144, 1048576].map((size): [string, number] => [`TS->TS ÷ C->C one way through the core, a call per record, ${size} B records (records/s)`, get(oneWay("TS", "record", size)) / get(oneWay("C", "record", size))]),
      ...[64, 1024].flatMap((size): [string, number][] => [
        [`TS->TS send + recvSync() ÷ C->C one way through the core, a call per record, ${size} B records (records/s)`, get(oneWay("TS", "sync", size)) / get(oneWay("C", "record", size))],
        [`TS->TS sendPacked + batches() (read in place) ÷ C->C a call per record, ${size} B records (records/s)`, get(oneWay("TS", "batch", size)) / get(oneWay("C", "record", size))],
        [`TS->TS sendBatch + batches() (a view per record) ÷ C->C a call per record, ${size} B records (records/s)`, get(oneWay("TS", "views", size)) / get(oneWay("C", "record", size))],
        [`TS->TS sendPacked + batches() (read in place) ÷ C->C batches of 256, ${size} B records (records/s)`, get(oneWay("TS", "batch", size)) / get(oneWay("C", "batch", size))],
      ]),
      ...[64, 1024].flatMap((size): [string, number][] => [
        [`Python->Python ÷ C->C one way through the core, a call per record, ${size} B records (records/s)`, get(oneWay("Python", "record", size)) / get(oneWay("C", "record", size))],
        [`Python->Python send_batch + batches() ÷ send + recv, ${size} B records (records/s)`, get(oneWay("Python", "batch", size)) / get(oneWay("Python", "record", size))],
      ]),
      ["Unix socket ping-pong ÷ TS blocking round trip", unix / blocking],
      ["TS->TS commit -> usable ÷ C->C commit -> seen through the core, 100 MiB", get("shmpipe TS->TS commit -> usable, 100 MiB batch") / get(`C->C commit -> seen through the core, ${100 * MiB} B record`)],
      ["TS->TS commit -> usable ÷ C->C commit -> seen through the core, reader idle 20 ms, 1 KiB", get("shmpipe TS->TS, reader idle 20 ms, commit -> usable, 1 KiB batch") / get(`C->C commit -> seen through the core, reader idle 20 ms, ${KiB} B record`)],
      ["TS->TS commit -> usable, keepWarm reader ÷ C->C commit -> seen through the core, 100 MiB", get("shmpipe TS->TS, keepWarm reader commit -> usable, 100 MiB batch") / get(`C->C commit -> seen through the core, ${100 * MiB} B record`)],
      ["TS->TS commit -> usable, keepWarm reader ÷ C->C commit -> seen through the core, reader idle 20 ms, 1 KiB", get("shmpipe TS->TS, keepWarm reader, reader idle 20 ms, commit -> usable, 1 KiB batch") / get(`C->C commit -> seen through the core, reader idle 20 ms, ${KiB} B record`)],
    ] as const).filter(([, ratio]) => Number.isFinite(ratio)).map(([label, ratio]) => `| ${label} | ${ratio.toFixed(2)}× |`),
    ...handoffRatios(get),
    ...denoRatios(get),
    ...zmqRatios(results),
    ...[...results.values()].filter((r) => r.mibps !== undefined && isMain(r) && Number.isFinite(memcpy)).map((r) => `| ${r.case}: payload bandwidth ÷ C memcpy | ${((r.mibps! / memcpy) * 100).toFixed(1)} % |`),
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
      only: { type: "string" },
      json: { type: "string" },
      plot: { type: "string" },
      cpus: { type: "string", default: cpus().length >= 2 ? "0,1" : "" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: shmpipe bench [--runs N] [--quick] [--only GROUPS] [--write] [--json FILE]
       shmpipe bench --plot FILE

Runs every benchmark case N times through hyperfine (default 5) and prints
the medians and ratios. --quick does a tenth of the work per case; --only
runs some groups of cases: a comma-separated list of c (the C baselines),
ts (TypeScript channels), ts-arrow (TypeScript Arrow hand-off), deno (the
same channel and hand-off cases under Deno, beside Bun's), go (the Go
package and shmpipe-csv), python (Python's channel one way, a call per
record and in batches), r (Go -> R hand-off and the PSOCK story; needs
the R package in .rlib, which \`npm run setup\` installs), pools (Python
worker pools get a table by name or pickled by value), zmq (the Arrow
hand-off from Python to Python and to TS: shmpipe, ZeroMQ, Unix socket),
publish (R's publish_table and Python's publish at 256 MiB and 1 GiB
beside a C memcpy of the same bytes into a new /dev/shm segment and into
touched memory), flight (a 1 GiB table over Arrow Flight on loopback: the
bridge against pyarrow.flight's server, an Arrow IPC stream over TCP and a
memcpy). --write puts the report into docs/BENCHMARKS.md: the main
results when every group ran, and the section of each of go, r, pools,
publish and flight when it ran; after a run of every group it also saves
the results as docs/bench/results.json and draws the plots (SVG) beside
it. --json FILE saves any run's results as JSON; --plot FILE draws the
plots from such a file, beside it, without running anything.
--cpus A,B (default 0,1; "" for none) pins every two-process case: the
process a case starts on CPU A, its peer on CPU B (taskset, and
sched_setaffinity in the C baselines). The cases take turns: each run is
one round of every case, so a burst of load elsewhere hits them alike; the
report gives the median and the spread (min – max) over the runs.
\`npm run bench\` installs hyperfine.`);
    return;
  }
  // The plots' module loads vega, which only drawing needs.
  if (values.plot !== undefined) {
    await (await import("./bench/plots.ts")).drawPlots(values.plot);
    return;
  }
  const only = values.only === undefined ? GROUPS : (values.only.split(",").map((g) => g.trim()) as Group[]);
  const unknown = only.filter((g) => !GROUPS.includes(g));
  if (unknown.length) throw new Error(`shmpipe bench: unknown group ${unknown.join(", ")} (groups: ${GROUPS.join(", ")})`);
  if (Bun.spawnSync(["hyperfine", "--version"], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) {
    throw new Error("shmpipe bench: hyperfine is not installed; `npm run bench` installs it (apt-get)");
  }
  if (Bun.spawnSync(["make", "-s", "-C", join(root, "ffi/core"), "bench"], { stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0) {
    throw new Error("shmpipe bench: building the C baselines failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-bench-"));
  try {
    const go: GoTools = { bench: join(dir, "go/shmpipe-bench"), csv: join(dir, "go/shmpipe-csv"), ticks: join(dir, "ticks.csv"), flight: join(dir, "go/shmpipe-flight") };
    if (only.includes("go") || only.includes("r")) {
      // Built once for the whole run; the CSV file is written once, and is in the page cache when read.
      const build = Bun.spawnSync(["go", "build", "-o", join(dir, "go") + "/", "./ffi/go/cmd/shmpipe-bench", "./ffi/go/cmd/shmpipe-csv"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
      if (build.exitCode !== 0) throw new Error("shmpipe bench: building the Go programs failed");
      if (only.includes("go") && Bun.spawnSync([go.bench, "csv-gen", go.ticks, String(tickRows(values.quick))], { stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0) {
        throw new Error("shmpipe bench: writing the CSV file failed");
      }
    }
    if (only.includes("flight") && Bun.spawnSync(["go", "build", "-o", go.flight, "./ffi/go/cmd/shmpipe-flight"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] }).exitCode !== 0) {
      throw new Error("shmpipe bench: building the Flight bridge failed");
    }
    const chosen = cases(values.quick, go).filter(([group]) => only.includes(group));
    const all = chosen.map(([, command]) => command);
    const pinned = values.cpus.split(",").filter((c) => c !== "");
    const env = { ...process.env, SHMPIPE_BENCH_CPUS: pinned.length === 2 ? pinned.join(",") : "" };
    const runs = Number(values.runs);
    // Round after round of every case (C, TS, Go, C, TS, Go, ...), not one case's runs in a row.
    for (let round = 0; round < runs; round++) {
      all.forEach((command, i) => {
        console.error(`[run ${round + 1}/${runs}, ${i + 1}/${all.length}] ${command.replaceAll(root, "").replace(bun, "bun").replaceAll(dir, "$TMP")}`);
        const out = join(dir, `${i}.jsonl`);
        // (through env: a command may start with VAR=value, which taskset alone would try to run)
        const started = pinned.length === 2 ? `taskset -c ${pinned[0]} env ${command}` : command;
        const run = Bun.spawnSync(
          ["hyperfine", "--runs", "1", "--style", "none", "--export-json", join(dir, `${i}.${round}.hyperfine.json`), `${started} >> ${out}`],
          { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] },
        );
        if (run.exitCode !== 0) throw new Error(`shmpipe bench: case failed: ${command}`);
      });
    }
    // A case program prints one or more figures per run, each named by its case.
    const results = new Map<string, Result & { runs: number }>();
    chosen.forEach(([group], i) => {
      const byCase = new Map<string, Result[]>();
      for (const line of readFileSync(join(dir, `${i}.jsonl`), "utf8").trim().split("\n")) {
        const row = JSON.parse(line) as Result;
        byCase.set(row.case, [...(byCase.get(row.case) ?? []), row]);
      }
      for (const [name, rows] of byCase) {
        const first = rows[0]!;
        results.set(name, {
          ...first,
          group,
          value: median(rows.map((r) => r.value)),
          min: Math.min(...rows.map((r) => r.value)),
          max: Math.max(...rows.map((r) => r.value)),
          values: rows.map((r) => r.value),
          mibps: first.mibps === undefined ? undefined : median(rows.map((r) => r.mibps!)),
          runs: rows.length,
        });
      }
    });
    const command = `npm run bench -- --runs ${values.runs}${values.quick ? " --quick" : ""}${values.cpus !== (cpus().length >= 2 ? "0,1" : "") ? ` --cpus '${values.cpus}'` : ""}${values.only !== undefined ? ` --only ${only.join(",")}` : ""}${values.write ? " --write" : ""}`;
    const everything = GROUPS.every((g) => only.includes(g));
    if (only.some((g) => MAIN.includes(g))) {
      const text = report(results, command);
      console.log(text);
      if (values.write && everything) writeResults(text, BEGIN, END);
    }
    // The groups with a section of their own in docs/BENCHMARKS.md, between its markers.
    const sections: [Group, (results: Map<string, Result & { runs: number }>, command: string, quick: boolean) => string][] = [
      ["go", goReport], ["r", rReport], ["pools", poolsReport], ["publish", publishReport], ["flight", flightReport],
    ];
    for (const [group, sectionReport] of sections.filter(([group]) => only.includes(group))) {
      const text = sectionReport(results, command, values.quick);
      console.log(`\n${text}`);
      if (values.write) writeResults(text, `<!-- ${group} results: written by \`shmpipe bench --write\` (with the ${group} group) -->`, `<!-- end of ${group} results -->`);
    }
    if (values.json !== undefined) (await import("./bench/plots.ts")).saveResults(values.json, command, [...results.values()]);
    if (values.write && everything) {
      const { drawPlots, saveResults } = await import("./bench/plots.ts");
      saveResults(join(root, "docs/bench/results.json"), command, [...results.values()]);
      await drawPlots(join(root, "docs/bench/results.json"));
    }
    if (values.write && !everything && !sections.some(([group]) => only.includes(group))) console.error("shmpipe bench: --write rewrites the main results only after a run of every group");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BEGIN = "<!-- results: written by `shmpipe bench --write` -->";
const END = "<!-- end of results -->";
function writeResults(text: string, begin: string, end: string): void {
  const path = join(root, "docs/BENCHMARKS.md");
  const doc = readFileSync(path, "utf8");
  const from = doc.indexOf(begin), to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${path} lacks the markers ${begin} … ${end}`);
  writeFileSync(path, `${doc.slice(0, from + begin.length)}\n${text}\n${doc.slice(to)}`);
  console.error(`wrote ${path}`);
}

if (import.meta.main) await bench(process.argv.slice(2));
