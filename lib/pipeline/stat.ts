// How much has gone through a channel, for progress lines and the summary,
// and how many readers have attached (for the start gate, start-gate.ts).
//
// The core's stat API (`stat(name)`, coming on branch `cli`) is the right
// source; until it lands, `headerStat` stands in for it: it reads the two
// counters needed, the bytes ever published (`head`, offset 256) and the
// readers ever attached (`readers_attached`, offset 200), from the
// segment's file (docs/PROTOCOL.md). It knows no record count. Plug `stat`
// in by making `defaultStat` call it; nothing else changes
// (RunOptions.stat overrides it too).
import { closeSync, openSync, readSync } from "node:fs";
import { shmPath } from "../segment.ts";

export interface ChannelStat {
  /** Bytes of ring space ever published (record headers and padding included). */
  bytes: number;
  /** Records ever published, when the source knows it. */
  records?: number;
  /** Readers that ever attached. */
  readersAttached: number;
}

/** The stats of the channel whose segment is `segment`, or null if it cannot be read. */
export type ChannelStatFn = (segment: string) => ChannelStat | null;

// docs/PROTOCOL.md, the header: both little-endian, as is the machine.
const READERS_ATTACHED_OFFSET = 200; // u32
const HEAD_OFFSET = 256; // u64

/** Stand-in for the core's stat: two counters of the header, read from /dev/shm. */
export function headerStat(segment: string): ChannelStat | null {
  let fd: number | null = null;
  try {
    fd = openSync(shmPath(segment), "r");
    const head = new BigUint64Array(1), readers = new Uint32Array(1);
    if (readSync(fd, head, 0, 8, HEAD_OFFSET) !== 8 || readSync(fd, readers, 0, 4, READERS_ATTACHED_OFFSET) !== 4) return null;
    return { bytes: Number(head[0]!), readersAttached: readers[0]! };
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export const defaultStat: ChannelStatFn = headerStat;
