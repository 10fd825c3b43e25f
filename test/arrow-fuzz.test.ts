// Fuzzes the C core's Arrow message check (ffi/core/fuzz/fuzz_arrow.c) under
// ASan and UBSan: any read out of bounds or undefined behaviour fails it.
// - the gcc build mutates the messages of seed streams written by
//   apache-arrow and pyarrow (ffi/core/fuzz/seeds.ts), list views among them;
// - the corpus in the repository (ffi/core/fuzz/corpus, made from the same
//   seeds by ffi/core/fuzz/make-corpus.ts) must be accepted whole: its
//   streams reach the dictionary and record batch checks, bodies included;
// - the libFuzzer build (clang) runs for SECONDS over that corpus. A longer
//   run: make -C ffi/core fuzz-long SECONDS=600.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSeedStreams } from "../ffi/core/fuzz/seeds.ts";

const core = new URL("../ffi/core/", import.meta.url).pathname;
const corpus = join(core, "fuzz/corpus");
const ROUNDS = 200_000;
const SECONDS = 15;

function make(target: string): void {
  const build = Bun.spawnSync(["make", "-s", "-C", core, target], { stderr: "pipe" });
  expect(build.exitCode, `make ${target}: ${build.stderr}`).toBe(0);
}

function corpusFiles(): string[] {
  return readdirSync(corpus).map((file) => join(corpus, file));
}

test(`the Arrow message check survives ${ROUNDS} mutated messages under ASan`, async () => {
  make("fuzz");
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-fuzz-"));
  try {
    const seeds = await writeSeedStreams(dir);
    expect(seeds.some((path) => path.includes("list-views"))).toBe(true);
    const run = Bun.spawnSync([join(core, "build/fuzz_arrow"), String(ROUNDS), ...seeds], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output).toBe(0);
    expect(output).toMatch(/messages accepted as written/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test("the libFuzzer corpus is small, and every stream of it is accepted whole, record batches included", () => {
  make("fuzz");
  const files = corpusFiles();
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  expect(files.length).toBeGreaterThanOrEqual(10);
  expect(bytes).toBeLessThan(256 * 1024);
  expect(files.some((file) => file.endsWith("py-list-views"))).toBe(true);
  const run = Bun.spawnSync([join(core, "build/fuzz_arrow"), "--accept", ...files], { stdout: "pipe", stderr: "pipe" });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  const batches = Number(/(\d+) record batches/.exec(output)?.[1]);
  expect(batches).toBeGreaterThanOrEqual(files.length);
});

test(`libFuzzer runs the check for ${SECONDS} s over the corpus under ASan and UBSan`, () => {
  expect(
    Bun.which("clang"),
    "clang is not installed: the libFuzzer run needs clang and libFuzzer's runtime " +
      "(apt-get install -y clang libclang-rt-14-dev, which scripts/setup.sh does)",
  ).not.toBeNull();
  const build = Bun.spawnSync(["make", "-s", "-C", core, "libfuzzer"], { stderr: "pipe" });
  expect(
    build.exitCode,
    `make libfuzzer failed (is libFuzzer's runtime installed? apt-get install -y libclang-rt-14-dev): ${build.stderr}`,
  ).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-libfuzzer-"));
  try {
    const found = join(dir, "corpus"); // new inputs go here, never into the repository's corpus
    mkdirSync(found);
    const run = Bun.spawnSync(
      [join(core, "build/fuzz_arrow_libfuzzer"), `-max_total_time=${SECONDS}`, "-timeout=10", "-rss_limit_mb=2048",
        "-print_final_stats=1", `-artifact_prefix=${dir}/`, found, corpus],
      { stdout: "pipe", stderr: "pipe" },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.exitCode, output.slice(-6000)).toBe(0);
    // The edges the corpus alone covers: from no corpus libFuzzer reaches ~100 in
    // a minute (it cannot invent a schema); these streams reach the batch checks.
    const inited = Number(/INITED cov: (\d+)/.exec(output)?.[1]);
    const done = Number(/DONE\s+cov: (\d+)/.exec(output)?.[1]);
    expect(inited, output.slice(-3000)).toBeGreaterThanOrEqual(250);
    expect(done).toBeGreaterThanOrEqual(inited);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
