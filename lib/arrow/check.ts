// The one gate every Arrow message passes before apache-arrow reads it: the
// C core's checker (ffi/core/src/arrow.c). The core copies the metadata out
// of shared memory and checks that copy, so a peer that writes to a record
// after committing it cannot change what was checked; apache-arrow then
// decodes the same private copy.
import { type Address, copyOut, core, cString } from "#ffi";
import { constant, coreError, errorBuffer, type Operation } from "../errors.ts";
import { Layout } from "./layout.ts";

export const Kind = {
  SCHEMA: constant("ARROW_SCHEMA"),
  DICTIONARY: constant("ARROW_DICTIONARY"),
  RECORD_BATCH: constant("ARROW_RECORD_BATCH"),
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface Checked {
  kind: Kind;
  /** Private copy of the framing and flatbuffer metadata. */
  prefix: Uint8Array;
  /** The message body, where it lies in the record. */
  body: Uint8Array;
}

export class MessageCheck implements Disposable {
  /** The core's shmp_arrow_checker*, which keeps the stream's schema. */
  #checker: Address | null;
  readonly #err = errorBuffer();

  constructor(readonly channel: string, op: Operation = "recv", trustValues = false) {
    this.#checker = core.shmp_arrow_checker_new(cString(channel), cString(op), this.#err) as Address | null;
    if (this.#checker === null) throw coreError(this.#err);
    core.shmp_arrow_checker_trust_values(this.#checker, trustValues ? 1 : 0);
  }

  /**
   * Checks the message in `record`; throws EARROW with the reason if it is
   * not valid. With the `reader` (a shmp_reader*) the record came from, the
   * core may also say to skip it (null): that reader joined mid-stream and
   * waits for the next schema.
   */
  check(record: Uint8Array, reader: Address | null = null): Checked | null {
    const kind = this.checkKind(record, reader);
    if (kind === 0) return null;
    const checker = this.#checker!;
    const prefixLength = core.shmp_arrow_checker_prefix_length(checker) as number;
    const bodyLength = core.shmp_arrow_checker_body_length(checker) as number;
    return { kind: kind as Kind, prefix: this.prefix(), body: record.subarray(prefixLength, prefixLength + bodyLength) };
  }

  /** check() without copying anything out: the kind, or 0 for a message to skip. */
  checkKind(record: Uint8Array, reader: Address | null = null): Kind | 0 {
    const checker = this.#checker!;
    const length = record.byteLength;
    const bytes = length ? record : null;
    const kind = reader === null
      ? core.shmp_arrow_checker_check(checker, bytes, length, this.#err)
      : core.shmp_reader_check_arrow(reader, checker, bytes, length, this.#err);
    if (kind < 0) throw coreError(this.#err);
    return kind as Kind | 0;
  }

  /** A private copy of the framing and metadata of the message that last passed. */
  prefix(): Uint8Array {
    const checker = this.#checker!;
    return copyOut(core.shmp_arrow_checker_prefix(checker) as Address, core.shmp_arrow_checker_prefix_length(checker) as number);
  }

  readonly #layout = new Layout();

  /** The layout of the (dictionary or record) batch that last passed, as the core read it in its check. */
  layout(): Layout {
    const checker = this.#checker!;
    let words = core.shmp_arrow_checker_layout(checker, this.#layout.words, this.#layout.words.length) as number;
    if (words > this.#layout.words.length) {
      this.#layout.grow(words);
      words = core.shmp_arrow_checker_layout(checker, this.#layout.words, words) as number;
    }
    if (words < 0) throw new Error(`shmpipe: the C core gave no layout (${words}) after its check passed`);
    return this.#layout;
  }

  [Symbol.dispose](): void {
    if (this.#checker !== null) core.shmp_arrow_checker_free(this.#checker);
    this.#checker = null;
  }
}
