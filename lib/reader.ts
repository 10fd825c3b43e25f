// The reading end of a channel.
//
// A record of COPY_BELOW bytes or more arrives as a zero-copy view into
// shared memory: a subarray of one ArrayBuffer over the whole record ring,
// which costs the same at any size. It is valid until released; after that
// the writer may overwrite the memory it shows (it stays mapped, so reading
// it is safe, but the bytes are no longer the record's). copy() keeps a
// record's data past release. close() detaches the ring's buffer, so
// every view of it reads as empty from then on.
//
// The records are mapped read-only in every reader (the header, where the
// reader's position is kept, stays writable): with fan-out, other readers
// read the same bytes. A write into a zero-copy view faults: the process
// ends by SIGSEGV at the written address. Change a copy() instead.
//
// Why not one detachable ArrayBuffer per record, so release could empty the
// view: Bun's toArrayBuffer costs grow with the length it covers (0.5 µs at
// 1 KiB, 32 µs at 1 MiB, 117 µs at 100 MiB: it reports the bytes to the
// garbage collector, which then collects), and the hand-off of a 100 MB
// batch must not cost more than a small one (docs/BENCHMARKS.md).
//
// Smaller records arrive as private copies and their ring space is
// released at once: a copy of up to 256 bytes costs ~85 ns, less than
// keeping the record (scripts/bench/views.ts).
//
// Many small records: recvBatch() and batches() take up to `maxRecords`
// at once, in one call into the core, as views (lib/batch.ts).
import { type Address, core } from "#ffi";
import { Batch, type BatchWords } from "./batch.ts";
import { Code, constant, coreError, usageError } from "./errors.ts";
import type { Segment } from "./segment.ts";
import { untrack } from "./open-ends.ts";
import { spinOf, timeoutNs, type WaitOptions } from "./options.ts";
import { Waiter } from "./waiter.ts";

/** What Reader._recvSlice returns when its slice passed without a record. */
export const SLICE_OVER = Symbol("slice over");

/** Records shorter than this are copied out of shared memory on receipt (the core's COPY_BELOW, 512, as in every binding). */
export const COPY_BELOW = constant("COPY_BELOW");

/** Records a batch takes at most unless told otherwise (the core's DEFAULT_BATCH_RECORDS). */
export const DEFAULT_BATCH_RECORDS = constant("DEFAULT_BATCH_RECORDS");

export interface BatchOptions extends WaitOptions {
  /** Take at most this many records (default DEFAULT_BATCH_RECORDS). */
  maxRecords?: number;
}

/** How a receive takes what it delivers: one record (a Message) or a batch. */
interface Take<T> {
  /** The core call, returning a length or a count, or a code (ETIMEOUT when nothing came in time). */
  take(handle: Address, timeoutNs: number, spin: number): number;
  /** What the call's result becomes for the caller; null at end-of-stream. */
  deliver(result: number, err: Uint8Array): T | null;
}

/** One received record. */
export class Message implements Disposable {
  /** The payload: in shared memory, read-only, if `zeroCopy`, else a private copy. Use it until release(). */
  readonly bytes: Uint8Array;
  /** The channel it came from. */
  readonly channel: string;
  /** True if `bytes` is a view of shared memory rather than a copy. */
  readonly zeroCopy: boolean;
  #reader: Reader | null;

  constructor(reader: Reader, bytes: Uint8Array, zeroCopy: boolean) {
    this.#reader = reader;
    this.channel = reader.name;
    this.bytes = bytes;
    this.zeroCopy = zeroCopy;
  }

  get released(): boolean {
    return this.#reader === null;
  }

  /** The payload in memory of your own, to keep after release(). */
  copy(): Uint8Array {
    if (this.released) throw usageError(Code.STATE, this.channel, "recv", "copy() the message before releasing it");
    return this.zeroCopy ? this.bytes.slice() : this.bytes;
  }

