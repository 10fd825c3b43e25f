// What the supervisor knows of a running stage, whether it is a child
// process or a function in this process: how it ended, and how to stop it.

/** How a stage ended. */
export interface Outcome {
  /** Exit status, or null if a signal ended it (or it is a function that threw). */
  status: number | null;
  /** The signal that ended it ("SIGKILL"), or null. */
  signal: string | null;
  /** For a function stage that threw, or a program that could not be started: what happened. */
  error?: string;
  /** True if the program could not be started at all (not found, not executable). */
  notStarted?: boolean;
  /** The last lines of its stderr (for a function stage: of its error). */
  stderrTail: string[];
  /** Milliseconds from start to end. */
  wallMs: number;
}

export interface RunningStage {
  readonly name: string;
  /** The process id of a child stage (a function stage has none of its own). */
  readonly pid: number | null;
  /** Output files the stage reported. */
  readonly outputs: string[];
  /** Settles (never rejects) when the stage has ended. */
  readonly ended: Promise<Outcome>;
  /** Asks it to stop (SIGTERM to a child's process group; aborts a function's signal). */
  stop(): void;
  /** Ends it now (SIGKILL to a child's process group). A function cannot be killed: it is abandoned. */
  kill(): void;
}

/** A stage prints `shmpipe-output: <path>` on stdout to report an output file (listed in the summary). */
export const OUTPUT_LINE = "shmpipe-output: ";

/** Did the stage end well? */
export function succeeded(outcome: Outcome): boolean {
  return outcome.status === 0 && outcome.signal === null && outcome.error === undefined;
}

/** "exited with status 1", "was killed by SIGKILL", "threw: ..." */
export function describeEnd(outcome: Outcome): string {
  if (outcome.notStarted) return outcome.error!;
  if (outcome.error !== undefined) return `threw ${outcome.error}`;
  if (outcome.signal) return `was killed by ${outcome.signal}`;
  return `exited with status ${outcome.status}`;
}
