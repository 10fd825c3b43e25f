// Records received together (Reader.recvBatch, Reader.batches()): one call
// into the core takes up to `maxRecords` records and holds them under one
// lease, so a small record costs no FFI call of its own. Every record is a
// read-only view of shared memory, whatever its size, valid until the batch
// is released (after that the writer may overwrite what it shows, as with a
// zero-copy Message).
import { Code, usageError } from "./errors.ts";

/** The core's words of one batch: the lease, then (offset, length) per record, each a uint64 as two uint32 halves. */
export interface BatchWords {
  readonly lease: Uint32Array;
  readonly records: Uint32Array;
}

/** The reader a batch hands its lease back to. */
export interface BatchOwner {
  readonly name: string;
  _releasedBatch(batch: Batch): void;
}

const TWO_32 = 2 ** 32;

/** Records received together; each is read-only, in shared memory, valid until release(). */
export class Batch implements Disposable, Iterable<Uint8Array> {
  /** The channel they came from. */
  readonly channel: string;
  /** How many records. */
  readonly length: number;
  /**
   * The record ring the records lie in (read-only memory): record i is
   * bytes.subarray(offsetOf(i), offsetOf(i) + lengthOf(i)). For code that
   * reads fields in place, without a view per record.
   */
  readonly bytes: Uint8Array;
  /** @internal The core's lease on the records, which the reader releases. */
  readonly _lease: number;
  #owner: BatchOwner | null;
  /** The core's words for the records: read in place (the reader's next batch, which overwrites them, releases this one first). */
  readonly #words: Uint32Array;
  /** Where the ring starts in the segment: the core's offsets count from the segment's start. */
  readonly #ringAt: number;

  /** @internal Made by the reader from the words the core wrote; `ringAt` is where `ring` starts in the segment. */
  constructor(owner: BatchOwner, ring: Uint8Array, ringAt: number, words: BatchWords, count: number) {
    this.#owner = owner;
    this.channel = owner.name;
    this.length = count;
    this.bytes = ring;
    this._lease = words.lease[0]! + words.lease[1]! * TWO_32;
    this.#words = words.records;
    this.#ringAt = ringAt;
  }

  get released(): boolean {
    return this.#owner === null;
  }

  /** Where record `index` starts in `bytes`. */
  offsetOf(index: number): number {
    const w = this.#words, i = 4 * this.#index(index);
    return w[i]! + w[i + 1]! * TWO_32 - this.#ringAt;
  }

  /** How many bytes record `index` has. */
  lengthOf(index: number): number {
    const w = this.#words, i = 4 * this.#index(index);
    return w[i + 2]! + w[i + 3]! * TWO_32;
  }

  /** Record `index`: a view of shared memory, valid until release(). */
  at(index: number): Uint8Array {
    const w = this.#words, i = 4 * this.#index(index);
    const start = w[i]! + w[i + 1]! * TWO_32 - this.#ringAt;
    return this.bytes.subarray(start, start + w[i + 2]! + w[i + 3]! * TWO_32);
  }

  /** The records in order, as at() gives them. */
  *[Symbol.iterator](): IterableIterator<Uint8Array> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** Hands the records' space back to the writer, which may then overwrite what their views show. */
  release(): void {
    const owner = this.#owner;
    if (!owner) return;
    this.#owner = null;
    owner._releasedBatch(this);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  #index(index: number): number {
    if (this.#owner === null) throw usageError(Code.STATE, this.channel, "recv", "read a batch's records before releasing it (copy what you keep)");
    if (!(index >= 0 && index < this.length && Number.isInteger(index))) throw new RangeError(`shmpipe: record ${index} of a batch of ${this.length}`);
    return index;
  }
}
