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

export class PipelineError extends Error {
  override readonly name = "PipelineError";

  constructor(message: string, details: FailureDetails) {
    super(message);
    // Not enumerable: an uncaught PipelineError prints as its message alone,
    // which already holds the stderr tail.
    for (const [key, value] of Object.entries(details)) Object.defineProperty(this, key, { value, enumerable: false });
  }
}

/** The message's block of stderr lines. */
export function tailBlock(lines: string[]): string {
  return lines.length ? `\n  its stderr ended with:\n${lines.map((line) => `  | ${line}`).join("\n")}` : "\n  (it wrote nothing to stderr)";
}
