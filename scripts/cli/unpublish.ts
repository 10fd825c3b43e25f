// shmpipe unpublish NAME...: removes published tables by name.
import { ShmpipeError, unpublish as unpublishTable } from "../../lib/index.ts";
import { type Command, parse, UsageError } from "./common.ts";

export const unpublish: Command = {
  summary: "remove published tables by name (persistent ones outlive their publisher)",
  help: `usage: shmpipe unpublish NAME...

Removes each published table's name; processes that opened it keep their
data. A channel is refused (use \`shmpipe rm\` for any segment).`,
  async run(args) {
    const { positionals } = parse(args, {});
    if (positionals.length === 0) throw new UsageError("unpublish takes at least one NAME");
    let failed = false;
    for (const name of positionals) {
      try {
        unpublishTable(name);
      } catch (error) {
        if (!(error instanceof ShmpipeError)) throw error;
        console.error(`shmpipe unpublish: ${error.message}`);
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};
