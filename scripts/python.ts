// The Python the project runs: the interpreter of its own virtual
// environment (.venv, made by scripts/setup.sh with the pinned pyarrow),
// never the machine's python3, and the environment that makes the binding
// of this checkout (ffi/python) importable.
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** The Python binding's directory in this checkout. */
export const pythonBinding = join(root, "ffi/python");

/** The project's Python interpreter; throws if setup has not made it yet. */
export function python(): string {
  const interpreter = join(root, ".venv/bin/python");
  if (!existsSync(interpreter)) {
    throw new Error(`shmpipe: the project's Python environment is missing (${interpreter}): run \`npm run setup\` first`);
  }
  return interpreter;
}

/** Environment variables for running the checkout's binding; `extraPaths` go on PYTHONPATH after it. */
export function pythonEnv(...extraPaths: string[]): Record<string, string | undefined> {
  return { ...process.env, PYTHONPATH: [pythonBinding, ...extraPaths].join(":") };
}
