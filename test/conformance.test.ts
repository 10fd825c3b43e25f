// The conformance matrix: every writer × reader pair of runtimes through
// every scenario of test/conformance/scenarios.json. Each runtime has one
// peer program with the same command line (test/conformance/peer.*:
// `peer ROLE SCENARIO CHANNEL`); each reader prints one
// canonical JSON line, compared here with what the scenario says it must
// be. A pair that cannot work is an explained entry of `exceptions`, and
// still runs (see the table).
// (Model: iceoryx2's examples/cross-language-end-to-end-tests.)
import { afterAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shmPath, unlink } from "../lib/index.ts";
import { python, pythonEnv } from "../scripts/python.ts";
import { expectedTable, recordSizes, scenarios, tables, type Scenario } from "./conformance/scenarios.ts";
import { finished, uniqueName, waitForLine } from "./helpers.ts";

const here = (path: string) => new URL(`./conformance/${path}`, import.meta.url).pathname;
const repository = new URL("..", import.meta.url).pathname;

// SHMPIPE_CONFORMANCE=bun,go (say) runs the matrix of those runtimes only, while working on a peer.
const only = process.env.SHMPIPE_CONFORMANCE?.split(",");

// The Go peer, built once per run (seconds; a minute with an empty build cache) before any test's clock.
const goDir = mkdtempSync(join(tmpdir(), "shmpipe-conformance-"));
afterAll(() => rmSync(goDir, { recursive: true, force: true }));
if (!only || only.includes("go")) {
  const build = Bun.spawnSync(["go", "build", "-buildvcs=false", "-o", join(goDir, "peer"), "./test/conformance"], { cwd: repository, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`go build of the Go peer failed: ${build.stderr.toString()}`);
}

type Runtime = { command: string[]; env?: Record<string, string | undefined> };

/** The runtimes of the matrix: one more peer is one more entry. */
const allRuntimes: Record<string, Runtime> = {
  bun: { command: [process.execPath, here("peer.ts")] },
  // The same TypeScript peer under Deno (package.json installs npm's deno).
  deno: { command: [join(repository, "node_modules/.bin/deno"), "run", "-A", here("peer.ts")], env: { ...process.env, NO_COLOR: "1" } },
  python: { command: [python(), here("peer.py")], env: pythonEnv() },
  go: { command: [join(goDir, "peer")] },
  r: { command: ["Rscript", "--vanilla", here("peer.R")], env: { ...process.env, R_LIBS: new URL("../.rlib", import.meta.url).pathname } },
};

const runtimes = Object.fromEntries(Object.entries(allRuntimes).filter(([name]) => !only || only.includes(name)));

/**
 * THE exceptions: pairs or peers that cannot do a scenario as written, and
 * why. Every pair still runs. An entry with `expect` checks what that pair
 * does instead of the scenario's result (so that the day it works, the
 * test fails and the entry goes); one without runs the scenario's own
 * checks but names, in the test's title, how that peer's run differs.
 * ("*" matches every runtime.)
 */
type Exception = { writer: string; reader: string; scenario: string; why: string; expect?: (got: { writer?: any; readers: any[] }) => void };
const exceptions: Exception[] = [
  {
    writer: "r", reader: "*", scenario: "writer-killed",
    why: "R's binding has no claim/commit (send_bytes writes a whole record), so the R writer is killed between records, not holding a half-filled claim",
  },
];

function exceptionFor(writer: string, reader: string, scenario: string): Exception | undefined {
  const matches = (pattern: string, value: string) => pattern === "*" || pattern === value;
  return exceptions.find((e) => matches(e.writer, writer) && matches(e.reader, reader) && matches(e.scenario, scenario));
}

// At most this many pairs at once: 2 cores, R and Python take most of a second to start.
const PARALLEL = 3;
let running = 0;
const queue: (() => void)[] = [];
async function slot<T>(run: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    queue.shift()?.();
  }
}

type Peer = Subprocess<"pipe", "pipe", "pipe">;

// Runs not ended yet: a test that timed out leaves its run here, ended after the file.
const unfinished = new Set<Run>();
afterAll(async () => {
  await Promise.all([...unfinished].map((run) => run.end()));
});

/** One run of a scenario: its peers, killed and its name removed at the end whatever happened. */
class Run {
  readonly name: string;
  readonly peers: Peer[] = [];
  constructor(label: string) {
    this.name = uniqueName(label);
    unfinished.add(this);
  }
  spawn(runtime: string, role: string, scenario: string): Peer {
    const { command, env } = runtimes[runtime]!;
    const peer = Bun.spawn([...command, role, scenario, this.name], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: env ?? process.env });
    this.peers.push(peer);
    return peer;
  }
  async ready(peer: Peer, line = "ready"): Promise<void> {
    await waitForLine(peer, (text) => text === line).catch(async (error) => {
      throw new Error(`${error.message}: ${await new Response(peer.stderr).text()}`);
    });
  }
  go(peer: Peer): void {
    peer.stdin.write("go\n");
    peer.stdin.flush();
  }
  async result(peer: Peer): Promise<any> {
    const lines = (await finished(peer)).trim().split("\n");
    return JSON.parse(lines.at(-1)!);
  }
  async end(): Promise<void> {
    for (const peer of this.peers) if (peer.exitCode === null && peer.signalCode === null) peer.kill("SIGKILL");
    await Promise.all(this.peers.map((peer) => peer.exited));
    if (existsSync(shmPath(this.name))) unlink(this.name);
    unfinished.delete(this);
  }
}

const roles = (scenario: Scenario) =>
  scenario.kind === "table" || scenario.kind === "table-persistent" ? ["publish", "open-table"] : scenario.kind === "arrow" || scenario.kind === "late-join" ? ["write-arrow", "read-arrow"] : ["write-bytes", "read-bytes"];

