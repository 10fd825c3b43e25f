// One-way throughput from one bun process to another.
//   bun scripts/bench/throughput.ts <record-bytes> <records> [batch|views|record|sync]
// The producer is examples/producer.ts; this process reads with `for await`.
// batch (the default): the fastest path for small records: the producer
// encodes 256 records into one buffer and sends them with sendPacked();
// this process takes them over reader.batches() and looks at each
// record's length in place (batch.lengthOf(i)).
// views: the convenient batch API on both sides: sendBatch() of 256
// Uint8Arrays; `for (const bytes of batch)`, a view per record.
// record: send() per record; reader.messages() per record (zero-copy
// views from 512 B up, copies below), a promise per record.
// sync: send() per record; reader.recvSync() per record, no promise.
// The case name says which. Prints {"case", "value" (records/s), "unit", "mibps"}.
import { createReader } from "../../lib/index.ts";
import { runtimeLabel, spawnPeer } from "./pin.ts";

const APIS = {
  batch: "sendPacked + batches(), read in place",
  views: "sendBatch + batches(), a view per record",
  record: "send + messages()",
  sync: "send + recvSync()",
} as const;
const PRODUCER_API = { batch: "packed", views: "batch", record: "send", sync: "send" } as const;
const [sizeText = "64", countText = "1000000", mode = "batch"] = process.argv.slice(2);
if (!(mode in APIS)) throw new Error(`mode ${mode}: one of ${Object.keys(APIS).join(", ")}`);
const size = Number(sizeText), count = Number(countText);
const name = `bench-tput-${process.pid}`;
using reader = createReader(name, { capacity: Math.max(4 << 20, 8 * (size + 64)) });
const producer = spawnPeer(new URL("../../examples/producer.ts", import.meta.url).pathname, [name, String(count), String(size), PRODUCER_API[mode as keyof typeof APIS]]);
// Timed from a quarter of the way in: the first records run while the JIT
// compiles both loops (a busy-poll round trip measured 886 ns in its first
// 300,000 and 491 ns after), and a stream's rate is what comes after.
const timedAfter = Math.floor(count / 4);
let received = 0, first = 0, untimed = 0;
/** Notes the time once `received` passes timedAfter; what arrived by then is not timed. */
const arrived = () => {
  if (first === 0 && received > timedAfter) {
    first = performance.now();
    untimed = received;
  }
};
const fail = (length: number) => new Error(`record of ${length} bytes, expected ${size}`);
if (mode === "record") {
  for await (const message of reader.messages({ timeoutMs: 30_000 })) {
    received++;
    arrived();
    if (message.bytes.length !== size) throw fail(message.bytes.length);
  }
} else if (mode === "sync") {
  for (let message = reader.recvSync({ timeoutMs: 30_000 }); message; message = reader.recvSync({ timeoutMs: 30_000 })) {
    received++;
    arrived();
    if (message.bytes.length !== size) throw fail(message.bytes.length);
  }
} else {
  for await (const batch of reader.batches({ timeoutMs: 30_000 })) {
    if (mode === "views") {
      for (const bytes of batch) if (bytes.length !== size) throw fail(bytes.length);
    } else {
      for (let i = 0; i < batch.length; i++) if (batch.lengthOf(i) !== size) throw fail(batch.lengthOf(i));
    }
    received += batch.length;
    arrived();
  }
}
const seconds = (performance.now() - first) / 1000;
if ((await producer) !== 0 || received !== count) throw new Error(`received ${received} of ${count} records`);
const rate = (received - untimed) / seconds;
const api = APIS[mode as keyof typeof APIS];
console.log(JSON.stringify({ case: `shmpipe ${runtimeLabel}->${runtimeLabel} one way, ${api}, ${size} B records`, value: Math.round(rate), unit: "records/s", mibps: Math.round((rate * size) / 2 ** 20) }));
