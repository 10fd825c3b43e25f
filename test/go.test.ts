// Go among the other languages, with real processes: Go receives what
// TypeScript and Python send and compares it, batch by batch, with arrow-go's
// own decoding of the same IPC bytes; Go sends its tables to Python (pyarrow
// the oracle) and to TypeScript (apache-arrow's decoding of arrow-go's IPC
// files the oracle); Go readers among TypeScript and Python ones on one
// channel; and the Go module used from a fresh module outside the repository.
// The Go side is test/fixtures/go/xlang, built once (helpers.ts goFixture).
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dictionary, Int32, Table, tableFromIPC, Utf8, vectorFromArray } from "apache-arrow";
import { ArrowReader, ArrowWriter, copyBatch, createReader, createWriter, openWriter, shmPath, unlink } from "../lib/index.ts";
import { ipcStreamOf, rowsOf, sampleTables, sentBatches } from "./fixtures/arrow-tables.ts";
import { finished, goFixture, spawnFixture, spawnGo, spawnPython, uniqueName, waitForLine } from "./helpers.ts";

const repository = new URL("..", import.meta.url).pathname;
goFixture(); // built here, before any test's clock starts

// What a test leaves behind when it fails half-way: a Go or Python receiver
// killed by the preload's clean-up cannot remove its channel itself.
const scratchDirs: string[] = [];
const channels: string[] = [];

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-go-oracle-"));
  scratchDirs.push(dir);
  return dir;
}

function channel(label: string): string {
  const name = uniqueName(label);
  channels.push(name);
  return name;
}

afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const name of channels.splice(0)) if (existsSync(shmPath(name))) unlink(name);
});

/** Writes `value` as JSON to a Go child's stdin and closes it (a child already gone is not an error here). */
function tell(child: ReturnType<typeof spawnGo>, value: unknown): void {
  try {
    child.stdin.write(JSON.stringify(value));
    child.stdin.end();
  } catch {
    // finished(child) reports why it ended
  }
}

function jsonLines(text: string): any[] {
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/** The tables test/fixtures/go/xlang/tables.go sends, in order, and their rows. */
const GO_ROWS: Record<string, number> = {
  primitives: 37, strings: 37, temporal: 37, decimals: 37, nested: 37, empty: 0, all_null: 37,
  sliced: 23, sliced_to_end: 26, batches: 38, long: 200_000, wide: 4, no_columns: 5,
};

/** Go's verdict on a table that arrived whole, equal, and read in place. */
const goSawEqual = (label: string, rows: number) => ({ label, rows, equal: true, schema_equal: true, in_place: true });

test("TypeScript → Go: every table equals arrow-go's decoding of apache-arrow's IPC bytes, read in place", async () => {
  const name = channel("ts-to-go");
  const dir = scratch();
  const go = spawnGo(["receive", name]);
  await waitForLine(go, (line) => line === "ready");
  // Every table of sampleTables(): arrow-go reads all of apache-arrow's types.
  const tables = Object.entries(sampleTables());
  for (const [label, table] of tables) writeFileSync(join(dir, `${label}.arrows`), ipcStreamOf(table));
  try {
    using writer = new ArrowWriter(openWriter(name));
    for (const [, table] of tables) writer.write(table, { timeoutMs: 10_000 });
  } finally {
    // The manifest, also after a failure: then Go gives its own account.
    tell(go, { dir, tables: tables.map(([label, table]) => [label, sentBatches(table)]) });
  }
  const batches = tables.reduce((sum, [, table]) => sum + sentBatches(table), 0);
  expect(jsonLines(await finished(go))).toEqual([
    ...tables.map(([label, table]) => goSawEqual(label, table.numRows)),
    { end: true, batches },
  ]);
}, 60_000);

test("Python → Go: every table equals arrow-go's decoding of pyarrow's own IPC stream, read in place", async () => {
  const name = channel("py-to-go");
  const dir = scratch();
  const go = spawnGo(["receive", name]);
  await waitForLine(go, (line) => line === "ready");
  const python = spawnPython("arrow_send.py", [name, dir]);
  let manifest: [string, number][] = [];
  try {
    manifest = JSON.parse(await finished(python));
  } finally {
    tell(go, { dir, tables: manifest });
  }
  expect(manifest.map(([label]) => label)).toEqual(["types", "sliced", "empty", "no_columns", "long", "wide"]);
  const rows = (label: string) => tableFromIPC(readFileSync(join(dir, `${label}.arrows`))).numRows;
  expect(jsonLines(await finished(go))).toEqual([
    ...manifest.map(([label]) => goSawEqual(label, rows(label))),
    { end: true, batches: manifest.reduce((sum, [, count]) => sum + count, 0) },
  ]);
}, 60_000);

test("Go → Python: pyarrow decodes every Go table exactly as it decodes arrow-go's IPC file, and validates it", async () => {
  const name = channel("go-to-py");
  const dir = scratch();
  // Go writes its IPC files and the manifest first, then waits for the channel.
  const go = spawnGo(["send", name, dir, "python"]);
  await waitForLine(go, (line) => line === "written");
  const python = spawnPython("arrow_receive.py", [name, join(dir, "manifest.json")]);
  const [sent, received] = await Promise.all([finished(go), finished(python)]);
  const manifest: [string, number][] = JSON.parse(sent);
  expect(manifest).toEqual(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).tables);
  const results = jsonLines(received.replace(/^ready\n/, ""));
  expect(results).toEqual([
    ...Object.entries(GO_ROWS).map(([label, rows]) => ({ label, rows, equal: true, schema_equal: true })),
    { end: true, schema_kept: true },
  ]);
  // The run-end encoded column (which apache-arrow cannot read) went to Python.
  expect(readFileSync(join(dir, "nested.arrows")).includes("run_end_encoded")).toBe(true);
}, 60_000);

