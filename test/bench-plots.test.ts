// The benchmark's plots, drawn by `shmpipe bench --plot FILE` (a real CLI
// process) from a saved run: test/fixtures/bench-results.json, made-up
// figures in the format `--json`/`--write` save. The checks read what vega
// wrote into the SVG: axis titles and tick labels, legend entries, and the
// aria-label of each drawn point and min–max bar (its x, y and series).
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCli } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "shmpipe-plots-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function plot(results: string): Promise<{ code: number; stderr: string }> {
  const child = spawnCli(["bench", "--plot", results]);
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  return { code, stderr };
}

/** The text of every <text> element of an SVG (axis labels, titles, legend entries). */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
/** What the aria-labels of an SVG say, one per drawn mark. */
const labels = (svg: string) => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!);

test("--plot draws the hand-off, reader's work and one-way plots beside the results, from their cases", async () => {
  const results = join(dir, "results.json");
  copyFileSync(new URL("./fixtures/bench-results.json", import.meta.url).pathname, results);
  const { code, stderr } = await plot(results);
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining(`wrote ${join(dir, "one-way.svg")}`) });

  const handoff = readFileSync(join(dir, "handoff.svg"), "utf8");
  expect(handoff.slice(0, 300)).toMatch(/^<svg [^>]*><rect [^>]*fill="white"/); // readable on GitHub's dark theme too
  const handoffTexts = texts(handoff);
  for (const label of [
    "Arrow batch hand-off between two processes", "shmpipe: from the writer's commit", "every way: from before the sender copies or serialises", "batch size (bytes, log scale)", "time until usable (log scale)",
    "1 KiB", "1 MiB", "100 MiB", "1 GiB", "10 µs", "1 ms", "1 s",
    "shmpipe, commit → usable", "shmpipe, write → usable", "Arrow IPC over a Unix socket", "Arrow IPC over ZeroMQ", "Arrow IPC over TCP loopback", "JSON over HTTP", "CSV file written + parsed",
    "TS (Bun) → TS (Bun)", "TS (Bun) → Python", "Go → TS (Bun)", "Go → Python", "Deno → Deno",
  ]) expect(handoffTexts).toContain(label);
  const handoffMarks = labels(handoff);
  const point = (bytes: number, value: number, series: string, pair: string) =>
    `batch size (bytes, log scale): ${bytes}; time until usable (log scale): ${value}; series: ${series}; pair: ${pair}`;
  expect(handoffMarks).toContain(point(1 << 20, 45, "shmpipe, commit → usable", "Go → Python"));
  expect(handoffMarks).toContain(point(100 << 20, 90000, "Arrow IPC over a Unix socket", "Go → TS (Bun)"));
  expect(handoffMarks).toContain(point(1 << 20, 1600, "Arrow IPC over ZeroMQ", "Python → TS (Bun)"));
  expect(handoffMarks).toContain(point(1 << 20, 50, "shmpipe, commit → usable", "Python → Python"));
  // A run whose figure came out below 0 (Go stamps "commit" when Write returns): no bar below the point on a log axis.
  expect(handoffMarks).toContain(point(100 << 20, 250, "shmpipe, commit → usable", "Go → Python"));
  expect(handoffMarks).toContain("batch size (bytes, log scale): 104857600; time until usable (log scale): 250; max: 300; series: shmpipe, commit → usable");
  expect(handoffMarks).toContain(point(2 ** 30, 160, "shmpipe, commit → usable", "TS (Bun) → TS (Bun)"));
  // The min – max bar of a case that spread over its runs.
  expect(handoffMarks).toContain("batch size (bytes, log scale): 1024; time until usable (log scale): 30; max: 70; series: shmpipe, commit → usable");
  // Neither the idle-reader case nor the Go reader's memory growth is a point of a batch-size curve.
  expect(handoffMarks.filter((label) => label.includes(": 777777;") || label.includes(": 0.5;"))).toEqual([]);

  const reader = readFileSync(join(dir, "reader-work.svg"), "utf8");
  expect(texts(reader)).toEqual(expect.arrayContaining(["per batch (log scale)", "shmpipe TS (Bun): check + decode + views", "shmpipe Deno: check + decode + views", "pyarrow read_record_batch (decode only)"]));
  expect(labels(reader)).toContain("batch size (bytes, log scale): 1073741824; per batch (log scale): 5; series: shmpipe TS (Bun): check + decode + views");

  const oneWay = readFileSync(join(dir, "one-way.svg"), "utf8");
  expect(texts(oneWay)).toEqual(expect.arrayContaining([
    "record size (bytes, log scale)", "payload bandwidth (log scale)", "64 B", "1 MiB", "1,000 MiB/s",
    "C → C, a call per record", "C → C, batches of 256", "TS (Bun), a call per record", "TS (Bun), batches", "Go, a call per record", "Deno, a call per record", "C memcpy 1 MiB (in cache): 20,000 MiB/s",
  ]));
  // Bandwidth from records/s: 4,000,000 records of 64 B a second is 244.140625 MiB/s; the bar spans the runs' min and max.
  const oneWayMarks = labels(oneWay);
  expect(oneWayMarks).toContain("record size (bytes, log scale): 64; payload bandwidth (log scale): 244.140625; series: TS (Bun), a call per record");
  expect(oneWayMarks).toContain("record size (bytes, log scale): 64; payload bandwidth (log scale): 122.0703125; max: 305.17578125; series: TS (Bun), a call per record");
  expect(oneWayMarks.filter((label) => label.endsWith("series: Deno, a call per record") && !label.includes("max:")).length).toBeGreaterThanOrEqual(2);
  // Python's cases, a call per record and in batches: 1,048,576 records of 64 B a second is 64 MiB/s.
  expect(oneWayMarks).toContain("record size (bytes, log scale): 64; payload bandwidth (log scale): 64; series: Python, batches");
  expect(texts(oneWay)).toContain("Python, a call per record");
});

test("--plot leaves out a plot none of whose cases ran", async () => {
  const run = JSON.parse(readFileSync(new URL("./fixtures/bench-results.json", import.meta.url).pathname, "utf8"));
  run.results = run.results.filter((r: { case: string }) => r.case.includes("one way") || r.case.startsWith("C memcpy"));
  const sub = mkdtempSync(join(dir, "one-way-only-"));
  writeFileSync(join(sub, "results.json"), JSON.stringify(run));
  expect((await plot(join(sub, "results.json"))).code).toBe(0);
  expect([existsSync(join(sub, "one-way.svg")), existsSync(join(sub, "handoff.svg")), existsSync(join(sub, "reader-work.svg"))]).toEqual([true, false, false]);
});

test("--plot says what is wrong with a file that holds no results, or none of the plotted cases", async () => {
  const notResults = join(dir, "not-results.json");
  writeFileSync(notResults, JSON.stringify({ hello: 1 }));
  const wrong = await plot(notResults);
  expect(wrong.code).not.toBe(0);
  expect(wrong.stderr).toContain(`${notResults} holds no "results" list`);

  const unplotted = join(dir, "unplotted.json");
  writeFileSync(unplotted, JSON.stringify({ command: "x", date: "x", machine: "x", results: [{ case: "C futex ping-pong", value: 1, unit: "ns/round trip", runs: 1 }] }));
  const none = await plot(unplotted);
  expect(none.code).not.toBe(0);
  expect(none.stderr).toContain("has none of the cases the plots show");

  const missing = await plot(join(dir, "missing.json"));
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain(`cannot read the results ${join(dir, "missing.json")}`);
});
