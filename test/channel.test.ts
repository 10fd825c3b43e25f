// Behaviour of one channel's two ends, both in this process (the core does
// not care which process an end lives in; stream.test.ts covers two).
import { describe, expect, test } from "bun:test";
import { addressOf, core } from "../lib/ffi/bun.ts";
import { Segment } from "../lib/segment.ts";
import { chownSync, existsSync, readFileSync, statSync } from "node:fs";
import { makeTable } from "apache-arrow";
import { ArrowReader, ArrowWriter, COPY_BELOW, copyBatch, createReader, createWriter, openReader, openWriter, shmPath, ShmpipeError, SPIN_FOREVER, unlink } from "../lib/index.ts";
import { channelPair, errorOf, rejectionOf, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

const pair = (capacity?: number) => channelPair("pair", capacity);

describe("records", () => {
  test("send and claim/commit deliver bytes, strings and empty records in order", () => {
    using p = pair();
    p.writer.send("hello");
    const view = p.writer.claim(100);
    view.set([1, 2, 3]);
    p.writer.commit(3);
    p.writer.send(new Uint8Array(0));
    p.writer.send(new Uint16Array([0x0102, 0x0304]).subarray(1));
    expect(new TextDecoder().decode(p.reader.recvSync()!.bytes)).toBe("hello");
    expect([...p.reader.recvSync()!.bytes]).toEqual([1, 2, 3]);
    expect(p.reader.recvSync()!.bytes.length).toBe(0);
    expect([...p.reader.recvSync()!.bytes]).toEqual([0x04, 0x03]);
  });

  test("payloads are 64-byte aligned views into the shared mapping", () => {
    using p = pair();
    p.writer.send(new Uint8Array(COPY_BELOW));
    p.writer.send(new Uint8Array(20_000));
    for (let i = 0; i < 2; i++) {
      const message = p.reader.recvSync()!;
      expect(message.zeroCopy).toBe(true);
      const address = addressOf(message.bytes);
      expect(address % 64).toBe(0);
      message.release();
    }
  });

  test("a record larger than the ring is refused with its size and the limit", () => {
    using p = pair(4096);
    expect(p.writer.maxRecordSize).toBe(4096 - 64);
    const error = errorOf(() => p.writer.send(new Uint8Array(5000)));
    expect(error.code).toBe("ETOOLARGE");
    expect(error.segment).toBe(p.name);
    expect(error.op).toBe("send");
    expect(error.message).toContain("5000-byte record");
    expect(error.message).toContain("at most 4032 bytes");
    // Nothing was corrupted: the channel still works.
    p.writer.send(new Uint8Array(p.writer.maxRecordSize).fill(9));
    expect(p.reader.recvSync()!.bytes.every((b) => b === 9)).toBe(true);
  });

  test("a full ring times out the writer; an empty one times out the reader", async () => {
    using p = pair(4096);
    p.writer.send(new Uint8Array(4000));
    const start = performance.now();
    expect(errorOf(() => p.writer.send(new Uint8Array(100), { timeoutMs: 50 })).code).toBe("ETIMEOUT");
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);
    p.reader.recvSync()!.release();
    expect(errorOf(() => p.reader.recvSync({ timeoutMs: 30 })).code).toBe("ETIMEOUT");
    expect((await rejectionOf(p.reader.recv({ timeoutMs: 30 }))).code).toBe("ETIMEOUT");
  });

  test("close is end-of-stream once every record is read", async () => {
    using p = pair();
    p.writer.send("last");
    p.writer.close();
    expect(p.writer.closed).toBe(true);
    expect(new TextDecoder().decode((await p.reader.recv())!.bytes)).toBe("last");
    expect(await p.reader.recv()).toBeNull();
    expect(p.reader.recvSync()).toBeNull();
    const seen: Message[] = [];
    for await (const message of p.reader) seen.push(message);
    expect(seen).toEqual([]);
  });

  test("a closed reader stops the writer with ECLOSED", () => {
    using p = pair();
    p.reader.close();
    expect(errorOf(() => p.writer.send("x")).code).toBe("ECLOSED");
  });
});

type Message = NonNullable<ReturnType<ReturnType<typeof createReader>["recvSync"]>>;

