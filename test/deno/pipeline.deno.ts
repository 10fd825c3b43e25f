// The pipeline runner and the shmpipe command under Deno: a pipeline script
// run by `deno run -A` with Python, Deno, Bun and function stages; Ctrl-C of
// a Deno runner; `deno run -A scripts/shmpipe.ts ls` and `run`, and the
// installed launcher with SHMPIPE_RUNTIME=deno.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createWriter, shmPath } from "../../lib/index.ts";
import { deno, root, spawn, spawnDeno, test, uniqueName } from "./helpers.ts";


async function lines(child: ReturnType<typeof spawn>): Promise<{ code: number; signal: string | null; stdout: string[]; stderr: string }> {
  const stdout: string[] = [];
  await child.line((line) => (stdout.push(line), false)).catch(() => {});
  const status = await child.status;
  return { code: status.code, signal: status.signal, stdout, stderr: await child.stderr };
}

test("a pipeline script under `deno run -A`: a Python writer fanned out to Deno, Bun and function stages", async () => {
  const name = uniqueName("fan");
  const run = await lines(spawnDeno("test/deno/fixtures/pipeline.ts", ["fan-out", name, "5000"]));
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stdout.includes("[deno-counter] read 5000 records"), run.stdout.join("\n"));
  assert.ok(run.stdout.includes("[bun-counter] read 5000 records"), run.stdout.join("\n"));
  assert.ok(run.stdout.includes(`sum ${5000 * 5001 / 2} records 5000`), run.stdout.join("\n"));
  assert.ok(run.stdout.includes("stages py-writer:python:0 deno-counter:deno:0 bun-counter:bun:0 sum:fn:0"), run.stdout.join("\n"));
});

test("Ctrl-C to a pipeline runner under Deno stops its stages, says so in one line, exits 130", async () => {
  const name = uniqueName("endless");
  const child = spawnDeno("test/deno/fixtures/pipeline.ts", ["endless", name]);
  const pids: number[] = [];
  await child.line((line) => {
    const pid = /^\[\w+\] pid (\d+)$/.exec(line);
    if (pid) pids.push(Number(pid[1]));
    return line === "ready";
  });
  child.process.kill("SIGINT");
  const status = await child.status;
  assert.equal(status.code, 130);
  assert.match((await child.stderr).trim(), new RegExp(`^shmpipe: SIGINT: stopped pipeline ${name} \\(stages waiter, reader\\); removed its segment$`));
  for (const pid of pids) assert.throws(() => Deno.kill(pid, "SIGCONT"), "the stage is gone");
  assert.equal(existsSync(shmPath(`${name}-${child.process.pid}-numbers`)), false);
});

test("`deno run -A scripts/shmpipe.ts ls` lists a channel as `bun scripts/shmpipe.ts ls` does", async () => {
  const name = uniqueName("ls");
  const writer = createWriter(name, { capacity: 4096 });
  try {
    const underDeno = await lines(spawn([deno, "run", "-A", `${root}scripts/shmpipe.ts`, "ls"]));
    const underBun = await lines(spawn([`${root}node_modules/.bin/bun`, `${root}scripts/shmpipe.ts`, "ls"]));
    assert.equal(underDeno.code, 0, underDeno.stderr);
    const row = (output: string[]) => output.find((line) => line.startsWith(`${name} `));
    assert.ok(row(underDeno.stdout), underDeno.stdout.join("\n"));
    assert.equal(row(underDeno.stdout), row(underBun.stdout));
    assert.equal(underDeno.stdout[0], underBun.stdout[0]); // the header
  } finally {
    writer.close();
  }
});

test("`shmpipe run` under Deno runs the script with Deno, passing its arguments and exit status", async () => {
  const run = await lines(spawn([deno, "run", "-A", `${root}scripts/shmpipe.ts`, "run", `${root}test/deno/fixtures/which-runtime.ts`, "a", "b"]));
  assert.equal(run.code, 3, run.stderr);
  assert.deepEqual(run.stdout, ["runtime deno args a,b"]);
});

test("the installed launcher runs the command under Deno with SHMPIPE_RUNTIME=deno", async () => {
  const run = await lines(spawn([`${root}scripts/shmpipe`, "run", `${root}test/deno/fixtures/which-runtime.ts`, "x"], { SHMPIPE_RUNTIME: "deno" }));
  assert.equal(run.code, 3, run.stderr);
  assert.deepEqual(run.stdout, ["runtime deno args x"]);
  const bun = await lines(spawn([`${root}scripts/shmpipe`, "run", `${root}test/deno/fixtures/which-runtime.ts`, "x"]));
  assert.deepEqual(bun.stdout, ["runtime bun args x"]);
});
