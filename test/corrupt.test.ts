// Segments with bad contents: each gives a ShmpipeError naming the segment,
// never an out-of-bounds read or a crash. Bytes are changed through the
// /dev/shm file, which is the same memory the channel maps.
import { afterEach, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { createReader, openReader, openWriter, shmPath, ShmpipeError, unlink } from "../lib/index.ts";
import { errorOf, uniqueName } from "./helpers.ts";

const HEADER = 4096;
const made: string[] = [];

afterEach(() => {
  for (const name of made.splice(0)) {
    try {
      unlink(name);
    } catch {}
  }
});

/** Writes `bytes` at `offset` into the segment's memory. */
function poke(name: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(shmPath(name), "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);

function openError(name: string): ShmpipeError {
  try {
    openReader(name, { readyTimeoutMs: 50 }).close();
  } catch (error) {
    expect(error).toBeInstanceOf(ShmpipeError);
    return error as ShmpipeError;
  }
  throw new Error(`opening ${name} succeeded`);
}

/** A fresh, valid segment whose name the test owns and removes. */
function validSegment(capacity = 8192): string {
  const name = uniqueName("corrupt");
  made.push(name);
  createReader(name, { capacity }); // never closed: afterEach unlinks the name
  return name;
}

test("a file that is not a shmpipe segment: EBADMAGIC", () => {
  const name = uniqueName("garbage");
  made.push(name);
  writeFileSync(shmPath(name), new Uint8Array(8192).fill(0xab), { mode: 0o600 });
  const error = openError(name);
  expect(error.code).toBe("EBADMAGIC");
  expect(error.segment).toBe(name);
  expect(error.message).toContain(`"${name}"`);
});

test("a segment from another shmpipe version: EABI", () => {
  const name = validSegment();
  poke(name, 8, u32(99));
  expect(openError(name).code).toBe("EABI");
});

test("a segment smaller than the header: ETRUNCATED", () => {
  const name = uniqueName("short");
  made.push(name);
  writeFileSync(shmPath(name), new Uint8Array(100).fill(1), { mode: 0o600 });
  expect(openError(name).code).toBe("ETRUNCATED");
});

test("a header that claims more memory than the segment has: ETRUNCATED", () => {
  const name = validSegment();
  poke(name, 16, u64(BigInt(HEADER + (1 << 20))));
  poke(name, 24, u64(1n << 20n));
  expect(openError(name).code).toBe("ETRUNCATED");
});

test("an empty, unformatted segment: ENOTREADY after the ready timeout", () => {
  const name = uniqueName("empty");
  made.push(name);
  writeFileSync(shmPath(name), new Uint8Array(0), { mode: 0o600 });
  expect(openError(name).code).toBe("ENOTREADY");
});

test("counters out of range: ECORRUPT", () => {
  for (const [offset, value] of [[256, 1n << 40n], [256, 3n], [320, 64n]] as const) {
    const name = validSegment();
    poke(name, offset, u64(value));
    expect(openError(name).code).toBe("ECORRUPT");
  }
});

test("a record whose length points past the end of the ring: ECORRUPT on recv", () => {
  const name = uniqueName("badrecord");
  using reader = createReader(name, { capacity: 8192 });
  using writer = openWriter(name);
  writer.send(new Uint8Array(100));
  poke(name, HEADER + 8, u64(1n << 20n));
  const error = errorOf(() => reader.recvSync({ timeoutMs: 0 }));
  expect(error.code).toBe("ECORRUPT");
  expect(error.segment).toBe(name);
});

test("random mutations of header and records never crash or read out of bounds", () => {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const outcomes = new Map<string, number>();
  for (let round = 0; round < 400; round++) {
    const name = uniqueName("fuzz");
    const reader = createReader(name, { capacity: 8192 });
    const writer = openWriter(name);
    for (let i = 0; i < 5; i++) writer.send(new Uint8Array(1 + Math.floor(random() * 1500)).fill(i));
    writer.close();
    for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
      // Header words that matter (first 512 bytes) or the records' headers.
      const offset = random() < 0.5 ? Math.floor(random() * 512) : HEADER + 64 * Math.floor(random() * 128);
      poke(name, offset, new Uint8Array([Math.floor(random() * 256)]));
    }
    let outcome = "ok";
    try {
      using second = openReader(name, { readyTimeoutMs: 0, allowOtherOwner: true });
      void second;
    } catch (error) {
      if (!(error instanceof ShmpipeError)) throw error;
      if (error.code !== "EINUSE") outcome = `open:${error.code}`;
    }
    try {
      for (let m = reader.recvSync({ timeoutMs: 0 }); m; m = reader.recvSync({ timeoutMs: 0 })) {
        expect(m.bytes.byteLength).toBeLessThanOrEqual(8192);
      }
    } catch (error) {
      if (!(error instanceof ShmpipeError)) throw error;
      if (outcome === "ok") outcome = `recv:${error.code}`;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    reader.close();
  }
  // The mutations did reach the checks: several kinds of error were seen.
  expect(outcomes.size).toBeGreaterThanOrEqual(3);
});