test("Go → TypeScript: every column equals apache-arrow's decoding of arrow-go's own IPC stream", async () => {
  const name = channel("go-to-ts");
  const dir = scratch();
  using reader = new ArrowReader(createReader(name, { capacity: 64 << 20 }));
  const go = spawnGo(["send", name, dir, "typescript"]);
  const received: Table[] = [];
  try {
    for (let batch = await reader.read({ timeoutMs: 20_000 }); batch; batch = await reader.read({ timeoutMs: 20_000 })) {
      received.push(new Table(copyBatch(batch)));
    }
  } catch (error) {
    await finished(go); // fails with Go's own account, if it has one
    throw error;
  }
  const manifest: [string, number][] = JSON.parse((await finished(go)).trim().split("\n").at(-1)!);
  expect(manifest.map(([label]) => label)).toEqual(Object.keys(GO_ROWS));
  let next = 0;
  for (const [label, count] of manifest) {
    const expected = tableFromIPC(readFileSync(join(dir, `${label}.arrows`)));
    const got = new Table(received.slice(next, next + count).flatMap((t) => t.batches));
    next += count;
    expect([label, got.numRows, got.numCols]).toEqual([label, GO_ROWS[label]!, expected.numCols]);
    expect(expected.numRows).toBe(GO_ROWS[label]!);
    const typesOf = (t: Table) => t.schema.fields.map((field) => `${field.name}: ${field.type}`);
    expect([label, typesOf(got)]).toEqual([label, typesOf(expected)]);
    for (const field of expected.schema.fields) {
      const column = (t: Table) => rowsOf(new Table({ [field.name]: t.getChild(field.name)! }));
      expect([label, field.name, column(got)]).toEqual([label, field.name, column(expected)]);
    }
  }
  expect(next).toBe(received.length);
}, 60_000);

test("one TypeScript writer, Arrow readers in TypeScript, Python and Go: each sums every batch", async () => {
  const name = channel("arrow-fan-out");
  const BATCHES = 200;
  const ROWS = 5_000;
  using writer = new ArrowWriter(createWriter(name, { capacity: 4 << 20 }));
  const readers = [
    spawnFixture("arrow-sum-reader.ts", [name, "value"]),
    spawnPython("arrow_sum_reader.py", [name, "value"]),
    spawnGo(["arrow-sum-reader", name, "value"]),
    spawnGo(["arrow-sum-reader", name, "value"]),
  ];
  await Promise.all(readers.map((child) => waitForLine(child, (line) => line === "ready")));
  const labelType = new Dictionary(new Utf8(), new Int32());
  for (let b = 0; b < BATCHES; b++) {
    const seq = BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(b * ROWS + i));
    const value = Float64Array.from(seq, (s) => Number(s) * 0.25); // sums stay exact
    // A dictionary column too: each batch replaces the dictionary.
    const label = vectorFromArray(Array.from({ length: ROWS }, (_, i) => `row ${(b * ROWS + i) % 1000}`), labelType);
    try {
      writer.write(new Table({ seq: vectorFromArray(seq), value: vectorFromArray(value), label }), { timeoutMs: 30_000 });
    } catch (error) {
      // The readers' own accounts say more.
      expect(await Promise.allSettled(readers.map((child) => finished(child)))).toEqual([]);
      throw error;
    }
  }
  writer.close();
  const n = BATCHES * ROWS;
  const expected = { batches: BATCHES, rows: n, sum: ((n * (n - 1)) / 2) * 0.25 };
  const results = await Promise.allSettled(readers.map(async (child) => JSON.parse(await finished(child))));
  expect(results).toEqual(readers.map(() => ({ status: "fulfilled", value: expected })));
}, 60_000);

