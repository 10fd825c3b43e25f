// Fan-out memory: one writer sends one Arrow batch of `bytes` (a Float64
// column "x") to 4 readers, 2 TypeScript and 2 Python processes, which each
// touch all of it. Each reports the Rss and Pss (proportional set size:
// shared pages divided among the processes mapping them) of its mapping of
// the channel's segment. Four copies would sum to 4 × the batch; shared
// memory sums to less than one (the writer maps it too).
//   bun scripts/bench/fanout-pss.ts [bytes]   (default 256 MiB)
// Prints each reader's report on stderr, then {"case", "value", "unit", ...}.
import { makeTable } from "apache-arrow";
import { join } from "node:path";
import { ArrowWriter, createWriter } from "../../lib/index.ts";
import { python, pythonEnv } from "../python.ts";

const bytes = Number(process.argv[2] ?? 256 << 20);
const rows = Math.floor(bytes / 8);
const here = new URL(".", import.meta.url).pathname;
const name = `bench-pss-${process.pid}`;
const writer = new ArrowWriter(createWriter(name, { capacity: bytes + (1 << 20) }));
const readers = [
  Bun.spawn([process.execPath, join(here, "pss-reader.ts"), name], { stdout: "pipe", stderr: "inherit" }),
  Bun.spawn([process.execPath, join(here, "pss-reader.ts"), name], { stdout: "pipe", stderr: "inherit" }),
  Bun.spawn([python(), join(here, "pss_reader.py"), name], { stdout: "pipe", stderr: "inherit", env: pythonEnv() }),
  Bun.spawn([python(), join(here, "pss_reader.py"), name], { stdout: "pipe", stderr: "inherit", env: pythonEnv() }),
];
try {
  const lines = readers.map((child) => child.stdout.getReader());
  const decoder = new TextDecoder();
  const pending = readers.map(() => "");
  /** The next line child `i` prints. */
  const nextLine = async (i: number): Promise<string> => {
    while (!pending[i]!.includes("\n")) {
      const { done, value } = await lines[i]!.read();
      if (done) throw new Error(`reader ${i} ended early`);
      pending[i] += decoder.decode(value);
    }
    const [line, ...rest] = pending[i]!.split("\n");
    pending[i] = rest.join("\n");
    return line!;
  };
  await Promise.all(readers.map((_, i) => nextLine(i))); // "ready"
  writer.write(makeTable({ x: Float64Array.from({ length: rows }, (_, i) => i % 1000) }));
  const reports = await Promise.all(readers.map(async (_, i) => JSON.parse(await nextLine(i))));
  for (const report of reports) console.error(JSON.stringify(report));
  const expectedSum = Array.from({ length: rows }, (_, i) => i % 1000).reduce((a, b) => a + b, 0);
  if (reports.some((report) => report.sum !== expectedSum)) throw new Error("a reader summed the wrong values");
  const sumPss = reports.reduce((total, report) => total + report.segmentPssKiB, 0);
  const mib = (bytes / (1 << 20)).toFixed(0);
  console.log(JSON.stringify({
    case: `fan-out: 4 readers' Pss of the segment, ${mib} MiB batch`,
    value: Math.round(sumPss / 1024),
    unit: `MiB (${(sumPss * 1024 / bytes).toFixed(2)} × the batch; 4 copies would be 4.00 ×)`,
    rssEachMiB: reports.map((report) => Math.round(report.segmentRssKiB / 1024)),
  }));
} finally {
  writer.close();
  await Promise.all(readers.map((child) => child.exited));
}