  /** Hands the record's space back to the writer, which may then overwrite what a zero-copy `bytes` shows. */
  release(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = null;
    if (this.zeroCopy) reader._released(this); // a copy's ring space went back on receipt
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

export class Reader implements Disposable, AsyncIterable<Message> {
  readonly #segment: Segment;
  #handle: Address | null;
  /** The zero-copy message handed out and not yet released. */
  #current: Message | null = null;
  /** The batch handed out and not yet released. */
  #batch: Batch | null = null;
  /** Where the core writes a batch (grown to the largest maxRecords asked for). */
  #batchWords: BatchWords | null = null;
  #maxRecords = 0;
  /**
   * The record ring (read-only memory): small records are copied out of
   * it, larger ones are views of it. Not the header: a view's `buffer`
   * reaches no byte a reader could change. Detached on close.
   */
  readonly #mapped: Uint8Array;
  /** Where the ring starts in the segment (the core's offsets count from the segment's start). */
  readonly #ringAt: number;
  readonly #waiter = new Waiter();
  #closing = false;
  /** The core's error out-parameter for this reader's calls. */
  readonly #err: Uint8Array;
  /**
   * Where the core writes a record's offset (a u64 as two u32 halves):
   * passed with every call, never kept as an address (a moving collector
   * may move a typed array between calls), and one call fewer per record
   * than asking for the offset afterwards.
   */
  readonly #offset = new Uint32Array(new ArrayBuffer(8));

  constructor(segment: Segment, handle: Address, err: Uint8Array) {
    this.#segment = segment;
    this.#handle = handle;
    this.#err = err;
    this.#ringAt = segment.ringOffset;
    this.#mapped = new Uint8Array(segment.view(this.#ringAt, segment.size - this.#ringAt));
  }

  get name(): string {
    return this.#segment.name;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** @internal The core's shmp_reader* (for the Arrow check of a reader that joined mid-stream). */
  get _handle(): Address | null {
    return this.#handle;
  }

  /**
   * The next record, waiting on this thread (the event loop stalls while it
   * waits). null at end-of-stream. Releases the previous record first.
   */
  recvSync(options?: WaitOptions): Message | null {
    return this.#receiveSync(this.#records, options);
  }

  /**
   * @internal recvSync() that waits at most `sliceNs` and then returns
   * SLICE_OVER instead of failing, for a caller with work to do between
   * slices (ArrowReader.readSync keeps its decode warm). Signals, a dead
   * writer and end-of-stream end it as they end recvSync().
   */
  _recvSlice(sliceNs: number, spin: number): Message | null | typeof SLICE_OVER {
    const handle = this.#live();
    this.#current?.release();
    const length = core.shmp_reader_next(handle, this.#offset, sliceNs, spin, this.#err) as number;
    return length === Code.TIMEOUT ? SLICE_OVER : this.#deliver(length, this.#err);
  }

  /**
   * The next record, waiting without blocking the event loop. null at
   * end-of-stream or when the reader is closed meanwhile. Releases the
   * previous record first.
   */
  recv(options?: WaitOptions): Promise<Message | null> {
    return this.#receiveAsync(this.#records, options);
  }

  /**
   * Every record until end-of-stream; each is released when the next is
   * asked for. Waits as long as the writer lives (its death ends the loop
   * with EPEERGONE): a slow upstream is not an error.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this.messages();
  }

  /** Like iterating the reader, with options for each wait (default: no timeout). */
  messages(options: WaitOptions = { timeoutMs: Infinity }): AsyncIterableIterator<Message> {
    return this.#iterate(this.#records, options);
  }

  /**
   * The records there are now, up to `maxRecords` (default 256), in one
   * call into the core: for many small records, each of which would
   * otherwise cost a call (and, iterated with `for await`, a promise).
   * Waits on this thread for the first, as recvSync() does. Every record is
   * a read-only view of shared memory, valid until the batch is released.
   * null at end-of-stream. Releases what was received before first.
   */
  recvBatchSync(options?: BatchOptions): Batch | null {
    return this.#receiveSync(this.#batchOf(options), options);
  }

  /** recvBatchSync() waiting without blocking the event loop; null also when the reader is closed meanwhile. */
  recvBatch(options?: BatchOptions): Promise<Batch | null> {
    return this.#receiveAsync(this.#batchOf(options), options);
  }

  /**
   * Every record until end-of-stream, in batches (as recvBatch() takes
   * them); each batch is released when the next is asked for. Waits as
   * messages() does (default: no timeout).
   */
  batches(options: BatchOptions = { timeoutMs: Infinity }): AsyncIterableIterator<Batch> {
    return this.#iterate(this.#batchOf(options), options);
  }

  /** Lets go of the segment; a pending recv() resolves to null. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    untrack(this);
    this.#releaseHeld();
    // A worker blocked in the core holds the reader: wake it, and finish
    // once it has let go (in #receiveLater).
    if (this.#waiter.waiting) core.shmp_reader_interrupt(this.#handle!);
    else this.#finishClose();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called by Message.release(). */
  _released(message: Message): void {
    if (message !== this.#current) return;
    this.#current = null;
    if (this.#handle !== null) core.shmp_reader_release(this.#handle, this.#err);
  }

  /** @internal Called by Batch.release(). */
  _releasedBatch(batch: Batch): void {
    if (batch !== this.#batch) return;
    this.#batch = null;
    if (this.#handle !== null) core.shmp_reader_release_lease(this.#handle, batch._lease, this.#err);
  }

  /** One record at a time: the core's peek-and-wait, delivered as a Message. */
  readonly #records: Take<Message> = {
    take: (handle, timeout, spin) => core.shmp_reader_next(handle, this.#offset, timeout, spin, this.#err) as number,
    deliver: (length, err) => this.#deliver(length, err),
  };

  /** Batches of up to `maxRecords`, the words for them grown to fit. */
  #batchOf(options: BatchOptions | undefined): Take<Batch> {
    const max = options?.maxRecords ?? DEFAULT_BATCH_RECORDS;
    if (!(Number.isInteger(max) && max >= 1 && max <= 0xffffffff)) throw new RangeError(`shmpipe: maxRecords must be a whole number >= 1, got ${max}`);
    if (max > this.#maxRecords) {
      const buffer = new ArrayBuffer(8 + 16 * max);
      this.#batchWords = { lease: new Uint32Array(buffer, 0, 2), records: new Uint32Array(buffer, 8, 4 * max) };
      this.#maxRecords = max;
    }
    const words = this.#batchWords!;
    return {
      take: (handle, timeout, spin) => core.shmp_reader_take_batch(handle, words.records, max, words.lease, timeout, spin, this.#err) as number,
      deliver: (count, err) => {
        if (count === Code.CLOSED) return null;
        if (count < 0) throw coreError(err);
        return (this.#batch = new Batch(this, this.#mapped, this.#ringAt, words, count));
      },
    };
  }

  /** What was received before: released before the next receive. */
  #releaseHeld(): void {
    this.#current?.release();
    this.#batch?.release();
  }

  #receiveSync<T>(how: Take<T>, options: WaitOptions | undefined): T | null {
    const handle = this.#live();
    this.#releaseHeld();
    return how.deliver(how.take(handle, timeoutNs(options), spinOf(options)), this.#err);
  }

  #receiveAsync<T>(how: Take<T>, options: WaitOptions | undefined): Promise<T | null> {
    try {
      const received = this.#receive(how, options);
      return received instanceof Promise ? received : Promise.resolve(received);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** An async iterator over what `how` delivers; what it handed out goes when the next is asked for. */
  #iterate<T>(how: Take<T>, options: WaitOptions): AsyncIterableIterator<T> {
    const result = (value: T | null): IteratorResult<T> => {
      if (value !== null) return { done: false, value };
      this.#releaseHeld();
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        try {
          const received = this.#receive(how, options);
          return received instanceof Promise ? received.then(result) : Promise.resolve(result(received));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      return: () => Promise.resolve(result(null)),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * What comes next now if it arrives while polling, else a promise. Not
   * async: when a record is there, skipping the async machinery (two
   * promises and their ticks) halves the cost of a small record.
   */
  #receive<T>(how: Take<T>, options?: WaitOptions): T | null | Promise<T | null> {
    const handle = this.#live();
    this.#releaseHeld();
    // Poll (spin) here first: a live stream usually delivers within
    // microseconds, far sooner than a round trip through the Worker.
    const result = how.take(handle, 0, spinOf(options));
    return result === Code.TIMEOUT ? this.#receiveLater(how, handle, options) : how.deliver(result, this.#err);
  }

  async #receiveLater<T>(how: Take<T>, handle: Address, options?: WaitOptions): Promise<T | null> {
    const { rc, err } = await this.#waiter.wait(handle, timeoutNs(options), spinOf(options));
    if (this.#closing) {
      this.#finishClose();
      return null;
    }
    return rc === 0 ? how.deliver(how.take(handle, 0, 0), this.#err) : how.deliver(rc, err);
  }

  /** A record of `length` bytes, or the failure the core wrote into `err`. */
  #deliver(length: number, err: Uint8Array): Message | null {
    if (length === Code.CLOSED) return null;
    if (length < 0) throw coreError(err);
    const offset = this.#offset[0]! + this.#offset[1]! * 2 ** 32 - this.#ringAt;
    if (length < COPY_BELOW) {
      const copy = this.#mapped.slice(offset, offset + length);
      core.shmp_reader_release(this.#handle!, this.#err);
      return new Message(this, copy, false);
    }
    const message = new Message(this, this.#mapped.subarray(offset, offset + length), true);
    this.#current = message;
    return message;
  }

  #live(): Address {
    if (this.#closing || this.#handle === null) throw usageError(Code.CLOSED, this.name, "recv", "this reader was closed");
    if (this.#waiter.waiting) throw usageError(Code.STATE, this.name, "recv", "another recv() on this reader is still waiting");
    return this.#handle;
  }

  #finishClose(): void {
    if (this.#handle === null) return;
    this.#waiter.stop();
    (this.#mapped.buffer as ArrayBuffer).transfer(0);
    core.shmp_reader_close(this.#handle);
    this.#handle = null;
    this.#segment.close();
  }
}