test("a fresh Go module outside the repository requires the Go package through a replace, builds and runs", async () => {
  const dir = scratch();
  writeFileSync(join(dir, "go.mod"), [
    "module example.com/fresh",
    "",
    "go 1.25",
    "",
    "require github.com/shmpipe/shmpipe v0.0.0",
    "",
    `replace github.com/shmpipe/shmpipe => ${repository.replace(/\/$/, "")}`,
    "",
  ].join("\n"));
  writeFileSync(join(dir, "main.go"), FRESH_MAIN);
  // As a user's machine does it: the modules `go mod tidy` wants (test-only
  // ones of arrow-go included) come from the module proxy when the cache
  // lacks them, with their sums from the checksum database behind it; the
  // core compiles by cgo. .ci/run starts with empty caches, so nothing an
  // earlier run left can hide a missing step.
  const env = { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ""} -mod=mod`.trim(), GOWORK: "off" };
  const go = async (...args: string[]) => {
    const child = Bun.spawn(["go", ...args], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code, `go ${args.join(" ")}\n${out}${err}`).toBe(0);
  };
  await go("mod", "tidy");
  await go("build", "-o", "fresh", ".");
  expect(readFileSync(join(dir, "go.mod"), "utf8")).toContain("github.com/apache/arrow-go/v18 v18.");
  const name = channel("fresh-go");
  const program = Bun.spawn([join(dir, "fresh"), name], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(program.stdout).text(), new Response(program.stderr).text(), program.exited]);
  expect(code, err).toBe(0);
  const version = JSON.parse(readFileSync(join(repository, "package.json"), "utf8")).version;
  // 0 + 1 + ... + 999, and the CRC-32 of "v0v1...v999", computed here.
  const text = Array.from({ length: 1000 }, (_, i) => `v${i}`).join("");
  expect(JSON.parse(out)).toEqual({ version, rows: 1000, sum: 499_500, crc32: Bun.hash.crc32(text), equal: true, eof: true });
}, 180_000);

// The fresh module's program: one process creates a channel, writes an
// Arrow batch into it and reads it back.
const FRESH_MAIN = `package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	shmpipe "github.com/shmpipe/shmpipe/ffi/go"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(name string) error {
	r, err := shmpipe.CreateReader(name, 1<<20)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := shmpipe.OpenWriter(name)
	if err != nil {
		return err
	}
	reader, err := shmpipe.NewArrowReader(r)
	if err != nil {
		return err
	}
	defer reader.Close()

	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < 1000; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("v%d", i))
	}
	sent := b.NewRecordBatch()
	defer sent.Release()
	ctx := context.Background()
	writer := shmpipe.NewArrowWriter(w)
	if err := writer.Write(ctx, sent); err != nil {
		return err
	}
	writer.Close()

	got, err := reader.Read(ctx)
	if err != nil {
		return err
	}
	defer got.Release()
	var sum int64
	for _, x := range got.Column(0).(*array.Int64).Int64Values() {
		sum += x
	}
	strings := got.Column(1).(*array.String)
	checksum := crc32.NewIEEE()
	for i := 0; i < strings.Len(); i++ {
		checksum.Write([]byte(strings.Value(i)))
	}
	_, end := reader.Read(ctx)
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"version": shmpipe.Version(), "rows": got.NumRows(), "sum": sum, "crc32": checksum.Sum32(),
		"equal": array.RecordEqual(got, sent), "eof": end == io.EOF,
	})
}
`;
