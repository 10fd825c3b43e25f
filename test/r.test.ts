// The R package with real processes: R writes data.frames that Python
// (pyarrow, the oracle), Go and TypeScript read; Go, Python and TypeScript
// write batches that R reads.
import { afterAll, expect, test } from "bun:test";
import { Bool, DateDay, Dictionary, Float64, Int8, Int32, Int64, Table, TimestampMicrosecond, Utf8, vectorFromArray } from "apache-arrow";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ArrowReader, ArrowWriter, createReader, openWriter, publish, shmPath } from "../lib/index.ts";
import { finished, goFixture, spawnGo, spawnPython, spawnR, uniqueName, waitForLine } from "./helpers.ts";

goFixture(); // built here, before any test's clock starts

/** test/fixtures/go/rtypes: arrow-go's writer of R's type matrix, built here too. */
const rtypesDir = mkdtempSync(join(tmpdir(), "shmpipe-rtypes-"));
afterAll(() => rmSync(rtypesDir, { recursive: true, force: true }));
const rtypes = join(rtypesDir, "rtypes");
const rtypesBuild = Bun.spawnSync(["go", "build", "-buildvcs=false", "-o", rtypes, "./test/fixtures/go/rtypes"], { cwd: new URL("..", import.meta.url).pathname, stdout: "pipe", stderr: "pipe" });
if (rtypesBuild.exitCode !== 0) throw new Error(`go build of test/fixtures/go/rtypes failed: ${rtypesBuild.stderr.toString()}`);

test("R → Python: pyarrow reads every column R wrote, NAs as nulls, value for value", async () => {
  const name = uniqueName("r-to-py");
  const python = spawnPython("arrow_to_json.py", [name]);
  await waitForLine(python, (line) => line === "ready");
  const r = spawnR("write_frames.R", [name]);
  expect((await finished(r)).trim()).toBe("written");
  const [first, second] = (await finished(python)).trim().split("\n").map((line) => JSON.parse(line));
  expect(first.schema).toEqual({
    price: ["double", { "shmpipe.r_na": "true" }],
    qty: ["int32", { "shmpipe.r_na": "true" }],
    ok: ["bool", {}],
    who: ["string", {}],
    symbol: ["dictionary<values=string, indices=int32, ordered=0>", {}],
    day: ["date32[day]", {}],
    at: ["timestamp[us, tz=Europe/Zurich]", {}],
  });
  expect(first.rows).toEqual([
    { price: 1.5, qty: 10, ok: true, who: "alpha", symbol: "MSFT", day: "2024-01-02", at: "1970-01-01 01:00:00+01:00" },
    { price: null, qty: null, ok: null, who: null, symbol: "AAPL", day: null, at: "1970-01-01 01:00:01.500000+01:00" },
    { price: -3.25, qty: 30, ok: false, who: "gamma é", symbol: null, day: "1969-12-31", at: null },
  ]);
  expect(second.rows.map((row: { price: number }) => row.price)).toEqual([-3.25, 1.5]);
});

const EXPECTED_FROM_OTHERS = [
  "price|numeric|TRUE|1.5,NA,-3.25",
  "qty|integer|TRUE|10,NA,30",
  "small|integer|FALSE|-1,2,NA",
  "big|integer64|FALSE|",
  "ok|logical|FALSE|TRUE,NA,FALSE",
  "who|character|FALSE|alpha,NA,gamma é",
  "symbol|factor|FALSE|MSFT,AAPL,NA",
  "day|Date|FALSE|2024-01-02,NA,1969-12-31",
  "at|POSIXct|FALSE|0.0,1.5,NA",
];

/** The lines the R reader printed for one batch, big's values left out (integer64 prints differently without bit64 loaded). */
function columnsOf(output: string): string[] {
  return output.trim().split("\n").filter((line) => line !== "--").map((line) => (line.startsWith("big|") ? line.replace(/\|[^|]*$/, "|") : line));
}

test("Python → R: every column type, nulls as NA; doubles and integers are views of shared memory", async () => {
  const name = uniqueName("py-to-r");
  const r = spawnR("read_frames.R", [name]);
  await waitForLine(r, (line) => line === "ready");
  await finished(spawnPython("frames_send.py", [name]));
  expect(columnsOf(await finished(r))).toEqual(EXPECTED_FROM_OTHERS);
});

test("Go → R: arrow-go's batch read as R vectors", async () => {
  const name = uniqueName("go-to-r");
  const r = spawnR("read_frames.R", [name]);
  await waitForLine(r, (line) => line === "ready");
  await finished(spawnGo(["frames-send", name]));
  expect(columnsOf(await finished(r))).toEqual(EXPECTED_FROM_OTHERS);
});

