// shmpipe run FILE [args...]: runs a pipeline script with the runtime this
// command runs under, as `bun FILE` (or `deno run -A FILE`) would, passing on SIGINT, SIGTERM, SIGHUP and SIGQUIT and its exit status.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { bunCommand, denoCommand } from "../../lib/pipeline/runtimes.ts";
import { type Command, UsageError } from "./common.ts";

export const run: Command = {
  summary: "run a pipeline script with bun, or deno under deno (signals passed on, its exit status returned)",
  help: `usage: shmpipe run FILE [ARGS...]

Runs FILE (a TypeScript or JavaScript pipeline script) with bun and ARGS
(with \`deno run -A\` when this command runs under Deno),
its output and input as this command's. SIGINT, SIGTERM, SIGHUP and
SIGQUIT sent to this command are passed on to the script once each (it runs in a session of its
own, so a Ctrl-C at the terminal reaches it once, through this command).
The exit status is the script's, or 128 + the signal that ended it.`,
  async run(args) {
    // Everything after FILE is the script's, --help included.
    if (args[0] === "--help" || args[0] === "-h") {
      console.log(this.help);
      return 0;
    }
    const [file, ...rest] = args;
    if (file === undefined) throw new UsageError("run takes a FILE to run");
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    return runScript(file, rest);
  },
};

/** Runs `file` with this Bun (or Deno) and `args`, passing on SIGINT, SIGTERM, SIGHUP and SIGQUIT; its exit status, or 128 + its signal. */
export async function runScript(file: string, args: string[]): Promise<number> {
  const [program, ...argv] = (process.versions.deno ? denoCommand : bunCommand)(file, args, process.env).argv;
  const child = spawn(program!, argv, { stdio: "inherit", detached: true });
  // The script runs in a session of its own: what ends this command is passed on (a closed terminal's SIGHUP too).
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
  const handlers = signals.map((signal) => [signal, () => child.kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    const end = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      child.once("error", resolve);
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    if (end instanceof Error) throw end;
    if (end.signal) return 128 + (constants.signals[end.signal] ?? 0);
    return end.code ?? 1;
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
