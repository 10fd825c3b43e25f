// Sends apache-arrow record batches and tables down a channel, one Arrow IPC
// message per record: the schema when it is new or changed, each dictionary
// when it is new, replaced or grown (as deltas), then the batch. The rules
// of the stream are the core's (its Arrow sender, ffi/core/src/arrow_send.c):
// when the schema and every dictionary are owed again (a reader joined
// mid-stream, a message failed), and the check of each message before it is
// committed. What is apache-arrow's stays here: encoding, comparing schemas,
// finding a batch's dictionaries. Each message is written straight into its
// claimed record: the column buffers are copied once, from the batch into
// shared memory, and nowhere else.
import { type Data, DataType, RecordBatch, type Schema, Table, util, type Vector } from "apache-arrow";
import { type Address, core, cString } from "#ffi";
import { Code, coreError, errorBuffer, usageError } from "../errors.ts";
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
  /**
   * The core's shmp_arrow_sender: it says when the schema is owed and checks
   * each message before it is committed (the metadata, and dictionaries
   * before the batches that use them; the values come from apache-arrow
   * itself, so they are trusted).
   */
  #sender: Address | null;

  constructor(writer: Writer) {
    this.#writer = writer;
    const err = errorBuffer();
    this.#sender = core.shmp_arrow_sender_new(writer.handle, cString("send"), 1, err) as Address | null;
    if (this.#sender === null) throw coreError(err);
  }

  get name(): string {
    return this.#writer.name;
  }

  /**
   * Sends a batch, or the batches of a table that have rows (a table
   * without rows sends its schema alone: its readers get no batch).
   */
  write(data: RecordBatch | Table, options?: WaitOptions): void {
    checkArrow(data, this.name, "send");
    if (data instanceof Table) {
      this.#sendSchema(data.schema, options);
      for (const batch of data.batches) if (batch.numRows > 0) this.write(batch, options);
      return;
    }
    this.#sendSchema(data.schema, options);
    this.#sendDictionaries(data, options);
    this.#send(encodeRecordBatch(data), options);
  }

  /** Marks end-of-stream for the readers and lets go of the channel (see Writer.close). */
  close(options?: WaitOptions): void {
    if (this.#sender !== null) core.shmp_arrow_sender_free(this.#sender);
    this.#sender = null;
    this.#writer.close(options);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #sendSchema(schema: Schema, options?: WaitOptions): void {
    // Owed (a reader joined mid-stream, a message failed): the schema and
    // every dictionary again; those already reading take them as a
    // replacement of equals.
    if (core.shmp_arrow_sender_schema_owed(this.#live())) this.#schema = null;
    if (this.#schema === schema || (this.#schema !== null && util.compareSchemas(this.#schema, schema))) return;
    this.#send(encodeSchema(schema), options);
    this.#schema = schema;
    this.#dictionaries.clear();
  }

  // The same rule as apache-arrow's stream writer: a dictionary whose first
  // chunk differs from the one sent is sent whole again; chunks added to it
  // since are sent as deltas.
  #sendDictionaries(batch: RecordBatch, options?: WaitOptions): void {
    for (const [id, vector] of dictionariesOf(batch)) {
      const chunks: readonly Data[] = vector?.data ?? [];
      const sent = this.#dictionaries.get(id);
      const from = sent && sent.vector.data[0] === chunks[0] ? sent.chunks : 0;
      chunks.slice(from).forEach((chunk, i) => this.#send(encodeDictionary(chunk, id, from + i > 0), options));
      this.#dictionaries.set(id, { vector, chunks: chunks.length });
    }
  }

  // The core refuses a message larger than the channel can carry (ETOOLARGE,
  // with both sizes) before anything is written.
  #send(message: Encoded, options?: WaitOptions): void {
    const sender = this.#live();
    const target = this.#writer.claim(message.byteLength, options);
    try {
      writeMessage(message, target);
    } catch (error) {
      this.#writer.abort();
      core.shmp_arrow_sender_abort(sender);
      throw error;
    }
    this.#writer.commitArrow(sender); // the core checks it first, and owes the schema again if it refuses
  }

  #live(): Address {
    if (this.#sender === null) throw usageError(Code.CLOSED, this.name, "send", "this Arrow writer was closed");
    return this.#sender;
  }
}

/**
 * Refuses what is not a RecordBatch or Table of the apache-arrow shmpipe
 * imports. One of another copy of apache-arrow passes `instanceof` (its
 * classes define Symbol.hasInstance) but is encoded wrongly by this copy's
 * visitors, so readers would refuse every message: compare prototypes, and
 * say plainly what is wrong.
 */
export function checkArrow(data: unknown, segment: string, op: "send" | "publish"): void {
  if (Table.prototype.isPrototypeOf(data as object) || RecordBatch.prototype.isPrototypeOf(data as object)) return;
  const foreign = data instanceof Table ? "Table" : data instanceof RecordBatch ? "RecordBatch" : null;
  throw usageError(Code.INVALID, segment, op, foreign
    ? `this ${foreign} comes from another copy of apache-arrow than the one shmpipe uses: install apache-arrow once in your project (shmpipe declares it as a peer dependency) so that both share it`
    : "it takes an apache-arrow RecordBatch or Table");
}

/**
 * The dictionaries a batch's columns use, by id. apache-arrow's own
 * `batch.dictionaries` misses those of a batch made from vectors
 * (`new RecordBatch({ label: vectorFromArray([...]) })`): they are found in
 * the columns' data then.
 */
function dictionariesOf(batch: RecordBatch): Map<number, Vector> {
  const found = new Map(batch.dictionaries);
  const visit = (type: DataType, data: Data | undefined): void => {
    if (data === undefined) return;
    if (DataType.isDictionary(type) && data.dictionary && !found.has(type.id)) found.set(type.id, data.dictionary);
    type.children?.forEach((child, i) => visit(child.type, data.children[i]));
  };
  batch.schema.fields.forEach((field, i) => visit(field.type, batch.data.children[i]));
  return found;
}
