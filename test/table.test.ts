// Publish-once tables: written once, opened in place by many processes at
// the same time, in TypeScript and Python.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { makeTable, Table } from "apache-arrow";
import { createReader, openTable, publish, shmPath } from "../lib/index.ts";
import { rowsOf, sampleTables } from "./fixtures/arrow-tables.ts";
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

test("a table Python published opens in TypeScript", async () => {
  const name = uniqueName("from-python");
  const python = spawnPython("table_publish.py", [name]);
  try {
    await waitForLine(python, (line) => line === "published");
    const table = openTable(name);
    expect(table.numRows).toBe(40);
    expect(table.getChild("i32")!.get(2)).toBe(200_000);
    expect(table.getChild("utf8")!.get(4)).toBe("é🙂xé🙂xé🙂xé🙂x");
    expect(table.getChild("dictionary")!.get(5)).toBe("blue");
  } finally {
    python.kill("SIGTERM");
    await python.exited;
  }
  expect(existsSync(shmPath(name))).toBe(false);
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
