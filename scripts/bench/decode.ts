// The reader's own work per Arrow batch, in one process: the batch already
// sits in a shared memory record; each round checks its metadata in the C
// core, decodes it and loads the columns as views (what ArrowReader does
// after a record arrives), then reads one value of each column.
// As many untimed rounds come first (the JIT compiles the reader's code as
// a stream's first batches do), then the timed ones. Give every size the
// same rounds: a round's cost depends on the JIT's tier, that is on how many
// batches the process decoded before (on this machine about 50 µs for the
// first 10, 15 µs to the 50th, 3.5 µs to the 1,000th, 1.3 µs after), and
// not on the batch's size; fewer rounds for a big batch measure a colder JIT.
//   bun scripts/bench/decode.ts <bytes> [rounds]
// Prints {"case", "value" (µs per batch, median of rounds), "unit"}.
import { makeTable } from "apache-arrow";
import { runtimeLabel } from "./pin.ts";
import { sizeLabel } from "./size-label.ts";
import { MessageDecoder } from "../../lib/arrow/decoder.ts";
import { encodeRecordBatch, encodeSchema, writeMessage } from "../../lib/arrow/ipc.ts";
import { Segment } from "../../lib/segment.ts";

const bytes = Number(process.argv[2] ?? 1 << 20);
const rounds = Number(process.argv[3] ?? 2000);
const rows = Math.max(1, Math.floor(bytes / 12));
const table = makeTable({ x: Float64Array.from({ length: rows }, (_, i) => i), y: Int32Array.from({ length: rows }, (_, i) => i) });
const schema = encodeSchema(table.schema), batch = encodeRecordBatch(table.batches[0]!);
const segment = Segment.create(`bench-decode-${process.pid}`, { capacity: batch.byteLength + schema.byteLength + 8192 });
try {
  const mapping = new Uint8Array(segment.view(0, segment.size));
  const schemaRecord = mapping.subarray(4096, 4096 + schema.byteLength);
  const batchRecord = mapping.subarray(8192, 8192 + batch.byteLength);
  writeMessage(schema, schemaRecord);
  writeMessage(batch, batchRecord);
  using decoder = new MessageDecoder(segment.name, true);
  decoder.decode(schemaRecord);
  const times: number[] = [];
  for (let i = 0; i < 2 * rounds; i++) {
    const start = performance.now();
    const loaded = decoder.decode(batchRecord)!;
    if (loaded.getChildAt(0)!.get(rows - 1) !== rows - 1 || loaded.getChildAt(1)!.get(0) !== 0) throw new Error("wrong values");
    if (i >= rounds) times.push((performance.now() - start) * 1000);
  }
  times.sort((a, b) => a - b);
  const size = sizeLabel(bytes);
  console.log(JSON.stringify({ case: `shmpipe ${runtimeLabel} reader's work per batch (one process), ${size} batch`, value: Number(times[times.length >> 1]!.toFixed(1)), unit: "µs" }));
  (mapping.buffer as ArrayBuffer).transfer(0);
} finally {
  segment.close();
}
