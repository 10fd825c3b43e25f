// The Python package as a user gets it: the wheel and the sdist built from
// this checkout, each installed by pip into a fresh virtual environment
// outside the repository, where a writer and a reader process exchange a
// pyarrow batch (test/fixtures/package_smoke.py). pip may take pyarrow, and
// the sdist's build tools, from its cache.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { python, pythonBinding } from "../scripts/python.ts";

const version = readFileSync(join(pythonBinding, "pyproject.toml"), "utf8").match(/^version = "(.+)"$/m)![1];
const work = mkdtempSync(join(tmpdir(), "shmpipe-package-"));
const dist = join(work, "dist");
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Nothing may point Python back at the checkout.
const { PYTHONPATH: _path, SHMPIPE_LIB: _lib, VIRTUAL_ENV: _venv, ...env } = process.env;

/** Runs `command` in `cwd`; fails the test unless it exits 0. Returns its stdout. */
async function run(command: string[], cwd = work): Promise<string> {
  const child = Bun.spawn(command, { cwd, env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1" }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(code, `${command.join(" ")}\n${out}${err}`).toBe(0);
  return out;
}

let built: Promise<string> | undefined;

/** Builds the sdist, then the wheel from it (build's default), once for all tests. */
function distributions(): Promise<string> {
  built ??= run([python(), "-m", "build", "--no-isolation", "--outdir", dist, pythonBinding]);
  return built;
}

async function distribution(suffix: string): Promise<string> {
  await distributions();
  return join(dist, readdirSync(dist).find((file) => file.endsWith(suffix))!);
}

test("the wheel is tagged for this platform and carries the core; the sdist carries the core's sources", async () => {
  await distributions();
  const platform = { x64: "x86_64", arm64: "aarch64" }[process.arch as string] ?? process.arch;
  expect(readdirSync(dist).sort()).toEqual([`shmpipe-${version}-py3-none-linux_${platform}.whl`, `shmpipe-${version}.tar.gz`]);
  expect(await run([python(), "-m", "zipfile", "-l", await distribution(".whl")])).toContain("shmpipe/_lib/libshmpipe.so");
  const sources = await run(["tar", "-tzf", await distribution(".tar.gz")]);
  for (const file of ["core-src/Makefile", "core-src/shmpipe.map", "core-src/include/shmpipe.h", "core-src/src/ring.c"]) {
    expect(sources).toContain(`shmpipe-${version}/${file}`);
  }
}, 60_000);

test("pip installs the wheel and the sdist into fresh environments, where a writer and a reader exchange a batch", async () => {
  const smoke = join(work, "package_smoke.py");
  copyFileSync(new URL("./fixtures/package_smoke.py", import.meta.url).pathname, smoke);
  const installAndRun = async (kind: string, file: string) => {
    const venv = join(work, `venv-${kind}`);
    await run([python(), "-m", "venv", venv]);
    await run([join(venv, "bin/python"), "-m", "pip", "install", "--quiet", file]);
    const report = JSON.parse(await run([join(venv, "bin/python"), smoke, `t${process.pid}-package-${kind}`]));
    expect(report.module.startsWith(venv)).toBe(true);
    expect(report.library).toBe(join(dirname(report.module), "_lib/libshmpipe.so"));
    expect(report.rows).toBe(1000);
  };
  await Promise.all([installAndRun("wheel", await distribution(".whl")), installAndRun("sdist", await distribution(".tar.gz"))]);
}, 110_000);

test("an sdist without the core's sources refuses to build, and says why", async () => {
  const unpacked = join(work, "broken");
  mkdirSync(unpacked);
  await run(["tar", "-xzf", await distribution(".tar.gz"), "-C", unpacked, "--exclude", "*/core-src"]);
  const child = Bun.spawnSync([python(), "setup.py", "--version"], { cwd: join(unpacked, `shmpipe-${version}`), env, stderr: "pipe" });
  expect(child.exitCode).not.toBe(0);
  expect(child.stderr.toString()).toContain("This source distribution was built incorrectly: the C core's sources are missing");
}, 30_000);
