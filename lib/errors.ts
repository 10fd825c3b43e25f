// One typed error for everything shmpipe reports. Codes and their base
// sentences come from the C core, so every language names them alike.
import { core } from "./ffi/bun.ts";

/** Operations named in errors: what the user was doing when it failed. */
export type Operation =
  | "create" | "open" | "attach" | "send" | "claim" | "commit" | "abort"
  | "recv" | "release" | "close" | "unlink" | "publish";

export interface ErrorContext {
  segment: string;
  op: Operation;
  /** A sentence on what to do about it, when we know better than the code. */
  hint?: string;
}

export class ShmpipeError extends Error {
  override readonly name = "ShmpipeError";
  /** Stable code name: "ETIMEOUT", "EPEERGONE", "ENOENT", ... */
  readonly code: string;
  /** The numeric code: -errno, or the core's own (see ffi/include/shmpipe.h). */
  readonly errno: number;
  readonly segment: string;
  readonly op: Operation;

  constructor(errno: number, context: ErrorContext) {
    const code = errorName(errno);
    const hint = context.hint ?? defaultHint(errno);
    super(`${context.op} on segment "${context.segment}" failed: ${errorMessage(errno)} [${code}]${hint ? `. ${hint}` : ""}`);
    this.code = code;
    this.errno = errno;
    this.segment = context.segment;
    this.op = context.op;
  }
}

export function errorName(code: number): string {
  return String(core.shmp_error_name(code));
}

export function errorMessage(code: number): string {
  return String(core.shmp_error_message(code));
}

/** Numeric codes the binding branches on (values from ffi/include/shmpipe.h). */
export const Code = {
  TIMEOUT: -5006,
  CLOSED: -5007,
  TOO_LARGE: -5008,
  BUSY: -5009,
  NOT_READY: -5010,
  STATE: -5012,
  INVALID: -5013,
  ARROW: -5014,
  EACCES: -13,
} as const;

function defaultHint(code: number): string | undefined {
  const hint = core.shmp_error_hint(code);
  return hint === null ? undefined : String(hint);
}
