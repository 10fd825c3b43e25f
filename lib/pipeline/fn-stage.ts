// A stage that is an async function in the runner's own process. It gets
// its channels' names, an AbortSignal that fires when the run stops, and a
// log that prints with its prefix. It cannot be killed: a function that
// does not end within the grace period after stop is abandoned (the run
// ends without it). Its waits on channels end anyway when their peers stop
// (the supervisor closes channels whose writer is gone, see pipeline.ts).
import { inspect } from "node:util";
import type { LineSink } from "./child.ts";
import type { Outcome, RunningStage } from "./stage.ts";

export interface StageContext {
  /** The stage's name. */
  stage: string;
  /** Segment name of each channel and table the stage declared, by local name. */
  channels: Record<string, string>;
  /** Aborted when the run stops (a stage failed, or Ctrl-C). */
  signal: AbortSignal;
  /** Prints a line with the stage's prefix. */
  log(...values: unknown[]): void;
  /** Reports an output file (listed in the summary). */
  output(path: string): void;
}

export type StageFunction = (context: StageContext) => Promise<void> | void;

export class FnStage implements RunningStage {
  readonly pid = null;
  readonly outputs: string[] = [];
  readonly ended: Promise<Outcome>;
  readonly #abort = new AbortController();
  #abandon!: () => void;

  constructor(readonly name: string, fn: StageFunction, channels: Record<string, string>, sink: LineSink) {
    const started = performance.now();
    const context: StageContext = {
      stage: name,
      channels,
      signal: this.#abort.signal,
      log: (...values) => sink(name, "stdout", values.map((value) => (typeof value === "string" ? value : inspect(value))).join(" ")),
      output: (path) => void this.outputs.push(path),
    };
    const abandoned = new Promise<Outcome>((resolve) => {
      this.#abandon = () => resolve({ status: null, signal: null, error: "(did not stop: abandoned)", stderrTail: [], wallMs: performance.now() - started });
    });
    const run = (async (): Promise<Outcome> => {
      try {
        await fn(context);
        return { status: 0, signal: null, stderrTail: [], wallMs: performance.now() - started };
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return { status: null, signal: null, error: message.split("\n")[0]!, stderrTail: message.split("\n"), wallMs: performance.now() - started };
      }
    })();
    this.ended = Promise.race([run, abandoned]);
  }

  stop(): void {
    this.#abort.abort();
  }

  kill(): void {
    this.#abort.abort();
    this.#abandon();
  }
}
