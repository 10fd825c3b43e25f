// The C core as a product the bindings rely on: one library, checked at
// load, and the only place rules and sentences are written. (That only the
// adapters in lib/ffi touch a runtime's FFI: test/deno.test.ts.)
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { core } from "../lib/ffi/bun.ts";
import { DEFAULT_BATCH_RECORDS, DEFAULT_CAPACITY, DEFAULT_READY_TIMEOUT_MS, DEFAULT_SPIN, DEFAULT_TIMEOUT_MS } from "../lib/index.ts";

const root = new URL("..", import.meta.url).pathname;

function sources(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .map((entry) => join(root, dir, entry))
    .filter((path) => pattern.test(path) && !path.includes("node_modules") && statSync(path).isFile());
}

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
  expect(stderr).toContain(`${older} is shmpipe core ${String(core.shmp_version())} without the version node SHMPIPE_1.3 this binding calls into`);
  expect(stderr).toContain("rebuild the core (`make -C ffi/core`) or reinstall shmpipe, or point SHMPIPE_LIB at a newer core.");
  expect(stderr).not.toContain("not found"); // refused by the check, not by bun:ffi's binding of a missing call
});

test("the binding's defaults are the core's constants", () => {
  const ns = (name: string) => Number(core.shmp_constant(new TextEncoder().encode(`${name}\0`)));
  expect({ DEFAULT_SPIN, DEFAULT_BATCH_RECORDS, DEFAULT_TIMEOUT_MS, DEFAULT_READY_TIMEOUT_MS, DEFAULT_CAPACITY }).toEqual({
    DEFAULT_SPIN: ns("DEFAULT_SPIN"),
    DEFAULT_BATCH_RECORDS: ns("DEFAULT_BATCH_RECORDS"),
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
// second place to keep it right. Some by hand (their wording is what users
// meet most), and every fragment of a string literal in the core's sources
// long enough to be a sentence's (format directives split them).
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

function withoutComments(text: string): string {
  return text.replace(/\/\*[^]*?\*\//g, "").replace(/(^|[^:"'])\/\/[^\n]*/g, "$1");
}

function coreFragments(): string[] {
  const fragments = new Set<string>();
  for (const file of sources("ffi/core/src", /\.c$/)) {
    for (const [, literal] of withoutComments(readFileSync(file, "utf8")).matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) {
      for (const part of literal!.split(/%[-0-9.]*(?:ll|l|z|j|h)?[a-zA-Z]|\\n|\\"/)) {
        const fragment = part.replace(/^[\s.:;,]+|[\s.:;,]+$/g, "");
        if (fragment.length >= 24 && fragment.includes(" ")) fragments.add(fragment);
      }
    }
  }
  return [...fragments];
}

/**
 * Every binding's own sources, comments left out (a comment may quote the
 * core): TypeScript, Python, Go (not its tests, which check the core's
 * sentences, as test/ here does) and R (its R code and C glue, not the copy
 * of the core bundled into ffi/r/src/core/).
 */
function bindingSources(): { file: string; code: string }[] {
  const hashComments = (text: string) => text.replace(/(^|\s)#[^\n]*/g, "$1");
  return [
    ...sources("lib", /\.ts$/).map((file) => ({ file, code: withoutComments(readFileSync(file, "utf8")) })),
    ...sources("ffi/python/shmpipe", /\.py$/).map((file) => ({ file, code: hashComments(readFileSync(file, "utf8")) })),
    ...sources("ffi/go", /(?<!_test)\.go$/).map((file) => ({ file, code: withoutComments(readFileSync(file, "utf8")) })),
    ...sources("ffi/r/R", /\.R$/).map((file) => ({ file, code: hashComments(readFileSync(file, "utf8")) })),
    ...sources("ffi/r/src", /\.c$/).filter((file) => !file.includes("/ffi/r/src/core/")).map((file) => ({ file, code: withoutComments(readFileSync(file, "utf8")) })),
  ];
}

test("no binding keeps its own copy of the core's error sentences or codes", () => {
  const fragments = coreFragments();
  expect(fragments.length).toBeGreaterThan(50); // the scan of the core found its sentences
  const bindings = bindingSources();
  const scanned = (prefix: string) => bindings.some(({ file }) => relative(root, file).startsWith(prefix));
  expect(["lib/", "ffi/python/", "ffi/go/", "ffi/r/R/", "ffi/r/src/"].filter((prefix) => !scanned(prefix))).toEqual([]);
  const copies: string[] = [];
  for (const { file, code } of bindings) {
    for (const sentence of [...CORE_SENTENCES, ...fragments]) if (code.includes(sentence)) copies.push(`${relative(root, file)} holds "${sentence}"`);
    if (/-50\d\d\b/.test(code)) copies.push(`${relative(root, file)} holds a numeric error code`);
  }
  expect(copies).toEqual([]);
});
