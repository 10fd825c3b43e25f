// Publish-once tables: written once, opened in place by many processes at
// the same time, in TypeScript and Python.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { Dictionary, Int32, makeData, makeTable, makeVector, RecordBatch, Table, Utf8, vectorFromArray } from "apache-arrow";
import { createReader, openTable, publish, shmPath, stat, unlink, unpublish } from "../lib/index.ts";
import { rowsOf, sampleTables } from "./fixtures/arrow-tables.ts";
import { python as python3, pythonEnv } from "../scripts/python.ts";
import { errorOf, finished, inSegment, spawnFixture, spawnPython, uniqueName, waitForLine } from "./helpers.ts";


test("every sample table opens as published, viewing the segment in place", () => {
  for (const [label, table] of Object.entries(sampleTables())) {
    const name = uniqueName(`table-${label}`);
    using published = publish(name, table);
    expect(published.ownerPid).toBe(process.pid);
    const opened = openTable(name);
    expect([label, rowsOf(opened)]).toEqual([label, rowsOf(table)]);
    expect(opened.schema.fields.map(String)).toEqual(table.schema.fields.map(String));
  }
});

test("a table outlives its name: opened data stays readable after unpublish", () => {
  const name = uniqueName("outlive");
  const values = Float64Array.from({ length: 50_000 }, (_, i) => i / 2);
  const published = publish(name, makeTable({ value: values }));
  const opened = openTable(name);
  const column = opened.getChild("value")!.data[0]!.values as Float64Array;
  expect(inSegment(column, name)).toBe(true);
  published.unpublish();
  expect(existsSync(shmPath(name))).toBe(false);
  expect(column[49_999]).toBe(24_999.5);
  expect(() => openTable(name)).toThrow(/ENOENT/);
});

test("one published table, read at once by TypeScript and Python processes", async () => {
  const name = uniqueName("shared");
  const rows = 1_000_000;
  using published = publish(name, makeTable({ value: Float64Array.from({ length: rows }, (_, i) => i) }));
  const readers = [spawnFixture("table-reader.ts", [name]), spawnFixture("table-reader.ts", [name]), spawnPython("table_reader.py", [name]), spawnPython("table_reader.py", [name])];
  const results = await Promise.all(readers.map(async (child) => JSON.parse(await finished(child))));
  const sum = (rows * (rows - 1)) / 2;
  expect(results).toEqual([{ rows, sum }, { rows, sum }, { rows, sum }, { rows, sum }]);
  expect(published.byteLength).toBeGreaterThan(rows * 8);
});

/** Descriptors of this process open on the segment `name` (removed or not). */
function descriptorsOn(name: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(shmPath(name));
    } catch {
      return false; // closed since the listing
    }
  }).length;
}

test("a table is written through its segment's file: publishing faults none of its pages in through the mapping, and readers see every byte", () => {
  const name = uniqueName("through-file");
  const rows = (32 << 20) / 8 / 4; // 32 MiB in four columns
  const pages = (32 << 20) / 4096;
  // One column views its buffer 8 bytes in: the core is given the view's own start.
  const shifted = new Float64Array(new ArrayBuffer(8 * (rows + 1)), 8, rows).map((_, i) => -i);
  const table = new Table({ ...Object.fromEntries([1, 2, 3].map((k) => [`c${k}`, makeVector(Float64Array.from({ length: rows }, (_, i) => i * k))])), shifted: makeVector(shifted) });
  const before = process.resourceUsage().minorPageFault;
  using published = publish(name, table);
  const faults = process.resourceUsage().minorPageFault - before;
  expect(faults).toBeLessThan(pages / 8); // through the mapping: one per 4 KiB page, at least `pages`
  expect(descriptorsOn(name)).toBe(0); // the core closed the file when the table was sealed
  const opened = openTable(name);
  for (const k of [1, 2, 3]) expect((opened.getChild(`c${k}`)!.data[0]!.values as Float64Array)[rows - 1]).toBe((rows - 1) * k);
  expect(opened.getChild("shifted")!.data[0]!.values).toEqual(shifted);
  expect(published.byteLength).toBeGreaterThan(32 << 20);
});

test("a publish the core refuses after the segment was made leaves no name and no descriptor behind", () => {
  const name = uniqueName("refused");
  // A dictionary-encoded column without its dictionary: the core's check refuses the batch.
  const indices = makeData({ type: new Dictionary(new Utf8(), new Int32()), length: 70_000, data: new Int32Array(70_000) });
  (indices as { dictionary?: unknown }).dictionary = undefined;
  try {
    const refused = errorOf(() => publish(name, new RecordBatch({ label: indices })));
    expect([refused.code, refused.op]).toEqual(["EARROW", "publish"]);
    expect(refused.message).toMatch(/uses dictionary \d+, which has not arrived/);
    expect(existsSync(shmPath(name))).toBe(false);
    expect(descriptorsOn(name)).toBe(0);
  } finally {
    if (existsSync(shmPath(name))) unlink(name); // the test failed: leave nothing behind either way
  }
});

test("a table whose batches share a dictionary takes the bytes it is written in, the dictionary sent once", () => {
  const name = uniqueName("shared-dictionary");
  const first = new Table({ label: vectorFromArray(["red", "green", "red"], new Dictionary(new Utf8(), new Int32())) }).batches[0]!;
  const table = new Table([first, first.slice(1, 3)]);
  using published = publish(name, table);
  const { committedBytes, committedRecords } = stat(name);
  expect([published.byteLength, committedRecords]).toEqual([committedBytes, 4]); // schema, dictionary, two batches
  expect(openTable(name).batches.map((batch) => [...batch.getChild("label")!])).toEqual([["red", "green", "red"], ["green", "red"]]);
});

