// Many records per call: Writer.sendBatch and Reader.recvBatch /
// recvBatchSync / batches(), in one process and across two, with the
// per-record API's guarantees (order, bounds, timeouts, end of stream, a
// dead peer, Ctrl-C).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { addressOf } from "../lib/ffi/bun.ts";
import { Batch, COPY_BELOW, createReader, createWriter, openReader, openWriter, shmPath, ShmpipeError } from "../lib/index.ts";
import { check, sizes } from "./fixtures/records.ts";
import { channelPair, errorOf, rejectionOf, finished, inSegment, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

const pair = (capacity?: number) => channelPair("batch", capacity);

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("in one process", () => {
  test("a batch sent in one call arrives as the records sent one by one would: bytes, strings, empty, other views", () => {
    using p = pair();
    p.writer.sendBatch(["hello", new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint16Array([0x0102, 0x0304]).subarray(1), ""]);
    p.writer.send("after");
    const batch = p.reader.recvBatchSync()!;
    expect(batch).toBeInstanceOf(Batch);
    expect(batch.length).toBe(6);
    const records = [...batch];
    expect(text(records[0]!)).toBe("hello");
    expect([...records[1]!]).toEqual([1, 2, 3]);
    expect(records[2]!.length).toBe(0);
    expect([...records[3]!]).toEqual([0x04, 0x03]);
    expect(records[4]!.length).toBe(0);
    expect(text(records[5]!)).toBe("after");
    // at(), and offsetOf/lengthOf over `bytes`, show the same records.
    for (let i = 0; i < batch.length; i++) {
      expect(batch.at(i)).toEqual(records[i]!);
      expect(batch.bytes.subarray(batch.offsetOf(i), batch.offsetOf(i) + batch.lengthOf(i))).toEqual(records[i]!);
    }
    expect(() => batch.at(6)).toThrow(RangeError);
    expect(() => batch.at(-1)).toThrow(RangeError);
  });

  test("sendPacked sends records packed one after another in one buffer; lengths that do not add up are refused", () => {
    using p = pair();
    const bytes = new TextEncoder().encode("onetwothree");
    p.writer.sendPacked(bytes, [3, 3, 0, 5]);
    p.writer.sendPacked(new Uint8Array(0), [0]);
    p.writer.sendPacked(new Uint8Array(0), []); // nothing
    expect([...p.reader.recvBatchSync()!].map(text)).toEqual(["one", "two", "", "three", ""]);
    const error = errorOf(() => p.writer.sendPacked(bytes, [3, 3]));
    expect(error.code).toBe("EBADARG");
    expect(error.message).toContain("add up to 6 bytes, but 11 bytes of data were given");
    expect(errorOf(() => p.writer.sendPacked(bytes, [3, -1, 9])).code).toBe("EBADARG");
    expect(errorOf(() => p.writer.sendPacked(bytes, [5.5, 5.5])).code).toBe("EBADARG");
    expect(errorOf(() => p.reader.recvBatchSync({ timeoutMs: 0 })).code).toBe("ETIMEOUT"); // none of those went
  });

  test("every record of a batch, small or large, is a 64-byte aligned view of the shared mapping", () => {
    using p = pair();
    p.writer.sendBatch([new Uint8Array(1), new Uint8Array(COPY_BELOW), new Uint8Array(20_000)]);
    const batch = p.reader.recvBatchSync()!;
    for (const bytes of batch) {
      expect(inSegment(bytes, p.name)).toBe(true);
      expect(addressOf(bytes) % 64).toBe(0);
    }
    expect(inSegment(batch.bytes, p.name)).toBe(true);
  });

  test("maxRecords bounds a batch; the next receive releases the batch before", () => {
    using p = pair();
    p.writer.sendBatch(Array.from({ length: 10 }, (_, i) => `r${i}`));
    const first = p.reader.recvBatchSync({ maxRecords: 4 })!;
    expect([...first].map(text)).toEqual(["r0", "r1", "r2", "r3"]);
    const second = p.reader.recvBatchSync({ maxRecords: 1000 })!;
    expect(first.released).toBe(true);
    expect(errorOf(() => first.at(0)).code).toBe("ESTATE");
    expect([...second].map(text)).toEqual(["r4", "r5", "r6", "r7", "r8", "r9"]);
    expect(() => p.reader.recvBatchSync({ maxRecords: 0 })).toThrow(RangeError);
    expect(() => p.reader.recvBatchSync({ maxRecords: 1.5 })).toThrow(RangeError);
  });

  test("a batch holds its records' space until released; a batch that cannot fit waits, then says how many went", () => {
    using p = pair(4096); // 21 records of 100 B
    const records = Array.from({ length: 30 }, (_, i) => new Uint8Array(100).fill(i));
    const error = errorOf(() => p.writer.sendBatch(records, { timeoutMs: 20 }));
    expect(error.code).toBe("ETIMEOUT");
    expect(error.message).toContain("21 of the batch's 30 records were sent before it");
    const batch = p.reader.recvBatchSync()!;
    expect(batch.length).toBe(21);
    expect([...batch].map((bytes) => bytes[0])).toEqual(records.slice(0, 21).map((r) => r[0]));
    expect(errorOf(() => p.writer.sendBatch(records.slice(21), { timeoutMs: 0 })).code).toBe("ETIMEOUT"); // still held
    batch.release();
    p.writer.sendBatch(records.slice(21), { timeoutMs: 0 });
    using rest = p.reader.recvBatchSync()!;
    expect([...rest].map((bytes) => bytes[0])).toEqual(records.slice(21).map((r) => r[0]));
  });

  test("a record too large is refused with its place in the batch, and nothing of the batch is sent", () => {
    using p = pair(4096);
    const error = errorOf(() => p.writer.sendBatch(["a", new Uint8Array(5000), "c"]));
    expect(error.code).toBe("ETOOLARGE");
    expect(error.message).toContain("Record 1 of the batch (5000 bytes)");
    expect(errorOf(() => p.reader.recvBatchSync({ timeoutMs: 0 })).code).toBe("ETIMEOUT");
    p.writer.sendBatch([]); // nothing to send: no record, no error
    expect(errorOf(() => p.reader.recvSync({ timeoutMs: 0 })).code).toBe("ETIMEOUT");
  });

  test("batches and single records mix: a message held is released by the next batch, and the reverse", () => {
    using p = pair();
    p.writer.send(new Uint8Array(COPY_BELOW).fill(1));
    p.writer.sendBatch([new Uint8Array(COPY_BELOW).fill(2), "x"]);
    p.writer.send(new Uint8Array(COPY_BELOW).fill(3));
    const message = p.reader.recvSync()!;
    expect(message.zeroCopy).toBe(true);
    const batch = p.reader.recvBatchSync()!;
    expect(message.released).toBe(true);
    expect([...batch].map((bytes) => bytes[0])).toEqual([2, 120, 3]); // the message's record is not taken again
    p.writer.send("y");
    expect(text(p.reader.recvSync()!.bytes)).toBe("y");
    expect(batch.released).toBe(true);
  });

  test("timeouts, end of stream and close, sync and async", async () => {
    using p = pair();
    expect(errorOf(() => p.reader.recvBatchSync({ timeoutMs: 30 })).code).toBe("ETIMEOUT");
    expect((await rejectionOf(p.reader.recvBatch({ timeoutMs: 30 }))).code).toBe("ETIMEOUT");
    p.writer.sendBatch(["a", "b"]);
    p.writer.close();
    expect([...(await p.reader.recvBatch())!].map(text)).toEqual(["a", "b"]);
    expect(await p.reader.recvBatch()).toBeNull();
    expect(p.reader.recvBatchSync()).toBeNull();
    const name = uniqueName("batch-close");
    const reader = createReader(name, { capacity: 4096 });
    const writer = openWriter(name);
    const pending = reader.recvBatch({ timeoutMs: 10_000 });
    await Bun.sleep(20); // waiting on the Worker
    reader.close();
    expect(await pending).toBeNull();
    writer.close();
  });

  test("batches() ends at end of stream and releases the last batch", async () => {
    using p = pair();
    p.writer.sendBatch(["a", "b", "c"]);
    p.writer.send("d");
    p.writer.close();
    const seen: string[] = [];
    let last: Batch | null = null;
    for await (const batch of p.reader.batches({ maxRecords: 2 })) {
      if (last) expect(last.released).toBe(true);
      seen.push(...[...batch].map(text));
      last = batch;
    }
    expect(seen).toEqual(["a", "b", "c", "d"]);
    expect(last!.released).toBe(true);
  });
});

describe("across processes", () => {
  test("300,000 records of random sizes sent in batches arrive in order and intact, read in batches", async () => {
    const capacity = 1 << 20;
    const name = uniqueName("batch-stream");
    using reader = createReader(name, { capacity });
    const writer = spawnFixture("batch-writer.ts", [name, "300000", "11"]);
    const nextSize = sizes(11, capacity - 64);
    let seq = 0, batches = 0, large = 0;
    const problems: string[] = [];
    for await (const batch of reader.batches({ timeoutMs: 20_000, maxRecords: 100 })) {
      batches++;
      for (const bytes of batch) {
        const length = nextSize();
        const problem = check(bytes, seq++, length);
        if (problem && problems.length < 5) problems.push(problem);
        if (length > capacity / 2) large++;
      }
    }
    await finished(writer);
    expect(problems).toEqual([]);
    expect(seq).toBe(300_000);
    expect(batches).toBeLessThan(seq / 2); // batches, not one record at a time
    expect(large).toBeGreaterThan(10); // records that wait for the whole ring inside a batch
  });

  test("records sent one by one read in batches, and batches read one by one", async () => {
    for (const [fixture, batched] of [["stream-writer.ts", true], ["batch-writer.ts", false]] as const) {
      const capacity = 1 << 18;
      const name = uniqueName("batch-mixed");
      using reader = createReader(name, { capacity });
      const writer = spawnFixture(fixture, [name, "50000", "5"]);
      const nextSize = sizes(5, capacity - 64);
      let seq = 0;
      const problems: string[] = [];
      const note = (bytes: Uint8Array) => {
        const problem = check(bytes, seq, nextSize());
        if (problem && problems.length < 5) problems.push(problem);
        seq++;
      };
      if (batched) for await (const batch of reader.batches({ timeoutMs: 20_000 })) for (const bytes of batch) note(bytes);
      else for await (const message of reader.messages({ timeoutMs: 20_000 })) note(message.bytes);
      await finished(writer);
      expect({ fixture, problems, seq }).toEqual({ fixture, problems: [], seq: 50_000 });
    }
  });

  test("a writer killed mid-stream ends batches() with EPEERGONE", async () => {
    const name = uniqueName("batch-killed");
    using reader = createReader(name, { capacity: 1 << 18 });
    const writer = spawnFixture("killable-writer.ts", [name, "3"]);
    const iterator = reader.batches({ timeoutMs: 20_000 });
    let received = 0;
    while (received < 200) received += (await iterator.next()).value!.length;
    writer.kill("SIGKILL");
    await writer.exited;
    const error = await rejectionOf((async () => {
      for (;;) await iterator.next();
    })());
    expect(error.code).toBe("EPEERGONE");
  });

  for (const mode of ["recv-batch", "send-batch"]) {
    test(`SIGINT ends a creator waiting in ${mode} within 100 ms and removes its name`, async () => {
      const name = uniqueName(mode);
      const child = spawnFixture("blocked-creator.ts", [mode, name]);
      await waitForLine(child, (line) => line === "ready");
      await Bun.sleep(50); // well into the wait
      const start = performance.now();
      child.kill("SIGINT");
      await child.exited;
      expect(performance.now() - start).toBeLessThan(100);
      expect(child.signalCode).toBe("SIGINT");
      expect(existsSync(shmPath(name))).toBe(false);
    });
  }
});

test("a reader that opens the channel reads batches too (its mapping of the records is read-only)", () => {
  const name = uniqueName("batch-open");
  using writer = createWriter(name, { capacity: 4096 });
  using reader = openReader(name);
  writer.sendBatch(["one", "two"]);
  using batch = reader.recvBatchSync()!;
  expect([...batch].map(text)).toEqual(["one", "two"]);
});
