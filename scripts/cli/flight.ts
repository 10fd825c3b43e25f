// shmpipe flight serve|pull|push: the Flight bridge, a Go program
// (ffi/go/cmd/shmpipe-flight) built as pipelines build Go stages and run
// with this command's arguments, input and output; its exit status is ours.
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { goBuild } from "../../lib/pipeline/go-build.ts";
import type { Command } from "./common.ts";

const root = new URL("../../", import.meta.url).pathname;
const pkg = "./ffi/go/cmd/shmpipe-flight";

export const flight: Command = {
  summary: "channels and published tables between machines over Arrow Flight (serve, pull, push)",
  help: "", // the Go program prints its own (`shmpipe flight --help`: everything)
  async run(args) {
    if (!existsSync(root + pkg)) {
      console.error("shmpipe: flight builds its Go program from a clone of the shmpipe repository (ffi/go/cmd/shmpipe-flight); run it there, or `go build` that package and run it directly");
      return 2;
    }
    const built = await goBuild(pkg, root);
    if (typeof built !== "string") {
      console.error(`shmpipe flight: go build ${pkg} failed${built.status === null ? "" : ` (status ${built.status})`}:\n${built.stderr.trimEnd()}`);
      return 1;
    }
    return runProgram(built, args.length === 0 ? ["--help"] : args);
  },
};

/** Runs `program` with `args` and this process's stdio, passing on SIGINT, SIGTERM and SIGHUP; its exit status, or 128 + its signal. */
async function runProgram(program: string, args: string[]): Promise<number> {
  // It names itself as this command in its help and its errors.
  const child = Bun.spawn([program, ...args], { stdio: ["inherit", "inherit", "inherit"], env: { ...process.env, SHMPIPE_FLIGHT_AS: "shmpipe flight" } });
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => [signal, () => child.kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    const code = await child.exited;
    if (child.signalCode) return 128 + (constants.signals[child.signalCode as keyof typeof constants.signals] ?? 0);
    return code;
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
