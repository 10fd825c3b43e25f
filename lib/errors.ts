// One typed error for everything shmpipe reports. The C core writes each
// failure into a caller-owned shmp_error, sentence included, so every
// language words every error alike; this file only reads that struct.
import { core, cString } from "#ffi";

/** Operations named in errors: what the user was doing when it failed. */
export type Operation =
  | "create" | "open" | "attach" | "send" | "claim" | "commit" | "abort"
  | "recv" | "release" | "close" | "unlink" | "publish" | "drain" | "unpublish" | "stat" | "list";

/** The value of one of the core's named constants (see shmp_constant). */
export function constant(name: string): number {
  // Unknown names give INT64_MIN, which bun:ffi returns as a bigint.
  const value = core.shmp_constant(cString(name));
  if (typeof value !== "number") throw new Error(`shmpipe: the C core has no constant ${name}`);
  return value;
}

/** Numeric codes the binding branches on, by their names in the core. */
export const Code = {
  AGAIN: constant("ENOTYET"),
  TIMEOUT: constant("ETIMEOUT"),
  CLOSED: constant("ECLOSED"),
  STATE: constant("ESTATE"),
  INVALID: constant("EBADARG"),
  ARROW: constant("EARROW"),
} as const;

// Offsets of struct shmp_error's fields (ffi/core/include/shmpipe.h; part of the ABI).
const OP_AT = 4, SEGMENT_AT = 20, MESSAGE_AT = 276;
const ERROR_SIZE = constant("ERROR_SIZE");
const decoder = new TextDecoder();

/** A shmp_error for the core to fill: pass it as the last argument of a core call. */
export function errorBuffer(): Uint8Array {
  return new Uint8Array(ERROR_SIZE);
}

function field(buffer: Uint8Array, start: number, end: number): string {
  const bytes = buffer.subarray(start, end);
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

export class ShmpipeError extends Error {
  override readonly name = "ShmpipeError";
  /** Stable code name: "ETIMEOUT", "EPEERGONE", "ENOENT", ... */
  readonly code: string;
  /** The numeric code: -errno, or the core's own (see ffi/core/include/shmpipe.h). */
  readonly errno: number;
  readonly segment: string;
  readonly op: Operation;

  /** The error the core wrote into `buffer` (an errorBuffer()). */
  constructor(buffer: Uint8Array) {
    super(field(buffer, MESSAGE_AT, buffer.length));
    this.errno = new DataView(buffer.buffer, buffer.byteOffset).getInt32(0, true);
    this.code = String(core.shmp_error_name(this.errno));
    this.op = field(buffer, OP_AT, SEGMENT_AT) as Operation;
    this.segment = field(buffer, SEGMENT_AT, MESSAGE_AT);
  }
}

const EINTR = constant("EINTR");
let onInterrupt: () => void = () => {};

/** Who acts on a signal that ended a core wait (segment.ts, which owns the names). */
export function setInterruptHandler(handler: () => void): void {
  onInterrupt = handler;
}

/**
 * The error the core wrote into `buffer`, for a call that failed. A wait
 * that a signal ended first lets the signal take effect (which may end the
 * process); if the program handles that signal itself, the call fails with
 * EINTR and the program's listener runs once the stack unwinds.
 */
export function coreError(buffer: Uint8Array): ShmpipeError {
  const error = new ShmpipeError(buffer);
  if (error.errno === EINTR) onInterrupt();
  return error;
}

/**
 * An error this binding detects itself (a closed handle, a misuse of its
 * API), worded by the core like its own: `detail` says what happened.
 */
export function usageError(code: number, segment: string, op: Operation, detail?: string): ShmpipeError {
  const buffer = errorBuffer();
  core.shmp_error_set(buffer, code, cString(op), cString(segment), detail === undefined ? null : cString(detail));
  return new ShmpipeError(buffer);
}
