// Deno runs no TypeScript from node_modules (it will not strip types
// there), so the npm package carries JavaScript for it: run by npm's
// prepack, this writes a .js beside each .ts that Deno loads from the
// package (the library, the command), with relative imports renamed to
// .js and "#ffi" made the Deno adapter's path; package.json's "deno"
// export condition points at lib/index.js. postpack runs it with --clean.
// Bun runs the .ts files as they are. (TypeScript's transpiler, a dev
// dependency: Bun's would lower `using` to helpers of its own runtime.)
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

const root = join(import.meta.dir, "..");
/** What Deno loads from the package; never the Bun adapter or the Bun-only wait worker. */
const SOURCES = [
  ...readdirSync(join(root, "lib"), { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts")).map((file) => join("lib", file)),
  "scripts/shmpipe.ts",
  ...readdirSync(join(root, "scripts/cli")).filter((file) => file.endsWith(".ts")).map((file) => join("scripts/cli", file)),
  "scripts/demo.ts",
  "scripts/python.ts",
].filter((file) => file !== "lib/ffi/bun.ts" && file !== "lib/wait-worker.ts");

const outputOf = (source: string) => join(root, source.replace(/\.ts$/, ".js"));

if (process.argv.includes("--clean")) {
  for (const source of SOURCES) rmSync(outputOf(source), { force: true });
} else {
  const compilerOptions: ts.CompilerOptions = { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, rewriteRelativeImportExtensions: true };
  const adapter = join(root, "lib/ffi/deno.js");
  for (const source of SOURCES) {
    const out = outputOf(source);
    let ffi = relative(dirname(out), adapter);
    if (!ffi.startsWith(".")) ffi = `./${ffi}`;
    const js = ts.transpileModule(readFileSync(join(root, source), "utf8"), { compilerOptions, fileName: source }).outputText
      .replace(/((?:from|import)\s*\(?\s*)(["'])#ffi\2/g, `$1$2${ffi}$2`)
      .replace(/^#!.*\n/, ""); // the comment below comes first; Deno needs no #!
    writeFileSync(out, `// Generated from ${relative(dirname(out), join(root, source))} by scripts/deno-js.ts for Deno; edit the .ts.\n${js}`);
  }
}
