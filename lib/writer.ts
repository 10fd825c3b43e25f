// The writing end of a channel: send() copies bytes in with one core call;
// sendBatch() many records with one; claim() lends a view of ring memory
// to fill in place, commit() publishes.
import { writeSync } from "node:fs";
import { type Address, core } from "#ffi";
import { Code, coreError, usageError } from "./errors.ts";
import type { Segment } from "./segment.ts";
import { untrack } from "./open-ends.ts";
import { spinOf, timeoutNs, type WaitOptions } from "./options.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A batch's bytes are packed into one buffer for the core; one up to this size is kept for the next batch. */
const KEEP_PACKED = 1 << 20;
const TWO_32 = 2 ** 32;

export class Writer implements Disposable {
  readonly #segment: Segment;
  #handle: Address | null;
  /** The buffer lent by claim(); detached by commit() or abort(). */
  #claimed: ArrayBuffer | null = null;
  #claimedLength = 0;
  #claimedOffset = 0;
  /** The core's error out-parameter for this writer's calls. */
  readonly #err: Uint8Array;
  /** Largest payload one record can carry. */
  readonly maxRecordSize: number;
  /** sendBatch()'s packed bytes and the records' lengths (uint64 as two uint32 halves), kept for the next batch. */
  #packed = new Uint8Array(4096);
  #lengths = new Uint32Array(512);

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
   * Sends each of `records` as a record of its own, in one call into the
   * core: for many small records, each of which would otherwise cost a
   * call. The records are packed into one buffer first (a copy in
   * JavaScript, then the core's copy into the ring), so it pays for small
   * records, not large ones. The readers see the records together (each
   * wait for room publishes those before it). If a wait fails, the
   * records before it were sent: the error says how many.
   */
  sendBatch(records: readonly (ArrayBufferView | string)[], options?: WaitOptions): void {
    const handle = this.#live("send");
    const count = records.length;
    if (count === 0) return;
    const views = records.some((record) => typeof record === "string")
      ? records.map((record) => (typeof record === "string" ? encoder.encode(record) : record))
      : (records as readonly ArrayBufferView[]);
    if (this.#lengths.length < 2 * count) this.#lengths = new Uint32Array(2 * count);
    const lengths = this.#lengths;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const length = views[i]!.byteLength;
      lengths[2 * i] = length % TWO_32;
      lengths[2 * i + 1] = Math.floor(length / TWO_32);
      total += length;
    }
    let packed = this.#packed;
    if (packed.length < total) {
      packed = new Uint8Array(Math.max(total, 2 * packed.length));
      if (packed.length <= KEEP_PACKED) this.#packed = packed;
    }
    for (let i = 0, at = 0; i < count; i++) {
      const view = views[i]!;
      packed.set(view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength), at);
      at += view.byteLength;
    }
    this.#sendLengths(handle, packed, total, count, options);
  }

  /**
   * sendBatch() for records already packed one after another in `bytes`:
   * record i is the next lengths[i] bytes (the lengths add up to
   * bytes.byteLength). No copy in JavaScript: the core copies each record
   * from `bytes` into the ring. For producers that encode many small
   * records into one buffer.
   */
  sendPacked(bytes: ArrayBufferView, lengths: ArrayLike<number>, options?: WaitOptions): void {
    const handle = this.#live("send");
    const count = lengths.length;
    if (this.#lengths.length < 2 * count) this.#lengths = new Uint32Array(2 * count);
    const words = this.#lengths;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      if (!(Number.isSafeInteger(length) && length >= 0)) throw usageError(Code.INVALID, this.name, "send", `lengths[${i}] must be a whole number of bytes, got ${length}`);
      words[2 * i] = length % TWO_32;
      words[2 * i + 1] = Math.floor(length / TWO_32);
    }
    // The core checks that the lengths add up to the bytes given.
    this.#sendLengths(handle, bytes.byteLength ? bytes : null, bytes.byteLength, count, options);
  }

