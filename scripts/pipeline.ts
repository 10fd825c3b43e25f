// The main demo: an end-to-end pipeline on built-in sample data. This
// process generates trades (symbol, price, quantity) as Arrow record
// batches and writes them into one shared-memory channel; a Python
// consumer (examples/vwap.py, pyarrow) and a TypeScript one
// (examples/vwap.ts) both read every batch in place and compute the
// volume-weighted average price per symbol, which is checked against this
// process's own figures. Leaves nothing behind in /dev/shm, also on Ctrl-C.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Dictionary, Field, Float64, Int32, makeData, RecordBatch, Schema, Struct, Utf8, type Vector, vectorFromArray } from "apache-arrow";
import { ArrowWriter, createWriter } from "../lib/index.ts";
import { python, pythonEnv } from "./python.ts";

const SYMBOLS = ["AAPL", "MSFT", "NVDA", "SHMP", "ZRRO"];

/** A seeded batch of `rows` trades, and its notional and volume per symbol. */
function trades(rows: number, seed: number, dictionary: Vector<Utf8>) {
  let state = seed >>> 0 || 1;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const codes = new Int32Array(rows), price = new Float64Array(rows), qty = new Int32Array(rows);
  const notional = new Float64Array(SYMBOLS.length), volume = new Float64Array(SYMBOLS.length);
  for (let i = 0; i < rows; i++) {
    const k = Math.floor(random() * SYMBOLS.length);
    codes[i] = k;
    price[i] = 100 * (k + 1) + random() * 10;
    qty[i] = 1 + Math.floor(random() * 500);
    notional[k]! += price[i]! * qty[i]!;
    volume[k]! += qty[i]!;
  }
  const type = new Dictionary(new Utf8(), new Int32(), 0);
  const schema = new Schema([new Field("symbol", type), new Field("price", new Float64()), new Field("qty", new Int32())]);
  const children = [
    makeData({ type, length: rows, data: codes, dictionary } as never),
    makeData({ type: new Float64(), length: rows, data: price }),
    makeData({ type: new Int32(), length: rows, data: qty }),
  ];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
  return { batch, notional, volume };
}

/** A child's stdout, line by line. */
function lines(child: Bun.Subprocess<"ignore", "pipe", "inherit">): () => Promise<string> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  return async () => {
    while (!pending.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`a consumer ended early (exit ${await child.exited})`);
      pending += decoder.decode(value, { stream: true });
    }
    const at = pending.indexOf("\n");
    const line = pending.slice(0, at);
    pending = pending.slice(at + 1);
    return line;
  };
}

type Answer = { consumer: string; rows: number; vwap: Record<string, number> };

export async function pipeline(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      batches: { type: "string", default: "40" },
      rows: { type: "string", default: "250000" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: shmpipe demo [--batches N] [--rows R]

Writes N Arrow batches of R trades into a shared-memory channel read at
once by a Python (pyarrow) and a TypeScript consumer, which both compute
the volume-weighted average price per symbol; checks their answers and
prints the throughput. Defaults: --batches 40 --rows 250000.
\`shmpipe demo --bytes --help\` is the byte-record demo.`);
    return;
  }
  const batches = Number(values.batches), rows = Number(values.rows);
  if (!(batches > 0 && rows > 0)) throw new Error("--batches and --rows must be > 0");

  const name = `demo-${process.pid}`;
  const batchBytes = rows * 16;
  using writer = new ArrowWriter(createWriter(name, { capacity: 4 * batchBytes + (1 << 20) }));
  const root = new URL("..", import.meta.url).pathname;
  const consumers = [
    Bun.spawn([python(), join(root, "examples/vwap.py"), name], { stdout: "pipe", stderr: "inherit", env: pythonEnv() }),
    Bun.spawn([process.execPath, join(root, "examples/vwap.ts"), name], { stdout: "pipe", stderr: "inherit" }),
  ];
  const nextLine = consumers.map(lines);
  // Both consumers attach before the first batch, so both see every one.
  for (const next of nextLine) if ((await next()) !== "ready") throw new Error("a consumer did not start");
  console.log(`shmpipe demo: ${batches} Arrow batches of ${rows.toLocaleString()} trades (${(batchBytes / 2 ** 20).toFixed(1)} MiB each) -> a Python and a TypeScript consumer, one channel "${name}"`);

  const dictionary = vectorFromArray(SYMBOLS, new Utf8()) as Vector<Utf8>;
  const notional = new Float64Array(SYMBOLS.length), volume = new Float64Array(SYMBOLS.length);
  let writing = 0;
  const start = performance.now();
  for (let b = 0; b < batches; b++) {
    const made = trades(rows, b + 1, dictionary);
    made.notional.forEach((value, k) => (notional[k]! += value));
    made.volume.forEach((value, k) => (volume[k]! += value));
    const t = performance.now();
    writer.write(made.batch);
    writing += performance.now() - t;
    if ((b + 1) % Math.max(1, Math.floor(batches / 4)) === 0) console.log(`  ${b + 1} batches written`);
  }
  writer.close();
  const results: Answer[] = await Promise.all(nextLine.map(async (next) => JSON.parse(await next())));
  const seconds = (performance.now() - start) / 1000;

  let wrong = 0;
  for (const result of results) {
    const off = SYMBOLS.filter((symbol, k) => Math.abs(result.vwap[symbol]! / (notional[k]! / volume[k]!) - 1) > 1e-9);
    wrong += off.length + (result.rows === batches * rows ? 0 : 1);
    console.log(`${result.consumer.padEnd(10)} read ${result.rows.toLocaleString()} rows; VWAP ${SYMBOLS.map((s) => `${s} ${result.vwap[s]!.toFixed(3)}`).join(", ")}${off.length ? `  WRONG: ${off.join(", ")}` : ""}`);
  }
  const total = batches * batchBytes;
  console.log(`both consumers agree with the producer: ${wrong === 0 ? "yes" : "NO"}`);
  console.log(`${(batches * rows / seconds / 1e6).toFixed(1)} M rows/s end to end (${(total / seconds / 2 ** 20).toFixed(0)} MiB/s, read in place by 2 consumers); the writer spent ${(writing / batches).toFixed(2)} ms per batch in write(), waiting for the slower consumer included`);
  if (wrong) process.exitCode = 1;
}
