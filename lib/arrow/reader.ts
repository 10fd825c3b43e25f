// Receives apache-arrow record batches from a channel. Each batch's column
// buffers are typed-array views of the record in shared memory, mapped
// read-only: nothing is copied, whatever the batch size (and a write into a
// column ends the process by SIGSEGV). A batch is the record's until the
// next read or release(): from then on the writer may reuse that memory,
// and the views, still mapped and safe to read, show whatever it wrote
// there (values of later batches), not the batch's. Closing the reader
// detaches them (they read as empty). copyBatch() before release keeps a
// batch for as long as you like.
// Schema and dictionary messages are consumed here; dictionaries are copied
// (they must outlive their records) and usually small.
import type { RecordBatch, Schema, TypeMap } from "apache-arrow";
import { spinOf, timeoutNs, type WaitOptions } from "../options.ts";
import { type Message, type Reader, SLICE_OVER } from "../reader.ts";
import { MessageDecoder } from "./decoder.ts";

/** Returned by #accept when a message was consumed and reading goes on. */
const MORE = Symbol("more");

/**
 * readSync's keep-warm: for this long after a batch (ms), waiting goes in
 * slices of WARM_EVERY_MS with the decode rebuilt between them. Measured
 * on a loaded 2-CPU VM (docs/BENCHMARKS.md), with the reader's code already
 * compiled by the JIT: a 1 KiB batch after 20 ms of idle went from commit
 * to usable in 49-52 µs instead of 59-73, a 100 MiB batch in 59-69 instead
 * of 79-120; the reader spent about 5 % of a CPU more while it waited.
 * Past the window (an idle stream), waiting is one ordinary wait again and
 * costs nothing more.
 */
export const KEEP_WARM_MS = 100;
export const WARM_EVERY_MS = 1;

export class ArrowReader<T extends TypeMap = any> implements Disposable, AsyncIterable<RecordBatch<T>> {
  readonly #reader: Reader;
  readonly #decoder: MessageDecoder<T>;
  #current: Message | null = null;

  /**
   * `trustValues`: skip the core's check of offsets and dictionary indices
   * (the metadata is checked still). Only for a writer you trust: a bad
   * offset is then apache-arrow's to clamp. `keepWarm: true`: readSync
   * keeps its decode warm while it waits (see readSync), for a reader that
   * wants the lowest latency after a pause and can spend about 5 % of a
   * CPU on it.
   */
  constructor(reader: Reader, options: { trustValues?: boolean; keepWarm?: boolean } = {}) {
    this.#reader = reader;
    this.#decoder = new MessageDecoder(reader.name, true, "recv", options.trustValues ?? false);
    this.#keepWarm = options.keepWarm ?? false;
  }

  /** readSync's keep-warm (off unless `keepWarm: true`). */
  readonly #keepWarm: boolean;

  get name(): string {
    return this.#reader.name;
  }

  /** The stream's schema, once its first message has been read. */
  get schema(): Schema<T> | null {
    return this.#decoder.schema;
  }

  /** The next batch, waiting without blocking the event loop; null at end-of-stream. */
  async read(options?: WaitOptions): Promise<RecordBatch<T> | null> {
    for (;;) {
      const batch = this.#accept(await this.#reader.recv(options));
      if (batch !== MORE) return batch;
    }
  }

  /**
   * The next batch, waiting on this thread; null at end-of-stream. With
   * `keepWarm`, for KEEP_WARM_MS after a batch it waits in slices of WARM_EVERY_MS and,
   * between them, builds the last batch's columns again (thrown away):
   * after a pause the decode otherwise runs with its code and data gone
   * cold, many times slower than in a steady stream (docs/BENCHMARKS.md,
   * "Waking after idle"). Waits longer than that are one ordinary wait.
   */
  readSync(options?: WaitOptions): RecordBatch<T> | null {
    for (;;) {
      const batch = this.#accept(this.#receiveSync(options));
      if (batch !== MORE) return batch;
    }
  }

  /** When the last batch was read (performance.now()), for readSync's keep-warm. */
  #lastBatchAt = -Infinity;

  #receiveSync(options?: WaitOptions): Message | null {
    const timeout = timeoutNs(options);
    if (!this.#keepWarm || performance.now() - this.#lastBatchAt >= KEEP_WARM_MS) return this.#reader.recvSync(options);
    const spin = spinOf(options);
    const started = performance.now();
    // Ends a slice early: a signal, the writer's death or end-of-stream
    // end _recvSlice as they end recvSync. The writer's death is noticed
    // by the core's wait after the slices (within KEEP_WARM_MS more).
    for (;;) {
      const waited = performance.now() - started;
      const left = timeout < 0 ? Infinity : timeout / 1e6 - waited;
      if (left <= WARM_EVERY_MS || performance.now() - this.#lastBatchAt >= KEEP_WARM_MS) break;
      const message = this.#reader._recvSlice(WARM_EVERY_MS * 1e6, spin);
      if (message !== SLICE_OVER) return message;
      if (!this.#decoder.warm()) break;
    }
    const left = timeout < 0 ? Infinity : Math.max(0, timeout / 1e6 - (performance.now() - started));
    return this.#reader.recvSync({ timeoutMs: left, spin });
  }

  /**
   * Every batch until end-of-stream; each is released when the next is
   * asked for (its views may then show later records). Waits as long as
   * the writer lives (its death ends the loop with EPEERGONE): a slow
   * upstream is not an error.
   */
  [Symbol.asyncIterator](): AsyncIterator<RecordBatch<T>> {
    return this.batches();
  }

  /** Like iterating the reader, with options for each wait (default: no timeout). */
  async *batches(options: WaitOptions = { timeoutMs: Infinity }): AsyncIterableIterator<RecordBatch<T>> {
    try {
      for (let batch = await this.read(options); batch; batch = await this.read(options)) yield batch;
    } finally {
      this.release();
    }
  }

  /** Hands the current batch's record back to the writer: its column views may show later records from then on (copyBatch() first to keep it). */
  release(): void {
    this.#current?.release();
    this.#current = null;
  }

  close(): void {
    this.release();
    this.#reader.close();
    this.#decoder[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #accept(message: Message | null): RecordBatch<T> | null | typeof MORE {
    this.#current = null;
    if (message === null) return null;
    let batch: RecordBatch<T> | null;
    try {
      batch = this.#decoder.decode(message.bytes, this.#reader._handle);
    } catch (error) {
      message.release();
      throw error;
    }
    if (batch === null) {
      message.release();
      return MORE;
    }
    this.#current = message;
    this.#lastBatchAt = performance.now();
    return batch;
  }
}