describe("views and lifetimes", () => {
  test("a released view may show the writer's next record; copy() keeps the data", () => {
    using p = pair(4096);
    p.writer.send(new Uint8Array(1000).fill(5));
    const message = p.reader.recvSync()!;
    expect(message.zeroCopy).toBe(true);
    const view = message.bytes;
    const kept = message.copy();
    message.release();
    expect(message.released).toBe(true);
    // The writer wraps around the 4096-byte ring and reuses that space.
    for (let i = 0; i < 4; i++) {
      p.writer.send(new Uint8Array(1000).fill(9 + i));
      p.reader.recvSync()!.release();
    }
    expect(view.some((b) => b !== 5)).toBe(true);
    expect(kept.length).toBe(1000);
    expect(kept.every((b) => b === 5)).toBe(true);
    expect(errorOf(() => message.copy()).code).toBe("ESTATE");
  });

  test("a released Arrow batch's columns may show later batches; closing the reader empties them; copyBatch() keeps one", () => {
    using p = pair(32 * 1024);
    const writer = new ArrowWriter(p.writer);
    const reader = new ArrowReader(p.reader);
    writer.write(makeTable({ v: Float64Array.from({ length: 1000 }, (_, i) => i) }));
    const batch = reader.readSync()!;
    const kept = copyBatch(batch);
    const column = batch.getChild("v")!.data[0]!.values as Float64Array;
    reader.release();
    // The writer wraps around the 32 KiB ring and reuses that space.
    for (let k = 1; k <= 6; k++) {
      writer.write(makeTable({ v: new Float64Array(1000).fill(100 + k) }));
      reader.readSync();
    }
    expect(column[5]).not.toBe(5);
    expect(column[5]! > 100).toBe(true);
    reader.close();
    expect(column.length).toBe(0); // detached, not dangling
    expect(kept.getChild("v")!.get(5)).toBe(5);
  });

  test("records below COPY_BELOW bytes are private copies, their space freed at once", () => {
    using p = pair(4096);
    p.writer.send(new Uint8Array(COPY_BELOW - 1).fill(3));
    const small = p.reader.recvSync()!;
    expect(small.zeroCopy).toBe(false);
    // 576 ring bytes held the small record. Fill the rest of the ring; the
    // next record fits only if those 576 bytes were given back on receipt.
    p.writer.send(new Uint8Array(4096 - 576 - 64));
    p.writer.send(new Uint8Array(COPY_BELOW - 1), { timeoutMs: 0 });
    small.release();
    expect(small.bytes.length).toBe(COPY_BELOW - 1);
    expect(small.bytes.every((b) => b === 3)).toBe(true);
  });

  test("the next recv releases the previous record", () => {
    using p = pair();
    p.writer.send(new Uint8Array(COPY_BELOW).fill(1));
    p.writer.send(new Uint8Array(COPY_BELOW).fill(2));
    const first = p.reader.recvSync()!;
    const second = p.reader.recvSync()!;
    expect(first.released).toBe(true);
    expect(second.released).toBe(false);
    expect(second.bytes[0]).toBe(2);
  });

  test("a claimed view is detached by commit and abort", () => {
    using p = pair();
    const committed = p.writer.claim(8);
    p.writer.commit();
    expect(committed.length).toBe(0);
    const aborted = p.writer.claim(8);
    aborted.fill(1);
    p.writer.abort();
    expect(aborted.length).toBe(0);
    p.writer.send("after");
    expect(p.reader.recvSync()!.bytes.length).toBe(8);
    expect(new TextDecoder().decode(p.reader.recvSync()!.bytes)).toBe("after");
    expect(errorOf(() => p.writer.commit()).code).toBe("ESTATE");
  });

  test("closing detaches live views and unmaps the segment at once", () => {
    const name = uniqueName("unmap");
    const reader = createReader(name, { capacity: 4096 });
    const writer = openWriter(name);
    writer.send(new Uint8Array(COPY_BELOW).fill(7));
    const claim = writer.claim(64);
    const view = reader.recvSync()!.bytes;
    // The writer's mapping, and the reader's in two parts: its header
    // (where its position is kept) writable, the records read-only.
    expect(mappedRegions(name)).toEqual(["r--s", "rw-s", "rw-s"]);
    writer.close();
    reader.close();
    expect(claim.length).toBe(0);
    expect(view.length).toBe(0); // detached, not dangling
    expect(mappedRegions(name)).toEqual([]);
  });
});

/** The permissions of each mapped region of the segment `name` in this process (from /proc/self/maps), sorted. */
function mappedRegions(name: string): string[] {
  const maps = readFileSync("/proc/self/maps", "utf8");
  return maps.split("\n").filter((line) => line.includes(`shmpipe.${name}`)).map((line) => line.split(" ")[1]!).sort();
}

