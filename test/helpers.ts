// Shared by the test files: unique channel names, real child processes
// that are always reaped, and the leftovers check run after every file.
import { readdirSync } from "node:fs";
import type { Subprocess } from "bun";
import { NAME_PREFIX } from "../lib/index.ts";

const bun = process.execPath;
let counter = 0;

/** A channel name no other test (or test run) uses. */
export function uniqueName(label: string): string {
  return `t${process.pid}-${++counter}-${label}`;
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

/** Children still running; killed so that a failing test leaves none behind. */
export function killStragglers(): number[] {
  const left = [...children].filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of left) child.kill("SIGKILL");
  return left.map((child) => child.pid);
}

/** Waits for a child and returns its stdout, failing with its stderr. */
export async function finished(child: Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`child ${child.pid} exited with ${code}: ${err}`);
  return out;
}

/** Reads lines from a child's stdout until one satisfies `match`. */
export async function waitForLine(child: Subprocess<"ignore", "pipe", "pipe">, match: (line: string) => boolean): Promise<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    const found = lines.find(match);
    if (found !== undefined) return found;
  }
  throw new Error(`child ${child.pid} ended without printing the expected line`);
}
