// The main example: Go → R → TypeScript (and Python) through shared memory.
//
//   bun examples/market/pipeline.ts [--rows N] [--out DIR] [--quiet] [--r-elsewhere]
//
// A Go producer (shmpipe-csv) memory-maps a CSV file of market ticks, the
// project's sample data, and streams it as Arrow batches into the channel
// "ticks". Two stages read every batch in place at once (fan-out): R
// (examples/market/stats.R) computes statistics per symbol and sends a
// results table back on "results"; Python (to_parquet.py) writes the ticks
// to a Parquet file. This script runs them, prints R's table, and checks
// R's and Python's answers against the sums the generator wrote with the
// file. With --r-elsewhere the R stage runs on "another machine"
// (elsewhere.ts): the ticks go there and R's results come back over Arrow
// Flight, through two bridge stages of this same pipeline.
import { mkdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ArrowReader, openReader, Pipeline } from "../../lib/index.ts";
import { type Answers, checkAnswers, type SymbolSums } from "./check.ts";
import { NEEDS, startMachine } from "./elsewhere.ts";
import { printResults, type ResultRow } from "./results.ts";
import { fail, optionsOf, runOrExit } from "../script.ts";

const usage = `usage: shmpipe demo [--rows N] [--out DIR] [--quiet] [--r-elsewhere]
       bun examples/market/pipeline.ts [--rows N] [--out DIR] [--quiet] [--r-elsewhere]

Go streams N market ticks (default 5,000,000; the CSV file is generated
once into DIR, default out/market) as Arrow batches through shared memory
to an R stage (statistics per symbol, sent back as a table) and a Python
stage (a Parquet file in DIR); prints R's table and checks both answers
against the generator's own sums. --quiet prints no progress or summary.

--r-elsewhere: the R stage runs on "another machine", a mount namespace
with its own /dev/shm (a private tmpfs) where shmpipe flight serve listens
on 127.0.0.1: the ticks are pushed there and R's results pulled back over
Arrow Flight (docs/FLIGHT.md). It needs
${NEEDS}.
(\`shmpipe demo --bytes --help\`: the byte-record demo.)`;
const values = optionsOf(usage, {
  rows: { type: "string", default: "5000000" },
  out: { type: "string", default: join(import.meta.dir, "../../out/market") },
  quiet: { type: "boolean", default: false },
  "r-elsewhere": { type: "boolean", default: false },
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1) fail(`--rows takes a positive whole number, not "${values.rows}"`, usage);
const repository = join(import.meta.dir, "../..");
const out = String(values.out);
mkdirSync(out, { recursive: true });
const csv = join(out, `ticks-${rows}.csv`);
const parquet = join(out, `ticks-${rows}.parquet`);
const quiet = values.quiet === true;

// The sample data, written once (go build caches the generator).
const data = new Pipeline("market-data", { cwd: repository });
data.go("generate", "./examples/market/ticks", { args: [csv, String(rows)] });
await runOrExit(data, { quiet: true });
const sums: SymbolSums[] = JSON.parse(readFileSync(`${csv}.sums.json`, "utf8"));

let stopMachine = async () => {};
const answers: Answers = { results: [], python: null, resultsDelayMs: NaN };
const p = new Pipeline("market", { cwd: repository });
const BATCH_ROWS = 65536;
// Records: the schema, then the batches (the progress shows a bar).
const ticks = p.channel("ticks", { capacity: 64 << 20, expectedRecords: 1 + Math.ceil(rows / BATCH_ROWS) });
const results = p.channel("results", { capacity: 1 << 20, expectedRecords: 2 });
p.go("producer", "./ffi/go/cmd/shmpipe-csv", {
  args: ["--schema", "symbol:string,ts:timestamp[us],price:float64,qty:int64", "--batch-rows", String(BATCH_ROWS), csv, "{ticks}"],
  writes: [ticks],
});
if (values["r-elsewhere"]) {
  // R on the other machine: the ticks sent there as they are written, its
  // results fetched back once it has made them (--wait), the machine itself
  // supervised as a stage (its R failing fails the run).
  const elsewhere = await startMachine(repository).catch((error: Error) => {
    console.error(`shmpipe demo --r-elsewhere: ${error.message}`);
    process.exit(1);
  });
  p.push("send", ticks, `${elsewhere.address}/ticks`);
  p.pull("fetch", `${elsewhere.address}/results`, results, { args: ["--wait", "30s"] });
  p.fn("elsewhere", ({ signal, log }) => elsewhere.supervise({ signal, log }));
  stopMachine = () => elsewhere.stop();
} else {
  p.rscript("stats", "examples/market/stats.R", { reads: [ticks], writes: [results] });
}
p.python("parquet", "examples/market/to_parquet.py", { args: [parquet], reads: [ticks] });
p.fn("results", async ({ channels }) => {
  using reader = new ArrowReader(openReader(channels.results!));
  for await (const batch of reader) {
    const received = performance.timeOrigin + performance.now();
    for (const row of batch) answers.results.push(row.toJSON() as unknown as ResultRow);
    answers.resultsDelayMs = received - Number(answers.results[0]!.written_at);
  }
}, { reads: [results] });

const started = performance.now();
const summary = await runOrExit(p, {
  quiet,
  // The Python stage's last line is its answer, as JSON; the rest is printed.
  print: (line, stream) => {
    if (line.startsWith("[parquet] {")) answers.python = JSON.parse(line.slice("[parquet] ".length));
    else if (stream === "stdout") console.log(line);
    else console.error(line);
  },
}, () => stopMachine());
const seconds = (performance.now() - started) / 1000;

printResults(answers.results);
const route = values["r-elsewhere"] ? "to Python through shared memory and to R on the other machine over Arrow Flight" : "to R and Python in one pass through shared memory";
console.log(`\n${rows.toLocaleString("en-US")} ticks went from Go ${route}: the run took ${seconds.toFixed(2)} s, the stages' start-up included;`
  + ` R's table reached TypeScript ${answers.resultsDelayMs.toFixed(1)} ms after R wrote it.`);
console.log(`files: ${relative(process.cwd(), csv)} (the producer's input), ${relative(process.cwd(), parquet)} (Python's output)`);
const problems = checkAnswers(sums, answers);
if (problems.length) {
  console.error(`check FAILED: ${problems.length} answer(s) disagree with the producer's sums:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`check: R's ticks, mean prices and VWAPs for ${sums.length} symbols and Python's rows and price sum agree with the producer's own sums.`);
void summary;
