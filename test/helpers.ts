// Shared by the test files: unique channel names, real child processes
// that are always reaped, and the leftovers check run after every file.
import { expect } from "bun:test";
import { addressOf } from "../lib/ffi/bun.ts";
import { readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { NAME_PREFIX, shmPath, ShmpipeError } from "../lib/index.ts";
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

const pythonTests = new URL("../ffi/python/tests", import.meta.url).pathname;

/** Runs a Python fixture with the shmpipe package (from this checkout) importable. */
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

/** Children still running; killed so that a failing test leaves none behind. */
export function killStragglers(): number[] {
  const left = [...children].filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of left) child.kill("SIGKILL");
  return left.map((child) => child.pid);
}

type Child = Subprocess<"ignore", "pipe", "pipe">;

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
