// A TypeScript consumer of the demo pipeline (scripts/pipeline.ts): reads
// Arrow batches of trades from channel argv[2] and prints, as JSON, the
// volume-weighted average price per symbol. The columns are read where
// they lie in shared memory.
//   bun examples/vwap.ts <channel>
import { ArrowReader, openReader } from "../lib/index.ts";

const name = process.argv[2];
if (!name) throw new Error("usage: bun examples/vwap.ts <channel>");
using reader = new ArrowReader(openReader(name));
console.log("ready");
const notional = new Map<string, number>(), volume = new Map<string, number>();
let rows = 0;
for await (const batch of reader) {
  const symbols = batch.getChild("symbol")!.data[0]!;
  const names = symbols.dictionary!.toArray() as string[];
  const codes = symbols.values as Int32Array;
  const price = batch.getChild("price")!.data[0]!.values as Float64Array;
  const qty = batch.getChild("qty")!.data[0]!.values as Int32Array;
  const sums = new Float64Array(names.length), vols = new Float64Array(names.length);
  for (let i = 0; i < batch.numRows; i++) {
    sums[codes[i]!]! += price[i]! * qty[i]!;
    vols[codes[i]!]! += qty[i]!;
  }
  names.forEach((symbol, k) => {
    notional.set(symbol, (notional.get(symbol) ?? 0) + sums[k]!);
    volume.set(symbol, (volume.get(symbol) ?? 0) + vols[k]!);
  });
  rows += batch.numRows;
}
const vwap = Object.fromEntries([...notional].map(([symbol, total]) => [symbol, total / volume.get(symbol)!]));
console.log(JSON.stringify({ consumer: "TypeScript", rows, vwap }));
