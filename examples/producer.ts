// A producer: opens the writer of an existing channel and sends records.
//
//   bun examples/producer.ts <channel> [records] [bytes-per-record] [records-per-call]
//
// Each record starts with its sequence number (u32, little-endian) so a
// consumer can check order. Records go in batches of records-per-call
// (default 256) with one sendBatch() each, which is the fast way for small
// records; 1 sends each with send(), a call into the core per record. Run
// examples/consumer.ts first: it creates the channel (and removes it when
// done).
import { openWriter } from "../lib/index.ts";

const [name, recordsText = "1000000", sizeText = "64", perCallText = "256"] = process.argv.slice(2);
if (!name || name === "--help") {
  console.error("usage: bun examples/producer.ts <channel> [records=1000000] [bytes-per-record=64] [records-per-call=256]");
  process.exit(name ? 0 : 2);
}
const records = Number(recordsText), size = Math.max(4, Number(sizeText)), perCall = Math.max(1, Number(perCallText));

using writer = openWriter(name);
if (perCall === 1) {
  const record = new Uint8Array(size);
  const seq = new DataView(record.buffer);
  for (let i = 0; i < records; i++) {
    seq.setUint32(0, i, true);
    writer.send(record);
  }
} else {
  // One buffer per record of the batch, refilled for each batch: sendBatch copies them in.
  const batch = Array.from({ length: perCall }, () => new Uint8Array(size));
  const seqs = batch.map((record) => new DataView(record.buffer));
  for (let i = 0; i < records; i += perCall) {
    const count = Math.min(perCall, records - i);
    for (let k = 0; k < count; k++) seqs[k]!.setUint32(0, i + k, true);
    writer.sendBatch(count === perCall ? batch : batch.slice(0, count));
  }
}
