// A producer: opens the writer of an existing channel and sends records.
//
//   bun examples/producer.ts <channel> [records] [bytes-per-record] [packed|batch|send]
//
// Each record starts with its sequence number (u32, little-endian) so a
// consumer can check order. How it sends them:
//   packed (the default): 256 records at a time, encoded one after another
//          into one buffer and sent with one sendPacked() call: the fast
//          way for small records, with no copy in JavaScript;
//   batch: 256 records at a time, each its own Uint8Array, with one
//          sendBatch() call (which packs them first);
//   send:  each record with send(), a call into the core per record.
// Run examples/consumer.ts first: it creates the channel (and removes it
// when done).
import { openWriter } from "../lib/index.ts";

const [name, recordsText = "1000000", sizeText = "64", api = "packed"] = process.argv.slice(2);
if (!name || name === "--help" || !["packed", "batch", "send"].includes(api)) {
  console.error("usage: bun examples/producer.ts <channel> [records=1000000] [bytes-per-record=64] [packed|batch|send]");
  process.exit(name === "--help" ? 0 : 2);
}
const records = Number(recordsText), size = Math.max(4, Number(sizeText));
const PER_CALL = 256;

using writer = openWriter(name);
if (api === "send") {
  const record = new Uint8Array(size);
  const seq = new DataView(record.buffer);
  for (let i = 0; i < records; i++) {
    seq.setUint32(0, i, true);
    writer.send(record);
  }
} else if (api === "batch") {
  const batch = Array.from({ length: PER_CALL }, () => new Uint8Array(size));
  const seqs = batch.map((record) => new DataView(record.buffer));
  for (let i = 0; i < records; i += PER_CALL) {
    const count = Math.min(PER_CALL, records - i);
    for (let k = 0; k < count; k++) seqs[k]!.setUint32(0, i + k, true);
    writer.sendBatch(count === PER_CALL ? batch : batch.slice(0, count));
  }
} else {
  const bytes = new Uint8Array(PER_CALL * size), seqs = new DataView(bytes.buffer);
  const lengths = new Array<number>(PER_CALL).fill(size);
  for (let i = 0; i < records; i += PER_CALL) {
    const count = Math.min(PER_CALL, records - i);
    for (let k = 0; k < count; k++) seqs.setUint32(k * size, i + k, true);
    writer.sendPacked(bytes.subarray(0, count * size), count === PER_CALL ? lengths : lengths.slice(0, count));
  }
}
