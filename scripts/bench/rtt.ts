// Round-trip latency between two bun processes over two shmpipe channels.
//   bun scripts/bench/rtt.ts blocking|busy-poll <round-trips>
// blocking: sleep on the futex at once (spin 0); busy-poll: never sleep.
// Prints {"case", "value" (ns per round trip), "unit"}.
import { createReader, createWriter, SPIN_FOREVER } from "../../lib/index.ts";
import { runtimeLabel, spawnPeer } from "./pin.ts";

const [mode = "blocking", countText = "20000"] = process.argv.slice(2);
const spin = mode === "busy-poll" ? SPIN_FOREVER : mode === "default" ? 256 : 0;
const count = Number(countText);
const WARM_UP_MS = 500;
const ping = `bench-ping-${process.pid}`, pong = `bench-pong-${process.pid}`;
using writer = createWriter(ping, { capacity: 1 << 16 });
using reader = createReader(pong, { capacity: 1 << 16 });
const echo = spawnPeer(new URL("./echo.ts", import.meta.url).pathname, [ping, pong, String(spin)]);

const record = new Uint8Array(64);
const roundTrip = () => {
  writer.send(record, { spin });
  if (!reader.recvSync({ spin, timeoutMs: 10_000 })) throw new Error("echo ended early");
};
// Warm-up, untimed, until both processes run compiled code: 2,000 round
// trips are not enough (the JIT's upper tiers come later; a busy-poll
// round trip measured 886 ns in its first 300,000 and 491 ns after).
const warmUntil = performance.now() + WARM_UP_MS;
for (let i = 0; i < 2000 || performance.now() < warmUntil; i++) roundTrip();
const start = performance.now();
for (let i = 0; i < count; i++) roundTrip();
const ns = ((performance.now() - start) * 1e6) / count;
writer.close();
await echo;
console.log(JSON.stringify({ case: `shmpipe ${runtimeLabel}<->${runtimeLabel} round trip, ${mode}`, value: Math.round(ns), unit: "ns/round trip" }));
