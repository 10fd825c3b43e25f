// Before anything runs: the checks of a pipeline's shape, and each stage's
// command line and environment. Nothing here creates a segment or starts a
// stage, so a mistake found here leaves nothing behind.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { PipelineError, tailBlock } from "./errors.ts";
import { goBuild, isBinary } from "./go-build.ts";
import { channelEnvVar } from "./names.ts";
import type { Endpoint, Pipeline, StageSpec } from "./pipeline.ts";
import { binaryCommand, bunCommand, chooseInterpreter, type Command, denoCommand, pythonCommand, rscriptCommand, type Tools } from "./runtimes.ts";

const MAX_READERS = 32; // a channel's reader slots (docs/PROTOCOL.md)

/** Throws a TypeError naming the first channel or table wired wrongly. */
export function checkShape(pipeline: Pipeline): void {
  if (pipeline.stages.length === 0) throw new TypeError(`shmpipe pipeline "${pipeline.name}" has no stages`);
  for (const endpoint of pipeline.endpoints) {
    const writers = pipeline.stages.filter((stage) => stage.options.writes?.includes(endpoint)).map((stage) => stage.name);
    const readers = pipeline.stages.filter((stage) => stage.options.reads?.includes(endpoint)).map((stage) => stage.name);
    const what = `${endpoint.kind} "${endpoint.name}"`;
    if (writers.length !== 1) throw new TypeError(`shmpipe pipeline: ${what} needs exactly one stage that writes it, has ${writers.length ? writers.join(", ") : "none"}`);
    if (endpoint.kind === "channel" && readers.length === 0) throw new TypeError(`shmpipe pipeline: ${what} has no stage that reads it (its writer would wait for ever)`);
    if (readers.length > MAX_READERS) throw new TypeError(`shmpipe pipeline: ${what} has ${readers.length} readers; a channel takes at most ${MAX_READERS}`);
  }
}

/** Local names of the channels and tables a stage declared. */
export function endpointsOf(stage: StageSpec): Endpoint[] {
  return [...new Set([...(stage.options.reads ?? []), ...(stage.options.writes ?? [])])];
}

/** `{name}` in an argument becomes the segment of the pipeline's channel or table `name`; other braces stay. */
function substitute(arg: string, segments: Map<string, string>): string {
  return arg.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (whole, local: string) => segments.get(local) ?? whole);
}

/** What a stage gets from the runner: its channels' names, in its environment. */
export function stageEnv(stage: StageSpec, segments: Map<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...stage.options.env, SHMPIPE_STAGE: stage.name };
  for (const endpoint of endpointsOf(stage)) env[channelEnvVar(endpoint.name)] = segments.get(endpoint.name);
  return env;
}

/** The command of an external stage; Go packages are built here (PipelineError if the build fails). */
export async function commandOf(stage: StageSpec, cwd: string, segments: Map<string, string>, tools: Tools = {}): Promise<Command> {
  const args = (stage.options.args ?? []).map((arg) => substitute(arg, segments));
  const env = stageEnv(stage, segments);
  if (stage.kind === "go") {
    if (isBinary(stage.target, cwd)) return binaryCommand(resolve(cwd, stage.target), args, env);
    const built = await goBuild(stage.target, cwd, chooseInterpreter("go", stage.options, tools, env, cwd));
    if (typeof built !== "string") {
      const tail = built.stderr.trimEnd().split("\n").slice(-20);
      throw new PipelineError(`stage "${stage.name}": go build ${stage.target} failed${built.status === null ? "" : ` (status ${built.status})`}; nothing was started${tailBlock(tail)}`, { stage: stage.name, status: built.status, signal: null, stderrTail: tail, summary: null });
    }
    return binaryCommand(built, args, env);
  }
  const script = resolve(cwd, stage.target);
  if (!existsSync(script)) throw new PipelineError(`stage "${stage.name}": no such ${stage.kind} script ${script}; nothing was started`, { stage: stage.name, status: null, signal: null, stderrTail: [], summary: null });
  if (stage.kind === "rscript") return rscriptCommand(script, args, env, chooseInterpreter("rscript", stage.options, tools, env, cwd));
  if (stage.kind === "python") return pythonCommand(script, args, env, chooseInterpreter("python", stage.options, tools, env, cwd));
  if (stage.kind === "deno") return denoCommand(script, args, env);
  return bunCommand(script, args, env);
}
