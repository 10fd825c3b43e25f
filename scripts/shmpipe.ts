#!/usr/bin/env bun
// The shmpipe command line.
import { existsSync } from "node:fs";
import { demo } from "./demo.ts";
import { pipeline } from "./pipeline.ts";

const usage = `usage: shmpipe <command> [options]

commands:
  demo    an Arrow pipeline on sample data: TypeScript writes, Python and TypeScript read
          (demo --bytes: raw records from one bun process to another)
  bench   run the benchmarks and print a report (needs hyperfine)
  unpublish NAME...
          remove published tables by name (persistent ones outlive their publisher)
  help    show this text

Run \`shmpipe <command> --help\` for a command's options.`;

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case "demo":
    if (rest.includes("--bytes")) await demo(rest.filter((arg) => arg !== "--bytes"));
    else if (!existsSync(new URL("../ffi/python/shmpipe", import.meta.url))) {
      // Its Python consumer runs the repository's binding in the repository's venv.
      console.error("shmpipe: demo runs from a clone of the shmpipe repository (`npm run demo` there); `shmpipe demo --bytes` runs anywhere");
      process.exit(2);
    } else await pipeline(rest);
    break;
  case "bench": {
    // The benchmarks and their C baselines live in the repository, not in the npm package.
    if (!existsSync(new URL("./bench.ts", import.meta.url))) {
      console.error("shmpipe: bench runs from a clone of the shmpipe repository (`npm run bench` there)");
      process.exit(2);
    }
    const { bench } = await import("./bench.ts");
    await bench(rest);
    break;
  }
  case "unpublish": {
    const { unpublish, ShmpipeError } = await import("../lib/index.ts");
    if (rest.length === 0 || rest.some((arg) => arg.startsWith("-"))) {
      console.log("usage: shmpipe unpublish NAME...\n\nRemoves each published table's name; processes that opened it keep their data.");
      process.exit(rest.length === 0 ? 2 : 0);
    }
    let failed = false;
    for (const name of rest) {
      try {
        unpublish(name);
      } catch (error) {
        if (!(error instanceof ShmpipeError)) throw error;
        console.error(error.message);
        failed = true;
      }
    }
    process.exit(failed ? 1 : 0);
  }
  case undefined:
  case "help":
  case "--help":
  case "-h":
    console.log(usage);
    break;
  default:
    console.error(`shmpipe: unknown command "${command}"\n\n${usage}`);
    process.exit(2);
}
