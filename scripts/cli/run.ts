// shmpipe run FILE [args...]: runs a pipeline script with the runtime this
// command runs under, as `bun FILE` (or `deno run -A FILE`) would, passing on SIGINT, SIGTERM, SIGHUP and SIGQUIT and its exit status.
import { existsSync } from "node:fs";
import { bunCommand, denoCommand } from "../../lib/pipeline/runtimes.ts";
import { type Command, runPassingSignals, UsageError } from "./common.ts";

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
  const { argv } = (process.versions.deno ? denoCommand : bunCommand)(file, args, process.env);
  // The script runs in a session of its own: what ends this command is passed on (a closed terminal's SIGHUP too).
  return runPassingSignals(argv, ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"], { session: true });
}