describe("waiting", () => {
  test("recv() waits without blocking the event loop", async () => {
    using p = pair();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const pending = p.reader.recv({ timeoutMs: 5000 });
    await Bun.sleep(100);
    expect(ticks).toBeGreaterThanOrEqual(5);
    p.writer.send("wake");
    const message = await pending;
    clearInterval(timer);
    expect(new TextDecoder().decode(message!.bytes)).toBe("wake");
  });

  test("closing a reader resolves its pending recv() with null", async () => {
    const name = uniqueName("close-pending");
    const reader = createReader(name, { capacity: 4096 });
    const pending = reader.recv({ timeoutMs: 10_000 });
    await Bun.sleep(20);
    const start = performance.now();
    reader.close();
    expect(await pending).toBeNull();
    expect(performance.now() - start).toBeLessThan(1000);
    expect(reader.closed).toBe(true);
  });

  test("a second recv() while one waits is refused", async () => {
    using p = pair();
    const pending = p.reader.recv({ timeoutMs: 5000 });
    expect((await rejectionOf(p.reader.recv())).code).toBe("ESTATE");
    p.writer.send("x");
    expect(await pending).not.toBeNull();
  });
});

describe("segments", () => {
  test("names are validated and namespaced", () => {
    for (const bad of ["", "a/b", "../x", ".hidden", "-x", "x".repeat(201), "sp ace"]) {
      const error = errorOf(() => createReader(bad, { capacity: 4096 }));
      expect(error.code).toBe("EBADARG");
      expect(error.segment).toBe(bad);
    }
    const name = uniqueName("path");
    using reader = createReader(name, { capacity: 4096 });
    expect(statSync(shmPath(name)).isFile()).toBe(true);
    expect(reader.name).toBe(name);
  });

  test("created with O_EXCL and mode 0600, memory reserved up front", () => {
    const name = uniqueName("excl");
    using reader = createReader(name, { capacity: 10_000 });
    const stat = statSync(shmPath(name));
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.size).toBe(4096 + 12_288); // header page + capacity rounded to pages
    expect(stat.blocks * 512).toBeGreaterThanOrEqual(stat.size); // posix_fallocate reserved it
    const error = errorOf(() => createWriter(name, { capacity: 4096 }));
    expect(error.code).toBe("EEXIST");
    expect(reader.closed).toBe(false);
  });

  test("the creator's close removes the name; an opener's does not", () => {
    const name = uniqueName("owner");
    const reader = createReader(name, { capacity: 4096 });
    openWriter(name).close();
    expect(statSync(shmPath(name), { throwIfNoEntry: false })).toBeDefined();
    reader.close();
    expect(statSync(shmPath(name), { throwIfNoEntry: false })).toBeUndefined();
  });

  test("opening a missing channel names it and says what to do", () => {
    const error = errorOf(() => openReader("no-such-channel-here"));
    expect(error.code).toBe("ENOENT");
    expect(error.message).toContain('"no-such-channel-here"');
    expect(error.message).toContain("start the side that creates it first");
  });

  test("a role held by a live process is refused", () => {
    using p = pair();
    const error = errorOf(() => openWriter(p.name));
    expect(error.code).toBe("EINUSE");
    expect(error.op).toBe("attach");
  });

  test("a segment owned by another user is refused unless asked for", () => {
    const name = uniqueName("foreign");
    using reader = createReader(name, { capacity: 4096 });
    if (process.getuid!() !== 0) return; // only root can give the file away
    chownSync(shmPath(name), 12345, 12345);
    const error = errorOf(() => openWriter(name));
    expect(error.code).toBe("EACCES");
    expect(error.message).toContain("uid 12345");
    openWriter(name, { allowOtherOwner: true }).close();
    expect(reader.closed).toBe(false);
  });

  test("capacities are rounded up to whole pages; nothing, or not a count, is refused", () => {
    const name = uniqueName("tiny");
    using reader = createReader(name, { capacity: 1000 });
    expect(statSync(shmPath(name)).size).toBe(4096 + 4096);
    for (const capacity of [0, -5, Number.NaN]) {
      const error = errorOf(() => createReader(uniqueName("bad-capacity"), { capacity }));
      expect(error.code).toBe("EBADARG");
      expect(error.message).toContain("Capacity must be between 1 byte and 64 TiB");
    }
    expect(reader.closed).toBe(false);
  });

  test("a mode is permission bits that let the owner read and write", () => {
    for (const mode of [0o7777, 0o400]) expect(errorOf(() => createReader(uniqueName("mode"), { capacity: 4096, mode })).code).toBe("EBADARG");
  });

  test("a channel created without options gets the default capacity", () => {
    const name = uniqueName("defaults");
    using reader = createReader(name);
    expect(statSync(shmPath(name)).size).toBe(4096 + 16 * 2 ** 20);
    expect(reader.closed).toBe(false);
  });

  test("a second creator is told the name is in use, by which process", () => {
    using p = pair();
    const error = errorOf(() => createReader(p.name));
    expect(error.code).toBe("EEXIST");
    expect(error.message).toContain(`It is in use: its creator (pid ${process.pid}) is running`);
  });

  test("opening may wait for the channel to be created, so start-up order need not matter", async () => {
    const name = uniqueName("later");
    const missing = errorOf(() => openWriter(name, { waitMs: 30 }));
    expect(missing.code).toBe("ENOENT");
    expect(missing.message).toMatch(/Waited \d+ ms for it to be created/);
    const creator = spawnFixture("idle-reader.ts", [name, "create-later"]);
    const writer = openWriter(name, { waitMs: 5000 }); // blocks this thread while it waits
    writer.close();
    creator.kill();
    await creator.exited;
  });

  test("a name with a NUL character is refused, not cut short", () => {
    const error = errorOf(() => createWriter("cut\0../../etc", { capacity: 4096 }));
    expect(error.code).toBe("EBADARG");
    expect(error.segment).toBe("cut?../../etc");
    expect(statSync("/dev/shm/shmpipe.cut", { throwIfNoEntry: false })).toBeUndefined();
  });

  test("an empty view takes no reference on the mapping", () => {
    const segment = Segment.create(uniqueName("empty-view"), { capacity: 4096 });
    expect(segment.view(4096, 0).byteLength).toBe(0);
    expect(core.shmp_segment_refs(segment.handle)).toBe(1);
    segment.close();
  });
});

