// How much has gone through a channel, for progress lines and the summary.
//
// The core's stat API (`stat(name)`, coming on branch `cli`) is the right
// source; until it lands, `headStat` stands in for it: it reads the one
// counter the progress needs, the bytes ever published (`head`, at offset
// 256 of the header, docs/PROTOCOL.md), from the segment's file. It knows
// no record count. Plug `stat` in by making `defaultStat` call it; nothing
// else changes (RunOptions.stat overrides it too, as tests do).
import { closeSync, openSync, readSync } from "node:fs";
import { shmPath } from "../segment.ts";

export interface ChannelStat {
  /** Bytes of ring space ever published (record headers and padding included). */
  bytes: number;
  /** Records ever published, when the source knows it. */
  records?: number;
}

/** The stats of the channel whose segment is `segment`, or null if it cannot be read. */
export type ChannelStatFn = (segment: string) => ChannelStat | null;

const HEAD_OFFSET = 256; // docs/PROTOCOL.md: `head`, u64, little-endian

/** Stand-in for the core's stat: `head` read from /dev/shm. */
export function headStat(segment: string): ChannelStat | null {
  let fd: number | null = null;
  try {
    fd = openSync(shmPath(segment), "r");
    const word = new BigUint64Array(1);
    if (readSync(fd, word, 0, 8, HEAD_OFFSET) !== 8) return null;
    return { bytes: Number(word[0]!) };
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export const defaultStat: ChannelStatFn = headStat;
