// The npm package as a user gets it: `npm pack`, then a fresh Bun project
// outside the repository adds the tarball (and apache-arrow, its peer) and
// runs a writer and a reader from there, without a C compiler in sight;
// installed with npm, its command runs without Bun on PATH.
// Also: a second copy of apache-arrow in one process is refused clearly.
import { afterAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uniqueName } from "./helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const bun = process.execPath;
const work = mkdtempSync(join(tmpdir(), "shmpipe-npm-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string[], cwd: string, env: Record<string, string> = {}) {
  const result = Bun.spawnSync(command, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

const READER = `
import { ArrowReader, createReader } from "shmpipe";
using reader = new ArrowReader(createReader(process.argv[2], { capacity: 1 << 20 }));
console.log("ready");
let total = 0;
for await (const batch of reader) for (const x of batch.getChild("x")!) total += x;
console.log("total", total);
`;

const WRITER = `
import { tableFromArrays } from "apache-arrow";
import { ArrowWriter, openWriter } from "shmpipe";
using writer = new ArrowWriter(openWriter(process.argv[2]));
for (let i = 0; i < 10; i++) writer.write(tableFromArrays({ x: Float64Array.from({ length: 1000 }, (_, k) => k) }));
`;

test("the npm tarball installs into a fresh Bun project and works there", async () => {
  const packed = run(["npm", "pack", "--json", "--pack-destination", work], root);
  expect(packed.code, packed.err).toBe(0);
  const [{ filename, files }] = JSON.parse(packed.out) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((file) => file.path);
  expect(paths).toContain("ffi/core/build/linux-x64/libshmpipe.so");
  expect(paths).toContain("lib/index.ts");
  expect(paths.filter((path) => /^(test|ffi\/python|ffi\/core\/(src|test|fuzz|bench)|scripts\/bench)\//.test(path))).toEqual([]);

  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const added = run([bun, "add", join(work, filename), "apache-arrow@21.2.0"], app);
  expect(added.code, added.err).toBe(0);
  // One apache-arrow for the app and shmpipe: it is a peer dependency.
  expect(readdirSync(join(app, "node_modules/shmpipe")).includes("node_modules")).toBe(false);
  writeFileSync(join(app, "reader.ts"), READER);
  writeFileSync(join(app, "writer.ts"), WRITER);

  const name = uniqueName("npm");
  const reader = Bun.spawn([bun, "reader.ts", name], { cwd: app, stdout: "pipe", stderr: "pipe" });
  const lines = reader.stdout.getReader();
  const first = new TextDecoder().decode((await lines.read()).value);
  expect(first).toContain("ready");
  const writer = run([bun, "writer.ts", name], app);
  expect(writer.code, writer.err).toBe(0);
  let rest = "";
  for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) rest += new TextDecoder().decode(chunk.value);
  expect(await reader.exited, await new Response(reader.stderr).text()).toBe(0);
  expect(rest.trim()).toBe(`total ${10 * (999 * 1000) / 2}`);

  // \`bun x shmpipe\` too (the launcher finds the bun package's binary; without bun on PATH: the next test).
  const bin = join(work, "bin");
  mkdirSync(bin);
  symlinkSync(bun, join(bin, "bun"));
  const help = run([bun, "x", "shmpipe", "--help"], app, { PATH: `${bin}:${process.env.PATH}` });
  expect(help.code, help.err).toBe(0);
  expect(help.out).toContain("usage: shmpipe <command>");
}, 120_000);

test("installed with npm, node_modules/.bin/shmpipe runs with the Bun the package depends on, without bun on PATH", () => {
  const packed = run(["npm", "pack", "--json", "--pack-destination", work], root);
  expect(packed.code, packed.err).toBe(0);
  const [{ filename }] = JSON.parse(packed.out) as [{ filename: string }];
  const app = join(work, "npm-app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "npm-app", private: true, type: "module" }));
  const installed = run(["npm", "install", "--no-audit", "--no-fund", join(work, filename), "apache-arrow@21.2.0"], app);
  expect(installed.code, installed.err).toBe(0);
  writeFileSync(join(app, "pipeline.ts"), `
import { Pipeline } from "shmpipe";
const p = new Pipeline("npm-bin", { cwd: import.meta.dir });
p.fn("hello", ({ log }) => log("ran by " + process.execPath));
await p.run({ quiet: true });
`);
  // The PATH of a machine without Bun: every directory that holds a bun left out.
  const path = (process.env.PATH ?? "").split(":").filter((dir) => dir && !existsSync(join(dir, "bun"))).join(":");
  expect(Bun.which("bun", { PATH: path })).toBeNull();
  const help = run([join(app, "node_modules/.bin/shmpipe"), "--help"], app, { PATH: path });
  expect(help.code, help.err).toBe(0);
  expect(help.out).toContain("usage: shmpipe <command>");
  const ran = run([join(app, "node_modules/.bin/shmpipe"), "run", "pipeline.ts"], app, { PATH: path });
  expect(ran.code, ran.err).toBe(0);
  expect(ran.out).toMatch(new RegExp(`^\\[hello\\] ran by ${app}/node_modules/`, "m"));

  // A Python stage of that project: the machine's python3 has no shmpipe
  // (nor pyarrow): the error names it and how to pick another; with a
  // virtual environment active (here: the clone's, with its binding on
  // PYTHONPATH), the stage runs that environment's python.
  writeFileSync(join(app, "stage.py"), "import shmpipe, pyarrow, sys\nprint(sys.executable)\n");
  writeFileSync(join(app, "python.ts"), `
import { Pipeline, PipelineError } from "shmpipe";
const p = new Pipeline("npm-python", { cwd: import.meta.dir });
p.python("stage", "stage.py");
try {
  await p.run({ quiet: true });
} catch (error) {
  if (!(error instanceof PipelineError)) throw error;
  console.error(error.message);
  process.exit(1);
}
`);
  const { VIRTUAL_ENV: _, PYTHONPATH: __, ...bare } = process.env;
  const machine = Bun.spawnSync([join(app, "node_modules/.bin/shmpipe"), "run", "python.ts"], { cwd: app, env: { ...bare, PATH: path }, stdout: "pipe", stderr: "pipe" });
  const said = machine.stderr.toString();
  expect(machine.exitCode, said).toBe(1);
  expect(said).toContain(`its interpreter was python3 (${Bun.which("python3", { PATH: path })}, from PATH), which has no module "shmpipe": choose another with the python option of the stage or of the pipeline`);
  const venv = join(root, ".venv");
  const active = run([join(app, "node_modules/.bin/shmpipe"), "run", "python.ts"], app, { PATH: path, VIRTUAL_ENV: venv, PYTHONPATH: join(root, "ffi/python") });
  expect(active.code, active.err).toBe(0);
  expect(active.out).toContain(`[stage] ${venv}/bin/python`);
}, 300_000);

test("a table from a second copy of apache-arrow is refused with a sentence that says so", () => {
  // A project whose apache-arrow is not the one lib/ resolves: a copy of it.
  const other = join(work, "other");
  mkdirSync(join(other, "node_modules"), { recursive: true });
  for (const entry of readdirSync(join(root, "node_modules"))) {
    if (entry.startsWith(".")) continue;
    if (entry === "apache-arrow") cpSync(join(root, "node_modules", entry), join(other, "node_modules", entry), { recursive: true, dereference: true });
    else symlinkSync(join(root, "node_modules", entry), join(other, "node_modules", entry));
  }
  writeFileSync(join(other, "main.ts"), `
import { tableFromArrays } from "apache-arrow";
import { publish } from ${JSON.stringify(join(root, "lib/index.ts"))};
try {
  publish(process.argv[2], tableFromArrays({ x: new Float64Array(4) }));
} catch (error) {
  console.log((error as Error).message);
}
`);
  const result = run([bun, "main.ts", uniqueName("two-arrows")], other);
  expect(result.code, result.err).toBe(0);
  expect(result.out).toContain("This Table comes from another copy of apache-arrow than the one shmpipe uses");
});
