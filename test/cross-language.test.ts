// TypeScript and Python processes hand each other Arrow batches through
// shared memory, with pyarrow as the independent oracle: Python compares
// what TypeScript sent with pyarrow's own decoding of the same IPC bytes,
// and TypeScript compares what Python sent, column by column, with
// apache-arrow's decoding of the IPC stream pyarrow wrote for it.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC, Table } from "apache-arrow";
import { ArrowReader, ArrowWriter, copyBatch, createReader, openWriter } from "../lib/index.ts";
import { ipcStreamOf, rowsOf, sampleTables, sentBatches } from "./fixtures/arrow-tables.ts";
import { finished, spawnPython, uniqueName, waitForLine } from "./helpers.ts";

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "shmpipe-oracle-"));
}

test("TypeScript → Python: pyarrow decodes every table exactly as it decodes the same IPC bytes", async () => {
  const name = uniqueName("ts-to-py");
  const dir = scratch();
  try {
    const tables = Object.entries(sampleTables());
    for (const [label, table] of tables) await Bun.write(join(dir, `${label}.arrows`), ipcStreamOf(table));
    const manifest = join(dir, "manifest.json");
    await Bun.write(manifest, JSON.stringify({ dir, tables: tables.map(([label, table]) => [label, sentBatches(table)]) }));
    const python = spawnPython("arrow_receive.py", [name, manifest]);
    await waitForLine(python, (line) => line === "ready");
    try {
      using writer = new ArrowWriter(openWriter(name));
      for (const [, table] of tables) writer.write(table);
    } catch (error) {
      await finished(python); // fails with Python's own account, if it has one
      throw error;
    }
    const results = (await finished(python)).trim().split("\n").map((line) => JSON.parse(line));
    expect(results).toEqual([
      ...tables.map(([label, table]) => ({ label, rows: table.numRows, equal: true, schema_equal: true })),
      // The last tables have no rows: no batch came for them, and the reader kept the last schema.
      { end: true, schema_kept: true },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Python → TypeScript: every column equals apache-arrow's decoding of pyarrow's own IPC stream", async () => {
  const name = uniqueName("py-to-ts");
  const dir = scratch();
  try {
    using reader = new ArrowReader(createReader(name, { capacity: 64 << 20 }));
    const python = spawnPython("arrow_send.py", [name, dir]);
    const received: Table[] = [];
    for (let batch = await reader.read({ timeoutMs: 30_000 }); batch; batch = await reader.read({ timeoutMs: 30_000 })) {
      received.push(new Table(copyBatch(batch)));
    }
    const manifest: [string, number][] = JSON.parse(await finished(python));
    let next = 0;
    for (const [label, count] of manifest) {
      const expected = tableFromIPC(readFileSync(join(dir, `${label}.arrows`)));
      const got = new Table(received.slice(next, next + count).flatMap((t) => t.batches));
      next += count;
      expect([label, got.numRows, got.numCols]).toEqual([label, expected.numRows, expected.numCols]);
      for (const field of expected.schema.fields) {
        const column = (t: Table) => rowsOf(new Table({ [field.name]: t.getChild(field.name)! }));
        expect([label, field.name, column(got)]).toEqual([label, field.name, column(expected)]);
      }
    }
    expect(next).toBe(received.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Python → TypeScript: a refused message (a delta for a dictionary never sent) never ends the stream", async () => {
  const name = uniqueName("delta-never-sent");
  using reader = new ArrowReader(createReader(name, { capacity: 1 << 16 }));
  await finished(spawnPython("delta_never_sent.py", [name]));
  const outcomes: string[] = [];
  for (;;) {
    try {
      const batch = reader.readSync({ timeoutMs: 2000 });
      if (batch === null) break;
      outcomes.push(JSON.stringify(batch.getChild("s")!.toArray()));
    } catch (error) {
      const refused = error as { code?: string; segment?: string };
      outcomes.push(`${refused.code} on ${refused.segment === name ? "the channel" : refused.segment}`);
    }
  }
  expect(outcomes).toEqual(["EARROW on the channel", '["a","b"]']);
});
