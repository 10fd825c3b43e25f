// TypeScript's publish() of an apache-arrow table of BYTES bytes of doubles
// (16 columns, one batch), ROUNDS times, each into a new segment (removed
// again between rounds): prints the median seconds as a JSON line
// (scripts/bench/publish.ts sets it beside R's, Python's and a C memcpy of
// the same bytes into a new segment).
//   bun scripts/bench/publish_table.ts BYTES ROUNDS
import { makeVector, Table } from "apache-arrow";
import { publish } from "../../lib/index.ts";

const [bytes, rounds] = process.argv.slice(2).map(Number) as [number, number];
const columns = 16;
const rows = bytes / 8 / columns;
const counting = Float64Array.from({ length: rows }, (_, i) => i);
const table = new Table(Object.fromEntries(Array.from({ length: columns }, (_, k) => [`c${k}`, makeVector(counting.map((x) => x * (k + 1)))])));
const name = `bench-ts-publish-${process.pid}`;
const took: number[] = [];
for (let i = 0; i < rounds; i++) {
  const started = performance.now();
  const published = publish(name, table);
  took.push((performance.now() - started) / 1e3);
  published.unpublish();
}
took.sort((a, b) => a - b);
const mid = took.length >> 1;
const median = took.length % 2 ? took[mid]! : (took[mid - 1]! + took[mid]!) / 2;
console.log(JSON.stringify({ case: `TS publish, ${bytes} B of doubles`, value: Math.round(median * 1e4) / 1e4, unit: "s", mibps: Math.round(bytes / 2 ** 20 / median) }));