test("a creator's close leaves alone a name it no longer owns: removed by name, then made again by another process", async () => {
  const name = uniqueName("remade");
  const writer = createWriter(name, { capacity: 4096 });
  unlink(name);
  const other = spawnFixture("blocked-creator.ts", ["recv", name]);
  try {
    await waitForLine(other, (line) => line === "ready");
    writer.close();
    expect(existsSync(shmPath(name))).toBe(true); // the other process's channel
  } finally {
    other.kill("SIGTERM"); // its creator removes it
    await other.exited;
  }
  expect(existsSync(shmPath(name))).toBe(false);
});

describe("busy-polling", () => {
  // While it spins, a reader polls the ring's head itself (no call into the
  // core per poll): records from another process, sent with gaps, all
  // arrive in order; an idle channel still times out; the writer's close
  // ends the spin.
  test("a reader that spins for ever gets every record another process sends, and the end of the stream", async () => {
    const name = uniqueName("spin");
    using reader = createReader(name);
    const lib = new URL("../lib/index.ts", import.meta.url).pathname;
    const child = Bun.spawn([process.execPath, "-e", `
      import { openWriter } from ${JSON.stringify(lib)};
      const writer = openWriter(${JSON.stringify(name)});
      for (let i = 0; i < 200; i++) {
        if (i % 20 === 0) Bun.sleepSync(3); // gaps the reader spins through
        writer.send(new Uint32Array([i]));
      }
      writer.close();
    `], { stderr: "inherit" });
    const got: number[] = [];
    for (let m = reader.recvSync({ spin: SPIN_FOREVER, timeoutMs: 10_000 }); m; m = reader.recvSync({ spin: SPIN_FOREVER, timeoutMs: 10_000 })) {
      got.push(new Uint32Array(m.bytes.slice().buffer)[0]!);
    }
    expect(await child.exited).toBe(0);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("spinning for ever on an idle channel still ends at the timeout, sync and async", async () => {
    using p = pair();
    let start = performance.now();
    expect(errorOf(() => p.reader.recvSync({ spin: SPIN_FOREVER, timeoutMs: 50 })).code).toBe("ETIMEOUT");
    expect(performance.now() - start).toBeGreaterThanOrEqual(49);
    expect(performance.now() - start).toBeLessThan(2000);
    start = performance.now();
    expect((await rejectionOf(p.reader.recv({ spin: SPIN_FOREVER, timeoutMs: 50 }))).code).toBe("ETIMEOUT");
    expect(performance.now() - start).toBeGreaterThanOrEqual(49);
    p.writer.send("late");
    expect(new TextDecoder().decode(p.reader.recvSync({ spin: SPIN_FOREVER, timeoutMs: 50 })!.bytes)).toBe("late");
  });
});
