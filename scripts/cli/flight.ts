// shmpipe flight serve|pull|push: the Flight bridge, a Go program
// (ffi/go/cmd/shmpipe-flight) built as pipelines build Go stages and run
// with this command's arguments, input and output; its exit status is ours.
import { existsSync } from "node:fs";
import { goBuild } from "../../lib/pipeline/go-build.ts";
import { type Command, runPassingSignals } from "./common.ts";

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
    // It names itself as this command in its help and its errors.
    const env = { ...process.env, SHMPIPE_FLIGHT_AS: "shmpipe flight" };
    return runPassingSignals([built, ...(args.length === 0 ? ["--help"] : args)], ["SIGINT", "SIGTERM", "SIGHUP"], { env });
  },
};
