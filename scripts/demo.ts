// The main demo: this process creates a channel and reads from it; a second
// bun process (examples/producer.ts) streams records into it. Prints what
// was measured. Leaves nothing behind in /dev/shm, also on Ctrl-C.
import { parseArgs } from "node:util";
import { createReader } from "../lib/index.ts";

/** The u32 the producer puts first. (Reading `bytes.buffer` instead would
 * make the engine materialise an ArrayBuffer per small record: ~0.5 µs.) */
function sequenceNumber(bytes: Uint8Array): number {
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: "string", default: "2000000" },
      size: { type: "string", default: "64" },
      capacity: { type: "string", default: String(4 << 20) },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(`usage: shmpipe demo --bytes [--records N] [--size BYTES] [--capacity BYTES]

Streams N records of BYTES bytes from one bun process to another through a
shared-memory channel, checks their order, and prints throughput.
Defaults: --records 2000000 --size 64 --capacity ${4 << 20}`);
    return;
  }
  const records = Number(values.records), size = Number(values.size);
  if (!(records > 0) || !(size >= 4)) throw new Error("--records must be > 0 and --size >= 4");

  const name = `demo-${process.pid}`;
  using reader = createReader(name, { capacity: Number(values.capacity) });
  const producerPath = new URL("../examples/producer.ts", import.meta.url).pathname;
  console.log(`shmpipe demo: channel "${name}", ${records.toLocaleString()} records of ${size} B, from a second bun process`);
  const producer = Bun.spawn([process.execPath, producerPath, name, String(records), String(size)], {
    stdout: "inherit",
    stderr: "inherit",
  });

  const start = performance.now();
  let count = 0, outOfOrder = 0, firstAt = 0;
  const step = Math.max(1, Math.floor(records / 4));
  for await (const message of reader.messages({ timeoutMs: 30_000 })) {
    if (count === 0) firstAt = performance.now();
    if (sequenceNumber(message.bytes) !== count) outOfOrder++;
    if (++count % step === 0) console.log(`  ${count.toLocaleString()} records received`);
  }
  const end = performance.now();
  const exitCode = await producer.exited;

  const seconds = (end - firstAt) / 1000;
  const rate = (count - 1) / seconds;
  console.log(`received ${count.toLocaleString()} records (${outOfOrder} out of order), producer exit code ${exitCode}`);
  console.log(`producer start-up to first record: ${(firstAt - start).toFixed(0)} ms`);
  console.log(`streaming: ${(rate / 1e6).toFixed(2)} M records/s, ${((rate * size) / 2 ** 20).toFixed(0)} MiB/s of payload, ${((seconds * 1e9) / (count - 1)).toFixed(0)} ns per record`);
  if (count !== records || outOfOrder || exitCode !== 0) process.exitCode = 1;
}

if (import.meta.main) await demo(process.argv.slice(2));