test("opening a channel as a table fails with ENOTREADY and says why", () => {
  const name = uniqueName("not-a-table");
  using reader = createReader(name, { capacity: 4096 });
  const error = errorOf(() => openTable(name, { readyTimeoutMs: 50 }));
  expect(error.code).toBe("ENOTREADY");
  expect(error.message).toMatch(/channel rather than a table/);
  expect(reader.closed).toBe(false);
});

test("a record batch publishes as a one-batch table", () => {
  const name = uniqueName("batch");
  const batch = makeTable({ value: Int32Array.of(1, 2, 3) }).batches[0]!;
  using _published = publish(name, batch);
  expect([...openTable(name).getChild("value")!]).toEqual([1, 2, 3]);
});

test("a table published to persist outlives its TypeScript publisher: Python opens it, the CLI unpublishes it", async () => {
  const name = uniqueName("persist-ts");
  const publisher = spawnFixture("table-publish.ts", [name]);
  expect((await finished(publisher)).trim()).toBe("published"); // and it exited
  try {
    expect(JSON.parse(await finished(spawnPython("table_reader.py", [name])))).toEqual({ rows: 10, sum: 45 });
    expect([...openTable(name).getChild("value")!]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    const cli = Bun.spawnSync([process.execPath, new URL("../scripts/shmpipe.ts", import.meta.url).pathname, "unpublish", name], { stderr: "pipe" });
    expect([cli.exitCode, cli.stderr.toString()]).toEqual([0, ""]);
  }
  expect(existsSync(shmPath(name))).toBe(false);
  expect(errorOf(() => openTable(name)).code).toBe("ENOENT");
});

test("a table Python published to persist opens in TypeScript after Python exited, until unpublished by name", async () => {
  const name = uniqueName("persist-py");
  expect((await finished(spawnPython("table_publish.py", [name, "persist"]))).trim()).toBe("published");
  try {
    const table = openTable(name);
    expect(table.numRows).toBe(40);
    expect(table.getChild("dictionary")!.get(5)).toBe("blue");
  } finally {
    unpublish(name);
  }
  expect(existsSync(shmPath(name))).toBe(false);
  expect(errorOf(() => unpublish(name)).code).toBe("ENOENT");
});

test("persistence is asked for: a table published without it goes with its publisher's close; unpublish refuses a channel", () => {
  const name = uniqueName("persist-here");
  const kept = publish(name, makeTable({ value: Int32Array.of(1, 2) }), { persist: true });
  expect(kept.persistent).toBe(true);
  kept.close(); // lets go here; the name stays
  expect(existsSync(shmPath(name))).toBe(true);
  expect([...openTable(name).getChild("value")!]).toEqual([1, 2]);
  const again = errorOf(() => publish(name, makeTable({ value: Int32Array.of(3) })));
  expect(again.code).toBe("EEXIST");
  expect(again.message).toMatch(/It is a persistent published table \(published by pid \d+\): unpublish it by name first/);
  unpublish(name);
  expect(existsSync(shmPath(name))).toBe(false);

  const gone = uniqueName("not-persist");
  publish(gone, makeTable({ value: Int32Array.of(1) })).close();
  expect(existsSync(shmPath(gone))).toBe(false);

  const channel = uniqueName("channel");
  using reader = createReader(channel, { capacity: 4096 });
  const refused = errorOf(() => unpublish(channel));
  expect([refused.code, refused.op]).toEqual(["EBADARG", "unpublish"]);
  expect(refused.message).toContain("It is a channel (or a table still being published), not a published table");
  expect(existsSync(shmPath(channel))).toBe(true);
});

test("a table name that is not published: the sentence is about a table, and suggests the name a typo away", () => {
  const name = uniqueName("features");
  const typo = name.replace("features", "featurs");
  using _published = publish(name, makeTable({ x: new Float64Array(4) }));
  const table = `No table by that name is published: publish it first, or check the name. Did you mean "${name}"?`;
  const opened = errorOf(() => openTable(typo));
  expect([opened.code, opened.op, opened.segment]).toEqual(["ENOENT", "open_table", typo]);
  expect(opened.message).toBe(`open_table on segment "${typo}" failed: No such file or directory [ENOENT]. ${table}`);
  const removed = errorOf(() => unpublish(typo));
  expect([removed.code, removed.op]).toEqual(["ENOENT", "unpublish"]);
  expect(removed.message).toContain(table);
  // Python's unpublish: the same sentence, from the same core call. (Its
  // open_table gets it once it opens with the core's OPEN_TABLE flag.)
  const python = Bun.spawnSync([python3(), "-c", `
import shmpipe, sys
try:
    shmpipe.unpublish(sys.argv[1])
except shmpipe.ShmpipeError as error:
    print(error)
`, typo], { env: pythonEnv(), stdout: "pipe", stderr: "pipe" });
  expect(python.exitCode, python.stderr.toString()).toBe(0);
  expect(python.stdout.toString().trim()).toBe(`unpublish on segment "${typo}" failed: No such file or directory [ENOENT]. ${table}`);
});
