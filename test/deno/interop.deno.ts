// The conformance matrix: bytes, Arrow batches, a published table, a writer
// killed mid-stream and a reader killed mid-stream, from every writer to
// every reader of Deno, Bun, Python, Go and R (5 × 5 × 5 runs), values
// checked on the reading side. Every pair runs the same peer programs
// (test/peers/: peer.ts under Deno or Bun, peer.py, go/, peer.R) with the
// same command line, `peer ROLE NAME`, and the same data (scenarios.json),
// so a pair is a line of the table below, not a test of its own making.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { shmPath, unpublish } from "../../lib/index.ts";
import { assertNoLeftovers, type Child, deno, root, spawn, uniqueName } from "./helpers.ts";

// The Go peer is built once per run (go's cache makes a rebuild cheap).
const goPeer = join(mkdtempSync(join(tmpdir(), "shmpipe-peers-")), "peer");
const built = await new Deno.Command("go", { args: ["build", "-o", goPeer, "./test/peers/go"], cwd: root, stderr: "piped" }).output();
if (!built.success) throw new Error(`go build ./test/peers/go failed: ${new TextDecoder().decode(built.stderr)}`);
globalThis.addEventListener("unload", () => rmSync(dirname(goPeer), { recursive: true, force: true }));

const PEERS: Record<string, (role: string, name: string) => string[]> = {
  deno: (role, name) => [deno, "run", "-A", `${root}test/peers/peer.ts`, role, name],
  bun: (role, name) => [`${root}node_modules/.bin/bun`, `${root}test/peers/peer.ts`, role, name],
  python: (role, name) => [`${root}.venv/bin/python`, `${root}test/peers/peer.py`, role, name],
  go: (role, name) => [goPeer, role, name],
  r: (role, name) => ["Rscript", `${root}test/peers/peer.R`, role, name],
};
const env = { PYTHONPATH: `${root}ffi/python`, R_LIBS: `${root}.rlib` };

const SCENARIOS = [
  { name: "bytes", write: "write-bytes", read: "read-bytes", expect: /^ok 200 records \d+ bytes$/ },
  { name: "arrow", write: "write-arrow", read: "read-arrow", expect: /^ok 3000 rows$/ },
  { name: "table", write: "publish", read: "open-table", expect: /^ok 3000 rows$/ },
  // The writer is killed (SIGKILL) once it has sent everything: the reader
  // gets every record it committed, then EPEERGONE, not an end of stream.
  { name: "writer killed", write: "write-bytes-hang", read: "read-bytes-gone", expect: /^ok 200 records then EPEERGONE$/, killWriterAfter: "sent" },
  // The reader is killed once it read a few records: the writer, blocked on
  // the full ring, gets EPEERGONE instead of waiting for ever.
  { name: "reader killed", write: "write-bytes-until-gone", read: "read-bytes-hang", expect: /^ok EPEERGONE after \d+ records$/, killReaderAfter: "read" },
];

const runtimes = Object.keys(PEERS);
const pairs = runtimes.flatMap((writer) => runtimes.map((reader) => [writer, reader] as const));

/** Runs `argv` to its end; `killAfter`: SIGKILL it once it printed that line. */
async function outputOf(child: Child, killAfter?: string): Promise<{ code: number; signal: string | null; stdout: string; stderr: string }> {
  const lines: string[] = [];
  await child.line((line) => {
    lines.push(line);
    if (line === killAfter) child.process.kill("SIGKILL");
    return false;
  }).catch(() => {});
  const status = await child.status;
  return { code: status.code, signal: status.signal, stdout: lines.join("\n"), stderr: await child.stderr };
}

type Scenario = (typeof SCENARIOS)[number];

/** One writer × reader run of `scenario`; leaves no process and no name behind, also when it fails. */
async function runPair(scenario: Scenario, writer: string, reader: string): Promise<void> {
  const name = uniqueName(`${scenario.name.replaceAll(" ", "-")}-${writer}-${reader}`);
  // Both at once: the reader makes the channel, the writer waits for it
  // (a table's reader waits for its name).
  const children = [spawn(PEERS[writer]!(scenario.write, name), env), spawn(PEERS[reader]!(scenario.read, name), env)] as const;
  try {
    const [wrote, read] = await Promise.all([outputOf(children[0], scenario.killWriterAfter), outputOf(children[1], scenario.killReaderAfter)]);
    // The survivor reports; the killed one must have died by the kill.
    const [killed, survivor] = scenario.killReaderAfter ? [read, wrote] : [wrote, read];
    const [killedPeer, survivorPeer] = scenario.killReaderAfter ? [`${reader} ${scenario.read}`, `${writer} ${scenario.write}`] : [`${writer} ${scenario.write}`, `${reader} ${scenario.read}`];
    if (scenario.killWriterAfter || scenario.killReaderAfter) assert.equal(killed.signal, "SIGKILL", `${killedPeer}: ${killed.stderr}`);
    else assert.equal(killed.code, 0, `${killedPeer}: ${killed.stderr}`);
    assert.equal(survivor.code, 0, `${survivorPeer}: ${survivor.stderr}`);
    assert.match(survivor.stdout.split("\n").at(-1)!, scenario.expect);
  } finally {
    for (const child of children) {
      try {
        child.process.kill("SIGKILL");
      } catch { /* ended already */ }
      await child.status;
    }
    if (scenario.name === "table") {
      try {
        unpublish(name);
      } catch { /* the reader removed it, as it should */ }
    }
  }
  const left = existsSync(shmPath(name));
  if (left) Deno.removeSync(shmPath(name));
  assert.equal(left, false, `${shmPath(name)} was left behind`);
}

// The pairs of a scenario run CONCURRENCY at a time (the runs are mostly
// process start-up); each is a step of its own, named after the pair.
const CONCURRENCY = 3;
const quiet = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

for (const scenario of SCENARIOS) {
  Deno.test({
    name: scenario.name,
    ...quiet,
    async fn(t) {
      const queue = [...pairs];
      const next = async (): Promise<void> => {
        for (let pair = queue.shift(); pair; pair = queue.shift()) {
          const [writer, reader] = pair;
          await t.step({ name: `${writer} → ${reader}`, ...quiet, fn: () => runPair(scenario, writer, reader) });
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, next));
      assertNoLeftovers();
    },
  });
}
