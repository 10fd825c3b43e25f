// Go stages name a package (built here) or a binary. Packages are built with
// `go build` into a cache directory, one binary per package: go itself
// decides whether the binary is up to date (a second build of an unchanged
// package takes a fraction of a second and rewrites nothing).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { describeInterpreter, howToChoose, type Interpreter } from "./runtimes.ts";

/** Where built stage programs go: $SHMPIPE_CACHE_DIR, else $XDG_CACHE_HOME/shmpipe, else ~/.cache/shmpipe. */
export function cacheDir(): string {
  if (process.env.SHMPIPE_CACHE_DIR) return process.env.SHMPIPE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "shmpipe");
}

/** True if `target`, relative to `cwd`, is a file to run rather than a package to build. */
export function isBinary(target: string, cwd: string): boolean {
  const path = resolve(cwd, target);
  return !path.endsWith(".go") && existsSync(path) && statSync(path).isFile();
}

export interface GoBuildFailure {
  status: number | null;
  stderr: string;
}

/**
 * Builds Go package `target` (a directory relative to `cwd`, or an import
 * path) and returns the binary, or the failure of `go build`.
 */
export async function goBuild(target: string, cwd: string, go: Interpreter = { tool: "go", program: "go", from: "PATH" }): Promise<string | GoBuildFailure> {
  const local = target.startsWith(".") || target.startsWith("/");
  // A directory is built from inside it, so that its own go.mod applies.
  const dir = local ? resolve(cwd, target) : cwd;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { status: null, stderr: `no such package directory: ${dir}` };
  const key = createHash("sha256").update(local ? dir : `${cwd}\0${target}`).digest("hex").slice(0, 16);
  const out = join(cacheDir(), "go", key);
  mkdirSync(out, { recursive: true });
  const program = join(out, basename(local ? dir : target));
  // go build prints on stderr; a pipe nobody reads could fill.
  const build = spawn(go.program, ["build", "-buildvcs=false", "-o", program, local ? "." : target], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const chunks: Uint8Array[] = [];
  build.stderr!.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  const end = await new Promise<number | null | Error>((resolve) => {
    build.once("error", resolve); // not started: no such program, not executable
    build.once("close", (status) => resolve(status));
  });
  if (end instanceof Error) {
    return { status: null, stderr: `could not run ${describeInterpreter(go, process.env)} (Go 1.25 or later is needed): ${end.message}; ${howToChoose("go")}` };
  }
  return end === 0 ? program : { status: end, stderr: Buffer.concat(chunks).toString() };
}
