// Running a pipeline: create every channel, start every stage, supervise
// them, stop them all when one fails or on Ctrl-C, and always remove every
// segment of the run. The order of a run:
//
//   check the shape -> build Go stages -> create channels -> start stages
//   -> wait; on the first failure (or a signal): SIGTERM the others, then
//      SIGKILL after the grace period -> sample the channels -> close and
//      unlink every segment -> summary -> resolve, reject, or exit (signal)
//
// The runner creates the segments (and so owns their names): stages open
// them, in any order. A writer stage that opened a channel loses nothing
// when it closes before a reader came: the runner's segment keeps the
// records until the run ends (docs/PROTOCOL.md, "What a writer's close
// leaves behind").
import { openWriter } from "../channel.ts";
import { removeAtExit, removeName, Segment } from "../segment.ts";
import { ChildStage, type LineSink } from "./child.ts";
import { type Command, describeInterpreter, howToChoose, missingModule } from "./runtimes.ts";
import { Display, defaultPrinter, type Printer } from "./display.ts";
import { PipelineError, tailBlock } from "./errors.ts";
import { FnStage } from "./fn-stage.ts";
import { segmentName } from "./names.ts";
import type { Pipeline, StageSpec } from "./pipeline.ts";
import { checkShape, commandOf, endpointsOf } from "./plan.ts";
import { Progress } from "./progress.ts";
import { StartGate } from "./start-gate.ts";
import { onStopSignals, SIGNAL_NUMBER, type StopSignal } from "./signals.ts";
import { type Outcome, type RunningStage, describeEnd, succeeded } from "./stage.ts";
import { type ChannelStatFn, defaultStat } from "./stat.ts";
import { formatSummary, type Summary } from "./summary.ts";

export interface RunOptions {
  /** No progress and no summary (stage output is still printed). */
  quiet?: boolean;
  /** "auto" (default): a status line on a terminal, plain lines otherwise; "off": none. */
  progress?: "auto" | "tty" | "lines" | "off";
  /** How often progress is shown (default: 250 ms on a terminal, 2 s otherwise). */
  progressIntervalMs?: number;
  /** How long stopped stages get between SIGTERM and SIGKILL (default 3000 ms). */
  graceMs?: number;
  /** Where lines go (default: stage stdout to stdout, everything else to stderr). */
  print?: Printer;
  /** Channel statistics for progress and the summary (default: defaultStat, see stat.ts). */
  stat?: ChannelStatFn;
}

/** What the core says when a writer's readers have all left (src/ring.c). */
const READERS_LEFT = "Every reader has left the channel";

/** Runs so far per pipeline name in this process: the second run of a name gets segment names of its own. */
const runs = new Map<string, number>();

