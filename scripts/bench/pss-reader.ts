// A reader for scripts/bench/fanout-pss.ts: reads one Arrow batch from
// channel argv[2], sums its "x" column (touching every page of it), then
// prints its memory as JSON and holds the batch until the writer closes.
import { readFileSync } from "node:fs";
import { ArrowReader, openReader, shmPath } from "../../lib/index.ts";

const name = process.argv[2]!;
using reader = new ArrowReader(openReader(name));
console.log("ready");
const batch = (await reader.read({ timeoutMs: 120_000 }))!;
const x = batch.getChild("x")!.data[0]!.values as Float64Array;
let sum = 0;
for (let i = 0; i < x.length; i++) sum += x[i]!;
console.log(JSON.stringify({ reader: "TypeScript", pid: process.pid, sum, ...memory(shmPath(name)) }));
await reader.read({ timeoutMs: 120_000 }); // end of stream: the writer is done measuring

/** Rss and Pss (KiB) of this process's mappings of `path`, and its total Pss. */
function memory(path: string): { segmentRssKiB: number; segmentPssKiB: number; totalPssKiB: number } {
  let segmentRssKiB = 0, segmentPssKiB = 0, inSegment = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inSegment = line.endsWith(path);
    else if (inSegment && line.startsWith("Rss:")) segmentRssKiB += Number(line.split(/\s+/)[1]);
    else if (inSegment && line.startsWith("Pss:")) segmentPssKiB += Number(line.split(/\s+/)[1]);
  }
  const totalPssKiB = Number(readFileSync("/proc/self/smaps_rollup", "utf8").match(/^Pss:\s+(\d+)/m)![1]);
  return { segmentRssKiB, segmentPssKiB, totalPssKiB };
}
