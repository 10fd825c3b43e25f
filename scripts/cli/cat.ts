// shmpipe cat NAME: a published table's rows, read in place without
// disturbing it; or, with --consume, a channel's records as this process
// reads them as one more reader. Everything read is checked by the core
// first (lib's openTable and consume).
import { consume, openReader, openTable, stat } from "../../lib/index.ts";
import { bytes, type Command, count, parse, UsageError } from "./common.ts";
import { byteRecord, type Format, FORMATS, print, records } from "./rows.ts";

/** Rows a pretty table of a published table shows unless --limit says otherwise. */
const TABLE_ROWS = 50;
/** Rows decoded at a time from a published table: bounded memory for any size. */
const CHUNK = 10_000;

export const cat: Command = {
  summary: "print a published table, or (--consume) a channel's records, as a table, JSON lines or CSV",
  help: `usage: shmpipe cat NAME [--format table|jsonl|csv] [--limit N] [--consume] [--timeout-ms MS]

A published table: prints its rows, read in place; the table is not
changed and its readers are not disturbed. The table format shows the
first ${TABLE_ROWS} rows unless --limit says otherwise.

A channel: its records can only be read by joining it as a reader, which
holds its writer back to this reader's pace and moves where a reader that
joins later starts; so cat does that only when told to, with --consume. It
then prints Arrow batches as rows and other records as their length and
text (or hex), as they come, until the writer closes the channel, --limit
rows or records have been printed, or Ctrl-C. It reads from the oldest
record another reader still holds (an Arrow stream from the writer's next
schema on).

  --format F      table (default), jsonl (one JSON object per row) or csv
  --limit N       print at most N rows (Arrow) or records (bytes)
  --consume       join a channel as a reader and print what it reads
  --timeout-ms MS with --consume: give up when no record comes for MS ms
                  (default: wait as long as the writer lives)`,
  async run(args) {
    const { values, positionals } = parse(args, {
      format: { type: "string" },
      limit: { type: "string" },
      consume: { type: "boolean" },
      "timeout-ms": { type: "string" },
    });
    if (positionals.length !== 1) throw new UsageError("cat takes one NAME");
    const format = (values.format ?? "table") as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format is one of ${FORMATS.join(", ")}, not "${values.format}"`);
    const limit = values.limit === undefined ? undefined : count(values.limit, "limit", 0);
    const timeout = values["timeout-ms"] === undefined ? Infinity : count(values["timeout-ms"], "timeout-ms", 0);
    const name = positionals[0]!;
    const s = stat(name); // the core's look, without joining: what is it?
    if (s.kind === "table") return catTable(name, format, limit ?? (format === "table" ? TABLE_ROWS : Infinity));
    if (!values.consume) {
      console.error(
        `shmpipe cat: "${name}" is a channel (${s.recordsInFlight} records, ${bytes(s.bytesInFlight)} in flight): its records can only be read by joining it as a reader, which changes what its writer and later readers see. Run \`shmpipe cat --consume ${name}\` to join and print what comes, or \`shmpipe stat ${name}\` to look without joining.`,
      );
      return 1;
    }
    return catChannel(name, format, limit ?? Infinity, timeout);
  },
};

function catTable(name: string, format: Format, limit: number): number {
  const table = openTable(name, { allowOtherOwner: true });
  const names = table.schema.fields.map((f) => f.name);
  const shown = Math.min(limit, table.numRows);
  if (format === "table") {
    print(format, names, records(table, 0, shown), true);
    if (shown < table.numRows) console.log(`... ${(table.numRows - shown).toLocaleString("en-US")} more rows of ${table.numRows.toLocaleString("en-US")} (--limit N shows more)`);
    return 0;
  }
  for (let from = 0; from < shown; from += CHUNK) print(format, names, records(table, from, Math.min(CHUNK, shown - from)), from === 0);
  return 0;
}

async function catChannel(name: string, format: Format, limit: number, timeoutMs: number): Promise<number> {
  using reader = openReader(name, { allowOtherOwner: true });
  // Ctrl-C and SIGTERM end the wait: the reader leaves the channel cleanly.
  let signalled = 0;
  const stop = (code: number) => () => {
    signalled = code;
    reader.close();
  };
  const onInt = stop(130), onTerm = stop(143);
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    let printed = 0, index = 0;
    let header = ""; // what the last header was printed for: the columns, or "bytes"
    for await (const received of consume(reader, { timeoutMs })) {
      if (printed >= limit) break; // --limit 0: nothing
      if (received.kind === "bytes") {
        const row = byteRecord(index++, received.bytes);
        const names = format === "table" ? ["record", "bytes", row.utf8 !== null ? "utf8" : "hex"] : ["record", "bytes", "utf8", "hex"];
        const key = format === "table" ? "bytes" : names.join();
        if (format === "table") {
          if (header !== key) console.log("RECORD       BYTES  CONTENT");
          console.log(`${String(row.record).padStart(6)}  ${String(row.bytes).padStart(10)}  ${row.utf8 !== null ? JSON.stringify(row.utf8) : row.hex}`);
        } else print(format, names, [row], header !== key);
        header = key;
        if (++printed >= limit) break;
        continue;
      }
      const batch = received.batch;
      const names = batch.schema.fields.map((f) => f.name);
      const take = Math.min(batch.numRows, limit - printed);
      const key = names.join();
      if (format === "table") console.log(`-- batch ${index++}: ${batch.numRows} rows`);
      print(format, names, records(batch, 0, take), format === "table" || header !== key);
      header = key;
      printed += take;
      if (printed >= limit) break;
    }
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
  return signalled;
}
