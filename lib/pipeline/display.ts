// Where a run's text goes: stage lines (prefixed with the stage's name),
// the progress, and the runner's own notes. On a terminal the progress is
// one status line kept at the bottom, redrawn in place; stage lines are
// printed above it. Otherwise progress comes as plain lines now and then.
export type Stream = "stdout" | "stderr";
export type Printer = (line: string, stream: Stream) => void;

export const defaultPrinter: Printer = (line, stream) => {
  (stream === "stdout" ? process.stdout : process.stderr).write(`${line}\n`);
};

export class Display {
  #status = "";

  /** `statusLine`: keep the progress as one line redrawn on stderr (a terminal). */
  constructor(readonly print: Printer, readonly statusLine: boolean) {}

  /** A line of a stage's output. */
  stageLine(stage: string, stream: Stream, line: string): void {
    this.#aboveStatus(() => this.print(`[${stage}] ${line}`, stream));
  }

  /** A line from the runner (progress when not on a terminal, the summary, notes). */
  note(line: string): void {
    this.#aboveStatus(() => this.print(line, "stderr"));
  }

  /** The progress: the status line on a terminal, else a plain line. */
  progress(text: string): void {
    if (!this.statusLine) return this.note(text);
    this.#status = text;
    process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 100) - 1)}`);
  }

  /** Removes the status line for good. */
  close(): void {
    if (this.#status) process.stderr.write("\r\x1b[2K");
    this.#status = "";
  }

  #aboveStatus(write: () => void): void {
    if (!this.#status) return write();
    process.stderr.write("\r\x1b[2K");
    write();
    this.progress(this.#status);
  }
}
