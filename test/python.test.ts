// The Python binding (ffi/python): its pytest suite, run by the project's
// Python (.venv) against real processes and shared memory. Its packaging
// (wheel and sdist) is tested in package-python.test.ts.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { python, pythonBinding, pythonEnv } from "../scripts/python.ts";

test("the Python binding's tests pass", () => {
  const run = Bun.spawnSync([python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", join(pythonBinding, "tests")], {
    env: pythonEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.exitCode, output).toBe(0);
  expect(output).toMatch(/\d+ passed/);
});
