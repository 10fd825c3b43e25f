// The TypeScript peer of the conformance matrix, the same program under
// Bun and under Deno (it uses no runtime's own API). The same command line
// as every peer (peer.py, peer.go, peer.R):
//
//   peer ROLE SCENARIO CHANNEL
//
// ROLE: write-bytes, read-bytes, write-arrow, read-arrow, publish,
// open-table. Writers and publishers create CHANNEL, print "ready", and
// go on at each line on stdin (see scenarios.json); readers open it, print
// "ready", and print one canonical JSON line at the end.
import { Table } from "apache-arrow";
import process from "node:process";
import { createInterface } from "node:readline";
import { ArrowReader, ArrowWriter, createReader, createWriter, openReader, openTable, openWriter, publish, ShmpipeError, unpublish } from "../../lib/index.ts";
import { batchesOf, batchOf, canonical, record, recordSizes, scenarios, schemaOf, tables, type Scenario } from "./scenarios.ts";

const [role, scenarioName, channel] = process.argv.slice(2);
const scenario: Scenario | undefined = scenarios[scenarioName!];
if (!scenario || !channel) throw new Error("usage: peer ROLE SCENARIO CHANNEL");
const TIMEOUT = { timeoutMs: 30_000 };

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function go(): Promise<void> {
  await stdinLines.next();
}

function codeOf(error: unknown): string {
  if (error instanceof ShmpipeError) return error.code;
  throw error;
}

const print = (value: unknown) => console.log(JSON.stringify(value));

// The writer creates the channel, unless the scenario has the reader create it.
const readerCreates = scenario.creator === "reader";
const writerEnd = () => (readerCreates ? openWriter(channel!) : createWriter(channel!, { capacity: scenario!.capacity }));
const readerEnd = () => (readerCreates ? createReader(channel!, { capacity: scenario!.capacity }) : openReader(channel!));

async function writeBytes(): Promise<void> {
  const phases = scenario!.phases!;
  const sizes = recordSizes(phases);
  const writer = writerEnd();
  console.log("ready");
  await go();
  let sent = 0;
  try {
    for (let p = 0; p < phases.length; p++) {
      for (let i = 0; i < phases[p]!.count; i++, sent++) writer.send(record(sent, sizes[sent]!), TIMEOUT);
      if (p === 0) {
        if (scenario!.kind === "writer-killed") {
          const view = writer.claim(4096, TIMEOUT); // killed holding it, half filled
          view.fill(0xee, 0, 2048);
        }
        console.log("half");
        await go();
      }
    }
    writer.close(TIMEOUT);
    print({ sent, error: null });
  } catch (error) {
    print({ sent, error: codeOf(error) });
    writer[Symbol.dispose]();
  }
}

async function readBytes(): Promise<void> {
  const sizes = recordSizes(scenario!.phases!);
  const stopAt = scenario!.kind === "reader-killed" ? scenario!.phases![0]!.count : -1;
  const reader = readerEnd();
  console.log("ready");
  let records = 0, bytes = 0, mismatches = 0;
  let error: string | null = null;
  try {
    for (let message = reader.recvSync(TIMEOUT); message; message = reader.recvSync(TIMEOUT)) {
      const data = message.bytes;
      let same = data.length === sizes[records];
      for (let j = 0; same && j < data.length; j++) same = data[j] === (records * 131 + j) % 251;
      if (!same) mismatches++;
      bytes += data.length;
      message.release();
      records++;
      if (records === stopAt) {
        console.log("half");
        await new Promise(() => {}); // killed here
      }
    }
  } catch (caught) {
    error = codeOf(caught);
  }
  reader.close();
  print({ records, bytes, mismatches, error });
}

async function writeArrow(): Promise<void> {
  const spec = tables[scenario!.table!]!;
  const writer = new ArrowWriter(writerEnd());
  console.log("ready");
  await go();
  let sent = 0;
  try {
    if (scenario!.kind === "late-join") {
      const schema = schemaOf(spec);
      const rows = spec.batches[0]!;
      for (; sent < scenario!.before!; sent++) writer.write(batchOf(spec, schema, sent * rows, rows), TIMEOUT);
      console.log("half");
      await go();
      for (; sent < scenario!.before! + scenario!.after!; sent++) writer.write(batchOf(spec, schema, sent * rows, rows), TIMEOUT);
    } else {
      for (const batch of batchesOf(spec)) { writer.write(batch, TIMEOUT); sent++; }
      console.log("half");
      await go();
    }
    writer.close(TIMEOUT);
    print({ sent, error: null });
  } catch (error) {
    print({ sent, error: codeOf(error) });
  }
}

async function readArrow(): Promise<void> {
  const reader = new ArrowReader(readerEnd());
  console.log("ready");
  if (scenario!.kind === "late-join") {
    const words = tables[scenario!.table!]!.columns[1]!.words!;
    const result = { batches: 0, first: null as number | null, last: null as number | null, problems: 0, error: null as string | null };
    try {
      for (let batch = reader.readSync(TIMEOUT); batch; batch = reader.readSync(TIMEOUT)) {
        const seq = batch.getChild("seq")!, label = batch.getChild("label")!;
        for (let i = 0; i < batch.numRows; i++) {
          const value = Number(seq.get(i));
          if (result.last !== null && value !== result.last + 1) result.problems++;
          if (label.get(i) !== words[value % words.length]) result.problems++;
          result.first ??= value;
          result.last = value;
        }
        result.batches++;
      }
    } catch (error) {
      result.error = codeOf(error);
    }
    reader.close();
    print(result);
    return;
  }
  // Each batch is taken down while held: the next read releases it.
  const result = canonical();
  try {
    for (let batch = reader.readSync(TIMEOUT); batch; batch = reader.readSync(TIMEOUT)) result.add(batch);
  } catch (caught) {
    result.error = codeOf(caught);
  }
  reader.close();
  print(result);
}

// A persistent table outlives its publisher: it exits at once, and the reader unpublishes it.
const persistent = scenario.kind === "table-persistent";

async function publishTable(): Promise<void> {
  const spec = tables[scenario!.table!]!;
  const published = publish(channel!, new Table(batchesOf(spec)), { persist: persistent });
  console.log("ready");
  if (!persistent) {
    await go();
    published.unpublish();
  }
  print({ sent: spec.batches.length, error: null });
}

function openTableByName(): void {
  try {
    const table = openTable(channel!);
    const result = canonical(table.batches);
    if (persistent) unpublish(channel!);
    print(result);
  } catch (error) {
    print({ error: codeOf(error) });
  }
}

switch (role) {
  case "write-bytes": await writeBytes(); break;
  case "read-bytes": await readBytes(); break;
  case "write-arrow": await writeArrow(); break;
  case "read-arrow": await readArrow(); break;
  case "publish": await publishTable(); break;
  case "open-table": openTableByName(); break;
  default: throw new Error(`peer: unknown role ${role}`);
}
process.exit(0);
