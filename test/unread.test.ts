// What a writer's close does with records nobody has read (no silent loss):
// the creator's close waits for a reader to come (which then reads every
// record, also after the name is gone), or throws EUNREAD naming what was
// lost; drain() waits until every reader has read everything; a writer
// left open at exit says on stderr what it lost.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createWriter, shmPath } from "../lib/index.ts";
import { errorOf, finished, spawnFixture, uniqueName, waitForLine } from "./helpers.ts";

test("a creator's close waits for a reader that comes late, which then reads every record after the name is gone", async () => {
  const name = uniqueName("linger");
  const writer = createWriter(name, { capacity: 4096 });
  for (const text of ["one", "two", "three"]) writer.send(text);
  const reader = spawnFixture("late-reader.ts", [name, "300"]); // opens 300 ms from now
  const start = performance.now();
  writer.close({ timeoutMs: 10_000 }); // returns once a reader holds the records
  expect(performance.now() - start).toBeGreaterThan(100);
  expect(existsSync(shmPath(name))).toBe(false);
  expect(JSON.parse((await finished(reader)).replace(/^attached\n/, ""))).toEqual(["one", "two", "three"]);
});

test("a creator's close that waits for a reader says once, on stderr, what it waits for and how long, as the wait starts", async () => {
  const name = uniqueName("notice");
  const writer = spawnFixture("lingering-writer.ts", [name]);
  await waitForLine(writer, (line) => line === "sent");
  const stderr = writer.stderr.getReader();
  let said = "";
  const started = performance.now();
  while (!said.includes("\n")) {
    const chunk = await stderr.read();
    if (chunk.done) break;
    said += new TextDecoder().decode(chunk.value);
  }
  expect(performance.now() - started).toBeLessThan(5000); // at the start of the 30 s wait, not at its end
  expect(said).toBe(`shmpipe: closing "${name}" waits up to 30 s for a reader: none has opened the channel, and its 3 records (384 bytes) go with its name if none comes\n`);
  const reader = spawnFixture("late-reader.ts", [name, "0"]);
  await waitForLine(writer, (line) => line === "closed");
  for (let chunk = await stderr.read(); !chunk.done; chunk = await stderr.read()) said += new TextDecoder().decode(chunk.value);
  expect(await writer.exited).toBe(0);
  expect(said.trim().split("\n")).toHaveLength(1); // once
  expect(JSON.parse((await finished(reader)).replace(/^attached\n/, ""))).toEqual(["one", "two", "three"]);
});

test("a creator's close with no reader ever throws EUNREAD, naming the records lost", () => {
  const name = uniqueName("unread");
  const writer = createWriter(name, { capacity: 4096 });
  for (const text of ["one", "two", "three"]) writer.send(text);
  const start = performance.now();
  const error = errorOf(() => writer.close({ timeoutMs: 100 }));
  expect(performance.now() - start).toBeGreaterThanOrEqual(100);
  expect([error.code, error.op, error.segment]).toEqual(["EUNREAD", "close", name]);
  expect(error.message).toContain("3 records (384 bytes) written to it were never read: no reader opened the channel before its creator closed it");
  expect(writer.closed).toBe(true);
  expect(existsSync(shmPath(name))).toBe(false);
  writer.close(); // once is enough
});

test("a creator that wrote nothing, or whose readers came, closes at once", async () => {
  const quiet = createWriter(uniqueName("quiet"), { capacity: 4096 });
  let start = performance.now();
  quiet.close();
  expect(performance.now() - start).toBeLessThan(50);

  const name = uniqueName("read");
  const writer = createWriter(name, { capacity: 4096 });
  const reader = spawnFixture("late-reader.ts", [name, "0"]);
  await waitForLine(reader, (line) => line === "attached");
  writer.send("seen");
  start = performance.now();
  writer.close();
  expect(performance.now() - start).toBeLessThan(50);
  expect(JSON.parse(await finished(reader))).toEqual(["seen"]);
});

test("drain() waits until every record was read, and says what is unread when it gives up", async () => {
  const name = uniqueName("drain");
  const writer = createWriter(name, { capacity: 4096 });
  for (const text of ["a", "b"]) writer.send(text);
  const early = errorOf(() => writer.drain({ timeoutMs: 50 }));
  expect(early.code).toBe("ETIMEOUT");
  expect(early.message).toContain("2 records (256 bytes) were still unread when the wait ended: no reader has opened the channel yet");
  const reader = spawnFixture("late-reader.ts", [name, "100"]);
  writer.drain({ timeoutMs: 10_000 });
  writer.send("c");
  writer.drain({ timeoutMs: 10_000 });
  writer.close();
  expect(JSON.parse((await finished(reader)).replace(/^attached\n/, ""))).toEqual(["a", "b", "c"]);
});

test("a creator left open at exit says on stderr what it lost", async () => {
  const name = uniqueName("exit");
  const child = spawnFixture("unread-writer.ts", [name]);
  await waitForLine(child, (line) => line === "sent");
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  expect(code).toBe(0);
  expect(stderr).toContain(`close on segment "${name}" failed: records written to the channel were never read [EUNREAD]. 2 records (256 bytes) written to it were never read`);
  expect(existsSync(shmPath(name))).toBe(false);
});
