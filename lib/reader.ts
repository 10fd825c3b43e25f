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
import { type Address, core } from "#ffi";
import { Code, coreError, usageError } from "./errors.ts";
import type { Segment } from "./segment.ts";
import { untrack } from "./open-ends.ts";
import { spinOf, timeoutNs, type WaitOptions } from "./options.ts";
import { Waiter } from "./waiter.ts";

/** What Reader._recvSlice returns when its slice passed without a record. */
export const SLICE_OVER = Symbol("slice over");

/** Records shorter than this are copied out of shared memory on receipt. */
export const COPY_BELOW = 512;

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
    const handle = this.#live();
    this.#current?.release();
    return this.#deliver(core.shmp_reader_next(handle, null, timeoutNs(options), spinOf(options), this.#err) as number, this.#err);
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
    const length = core.shmp_reader_next(handle, null, sliceNs, spin, this.#err) as number;
    return length === Code.TIMEOUT ? SLICE_OVER : this.#deliver(length, this.#err);
  }

  /**
   * The next record, waiting without blocking the event loop. null at
   * end-of-stream or when the reader is closed meanwhile. Releases the
   * previous record first.
   */
  recv(options?: WaitOptions): Promise<Message | null> {
    try {
      const received = this.#receive(options);
      return received instanceof Promise ? received : Promise.resolve(received);
    } catch (error) {
      return Promise.reject(error);
    }
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
    const result = (message: Message | null): IteratorResult<Message> => {
      if (message) return { done: false, value: message };
      this.#current?.release();
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<Message> = {
      next: () => {
        try {
          const received = this.#receive(options);
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

  /** Lets go of the segment; a pending recv() resolves to null. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    untrack(this);
    this.#current?.release();
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

  /**
   * The next record now if one arrives while polling, else a promise. Not
   * async: when a record is there, skipping the async machinery (two
   * promises and their ticks) halves the cost of a small record.
   */
  #receive(options?: WaitOptions): Message | null | Promise<Message | null> {
    const handle = this.#live();
    this.#current?.release();
    // Poll (spin) here first: a live stream usually delivers within
    // microseconds, far sooner than a round trip through the Worker.
    const length = core.shmp_reader_next(handle, null, 0, spinOf(options), this.#err) as number;
    return length === Code.TIMEOUT ? this.#receiveLater(handle, options) : this.#deliver(length, this.#err);
  }

  async #receiveLater(handle: Address, options?: WaitOptions): Promise<Message | null> {
    const { rc, err } = await this.#waiter.wait(handle, timeoutNs(options), spinOf(options));
    if (this.#closing) {
      this.#finishClose();
      return null;
    }
    return rc === 0 ? this.#deliver(core.shmp_reader_peek(handle, null, this.#err) as number, this.#err) : this.#deliver(rc, err);
  }

  /** A record of `length` bytes, or the failure the core wrote into `err`. */
  #deliver(length: number, err: Uint8Array): Message | null {
    if (length === Code.CLOSED) return null;
    if (length < 0) throw coreError(err);
    const handle = this.#handle!;
    // Asked of the core rather than passed back through a typed array: the
    // address of a small typed array can go stale when the engine moves it.
    const offset = (core.shmp_reader_offset(handle) as number) - this.#ringAt;
    if (length < COPY_BELOW) {
      const copy = this.#mapped.slice(offset, offset + length);
      core.shmp_reader_release(handle, this.#err);
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
