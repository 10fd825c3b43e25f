// How the reader hands a record to the user, and why: the cost per record
// of a detachable view (an ArrayBuffer of its own over the record, which
// release could detach), a subarray of one ArrayBuffer over the whole
// mapping (what the reader uses), and a copy (what it does under 512 B).
//   bun scripts/bench/views.ts
// One process; ring calls excluded.

import { Segment } from "../../lib/segment.ts";

const MiB = 1 << 20;
const segment = Segment.create(`bench-views-${process.pid}`, { capacity: 160 * MiB });
const whole = new Uint8Array(segment.view(0, segment.size));

/** Nanoseconds per call of `make(offset, size)`, over `n` calls. */
function timed(n: number, size: number, make: (offset: number, size: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) make(4096 + ((i * 64) % (1 << 21)), size);
  return ((performance.now() - start) * 1e6) / n;
}

const detachable = (offset: number, size: number) => {
  const buffer = segment.view(offset, size);
  new Uint8Array(buffer);
  buffer.transfer(0);
};
const subarray = (offset: number, size: number) => whole.subarray(offset, offset + size);
const copy = (offset: number, size: number) => whole.slice(offset, offset + size);

try {
  for (const size of [64, 256, 511, 1024, 4096, 65536, MiB, 100 * MiB]) {
    const n = size >= MiB ? 200 : 200_000;
    const cells = [`detachable view ${timed(n, size, detachable).toFixed(0).padStart(6)} ns`, `subarray view ${timed(n, size, subarray).toFixed(0).padStart(4)} ns`];
    if (size <= 65536) cells.push(`copy ${timed(n, size, copy).toFixed(0).padStart(6)} ns`);
    const label = size >= MiB ? `${size / MiB} MiB` : `${size} B`;
    console.log(`${label.padStart(8)}: ${cells.join(", ")}`);
  }
} finally {
  (whole.buffer as ArrayBuffer).transfer(0);
  segment.close();
}
