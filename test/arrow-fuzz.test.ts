// Runs the C fuzzer of the Arrow message check (ffi/core/fuzz/fuzz_arrow.c, built
// with ASan and UBSan) on seed streams written by apache-arrow and pyarrow:
// any read out of bounds or undefined behaviour in the check fails it.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipcStreamOf, sampleTables } from "./fixtures/arrow-tables.ts";
import { python, pythonEnv } from "../scripts/python.ts";

const ffi = new URL("../ffi/", import.meta.url).pathname;
const core = join(ffi, "core");
const ROUNDS = 60_000;

/** Writes the Python sample tables as pyarrow IPC streams into argv[1]; prints their paths. */
const PYARROW_SEEDS = `
import sys, pyarrow as pa
from sample_tables import sample_tables
for label, table in sample_tables().items():
    if label == "long":
        continue
    path = f"{sys.argv[1]}/py-{label}.arrows"
    with pa.ipc.new_stream(path, table.schema) as stream:
        stream.write(table)
    print(path)
`;

test(`the Arrow message check survives ${ROUNDS} mutated messages under ASan`, async () => {
  const build = Bun.spawnSync(["make", "-s", "-C", core, "fuzz"], { stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-fuzz-"));
  try {
    const seeds: string[] = [];
    for (const [label, table] of Object.entries(sampleTables())) {
      if (label === "long") continue; // big seeds only slow the rounds down
      const path = join(dir, `ts-${label}.arrows`);
      await Bun.write(path, ipcStreamOf(table));
      seeds.push(path);
    }
    const pyarrowSeeds = Bun.spawnSync([python(), "-c", PYARROW_SEEDS, dir], {
      env: pythonEnv(join(ffi, "python/tests")),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(pyarrowSeeds.exitCode, pyarrowSeeds.stderr.toString()).toBe(0);
    seeds.push(...pyarrowSeeds.stdout.toString().trim().split("\n"));
    const run = Bun.spawnSync([join(core, "build/fuzz_arrow"), String(ROUNDS), ...seeds], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toMatch(/messages accepted as written/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
