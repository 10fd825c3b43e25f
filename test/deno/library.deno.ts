// The library under Deno: the adapter (lib/ffi/deno.ts) that package.json's
// "#ffi" import picks, the version check at load, views that outlive their
// channel or table and mappings that go once nothing needs them, waits that
// leave the event loop running, and Ctrl-C during a wait. Real processes,
// real /dev/shm. Run with --v8-flags=--expose-gc (test/deno.test.ts does).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import process from "node:process";
import { tableFromArrays } from "apache-arrow";
import { createReader, createWriter, openReader, openTable, openWriter, publish, shmPath, type ShmpipeError } from "../../lib/index.ts";
import { addressOf, core, corePath } from "#ffi";
import { collect, deno, mappingsOf, root, spawn, spawnDeno, test, uniqueName } from "./helpers.ts";


test("#ffi is the Deno adapter: Deno pointer objects, the core this checkout built", () => {
  assert.equal(corePath, `${root}ffi/core/build/linux-x64/libshmpipe.so`);
  assert.match(core.shmp_version(), /^\d+\.\d+/);
  const bytes = new Uint8Array(64);
  assert.equal(typeof addressOf(bytes), "number");
});

test("records of every size go from a Deno writer to a Deno reader, in order, byte for byte", async () => {
  const name = uniqueName("bytes");
  const writer = createWriter(name, { capacity: 1 << 20 });
  const reader = openReader(name);
  try {
    const sizes = [1, 7, 64, 4095, 4096, 65_537, 300_000];
    const sent = sizes.map((size, i) => Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff));
    for (const bytes of sent) writer.send(bytes);
    for (const bytes of sent.slice(0, 4)) {
      const message = reader.recvSync({ timeoutMs: 1000 })!;
      assert.deepEqual(message.bytes, bytes);
      message.release();
    }
    for (const bytes of sent.slice(4)) {
      const message = (await reader.recv({ timeoutMs: 1000 }))!;
      assert.deepEqual(message.bytes, bytes);
      message.release();
    }
  } finally {
    reader.close();
    writer.close();
  }
});

test("batches under Deno: sendBatch, then recvBatchSync, an awaited recvBatch and batches(), views of every record", async () => {
  const name = uniqueName("batches");
  const writer = createWriter(name, { capacity: 1 << 16 });
  const reader = openReader(name);
  try {
    const sent = Array.from({ length: 300 }, (_, i) => Uint8Array.from({ length: i % 97 }, (_, j) => (i + j) & 0xff));
    writer.sendBatch(sent);
    const received: Uint8Array[] = [];
    const first = reader.recvBatchSync({ maxRecords: 100 })!;
    assert.equal(first.length, 100);
    for (const bytes of first) received.push(bytes.slice());
    const second = (await reader.recvBatch({ maxRecords: 100 }))!;
    for (let i = 0; i < second.length; i++) received.push(second.bytes.slice(second.offsetOf(i), second.offsetOf(i) + second.lengthOf(i)));
    writer.close();
    for await (const batch of reader.batches()) for (const bytes of batch) received.push(bytes.slice());
    assert.equal(first.released, true);
    assert.deepEqual(received, sent);
  } finally {
    reader.close();
    writer.close();
  }
});

test("a core without the binding's newest version node is refused at load, in the binding's sentence", async () => {
  const build = await new Deno.Command("make", { args: ["-s", "-C", `${root}ffi/core`, "old-abi-lib"], stderr: "piped" }).output();
  assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
  const older = `${root}ffi/core/build/old-abi/libshmpipe.so`;
  const child = spawn([deno, "eval", `await import(${JSON.stringify(`${root}lib/index.ts`)})`], { SHMPIPE_LIB: older });
  const status = await child.status;
  const stderr = await child.stderr;
  assert.notEqual(status.code, 0);
  assert.ok(stderr.includes(`${older} is shmpipe core ${core.shmp_version()} without the version node SHMPIPE_1.3 this binding calls into`), stderr);
  assert.ok(!stderr.includes("Failed to register symbol"), stderr); // refused by the check, not by Deno's binding of a missing call
});

test("a table's columns stay readable after the table is closed and its name removed; the mapping goes once they are collected", async () => {
  const name = uniqueName("kept");
  const values = Float64Array.from({ length: 100_000 }, (_, i) => i * 0.5);
  const published = publish(name, tableFromArrays({ x: values }));
  let kept: Float64Array | null;
  try {
    kept = column(name); // openTable lets go of its own hold before it returns
    assert.equal(mappingsOf(name), 2); // the publisher's and the reader's
  } finally {
    published.close(); // unpublished: the name is gone, the publisher's mapping too
  }
  assert.equal(existsSync(shmPath(name)), false);
  await collect();
  assert.equal(mappingsOf(name), 1, "the column's view still holds the reader's mapping");
  assert.deepEqual(kept, values);
  kept = null;
  await collect();
  assert.equal(mappingsOf(name), 0, "the mapping outlived its last view");
});

test("a table is written through its segment's file under Deno too: none of its pages faulted in through the mapping", () => {
  const name = uniqueName("through-file");
  const rows = (16 << 20) / 8; // 16 MiB
  const values = new Float64Array(new ArrayBuffer(8 * (rows + 1)), 8, rows).map((_, i) => i * 0.5); // a view 8 bytes into its buffer
  const before = process.resourceUsage().minorPageFault;
  const published = publish(name, tableFromArrays({ x: values }));
  try {
    assert.ok(process.resourceUsage().minorPageFault - before < (16 << 20) / 4096 / 8, "through the mapping: a fault per 4 KiB page");
    assert.deepEqual(openTable(name).getChild("x")!.data[0]!.values, values);
  } finally {
    published.close();
  }
});