export async function run(pipeline: Pipeline, options: RunOptions = {}): Promise<Summary> {
  checkShape(pipeline);
  const runNumber = (runs.get(pipeline.name) ?? 0) + 1;
  runs.set(pipeline.name, runNumber);
  const segments = new Map(pipeline.endpoints.map((endpoint) => [endpoint.name, segmentName(pipeline.name, runNumber, endpoint.name)]));
  // Every command first (Go builds included): a failure here leaves nothing.
  const commands = new Map<StageSpec, Awaited<ReturnType<typeof commandOf>>>();
  for (const stage of pipeline.stages) if (stage.kind !== "fn") commands.set(stage, await commandOf(stage, stage.options.cwd ?? pipeline.cwd, segments, pipeline.tools));

  const started = performance.now();
  const channels = pipeline.endpoints.flatMap((endpoint) => (endpoint.kind === "channel" ? [endpoint] : []));
  const tables = pipeline.endpoints.filter((endpoint) => endpoint.kind === "table");
  const created: Segment[] = [];
  const stat = options.stat ?? defaultStat;
  const mode = options.quiet ? "off" : (options.progress ?? "auto");
  const statusLine = mode === "tty" || (mode === "auto" && process.stderr.isTTY === true);
  const display = new Display(options.print ?? defaultPrinter, statusLine);
  const progress = new Progress(channels.map((channel) => ({ local: channel.name, segment: segments.get(channel.name)!, expectedRecords: channel.expectedRecords })), stat, display);
  const sink: LineSink = (stage, stream, line) => display.stageLine(stage, stream, line);
  const running: { spec: StageSpec; stage: RunningStage }[] = [];
  // How each stage ended, whether the runner had stopped it, and in which order they ended.
  const outcomes = new Map<RunningStage, { outcome: Outcome; stopped: boolean; order: number }>();
  let cause: { spec: StageSpec; stage: RunningStage; outcome: Outcome } | null = null;
  let interrupted: StopSignal | null = null;
  let stopping = false;
  let killTimer: ReturnType<typeof setTimeout> | null = null;
  let uninstall = () => {};
  let finalStats: Map<string, ReturnType<ChannelStatFn>> = new Map();
  let gate: StartGate | null = null;

  const killAll = () => {
    for (const { stage } of running) if (!outcomes.has(stage)) stage.kill();
  };
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const { stage } of running) if (!outcomes.has(stage)) stage.stop();
    killTimer = setTimeout(killAll, options.graceMs ?? 3000);
  };
  // A writer stage that has ended (however) writes no more: its channels
  // are ended for their readers, so that none waits for ever on a writer
  // that never came or died. (Attaching fails, harmlessly, when the
  // writer closed the channel itself or another live process holds it.)
  const endChannelsOf = (spec: StageSpec) => {
    for (const endpoint of spec.options.writes ?? []) {
      if (endpoint.kind !== "channel") continue;
      try {
        openWriter(segments.get(endpoint.name)!).close({ timeoutMs: 0 });
      } catch {
        // closed already, or held by a live writer: its readers are not stranded
      }
    }
  };

  try {
    for (const channel of channels) created.push(Segment.create(segments.get(channel.name)!, { capacity: channel.capacity, mode: channel.mode }));
    // A stage publishes each table (to outlive itself); the runner answers for the name, also if it exits early.
    for (const table of tables) removeAtExit(segments.get(table.name)!);
    // A reader stage's pid once it started ("fn" for a function stage).
    const pidOf = (name: string) => () => {
      const entry = running.find(({ spec }) => spec.name === name);
      return entry?.spec.kind === "fn" ? "fn" : (entry?.stage.pid ?? null);
    };
    gate = new StartGate(channels.map((channel) => ({
      segment: segments.get(channel.name)!,
      readers: pipeline.stages.filter((stage) => stage.options.reads?.includes(channel)).map((stage) => ({ name: stage.name, pid: pidOf(stage.name) })),
    })), stat);
    uninstall = onStopSignals((signal, count) => {
      interrupted ??= signal;
      if (count === 1) {
        // One line tells what a signal did, once the run has ended (below).
        // On a terminal the wait till then shows as the status line, which
        // goes when the run ends: it is not a second line.
        progress.stop();
        if (statusLine) display.progress(`shmpipe: ${signal}: stopping pipeline ${pipeline.name} (again to kill at once)`);
        stopAll();
      } else {
        stopAll();
        killAll();
      }
    });
    for (const spec of pipeline.stages) {
      const stage = start(spec, commands, segments, pipeline.cwd, sink);
      running.push({ spec, stage });
      void stage.ended.then((outcome) => {
        outcomes.set(stage, { outcome, stopped: stopping, order: outcomes.size });
        // The failure first: its readers, about to see their stream end,
        // are then stopped stages, not ones that ended well.
        if (!succeeded(outcome) && !stopping) {
          cause = { spec, stage, outcome };
          stopAll();
        }
        gate?.stageEnded(spec.name);
        endChannelsOf(spec);
      });
    }
    gate.start();
    if (mode !== "off" && !stopping) progress.start(options.progressIntervalMs ?? (statusLine ? 250 : 2000));
    await Promise.all(running.map(({ stage }) => stage.ended));
    // Let the outcome handlers above run before reading what they recorded.
    await Promise.resolve();
  } finally {
    // Whatever ended the run, a throw in it too: no stage outlives it, and
    // every segment goes (each step on its own, so that one failing does
    // not keep the next from running).
    const steps: (() => void)[] = [
      () => {
        if (running.some(({ stage }) => !outcomes.has(stage))) {
          stopAll();
          killAll();
        }
      },
      () => killTimer && clearTimeout(killTimer),
      () => gate?.close(),
      () => progress.stop(),
      () => (finalStats = new Map(channels.map((channel) => [channel.name, stat(segments.get(channel.name)!)]))),
      ...created.map((segment) => () => segment.close()),
      ...tables.map((table) => () => removeName(segments.get(table.name)!, "unlink", true)),
      () => uninstall(),
    ];
    for (const step of steps) {
      try {
        step();
      } catch {
        // the next step still runs
      }
    }
  }

  const summary: Summary = {
    pipeline: pipeline.name,
    wallMs: performance.now() - started,
    stages: running.map(({ spec, stage }) => ({ name: spec.name, kind: spec.kind, pid: stage.pid, outcome: outcomes.get(stage)!.outcome, stopped: outcomes.get(stage)!.stopped, outputs: stage.outputs })),
    channels: pipeline.endpoints.map((endpoint) => {
      const last = finalStats.get(endpoint.name) ?? null;
      return { name: endpoint.name, segment: segments.get(endpoint.name)!, kind: endpoint.kind, bytes: last?.bytes ?? null, records: last?.records ?? null };
    }),
    outputs: running.flatMap(({ spec, stage }) => stage.outputs.map((path) => ({ stage: spec.name, path }))),
  };
  if (interrupted) {
    const stopped = summary.stages.filter((stage) => stage.stopped).map((stage) => stage.name);
    display.note(`shmpipe: ${interrupted}: stopped pipeline ${pipeline.name} (${stopped.length ? `stages ${stopped.join(", ")}` : "no stage was still running"}); removed its ${pipeline.endpoints.length === 1 ? "segment" : `${pipeline.endpoints.length} segments`}`);
    process.exit(128 + SIGNAL_NUMBER[interrupted]);
  }
  if (!options.quiet) for (const line of formatSummary(summary)) display.note(line);
  // (Set by the outcome handlers, which the compiler cannot see run.)
  const failed = cause as { spec: StageSpec; outcome: Outcome } | null;
  if (failed) throw failure(failed, commands.get(failed.spec) ?? null, summary, pipeline, (stage) => outcomes.get(running.find((entry) => entry.spec.name === stage)!.stage)!.order);
  return summary;
}

