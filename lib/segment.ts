// A segment is one POSIX shared memory object, mapped into this process.
// This binding makes the system calls itself through libc (shm_open,
// posix_fallocate, fstat, mmap, munmap, shm_unlink), as shmpipe promises its
// TypeScript users, and asks the C core for every decision: the name, the
// size, the checks, the wait for a creator still at work, and the sentence
// of every failure. The core's shmp_segment then holds the mapping and its
// reference count (views hold references; the last one unmaps), and its
// registry the names this process must remove. What is this file's own:
// telling that registry what only the binding knows, and calling it at exit
// and on Ctrl-C.
import { type Address, core, cString, dieBySignal, errno, libc, mappedBuffer, mapShared, sleepSync } from "#ffi";
import { DEFAULT_READY_TIMEOUT_MS } from "./options.ts";
import { Code, constant, coreError, errorBuffer, type Operation, setInterruptHandler, usageError } from "./errors.ts";

const O_RDONLY = 0o0, O_RDWR = 0o2, O_CREAT = 0o100, O_EXCL = 0o200, O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;
const PROT_READ = 0x1, PROT_READ_WRITE = 0x3;
const Call = {
  SHM_OPEN: constant("CALL_SHM_OPEN"),
  FALLOCATE: constant("CALL_FALLOCATE"),
  MMAP: constant("CALL_MMAP"),
  FSTAT: constant("CALL_FSTAT"),
  SHM_UNLINK: constant("CALL_SHM_UNLINK"),
};
const ALLOW_OTHER_OWNER = constant("OPEN_ALLOW_OTHER_OWNER");
const READ_ONLY_DATA = constant("OPEN_READ_ONLY_DATA");
const WAIT_FOR_NAME = constant("OPEN_WAIT_FOR_NAME");
const INSPECT = constant("OPEN_INSPECT");

/** Record space of a channel created without a capacity (16 MiB). */
export const DEFAULT_CAPACITY = constant("DEFAULT_CAPACITY");

export interface CreateOptions {
  /** Bytes of record space, rounded up to a multiple of 4096 (default DEFAULT_CAPACITY). */
  capacity?: number;
  /** Permission bits of the segment (default 0o600: this user only). */
  mode?: number;
}

export interface OpenOptions {
  /** Open a segment created by another user (refused by default). */
  allowOtherOwner?: boolean;
  /** How long to wait for a segment that is being created (default DEFAULT_READY_TIMEOUT_MS, 2 s). */
  readyTimeoutMs?: number;
  /**
   * How long to wait for a channel that does not exist yet (default 0: it
   * must exist), so that start-up order does not matter.
   */
  waitMs?: number;
}

/** Whether a segment opened by this process may write into its records: only a writer's may. */
export type DataAccess = "read-only" | "read-write";

/** The core's verdict on a failed call: the error it wrote into `err`. */
function failed(err: Uint8Array): never {
  throw coreError(err);
}

function syscallFailed(err: Uint8Array, op: Operation, name: string, call: number, errorNumber: number, size = 0): never {
  core.shmp_syscall_failed(err, cString(op), cString(name), call, errorNumber, size);
  failed(err);
}

/**
 * The shm_open name of a channel ("/shmpipe.<name>", NUL-terminated), after
 * the core checked the name. A JavaScript string can hold NUL, which would
 * end the C string early: that much is this binding's to refuse.
 */
function shmName(name: string, op: Operation, err: Uint8Array): Uint8Array {
  if (typeof name !== "string" || name.includes("\0")) throw usageError(Code.INVALID, String(name).replaceAll("\0", "?"), op, "a channel name is a string without NUL characters");
  const path = new Uint8Array(256);
  if (core.shmp_shm_name(cString(name), cString(op), path, path.length, err) !== 0) failed(err);
  return path;
}

/** The path of a channel's segment under /dev/shm, for messages and tools. */
export function shmPath(name: string): string {
  const path = shmName(name, "open", errorBuffer());
  return `/dev/shm${new TextDecoder().decode(path.subarray(0, path.indexOf(0)))}`;
}

/** What every shmpipe object in /dev/shm starts with ("shmpipe."). */
export const NAME_PREFIX = shmPath("x").slice("/dev/shm/".length, -1);

const ENOENT = -constant("ENOENT");

/** Milliseconds as the core's nanoseconds; Infinity is "for ever" (-1). */
function nanoseconds(ms: number): number {
  return ms === Infinity ? -1 : Math.round(ms * 1e6);
}

