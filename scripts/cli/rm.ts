// shmpipe rm NAME...: removes segments' names, after the core checked that
// each is a shmpipe segment.
import { remove, ShmpipeError } from "../../lib/index.ts";
import { type Command, parse, UsageError } from "./common.ts";

export const rm: Command = {
  summary: "remove segments by name (refuses files that are not shmpipe segments)",
  help: `usage: shmpipe rm NAME...

Removes each named segment from /dev/shm, channel or table, in use or not
(processes that have it mapped keep it; new ones cannot open it). A file
named like a segment that is not one (a bad header) is refused. For
segments nobody uses any more, \`shmpipe gc\` finds them for you.`,
  async run(args) {
    const { positionals } = parse(args, {});
    if (positionals.length === 0) throw new UsageError("rm takes at least one NAME");
    let failed = false;
    for (const name of positionals) {
      try {
        remove(name);
        console.log(`removed ${name}`);
      } catch (error) {
        if (!(error instanceof ShmpipeError)) throw error;
        console.error(`shmpipe rm: ${error.message}`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};
