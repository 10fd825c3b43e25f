// Receives apache-arrow record batches from a channel. Each batch's column
// buffers are typed-array views of the record in shared memory: nothing is
// copied, whatever the batch size. A batch is valid until the next read,
// release() or close(); then its views are detached (they read as empty),
// never showing memory the writer has reused. copyBatch() keeps one longer.
// Schema and dictionary messages are consumed here; dictionaries are copied
// (they must outlive their records) and usually small.
import type { RecordBatch, Schema, TypeMap, Vector } from "apache-arrow";
import type { RecordBatch as RecordBatchHeader, DictionaryBatch as DictionaryBatchHeader } from "apache-arrow/ipc/metadata/message";
import { Code, ShmpipeError } from "../errors.ts";
import type { WaitOptions } from "../options.ts";
import type { Message, Reader } from "../reader.ts";
import { Kind, MessageCheck } from "./check.ts";
import { decodeMetadata, loadDictionary, loadRecordBatch } from "./ipc.ts";

/** Returned by #accept when a message was consumed and reading goes on. */
const MORE = Symbol("more");

export class ArrowReader<T extends TypeMap = any> implements Disposable, AsyncIterable<RecordBatch<T>> {
  readonly #reader: Reader;
  readonly #check: MessageCheck;
  #schema: Schema<T> | null = null;
  #dictionaries = new Map<number, Vector>();
  #current: Message | null = null;

  constructor(reader: Reader) {
    this.#reader = reader;
    this.#check = new MessageCheck(reader.name);
  }

  get name(): string {
    return this.#reader.name;
  }

  /** The stream's schema, once its first message has been read. */
  get schema(): Schema<T> | null {
    return this.#schema;
  }

  /** The next batch, waiting without blocking the event loop; null at end-of-stream. */
  async read(options?: WaitOptions): Promise<RecordBatch<T> | null> {
    for (;;) {
      const batch = this.#accept(await this.#reader.recv(options));
      if (batch !== MORE) return batch;
    }
  }

  /** The next batch, waiting on this thread; null at end-of-stream. */
  readSync(options?: WaitOptions): RecordBatch<T> | null {
    for (;;) {
      const batch = this.#accept(this.#reader.recvSync(options));
      if (batch !== MORE) return batch;
    }
  }

  /** Every batch until end-of-stream; each is released when the next is asked for. */
  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch<T>> {
    try {
      for (let batch = await this.read(); batch; batch = await this.read()) yield batch;
    } finally {
      this.release();
    }
  }

  /** Hands the current batch's record back to the writer; its column views go empty. */
  release(): void {
    this.#current?.release();
    this.#current = null;
  }

  close(): void {
    this.release();
    this.#reader.close();
    this.#check[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #accept(message: Message | null): RecordBatch<T> | null | typeof MORE {
    this.#current = null;
    if (message === null) return null;
    try {
      const { kind, prefix, rest } = this.#check.check(message.bytes);
      const metadata = decodeMetadata(prefix);
      const body = rest.subarray(0, metadata.bodyLength);
      if (kind === Kind.SCHEMA) {
        this.#schema = metadata.header() as Schema<T>;
        this.#dictionaries = new Map();
      } else if (kind === Kind.DICTIONARY) {
        const header = metadata.header() as DictionaryBatchHeader;
        // Copied: the dictionary is used by every batch that follows.
        this.#dictionaries.set(header.id, loadDictionary(this.#schema!, header, body.slice(), this.#dictionaries));
      } else {
        const batch = loadRecordBatch(this.#schema!, metadata.header() as RecordBatchHeader, body, this.#dictionaries);
        this.#current = message;
        return batch;
      }
    } catch (error) {
      message.release();
      if (error instanceof ShmpipeError) throw error;
      throw new ShmpipeError(Code.ARROW, { segment: this.name, op: "recv", hint: `apache-arrow could not load the message: ${(error as Error).message}` });
    }
    message.release();
    return MORE;
  }
}
