// The R parallel story: a features table published once, read by 4 PSOCK
// workers by name, side by side with clusterExport of the same table; with
// --future, future's multisession workers, side by side with future sending
// the data.frame.
//
//   bun examples/r-parallel/run.ts [--gib N] [--workers N] [--future]
//
// Runs examples/r-parallel/psock.R (future.R) as a one-stage pipeline,
// which gives it the clone's R library.
import { join } from "node:path";
import { Pipeline } from "../../lib/index.ts";
import { fail, optionsOf, runOrExit } from "../script.ts";

const usage = `usage: bun examples/r-parallel/run.ts [--gib N] [--workers N] [--future]

Publishes a features table of N GiB of doubles (default 1) once; WORKERS R
workers (default 4, parallel's PSOCK cluster) get it by name and sum its
columns; then the same with clusterExport of the data.frame. Prints the
time to the results and the workers' memory (Pss) side by side. With
--future, the same through future::plan(multisession): a future per worker
gets the table by name, then the data.frame itself (the time from the first
future() to the results, the bytes sent per future). Needs about 3 × N GiB
of memory (with --future, WORKERS + 2).`;
const values = optionsOf(usage, {
  gib: { type: "string", default: "1" },
  workers: { type: "string", default: "4" },
  future: { type: "boolean", default: false },
});
const bytes = Math.round(Number(values.gib) * 2 ** 30), workers = Number(values.workers);
if (!(bytes >= 2 ** 20) || !Number.isInteger(workers) || workers < 1) {
  fail("--gib takes a size of at least 1/1024 and --workers a whole number above 0", usage);
}
const p = new Pipeline("r-parallel", { cwd: join(import.meta.dir, "../..") });
const story = values.future ? "future" : "psock";
p.rscript(story, `examples/r-parallel/${story}.R`, { args: [String(bytes), String(workers)] });
await runOrExit(p, { quiet: true, print: (line) => console.log(line.replace(/^\[(psock|future)\] /, "")) });
