// shmpipe bench: the benchmarks (a clone of the repository only).
import { existsSync } from "node:fs";
import type { Command } from "./common.ts";

export const bench: Command = {
  summary: "run the benchmarks and print a report (needs hyperfine)",
  help: "", // scripts/bench.ts prints its own
  async run(args) {
    // The benchmarks and their C baselines live in the repository, not in the npm package.
    if (!existsSync(new URL("../bench.ts", import.meta.url))) {
      console.error("shmpipe: bench runs from a clone of the shmpipe repository (`npm run bench` there)");
      return 2;
    }
    const { bench: runBench } = await import("../bench.ts");
    await runBench(args);
    return Number(process.exitCode ?? 0);
  },
};
