// The README's first command runs this pipeline: TypeScript writes Arrow
// batches, a Python and a TypeScript consumer read them in place, and both
// answers must match the producer's.
import { expect, test } from "bun:test";

test("the demo pipeline runs end to end and both consumers agree with the producer", () => {
  const cli = new URL("../scripts/shmpipe.ts", import.meta.url).pathname;
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--batches", "6", "--rows", "20000"], { stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("Python     read 120,000 rows");
  expect(output).toContain("TypeScript read 120,000 rows");
  expect(output).toContain("both consumers agree with the producer: yes");
});

test("the byte-record demo still runs", () => {
  const cli = new URL("../scripts/shmpipe.ts", import.meta.url).pathname;
  const run = Bun.spawnSync([process.execPath, cli, "demo", "--bytes", "--records", "20000"], { stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toContain("received 20,000 records (0 out of order)");
});
