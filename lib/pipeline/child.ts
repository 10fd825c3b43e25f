// A stage that is a child process. Each child runs in a process group of
// its own (detached), so that Ctrl-C at the terminal reaches the runner
// only: the runner decides how its stages stop, and stages do not print
// their own interrupt tracebacks. Stopping signals the whole group, so a
// stage's own helpers stop with it. Started with node:child_process, which
// Bun and Deno both have, so the runner runs under either.
import { type ChildProcess, spawn } from "node:child_process";
import type { Command } from "./runtimes.ts";
import { eachLine, Tail } from "./lines.ts";
import { OUTPUT_LINE, type Outcome, type RunningStage } from "./stage.ts";

export type LineSink = (stage: string, stream: "stdout" | "stderr", line: string) => void;

export class ChildStage implements RunningStage {
  readonly pid: number | null;
  readonly outputs: string[] = [];
  readonly ended: Promise<Outcome>;
  readonly #child: ChildProcess;
  #exited = false;

  constructor(readonly name: string, command: Command, cwd: string, sink: LineSink) {
    const started = performance.now();
    const [program, ...args] = command.argv;
    this.#child = spawn(program!, args, { cwd, env: definedOnly(command.env), stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.pid = this.#child.pid ?? null;
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
      eachLine(this.#child.stdout!, (line) => {
        if (line.startsWith(OUTPUT_LINE)) this.outputs.push(line.slice(OUTPUT_LINE.length).trim());
        else show("stdout", line);
      }),
      eachLine(this.#child.stderr!, (line) => {
        tail.push(line);
        show("stderr", line);
      }),
    ]).catch(() => {}); // a stream that fails ends the output, not the outcome
    const exited = new Promise<{ status: number | null; signal: string | null } | Error>((resolve) => {
      this.#child.once("exit", (status, signal) => resolve({ status, signal }));
      // Not started (no such program, not executable): no exit follows.
      this.#child.once("error", (error) => {
        if (this.pid === null) resolve(error);
      });
    });
    // The output streams end when the last process holding them does: a
    // grandchild could keep them open, so the end is the child's exit
    // plus whatever output is already on its way (bounded).
    this.ended = exited.then(async (end) => {
      this.#exited = true;
      if (end instanceof Error) {
        return { status: null, signal: null, error: `could not be started: ${end.message}`, notStarted: true, stderrTail: [], wallMs: 0 };
      }
      // (A timer cleared once the streams end: a pending one would keep the runner's process alive.)
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([streams, new Promise((done) => (timer = setTimeout(done, 500)))]);
      clearTimeout(timer);
      const { status, signal } = end;
      return { status: signal ? null : status, signal, stderrTail: tail.lines, wallMs: performance.now() - started };
    });
  }

  stop(): void {
    this.#signal("SIGTERM");
  }

  kill(): void {
    this.#signal("SIGKILL");
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#exited || this.pid === null) return;
    try {
      process.kill(-this.pid, signal); // the group: the stage and what it started
    } catch {
      this.#child.kill(signal); // the group is gone already; the child may still be exiting
    }
  }
}

/** The environment without unset variables (child_process would pass "undefined"). */
function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
