// Publish-once tables: an Arrow table written once into a segment of its
// own and read in place by any number of processes at the same time. The
// segment is a channel sealed after its last message (docs/PROTOCOL.md):
// readers walk its records with private positions and write nothing, so
// each sees the whole table, zero-copy, for as long as it keeps it. The
// publisher's pid is in the segment header; the name goes when it
// unpublishes or exits (also on Ctrl-C), unless it was published to
// persist: then it stays until some process unpublishes it by name.
// A table is encoded once (sized, then written) and its columns go in
// through the segment's file, as R's and Python's do (the core keeps the
// file until the seal: shmp_table_format, shmp_segment_write): tmpfs fills
// its pages in write(2) itself, where a first write through the mapping
// takes a page fault per 4 KiB page.
import { RecordBatch, Table } from "apache-arrow";
import { type Address, core, cString } from "#ffi";
import { Code, constant, coreError, errorBuffer, ShmpipeError, usageError } from "../errors.ts";
import { type OpenOptions, removeName, Segment } from "../segment.ts";
import { DEFAULT_READY_TIMEOUT_MS } from "../options.ts";
import { createTableWriter } from "../channel.ts";
import { MessageDecoder } from "./decoder.ts";
import { encodeTable } from "./ipc.ts";
import { checkArrow, newSender, sendMessage } from "./writer.ts";

export class PublishedTable implements Disposable {
  #segment: Segment | null;
  #unpublished = false;
  /** The publishing process, as recorded in the segment header. */
  readonly ownerPid: number;

  constructor(readonly name: string, segment: Segment, readonly byteLength: number, readonly persistent = false) {
    this.#segment = segment;
    this.ownerPid = core.shmp_segment_creator_pid(segment.handle);
  }

  /** Removes the table's name (a persistent one's too, also after close()); processes that opened it keep their data. */
  unpublish(): void {
    if (this.#unpublished) return;
    this.#unpublished = true;
    const segment = this.#segment;
    this.#segment = null;
    try {
      if (this.persistent) removeName(this.name, "unpublish", true);
    } finally {
      segment?.close();
    }
  }

  /**
   * Lets go of this process's hold on the table: a persistent table stays
   * published (unpublish it by name later, from any process); any other
   * goes, as with unpublish().
   */
  close(): void {
    if (this.persistent) {
      this.#segment?.close();
      this.#segment = null;
    } else {
      this.unpublish();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface PublishOptions {
  /** Permission bits of the segment (default 0o600). */
  mode?: number;
  /**
   * Keep the table published after this process exits (default false):
   * the name stays until unpublish(name) in any process (or the
   * PublishedTable's unpublish()).
   */
  persist?: boolean;
}

/** Writes `table` once into a new segment named `name`, for openTable() in any process. */
export function publish(name: string, table: Table | RecordBatch, options: PublishOptions = {}): PublishedTable {
  checkArrow(table, name, "publish");
  // Encoded once (a plan of each message, no copy): sized here, written below.
  const messages = encodeTable(table instanceof Table ? table : new Table(table));
  const byteLength = messages.reduce((sum, message) => sum + (core.shmp_record_footprint(message.byteLength) as number), 0);
  const writer = createTableWriter(name, { capacity: byteLength, mode: options.mode });
  let sender: Address | null = null;
  try {
    sender = newSender(writer, "publish");
    for (const message of messages) sendMessage(writer, sender, message, { timeoutMs: 0 });
  } catch (error) {
    writer._discard();
    throw error;
  } finally {
    if (sender !== null) core.shmp_arrow_sender_free(sender);
  }
  const persist = options.persist === true;
  const segment = writer._seal(persist);
  if (persist) segment.keepName(); // sealed: from now on the name outlives this process
  return new PublishedTable(name, segment, byteLength, persist);
}

const ENOENT = constant("ENOENT");
const CALL_SHM_OPEN = constant("CALL_SHM_OPEN");

/**
 * Segment.open() for an operation on a table by name: a missing name gets
 * the core's sentence for `op` (a table's, with the name a typo away if
 * one exists), not a channel's.
 */
function openByName(name: string, options: OpenOptions, op: "open_table" | "unpublish"): Segment {
  try {
    return Segment.open(name, options);
  } catch (error) {
    if (!(error instanceof ShmpipeError && error.errno === ENOENT)) throw error;
    const err = errorBuffer();
    core.shmp_syscall_failed(err, cString(op), cString(name), CALL_SHM_OPEN, -ENOENT, 0);
    throw coreError(err);
  }
}

/**
 * Removes the published table `name` (persistent or not) from any process
 * of its user: the core checks that it is a table, not a channel.
 * Processes that opened it keep their data.
 */
export function unpublish(name: string, options: OpenOptions = {}): void {
  const segment = openByName(name, options, "unpublish");
  try {
    const err = errorBuffer();
    if (core.shmp_table_check_unpublish(segment.handle, err) !== 0) throw coreError(err);
  } finally {
    segment.close();
  }
  removeName(name, "unpublish");
}

/**
 * The table published as `name`, its columns viewing the segment in place.
 * It stays valid as long as you hold it, even after the publisher
 * unpublishes or exits: the mapping lives until its last view is collected.
 */
export function openTable(name: string, options: OpenOptions = {}): Table {
  const segment = openByName(name, options, "open_table");
  const decoder = new MessageDecoder(name, false, "open");
  const err = errorBuffer();
  let handle: Address | null = null;
  try {
    // A private reader of the sealed table; the core waits while the publisher still writes.
    handle = core.shmp_table_open(segment.handle, Math.round((options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) * 1e6), err) as Address | null;
    if (handle === null) throw coreError(err);
    const batches: RecordBatch[] = [];
    for (;;) {
      const length = core.shmp_reader_peek(handle, null, err) as number;
      if (length === Code.CLOSED) break;
      if (length < 0) throw coreError(err);
      const batch = decoder.decode(new Uint8Array(segment.view(core.shmp_reader_offset(handle) as number, length, "open")));
      if (batch) batches.push(batch);
      core.shmp_reader_release(handle, err);
    }
    if (!decoder.schema) throw usageError(Code.ARROW, name, "open", "the segment holds no Arrow schema: it is not a published table");
    return new Table(decoder.schema, batches);
  } finally {
    if (handle !== null) core.shmp_reader_close(handle);
    decoder[Symbol.dispose]();
    segment.close();
  }
}