function start(spec: StageSpec, commands: Map<StageSpec, Awaited<ReturnType<typeof commandOf>>>, segments: Map<string, string>, cwd: string, sink: LineSink): RunningStage {
  if (spec.kind === "fn") {
    const names = Object.fromEntries(endpointsOf(spec).map((endpoint) => [endpoint.name, segments.get(endpoint.name)!]));
    return new FnStage(spec.name, spec.fn!, names, sink);
  }
  try {
    return new ChildStage(spec.name, commands.get(spec)!, spec.options.cwd ?? cwd, sink);
  } catch (error) {
    // The program could not be started (not installed, not executable).
    const message = `could not be started: ${error instanceof Error ? error.message : String(error)}`;
    return { name: spec.name, pid: null, outputs: [], ended: Promise.resolve({ status: null, signal: null, error: message, notStarted: true, stderrTail: [], wallMs: 0 }), stop() {}, kill() {} };
  }
}

/**
 * When the interpreter could not start or lacks a module the script
 * imports: which one ran, chosen how, and how to choose another.
 */
function interpreterHint(command: Command | null, outcome: Outcome): string {
  const interpreter = command?.interpreter;
  if (!interpreter) return "";
  const missing = outcome.notStarted ? "" : missingModule(interpreter.tool, outcome.stderrTail);
  if (missing === null) return "";
  return `\n  its interpreter was ${describeInterpreter(interpreter, command.env)}${missing && `, which has ${missing}`}: ${howToChoose(interpreter.tool)}`;
}

/** The error of a failed run: the first stage that failed, and what it left on stderr. */
function failure(cause: { spec: StageSpec; outcome: Outcome }, command: Command | null, summary: Summary, pipeline: Pipeline, order: (stage: string) => number): PipelineError {
  const { spec, outcome } = cause;
  const what = spec.kind === "fn" ? "fn" : `${spec.kind} ${spec.target}`;
  const stopped = summary.stages.filter((stage) => stage.stopped).map((stage) => stage.name);
  // A writer that failed because its readers left (the core's sentence for
  // it, the same in every binding) was stopped by them: say who.
  const readersLeft = outcome.stderrTail.some((line) => line.includes(READERS_LEFT));
  const gone = (spec.options.writes ?? []).flatMap((endpoint) => {
    const readers = pipeline.stages.filter((stage) => stage.options.reads?.includes(endpoint)).map((stage) => stage.name);
    return readersLeft && readers.every((reader) => order(reader) < order(spec.name)) ? [`"${endpoint.name}" (${readers.join(", ")})`] : [];
  });
  const hint = gone.length ? `\n  (the readers of ${gone.join(", ")} had ended before it: a stage that stops reading ends its writer's stream)` : "";
  const message = `pipeline ${pipeline.name}: stage "${spec.name}" (${what}) ${describeEnd(outcome)}; ${stopped.length ? `stopped ${stopped.join(", ")}` : "no other stage was running"}${hint}${interpreterHint(command, outcome)}${tailBlock(outcome.stderrTail)}`;
  return new PipelineError(message, { stage: spec.name, status: outcome.status, signal: outcome.signal, stderrTail: outcome.stderrTail, summary });
}
