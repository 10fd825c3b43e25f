// Looking at segments without taking part in them: what `shmpipe ls`,
// `stat` and `gc` show, and what a pipeline's progress display polls. Each
// call opens the segment read-only (it takes no role, writes nothing and
// holds no mapping afterwards) and asks the C core, which checks the header
// and decides everything: the snapshot, liveness, whether a segment is
// stale, which names in /dev/shm are shmpipe's.
import { core } from "#ffi";
import { constant, coreError, errorBuffer, ShmpipeError } from "./errors.ts";
import { removeName, Segment } from "./segment.ts";

export interface Peer {
  pid: number;
  /** Alive now (pid and start time: a reused pid is not mistaken for it). */
  alive: boolean;
}

/** A snapshot of one segment (see shmp_stat in ffi/core/include/shmpipe.h). */
export interface SegmentStat {
  name: string;
  /** "table": a sealed published table; "channel": any other (a table not sealed yet too). */
  kind: "channel" | "table";
  /** Bytes of the segment: header and ring. */
  size: number;
  /** Bytes of the ring. */
  capacity: number;
  /** Ring bytes ever committed (the head: 64-byte record headers and padding included). */
  committedBytes: number;
  /** Records ever committed. */
  committedRecords: number;
  /** Committed and not yet released by the slowest live reader (with none attached: not yet read); 0 for a table. */
  bytesInFlight: number;
  recordsInFlight: number;
  creator: Peer & { uid: number };
  /** The writer, null if none ever attached; `closed` once it closed or sealed the stream. */
  writer: (Peer & { closed: boolean }) | null;
  /** Readers attached now (a dead one stays until the writer's next look empties its slot). */
  readers: Peer[];
  /** Readers that ever attached. */
  readersEver: number;
  sealed: boolean;
  persistent: boolean;
  /** Its creator and every attached peer are dead and it is not a persistent table: `gc` removes it. */
  stale: boolean;
}

const STAT_SIZE = constant("STAT_SIZE");
const KIND_TABLE = constant("KIND_TABLE");

// Offsets of struct shmp_stat's fields (ffi/core/include/shmpipe.h; part of the ABI).
const At = {
  size: 0, capacity: 8, committedBytes: 16, committedRecords: 24, bytesInFlight: 32, recordsInFlight: 40,
  kind: 48, creatorPid: 52, creatorUid: 56, creatorAlive: 60, writerPid: 64, writerAlive: 68, writerClosed: 72,
  sealed: 76, persistent: 80, readers: 84, readersEver: 92, stale: 96, readerPid: 104, readerAlive: 232,
} as const;

function decode(name: string, bytes: Uint8Array): SegmentStat {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const u32 = (at: number) => view.getUint32(at, true);
  const flag = (at: number) => view.getInt32(at, true) !== 0;
  const writerPid = u32(At.writerPid);
  return {
    name,
    kind: u32(At.kind) === KIND_TABLE ? "table" : "channel",
    size: u64(At.size),
    capacity: u64(At.capacity),
    committedBytes: u64(At.committedBytes),
    committedRecords: u64(At.committedRecords),
    bytesInFlight: u64(At.bytesInFlight),
    recordsInFlight: u64(At.recordsInFlight),
    creator: { pid: u32(At.creatorPid), uid: u32(At.creatorUid), alive: flag(At.creatorAlive) },
    writer: writerPid === 0 ? null : { pid: writerPid, alive: flag(At.writerAlive), closed: flag(At.writerClosed) },
    readers: Array.from({ length: u32(At.readers) }, (_, i) => ({ pid: u32(At.readerPid + 4 * i), alive: bytes[At.readerAlive + i] !== 0 })),
    readersEver: u32(At.readersEver),
    sealed: flag(At.sealed),
    persistent: flag(At.persistent),
    stale: flag(At.stale),
  };
}

/**
 * A snapshot of the segment `name`, taken without joining it: cheap enough
 * to poll (an open, a map, the core's look at the header, one /proc read
 * per process attached and a walk over the record headers in flight: tens
 * of microseconds, milliseconds for a full ring of small records; with
 * `recordsInFlight: false` no walk, and recordsInFlight reads 0). On a
 * busy channel the counts are each exact but read a moment apart. Throws
 * ShmpipeError (ENOENT, EBADMAGIC, ECORRUPT, ...) naming the segment and
 * the cause.
 */
export function stat(name: string, options: { allowOtherOwner?: boolean; recordsInFlight?: boolean } = {}): SegmentStat {
  const segment = Segment.inspect(name, { allowOtherOwner: options.allowOtherOwner ?? true });
  try {
    const out = new Uint8Array(STAT_SIZE);
    const err = errorBuffer();
    const look = options.recordsInFlight === false ? core.shmp_segment_counts : core.shmp_segment_stat;
    if (look(segment.handle, out, err) !== 0) throw coreError(err);
    return decode(name, out);
  } finally {
    segment.close();
  }
}

/** The names of the shmpipe segments in /dev/shm, sorted (the core says which files are shmpipe's). */
export function list(): string[] {
  const err = errorBuffer();
  for (let size = 4096; ; ) {
    const out = new Uint8Array(size);
    const need = core.shmp_segment_list(out, size, err) as number;
    if (need < 0) throw coreError(err);
    if (need <= size) {
      const text = new TextDecoder().decode(out.subarray(0, need));
      return text.split("\0").slice(0, -1).sort();
    }
    size = need + 4096; // the directory grew between the two looks: room for some more
  }
}

/** One entry of survey(): its snapshot, or why it could not be read (a garbage file, another user's). */
export type Survey = { name: string; stat: SegmentStat; error?: undefined } | { name: string; stat?: undefined; error: ShmpipeError };

/** stat() of every segment list() finds (whose names start with `prefix`), errors kept per entry. */
export function survey(prefix = ""): Survey[] {
  return list()
    .filter((name) => name.startsWith(prefix))
    .map((name) => {
      try {
        return { name, stat: stat(name) };
      } catch (error) {
        if (!(error instanceof ShmpipeError)) throw error;
        return { name, error };
      }
    });
}

/**
 * Removes the name of the shmpipe segment `name` (a channel or a table,
 * in use or not: processes that mapped it keep it). Refuses what is not a
 * shmpipe segment (the core checks the header first), with its sentence.
 */
export function remove(name: string): void {
  Segment.inspect(name).close();
  removeName(name, "unlink");
}

/**
 * The stale segments (as shmp_segment_stat decides: creator and every
 * attached peer dead, not a persistent table) among this user's whose
 * names start with `prefix`, removed unless `dryRun`. Each is looked at
 * again, as this user's (the core checks the file's owner), just before
 * its name goes: another user's segments are theirs to collect, also
 * for root.
 */
export function collectGarbage(options: { dryRun?: boolean; prefix?: string } = {}): SegmentStat[] {
  const removed: SegmentStat[] = [];
  for (const entry of survey(options.prefix)) {
    if (!entry.stat?.stale) continue;
    try {
      if (!stat(entry.name, { allowOtherOwner: false, recordsInFlight: false }).stale) continue; // someone attached meanwhile
      if (!options.dryRun) removeName(entry.name, "unlink", true);
    } catch (error) {
      if (!(error instanceof ShmpipeError)) throw error;
      continue; // another user's, or gone or changed meanwhile: not ours to judge
    }
    removed.push(entry.stat);
  }
  return removed;
}
