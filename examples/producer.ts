// A producer: opens the writer of an existing channel and sends records.
//
//   bun examples/producer.ts <channel> [records] [bytes-per-record]
//
// Each record starts with its sequence number (u32, little-endian) so a
// consumer can check order. Run examples/consumer.ts first: it creates the
// channel (and removes it when done).
import { openWriter } from "../lib/index.ts";

const [name, recordsText = "1000000", sizeText = "64"] = process.argv.slice(2);
if (!name || name === "--help") {
  console.error("usage: bun examples/producer.ts <channel> [records=1000000] [bytes-per-record=64]");
  process.exit(name ? 0 : 2);
}
const records = Number(recordsText), size = Math.max(4, Number(sizeText));

using writer = openWriter(name);
const record = new Uint8Array(size);
const seq = new DataView(record.buffer);
for (let i = 0; i < records; i++) {
  seq.setUint32(0, i, true);
  writer.send(record);
}
