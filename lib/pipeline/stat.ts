// How much has gone through a channel, for progress lines and the summary,
// and how many readers have attached (for the start gate, start-gate.ts):
// the core's inspection (lib/inspect.ts), which maps the segment read-only
// and takes no role (about 40 µs a call).
import { ShmpipeError } from "../errors.ts";
import { stat } from "../inspect.ts";

export interface ChannelStat {
  /** Bytes of ring space ever published (record headers and padding included). */
  bytes: number;
  /** Records ever published. */
  records?: number;
  /** Readers that ever attached. */
  readersAttached: number;
  /** The pids of the readers attached now and alive (for the start gate), when the source knows them. */
  readerPids?: number[];
}

/** The stats of the channel whose segment is `segment`, or null if it cannot be read. */
export type ChannelStatFn = (segment: string) => ChannelStat | null;

export const defaultStat: ChannelStatFn = (segment) => {
  try {
    const s = stat(segment, { recordsInFlight: false }); // polled often: no walk over the records
    return {
      bytes: s.committedBytes,
      records: s.committedRecords,
      readersAttached: s.readersEver,
      readerPids: s.readers.filter((reader) => reader.alive).map((reader) => reader.pid),
    };
  } catch (error) {
    if (error instanceof ShmpipeError) return null; // gone, or not readable: no figure this time
    throw error;
  }
};
