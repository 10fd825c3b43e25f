// The main example's "other machine" (pipeline.ts --r-elsewhere): a mount
// namespace of this one with a private tmpfs on /dev/shm (elsewhere.sh),
// where `shmpipe flight serve` listens on 127.0.0.1 and R runs the example's
// statistics. The demo's pipeline pushes its ticks there and pulls R's
// results back over Arrow Flight; nothing can pass through shared memory.
//
// The machine is a process group of its own. Whatever ends this process
// ends it too (its normal end, a failure, Ctrl-C), and its /dev/shm goes
// with its last process.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { eachLine } from "../../lib/pipeline/lines.ts";
import { chooseInterpreter, rscriptCommand } from "../../lib/pipeline/runtimes.ts";

/** What --help and the error say the variant needs. */
export const NEEDS = `root (or CAP_SYS_ADMIN) for unshare --mount and mount -t tmpfs;
as another user, run it in a user namespace of your own:
unshare --map-root-user npm run demo -- --r-elsewhere`;

export interface Machine {
  /** Its Flight server, grpc://127.0.0.1:PORT. */
  readonly address: string;
  /** A pipeline stage's body: ends when R ended well, throws when it failed; stops the machine when `signal` fires. */
  supervise(context: { signal: AbortSignal; log(line: string): void }): Promise<void>;
  /** Ends every process of the machine: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/** Starts the machine and resolves once its server listens; throws, saying what is needed, when it cannot start. */
export async function startMachine(repository: string): Promise<Machine> {
  const r = rscriptCommand("examples/market/stats.R", [], process.env, chooseInterpreter("rscript", {}, {}, process.env, repository));
  const child = spawn("unshare", ["--mount", "sh", join(repository, "examples/market/elsewhere.sh"), ...r.argv], {
    cwd: repository, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...r.env, BUN: process.execPath },
  });
  const group = child.pid!;
  const alive = () => {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  };
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-group, signal);
    } catch {
      // gone already
    }
  };
  // A process.exit (a failed run, the runner's end on Ctrl-C) or a signal
  // while no run is on: the machine goes with this process. (During a run
  // the runner takes the signal, and stops the machine's stage.)
  const killAll = () => kill("SIGKILL");
  const onSignal = (signal: keyof typeof SIGNALS) => {
    if (process.listenerCount(signal) > 1) return;
    killAll();
    console.error(`shmpipe demo: ${signal}: stopped the other machine`);
    process.exit(128 + SIGNALS[signal]);
  };
  process.on("exit", killAll);
  for (const signal of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) process.on(signal, onSignal);
  const forget = () => {
    process.off("exit", killAll);
    for (const signal of Object.keys(SIGNALS)) process.off(signal, onSignal);
  };

  // Its lines, "[elsewhere] …", on stderr until a stage's log takes them.
  let print = (line: string) => console.error(`[elsewhere] ${line}`);
  const stderr: string[] = [];
  let listening: (address: string) => void;
  const address = new Promise<string>((resolve) => (listening = resolve));
  void eachLine(child.stdout!, (line) => {
    if (line.startsWith("listening on ")) listening(line.slice("listening on ".length));
    print(line);
  });
  void eachLine(child.stderr!, (line) => {
    stderr.push(line);
    print(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const stop = async (graceMs = 3000) => {
    kill("SIGTERM");
    for (const deadline = Date.now() + graceMs; alive() && Date.now() < deadline;) await Bun.sleep(20);
    killAll();
    while (alive()) await Bun.sleep(10);
    forget();
  };
  const started = await Promise.race([address, exited]);
  if (typeof started !== "string") {
    await stop(0);
    const said = stderr.filter((line) => /unshare|mount|permission|not permitted/i.test(line)).at(-1) ?? stderr.at(-1) ?? `it ended with ${started.signal ?? `status ${started.code}`}`;
    throw new Error(`the other machine did not start: ${said}. It needs ${NEEDS.replaceAll("\n", " ")}`);
  }
  return {
    address: started,
    stop,
    async supervise({ signal, log }) {
      print = log;
      const stopped = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      const end = await Promise.race([exited, stopped]);
      // Stopped: the stage ends once every process of the machine has (the
      // runner, then this process, end after it; within its grace period).
      if (!end) return stop(1500);
      // R ran in the foreground of elsewhere.sh: its end is the machine's
      // work done; the server goes on until stop(), for the results to be
      // fetched (or for the runner to stop the others first when R failed).
      if (end.code !== 0) throw new Error(`R on the other machine ended with ${end.signal ?? `status ${end.code}`}`);
    },
  };
}
