// The README's first command, `npm run demo`, is `shmpipe demo`: the main
// example (test/examples.test.ts runs it directly too), through the command.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = new URL("../scripts/shmpipe.ts", import.meta.url).pathname;

test("shmpipe demo runs the main example and its check passes", () => {
  const out = mkdtempSync(join(tmpdir(), "shmpipe-demo-"));
  try {
    const run = Bun.spawnSync([process.execPath, cli, "demo", "--rows", "100000", "--out", out, "--quiet"], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toContain("check: R's ticks, mean prices and VWAPs for 20 symbols and Python's rows and price sum agree with the producer's own sums.");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

test("shmpipe demo --help describes the main example", () => {
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--help"], { stdout: "pipe", stderr: "pipe" });
  expect(run.exitCode).toBe(0);
  expect(run.stdout.toString()).toContain("usage: shmpipe demo [--rows N] [--out DIR] [--quiet]");
});

test("the byte-record demo still runs", () => {
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--bytes", "--records", "20000"], { stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("received 20,000 records (0 out of order)");
});

test("a wrong option to the demo is one line and the usage, exit status 2, no stack trace", () => {
  for (const args of [["--rows", "-5"], ["--rowz", "10"], ["extra"], ["--rows", "abc"]]) {
    const run = Bun.spawnSync([process.execPath, cli, "demo", ...args], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.toString().trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("usage: shmpipe demo [--rows N] [--out DIR] [--quiet]");
  }
});
