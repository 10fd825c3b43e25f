// A Deno program exchanges bytes, Arrow batches and a published table with
// Bun and Python processes, values checked on the reading side. Every pair
// runs the same peer programs (test/peers/: peer.ts under Bun or Deno,
// peer.py) with the same command line, so a pair is a line of the table
// below, not a test of its own making: every writer × reader pair of the
// three runs through every scenario (27 runs, a few seconds).
import assert from "node:assert/strict";
import { unpublish } from "../../lib/index.ts";
import { assertNoLeftovers, deno, killAll, root, spawn, uniqueName } from "./helpers.ts";

const PEERS: Record<string, (role: string, name: string) => string[]> = {
  deno: (role, name) => [deno, "run", "-A", `${root}test/peers/peer.ts`, role, name],
  bun: (role, name) => [`${root}node_modules/.bin/bun`, `${root}test/peers/peer.ts`, role, name],
  python: (role, name) => [`${root}.venv/bin/python`, `${root}test/peers/peer.py`, role, name],
};
const python = { PYTHONPATH: `${root}ffi/python` };

const SCENARIOS = [
  { name: "bytes", write: "write-bytes", read: "read-bytes", expect: /^ok 200 records \d+ bytes$/ },
  { name: "arrow", write: "write-arrow", read: "read-arrow", expect: /^ok 3000 rows$/ },
  { name: "table", write: "publish", read: "open-table", expect: /^ok 3000 rows$/ },
];

const runtimes = Object.keys(PEERS);
const pairs = runtimes.flatMap((writer) => runtimes.map((reader) => [writer, reader] as const));

async function outputOf(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(argv, python);
  const lines: string[] = [];
  await child.line((line) => (lines.push(line), false)).catch(() => {});
  return { code: (await child.status).code, stdout: lines.join("\n"), stderr: await child.stderr };
}

for (const scenario of SCENARIOS) {
  for (const [writer, reader] of pairs) {
    Deno.test(`${scenario.name}: ${writer} → ${reader}`, async () => {
      const name = uniqueName(`${scenario.name}-${writer}-${reader}`);
      try {
        // Both at once: the reader makes the channel, the writer waits for it
        // (a table's reader waits for its name).
        const [wrote, read] = await Promise.all([outputOf(PEERS[writer]!(scenario.write, name)), outputOf(PEERS[reader]!(scenario.read, name))]);
        assert.equal(wrote.code, 0, `${writer} ${scenario.write}: ${wrote.stderr}`);
        assert.equal(read.code, 0, `${reader} ${scenario.read}: ${read.stderr}`);
        assert.match(read.stdout.split("\n").at(-1)!, scenario.expect);
      } finally {
        await killAll();
        if (scenario.name === "table") {
          try {
            unpublish(name);
          } catch { /* the reader removed it, as it should */ }
        }
      }
      assertNoLeftovers();
    });
  }
}
