// The one gate every Arrow message passes before apache-arrow reads it: the
// C core's check (ffi/src/arrow.c). The metadata is copied out of shared
// memory first and the copy is checked and decoded, so a peer that writes
// to a record after committing it cannot change what was checked.
import { ptr } from "bun:ffi";
import { type Address, core } from "../ffi/bun.ts";
import { Code, ShmpipeError } from "../errors.ts";

export const Kind = { SCHEMA: 1, DICTIONARY: 2, RECORD_BATCH: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface Checked {
  kind: Kind;
  /** Private copy of the framing and flatbuffer metadata. */
  prefix: Uint8Array;
  /** The record after the prefix, where it lies: the body and any padding. */
  rest: Uint8Array;
}

const decoder = new TextDecoder();

export class MessageCheck implements Disposable {
  /** The C core's parsed schema (shmp_arrow_schema*), or null before the first one. */
  #schema: Address | null = null;
  readonly #why = new Uint8Array(512);

  constructor(readonly channel: string) {}

  /** Checks the message in `record`; throws EARROW with the reason if it is not valid. */
  check(record: Uint8Array): Checked {
    const length = record.byteLength;
    const prefixLength = core.shmp_arrow_prefix_length(length ? ptr(record) : null, length, ptr(this.#why), this.#why.length) as number;
    if (prefixLength < 0) this.#fail(prefixLength);
    const prefix = record.slice(0, prefixLength);
    const kind = core.shmp_arrow_check_metadata(this.#schema, ptr(prefix), prefixLength, length - prefixLength, ptr(this.#why), this.#why.length);
    if (kind < 0) this.#fail(kind);
    if (kind === Kind.SCHEMA) this.#replaceSchema(prefix);
    return { kind: kind as Kind, prefix, rest: record.subarray(prefixLength) };
  }

  [Symbol.dispose](): void {
    if (this.#schema !== null) core.shmp_arrow_schema_free(this.#schema);
    this.#schema = null;
  }

  #replaceSchema(prefix: Uint8Array): void {
    const error = new Int32Array(1);
    const schema = core.shmp_arrow_schema_read(ptr(prefix), prefix.byteLength, ptr(error), ptr(this.#why), this.#why.length) as Address | null;
    if (schema === null) this.#fail(error[0]!);
    this[Symbol.dispose]();
    this.#schema = schema;
  }

  #fail(code: number): never {
    const end = this.#why.indexOf(0);
    const why = decoder.decode(this.#why.subarray(0, end < 0 ? this.#why.length : end));
    throw new ShmpipeError(code, { segment: this.channel, op: "recv", hint: code === Code.ARROW ? why : undefined });
  }
}
