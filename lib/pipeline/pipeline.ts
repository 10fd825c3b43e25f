// Declaring a pipeline: its channels and published tables, and the stages
// that read and write them. run() (run.ts) does the rest.
import { DEFAULT_CAPACITY } from "../segment.ts";
import type { StageFunction } from "./fn-stage.ts";
import { checkLocalName } from "./names.ts";
import { run, type RunOptions } from "./run.ts";
import type { Tools } from "./runtimes.ts";
import type { Summary } from "./summary.ts";

/** A channel of the pipeline: made by the runner before any stage starts. */
export interface Channel {
  readonly kind: "channel";
  readonly name: string;
  readonly capacity: number;
  readonly mode: number;
  /** How many records the writer will send, if known: the progress then shows a bar. */
  readonly expectedRecords?: number;
}

/**
 * A published table of the pipeline: its name is reserved by the runner,
 * the stage that writes it publishes it (with persist, so it outlives that
 * stage), and the runner removes it at the end of the run.
 */
export interface SharedTable {
  readonly kind: "table";
  readonly name: string;
}

export type Endpoint = Channel | SharedTable;

export interface StageOptions {
  /** Arguments; `{name}` becomes the segment name of the pipeline's channel or table `name`. */
  args?: string[];
  /** Channels and tables the stage reads. */
  reads?: Endpoint[];
  /** Channels the stage writes, tables it publishes (one writer each). */
  writes?: Endpoint[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the pipeline's). */
  cwd?: string;
}

/** A Python stage's options: `python` picks its interpreter (see PipelineOptions). */
export interface PythonStageOptions extends StageOptions {
  python?: string;
}

/** An R stage's options: `rscript` picks its Rscript (see PipelineOptions). */
export interface RStageOptions extends StageOptions {
  rscript?: string;
}

/** A Go stage's options: `go` picks the go command that builds it (see PipelineOptions). */
export interface GoStageOptions extends StageOptions {
  go?: string;
}

export type StageKind = "go" | "rscript" | "python" | "bun" | "deno" | "fn";

export interface StageSpec {
  readonly name: string;
  readonly kind: StageKind;
  /** Package, binary or script; "" for a function. */
  readonly target: string;
  readonly fn: StageFunction | null;
  readonly options: StageOptions & Tools;
}

/**
 * `python`, `rscript`, `go`: the interpreter (or toolchain) of every stage
 * of that kind, unless the stage names its own: a path (relative to the
 * stage's cwd) or a command on PATH. Without either, Python stages run
 * $VIRTUAL_ENV/bin/python when a virtual environment is active, else (in
 * a clone of shmpipe) the clone's .venv, else python3; R stages Rscript,
 * Go stages go, from PATH.
 */
export interface PipelineOptions extends Tools {
  /** Where stages run and relative paths resolve (default: process.cwd()). Pass import.meta.dir to resolve next to your script. */
  cwd?: string;
}

const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class Pipeline {
  readonly endpoints: Endpoint[] = [];
  readonly stages: StageSpec[] = [];
  readonly cwd: string;
  /** The interpreters chosen for the whole pipeline (PipelineOptions). */
  readonly tools: Tools;

  /** `name` starts the name of every segment of a run: `<name>-<pid>-<channel>`. */
  constructor(readonly name: string, options: PipelineOptions = {}) {
    if (typeof name !== "string" || !PIPELINE_NAME.test(name)) {
      throw new TypeError(`shmpipe pipeline: name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_" or "-", not starting with "." or "-"`);
    }
    this.cwd = options.cwd ?? process.cwd();
    this.tools = { python: options.python, rscript: options.rscript, go: options.go };
    for (const [tool, program] of Object.entries(this.tools)) {
      if (program !== undefined && (typeof program !== "string" || !program)) throw new TypeError(`shmpipe pipeline ${name}: the ${tool} option is a path or a command, got ${JSON.stringify(program)}`);
    }
  }

  /** A channel between stages; `capacity`: bytes of ring (default 16 MiB), above the largest record. */
  channel(name: string, options: { capacity?: number; mode?: number; expectedRecords?: number } = {}): Channel {
    this.#claimName(name, "channel");
    const { capacity = DEFAULT_CAPACITY, mode = 0o600, expectedRecords } = options;
    if (expectedRecords !== undefined && !(Number.isInteger(expectedRecords) && expectedRecords > 0)) {
      throw new TypeError(`pipeline ${this.name}: channel "${name}": expectedRecords is a whole number above 0`);
    }
    const channel: Channel = { kind: "channel", name, capacity, mode, expectedRecords };
    this.endpoints.push(channel);
    return channel;
  }

  /** A table one stage publishes (persist: true) and others open by name. */
  table(name: string): SharedTable {
    this.#claimName(name, "table");
    const table: SharedTable = { kind: "table", name };
    this.endpoints.push(table);
    return table;
  }

  /** A Go stage: a package (a directory such as "./cmd/producer", or an import path), built once into the cache, or a binary. */
  go(name: string, packageOrBinary: string, options: GoStageOptions = {}): this {
    return this.#stage(name, "go", packageOrBinary, null, options);
  }

  /** An R script, run by Rscript (the `rscript` option of the stage or the pipeline picks another). */
  rscript(name: string, script: string, options: RStageOptions = {}): this {
    return this.#stage(name, "rscript", script, null, options);
  }

  /**
   * A Python script, run by the `python` option's interpreter (the stage's,
   * else the pipeline's), else $VIRTUAL_ENV/bin/python, else a clone's
   * .venv, else python3 from PATH.
   */
  python(name: string, script: string, options: PythonStageOptions = {}): this {
    return this.#stage(name, "python", script, null, options);
  }

  /** A TypeScript or JavaScript file, run by Bun in a process of its own (this Bun, else npm's beside shmpipe, else PATH's). */
  bun(name: string, script: string, options: StageOptions = {}): this {
    return this.#stage(name, "bun", script, null, options);
  }

  /**
   * A TypeScript or JavaScript file, run by Deno (`deno run -A`) in a
   * process of its own: the Deno this runner runs under, else the one npm
   * installed beside shmpipe, else `deno` on PATH.
   */
  deno(name: string, script: string, options: StageOptions = {}): this {
    return this.#stage(name, "deno", script, null, options);
  }

  /**
   * A stage on this machine's side of another host (docs/FLIGHT.md): it
   * fetches `url` (`grpc://HOST:PORT/NAME`, or `grpc+tls://…`) from a Flight
   * server there (`shmpipe flight serve` on the other host) into `channel`,
   * live, until the remote stream ends. Built from the clone's
   * ffi/go/cmd/shmpipe-flight; `args` add its options (`--token-file`, …;
   * `--wait 30s` when the remote channel is made after this stage starts).
   */
  pull(name: string, url: string, channel: Channel, options: Omit<GoStageOptions, "reads" | "writes"> = {}): this {
    const { address, remote } = flightUrl(url, this.name, name);
    return this.go(name, FLIGHT_PACKAGE, { ...options, args: ["pull", "--quiet", "--into", `{${channel.name}}`, ...(options.args ?? []), address, remote], writes: [channel] });
  }

  /** The other way: `channel`, as it is written here, to `url` on another host (a channel there). */
  push(name: string, channel: Channel, url: string, options: Omit<GoStageOptions, "reads" | "writes"> = {}): this {
    const { address, remote } = flightUrl(url, this.name, name);
    return this.go(name, FLIGHT_PACKAGE, { ...options, args: ["push", "--quiet", "--channel", ...(options.args ?? []), `{${channel.name}}`, address, remote], reads: [channel] });
  }

  /** An async function in this process (see StageContext). Only reads, writes, env are used of the options. */
  fn(name: string, fn: StageFunction, options: Pick<StageOptions, "reads" | "writes"> = {}): this {
    return this.#stage(name, "fn", "", fn, options);
  }

  /**
   * Creates the channels, starts every stage, supervises them to the end
   * and removes every segment. Resolves with the summary; rejects with a
   * PipelineError naming the stage that failed. On Ctrl-C (or SIGTERM,
   * SIGHUP) it stops the stages, prints one line and exits the process
   * with 128 + the signal's number.
   */
  run(options: RunOptions = {}): Promise<Summary> {
    return run(this, options);
  }

  #claimName(name: string, what: string): void {
    checkLocalName(name, what);
    const same = this.endpoints.find((endpoint) => endpoint.name.toUpperCase() === name.toUpperCase());
    if (same) throw new TypeError(`shmpipe pipeline: ${what} "${name}" is declared twice (as ${same.kind} "${same.name}"; names differing in case only clash in the environment)`);
  }

