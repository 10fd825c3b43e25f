// shmpipe demo: the main example, examples/market/pipeline.ts (Go -> R and
// Python -> TypeScript on the built-in sample ticks), or with --bytes raw
// records between two bun processes. Each parses its own options.
import { existsSync } from "node:fs";
import type { Command } from "./common.ts";
import { runScript } from "./run.ts";

export const demo: Command = {
  summary: "the main example: Go streams sample ticks to R and Python, TypeScript checks the answers (--bytes: raw records)",
  help: "", // the demos print their own (shmpipe demo --help, shmpipe demo --bytes --help)
  async run(args) {
    if (args.includes("--bytes")) {
      const { demo: bytesDemo } = await import("../demo.ts");
      await bytesDemo(args.filter((arg) => arg !== "--bytes"));
      return Number(process.exitCode ?? 0);
    }
    // Its stages are the repository's: the Go producer's sources, the R and Python stages.
    const example = new URL("../../examples/market/pipeline.ts", import.meta.url).pathname;
    if (!existsSync(new URL("../../ffi/go/cmd/shmpipe-csv", import.meta.url))) {
      console.error("shmpipe: demo runs from a clone of the shmpipe repository (`npm run demo` there); `shmpipe demo --bytes` runs anywhere");
      return 2;
    }
    return runScript(example, args);
  },
};
