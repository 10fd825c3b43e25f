// Your own pipeline, in two languages: bun examples/template/pipeline.ts
// Python writes Arrow batches; TypeScript reads them in place. (In your
// project, import from "shmpipe" instead of the clone's lib.)
import { ArrowReader, openReader, Pipeline, PipelineError } from "../../lib/index.ts";

const p = new Pipeline("squares", { cwd: import.meta.dir });
const numbers = p.channel("numbers", { capacity: 16 << 20 });

p.python("squares", "squares.py", { writes: [numbers] });
p.fn("total", async ({ channels, log }) => {
  using batches = new ArrowReader(openReader(channels.numbers!));
  let rows = 0, total = 0n;
  for await (const batch of batches) {
    rows += batch.numRows;
    for (const square of batch.getChild("square")!) total += square as bigint;
  }
  log(`${rows} rows, sum of squares ${total}`);
}, { reads: [numbers] });

try {
  await p.run();
} catch (error) {
  // A stage failed: the message names it, how it ended and the end of its
  // stderr. Every stage has been stopped and every segment removed.
  if (!(error instanceof PipelineError)) throw error;
  console.error(error.message);
  process.exit(1);
}
