// The command line and environment of each kind of external stage, and
// which interpreter (python, Rscript) or toolchain (go) runs it. In a clone
// of shmpipe the stages use the clone's own bindings (the Python package in
// ffi/python, the R package installed into .rlib, the interpreter of
// .venv); installed from npm, none of those exists. Either way a user
// picks the interpreter: the stage's option, else the pipeline's, else an
// activated virtual environment (VIRTUAL_ENV), else the clone's .venv,
// else the machine's (python3, Rscript, go on PATH).
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The shmpipe checkout or installed package this file belongs to. */
const root = new URL("../..", import.meta.url).pathname;

type Env = Record<string, string | undefined>;

/** The project's virtual environment's interpreter (made by scripts/setup.sh). */
export const venvPython = join(root, ".venv/bin/python");
/** The Python binding's directory in a checkout. */
export const pythonBinding = join(root, "ffi/python");
/** The R library scripts/setup.sh installs the R package into. */
const rLibrary = join(root, ".rlib");

/** The interpreters and toolchain a pipeline (or one stage) runs its stages with. */
export interface Tools {
  /** The Python interpreter of python stages: a path ("/srv/app/.venv/bin/python", relative to the stage's cwd) or a command on PATH. */
  python?: string;
  /** The Rscript of R stages: a path or a command on PATH. */
  rscript?: string;
  /** The go command that builds Go stages: a path or a command on PATH. */
  go?: string;
}

export type Tool = keyof Tools;

/** Which program runs a stage, and why that one. */
export interface Interpreter {
  tool: Tool;
  /** As given ("python3") or resolved against the cwd ("/srv/app/.venv/bin/python"). */
  program: string;
  /** Where the choice came from, in words: "the stage's python option", "VIRTUAL_ENV", "PATH". */
  from: string;
}

/** The default program of each tool, looked up on PATH. */
const DEFAULT_PROGRAM: Record<Tool, string> = { python: "python3", rscript: "Rscript", go: "go" };

/** How a stage's choice falls back: the stage's option, the pipeline's, then the environment. */
export function chooseInterpreter(tool: Tool, stage: Tools, pipeline: Tools, env: Env, cwd: string): Interpreter {
  // A relative path is the stage's cwd's; a bare name is looked up on PATH.
  const given = (program: string) => (program.includes("/") ? resolve(cwd, program) : program);
  if (stage[tool]) return { tool, program: given(stage[tool]), from: `the stage's ${tool} option` };
  if (pipeline[tool]) return { tool, program: given(pipeline[tool]), from: `the pipeline's ${tool} option` };
  if (tool === "python" && env.VIRTUAL_ENV) return { tool, program: join(env.VIRTUAL_ENV, "bin/python"), from: "the activated virtual environment, VIRTUAL_ENV" };
  if (tool === "python" && existsSync(venvPython)) return { tool, program: venvPython, from: "this shmpipe checkout's .venv" };
  return { tool, program: DEFAULT_PROGRAM[tool], from: "PATH" };
}

/** "python3 (/usr/bin/python3, from PATH)": what ran (or was to run), as a user can find it. */
export function describeInterpreter(interpreter: Interpreter, env: Env): string {
  const { program, from } = interpreter;
  if (program.includes("/")) return `${program} (from ${from})`;
  const found = which(program, env.PATH ?? "");
  return found ? `${program} (${found}, from ${from})` : `${program} (not found on PATH)`;
}

/** How a user picks another interpreter for a stage of this kind. */
export function howToChoose(tool: Tool): string {
  const example = { python: `"/path/to/venv/bin/python"`, rscript: `"/opt/R/4.4/bin/Rscript"`, go: `"/usr/local/go/bin/go"` }[tool];
  const venv = tool === "python" ? ", or activate a virtual environment (VIRTUAL_ENV)" : "";
  return `choose another with the ${tool} option of the stage or of the pipeline (new Pipeline(name, { ${tool}: ${example} }))${venv}`;
}

/** `path` first on the search path `variable` (":"-separated), if it exists. */
function prepend(env: Env, variable: string, path: string): Env {
  if (!existsSync(path)) return env;
  return { ...env, [variable]: [path, env[variable]].filter(Boolean).join(":") };
}

export interface Command {
  argv: string[];
  env: Env;
  /** The interpreter that runs the script (python and R stages), for the sentence of a failure. */
  interpreter?: Interpreter;
}

/** A Python script, run by the chosen interpreter (chooseInterpreter). */
export function pythonCommand(script: string, args: string[], env: Env, interpreter: Interpreter): Command {
  return { argv: [interpreter.program, script, ...args], env: prepend(env, "PYTHONPATH", pythonBinding), interpreter };
}

/** An R script, run by the chosen Rscript. */
export function rscriptCommand(script: string, args: string[], env: Env, interpreter: Interpreter): Command {
  return { argv: [interpreter.program, script, ...args], env: prepend(env, "R_LIBS", rLibrary), interpreter };
}

/** A TypeScript or JavaScript file, run by Bun (this one, if the runner runs under Bun). */
export function bunCommand(script: string, args: string[], env: Env): Command {
  return { argv: [runtimeProgram("bun", env), script, ...args], env };
}

/** A TypeScript or JavaScript file, run by Deno (this one, if the runner runs under Deno) with every permission. */
export function denoCommand(script: string, args: string[], env: Env): Command {
  return { argv: [runtimeProgram("deno", env), "run", "-A", script, ...args], env };
}

/** The executable `program` on `path` (":"-separated), or null. */
export function which(program: string, path: string): string | null {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The program of a JavaScript runtime: the running one itself, else the
 * one npm installed beside shmpipe (its node_modules/.bin, or one above it,
 * as the shmpipe launcher looks), else the one on PATH (the bare name, if
 * none is: the stage then fails to start, saying so).
 */
export function runtimeProgram(runtime: "bun" | "deno", env: Env = process.env): string {
  if (process.versions[runtime]) return process.execPath;
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules/.bin", runtime);
    if (existsSync(candidate)) return candidate;
    if (dir === dirname(dir)) break;
  }
  return which(runtime, env.PATH ?? "") ?? runtime;
}

/** A program file (a built Go binary, or anything executable). */
export function binaryCommand(program: string, args: string[], env: Env): Command {
  return { argv: [program, ...args], env };
}

/**
 * What a stage's stderr says when its interpreter lacks what the script
 * needs: a Python module, an R package. Null when it says nothing of that.
 */
export function missingModule(tool: Tool, stderr: string[]): string | null {
  for (const line of stderr) {
    const python = tool === "python" && /^(?:ModuleNotFoundError|ImportError): (?:No module named '([^']+)'|(.*))/.exec(line);
    if (python) return python[1] ? `no module "${python[1]}"` : python[2]!;
    const r = tool === "rscript" && /there is no package called [‘'"]([^’'"]+)[’'"]/.exec(line);
    if (r) return `no package "${r[1]}"`;
  }
  return null;
}