  /** The core's batch send of `count` records from `data`, their lengths in #lengths. */
  #sendLengths(handle: Address, data: ArrayBufferView | null, total: number, count: number, options?: WaitOptions): void {
    if (count === 0 && total === 0) return;
    const rc = core.shmp_writer_send_batch(handle, data, total, this.#lengths, count, timeoutNs(options), spinOf(options), null, this.#err);
    if (rc < 0) throw coreError(this.#err);
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
    this.#claimedOffset = offset;
    return new Uint8Array(this.#claimed);
  }

  /**
   * Copies `bytes` into the claimed record, `at` bytes into it, by the
   * core (Segment.write: through the file of a table being published,
   * faster there than through the claimed view; else a memcpy). For large
   * buffers: a call costs more than copying a small one into the view.
   */
  fill(at: number, bytes: Uint8Array): void {
    this.#live("claim");
    if (!this.#claimed) throw usageError(Code.STATE, this.name, "claim", "claim() a record first");
    if (!(Number.isSafeInteger(at) && at >= 0 && bytes.byteLength <= this.#claimedLength - at)) {
      throw usageError(Code.INVALID, this.name, "claim", `${bytes.byteLength} bytes at ${at} do not fit the claimed record of ${this.#claimedLength} bytes`);
    }
    this.#segment.write(this.#claimedOffset + at, bytes, "claim");
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

  /**
   * Publishes the claimed record through the core's Arrow sender of this
   * writer (lib/arrow/writer.ts), which checks the message first: a message
   * no reader could read is refused unpublished (EARROW). Either way the
   * claim is over. Returns the message's kind.
   */
  commitArrow(sender: Address): number {
    this.#live("send");
    if (!this.#claimed) throw usageError(Code.STATE, this.name, "send", "claim() a record first");
    const kind = core.shmp_arrow_sender_commit(sender, this.#claimedLength, this.#err);
    this.#detachClaim();
    if (kind < 0) throw coreError(this.#err);
    return kind;
  }

  /** The core's shmp_writer*, for the Arrow sender made over it. */
  get handle(): Address {
    return this.#live("send");
  }

  /** Gives the claimed space back unpublished. */
  abort(): void {
    const handle = this.#live("abort");
    if (!this.#claimed) return;
    this.#detachClaim();
    core.shmp_writer_abort(handle, this.#err);
  }

  /**
   * Waits until every record sent so far has been read and released by
   * every reader attached (with none attached yet, until one comes and
   * reads them), up to `timeoutMs`. Throws ETIMEOUT, ECLOSED (the readers
   * left first) or EPEERGONE (they died), naming what is still unread.
   */
  drain(options?: WaitOptions): void {
    const rc = core.shmp_writer_drain(this.#live("drain"), timeoutNs(options), spinOf(options), this.#err);
    if (rc !== 0) throw coreError(this.#err);
  }

  /**
   * How many readers joined mid-stream since the last call: they missed
   * the start of the stream (ArrowWriter sends its schema and dictionaries
   * again for them). One load of a shared word.
   */
  readersJoined(): number {
    return core.shmp_writer_readers_joined(this.#live("send"));
  }

  /**
   * Marks end-of-stream for the readers and lets go of the segment.
   * Nothing is lost silently: if this writer created the channel (so its
   * name goes now) and no reader has ever attached to read what it sent,
   * close first waits up to `timeoutMs` (default 30 s) for one to come; if
   * none does, it closes and throws EUNREAD, naming the records lost.
   * Readers that attached read every record to the end, also after the
   * name is gone.
   */
  close(options?: WaitOptions): void {
    const handle = this.#handle;
    if (handle === null) return;
    // Waits only when records would be lost; a signal ends it (EINTR).
    // Such a wait is said once, before it starts, on stderr (the core words it).
    const timeout = timeoutNs(options);
    const notice = new Uint8Array(512);
    const length = core.shmp_writer_linger_notice(handle, timeout, notice, notice.length) as number;
    // (Written at once: the wait blocks this thread, and a buffered line would come after it.)
    if (length > 0) writeSync(2, `${decoder.decode(notice.subarray(0, Math.min(length, notice.length - 1)))}\n`);
    const rc = core.shmp_writer_linger(handle, timeout, spinOf(options), this.#err);
    if (rc !== 0 && rc !== Code.TIMEOUT) throw coreError(this.#err);
    this.#release();
    const lost = core.shmp_writer_close_checked(handle, this.#err);
    this.#segment.close();
    if (lost !== 0) throw coreError(this.#err);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Closes at once, neither waiting nor telling (a publish that failed half-way). */
  _discard(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#release();
    core.shmp_writer_close(handle);
    this.#segment.close();
  }

  /** @internal Left open at exit: closed without waiting; records lost are reported on stderr. */
  _closeAtExit(): void {
    try {
      this.close({ timeoutMs: 0 });
    } catch (error) {
      console.error((error as Error).message);
    }
  }

  /**
   * @internal Ends the stream and seals the segment as a published table
   * (persistent: it outlives this process); the caller takes over the segment.
   */
  _seal(persistent = false): Segment {
    const handle = this.#live("commit");
    this.#release();
    if (persistent) core.shmp_writer_seal_persistent(handle);
    else core.shmp_writer_seal(handle);
    return this.#segment;
  }

  #release(): void {
    untrack(this);
    this.#detachClaim();
    this.#handle = null;
  }

  #detachClaim(): void {
    this.#claimed?.transfer(0);
    this.#claimed = null;
  }

  #live(op: "send" | "claim" | "commit" | "abort" | "drain"): Address {
    if (this.#handle === null) throw usageError(Code.CLOSED, this.name, op, "this writer was closed");
    return this.#handle;
  }
}
