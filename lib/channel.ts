// Opening the ends of a channel by name. A channel has one writer and up to
// 32 readers, each of which sees every record. The side that creates the
// segment owns its name: closing that end (or exiting) removes it from
// /dev/shm. Open the other ends before the owner closes.
import { type Address, core } from "./ffi/bun.ts";
import { Code, ShmpipeError } from "./errors.ts";
import { type CreateOptions, type OpenOptions, Segment } from "./segment.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

type Attach = typeof core.shmp_writer_attach;

const BUSY_HINTS = new Map<Attach, string>([
  [core.shmp_writer_attach, "another live process is already this channel's writer"],
  [core.shmp_reader_attach, "all 32 reader slots of this channel are taken by live readers"],
]);

function attach<T>(segment: Segment, attachFn: Attach, make: (handle: Address) => T): T {
  const error = new Int32Array(1);
  const handle = attachFn(segment.base, segment.size, error) as Address | null;
  if (handle === null) {
    segment.close();
    throw new ShmpipeError(error[0]!, {
      segment: segment.name,
      op: "attach",
      hint: error[0] === Code.BUSY ? BUSY_HINTS.get(attachFn) : undefined,
    });
  }
  return make(handle);
}

/** Creates the channel and writes to it. Closing the writer removes the name. */
export function createWriter(name: string, options: CreateOptions): Writer {
  const segment = Segment.create(name, options);
  return attach(segment, core.shmp_writer_attach, (handle) => new Writer(segment, handle));
}

/** Writes to a channel another process created. */
export function openWriter(name: string, options?: OpenOptions): Writer {
  const segment = Segment.open(name, options);
  return attach(segment, core.shmp_writer_attach, (handle) => new Writer(segment, handle));
}

/** Creates the channel and reads from it. Closing the reader removes the name. */
export function createReader(name: string, options: CreateOptions): Reader {
  const segment = Segment.create(name, options);
  return attach(segment, core.shmp_reader_attach, (handle) => new Reader(segment, handle));
}

/** Reads from a channel another process created. */
export function openReader(name: string, options?: OpenOptions): Reader {
  const segment = Segment.open(name, options);
  return attach(segment, core.shmp_reader_attach, (handle) => new Reader(segment, handle));
}
