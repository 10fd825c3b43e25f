// The error a failed run rejects with: which stage failed first, how it
// ended, and the last lines of its stderr. Stages stopped because of it are
// in the summary, not in the blame.
import type { Summary } from "./summary.ts";

export interface FailureDetails {
  /** The stage that failed. */
  stage: string;
  /** Its exit status, or null. */
  status: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** The last lines of its stderr. */
  stderrTail: string[];
  /** The run's summary, when stages ran. */
  summary: Summary | null;
}

export interface PipelineError extends FailureDetails {}

/** Never on the stack: capturing the stack "above" it keeps no frame at all. */
function noFrames(): void {}

export class PipelineError extends Error {
  override readonly name = "PipelineError";

  constructor(message: string, details: FailureDetails) {
    super(message);
    // A stage failed, not the caller's code: the stack would only point
    // into the runner, and an uncaught error would print the runner's
    // source around it. Without frames, Bun prints the sentence alone.
    Error.captureStackTrace(this, noFrames);
    // Not enumerable: an uncaught PipelineError prints as its message alone,
    // which already holds the stderr tail.
    for (const [key, value] of Object.entries(details)) Object.defineProperty(this, key, { value, enumerable: false });
  }
}

/** The message's block of stderr lines. */
export function tailBlock(lines: string[]): string {
  return lines.length ? `\n  its stderr ended with:\n${lines.map((line) => `  | ${line}`).join("\n")}` : "\n  (it wrote nothing to stderr)";
}
