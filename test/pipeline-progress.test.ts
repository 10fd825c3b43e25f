// The pipeline's progress line, from channel statistics: records, bytes,
// the rate since the last sample, and a bar where the total is known.
import { expect, test } from "bun:test";
import { Display } from "../lib/pipeline/display.ts";
import { bar, Progress } from "../lib/pipeline/progress.ts";
import type { ChannelStat } from "../lib/pipeline/stat.ts";

test("a bar shows the part done, and never more than all of it", () => {
  expect(bar(0, 10)).toBe("[----------------] 0%");
  expect(bar(5, 10)).toBe("[########--------] 50%");
  expect(bar(12, 10)).toBe("[################] 100%");
});

test("the progress line: records, bytes and rate per channel, a bar where the total is known", () => {
  const stats = new Map<string, ChannelStat>([["p-ticks", { bytes: 0, records: 0, readersAttached: 2 }], ["p-results", { bytes: 0, records: 0, readersAttached: 1 }]]);
  const progress = new Progress(
    [{ local: "ticks", segment: "p-ticks", expectedRecords: 40 }, { local: "results", segment: "p-results" }],
    (segment) => stats.get(segment) ?? null,
    new Display(() => {}, false),
  );
  expect(progress.line(0)).toBe("progress: ticks [----------------] 0% 0 records 0 B | results 0 records 0 B");
  stats.set("p-ticks", { bytes: 10 * 2 ** 20, records: 10, readersAttached: 2 });
  expect(progress.line(1000)).toBe("progress: ticks [####------------] 25% 10 records 10.0 MiB (10.0 MiB/s) | results 0 records 0 B (0 B/s)");
});

test("a channel's expected records must be a whole number above 0", async () => {
  const { Pipeline } = await import("../lib/index.ts");
  expect(() => new Pipeline("p").channel("ticks", { expectedRecords: 0 })).toThrow('channel "ticks": expectedRecords is a whole number above 0');
});