  #stage(name: string, kind: StageKind, target: string, fn: StageFunction | null, options: StageOptions & Tools): this {
    if (typeof name !== "string" || !STAGE_NAME.test(name)) throw new TypeError(`shmpipe pipeline: stage name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_" or "-"`);
    if (this.stages.some((stage) => stage.name === name)) throw new TypeError(`shmpipe pipeline: stage "${name}" is declared twice`);
    if (kind === "fn" ? typeof fn !== "function" : typeof target !== "string" || !target) throw new TypeError(`shmpipe pipeline: stage "${name}" needs ${kind === "fn" ? "a function" : "a program or script"}`);
    for (const endpoint of [...(options.reads ?? []), ...(options.writes ?? [])]) {
      if (!this.endpoints.includes(endpoint)) throw new TypeError(`shmpipe pipeline: stage "${name}" uses a channel of another pipeline (${JSON.stringify(endpoint?.name)})`);
    }
    for (const tool of ["python", "rscript", "go"] as const) {
      const program = options[tool];
      if (program !== undefined && (typeof program !== "string" || !program)) throw new TypeError(`shmpipe pipeline: stage "${name}": the ${tool} option is a path or a command, got ${JSON.stringify(program)}`);
    }
    this.stages.push({ name, kind, target, fn, options });
    return this;
  }
}

/** The bridge's Go package in a clone (the npm package carries no Go sources). */
const FLIGHT_PACKAGE = new URL("../../ffi/go/cmd/shmpipe-flight", import.meta.url).pathname;

/** `grpc://HOST:PORT/NAME` as the bridge's address and the remote name. */
function flightUrl(url: string, pipeline: string, stage: string): { address: string; remote: string } {
  const match = /^(grpc(?:\+tls)?:\/\/[^/]+)\/([^/]+)$/.exec(url);
  if (!match) throw new TypeError(`pipeline ${pipeline}: stage "${stage}": ${JSON.stringify(url)} is not grpc://HOST:PORT/NAME (or grpc+tls://…)`);
  return { address: match[1]!, remote: match[2]! };
}
