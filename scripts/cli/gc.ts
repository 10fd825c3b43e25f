// shmpipe gc: removes the segments nobody uses any more (the core decides
// which: creator and every attached peer dead, not a persistent table).
import { collectGarbage } from "../../lib/index.ts";
import { bytes, type Command, parse, printJson, UsageError } from "./common.ts";

export const gc: Command = {
  summary: "remove stale segments: creator and every peer dead, not a persistent table",
  help: `usage: shmpipe gc [--dry-run] [--prefix PREFIX] [--json]

Removes every shmpipe segment whose creator and every attached peer
(writer, readers) are dead and that is not a persistent published table,
as \`shmpipe ls\` marks them "stale". Live segments, persistent tables
and files that are not readable shmpipe segments are left alone.

  --dry-run        say what would be removed, remove nothing
  --prefix PREFIX  only names that start with PREFIX
  --json           a JSON array of the snapshots of what was (or would be) removed`,
  async run(args) {
    const { values, positionals } = parse(args, { "dry-run": { type: "boolean" }, prefix: { type: "string" }, json: { type: "boolean" } });
    if (positionals.length > 0) throw new UsageError(`gc takes no operands (got "${positionals[0]}"); use --prefix to limit it`);
    const dryRun = values["dry-run"] === true;
    const removed = collectGarbage({ dryRun, prefix: values.prefix ?? "" });
    if (values.json) {
      printJson(removed);
      return 0;
    }
    for (const s of removed) {
      const records = s.kind === "table" ? `${s.committedRecords} records` : `${s.recordsInFlight} records unread`;
      console.log(`${dryRun ? "would remove" : "removed"} ${s.name} (${s.kind}, ${bytes(s.size)}, ${records}; creator pid ${s.creator.pid} exited)`);
    }
    console.log(removed.length === 0 ? "gc: nothing stale" : `gc: ${dryRun ? "would remove" : "removed"} ${removed.length} stale segment${removed.length === 1 ? "" : "s"}`);
    return 0;
  },
};