/** A byte count as the core takes it (u64): what is not a count becomes 0, which the core refuses. */
function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}

// ---- names this process must remove ----------------------------------------
//
// The core keeps the list (one registry for every binding, by pid: see
// ffi/core/src/owned.c). It records a name when shmp_segment_format sets
// the segment up; this file tells it the rest: a name this process answers
// for without creating it (removeAtExit), a name that is to outlive the
// process (keepName), a name this binding removed itself with libc's
// shm_unlink (removeName). Closing a created segment removes its name only
// while the core has it as this process's (shmp_owned_unlink). At exit the
// core removes what is left.

let cleanupInstalled = false;

function unlinkName(name: string, err: Uint8Array): number {
  return libc.shm_unlink(shmName(name, "unlink", err)) === 0 ? 0 : errno();
}

/** A name this process does not create but answers for (a pipeline's tables): removed at exit, and on the signals below. */
export function removeAtExit(name: string): void {
  installCleanup();
  const err = errorBuffer();
  if (core.shmp_owned_add(cString(name), err) !== 0) failed(err);
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Signal = (typeof SIGNALS)[number];
const SIGNAL_NUMBERS: Record<number, Signal> = { 2: "SIGINT", 15: "SIGTERM", 1: "SIGHUP" };

/**
 * What SIGINT, SIGTERM and SIGHUP do to a process that owns names (the
 * core's policy, shmp_owned_unlink_on_signals, applied from JavaScript): if
 * the program listens for the signal itself, nothing here (it decides, and
 * its exit removes the names); if not, the names go and the signal takes
 * its default course (the process ends by it).
 */
function onSignal(signal: Signal): void {
  if (listenerDue) clearTimeout(listenerDue);
  listenerDue = null;
  if (process.listenerCount(signal) > 1) return;
  core.shmp_owned_unlink_all();
  dieBySignal(signal);
}

// Why JavaScript listeners rather than the core's handlers
// (shmp_owned_unlink_on_signals, which Python, Go and R use): Bun installs
// its own sigaction for a signal when the first JavaScript listener for it
// is added, replacing whatever C handler was there, and restores SIG_DFL
// when the last one is removed (measured with sigaction(2) on Bun 1.4).
// The core's handler would go the moment the program started listening,
// and with it the core's wrapper that ends blocked waits
// (shmp_interrupt_waits_on_signals, installed once): a program that
// listened after its first channel could no longer stop a recvSync with
// Ctrl-C. Listening ourselves keeps Bun's handler installed, and wrapped,
// for the life of the process; the program's later listeners only join
// ours. The decisions stay the core's: what to remove, and when a signal
// is the program's (its listener, here; its handler, in C).
//
// JavaScript listeners cannot run while a synchronous FFI call blocks (a
// recvSync, a send on a full ring): the core ends its waits when one of the
// signals arrives, and the binding then acts as the listener would
// (signalInterrupted, called for every -EINTR a core call returns).
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", () => core.shmp_owned_unlink_all());
  for (const signal of SIGNALS) process.on(signal, onSignal);
  core.shmp_interrupt_waits_on_signals();
  setInterruptHandler(signalInterrupted);
}

/**
 * A core wait ended for a signal: act on it now, as its listener would
 * later. If the program listens for it, the listeners run once the event
 * loop turns; until they have, a timer keeps it turning (Deno ends a
 * program whose only pending work is a signal, and the listener with it;
 * Bun runs it either way).
 */
function signalInterrupted(): void {
  const signal = SIGNAL_NUMBERS[core.shmp_interrupted_signal() as number];
  if (!signal) return;
  if (process.listenerCount(signal) > 1) listenerDue ??= setTimeout(() => (listenerDue = null), 1000);
  else onSignal(signal);
}
let listenerDue: ReturnType<typeof setTimeout> | null = null;

// ---- the mapping -----------------------------------------------------------

/**
 * One mapped segment. `close()` drops this object's reference; the memory
 * is unmapped by the C core when the last view over it is also gone.
 */
export class Segment {
  #closed = false;

  private constructor(
    readonly name: string,
    /** The core's shmp_segment*. */
    readonly handle: Address,
    readonly base: Address,
    readonly size: number,
    /** True if this process created the name and removes it on close. */
    readonly owned: boolean,
  ) {}

