// Defaults shared by writers and readers, and their conversion for the
// core. The numbers are the core's (shmp_constant), the same in every
// binding; this file only gives them in milliseconds.
import { constant } from "./errors.ts";

/** How long a send or receive waits for the other side unless told otherwise (30 s). */
export const DEFAULT_TIMEOUT_MS = constant("DEFAULT_TIMEOUT_NS") / 1e6;

/**
 * Polls before sleeping on the futex (256). Enough to catch a peer that
 * answers within a few microseconds without a syscall; small enough that an
 * idle waiter gives its core back almost at once.
 */
export const DEFAULT_SPIN = constant("DEFAULT_SPIN");

/** How long opening a channel waits for a creator still setting it up (2 s). */
export const DEFAULT_READY_TIMEOUT_MS = constant("DEFAULT_READY_TIMEOUT_NS") / 1e6;

/** Spin until the timeout: lowest latency, one core busy while waiting. */
export const SPIN_FOREVER = 0xffffffff;

export interface WaitOptions {
  /** Give up after this long (ms); Infinity waits as long as the peer lives. */
  timeoutMs?: number;
  /** Polls before sleeping (default DEFAULT_SPIN; SPIN_FOREVER to busy-poll). */
  spin?: number;
}

/** The core's timeout argument: nanoseconds, or -1 for none. */
export function timeoutNs(options: WaitOptions | undefined): number {
  const ms = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (ms === Infinity) return -1;
  if (!(ms >= 0)) throw new RangeError(`shmpipe: timeoutMs must be >= 0 or Infinity, got ${ms}`);
  return Math.round(ms * 1e6);
}

export function spinOf(options: WaitOptions | undefined): number {
  return options?.spin ?? DEFAULT_SPIN;
}
