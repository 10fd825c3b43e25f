// Shared by the test files: unique channel names, real child processes
// that are always reaped, and the leftovers check run after every file.
import { afterAll, expect } from "bun:test";
import { addressOf } from "../lib/ffi/bun.ts";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createReader, NAME_PREFIX, openWriter, shmPath, ShmpipeError } from "../lib/index.ts";
import { python, pythonEnv } from "../scripts/python.ts";

const bun = process.execPath;
let counter = 0;

/** A channel name no other test (or test run) uses. */
export function uniqueName(label: string): string {
  return `t${process.pid}-${++counter}-${label}`;
}

/** The ShmpipeError `run` throws (failing the test if it throws nothing else). */
export function errorOf(run: () => unknown): ShmpipeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ShmpipeError);
    return error as ShmpipeError;
  }
  throw new Error("expected a ShmpipeError, nothing was thrown");
}

/** The ShmpipeError `promise` rejects with (failing the test if it resolves or rejects with anything else). */
export async function rejectionOf(promise: Promise<unknown>): Promise<ShmpipeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ShmpipeError);
    return error as ShmpipeError;
  }
  throw new Error("expected a ShmpipeError, the promise resolved");
}

/** A new channel with a reader (its creator) and a writer in this process, both closed when disposed. */
export function channelPair(prefix: string, capacity = 64 * 1024) {
  const name = uniqueName(prefix);
  const reader = createReader(name, { capacity });
  const writer = openWriter(name);
  return { name, reader, writer, [Symbol.dispose]: () => (writer.close(), reader.close()) };
}

/** True if `view` lies wholly in one of this process's mappings of a channel's segment. */
export function inSegment(view: NodeJS.TypedArray, name: string): boolean {
  const address = addressOf(view);
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.endsWith(shmPath(name))).some((line) => {
    const [start, end] = line.split(" ")[0]!.split("-").map((hex) => Number.parseInt(hex, 16));
    return address >= start! && address + view.byteLength <= end!;
  });
}

/** Segments this test process's names left in /dev/shm. */
export function leftoverSegments(): string[] {
  const mine = `${NAME_PREFIX}t${process.pid}-`;
  return readdirSync("/dev/shm").filter((entry) => entry.startsWith(mine));
}

const children = new Set<Subprocess>();

/** Runs a test fixture under bun as a real child process. */
export function spawnFixture(fixture: string, args: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const child = Bun.spawn([bun, new URL(`./fixtures/${fixture}`, import.meta.url).pathname, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

const cli = new URL("../scripts/shmpipe.ts", import.meta.url).pathname;

/** Runs the shmpipe command (scripts/shmpipe.ts) under bun as a real child process. */
export function spawnCli(args: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const child = Bun.spawn([bun, cli, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

const pythonTests = new URL("../ffi/python/tests", import.meta.url).pathname;

/** Runs a Python fixture with the shmpipe package (from this checkout) importable. */
/** Runs an R fixture (test/fixtures/r/) with Rscript and the project's R library (.rlib). */
export function spawnR(fixture: string, args: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const library = new URL("../.rlib", import.meta.url).pathname;
  const child = Bun.spawn(["Rscript", "--vanilla", new URL(`./fixtures/r/${fixture}`, import.meta.url).pathname, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, R_LIBS: library },
  });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

export function spawnPython(fixture: string, args: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const child = Bun.spawn([python(), new URL(`./fixtures/${fixture}`, import.meta.url).pathname, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: pythonEnv(pythonTests),
  });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

const repository = new URL("..", import.meta.url).pathname;
let goProgram: string | null = null;

/**
 * Builds the Go fixture program (test/fixtures/go/xlang, in the repository's
 * own module) into a temporary directory, removed after the test file. Call
 * it at the top of a test file that uses spawnGo: the build (seconds, or a
 * minute with an empty Go build cache) then runs before any test's clock.
 */
export function goFixture(): string {
  if (goProgram) return goProgram;
  const dir = mkdtempSync(join(tmpdir(), "shmpipe-go-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    goProgram = null;
  });
  const program = join(dir, "xlang");
  const build = Bun.spawnSync(["go", "build", "-buildvcs=false", "-o", program, "./test/fixtures/go/xlang"], { cwd: repository, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`go build of the Go fixture failed: ${build.stderr.toString()}`);
  return (goProgram = program);
}

/** Runs the Go fixture (see test/fixtures/go/xlang/main.go) with `args`; its stdin is a pipe. */
export function spawnGo(args: string[]): Subprocess<"pipe", "pipe", "pipe"> {
  if (!goProgram) throw new Error("call goFixture() at the top of the test file first");
  const child = Bun.spawn([goProgram, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

/** Children still running; killed so that a failing test leaves none behind. */
export function killStragglers(): number[] {
  const left = [...children].filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of left) child.kill("SIGKILL");
  return left.map((child) => child.pid);
}

type Child = Subprocess<"ignore" | "pipe", "pipe", "pipe">;

// One reader per child's stdout, shared by waitForLine() and finished(), so
// that output read while waiting for a line is not lost to the other.
type Output = { reader: ReadableStreamDefaultReader<Uint8Array>; text: string };
const outputs = new WeakMap<Child, Output>();
const decoder = new TextDecoder();

function outputOf(child: Child): Output {
  const known = outputs.get(child);
  if (known) return known;
  const output: Output = { reader: child.stdout.getReader() as unknown as Output["reader"], text: "" };
  outputs.set(child, output);
  return output;
}

/** Waits for a child and returns the stdout not yet consumed, failing with its stderr. */
export async function finished(child: Child): Promise<string> {
  const output = outputOf(child);
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  for (let chunk = await output.reader.read(); !chunk.done; chunk = await output.reader.read()) output.text += decoder.decode(chunk.value, { stream: true });
  if (code !== 0) throw new Error(`child ${child.pid} exited with ${code}: ${err}`);
  const text = output.text;
  output.text = "";
  return text;
}

/** Reads lines from a child's stdout until one satisfies `match`; the rest stays for later. */
export async function waitForLine(child: Child, match: (line: string) => boolean): Promise<string> {
  const output = outputOf(child);
  for (;;) {
    const lines = output.text.split("\n");
    const complete = lines.slice(0, -1);
    const index = complete.findIndex(match);
    if (index >= 0) {
      output.text = lines.slice(index + 1).join("\n");
      return complete[index]!;
    }
    const chunk = await output.reader.read();
    if (chunk.done) throw new Error(`child ${child.pid} ended without printing the expected line`);
    output.text += decoder.decode(chunk.value, { stream: true });
  }
}
