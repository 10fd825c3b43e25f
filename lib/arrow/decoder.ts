// Turns checked Arrow IPC messages into apache-arrow record batches: keeps
// the schema and dictionaries that schema and dictionary messages bring,
// and loads each record batch as views of the bytes it was given.
import type { RecordBatch, Schema, TypeMap, Vector } from "apache-arrow";
import type { DictionaryBatch as DictionaryBatchHeader } from "apache-arrow/ipc/metadata/message";
import type { Address } from "#ffi";
import { Code, type Operation, usageError } from "../errors.ts";
import { Kind, MessageCheck } from "./check.ts";
import { decodeMetadata, loadDictionary } from "./ipc.ts";
import { BatchPlan, type Layout, Word } from "./layout.ts";

export class MessageDecoder<T extends TypeMap = any> implements Disposable {
  readonly #check: MessageCheck;
  #schema: Schema<T> | null = null;
  /** How to build the current schema's batches from the core's layout. */
  #plan: BatchPlan<T> | null = null;
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
    this.#last = null; // until this message proves to be a batch that loaded
    const kind = this.#check.checkKind(bytes, reader);
    if (kind === 0) return null;
    if (kind !== Kind.SCHEMA && this.#schemaFailure !== null) {
      // The stream's schema could not be loaded: every message of the stream
      // is refused for that same reason, until a new schema comes.
      throw usageError(Code.ARROW, this.channel, this.op, this.#schemaFailure);
    }
    try {
      if (kind === Kind.RECORD_BATCH) {
        // The core hands over the layout it checked: no second decode of the flatbuffer.
        const layout = this.#check.layout();
        const base = bytes.byteOffset + layout.word(Word.PREFIX_LENGTH);
        const batch = this.#plan!.load(layout, bytes.buffer as ArrayBuffer, base, this.#dictionaries);
        this.#last = { layout, buffer: bytes.buffer as ArrayBuffer, base };
        return batch;
      }
      const prefix = this.#check.prefix();
      const metadata = decodeMetadata(prefix);
      if (kind === Kind.SCHEMA) {
        this.#schemaFailure = null;
        this.#schema = metadata.header() as Schema<T>;
        this.#plan = new BatchPlan(this.#schema);
        this.#dictionaries = new Map();
        return null;
      }
      const header = metadata.header() as DictionaryBatchHeader;
      const body = bytes.subarray(prefix.byteLength, prefix.byteLength + this.#check.layout().word(Word.BODY_LENGTH));
      this.#dictionaries.set(header.id, loadDictionary(this.#schema!, header, this.copyDictionaries ? body.slice() : body, this.#dictionaries));
      return null;
    } catch (error) {
      const why = `The apache-arrow package could not load the ${kind === Kind.SCHEMA ? "stream's schema" : "message"}: ${(error as Error).message}`;
      if (kind === Kind.SCHEMA) {
        this.#schemaFailure = why;
        this.#schema = null;
        this.#plan = null;
      }
      throw usageError(Code.ARROW, this.channel, this.op, why);
    }
  }

  /** Where the last batch's body was, while the check's layout still describes it. */
  #last: { layout: Layout; buffer: ArrayBuffer; base: number } | null = null;

  /**
   * Builds the last batch's columns again and throws them away: keeps the
   * code and data of decoding in the CPU's caches while a reader waits
   * (ArrowReader.readSync). From the layout the JavaScript side kept of
   * the last message, which passed the check and was a batch; reads no
   * byte of the record (apache-arrow's Data only takes the views), which
   * may have been released since: the views are of the reader's own
   * read-only mapping, at offsets the check let through. False when there
   * is nothing to do it with.
   */
  warm(): boolean {
    const last = this.#last;
    if (last === null || this.#plan === null || !this.#plan.planned) return false;
    this.#plan.load(last.layout, last.buffer, last.base, this.#dictionaries);
    return true;
  }

  [Symbol.dispose](): void {
    this.#last = null;
    this.#check[Symbol.dispose]();
  }
}
