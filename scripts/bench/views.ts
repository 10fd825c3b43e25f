// Why small records are copied: the cost, per record, of handing a record
// to the user as a detachable zero-copy view versus as a copy, by size.
//   bun scripts/bench/views.ts
// One process, 200,000 records per size; ring calls included.

import { Segment } from "../../lib/segment.ts";

const N = 200_000;
const segment = Segment.create(`bench-views-${process.pid}`, { capacity: 1 << 22 });
try {
  const whole = new Uint8Array(segment.view(0, segment.size));
  for (const size of [64, 256, 511, 1024, 4096, 65536]) {
    let t = performance.now();
    for (let i = 0; i < N; i++) {
      const offset = 4096 + ((i * 64) % (1 << 21));
      const buffer = segment.view(offset, size);
      new Uint8Array(buffer);
      buffer.transfer(0);
    }
    const view = ((performance.now() - t) * 1e6) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) {
      const offset = 4096 + ((i * 64) % (1 << 21));
      whole.slice(offset, offset + size);
    }
    const copy = ((performance.now() - t) * 1e6) / N;
    console.log(`${String(size).padStart(6)} B: detachable view ${view.toFixed(0).padStart(5)} ns, copy ${copy.toFixed(0).padStart(5)} ns`);
  }
  (whole.buffer as ArrayBuffer).transfer(0);
} finally {
  segment.close();
}

