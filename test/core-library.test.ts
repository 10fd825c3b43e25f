// The C core as a product the bindings rely on: one library, checked at
// load, the only door to bun:ffi, and the only place rules and sentences
// are written.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { core } from "../lib/ffi/bun.ts";
import { DEFAULT_CAPACITY, DEFAULT_READY_TIMEOUT_MS, DEFAULT_SPIN, DEFAULT_TIMEOUT_MS } from "../lib/index.ts";

const root = new URL("..", import.meta.url).pathname;

function sources(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .map((entry) => join(root, dir, entry))
    .filter((path) => pattern.test(path) && !path.includes("node_modules") && statSync(path).isFile());
}

test("only lib/ffi/bun.ts imports bun:ffi", () => {
  const files = ["lib", "scripts", "examples", "test"].flatMap((dir) => sources(dir, /\.ts$/));
  const importers = files.filter((file) => /from\s+["']bun:ffi["']/.test(readFileSync(file, "utf8")));
  expect(importers.map((file) => relative(root, file))).toEqual(["lib/ffi/bun.ts"]);
});

test("a core built with another ABI is refused when the binding loads it", () => {
  const build = Bun.spawnSync(["make", "-s", "-C", join(root, "ffi/core"), "abi-test-lib"], { stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const other = join(root, "ffi/core/build/abi-test/libshmpipe.so");
  const run = Bun.spawnSync([process.execPath, "-e", `await import(${JSON.stringify(join(root, "lib/index.ts"))})`], {
    env: { ...process.env, SHMPIPE_LIB: other },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).not.toBe(0);
  expect(run.stderr.toString()).toContain(`${other} is shmpipe core ${String(core.shmp_version())} with ABI 99, but this binding needs ABI 1`);
});

test("a core older than the binding (without its newest version node) is refused when the binding loads it", () => {
  const build = Bun.spawnSync(["make", "-s", "-C", join(root, "ffi/core"), "old-abi-lib"], { stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  const older = join(root, "ffi/core/build/old-abi/libshmpipe.so");
  const run = Bun.spawnSync([process.execPath, "-e", `await import(${JSON.stringify(join(root, "lib/index.ts"))})`], {
    env: { ...process.env, SHMPIPE_LIB: older },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).not.toBe(0);
  const stderr = run.stderr.toString();
  expect(stderr).toContain(`${older} is shmpipe core ${String(core.shmp_version())} without the version node SHMPIPE_1.1 this binding calls into`);
  expect(stderr).toContain("rebuild the core (`make -C ffi/core`) or reinstall shmpipe, or point SHMPIPE_LIB at a newer core.");
  expect(stderr).not.toContain("not found"); // refused by the check, not by bun:ffi's binding of a missing call
});

test("the binding's defaults are the core's constants", () => {
  const ns = (name: string) => Number(core.shmp_constant(new TextEncoder().encode(`${name}\0`)));
  expect({ DEFAULT_SPIN, DEFAULT_TIMEOUT_MS, DEFAULT_READY_TIMEOUT_MS, DEFAULT_CAPACITY }).toEqual({
    DEFAULT_SPIN: ns("DEFAULT_SPIN"),
    DEFAULT_TIMEOUT_MS: ns("DEFAULT_TIMEOUT_NS") / 1e6,
    DEFAULT_READY_TIMEOUT_MS: ns("DEFAULT_READY_TIMEOUT_NS") / 1e6,
    DEFAULT_CAPACITY: ns("DEFAULT_CAPACITY"),
  });
  // And no copy of them is left in the binding's sources.
  for (const file of sources("lib", /\.ts$/)) {
    const text = readFileSync(file, "utf8");
    expect(/\?\? *(2000|2_000|30_?000|256)\b/.test(text), `${relative(root, file)} defaults to a number of its own`).toBe(false);
  }
});

test("the packages' versions are the core's version", () => {
  const version = String(core.shmp_version());
  expect(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version).toBe(version);
  expect(readFileSync(join(root, "ffi/python/pyproject.toml"), "utf8")).toContain(`version = "${version}"`);
});

// Sentences the core writes; a binding holding a copy of one would be a
// second place to keep it right.
const CORE_SENTENCES = [
  "start the side that creates it first",
  "1-200 characters of letters",
  "capacity must be",
  "does not fit: this channel carries at most",
  "already this channel's writer",
  "reader slots of this channel",
  "Could not reserve",
  "allow-other-owner",
  "still being published",
];

test("no binding keeps its own copy of the core's error sentences or codes", () => {
  const bindings = [...sources("lib", /\.ts$/), ...sources("ffi/python/shmpipe", /\.py$/)];
  for (const file of bindings) {
    const text = readFileSync(file, "utf8");
    for (const sentence of CORE_SENTENCES) expect(text.includes(sentence), `${relative(root, file)} holds "${sentence}"`).toBe(false);
    expect(/-50\d\d\b/.test(text), `${relative(root, file)} holds a numeric error code`).toBe(false);
  }
});
