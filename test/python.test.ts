// The Python binding (ffi/python): its pytest suite, run against real
// processes and shared memory, and its packaging: `pip install ./ffi/python`
// builds the C core into the package.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const python = new URL("../ffi/python", import.meta.url).pathname;

test("the Python binding's tests pass", () => {
  const run = Bun.spawnSync(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", join(python, "tests")], {
    env: { ...process.env, PYTHONPATH: python },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toMatch(/\d+ passed/);
});

test("pip installs the Python package from the repository, with its own copy of the C core", () => {
  const target = mkdtempSync(join(tmpdir(), "shmpipe-pip-"));
  try {
    const install = Bun.spawnSync(
      ["python3", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "--target", target, python],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(install.exitCode, `${install.stdout}${install.stderr}`).toBe(0);
    const probe = Bun.spawnSync(["python3", "-c", "import shmpipe, shmpipe._core as c; print(c.lib._name)"], {
      cwd: target,
      env: { ...process.env, PYTHONPATH: target },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(probe.exitCode, `${probe.stderr}`).toBe(0);
    expect(probe.stdout.toString().trim()).toBe(join(target, "shmpipe/_lib/libshmpipe.so"));
  } finally {
    rmSync(target, { recursive: true, force: true });
    rmSync(join(python, "build"), { recursive: true, force: true });
  }
});
