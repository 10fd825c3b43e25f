// Sends apache-arrow record batches and tables down a channel, one Arrow IPC
// message per record: the schema when it is new or changed, each dictionary
// when it is new, replaced or grown (as deltas), then the batch. Each message
// is written straight into its claimed record: the column buffers are copied
// once, from the batch into shared memory, and nowhere else.
import { type Data, RecordBatch, type Schema, Table, util, type Vector } from "apache-arrow";
import { Code, ShmpipeError } from "../errors.ts";
import type { WaitOptions } from "../options.ts";
import type { Writer } from "../writer.ts";
import { type Encoded, encodeDictionary, encodeRecordBatch, encodeSchema, writeMessage } from "./ipc.ts";

interface SentDictionary {
  vector: Vector;
  chunks: number;
}

export class ArrowWriter implements Disposable {
  readonly #writer: Writer;
  #schema: Schema | null = null;
  readonly #dictionaries = new Map<number, SentDictionary>();

  constructor(writer: Writer) {
    this.#writer = writer;
  }

  get name(): string {
    return this.#writer.name;
  }

  /** Sends a batch, or every batch of a table (a table without batches sends its schema). */
  write(data: RecordBatch | Table, options?: WaitOptions): void {
    if (data instanceof Table) {
      this.#sendSchema(data.schema, options);
      for (const batch of data.batches) this.write(batch, options);
      return;
    }
    if (!(data instanceof RecordBatch)) {
      throw new ShmpipeError(Code.INVALID, { segment: this.name, op: "send", hint: "write() takes an apache-arrow RecordBatch or Table" });
    }
    this.#sendSchema(data.schema, options);
    this.#sendDictionaries(data, options);
    this.#send(encodeRecordBatch(data), options);
  }

  /** Marks end-of-stream for the reader and lets go of the channel. */
  close(): void {
    this.#writer.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #sendSchema(schema: Schema, options?: WaitOptions): void {
    if (this.#schema === schema || (this.#schema !== null && util.compareSchemas(this.#schema, schema))) return;
    this.#send(encodeSchema(schema), options);
    this.#schema = schema;
    this.#dictionaries.clear();
  }

  // The same rule as apache-arrow's stream writer: a dictionary whose first
  // chunk differs from the one sent is sent whole again; chunks added to it
  // since are sent as deltas.
  #sendDictionaries(batch: RecordBatch, options?: WaitOptions): void {
    for (const [id, vector] of batch.dictionaries) {
      const chunks: readonly Data[] = vector?.data ?? [];
      const sent = this.#dictionaries.get(id);
      const from = sent && sent.vector.data[0] === chunks[0] ? sent.chunks : 0;
      chunks.slice(from).forEach((chunk, i) => this.#send(encodeDictionary(chunk, id, from + i > 0), options));
      this.#dictionaries.set(id, { vector, chunks: chunks.length });
    }
  }

  #send(message: Encoded, options?: WaitOptions): void {
    if (message.byteLength > this.#writer.maxRecordSize) {
      throw new ShmpipeError(Code.TOO_LARGE, {
        segment: this.name,
        op: "send",
        hint: `this Arrow message takes ${message.byteLength} bytes and the channel carries at most ${this.#writer.maxRecordSize} per record: create it with a larger capacity, or send smaller batches`,
      });
    }
    const target = this.#writer.claim(message.byteLength, options);
    try {
      writeMessage(message, target);
    } catch (error) {
      this.#writer.abort();
      throw error;
    }
    this.#writer.commit();
  }
}
