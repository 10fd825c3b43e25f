// What the example scripts share as command-line programs: their options
// (a wrong one is one line and exit status 2, --help prints the usage)
// and running a pipeline (a failed run is its message and exit status 1,
// without a stack trace).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type Pipeline, PipelineError, type RunOptions, type Summary } from "../lib/index.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The values of `options` (plus --help), or the end of the process. */
export function optionsOf(usage: string, options: Options): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } }, strict: true });
    if ((values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    fail(error instanceof Error ? error.message.split("\n")[0]! : String(error), usage);
  }
}

/** Ends the process: `problem` and the usage's first line on stderr, exit status 2. */
export function fail(problem: string, usage: string): never {
  console.error(`${problem}\n${usage.split("\n")[0]}`);
  process.exit(2);
}

/**
 * Runs `pipeline`, then `cleanup` (whatever the run's end but a signal's,
 * which ends the process in the runner); a failed run ends the process
 * with its message (exit status 1).
 */
export async function runOrExit(pipeline: Pipeline, options?: RunOptions, cleanup = async () => {}): Promise<Summary> {
  let failed: PipelineError;
  try {
    return await pipeline.run(options);
  } catch (error) {
    if (!(error instanceof PipelineError)) throw error;
    failed = error;
  } finally {
    await cleanup();
  }
  console.error(failed.message);
  process.exit(1);
}
