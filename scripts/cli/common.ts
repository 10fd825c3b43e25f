// What every command of the shmpipe command line shares: its shape, the
// parsing of its options, and the one way it reports a failure (a line on
// stderr and a non-zero exit, never a stack trace).
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  /** One line for the list of commands. */
  summary: string;
  /** The text of `shmpipe <command> --help`. */
  help: string;
  /** Runs with the arguments after the command's name; resolves to the exit status. */
  run(args: string[]): Promise<number>;
}

/** A mistake in how the command was called: exit status 2, with a pointer to --help. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * The options and operands of `args`, strictly: an unknown option or a
 * missing value is a UsageError. Every command takes --help (-h).
 */
export function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util words these well, but with a code prefix and a hint about "--" we do not want.
    throw new UsageError((error as Error).message.replace(/^.*?: /, "").split(". To specify")[0]!);
  }
}

/** A whole number option (>= 0), or the default. */
export function count(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${option} takes a whole number >= 0, not "${value}"`);
  return n;
}

/** Bytes for people: 512 B, 16.0 KiB, 1.5 GiB (as the pipeline's progress prints them). */
export { bytes } from "../../lib/pipeline/format.ts";

/** Rows under a header, in columns as wide as their widest cell; `right` columns align right. */
export function columns(header: string[], rows: string[][], right: boolean[] = []): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** JSON for scripts: one document, two-space indented. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/**
 * Runs argv with this process's stdio and passes on the signals named; its
 * exit status, or 128 + the signal that ended it. With `session`, the child
 * runs in a session of its own, so a Ctrl-C at the terminal reaches it
 * once, through this command.
 */
export async function runPassingSignals(argv: string[], signals: NodeJS.Signals[], options: { session?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const [program, ...rest] = argv;
  const child = spawn(program!, rest, { stdio: "inherit", detached: options.session ?? false, env: options.env ?? process.env });
  const handlers = signals.map((signal) => [signal, () => child.kill(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    const end = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>((resolve) => {
      child.once("error", resolve);
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    if (end instanceof Error) throw end;
    if (end.signal) return 128 + (constants.signals[end.signal] ?? 0);
    return end.code ?? 1;
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
