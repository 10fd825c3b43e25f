// Peers that die: a writer SIGKILLed mid-record, a reader SIGKILLed while
// the writer waits for room. Real processes, real shared memory.
import { expect, test } from "bun:test";
import { createReader, createWriter, ShmpipeError } from "../lib/index.ts";
import { check, sizes } from "./fixtures/records.ts";
import { errorOf, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

test("a writer killed mid-record: every committed record intact, then EPEERGONE", async () => {
  for (let round = 0; round < 12; round++) {
    const name = uniqueName("killed");
    using reader = createReader(name, { capacity: 256 * 1024 });
    const writer = spawnFixture("killable-writer.ts", [name, String(round + 1)]);
    const nextSize = sizes(round + 1, 256 * 1024 - 64);
    let seq = 0;
    let failure: unknown = null;
    const reading = (async () => {
      try {
        for await (const message of reader.messages({ timeoutMs: 10_000 })) {
          const problem = check(message.bytes, seq, nextSize());
          if (problem) throw new Error(problem);
          seq++;
        }
      } catch (error) {
        failure = error;
      }
    })();
    await waitForLine(writer, (line) => line === "ready");
    await Bun.sleep(Math.random() * 30);
    writer.kill("SIGKILL");
    await reading;
    await writer.exited;
    expect(failure).toBeInstanceOf(ShmpipeError);
    expect((failure as ShmpipeError).code).toBe("EPEERGONE");
    expect((failure as ShmpipeError).segment).toBe(name);
    expect(seq).toBeGreaterThan(100);
  }
});

test("a writer waiting for room learns within a second that its reader died", async () => {
  const name = uniqueName("dead-reader");
  using writer = createWriter(name, { capacity: 4096 });
  const reader = spawnFixture("idle-reader.ts", [name]);
  await waitForLine(reader, (line) => line === "ready");
  writer.send(new Uint8Array(4000));
  reader.kill("SIGKILL");
  await reader.exited;
  const start = performance.now();
  let code = "";
  try {
    writer.send(new Uint8Array(100), { timeoutMs: 10_000 });
  } catch (error) {
    code = (error as ShmpipeError).code;
  }
  expect(code).toBe("EPEERGONE");
  expect(performance.now() - start).toBeLessThan(1000);
});

test("a writer that never waits learns within 200 ms that its reader was killed (SIGKILL, SIGTERM, SIGINT)", async () => {
  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT"] as const) {
    const name = uniqueName(`gone-${signal}`);
    using writer = createWriter(name, { capacity: 1 << 20 });
    const reader = spawnFixture("idle-reader.ts", [name]);
    await waitForLine(reader, (line) => line === "ready");
    writer.send("before");
    reader.kill(signal);
    await reader.exited;
    const start = performance.now();
    let code = "";
    while (!code && performance.now() - start < 2000) {
      try {
        writer.send("after"); // the ring has room: nothing waits
      } catch (error) {
        code = (error as ShmpipeError).code;
      }
      await Bun.sleep(1);
    }
    expect([signal, code]).toEqual([signal, signal === "SIGKILL" ? "EPEERGONE" : expect.stringMatching(/EPEERGONE|ECLOSED/)]);
    expect(performance.now() - start).toBeLessThan(200);
  }
});

test("a reader process that ends without closing its reader closes it all the same: the writer gets ECLOSED", async () => {
  const name = uniqueName("left");
  using writer = createWriter(name, { capacity: 1 << 20 });
  const reader = spawnFixture("idle-reader.ts", [name, "exit"]);
  await waitForLine(reader, (line) => line === "ready");
  expect(await reader.exited).toBe(0);
  expect(errorOf(() => writer.send("after")).code).toBe("ECLOSED");
});
