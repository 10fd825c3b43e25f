// The TypeScript peer of the conformance runs, the same program under Bun
// and under Deno (test/peers/peer.py is Python's): one command line for
// every language, `peer ROLE NAME`, the data of each scenario defined once
// in scenarios.json. A reader creates the channel and prints "ready"; a
// writer waits for the name. A reader prints "ok <summary>" when every
// value matched, or fails with the first difference.
//   write-bytes | read-bytes | write-bytes-hang | read-bytes-gone |
//   write-bytes-until-gone | read-bytes-hang | write-arrow | read-arrow |
//   publish | open-table
import { Float64, Int32, type RecordBatch, Table, Utf8, vectorFromArray } from "apache-arrow";
import { ArrowReader, ArrowWriter, createReader, createWriter, openReader, openTable, openWriter, publish, unpublish } from "../../lib/index.ts";
import scenarios from "./scenarios.json" with { type: "json" };

const [role, name] = process.argv.slice(2);
const runtime = typeof (globalThis as { Deno?: unknown }).Deno === "undefined" ? "bun" : "deno";

function recordBytes(i: number): Uint8Array {
  const sizes = scenarios.bytes.sizes;
  const bytes = new Uint8Array(sizes[i % sizes.length]!);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 7 + j) % 251;
  return bytes;
}

function rows(from: number, count: number) {
  const x = new Float64Array(count), y: (number | null)[] = [], s: string[] = [];
  for (let k = 0; k < count; k++) {
    const r = from + k;
    x[k] = r * 0.5;
    y.push(r % 7 === 3 ? null : r * 3);
    s.push(`s${r}`);
  }
  return { x, y, s };
}

/** Arrow's builders take the nulls and the strings: the scenario's columns as a table. */
function tableOf(x: Float64Array, y: (number | null)[], s: string[]): Table {
  return new Table({ x: vectorFromArray(Array.from(x), new Float64()), y: vectorFromArray(y, new Int32()), s: vectorFromArray(s, new Utf8()) });
}

function fail(message: string): never {
  console.error(`${runtime} peer ${role}: ${message}`);
  process.exit(1);
}

/** Checks the rows of `batch`, which start at row `from` of the stream. */
function checkRows(batch: RecordBatch | Table, from: number): number {
  const x = batch.getChild("x")!, y = batch.getChild("y")!, s = batch.getChild("s")!;
  for (let k = 0; k < batch.numRows; k++) {
    const r = from + k;
    if (x.get(k) !== r * 0.5) fail(`row ${r}: x is ${x.get(k)}, expected ${r * 0.5}`);
    const wantY = r % 7 === 3 ? null : r * 3;
    if (y.get(k) !== wantY) fail(`row ${r}: y is ${y.get(k)}, expected ${wantY}`);
    if (s.get(k) !== `s${r}`) fail(`row ${r}: s is ${s.get(k)}, expected s${r}`);
  }
  return batch.numRows;
}

const { batches, rows: perBatch } = scenarios.arrow;
switch (role) {
  case "write-bytes": {
    using writer = openWriter(name!, { waitMs: 10_000 });
    for (let i = 0; i < scenarios.bytes.records; i++) writer.send(recordBytes(i));
    break;
  }
  case "read-bytes": {
    using reader = createReader(name!, { capacity: 1 << 20 });
    console.log("ready");
    let i = 0, total = 0;
    for await (const message of reader) {
      const want = recordBytes(i);
      const got = message.bytes;
      if (got.length !== want.length) fail(`record ${i} has ${got.length} bytes, expected ${want.length}`);
      for (let j = 0; j < got.length; j++) if (got[j] !== want[j]) fail(`record ${i}, byte ${j}: ${got[j]}, expected ${want[j]}`);
      total += got.length;
      i++;
    }
    if (i !== scenarios.bytes.records) fail(`${i} records, expected ${scenarios.bytes.records}`);
    console.log(`ok ${i} records ${total} bytes`);
    break;
  }
  case "write-bytes-hang": {
    // Sends every record, says so, then hangs until killed (the writer killed mid-stream).
    const writer = openWriter(name!, { waitMs: 10_000 });
    for (let i = 0; i < scenarios.bytes.records; i++) writer.send(recordBytes(i));
    console.log("sent");
    await new Promise(() => setInterval(() => {}, 1 << 30));
    break;
  }
  case "read-bytes-gone": {
    // Every record the killed writer committed, then EPEERGONE rather than an end of stream.
    using reader = createReader(name!, { capacity: 1 << 20 });
    console.log("ready");
    let i = 0;
    try {
      for (;;) {
        const message = await reader.recv({ timeoutMs: 20_000 });
        if (message === null) fail(`the stream ended cleanly after ${i} records; expected EPEERGONE`);
        const want = recordBytes(i);
        if (message.bytes.length !== want.length || message.bytes.some((byte, j) => byte !== want[j])) fail(`record ${i} differs`);
        i++;
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "EPEERGONE") throw error;
    }
    if (i !== scenarios.bytes.records) fail(`${i} records before EPEERGONE, expected ${scenarios.bytes.records}`);
    console.log(`ok ${i} records then EPEERGONE`);
    break;
  }
  case "write-bytes-until-gone": {
    // Creates the channel and sends until its only reader is gone (killed mid-stream): EPEERGONE, not a hang.
    using writer = createWriter(name!, { capacity: 1 << 20 });
    console.log("ready");
    let i = 0;
    try {
      for (;; i++) writer.send(recordBytes(i % scenarios.bytes.records), { timeoutMs: 20_000 });
    } catch (error) {
      if ((error as { code?: string }).code !== "EPEERGONE") throw error;
    }
    console.log(`ok EPEERGONE after ${i} records`);
    break;
  }
  case "read-bytes-hang": {
    // Reads a few records, says so, then hangs until killed (the reader killed mid-stream).
    const reader = openReader(name!, { waitMs: 10_000 });
    for (let k = 0; k < 3; k++) {
      const message = reader.recvSync({ timeoutMs: 10_000 });
      if (message === null) fail("the stream ended");
      message.release();
    }
    console.log("read");
    await new Promise(() => setInterval(() => {}, 1 << 30));
    break;
  }
  case "write-arrow": {
    using writer = new ArrowWriter(openWriter(name!, { waitMs: 10_000 }));
    for (let b = 0; b < batches; b++) {
      const { x, y, s } = rows(b * perBatch, perBatch);
      writer.write(tableOf(x, y, s));
    }
    break;
  }
  case "read-arrow": {
    using reader = new ArrowReader(createReader(name!, { capacity: 1 << 22 }));
    console.log("ready");
    let seen = 0;
    for await (const batch of reader) seen += checkRows(batch, seen);
    if (seen !== batches * perBatch) fail(`${seen} rows, expected ${batches * perBatch}`);
    console.log(`ok ${seen} rows`);
    break;
  }
  case "publish": {
    const { x, y, s } = rows(0, batches * perBatch);
    publish(name!, tableOf(x, y, s), { persist: true }).close(); // the name stays
    console.log("published");
    break;
  }
  case "open-table": {
    const got = openTable(name!, { waitMs: 10_000 });
    const seen = checkRows(got, 0);
    if (seen !== batches * perBatch) fail(`${seen} rows, expected ${batches * perBatch}`);
    unpublish(name!);
    console.log(`ok ${seen} rows`);
    break;
  }
  default:
    fail(`no role "${role}"`);
}
