// Opening the ends of a channel by name. A channel has one writer and up to
// 32 readers, each of which sees every record. The side that creates the
// segment owns its name: closing that end (or exiting) removes it from
// /dev/shm. Open the other ends before the owner closes.
import { type Address, core } from "#ffi";
import { coreError, errorBuffer } from "./errors.ts";
import { type CreateOptions, type OpenOptions, Segment } from "./segment.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";
import { track } from "./open-ends.ts";

type Attach = typeof core.shmp_writer_attach;

function attach<T extends Disposable>(segment: Segment, attachFn: Attach, make: (handle: Address, err: Uint8Array) => T): T {
  const err = errorBuffer();
  const handle = attachFn(segment.handle, err) as Address | null;
  if (handle === null) {
    segment.close();
    throw coreError(err);
  }
  const end = make(handle, err);
  track(end);
  return end;
}

/** Creates the channel and writes to it. Closing the writer removes the name. */
export function createWriter(name: string, options?: CreateOptions): Writer {
  const segment = Segment.create(name, options);
  return attach(segment, core.shmp_writer_attach, (handle, err) => new Writer(segment, handle, err));
}

/**
 * @internal The writer of a table about to be published (publish()): its
 * segment keeps its file until sealed, and the columns go in through it.
 */
export function createTableWriter(name: string, options?: CreateOptions): Writer {
  const segment = Segment.create(name, options, true);
  return attach(segment, core.shmp_writer_attach, (handle, err) => new Writer(segment, handle, err));
}

/** Writes to a channel another process created. */
export function openWriter(name: string, options?: OpenOptions): Writer {
  const segment = Segment.open(name, options, "read-write");
  return attach(segment, core.shmp_writer_attach, (handle, err) => new Writer(segment, handle, err));
}

/** Creates the channel and reads from it. Closing the reader removes the name. */
export function createReader(name: string, options?: CreateOptions): Reader {
  const segment = Segment.create(name, options);
  try {
    segment.protectRecords(); // as every reader's: another reader's records are not its to change
  } catch (error) {
    segment.close();
    throw error;
  }
  return attach(segment, core.shmp_reader_attach, (handle, err) => new Reader(segment, handle, err));
}

/** Reads from a channel another process created (its records mapped read-only). */
export function openReader(name: string, options?: OpenOptions): Reader {
  const segment = Segment.open(name, options);
  return attach(segment, core.shmp_reader_attach, (handle, err) => new Reader(segment, handle, err));
}
