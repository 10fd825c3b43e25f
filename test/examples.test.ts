// The examples, run as a user runs them, with real Go, R, Python and Bun
// processes: each must end well, print its checked answer, and leave
// nothing in /dev/shm.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
