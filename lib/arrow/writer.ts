// Sends apache-arrow record batches and tables down a channel, one Arrow IPC
// message per record: the schema when it is new or changed, each dictionary
// when it is new, replaced or grown (as deltas), then the batch. The rules
// of the stream are the core's (its Arrow sender, ffi/core/src/arrow_send.c):
// when the schema and every dictionary are owed again (a reader joined
// mid-stream, a message failed), and the check of each message before it is
// committed. What is apache-arrow's stays in ./ipc.ts (MessageStream):
// encoding, comparing schemas, finding a batch's dictionaries. Each message
// is written straight into its claimed record: the column buffers are
// copied once, from the batch into shared memory, and nowhere else.
import { RecordBatch, Table } from "apache-arrow";
import { type Address, core, cString } from "#ffi";
import { Code, coreError, errorBuffer, usageError } from "../errors.ts";
import type { WaitOptions } from "../options.ts";
import type { Writer } from "../writer.ts";
import { type Encoded, MessageStream, writeMessage } from "./ipc.ts";

export class ArrowWriter implements Disposable {
  readonly #writer: Writer;
  readonly #stream = new MessageStream();
  /**
   * The core's shmp_arrow_sender: it says when the schema is owed and checks
   * each message before it is committed (the metadata, and dictionaries
   * before the batches that use them; the values come from apache-arrow
   * itself, so they are trusted).
   */
  #sender: Address | null;

  constructor(writer: Writer) {
    this.#writer = writer;
    this.#sender = newSender(writer, "send");
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
    const schemaOwed = () => core.shmp_arrow_sender_schema_owed(this.#live()) !== 0;
    for (const message of this.#stream.messages(data, schemaOwed)) sendMessage(this.#writer, this.#live(), message, options);
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

  #live(): Address {
    if (this.#sender === null) throw usageError(Code.CLOSED, this.name, "send", "this Arrow writer was closed");
    return this.#sender;
  }
}

/** The core's Arrow sender over `writer`, its errors naming `op`; free it with shmp_arrow_sender_free. */
export function newSender(writer: Writer, op: "send" | "publish"): Address {
  const err = errorBuffer();
  const sender = core.shmp_arrow_sender_new(writer.handle, cString(op), 1, err) as Address | null;
  if (sender === null) throw coreError(err);
  return sender;
}

/**
 * Writes `message` into a record claimed from `writer` (its large buffers
 * by the core, Writer.fill) and commits it through `sender`, which checks
 * it first: a message no reader could read is refused unpublished, and the
 * schema is owed again. The core refuses a message larger than the channel
 * can carry (ETOOLARGE, with both sizes) before anything is written.
 */
export function sendMessage(writer: Writer, sender: Address, message: Encoded, options?: WaitOptions): void {
  const target = writer.claim(message.byteLength, options);
  try {
    writeMessage(message, target, (at, bytes) => writer.fill(at, bytes));
  } catch (error) {
    writer.abort();
    core.shmp_arrow_sender_abort(sender);
    throw error;
  }
  writer.commitArrow(sender);
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
