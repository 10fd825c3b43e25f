#!/usr/bin/env bun
// The shmpipe command line: dispatches to scripts/cli/<command>.ts and
// turns every failure into one line on stderr and a non-zero exit.
import type { Command } from "./cli/common.ts";

// Loaded on demand: `shmpipe ls` need not load the demos or Arrow.
const commands: Record<string, () => Promise<Command>> = {
  ls: async () => (await import("./cli/ls.ts")).ls,
  stat: async () => (await import("./cli/stat.ts")).stat,
  cat: async () => (await import("./cli/cat.ts")).cat,
  rm: async () => (await import("./cli/rm.ts")).rm,
  gc: async () => (await import("./cli/gc.ts")).gc,
  run: async () => (await import("./cli/run.ts")).run,
  unpublish: async () => (await import("./cli/unpublish.ts")).unpublish,
  demo: async () => (await import("./cli/demo.ts")).demo,
  bench: async () => (await import("./cli/bench.ts")).bench,
  flight: async () => (await import("./cli/flight.ts")).flight,
};

async function usage(): Promise<string> {
  const lines = [];
  for (const [name, load] of Object.entries(commands)) lines.push(`  ${name.padEnd(11)}${(await load()).summary}`);
  return `usage: shmpipe <command> [options]

commands:
${lines.join("\n")}
  help       show this text

Run \`shmpipe <command> --help\` for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(await usage());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    console.log(await usage());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`shmpipe: unknown command "${name}" (\`shmpipe --help\` lists them)`);
    return 2;
  }
  const command = await load();
  // The demos and the benchmarks print their own help.
  if (command.help && name !== "run" && (args.includes("--help") || args.includes("-h"))) {
    console.log(command.help);
    return 0;
  }
  const { UsageError } = await import("./cli/common.ts");
  const { ShmpipeError } = await import("../lib/index.ts");
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`shmpipe ${name}: ${error.message} (\`shmpipe ${name} --help\` shows how)`);
      return 2;
    }
    if (error instanceof ShmpipeError) {
      console.error(`shmpipe ${name}: ${error.message}`);
      return 1;
    }
    // A bug of ours: still one line, with the trace on request.
    if (process.env.SHMPIPE_DEBUG) console.error(error);
    console.error(`shmpipe ${name}: ${error instanceof Error ? error.message : String(error)} (SHMPIPE_DEBUG=1 shows where)`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
