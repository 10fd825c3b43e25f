// The writing end of a channel: send() copies bytes in with one core call;
// claim() lends a view of ring memory to fill in place, commit() publishes.
import { type Address, core } from "./ffi/bun.ts";
import { Code, coreError, usageError } from "./errors.ts";
import type { Segment } from "./segment.ts";
import { untrack } from "./open-ends.ts";
import { spinOf, timeoutNs, type WaitOptions } from "./options.ts";

const encoder = new TextEncoder();

export class Writer implements Disposable {
  readonly #segment: Segment;
  #handle: Address | null;
  /** The buffer lent by claim(); detached by commit() or abort(). */
  #claimed: ArrayBuffer | null = null;
  #claimedLength = 0;
  /** The core's error out-parameter for this writer's calls. */
  readonly #err: Uint8Array;
  /** Largest payload one record can carry. */
  readonly maxRecordSize: number;

  constructor(segment: Segment, handle: Address, err: Uint8Array) {
    this.#segment = segment;
    this.#handle = handle;
    this.#err = err;
    this.maxRecordSize = core.shmp_writer_max_payload(handle) as number;
  }

  get name(): string {
    return this.#segment.name;
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /** Copies `data` into the next record and publishes it. */
  send(data: ArrayBufferView | string, options?: WaitOptions): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const length = bytes.byteLength;
    const rc = core.shmp_writer_send(this.#live("send"), length ? (bytes as NodeJS.TypedArray) : null, length, timeoutNs(options), spinOf(options), this.#err);
    if (rc !== 0) throw coreError(this.#err);
  }

  /**
   * Reserves a record of up to `length` bytes and returns a view of it in
   * shared memory. Fill it, then commit(). The view is detached (its length
   * drops to 0) by commit() and abort(): it never writes into a published
   * record.
   */
  claim(length: number, options?: WaitOptions): Uint8Array {
    const handle = this.#live("claim");
    if (this.#claimed) throw usageError(Code.STATE, this.name, "claim", "commit() or abort() the previous claim first");
    const offset = core.shmp_writer_claim(handle, length, timeoutNs(options), spinOf(options), this.#err) as number;
    if (offset < 0) throw coreError(this.#err);
    this.#claimed = length ? this.#segment.view(offset, length, "claim") : new ArrayBuffer(0);
    this.#claimedLength = length;
    return new Uint8Array(this.#claimed);
  }

  /** Publishes the claimed record with its first `length` bytes (default: all). */
  commit(length = this.#claimedLength): void {
    const handle = this.#live("commit");
    if (!this.#claimed) throw usageError(Code.STATE, this.name, "commit", "claim() a record first");
    if (!Number.isSafeInteger(length) || length < 0) throw usageError(Code.INVALID, this.name, "commit", `length must be a whole number of bytes, got ${length}`);
    // The core refuses a length beyond the claim and keeps the claim; on
    // success the view goes before any other code can write through it.
    const rc = core.shmp_writer_commit(handle, length, this.#err);
    if (rc !== 0) throw coreError(this.#err);
    this.#detachClaim();
  }

  /** Gives the claimed space back unpublished. */
  abort(): void {
    const handle = this.#live("abort");
    if (!this.#claimed) return;
    this.#detachClaim();
    core.shmp_writer_abort(handle, this.#err);
  }

  /** Marks end-of-stream for the reader and lets go of the segment. */
  close(): void {
    if (this.#handle === null) return;
    untrack(this);
    this.#detachClaim();
    core.shmp_writer_close(this.#handle);
    this.#handle = null;
    this.#segment.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Ends the stream and seals the segment as a published table; the caller takes over the segment. */
  _seal(): Segment {
    const handle = this.#live("commit");
    untrack(this);
    this.#detachClaim();
    core.shmp_writer_seal(handle);
    this.#handle = null;
    return this.#segment;
  }

  #detachClaim(): void {
    this.#claimed?.transfer(0);
    this.#claimed = null;
  }

  #live(op: "send" | "claim" | "commit" | "abort"): Address {
    if (this.#handle === null) throw usageError(Code.CLOSED, this.name, op, "this writer was closed");
    return this.#handle;
  }
}
