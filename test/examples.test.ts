// The examples, run as a user runs them, with real Go, R, Python and Bun
// processes: each must end well, print its checked answer, and leave
// nothing in /dev/shm.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { python, pythonEnv } from "../scripts/python.ts";

const root = new URL("..", import.meta.url).pathname;

/** Segments of pipeline runs (their names start with the pipeline's). */
const segmentsOf = (pipeline: string) => readdirSync("/dev/shm").filter((name) => name.startsWith(`shmpipe.${pipeline}-`));

test("the main example: Go -> R and Python -> TypeScript, answers checked against the producer's sums", () => {
  const out = mkdtempSync(join(tmpdir(), "shmpipe-market-"));
  try {
    const run = Bun.spawnSync([process.execPath, "examples/market/pipeline.ts", "--rows", "300000", "--out", out], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toContain("[producer] shmpipe-csv: 300,000 rows");
    expect(output).toMatch(/\[stats\] read \d+ batches, 300000 ticks/);
    expect(output).toContain(`${out}/ticks-300000.parquet (parquet)`);
    expect(output).toMatch(/^SYM19 +\d/m); // R's table, printed
    expect(output).toContain("check: R's ticks, mean prices and VWAPs for 20 symbols and Python's rows and price sum agree with the producer's own sums.");
    expect(segmentsOf("market")).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

test("the R parallel story: 4 PSOCK workers get a table by name, beside clusterExport of a copy", () => {
  const run = Bun.spawnSync([process.execPath, "examples/r-parallel/run.ts", "--gib", "0.0625"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("4 PSOCK workers sum a 64 MiB features table (16 columns x 524,288 rows); every answer checked");
  const row = (name: string) => output.split("\n").find((line) => line.startsWith(name))!.slice(38).trim().split(/ {2,}/);
  const [byName, copy] = row("bytes sent per worker").map((cell) => Number(cell.replaceAll(",", "")));
  expect(byName).toBeLessThan(4000); // names, not values
  expect(copy).toBeGreaterThan(64 * 2 ** 20);
  const [shared, copied] = row("workers' Pss growth").map((cell) => Number(cell.replace(/[, ]|MiB/g, "")));
  expect(shared).toBeLessThan(1.2 * 64); // about one copy among the four
  expect(copied).toBeGreaterThan(3.5 * 64); // a copy each
  expect(segmentsOf("r-parallel")).toEqual([]);
  expect(readdirSync("/dev/shm").filter((name) => name.startsWith("shmpipe.psock-"))).toEqual([]);
}, 120_000);

test("the Python pool story: 4 workers of a ProcessPoolExecutor and a multiprocessing.Pool get a table by name, beside pickling it", () => {
  const run = Bun.spawnSync([python(), "examples/python-pool/pool.py", "--mib", "64"], { cwd: root, env: pythonEnv(), stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("4 spawned Python workers sum a 64 MiB features table (16 columns x 524,288 rows); every answer checked");
  for (const pool of ["ProcessPoolExecutor", "multiprocessing.Pool"]) {
    const row = (name: string) => output.split("\n").find((line) => line.startsWith(`${pool}: ${name}`))!.slice(50).trim().split(/ {2,}/);
    const [byName, copy] = row("bytes pickled per worker").map((cell) => Number(cell.replaceAll(",", "")));
    expect(byName).toBeLessThan(1024); // a name, not values
    expect(copy).toBeGreaterThan(64 * 2 ** 20);
    const [shared, copied] = row("workers' Pss growth").map((cell) => Number(cell.replace(/[, ]|MiB/g, "")));
    expect(shared).toBeLessThan(1.2 * 64); // about one copy among the four
    expect(copied).toBeGreaterThan(3.5 * 64); // a copy each
  }
  expect(readdirSync("/dev/shm").filter((name) => name.startsWith("shmpipe.pool-"))).toEqual([]);
}, 120_000);

test("the template: Python writes, TypeScript sums in place", () => {
  const run = Bun.spawnSync([process.execPath, "examples/template/pipeline.ts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  // the sum of n² for n below 10⁶: (n-1)n(2n-1)/6
  expect(output).toContain(`[total] 1000000 rows, sum of squares ${(999_999n * 1_000_000n * 1_999_999n) / 6n}`);
  expect(output).toContain("[squares] wrote 10 batches");
  expect(segmentsOf("squares")).toEqual([]);
}, 60_000);

test("the template's handling of a failed stage: the sentence and status 1, no stack (here: no Python at VIRTUAL_ENV)", () => {
  const run = Bun.spawnSync([process.execPath, "examples/template/pipeline.ts"], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, VIRTUAL_ENV: "/nonexistent-venv" } });
  const stderr = run.stderr.toString();
  expect(run.exitCode, stderr).toBe(1);
  expect(stderr).toContain('pipeline squares: stage "squares" (python squares.py) could not be started');
  expect(stderr).toContain("its interpreter was /nonexistent-venv/bin/python (from the activated virtual environment, VIRTUAL_ENV): choose another with the python option");
  expect(stderr).not.toMatch(/^ +at /m);
  expect(stderr).not.toContain("lib/pipeline");
  expect(segmentsOf("squares")).toEqual([]);
}, 60_000);