test("R → Go: arrow-go reads every column R wrote, NAs as nulls", async () => {
  const name = uniqueName("r-to-go");
  const go = spawnGo(["frames-dump", name]);
  await waitForLine(go, (line) => line === "ready");
  expect((await finished(spawnR("write_frames.R", [name]))).trim()).toBe("written");
  const [first, second] = (await finished(go)).trim().split("\n--").map((batch) => batch.trim().split("\n"));
  const text = first!.join("\n");
  for (const field of ["price: type=float64, nullable\n       metadata: [\"shmpipe.r_na\": \"true\"]", "qty: type=int32, nullable\n     metadata: [\"shmpipe.r_na\": \"true\"]",
    "ok: type=bool, nullable", "who: type=utf8, nullable", "symbol: type=dictionary<values=utf8, indices=int32, ordered=false>, nullable",
    "day: type=date32, nullable", "at: type=timestamp[us, tz=Europe/Zurich], nullable"]) {
    expect(text).toContain(field);
  }
  const rows = (lines: string[]) => lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  expect(rows(first!)).toEqual([
    { price: 1.5, qty: 10, ok: true, who: "alpha", symbol: "MSFT", day: "2024-01-02", at: "1970-01-01T01:00:00+01:00" },
    { price: null, qty: null, ok: null, who: null, symbol: "AAPL", day: null, at: "1970-01-01T01:00:01.5+01:00" },
    { price: -3.25, qty: 30, ok: false, who: "gamma é", symbol: null, day: "1969-12-31", at: null },
  ]);
  expect(rows(second!).map((row) => row.price)).toEqual([-3.25, 1.5]);
});

test("R → TypeScript: apache-arrow reads every column R wrote, NAs as nulls", async () => {
  const name = uniqueName("r-to-ts");
  using reader = new ArrowReader(createReader(name, { capacity: 1 << 20 }));
  const r = spawnR("write_frames.R", [name]);
  const batches = [];
  for await (const batch of reader) batches.push(batch.toArray().map((row) => row.toJSON()));
  expect((await finished(r)).trim()).toBe("written");
  expect(batches[0]!.map((row) => [row.price, row.qty, row.ok, row.who, row.symbol, row.day])).toEqual([
    [1.5, 10, true, "alpha", "MSFT", Date.UTC(2024, 0, 2)],
    [null, null, null, null, "AAPL", null],
    [-3.25, 30, false, "gamma é", null, Date.UTC(1969, 11, 31)],
  ]);
  expect(batches[1]!.map((row) => row.price)).toEqual([-3.25, 1.5]);
});

/** A table with every column type R reads, as apache-arrow builds it. */
function everyType(): Table {
  const type = new Dictionary(new Utf8(), new Int32());
  return new Table({
    price: vectorFromArray([1.5, null, -3.25], new Float64()),
    qty: vectorFromArray([10, null, 30], new Int32()),
    small: vectorFromArray([-1, 2, null], new Int8()),
    big: vectorFromArray([2n ** 40n, null, -5n], new Int64()),
    ok: vectorFromArray([true, null, false], new Bool()),
    who: vectorFromArray(["alpha", null, "gamma é"], new Utf8()),
    symbol: vectorFromArray(["MSFT", "AAPL", null], type),
    day: vectorFromArray([new Date(Date.UTC(2024, 0, 2)), null, new Date(Date.UTC(1969, 11, 31))], new DateDay()),
    at: vectorFromArray([0, 1500, null], new TimestampMicrosecond("UTC")),
  });
}

test("TypeScript → R: apache-arrow's batch read as R vectors", async () => {
  const name = uniqueName("ts-to-r");
  const r = spawnR("read_frames.R", [name]);
  await waitForLine(r, (line) => line === "ready");
  using writer = new ArrowWriter(openWriter(name, { waitMs: 10_000 }));
  writer.write(everyType());
  writer.close();
  expect(columnsOf(await finished(r))).toEqual(EXPECTED_FROM_OTHERS);
});

test("TypeScript → R: a published table opens in R with its numeric columns in place", async () => {
  const name = uniqueName("ts-table-to-r");
  using _table = publish(name, everyType());
  const [columns, serialized] = (await finished(spawnR("open_table.R", [name]))).split("--\n");
  // A table's strings are made on access, so they view the table too.
  expect(columnsOf(columns!)).toEqual(EXPECTED_FROM_OTHERS.map((line) => line.replace("who|character|FALSE", "who|character|TRUE")));
  expect(serialized).toMatch(/^serialized \d+/);
});

