// shmpipe ls: every shmpipe segment in /dev/shm, looked at without joining.
import { survey } from "../../lib/index.ts";
import { bytes, columns, type Command, parse, printJson, UsageError } from "./common.ts";
import { errorJson, inFlight, peer, readers, state, writer } from "./describe.ts";

export const ls: Command = {
  summary: "list shmpipe segments: kind, size, owner, creator, writer, readers, records in flight, state",
  help: `usage: shmpipe ls [--prefix PREFIX] [--json]

Lists the shmpipe segments in /dev/shm (channels and published tables)
without joining any: kind, size, owner uid, creator pid and whether it is
alive, the writer and the readers attached (alive/attached), records
committed, records and bytes in flight (committed, not yet released by the
slowest live reader), and the state (open/closed, sealed, persistent,
stale: gc would remove it). A file that is not a readable shmpipe segment
is listed with the reason, and its sentence goes to stderr.

  --prefix PREFIX  only names that start with PREFIX
  --json           a JSON array: each segment's full snapshot, or {name, error}`,
  async run(args) {
    const { values, positionals } = parse(args, { prefix: { type: "string" }, json: { type: "boolean" } });
    if (positionals.length > 0) throw new UsageError(`ls takes no operands (got "${positionals[0]}"); use --prefix to filter`);
    const entries = survey(values.prefix ?? "");
    if (values.json) {
      printJson(entries.map((e) => (e.stat ? e.stat : errorJson(e.name, e.error))));
      return 0;
    }
    if (entries.length === 0) {
      console.log(values.prefix ? `no shmpipe segments whose names start with "${values.prefix}"` : "no shmpipe segments");
      return 0;
    }
    const rows = entries.map((e) => {
      const s = e.stat;
      if (!s) return [e.name, "?", "", "", "", "", "", "", "", `unreadable: ${e.error.code}`];
      return [s.name, s.kind, bytes(s.size), String(s.creator.uid), peer(s.creator), s.kind === "table" ? "-" : writer(s), readers(s), String(s.committedRecords), inFlight(s), state(s)];
    });
    console.log(columns(["NAME", "KIND", "SIZE", "UID", "CREATOR", "WRITER", "READERS", "RECORDS", "IN FLIGHT", "STATE"], rows, [false, false, true, true, false, false, false, true, true, false]));
    for (const e of entries) if (e.error) console.error(e.error.message);
    return 0;
  },
};
