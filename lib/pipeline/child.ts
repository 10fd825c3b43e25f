// A stage that is a child process. Each child runs in a process group of
// its own (detached), so that Ctrl-C at the terminal reaches the runner
// only: the runner decides how its stages stop, and stages do not print
// their own interrupt tracebacks. Stopping signals the whole group, so a
// stage's own helpers stop with it.
import type { Command } from "./runtimes.ts";
import { eachLine, Tail } from "./lines.ts";
import { OUTPUT_LINE, type Outcome, type RunningStage } from "./stage.ts";

export type LineSink = (stage: string, stream: "stdout" | "stderr", line: string) => void;

export class ChildStage implements RunningStage {
  readonly pid: number;
  readonly outputs: string[] = [];
  readonly ended: Promise<Outcome>;
  readonly #child: Bun.Subprocess<"ignore", "pipe", "pipe">;

  constructor(readonly name: string, command: Command, cwd: string, sink: LineSink) {
    const started = performance.now();
    this.#child = Bun.spawn(command.argv, {
      cwd, env: command.env, stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true,
    });
    this.pid = this.#child.pid;
    const tail = new Tail();
    // A sink that throws (a broken pipe under the runner) loses that line, never the stage's outcome.
    const show = (stream: "stdout" | "stderr", line: string) => {
      try {
        sink(name, stream, line);
      } catch {
        // the line is lost; the stage goes on
      }
    };
    const streams = Promise.all([
      eachLine(this.#child.stdout, (line) => {
        if (line.startsWith(OUTPUT_LINE)) this.outputs.push(line.slice(OUTPUT_LINE.length).trim());
        else show("stdout", line);
      }),
      eachLine(this.#child.stderr, (line) => {
        tail.push(line);
        show("stderr", line);
      }),
    ]).catch(() => {}); // a stream that fails ends the output, not the outcome
    // The output streams end when the last process holding them does: a
    // grandchild could keep them open, so the end is the child's exit
    // plus whatever output is already on its way (bounded).
    this.ended = this.#child.exited.then(async (status) => {
      // (A timer cleared once the streams end: a pending one would keep the runner's process alive.)
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([streams, new Promise((done) => (timer = setTimeout(done, 500)))]);
      clearTimeout(timer);
      const signal = this.#child.signalCode;
      return { status: signal ? null : status, signal: signal ? String(signal) : null, stderrTail: tail.lines, wallMs: performance.now() - started };
    });
  }

  stop(): void {
    this.#signal("SIGTERM");
  }

  kill(): void {
    this.#signal("SIGKILL");
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    try {
      process.kill(-this.pid, signal); // the group: the stage and what it started
    } catch {
      this.#child.kill(signal); // the group is gone already; the child may still be exiting
    }
  }
}
