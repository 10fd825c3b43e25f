// Shared by the Deno test files (run by `deno test`, wired into `npm test`
// by test/deno.test.ts): unique names, child processes that are always
// reaped, and the check that nothing is left in /dev/shm.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { NAME_PREFIX } from "../../lib/index.ts";

export const root = new URL("../..", import.meta.url).pathname;
export const deno = Deno.execPath();
let counter = 0;

/** A channel name no other test (or test run) uses. */
export function uniqueName(label: string): string {
  return `d${Deno.pid}-${++counter}-${label}`;
}

/** This process's names still in /dev/shm. */
export function leftovers(): string[] {
  const mine = `${NAME_PREFIX}d${Deno.pid}-`;
  return readdirSync("/dev/shm").filter((file) => file.startsWith(mine));
}

/** Fails if a test left a name of this process in /dev/shm (and removes it, so the next test starts clean). */
export function assertNoLeftovers(): void {
  const left = leftovers();
  for (const file of left) Deno.removeSync(`/dev/shm/${file}`);
  assert.deepEqual(left, []);
}

export interface Child {
  process: Deno.ChildProcess;
  /** Resolves with the first line of stdout that `match` accepts (rejects at end of output). */
  line(match: (line: string) => boolean): Promise<string>;
  status: Promise<Deno.CommandStatus>;
  stderr: Promise<string>;
}

const children = new Set<Deno.ChildProcess>();

/** Runs `argv` with stdout read line by line; killed by killAll() if still running. */
export function spawn(argv: string[], env: Record<string, string> = {}): Child {
  const process = new Deno.Command(argv[0]!, { args: argv.slice(1), env, cwd: root, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  children.add(process);
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let ended = false;
  async function next(): Promise<string | null> {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      if (ended) return null;
      const { value, done } = await lines.read();
      if (done) ended = true;
      else buffered += value;
    }
  }
  const stderr = new Response(process.stderr).text();
  const status = process.status.then((s) => {
    children.delete(process);
    return s;
  });
  return {
    process,
    status,
    stderr,
    async line(match) {
      for (;;) {
        const line = await next();
        if (line === null) throw new Error(`the child ended before the expected line; stderr: ${await stderr}`);
        if (match(line)) return line;
      }
    },
  };
}

/** A Deno child running `script` (a path under the repository) with every permission. */
export function spawnDeno(script: string, args: string[] = [], env: Record<string, string> = {}): Child {
  return spawn([deno, "run", "-A", `${root}${script}`, ...args], env);
}

/** Ends every child still running (after a failed test). */
export async function killAll(): Promise<void> {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone already */ }
    await child.status;
  }
}

/**
 * How many times this process maps `name`'s segment: the lines of
 * /proc/self/maps at file offset 0 (a reader's read-only records are a
 * second line of the same mapping; a removed name reads "(deleted)").
 */
export function mappingsOf(name: string): number {
  return Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((line) => line.replace(/ \(deleted\)$/, "").endsWith(`/dev/shm/${NAME_PREFIX}${name}`) && line.split(/\s+/)[2] === "00000000").length;
}

/** Runs the collector and lets FinalizationRegistry callbacks run (they are tasks of their own). */
export async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, "run with --v8-flags=--expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A Deno test that always reaps its children, then fails if it left a name in /dev/shm. */
export function test(name: string, body: () => void | Promise<void>): void {
  Deno.test(name, async () => {
    try {
      await body();
    } finally {
      await killAll();
    }
    assertNoLeftovers();
  });
}