/** Runs scenario `name` with `writer` and `reader`; returns what each side printed. */
async function runPair(name: string, writer: string, reader: string): Promise<{ writer?: any; readers: any[] }> {
  const scenario = scenarios[name]!;
  const [writeRole, readRole] = roles(scenario);
  const run = new Run(`${writer[0]}${reader[0]}`);
  try {
    // A scenario whose reader creates the channel starts the reader first (bytes and arrow kinds only).
    const creator = scenario.creator === "reader" ? run.spawn(reader, readRole!, name) : null;
    if (creator) await run.ready(creator);
    const w = run.spawn(writer, writeRole!, name);
    await run.ready(w);
    switch (scenario.kind) {
      case "table": {
        const opened = await run.result(run.spawn(reader, readRole!, name));
        run.go(w);
        const published = await run.result(w);
        return { writer: { ...published, gone: !existsSync(shmPath(run.name)) }, readers: [opened] };
      }
      case "table-persistent": {
        const published = await run.result(w); // the publisher has exited; its table stays
        const opened = await run.result(run.spawn(reader, readRole!, name));
        return { writer: { ...published, gone: !existsSync(shmPath(run.name)) }, readers: [opened] };
      }
      case "late-join": {
        const early = run.spawn(reader, readRole!, name);
        await run.ready(early);
        run.go(w);
        await run.ready(w, "half");
        const late = run.spawn(reader, readRole!, name);
        await run.ready(late);
        run.go(w);
        const [written, ...readers] = await Promise.all([w, early, late].map((peer) => run.result(peer)));
        return { writer: written, readers };
      }
      case "writer-killed": {
        const r = run.spawn(reader, readRole!, name);
        await run.ready(r);
        run.go(w);
        await run.ready(w, "half");
        w.kill("SIGKILL");
        await w.exited;
        return { writer: { killedBy: w.signalCode }, readers: [await run.result(r)] };
      }
      case "reader-killed": {
        const r = run.spawn(reader, readRole!, name);
        await run.ready(r);
        run.go(w);
        await Promise.all([run.ready(w, "half"), run.ready(r, "half")]);
        r.kill("SIGKILL");
        await r.exited;
        run.go(w);
        return { writer: await run.result(w), readers: [{ killedBy: r.signalCode }] };
      }
      default: {
        const r = creator ?? run.spawn(reader, readRole!, name);
        if (!creator) await run.ready(r);
        run.go(w);
        await run.ready(w, "half");
        run.go(w);
        const [written, read] = await Promise.all([run.result(w), run.result(r)]);
        return { writer: written, readers: [read] };
      }
    }
  } finally {
    await run.end();
  }
}

/** What the scenario says the pair must print. */
function expectations(name: string): { writer?: unknown; readers: unknown[]; sentBetween?: [number, number] } {
  const scenario = scenarios[name]!;
  switch (scenario.kind) {
    case "bytes": {
      const sizes = recordSizes(scenario.phases!);
      const bytes = { records: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), mismatches: 0, error: null };
      return { writer: { sent: sizes.length, error: null }, readers: [bytes] };
    }
    case "arrow": {
      const spec = tables[scenario.table!]!;
      return { writer: { sent: spec.batches.length, error: null }, readers: [expectedTable(spec)] };
    }
    case "late-join": {
      const rows = tables[scenario.table!]!.batches[0]!;
      const total = scenario.before! + scenario.after!;
      return {
        writer: { sent: total, error: null },
        readers: [
          { batches: total, first: 0, last: total * rows - 1, problems: 0, error: null },
          // The writer saw the join at its next batch and sent the schema and dictionary before it.
          { batches: scenario.after!, first: scenario.before! * rows, last: total * rows - 1, problems: 0, error: null },
        ],
      };
    }
    case "writer-killed": {
      const sizes = recordSizes(scenario.phases!);
      return { writer: { killedBy: "SIGKILL" }, readers: [{ records: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), mismatches: 0, error: "EPEERGONE" }] };
    }
    case "reader-killed": {
      // The writer sent the first phase and what fitted into the ring after it, not all.
      const [first, rest] = scenario.phases!;
      return { writer: { sent: "the first phase, not all", error: "EPEERGONE" }, readers: [{ killedBy: "SIGKILL" }], sentBetween: [first!.count, first!.count + rest!.count - 1] };
    }
    case "table": case "table-persistent": {
      const spec = tables[scenario.table!]!;
      // How a publisher splits the table into batches is its own affair (R publishes one).
      return { writer: { sent: expect.any(Number), error: null, gone: true }, readers: [{ ...expectedTable(spec), batches: expect.any(Array) }] };
    }
  }
}

const started = performance.now();
let pairs = 0;
afterAll(() => {
  const names = Object.keys(runtimes);
  console.log(`conformance: ${names.length} × ${names.length} runtimes × ${Object.keys(scenarios).length} scenarios = ${pairs} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

for (const name of Object.keys(scenarios)) {
  for (const writer of Object.keys(runtimes)) {
    for (const reader of Object.keys(runtimes)) {
      const exception = exceptionFor(writer, reader, name);
      const title = `${name}: ${writer} → ${reader}${exception ? ` (see exceptions: ${exception.why})` : ""}`;
      test.concurrent(title, async () => {
        const got = await slot(() => runPair(name, writer, reader));
        pairs++;
        if (exception?.expect) return exception.expect(got);
        const { sentBetween, ...expected } = expectations(name);
        if (sentBetween) {
          const sent = got.writer?.sent;
          got.writer = { ...got.writer, sent: sent >= sentBetween[0] && sent <= sentBetween[1] ? "the first phase, not all" : sent };
        }
        expect(got).toEqual(expected as never);
      }, 120_000);
    }
  }
}
