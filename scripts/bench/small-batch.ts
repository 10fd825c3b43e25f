// Write + read of a small Arrow batch in one process: ArrowWriter.write of
// a 64-row batch (a Float64 and an Int32 column), then ArrowReader.readSync
// and one value of each column, then release. What a request/reply loop
// pays per message besides the wake-up.
//   bun scripts/bench/small-batch.ts [rounds] [rows]
// Prints {"case", "value" (µs per write + read, median of rounds after as many warm-up rounds), "unit"}.
import { makeTable } from "apache-arrow";
import { ArrowReader, ArrowWriter, createReader, openWriter } from "../../lib/index.ts";

const rounds = Number(process.argv[2] ?? 5000);
const rows = Number(process.argv[3] ?? 64);
const table = makeTable({ x: Float64Array.from({ length: rows }, (_, i) => i), y: Int32Array.from({ length: rows }, (_, i) => i) });
const batch = table.batches[0]!;
const name = `bench-small-${process.pid}`;
const reader = new ArrowReader(createReader(name, { capacity: 1 << 20 }));
const writer = new ArrowWriter(openWriter(name));
try {
  const times: number[] = [];
  for (let i = 0; i < 2 * rounds; i++) {
    const start = performance.now();
    writer.write(batch);
    const read = reader.readSync()!;
    if (read.getChildAt(0)!.get(rows - 1) !== rows - 1 || read.getChildAt(1)!.get(0) !== 0) throw new Error("wrong values");
    reader.release();
    if (i >= rounds) times.push((performance.now() - start) * 1000);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ case: `shmpipe TS write + read of a ${rows}-row batch (one process)`, value: Number(times[times.length >> 1]!.toFixed(1)), unit: "µs" }));
} finally {
  writer.close();
  reader.close();
}
