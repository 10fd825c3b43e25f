// shmpipe demo: the sample Arrow pipeline (or, with --bytes, raw records
// between two bun processes). Its options are parsed by the demos.
import { existsSync } from "node:fs";
import type { Command } from "./common.ts";

export const demo: Command = {
  summary: "an Arrow pipeline on sample data: TypeScript writes, Python and TypeScript read (--bytes: raw records)",
  help: "", // the demos print their own (shmpipe demo --help, shmpipe demo --bytes --help)
  async run(args) {
    if (args.includes("--bytes")) {
      const { demo: bytesDemo } = await import("../demo.ts");
      await bytesDemo(args.filter((arg) => arg !== "--bytes"));
      return Number(process.exitCode ?? 0);
    }
    // Its Python consumer runs the repository's binding in the repository's venv.
    if (!existsSync(new URL("../../ffi/python/shmpipe", import.meta.url))) {
      console.error("shmpipe: demo runs from a clone of the shmpipe repository (`npm run demo` there); `shmpipe demo --bytes` runs anywhere");
      return 2;
    }
    const { pipeline } = await import("../pipeline.ts");
    await pipeline(args);
    return Number(process.exitCode ?? 0);
  },
};
