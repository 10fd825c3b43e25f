// The Python the project runs: the interpreter of its own virtual
// environment (.venv, made by scripts/setup.sh with the pinned pyarrow),
// never the machine's python3, and the environment that makes the binding
// of this checkout (ffi/python) importable. (Pipelines, which also run
// outside a checkout, choose their interpreter by their python option,
// VIRTUAL_ENV, this .venv or python3: lib/pipeline/runtimes.ts, which owns
// both paths.)
import { existsSync } from "node:fs";
import { pythonBinding, venvPython } from "../lib/pipeline/runtimes.ts";

export { pythonBinding };

/** The project's Python interpreter; throws if setup has not made it yet. */
export function python(): string {
  if (!existsSync(venvPython)) {
    throw new Error(`shmpipe: the project's Python environment is missing (${venvPython}): run \`npm run setup\` first`);
  }
  return venvPython;
}

/** Environment variables for running the checkout's binding; `extraPaths` go on PYTHONPATH after it. */
export function pythonEnv(...extraPaths: string[]): Record<string, string | undefined> {
  return { ...process.env, PYTHONPATH: [pythonBinding, ...extraPaths].join(":") };
}
