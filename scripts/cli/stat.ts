// shmpipe stat NAME: one segment's snapshot, taken without joining it.
import { stat as statOf } from "../../lib/index.ts";
import { bytes, type Command, parse, printJson, UsageError } from "./common.ts";
import { peer, state, writer } from "./describe.ts";

export const stat: Command = {
  summary: "one segment in detail (--json for scripts)",
  help: `usage: shmpipe stat NAME [--json]

Shows one segment without joining it: kind, size and capacity, the
creator (pid, uid, alive), the writer and every reader attached (pid,
alive), records and bytes committed, records and bytes in flight, and
its state. A segment that is not a readable shmpipe segment is an error.

  --json  the full snapshot as one JSON object`,
  async run(args) {
    const { values, positionals } = parse(args, { json: { type: "boolean" } });
    if (positionals.length !== 1) throw new UsageError("stat takes one NAME");
    const s = statOf(positionals[0]!);
    if (values.json) {
      printJson(s);
      return 0;
    }
    const lines: [string, string][] = [
      ["name", s.name],
      ["kind", s.kind],
      ["state", state(s)],
      ["size", `${bytes(s.size)} (ring ${bytes(s.capacity)})`],
      ["creator", `${peer(s.creator)}, uid ${s.creator.uid}`],
      ["writer", writer(s)],
      ["readers", s.readers.length === 0 ? `none attached (${s.readersEver} ever)` : `${s.readers.map(peer).join(", ")} (${s.readersEver} ever)`],
      ["committed", `${s.committedRecords} records, ${bytes(s.committedBytes)} of ring`],
      ["in flight", s.kind === "table" ? "- (a table's records stay)" : `${s.recordsInFlight} records, ${bytes(s.bytesInFlight)}`],
    ];
    for (const [key, value] of lines) console.log(`${`${key}:`.padEnd(11)}${value}`);
    return 0;
  },
};
