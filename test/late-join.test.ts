// Readers that join an Arrow channel while the stream runs (after the ring
// has wrapped, so the schema and dictionaries went by long ago): the core
// tells the writer of the join, the writer sends the schema and every
// dictionary again, and the late reader skips what it cannot read until
// that schema. Readers there all along read the schema sent again like any
// other and miss nothing. Real processes in TypeScript, Python and Go.
import { expect, test } from "bun:test";
import { Dictionary, Field, Int32, Int64, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray } from "apache-arrow";
import { ArrowWriter, createWriter } from "../lib/index.ts";
import { finished, goFixture, spawnFixture, spawnGo, spawnPython, uniqueName, waitForLine } from "./helpers.ts";

goFixture(); // the Go reader, built before any test's clock starts

const ROWS = 200;
const labelType = new Dictionary(new Utf8(), new Int32(), 0);
const schema = new Schema([new Field("seq", new Int64()), new Field("label", labelType)]);
// One dictionary for the whole stream: the writer sends it once, before the first batch.
const labels = vectorFromArray(Array.from({ length: 7 }, (_, k) => `L${k}`), new Utf8());

/** Batch b: seq counts on from b * ROWS; label is "L<seq % 7>", an index into the one dictionary. */
function batchOf(b: number): RecordBatch {
  const seq = BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(b * ROWS + i));
  const codes = Int32Array.from({ length: ROWS }, (_, i) => (b * ROWS + i) % 7);
  const children = [
    makeData({ type: new Int64(), length: ROWS, data: seq }),
    makeData({ type: labelType, length: ROWS, data: codes, dictionary: labels } as never),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: ROWS, children }));
}

const readers = (name: string) => [
  spawnFixture("arrow-seq-reader.ts", [name]),
  spawnPython("arrow_seq_reader.py", [name]),
  spawnGo(["arrow-seq-reader", name]),
];

test("readers that join an Arrow stream mid-way read every batch from the next schema on, in TypeScript, Python and Go; those there all along miss nothing", async () => {
  const name = uniqueName("late-join");
  const BEFORE = 100, AFTER = 100;
  // 64 KiB of ring, ~2.8 KB a batch: the first 100 batches lap it four times.
  using writer = new ArrowWriter(createWriter(name, { capacity: 64 << 10 }));
  const early = readers(name);
  await Promise.all(early.map((child) => waitForLine(child, (line) => line === "ready")));
  for (let b = 0; b < BEFORE; b++) writer.write(batchOf(b), { timeoutMs: 30_000 });
  const late = readers(name);
  await Promise.all(late.map((child) => waitForLine(child, (line) => line === "ready")));
  for (let b = BEFORE; b < BEFORE + AFTER; b++) writer.write(batchOf(b), { timeoutMs: 30_000 });
  writer.close();
  const results = await Promise.all([...early, ...late].map(async (child) => JSON.parse(await finished(child))));
  const last = (BEFORE + AFTER) * ROWS - 1;
  expect(results).toEqual([
    ...early.map(() => ({ batches: BEFORE + AFTER, first: 0, last, problems: [] })),
    // The writer saw the joins at its next batch and sent the schema and dictionary before it.
    ...late.map(() => ({ batches: AFTER, first: BEFORE * ROWS, last, problems: [] })),
  ]);
}, 120_000);