test("R → Python: a table R published opens in pyarrow; the name goes when R's session ends", async () => {
  const name = uniqueName("r-table-to-py");
  const done = join(mkdtempSync(join(tmpdir(), "shmpipe-r-")), "done");
  const r = spawnR("publish_table.R", [name, done]);
  await waitForLine(r, (line) => line === "published");
  expect(JSON.parse(await finished(spawnPython("table_reader.py", [name])))).toEqual({ rows: 1000, sum: 500500 });
  writeFileSync(done, "");
  await finished(r);
  rmSync(dirname(done), { recursive: true });
  expect(existsSync(shmPath(name))).toBe(false);
});

for (const signal of ["SIGTERM", "SIGHUP"] as const) {
  test(`R killed by ${signal} removes the names it created (a channel and a table)`, async () => {
    const channel = uniqueName("r-owned"), table = uniqueName("r-owned-table");
    const r = spawnR("owner.R", [channel, table]);
    await waitForLine(r, (line) => line === "ready");
    expect(existsSync(shmPath(channel)) && existsSync(shmPath(table))).toBe(true);
    r.kill(signal);
    await r.exited;
    expect(r.signalCode).toBe(signal); // the signal took its course
    expect([existsSync(shmPath(channel)), existsSync(shmPath(table))]).toEqual([false, false]);
  });
}

test("Ctrl-C ends R's wait for a batch at once, and the reader goes on working", async () => {
  const name = uniqueName("r-interrupt");
  const r = spawnR("interrupted.R", [name]);
  await waitForLine(r, (line) => line === "ready");
  await Bun.sleep(300); // well inside the wait
  r.kill("SIGINT");
  const [outcome, next, left] = (await finished(r)).trim().split("\n");
  const seconds = Number(outcome!.match(/^interrupted after ([\d.]+) s$/)?.[1]);
  expect(seconds).toBeGreaterThanOrEqual(0.3);
  expect(seconds).toBeLessThan(1.3); // Ctrl-C is seen between the wait's 0.1 s slices
  expect(next!.trim()).toBe("ETIMEOUT");
  expect(left!.trim()).toBe("name left: FALSE");
});

test("a table of several batches: release_batch() of one leaves the others in place", async () => {
  const name = uniqueName("ts-batches-to-r");
  const x = (from: number) => vectorFromArray(Array.from({ length: 1000 }, (_, i) => from + i), new Float64());
  const table = new Table([new Table({ x: x(0) }).batches[0]!, new Table({ x: x(1000) }).batches[0]!]);
  using _published = publish(name, table);
  const lines = (await finished(spawnR("open_batches.R", [name]))).trim().split("\n");
  expect(lines).toEqual(["FALSE 499500", "TRUE 1499500"]);
});

test("Ctrl-C ends R's wait for a channel to be created", async () => {
  const r = spawnR("open_waiting.R", [uniqueName("r-never-created")]);
  await waitForLine(r, (line) => line === "ready");
  await Bun.sleep(400);
  r.kill("SIGINT");
  const seconds = Number((await finished(r)).trim().match(/^interrupted after ([\d.]+) s$/)?.[1]);
  expect(seconds).toBeGreaterThanOrEqual(0.3);
  expect(seconds).toBeLessThan(1.4);
});

for (const [label, slice] of [["whole", []], ["a slice (arrays with offsets)", ["1", "3"]]] as const) {
  test(`Go → R: every type of R's conversion table, as arrow-go writes it, ${label}`, async () => {
    const program = rtypes;
    const name = uniqueName("go-types-to-r");
    const rows = slice.length ? ["2", "4"] : ["1", "4"];
    const r = spawnR("read_types.R", [name, ...rows]);
    await waitForLine(r, (line) => line === "ready");
    const go = Bun.spawn([program, name, ...slice], { stdout: "pipe", stderr: "pipe" });
    if ((await go.exited) !== 0) {
      r.kill();
      await r.exited;
      throw new Error(`rtypes failed: ${await new Response(go.stderr).text()}`);
    }
    const lines = (await finished(r)).trim().split("\n").filter((line) => line !== "ready");
    expect(lines.filter((line) => !line.startsWith("ok "))).toEqual([]);
    expect(lines.length).toBe(slice.length ? 23 : 24); // a slice without list_view: arrow-go cannot write it sliced
  });
}
