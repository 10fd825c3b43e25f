// The npm package as a Deno user gets it: `npm pack`, then a fresh project
// outside the repository installs the tarball and apache-arrow with npm
// and runs, under Deno, a program that imports "shmpipe" (the package's
// "deno" export: JavaScript, as Deno runs no TypeScript from
// node_modules) and the installed `shmpipe` command with SHMPIPE_RUNTIME=deno.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoLeftovers, deno, killAll, root, spawn, uniqueName } from "./helpers.ts";

async function run(argv: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), cwd, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

const PROGRAM = `
import { tableFromArrays } from "apache-arrow";
import { ArrowReader, ArrowWriter, createReader, openTable, openWriter, publish } from "shmpipe";
const name = Deno.args[0];
using reader = new ArrowReader(createReader(name, { capacity: 1 << 20 }));
{
  using writer = new ArrowWriter(openWriter(name));
  for (let i = 0; i < 3; i++) writer.write(tableFromArrays({ x: Float64Array.from({ length: 1000 }, (_, k) => k) }));
}
let total = 0;
for await (const batch of reader) for (const x of batch.getChild("x")) total += x;
using published = publish(name + "-t", tableFromArrays({ v: Int32Array.of(4, 5, 6) }));
console.log("total", total, "table", [...openTable(name + "-t").getChild("v")].join(","));
`;

Deno.test("the npm tarball installs into a fresh project and works there under Deno: the library and the command", async () => {
  const work = mkdtempSync(join(tmpdir(), "shmpipe-deno-npm-"));
  try {
    const packed = await run(["npm", "pack", "--json", "--pack-destination", work], root);
    assert.equal(packed.code, 0, packed.stderr);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((file) => file.path);
    for (const path of ["lib/index.js", "lib/ffi/deno.js", "scripts/shmpipe.js", "scripts/cli/ls.js"]) assert.ok(paths.includes(path), `${path} is in the tarball`);
    assert.ok(!paths.includes("lib/ffi/bun.js"));

    const app = join(work, "app");
    Deno.mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    const added = await run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, filename), "apache-arrow@21.2.0"], app);
    assert.equal(added.code, 0, added.stderr);
    writeFileSync(join(app, "main.ts"), PROGRAM);

    const name = uniqueName("npm");
    const program = spawn([deno, "run", "-A", join(app, "main.ts"), name]);
    const line = await program.line((text) => text.startsWith("total"));
    assert.equal(line, `total ${3 * 999 * 1000 / 2} table 4,5,6`);
    assert.equal((await program.status).code, 0, await program.stderr);

    // The command, with Deno found on PATH (the app did not install one).
    const ls = await run([join(app, "node_modules/.bin/shmpipe"), "ls"], app, { SHMPIPE_RUNTIME: "deno", PATH: `${join(root, "node_modules/.bin")}:${Deno.env.get("PATH")}` });
    assert.equal(ls.code, 0, ls.stderr);
    const which = await run([join(app, "node_modules/.bin/shmpipe"), "run", join(root, "test/deno/fixtures/which-runtime.ts")], app, { SHMPIPE_RUNTIME: "deno", PATH: `${join(root, "node_modules/.bin")}:${Deno.env.get("PATH")}` });
    assert.equal(which.stdout.trim(), "runtime deno args");
  } finally {
    await killAll();
    rmSync(work, { recursive: true, force: true });
  }
  assertNoLeftovers();
});
