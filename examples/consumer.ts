// A consumer: creates a channel, reads records until the producer closes it,
// checks their order and prints what arrived.
//
//   bun examples/consumer.ts <channel> [capacity-bytes]
//
// Then start a producer on the same channel, e.g. examples/producer.ts.
import { createReader } from "../lib/index.ts";

const [name, capacityText = String(1 << 22)] = process.argv.slice(2);
if (!name || name === "--help") {
  console.error("usage: bun examples/consumer.ts <channel> [capacity-bytes=4194304]");
  process.exit(name ? 0 : 2);
}

using reader = createReader(name, { capacity: Number(capacityText) });
console.log(`waiting on channel "${name}"`);
let count = 0, bytes = 0;
for await (const message of reader.messages({ timeoutMs: 60_000 })) {
  const b = message.bytes; // indexing, not b.buffer: that would materialise an ArrayBuffer per record
  const seq = b.length >= 4 ? (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0 : count;
  if (seq !== count) throw new Error(`record ${count} arrived as ${seq}`);
  count++;
  bytes += message.bytes.length;
}
console.log(`${count} records, ${bytes} bytes, in order`);
