// Arrow record batches through a channel: every type round-trips, batches
// are views of shared memory until released, and bad messages are refused
// with EARROW before apache-arrow reads them.
import { expect, test } from "bun:test";
import { addressOf } from "../lib/ffi/bun.ts";
import { readFileSync } from "node:fs";
import { type Data, Dictionary, Field, FixedSizeList, Float64, Int8, Int32, makeData, makeTable, RecordBatch, Schema, Struct, Table, Utf8, vectorFromArray } from "apache-arrow";
import { BufferRegion, type DictionaryBatch as DictionaryBatchHeader, Message, RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message";
import { ArrowReader, ArrowWriter, copyBatch, createReader, openWriter, shmPath, ShmpipeError, type Writer } from "../lib/index.ts";
import { MessageDecoder } from "../lib/arrow/decoder.ts";
import { decodeMetadata, encodeRecordBatch, encodeSchema, encodeTable, loadDictionary, loadRecordBatch, writeMessage, type Encoded } from "../lib/arrow/ipc.ts";
import { rowsOf, sampleTables, sentBatches } from "./fixtures/arrow-tables.ts";
import { errorOf, inSegment, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

function channel(label: string, capacity = 16 << 20, options: { keepWarm?: boolean } = {}) {
  const name = uniqueName(label);
  const reader = new ArrowReader(createReader(name, { capacity }), options);
  const writer = openWriter(name);
  return { name, reader, writer, arrow: new ArrowWriter(writer) };
}

function bytesOf(message: Encoded): Uint8Array {
  const out = new Uint8Array(message.byteLength);
  writeMessage(message, out);
  return out;
}

/** A message with `good`'s body and other metadata. */
function reencoded(good: Encoded, header: RecordBatchHeader): Uint8Array {
  const metadata = Message.encode(Message.from(header, good.bodyLength));
  const prefixLength = Math.ceil((8 + metadata.byteLength) / 64) * 64;
  return bytesOf({ ...good, metadata, prefixLength, byteLength: prefixLength + good.bodyLength });
}


function expectArrowError(run: () => unknown, why: RegExp): void {
  const error = errorOf(run);
  expect(error.code).toBe("EARROW");
  expect(error.message).toMatch(why);
}

test("every sample table round-trips with its values intact", () => {
  const { reader, arrow } = channel("types");
  try {
    for (const [label, table] of Object.entries(sampleTables())) {
      arrow.write(table);
      const batches: RecordBatch[] = [];
      for (let i = 0; i < sentBatches(table); i++) batches.push(copyBatch(reader.readSync({ timeoutMs: 1000 })!));
      if (table.numRows === 0) {
        // Its schema alone: the reader gets no batch (not apache-arrow's empty placeholder), and knows the schema.
        expect(errorOf(() => reader.readSync({ timeoutMs: 20 })).code).toBe("ETIMEOUT");
        expect([label, ...reader.schema!.fields.map(String)]).toEqual([label, ...table.schema.fields.map(String)]);
        continue;
      }
      const received = new Table(batches);
      expect([label, received.numRows, received.numCols]).toEqual([label, table.numRows, table.numCols]);
      expect(rowsOf(received)).toEqual(rowsOf(table));
      expect(received.schema.fields.map(String)).toEqual(table.schema.fields.map(String));
    }
  } finally {
    arrow.close();
    reader.close();
  }
});

/** What a column's Data holds, down to its children: its type, lengths, counts and buffer sizes. */
function shapeOf(data: Data): unknown {
  return {
    type: String(data.type), offset: data.offset, length: data.length, nullCount: data.nullCount, stride: data.stride,
    buffers: [data.valueOffsets, data.values, data.nullBitmap, data.typeIds].map((b) => b === undefined ? null : `${b.constructor.name}(${b.length})`),
    dictionary: data.dictionary?.length ?? null, children: data.children.map(shapeOf),
  };
}

/** The table's batches as apache-arrow's flatbuffer decoder and VectorLoader load the messages ArrowWriter sends. */
function flatbufferLoaded(table: Table): RecordBatch[] {
  let schema: Schema | null = null;
  const dictionaries = new Map();
  const batches: RecordBatch[] = [];
  for (const message of encodeTable(table)) {
    const bytes = bytesOf(message);
    const metadata = decodeMetadata(bytes.subarray(0, message.prefixLength));
    const body = bytes.subarray(message.prefixLength);
    if (metadata.isSchema()) schema = metadata.header() as Schema;
    else if (metadata.isDictionaryBatch()) {
      const header = metadata.header() as DictionaryBatchHeader;
      dictionaries.set(header.id, loadDictionary(schema!, header, body, dictionaries));
    } else batches.push(loadRecordBatch(schema!, metadata.header() as RecordBatchHeader, body, dictionaries));
  }
  return batches;
}

test("batches built from the core's layout are what apache-arrow's own reader makes of the same table", () => {
  const { reader, arrow } = channel("layout");
  try {
    for (const [label, table] of Object.entries(sampleTables())) {
      if (table.numRows === 0) continue;
      arrow.write(table);
      const reference = flatbufferLoaded(table);
      for (let i = 0; i < sentBatches(table); i++) {
        const batch = reader.readSync({ timeoutMs: 1000 })!;
        expect(batch).toBeInstanceOf(RecordBatch);
        expect(RecordBatch.isRecordBatch(batch)).toBe(true);
        expect(batch.schema).toBe(reader.schema!);
        expect(batch.metadata).toBeInstanceOf(Map);
        expect([label, batch.numRows, shapeOf(batch.data)]).toEqual([label, reference[i]!.numRows, shapeOf(reference[i]!.data)]);
        expect(new Table(batch).numRows).toBe(batch.numRows);
      }
    }
  } finally {
    arrow.close();
    reader.close();
  }
});

test("a batch whose layout takes more words than the reader first made room for (100 columns) is read whole", () => {
  const { reader, arrow } = channel("wide");
  try {
    const columns: Record<string, Float64Array> = {};
    for (let i = 0; i < 100; i++) columns[`c${i}`] = Float64Array.from({ length: 10 }, (_, j) => i * 100 + j);
    arrow.write(makeTable(columns));
    arrow.write(makeTable(columns));
    for (let round = 0; round < 2; round++) {
      const batch = reader.readSync({ timeoutMs: 1000 })!;
      expect([batch.numCols, batch.getChild("c0")!.get(3), batch.getChild("c99")!.get(9)]).toEqual([100, 3, 9909]);
    }
  } finally {
    arrow.close();
    reader.close();
  }
});

test("column buffers are 64-byte aligned views of the mapping until release; copyBatch keeps them", () => {
  const { name, reader, arrow } = channel("views");
  try {
    const x = Float64Array.from({ length: 10_000 }, (_, i) => i * 0.5);
    const strings = Array.from({ length: x.length }, (_, i) => (i % 3 ? `s${i}` : null));
    arrow.write(makeTable({ x, s: vectorFromArray(strings) as never }));
    arrow.write(makeTable({ x: new Float64Array(1000) }));
    const batch = reader.readSync()!;
    const values = batch.getChild("x")!.data[0]!.values as Float64Array;
    expect(inSegment(values, name)).toBe(true);
    expect(addressOf(values) % 64).toBe(0);
    expect(values[9_999]).toBe(4999.5);
    const kept = copyBatch(batch);
    expect(inSegment(kept.getChild("x")!.data[0]!.values, name)).toBe(false);
    reader.release();
    expect(kept.getChild("x")!.get(9_999)).toBe(4999.5);
    expect(kept.getChild("s")!.toArray()).toEqual(strings);
    // Reading on releases the batch before.
    const next = reader.readSync()!;
    const nextValues = next.getChild("x")!.data[0]!.values as Float64Array;
    expect(nextValues.length).toBe(1000);
    arrow.close();
    expect(reader.readSync()).toBeNull();
    reader.close();
    expect(nextValues.length).toBe(0); // closing the reader detaches every view
    expect(kept.getChild("s")!.toArray()).toEqual(strings);
  } finally {
    reader.close();
  }
});

test("a 100 MB batch from another process is read in place: no copy, no private memory", async () => {
  const name = uniqueName("big");
  const rows = 12_500_000; // 100 MB of Float64 plus 50 MB of Int32
  using reader = new ArrowReader(createReader(name, { capacity: 160 << 20 }));
  const writer = spawnFixture("arrow-writer.ts", [name, String(rows)]);
  await waitForLine(writer, (line) => line === "sent");
  const anonymousBefore = anonymousKiB();
  const batch = (await reader.read({ timeoutMs: 30_000 }))!;
  const x = batch.getChild("x")!.data[0]!.values as Float64Array;
  const y = batch.getChild("y")!.data[0]!.values as Int32Array;
  let sum = 0;
  for (let i = 0; i < rows; i += 1000) sum += x[i]! + y[i]!;
  expect(x.length).toBe(rows);
  expect(x[rows - 1]).toBe(rows - 1);
  expect(y[rows - 1]).toBe((rows - 1) * 3);
  expect(sum).toBe(Array.from({ length: rows / 1000 }, (_, k) => k * 1000 * 4).reduce((a, b) => a + b, 0));
  expect(inSegment(x, name) && inSegment(y, name)).toBe(true);
  // Every page of x and y was touched above through the stride: they are
  // pages of /dev/shm, not anonymous memory of this process.
  expect(anonymousKiB() - anonymousBefore).toBeLessThan(20 * 1024);
  expect(await reader.read({ timeoutMs: 30_000 })).toBeNull();
  expect(await writer.exited).toBe(0);
});

/** Anonymous memory of this process (heap and copies; not /dev/shm pages), in KiB. */
function anonymousKiB(): number {
  return Number(readFileSync("/proc/self/smaps_rollup", "utf8").match(/^Anonymous:\s+(\d+) kB/m)![1]);
}

test("a schema change, replaced dictionaries and dictionary deltas reach the reader", () => {
  const { reader, arrow } = channel("schemas");
  try {
    const type = new Dictionary(new Utf8(), new Int32());
    const colors = vectorFromArray(["red", "green", "red"], type);
    arrow.write(new Table({ c: colors }));
    arrow.write(new Table({ c: vectorFromArray(["blue", "blue"], type) }));
    arrow.write(makeTable({ n: Int32Array.of(7, 8) }));
    expect(reader.readSync()!.getChild("c")!.toArray()).toEqual(["red", "green", "red"]);
    expect(reader.readSync()!.getChild("c")!.toArray()).toEqual(["blue", "blue"]);
    const changed = reader.readSync()!;
    expect(reader.schema!.fields.map((f) => f.name)).toEqual(["n"]);
    expect([...changed.getChild("n")!]).toEqual([7, 8]);
  } finally {
    arrow.close();
    reader.close();
  }
});

/** Sends a raw message to a reader and expects it refused with `why`. */
function refused(writer: Writer, reader: ArrowReader, bytes: Uint8Array, why: RegExp): void {
  writer.send(bytes);
  expectArrowError(() => reader.readSync({ timeoutMs: 1000 }), why);
}

test("malformed messages are refused with EARROW naming the channel and the fault", () => {
  const { name, reader, writer } = channel("malformed");
  try {
    const table = makeTable({ a: Float64Array.of(1, 2, 3), s: vectorFromArray(["x", "y", "z"]) as never });
    const batch = table.batches[0]!;
    refused(writer, reader, new TextEncoder().encode("not arrow at all, just text"), /continuation marker/i);
    refused(writer, reader, bytesOf(encodeRecordBatch(batch)), /arrived before any schema/i);
    writer.send(bytesOf(encodeSchema(table.schema)));
    // A batch before its dictionary: an error, never a batch of nulls.
    refused(writer, reader, bytesOf(encodeRecordBatch(batch)), /field "s" uses dictionary \d+, which has not arrived/i);
    for (const message of encodeTable(table).slice(1, -1)) writer.send(bytesOf(message)); // the dictionary
    // A batch whose values buffer points past the end of its body.
    const good = encodeRecordBatch(batch);
    const nodes = (Message.decode(good.metadata).header() as RecordBatchHeader).nodes;
    const moved = good.regions.map((r, i) => (i === 1 ? new BufferRegion(r.offset + 4096, r.length) : r));
    refused(writer, reader, reencoded(good, new RecordBatchHeader(3, nodes, moved, null)), /values buffer of field "a" \[offset 4096, length 24\] lies outside/i);
    // More rows than a column holds.
    refused(writer, reader, reencoded(good, new RecordBatchHeader(4, nodes, [...good.regions], null)), /field "a" has 3 values where 4 are needed/i);
    // After refusals the stream goes on.
    writer.send(bytesOf(encodeRecordBatch(batch)));
    expect([...reader.readSync()!.getChild("a")!]).toEqual([1, 2, 3]);
    try {
      reader.readSync({ timeoutMs: 0 });
    } catch (error) {
      expect((error as ShmpipeError).segment).toBe(name);
    }
  } finally {
    writer.close();
    reader.close();
  }
});

test("mutated messages yield a batch or EARROW, never another failure", () => {
  const { reader, writer } = channel("mutants");
  const tables = sampleTables();
  const seeds = [tables.primitives!, tables.strings!, tables.nested!, tables.temporal!].map((t) => ({
    schema: bytesOf(encodeSchema(t.schema)),
    batch: bytesOf(encodeRecordBatch(t.batches[0]!)),
  }));
  let random = 12345;
  const next = () => (random = (random * 1103515245 + 12345) >>> 0);
  let refusedCount = 0;
  try {
    for (let round = 0; round < 400; round++) {
      const seed = seeds[round % seeds.length]!;
      const mutateSchema = round % 3 === 0;
      const target = (mutateSchema ? seed.schema : seed.batch).slice();
      const metadataEnd = Math.min(target.length, 8 + new DataView(target.buffer).getInt32(4, true));
      for (let k = 1 + (next() % 3); k > 0; k--) target[next() % metadataEnd] = next() & 0xff;
      writer.send(mutateSchema ? target : seed.schema);
      writer.send(mutateSchema ? seed.batch : target);
      for (let read = 0; read < 2; read++) {
        try {
          const batch = reader.readSync({ timeoutMs: 0 });
          if (batch) new Table(batch).toArray(); // touch every value
        } catch (error) {
          if (!(error instanceof ShmpipeError)) throw error;
          expect(error.code).toMatch(/EARROW|ETIMEOUT/);
          refusedCount++;
        }
      }
    }
    expect(refusedCount).toBeGreaterThan(100);
  } finally {
    writer.close();
    reader.close();
  }
});

test("a record batch larger than the channel is refused before anything is written", () => {
  const { reader, arrow } = channel("too-big", 64 * 1024);
  try {
    const big = makeTable({ x: new Float64Array(100_000) });
    expect(() => arrow.write(big)).toThrow(/carries at most/i);
    arrow.write(makeTable({ x: Float64Array.of(5) }));
    expect([...reader.readSync()!.getChild("x")!]).toEqual([5]);
  } finally {
    arrow.close();
    reader.close();
  }
});

/** The message of `batch` with `patch` applied to the body bytes of buffer `region`. */
function patchedBatch(batch: RecordBatch, region: number, patch: (view: DataView) => void): Uint8Array {
  const encoded = encodeRecordBatch(batch);
  const bytes = bytesOf(encoded);
  const { offset, length } = encoded.regions[region]!;
  patch(new DataView(bytes.buffer, encoded.prefixLength + offset, length));
  return bytes;
}

test("offsets and dictionary indices that point outside their data are refused, never handed to an Arrow library", () => {
  const { reader, writer } = channel("bad-values");
  try {
    // Regions: a's validity and values (0, 1); s's validity, offsets, data (2, 3, 4).
    const table = makeTable({ a: Float64Array.of(1, 2, 3), s: vectorFromArray(["x", "yy", "z"], new Utf8()) as never });
    const batch = table.batches[0]!;
    writer.send(bytesOf(encodeSchema(table.schema)));
    refused(writer, reader, patchedBatch(batch, 3, (v) => v.setInt32(12, 1000, true)), /field "s" ends at offset 1000, past the \d+ data bytes there are/i);
    refused(writer, reader, patchedBatch(batch, 3, (v) => v.setInt32(8, 0, true)), /the offsets of field "s" go back from 1 to 0 at row 1/i);
    refused(writer, reader, patchedBatch(batch, 3, (v) => v.setInt32(0, -8, true)), /field "s" starts at offset -8/i);
    writer.send(bytesOf(encodeRecordBatch(batch)));
    expect(reader.readSync()!.getChild("s")!.toArray()).toEqual(["x", "yy", "z"]);

    const type = new Dictionary(new Utf8(), new Int32());
    const coded = new Table({ c: vectorFromArray(["red", "green", "red"], type) });
    const messages = encodeTable(coded);
    for (const message of messages.slice(0, -1)) writer.send(bytesOf(message)); // schema, dictionary
    // Regions of c: validity (0), indices (1).
    refused(writer, reader, patchedBatch(coded.batches[0]!, 1, (v) => v.setInt32(4, 7, true)), /field "c" has dictionary index 7 at row 1; the dictionary holds 2 values/i);
    writer.send(bytesOf(messages.at(-1)!));
    expect(reader.readSync()!.getChild("c")!.toArray()).toEqual(["red", "green", "red"]);
  } finally {
    writer.close();
    reader.close();
  }
});

test("a reader may trust its writer with the values (the metadata is checked still)", () => {
  const name = uniqueName("trusting");
  using reader = new ArrowReader(createReader(name, { capacity: 1 << 20 }), { trustValues: true });
  using writer = openWriter(name);
  const table = makeTable({ s: vectorFromArray(["x", "yy", "z"], new Utf8()) as never });
  writer.send(bytesOf(encodeSchema(table.schema)));
  writer.send(patchedBatch(table.batches[0]!, 1, (v) => v.setInt32(8, 0, true))); // s: validity, offsets (go back now), data
  expect(reader.readSync({ timeoutMs: 1000 })!.numRows).toBe(3);
  writer.send(new TextEncoder().encode("no arrow at all"));
  expect(() => reader.readSync({ timeoutMs: 1000 })).toThrow(/continuation marker/i);
});

test("readSync keeps its decode warm after a batch without changing what it returns or how long it waits", async () => {
  const name = uniqueName("keep-warm");
  using reader = new ArrowReader(createReader(name, { capacity: 4 << 20 }), { keepWarm: true });
  const writer = spawnFixture("arrow-paced-writer.ts", [name, "paced"]);
  // The second batch comes 20 ms after the first: within the keep-warm window.
  expect([...reader.readSync({ timeoutMs: 10_000 })!.getChild("x")!]).toEqual([1, 2, 3]);
  expect([...reader.readSync({ timeoutMs: 10_000 })!.getChild("x")!]).toEqual([4, 5, 6]);
  expect(reader.readSync({ timeoutMs: 10_000 })).toBeNull();
  expect(await writer.exited).toBe(0);

  // A timeout shorter than the window, and one across it, are kept.
  const { reader: second, arrow } = channel("keep-warm-timeout", 16 << 20, { keepWarm: true });
  arrow.write(makeTable({ x: Int32Array.of(7) }));
  expect(second.readSync({ timeoutMs: 1000 })!.numRows).toBe(1);
  for (const timeoutMs of [30, 150]) {
    const started = performance.now();
    expect(errorOf(() => second.readSync({ timeoutMs })).code).toBe("ETIMEOUT");
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(timeoutMs - 1);
    expect(waited).toBeLessThan(timeoutMs + 500);
  }
  second.close();
});

test("the keep-warm rebuild uses only the last message's layout, and only when that message was a batch that loaded", () => {
  using decoder = new MessageDecoder("keep-warm-layout", true);
  const table = makeTable({ c: vectorFromArray(["red", "green", "red"]) as never, x: Int32Array.of(1, 2, 3) });
  const [schema, dictionary, batch] = encodeTable(table).map(bytesOf);
  expect(decoder.warm()).toBe(false); // nothing read yet
  decoder.decode(schema!);
  expect(decoder.warm()).toBe(false);
  decoder.decode(dictionary!);
  expect(decoder.warm()).toBe(false); // the layout is the dictionary's
  expect(decoder.decode(batch!)!.numRows).toBe(3);
  expect(decoder.warm()).toBe(true);
  decoder.decode(dictionary!);
  expect(decoder.warm()).toBe(false);
  decoder.decode(batch!);
  expect(() => decoder.decode(new TextEncoder().encode("no arrow at all"))).toThrow(/continuation marker/i);
  expect(decoder.warm()).toBe(false); // a refused message ends it too
});

test("a writer that dies mid-record is noticed by a reader keeping warm", async () => {
  const name = uniqueName("keep-warm-death");
  using reader = new ArrowReader(createReader(name, { capacity: 4 << 20 }), { keepWarm: true });
  const writer = spawnFixture("arrow-paced-writer.ts", [name, "hang"]);
  expect([...reader.readSync({ timeoutMs: 10_000 })!.getChild("x")!]).toEqual([1, 2, 3]);
  await waitForLine(writer, (line) => line === "claimed");
  // Killed 20 ms into the wait below, which blocks this thread.
  const killer = Bun.spawn(["sh", "-c", `sleep 0.02; kill -9 ${writer.pid}`]);
  const started = performance.now();
  expect(errorOf(() => reader.readSync({ timeoutMs: Infinity })).code).toBe("EPEERGONE");
  expect(performance.now() - started).toBeLessThan(2000);
  await killer.exited;
});

test("loops over batches wait as long as the writer lives, not the default timeout", async () => {
  const { reader, arrow } = channel("loop-waits");
  const asked: unknown[] = [];
  const read = reader.read.bind(reader);
  reader.read = (options) => (asked.push(options), read(options));
  arrow.write(makeTable({ x: Int32Array.of(1) }));
  arrow.close();
  for await (const batch of reader) expect(batch.numRows).toBe(1);
  expect(asked).toEqual([{ timeoutMs: Infinity }, { timeoutMs: Infinity }]);
  reader.close();
});

test("a type parameter that is wrong is named as it is", () => {
  const { reader, writer } = channel("wrong-parameters");
  try {
    const negative = new Schema([new Field("f", new FixedSizeList(-1, new Field("x", new Float64())))]);
    refused(writer, reader, bytesOf(encodeSchema(negative)), /field "f" of type fixed_size_list has an invalid parameter \(-1\)/i);
  } finally {
    writer.close();
    reader.close();
  }
});

test("the writer refuses, before it commits, a message no reader could read; the stream goes on", () => {
  const { reader, arrow } = channel("writer-check");
  try {
    // apache-arrow merges fields of the same name: the schema it encodes no longer matches the buffers.
    const fields = [new Field("a", new Int8()), new Field("a", new Int32())];
    const children = [makeData({ type: new Int8(), data: Int8Array.of(1, 2) }), makeData({ type: new Int32(), data: Int32Array.of(3, 4) })];
    const merged = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: 2, children }));
    const error = errorOf(() => arrow.write(merged));
    expect([error.code, error.op]).toEqual(["EARROW", "send"]);
    expect(error.message).toContain('The values buffer of field "a" has 2 bytes; its length needs 8');
    // A batch made from vectors, whose dictionaries apache-arrow does not list: they are sent all the same.
    arrow.write(new RecordBatch({ label: vectorFromArray(["x", "y", "x"]).data[0]! }));
    expect(reader.readSync({ timeoutMs: 1000 })!.getChild("label")!.toArray()).toEqual(["x", "y", "x"]);
  } finally {
    arrow.close();
    reader.close();
  }
});
