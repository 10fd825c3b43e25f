// Turns checked Arrow IPC messages into apache-arrow record batches: keeps
// the schema and dictionaries that schema and dictionary messages bring,
// and loads each record batch as views of the bytes it was given.
import type { RecordBatch, Schema, TypeMap, Vector } from "apache-arrow";
import type { DictionaryBatch as DictionaryBatchHeader, RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message";
import type { Address } from "#ffi";
import { Code, type Operation, usageError } from "../errors.ts";
import { Kind, MessageCheck } from "./check.ts";
import { decodeMetadata, loadDictionary, loadRecordBatch } from "./ipc.ts";

export class MessageDecoder<T extends TypeMap = any> implements Disposable {
  readonly #check: MessageCheck;
  #schema: Schema<T> | null = null;
  #dictionaries = new Map<number, Vector>();

  /**
   * `copyDictionaries`: dictionaries outlive the record they came in (every
   * later batch uses them), so a channel reader copies them; a published
   * table's records never change, so its reader need not.
   */
  constructor(readonly channel: string, private readonly copyDictionaries: boolean, private readonly op: Operation = "recv", trustValues = false) {
    this.#check = new MessageCheck(channel, op, trustValues);
  }

  /** Why the current stream's schema could not be loaded, or null. */
  #schemaFailure: string | null = null;

  get schema(): Schema<T> | null {
    return this.#schema;
  }

  /**
   * The batch in `bytes` (viewing them), or null for a schema or dictionary
   * message, or one the core says `reader` (a channel's shmp_reader*, which
   * joined mid-stream) skips until the next schema.
   */
  decode(bytes: Uint8Array, reader: Address | null = null): RecordBatch<T> | null {
    const checked = this.#check.check(bytes, reader);
    if (checked === null) return null;
    const { kind, prefix, body } = checked;
    if (kind !== Kind.SCHEMA && this.#schemaFailure !== null) {
      // The stream's schema could not be loaded: every message of the stream
      // is refused for that same reason, until a new schema comes.
      throw usageError(Code.ARROW, this.channel, this.op, this.#schemaFailure);
    }
    try {
      const metadata = decodeMetadata(prefix);
      if (kind === Kind.SCHEMA) {
        this.#schemaFailure = null;
        this.#schema = metadata.header() as Schema<T>;
        this.#dictionaries = new Map();
        return null;
      }
      if (kind === Kind.DICTIONARY) {
        const header = metadata.header() as DictionaryBatchHeader;
        this.#dictionaries.set(header.id, loadDictionary(this.#schema!, header, this.copyDictionaries ? body.slice() : body, this.#dictionaries));
        return null;
      }
      return loadRecordBatch(this.#schema!, metadata.header() as RecordBatchHeader, body, this.#dictionaries);
    } catch (error) {
      const why = `The apache-arrow package could not load the ${kind === Kind.SCHEMA ? "stream's schema" : "message"}: ${(error as Error).message}`;
      if (kind === Kind.SCHEMA) {
        this.#schemaFailure = why;
        this.#schema = null;
      }
      throw usageError(Code.ARROW, this.channel, this.op, why);
    }
  }

  [Symbol.dispose](): void {
    this.#check[Symbol.dispose]();
  }
}