/** Column x of table `name`, and nothing else of it kept (a function of its own: no frame of the test holds the table). */
function column(name: string): Float64Array {
  return openTable(name).getChild("x")!.data[0]!.values as Float64Array;
}

/** Opens table `name` and reads a value, keeping nothing. */
function openAndDrop(name: string): void {
  assert.equal(openTable(name).getChild("n")!.get(999), 999);
}

/** Column x of table `name`, its buffer transferred (ArrayBuffer.prototype.transfer) to a new one. */
function transferredColumn(name: string): Float64Array {
  const values = column(name);
  const { byteOffset, length } = values;
  return new Float64Array((values.buffer as ArrayBuffer).transfer(), byteOffset, length);
}

test("a view's transfer() gives a copy: it reads the right values once the table and its mapping are gone (V8 would move the mapped memory)", async () => {
  const name = uniqueName("transfer");
  const values = Float64Array.from({ length: 50_000 }, (_, i) => i * 0.25);
  const published = publish(name, tableFromArrays({ x: values }));
  let moved: Float64Array;
  try {
    moved = transferredColumn(name);
  } finally {
    published.close();
  }
  await collect();
  assert.equal(mappingsOf(name), 0, "the transferred buffer holds no mapping");
  assert.deepEqual(moved, values); // a moved view would read unmapped memory here (SIGSEGV)
});

test("a transfer list that names a view of shared memory is refused (structuredClone, postMessage)", () => {
  const name = uniqueName("transfer-list");
  const published = publish(name, tableFromArrays({ x: Float64Array.of(1, 2, 3) }));
  try {
    const buffer = column(name).buffer as ArrayBuffer;
    assert.throws(() => structuredClone(buffer, { transfer: [buffer] }), /cannot be transferred.*send a copy/);
    const { port1, port2 } = new MessageChannel();
    assert.throws(() => port1.postMessage(buffer, [buffer]), /cannot be transferred/);
    port1.close();
    port2.close();
    assert.equal(buffer.detached, false);
    assert.equal(structuredClone(new Uint8Array(4), { transfer: [] }).length, 4); // everything else as before
  } finally {
    published.close();
  }
});

test("10,000 tables opened and dropped do not pile up mappings", async () => {
  const name = uniqueName("churn");
  const published = publish(name, tableFromArrays({ n: Int32Array.from({ length: 1000 }, (_, i) => i) }));
  try {
    let most = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1000; i++) openAndDrop(name);
      most = Math.max(most, mappingsOf(name));
      await collect();
    }
    await collect();
    assert.ok(most <= 1001, `at most one round's mappings at a time, saw ${most}`);
    assert.equal(mappingsOf(name), 1, "only the publisher's mapping is left");
  } finally {
    published.close();
  }
});

test("an awaited recv() waits off the event loop: timers run meanwhile, and the record arrives", async () => {
  const name = uniqueName("async");
  const reader = createReader(name, { capacity: 1 << 16 });
  const writer = openWriter(name);
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const late = setTimeout(() => writer.send(new TextEncoder().encode("late")), 300);
    const message = await reader.recv({ timeoutMs: 5000 });
    clearInterval(timer);
    clearTimeout(late);
    assert.equal(new TextDecoder().decode(message!.bytes), "late");
    assert.ok(ticks >= 10, `the event loop ran ${ticks} ticks during a 300 ms wait`);
    // The async iterator too, to the end of the stream.
    setTimeout(() => {
      writer.send(new Uint8Array([1]));
      writer.close();
    }, 50);
    const seen: number[] = [];
    for await (const m of reader) seen.push(m.bytes[0]!);
    assert.deepEqual(seen, [1]);
  } finally {
    reader.close();
    writer.close();
  }
});

test("close() during an awaited recv() ends the wait: the recv resolves to null", async () => {
  const name = uniqueName("close-wait");
  const reader = createReader(name, { capacity: 1 << 16 });
  const writer = openWriter(name);
  try {
    const pending = reader.recv({ timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const start = performance.now();
    reader.close();
    assert.equal(await pending, null);
    assert.ok(performance.now() - start < 100);
  } finally {
    reader.close();
    writer.close();
  }
});

for (const mode of ["recv", "send", "async"]) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} ends a Deno creator waiting in ${mode} within 100 ms and removes its name`, async () => {
      const name = uniqueName(`${mode}-${signal}`);
      const child = spawnDeno("test/fixtures/blocked-creator.ts", [mode, name]);
      await child.line((line) => line === "ready");
      await new Promise((resolve) => setTimeout(resolve, 50)); // well into the wait
      const start = performance.now();
      child.process.kill(signal);
      const status = await child.status;
      assert.ok(performance.now() - start < 100, `ended after ${performance.now() - start} ms`);
      assert.equal(status.signal, signal);
      assert.equal(existsSync(shmPath(name)), false);
    });
  }
}

test("a Deno program that handles SIGINT itself gets EINTR from the blocked call, then its listener runs", async () => {
  const name = uniqueName("handled");
  const child = spawnDeno("test/fixtures/blocked-creator.ts", ["recv", name, "handled-late"]);
  await child.line((line) => line === "ready");
  await new Promise((resolve) => setTimeout(resolve, 50));
  child.process.kill("SIGINT");
  assert.equal(await child.line((text) => text.startsWith("interrupted")), "interrupted: EINTR");
  assert.equal(await child.line((text) => text === "handler ran"), "handler ran");
  const status = await child.status;
  assert.equal(status.code, 0);
  assert.equal(existsSync(shmPath(name)), false);
});

export type { ShmpipeError };