  /**
   * Creates the segment `name`. `forTable`: for a table about to be
   * published, which the core then writes through the file until it is
   * sealed (shmp_table_format; see write()).
   */
  static create(name: string, options: CreateOptions = {}, forTable = false): Segment {
    const err = errorBuffer();
    const path = shmName(name, "create", err);
    const cname = cString(name);
    const size = core.shmp_create_size(cname, count(options.capacity ?? DEFAULT_CAPACITY), options.mode ?? 0o600, err) as number;
    if (size < 0) failed(err);
    installCleanup(); // before the name exists: its removal on a signal is set up already
    const fd = libc.shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode ?? 0o600);
    if (fd < 0) syscallFailed(err, "create", name, Call.SHM_OPEN, errno());
    // Created: from here on, every failure must remove the name again.
    let base: Address | null = null;
    try {
      // Reserve every page now: a full /dev/shm is an error here, not a
      // SIGBUS when a page is first touched. (Returns the error number.)
      const rc = libc.posix_fallocate(fd, 0, size);
      if (rc !== 0) syscallFailed(err, "create", name, Call.FALLOCATE, rc, size);
      base = mapFd(fd, size, "create", name, err);
      // Formatted, the name is this process's in the core's registry. A
      // table's segment keeps a descriptor of its own (closed when the
      // table is sealed); this one is ours to close either way.
      const handle = (forTable ? core.shmp_table_format(cname, base, size, fd, err) : core.shmp_segment_format(cname, base, size, err)) as Address | null;
      if (handle === null) failed(err);
      return new Segment(name, handle, base, size, true);
    } catch (error) {
      if (base) libc.munmap(base, size);
      libc.shm_unlink(path);
      throw error;
    } finally {
      libc.close(fd);
    }
  }

  /**
   * Opens a segment another process created. Its records are mapped
   * read-only (the header, where a reader keeps its position, stays
   * writable) unless `access` is "read-write", which only a writer asks
   * for: with fan-out, no reader may change what another reads.
   */
  static open(name: string, options: OpenOptions = {}, access: DataAccess = "read-only"): Segment {
    return Segment.#open(name, options, access === "read-only" ? READ_ONLY_DATA : 0);
  }

  /**
   * Opens a segment to look at it (SHMP_OPEN_INSPECT): mapped read-only
   * from a read-only descriptor, so it takes no role and writes nothing;
   * the core refuses to attach an end to it. No wait for a creator still
   * setting it up (ENOTREADY at once). Make no views of it that a caller
   * could write to.
   */
  static inspect(name: string, options: Pick<OpenOptions, "allowOtherOwner"> = {}): Segment {
    return Segment.#open(name, { allowOtherOwner: options.allowOtherOwner, readyTimeoutMs: 0 }, INSPECT);
  }

  static #open(name: string, options: OpenOptions, access: number): Segment {
    const inspect = access === INSPECT;
    const err = errorBuffer();
    const path = shmName(name, "open", err);
    const cname = cString(name);
    const waitMs = options.waitMs ?? 0;
    // With waitMs, one limit for both: the name to appear, then the header.
    const readyTimeoutNs = nanoseconds(waitMs > 0 ? waitMs : (options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS));
    const flags = (options.allowOtherOwner ? ALLOW_OTHER_OWNER : 0) | (waitMs > 0 ? WAIT_FOR_NAME : 0) | access;
    const start = performance.now();
    let fd: number;
    // O_NONBLOCK: a FIFO planted under the name would block the open for ever (the core refuses it below).
    while ((fd = libc.shm_open(path, (inspect ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC, 0)) < 0) {
      const errorNumber = errno();
      if (errorNumber !== ENOENT) syscallFailed(err, "open", name, Call.SHM_OPEN, errorNumber);
      const rc = core.shmp_open_missing(cname, flags, nanoseconds(performance.now() - start), readyTimeoutNs, err);
      if (rc !== Code.AGAIN) failed(err);
      sleepSync(1); // the core says: not created yet, look again
    }
    try {
      for (;;) {
        const { size, uid, mode } = fstat(fd, name, err);
        if (core.shmp_segment_check_file(cname, mode, err) !== 0) failed(err);
        // Its creator may have made the name but not yet sized it.
        const base = size > 0 ? mapFd(fd, size, "open", name, err, inspect ? PROT_READ : PROT_READ_WRITE) : null;
        const waitedNs = nanoseconds(performance.now() - start);
        const handle = core.shmp_segment_adopt(cname, base, size, uid, flags, waitedNs, readyTimeoutNs, err) as Address | null;
        if (handle !== null) return new Segment(name, handle, base!, size, false);
        if (base !== null) libc.munmap(base, size);
        if (new DataView(err.buffer).getInt32(0, true) !== Code.AGAIN) failed(err);
        sleepSync(1); // the core says: still being set up, look again
      }
    } finally {
      libc.close(fd);
    }
  }

  /** Takes a reference on the mapping for a view that will drop it. */
  view(offset: number, length: number, op: Operation = "recv"): ArrayBuffer {
    if (this.#closed) throw usageError(Code.CLOSED, this.name, op, "this end of the channel was closed");
    const err = errorBuffer();
    if (core.shmp_segment_range(this.handle, offset, length, cString(op), err) !== 0) failed(err);
    if (length === 0) return new ArrayBuffer(0); // Bun makes no empty external buffer
    core.shmp_segment_ref(this.handle);
    return mappedBuffer(this.base, offset, length, this.handle);
  }

  /**
   * Copies `bytes` into the segment at `offset` by the core
   * (shmp_segment_write), which checks the range: through the file of a
   * table being published (tmpfs fills its pages in write(2) itself, where a
   * first write through the mapping takes a page fault per 4 KiB page);
   * else a memcpy.
   */
  write(offset: number, bytes: Uint8Array, op: Operation = "send"): void {
    if (this.#closed) throw usageError(Code.CLOSED, this.name, op, "this end of the channel was closed");
    const err = errorBuffer();
    if (core.shmp_segment_write(this.handle, offset, bytes, bytes.byteLength, err) !== 0) failed(err);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Maps the records read-only from now on, for a reader of a segment this
   * process created (one it opened had them mapped so by the core): the
   * header stays writable, as the reader's position is kept there. A write
   * into a received view then faults (SIGSEGV) instead of changing what the
   * other readers of the record see.
   */
  protectRecords(): void {
    const err = errorBuffer();
    if (core.shmp_segment_protect_records(this.handle, err) !== 0) failed(err);
  }

  /** Where the record ring starts: it is the last `capacity` bytes of the segment (the core checked that). */
  get ringOffset(): number {
    return this.size - (core.shmp_segment_capacity(this.handle) as number);
  }

  /** The name outlives this process: neither close() nor exit removes it any more. */
  keepName(): void {
    core.shmp_owned_forget(cString(this.name));
  }

  /** Drops this segment's reference and, if this process created it, removes the name. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Only while the name is still this process's: kept, or removed already
    // (perhaps made again since by another process), it is not ours to
    // remove. Asking and removing is one call of the core, so that no
    // other thread's change to the registry comes between the two. close()
    // throws nothing: a removal that fails leaves a stale name, which
    // `shmpipe gc` removes.
    if (this.owned) core.shmp_owned_unlink(cString(this.name), errorBuffer());
    core.shmp_segment_unref(this.handle);
  }
}

function mapFd(fd: number, size: number, op: Operation, name: string, err: Uint8Array, prot = PROT_READ_WRITE): Address {
  const base = mapShared(fd, size, prot);
  if (base === null) syscallFailed(err, op, name, Call.MMAP, errno(), size);
  return base;
}

// struct stat offsets of st_uid and st_size for the Linux ABIs we run on.
const STAT_LAYOUT: Record<string, { mode: number; uid: number; size: number }> = {
  x64: { mode: 24, uid: 28, size: 48 },
  arm64: { mode: 16, uid: 24, size: 48 },
};

function fstat(fd: number, name: string, err: Uint8Array): { size: number; uid: number; mode: number } {
  const layout = STAT_LAYOUT[process.arch];
  if (!layout) throw new Error(`shmpipe: no struct stat layout for ${process.arch}`);
  const bytes = new Uint8Array(256);
  const buf = new DataView(bytes.buffer);
  if (libc.fstat(fd, bytes) !== 0) syscallFailed(err, "open", name, Call.FSTAT, errno());
  return { mode: buf.getUint32(layout.mode, true), uid: buf.getUint32(layout.uid, true), size: Number(buf.getBigInt64(layout.size, true)) };
}

/** Removes a channel's name from /dev/shm (existing mappings stay valid). */
export function unlink(name: string): void {
  removeName(name, "unlink");
}

/** unlink() for `op`; `missingOk`: a name already gone is no error. */
export function removeName(name: string, op: "unlink" | "unpublish", missingOk = false): void {
  const err = errorBuffer();
  const errorNumber = unlinkName(name, err);
  core.shmp_owned_forget(cString(name));
  if (errorNumber !== 0 && !(missingOk && errorNumber === ENOENT)) syscallFailed(err, op, name, Call.SHM_UNLINK, errorNumber);
}
