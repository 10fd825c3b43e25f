// What the core's check of an Arrow batch's values costs: a batch of a utf8
// column (every offset checked) and a dictionary-encoded column (every index
// checked against its dictionary) sits in a shared memory record; each round
// the core checks it, once with its values checked (the default) and once
// trusting them (trustValues: the metadata is checked still).
//   bun scripts/bench/value-check.ts <bytes> [rounds]
// Prints two {"case", "value" (µs per batch, median), "unit"} lines; the
// checked one also has "mibps", the batch bytes checked per second.
import { Dictionary, Int32, Table, Utf8, vectorFromArray } from "apache-arrow";
import { sizeLabel } from "./size-label.ts";
import { MessageCheck } from "../../lib/arrow/check.ts";
import { encodeTable, writeMessage } from "../../lib/arrow/ipc.ts";
import { Segment } from "../../lib/segment.ts";

const bytes = Number(process.argv[2] ?? 1 << 20);
const rounds = Number(process.argv[3] ?? 500);
// a row: 8 string bytes + a 4-byte offset, and a 4-byte dictionary index
const rows = Math.max(1, Math.floor(bytes / 16));
const symbols = Array.from({ length: 20 }, (_, i) => `SYM${i}`);
const table = new Table({
  s: vectorFromArray(Array.from({ length: rows }, (_, i) => `${i % 100_000_000}`.padStart(8, "0")), new Utf8()),
  d: vectorFromArray(Array.from({ length: rows }, (_, i) => symbols[i % symbols.length]!), new Dictionary(new Utf8(), new Int32())),
});
const messages = encodeTable(table); // schema, dictionary, batch
const size = messages.reduce((sum, m) => sum + m.byteLength + 4096, 4096);
const segment = Segment.create(`bench-values-${process.pid}`, { capacity: size });
try {
  const mapping = new Uint8Array(segment.view(0, segment.size));
  let at = 4096;
  const records = messages.map((m) => {
    const record = mapping.subarray(at, at + m.byteLength);
    writeMessage(m, record);
    at += m.byteLength + ((4096 - (m.byteLength % 4096)) % 4096);
    return record;
  });
  const batch = records[records.length - 1]!;
  for (const trust of [false, true]) {
    using check = new MessageCheck(segment.name, "recv", trust);
    for (const record of records.slice(0, -1)) check.check(record);
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const start = performance.now();
      check.check(batch);
      times.push((performance.now() - start) * 1000);
    }
    times.sort((a, b) => a - b);
    const us = times[times.length >> 1]!;
    const label = trust ? "values trusted" : "values checked";
    console.log(JSON.stringify({
      case: `shmpipe core check of a utf8 + dictionary batch, ${label}, ${sizeLabel(bytes)} batch`,
      value: Number(us.toFixed(1)), unit: "µs",
      // the bandwidth of checking every value, beside memcpy's in the report
      ...(trust ? {} : { mibps: Math.round(batch.byteLength / (1 << 20) / (us / 1e6)) }),
    }));
  }
  (mapping.buffer as ArrayBuffer).transfer(0);
} finally {
  segment.close();
}
