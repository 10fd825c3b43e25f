// The command line and environment of each kind of external stage. In a
// clone of shmpipe the stages use the clone's own bindings (the Python
// package in ffi/python, the R package installed into .rlib, the
// interpreter of .venv); installed from npm, none of those exists, and the
// stages use the machine's python3 and R library with shmpipe installed.
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The shmpipe checkout or installed package this file belongs to. */
const root = new URL("../..", import.meta.url).pathname;

type Env = Record<string, string | undefined>;

/** The project's virtual environment's interpreter (made by scripts/setup.sh). */
export const venvPython = join(root, ".venv/bin/python");
/** The Python binding's directory in a checkout. */
export const pythonBinding = join(root, "ffi/python");
/** The R library scripts/setup.sh installs the R package into. */
const rLibrary = join(root, ".rlib");

/** `path` first on the search path `variable` (":"-separated), if it exists. */
function prepend(env: Env, variable: string, path: string): Env {
  if (!existsSync(path)) return env;
  return { ...env, [variable]: [path, env[variable]].filter(Boolean).join(":") };
}

export interface Command {
  argv: string[];
  env: Env;
}

/** A Python script: the project's .venv interpreter when there is one, else python3. */
export function pythonCommand(script: string, args: string[], env: Env): Command {
  const interpreter = existsSync(venvPython) ? venvPython : "python3";
  return { argv: [interpreter, script, ...args], env: prepend(env, "PYTHONPATH", pythonBinding) };
}

/** An R script, run by Rscript. */
export function rscriptCommand(script: string, args: string[], env: Env): Command {
  return { argv: ["Rscript", script, ...args], env: prepend(env, "R_LIBS", rLibrary) };
}

/** A TypeScript or JavaScript file, run by this Bun. */
export function bunCommand(script: string, args: string[], env: Env): Command {
  return { argv: [process.execPath, script, ...args], env };
}

/** A program file (a built Go binary, or anything executable). */
export function binaryCommand(program: string, args: string[], env: Env): Command {
  return { argv: [program, ...args], env };
}
