// One writer, several readers in TypeScript, Python and Go processes: each
// reader sees every record; readers join and leave while the stream runs;
// a reader killed mid-stream stops holding the writer back; a reader that
// falls behind holds it back (the writer blocks, up to its timeout).
import { expect, test } from "bun:test";
import { createWriter, ShmpipeError } from "../lib/index.ts";
import { fill, sizes } from "./fixtures/records.ts";
import { finished, goFixture, spawnFixture, spawnGo, spawnPython, uniqueName, waitForLine } from "./helpers.ts";

const CAPACITY = 1 << 20;
const RECORDS = 100_000;
const SEED = 11;
goFixture(); // the Go reader, built before any test's clock starts

test(`${RECORDS} records reach 2 TypeScript, 2 Python and 2 Go readers intact, while others join, leave and die`, async () => {
  const name = uniqueName("fan-out");
  using writer = createWriter(name, { capacity: CAPACITY });
  const max = String(writer.maxRecordSize);
  const args = [name, String(RECORDS), String(SEED), max];
  const readers = [
    spawnFixture("stream-reader.ts", args),
    spawnFixture("stream-reader.ts", args),
    spawnPython("stream_reader.py", args),
    spawnPython("stream_reader.py", args),
    spawnGo(["fanout-reader", ...args]),
    spawnGo(["fanout-reader", ...args]),
  ];
  const leaver = spawnFixture("stream-reader.ts", [...args, "20000"]);
  const goLeaver = spawnGo(["fanout-reader", ...args, "30000"]);
  const victim = spawnFixture("stream-reader.ts", args);
  await Promise.all([...readers, leaver, goLeaver, victim].map((child) => waitForLine(child, (line) => line === "ready")));

  const nextSize = sizes(SEED, writer.maxRecordSize);
  const scratch = new Uint8Array(writer.maxRecordSize);
  let latecomer: ReturnType<typeof spawnFixture> | null = null;
  for (let seq = 0; seq < RECORDS; seq++) {
    const record = scratch.subarray(0, nextSize());
    fill(record, seq);
    writer.send(record, { timeoutMs: 30_000 });
    if (seq === 30_000) victim.kill("SIGKILL");
    // Joins mid-stream: it starts at the oldest record still unreleased, so
    // its own count starts there; it only has to see records in order.
    if (seq === 50_000) latecomer = spawnFixture("stream-reader.ts", [name, "join", "0", max, "1000"]);
  }
  writer.close();
  const results = await Promise.all(readers.map(async (child) => JSON.parse(await finished(child))));
  expect(results).toEqual(readers.map(() => ({ records: RECORDS, problems: [] })));
  expect(JSON.parse(await finished(leaver))).toEqual({ records: 20_000, problems: [] });
  expect(JSON.parse(await finished(goLeaver))).toEqual({ records: 30_000, problems: [] });
  await victim.exited;
  expect(victim.signalCode).toBe("SIGKILL");
  const late = JSON.parse((await finished(latecomer!)).trim().split("\n").at(-1)!); // after its "ready"
  expect(late.records).toBe(1000);
  expect(late.problems).toEqual([]);
  expect(late.first).toBeGreaterThan(40_000); // it joined mid-stream, behind the readers' low-water mark
});

test("a reader that falls behind holds the writer back until the writer's timeout", async () => {
  const name = uniqueName("slow");
  using writer = createWriter(name, { capacity: 64 * 1024 });
  const idle = spawnFixture("idle-reader.ts", [name]);
  const busy = spawnFixture("stream-reader.ts", [name, "0", "1", String(writer.maxRecordSize), "1000000"]);
  await Promise.all([idle, busy].map((child) => waitForLine(child, (line) => line === "ready")));
  const record = new Uint8Array(1000);
  let sent = 0;
  let failure: unknown = null;
  const started = performance.now();
  try {
    for (;;) {
      writer.send(record, { timeoutMs: 300 });
      sent++;
    }
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeInstanceOf(ShmpipeError);
  expect((failure as ShmpipeError).code).toBe("ETIMEOUT");
  // The ring (64 KiB) filled behind the idle reader, then the writer waited.
  expect(sent).toBe(Math.floor((64 * 1024) / (64 + 1024)));
  expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  idle.kill("SIGKILL");
  busy.kill("SIGKILL");
  await Promise.all([idle.exited, busy.exited]);
});

test("four readers of one 64 MiB batch share its memory: their Pss sums to about one copy", () => {
  const run = Bun.spawnSync([process.execPath, new URL("../scripts/bench/fanout-pss.ts", import.meta.url).pathname, String(64 << 20)], { stdout: "pipe", stderr: "pipe" });
  expect(run.exitCode, run.stderr.toString()).toBe(0);
  const result = JSON.parse(run.stdout.toString().trim().split("\n").at(-1)!);
  expect(result.rssEachMiB).toEqual([64, 64, 64, 64]); // each touched all of it...
  expect(result.value).toBeLessThan(64 * 1.5); // ...yet together they hold about one copy
});
