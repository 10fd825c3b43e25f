// One-way throughput from one bun process to another.
//   bun scripts/bench/throughput.ts <record-bytes> <records>
// The producer is examples/producer.ts (send(), one copy in); this process
// reads with `for await` (zero-copy views from 512 B up). Prints
// {"case", "value" (records/s), "unit", "mibps"}.
import { createReader } from "../../lib/index.ts";
import { runtimeLabel, spawnPeer } from "./pin.ts";

const [sizeText = "64", countText = "1000000"] = process.argv.slice(2);
const size = Number(sizeText), count = Number(countText);
const name = `bench-tput-${process.pid}`;
using reader = createReader(name, { capacity: Math.max(4 << 20, 8 * (size + 64)) });
const producer = spawnPeer(new URL("../../examples/producer.ts", import.meta.url).pathname, [name, String(count), String(size)]);
let received = 0, first = 0;
for await (const message of reader.messages({ timeoutMs: 30_000 })) {
  if (received++ === 0) first = performance.now();
  if (message.bytes.length !== size) throw new Error(`record of ${message.bytes.length} bytes, expected ${size}`);
}
const seconds = (performance.now() - first) / 1000;
if ((await producer) !== 0 || received !== count) throw new Error(`received ${received} of ${count} records`);
const rate = (received - 1) / seconds;
console.log(JSON.stringify({ case: `shmpipe ${runtimeLabel}->${runtimeLabel} one way, ${size} B records`, value: Math.round(rate), unit: "records/s", mibps: Math.round((rate * size) / 2 ** 20) }));
