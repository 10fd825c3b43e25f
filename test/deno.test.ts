// The Deno suites (test/deno/*.deno.ts) as part of `bun test` and so of
// `npm test`: one `deno test` run of the Deno that package.json installs
// (npm's `deno` package), with every permission and the collector exposed
// (the lifetime tests force collections). The Deno files use Deno.test and
// node:assert/strict; this file only runs them and reports their output.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const deno = join(root, "node_modules/.bin/deno");

// Named *.deno.ts so that `bun test` does not take them for its own.
const suites = readdirSync(join(root, "test/deno")).filter((file) => file.endsWith(".deno.ts")).map((file) => `test/deno/${file}`);

test("the Deno suites pass under `deno test`", () => {
  expect(suites.length).toBeGreaterThanOrEqual(3); // library, lifetimes and waits, pipeline (the matrix is test/conformance.test.ts)
  const run = Bun.spawnSync([deno, "test", "-A", "--v8-flags=--expose-gc", ...suites], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${run.stdout.toString()}${run.stderr.toString()}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toMatch(/ok \| \d+ passed (\(\d+ steps\) )?\| 0 failed/);
}, 300_000);

test("`deno check` passes on lib/ (and the Deno tests), as tsc does under Bun's types", () => {
  const run = Bun.spawnSync([deno, "check", "lib/", ...suites, "test/conformance/peer.ts"], { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  expect(run.exitCode, `${run.stdout}${run.stderr}`).toBe(0);
}, 120_000);

// (scripts/bench/zmq-pull.ts binds libzmq, not the core: the benchmark's ZeroMQ reader under Bun.)
test("only the adapters touch a runtime's FFI, and everything else imports them through #ffi", () => {
  const files = new Bun.Glob("{lib,scripts,examples}/**/*.ts").scanSync(root);
  const offenders: string[] = [];
  const allowed = ["lib/ffi/bun.ts", "lib/ffi/deno.ts", "scripts/bench/zmq-pull.ts"];
  for (const file of files) {
    if (allowed.includes(file)) continue;
    const text = readFileSync(join(root, file), "utf8");
    if (/from\s+["']bun:ffi["']|Deno\.(dlopen|UnsafePointer)|ffi\/deno\.ts/.test(text)) offenders.push(file);
    if (file.startsWith("lib/") && /ffi\/bun\.ts/.test(text)) offenders.push(file);
  }
  expect(offenders).toEqual([]);
});
