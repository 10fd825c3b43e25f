// The reading end of a channel. Records arrive as zero-copy views into
// shared memory that stay valid until released; release() detaches the view
// (its length drops to 0), so data the writer has since overwritten can
// never be read through it by mistake. copy() keeps data past release.
import { type Address, addressOf, core } from "./ffi/bun.ts";
import { Code, ShmpipeError } from "./errors.ts";
import type { Segment } from "./segment.ts";
import { spinOf, timeoutNs, type WaitOptions } from "./options.ts";
import { Waiter } from "./waiter.ts";

/** One received record. */
export class Message implements Disposable {
  /** The payload, in shared memory. Valid until release(). */
  readonly bytes: Uint8Array;
  /** The channel it came from. */
  readonly channel: string;
  #buffer: ArrayBuffer | null;
  #reader: Reader | null;

  constructor(reader: Reader, buffer: ArrayBuffer | null) {
    this.#reader = reader;
    this.channel = reader.name;
    this.#buffer = buffer;
    this.bytes = buffer ? new Uint8Array(buffer) : new Uint8Array(0);
  }

  get released(): boolean {
    return this.#reader === null;
  }

  /** A private copy of the payload, yours to keep after release(). */
  copy(): Uint8Array {
    if (this.released) throw new ShmpipeError(Code.STATE, { segment: this.channel, op: "recv", hint: "copy() the message before releasing it" });
    return this.bytes.slice();
  }

  /** Hands the record's space back to the writer and detaches `bytes`. */
  release(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = null;
    this.#buffer?.transfer(0);
    this.#buffer = null;
    reader._released(this);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

export class Reader implements Disposable, AsyncIterable<Message> {
  readonly #segment: Segment;
  #handle: Address | null;
  #current: Message | null = null;
  /** The core writes the payload offset here (u64, as two u32 halves). */
  readonly #offset = new Uint32Array(2);
  readonly #offsetAddress = addressOf(this.#offset);
  readonly #waiter = new Waiter();
  #closing = false;

  constructor(segment: Segment, handle: Address) {
    this.#segment = segment;
    this.#handle = handle;
  }

  get name(): string {
    return this.#segment.name;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /**
   * The next record, waiting on this thread (the event loop stalls while it
   * waits). null at end-of-stream. Releases the previous record first.
   */
  recvSync(options?: WaitOptions): Message | null {
    const handle = this.#live();
    this.#current?.release();
    const length = core.shmp_reader_next(handle, this.#offsetAddress, timeoutNs(options), spinOf(options)) as number;
    return this.#deliver(length);
  }

  /**
   * The next record, waiting without blocking the event loop. null at
   * end-of-stream or when the reader is closed meanwhile. Releases the
   * previous record first.
   */
  async recv(options?: WaitOptions): Promise<Message | null> {
    const handle = this.#live();
    this.#current?.release();
    let length = core.shmp_reader_peek(handle, this.#offsetAddress) as number;
    if (length === Code.AGAIN) {
      const rc = await this.#waiter.wait(handle, timeoutNs(options), spinOf(options));
      if (this.#closing) {
        this.#finishClose();
        return null;
      }
      length = rc === 0 ? (core.shmp_reader_peek(handle, this.#offsetAddress) as number) : rc;
    }
    return this.#deliver(length);
  }

  /** Every record until end-of-stream; each is released when the next is asked for. */
  [Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    return this.messages();
  }

  /** Like iterating the reader, with options for each wait. */
  async *messages(options?: WaitOptions): AsyncGenerator<Message, void, undefined> {
    try {
      for (let message = await this.recv(options); message; message = await this.recv(options)) yield message;
    } finally {
      this.#current?.release();
    }
  }

  /** Lets go of the segment; a pending recv() resolves to null. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#current?.release();
    // A worker blocked in the core holds the reader: wake it, and finish
    // once it has let go (in recv()).
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
    if (!this.#closing && this.#handle !== null) core.shmp_reader_release(this.#handle);
  }

  #deliver(length: number): Message | null {
    if (length === Code.CLOSED) return null;
    if (length < 0) throw new ShmpipeError(length, { segment: this.name, op: "recv" });
    const offset = this.#offset[0]! + this.#offset[1]! * 2 ** 32;
    const message = new Message(this, length ? this.#segment.view(offset, length) : null);
    this.#current = message;
    return message;
  }

  #live(): Address {
    if (this.#closing || this.#handle === null) throw new ShmpipeError(Code.CLOSED, { segment: this.name, op: "recv", hint: "this reader was closed" });
    if (this.#waiter.waiting) throw new ShmpipeError(Code.STATE, { segment: this.name, op: "recv", hint: "another recv() on this reader is still waiting" });
    return this.#handle;
  }

  #finishClose(): void {
    if (this.#handle === null) return;
    this.#waiter.stop();
    core.shmp_reader_close(this.#handle);
    this.#handle = null;
    this.#segment.close();
  }
}
