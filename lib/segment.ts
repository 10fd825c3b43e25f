// A segment is one POSIX shared memory object, mapped into this process.
// This file owns naming, creation (O_EXCL, mode 0600, memory reserved with
// posix_fallocate), opening (owner and header checks), the reference count
// that keeps the mapping alive while views exist, and unlinking the names
// this process created, also on Ctrl-C.
import { type Address, addressOf, core, cString, errno, libc, mappedBuffer, sleepSync } from "./ffi/bun.ts";
import { Code, type Operation, ShmpipeError } from "./errors.ts";

/** Every shmpipe object in /dev/shm starts with this. */
export const NAME_PREFIX = "shmpipe.";
const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

const O_RDWR = 0o2, O_CREAT = 0o100, O_EXCL = 0o200, O_CLOEXEC = 0o2000000;
const PROT_READ_WRITE = 0x3, MAP_SHARED = 0x1;
const PAGE = 4096;

export interface CreateOptions {
  /** Bytes of record space; rounded up to a multiple of 4096. */
  capacity: number;
  /** Permission bits of the segment (default 0o600: this user only). */
  mode?: number;
}

export interface OpenOptions {
  /** Open a segment created by another user (refused by default). */
  allowOtherOwner?: boolean;
  /** How long to wait for a segment that is being created (default 2000 ms). */
  readyTimeoutMs?: number;
}

/** The path of a channel's segment under /dev/shm, for messages and tools. */
export function shmPath(name: string): string {
  return `/dev/shm/${NAME_PREFIX}${name}`;
}

function shmName(name: string, op: Operation): Uint8Array {
  if (!NAME_PATTERN.test(name)) {
    throw new ShmpipeError(Code.INVALID, {
      segment: name,
      op,
      hint: "A channel name is 1-200 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'",
    });
  }
  return cString(`/${NAME_PREFIX}${name}`);
}

function fail(op: Operation, segment: string, code: number, hint?: string): never {
  throw new ShmpipeError(code, { segment, op, hint });
}

// ---- names this process must remove ----------------------------------------

const ownedNames = new Set<string>();
let cleanupInstalled = false;

function unlinkName(name: string): number {
  return libc.shm_unlink(shmName(name, "unlink")) === 0 ? 0 : -errno();
}

function removeOwnedNames(): void {
  for (const name of ownedNames) unlinkName(name);
  ownedNames.clear();
}

// Names this process created are removed on exit, and on SIGINT/SIGTERM/
// SIGHUP before the signal's default action (terminate) is taken again.
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", removeOwnedNames);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      removeOwnedNames();
      process.kill(process.pid, signal);
    });
  }
}

// ---- the mapping -----------------------------------------------------------

/**
 * One mapped segment. `close()` drops this object's reference; the memory
 * is unmapped by the C core when the last view over it is also gone.
 */
export class Segment {
  #mapping: Address;
  #closed = false;

  private constructor(
    readonly name: string,
    readonly base: Address,
    readonly size: number,
    /** True if this process created the name and removes it on close. */
    readonly owned: boolean,
  ) {
    const mapping = core.shmp_mapping_new(base, size) as Address | null;
    if (mapping === null) {
      libc.munmap(base, size);
      fail("open", name, -12);
    }
    this.#mapping = mapping;
  }

  static create(name: string, options: CreateOptions): Segment {
    const path = shmName(name, "create");
    const capacity = Math.ceil(options.capacity / PAGE) * PAGE;
    if (!Number.isSafeInteger(capacity) || capacity < PAGE) {
      fail("create", name, Code.INVALID, `capacity must be at least ${PAGE} bytes, got ${options.capacity}`);
    }
    const size = core.shmp_segment_size(capacity) as number;
    const fd = libc.shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode ?? 0o600);
    if (fd < 0) fail("create", name, -errno());
    // Created: from here on, every failure must remove the name again.
    let base: Address | null = null;
    try {
      // Reserve every page now: a full /dev/shm is an error here, not a
      // SIGBUS when a page is first touched. (Returns the error number.)
      const rc = libc.posix_fallocate(fd, 0, size);
      if (rc !== 0) fail("create", name, -rc, `could not reserve ${size} bytes in /dev/shm`);
      base = mapFd(fd, size, "create", name);
      const formatted = core.shmp_segment_format(base, size);
      if (formatted !== 0) fail("create", name, formatted);
      installCleanup();
      ownedNames.add(name);
      return new Segment(name, base, size, true);
    } catch (error) {
      if (base) libc.munmap(base, size);
      libc.shm_unlink(path);
      throw error;
    } finally {
      libc.close(fd);
    }
  }

  static open(name: string, options: OpenOptions = {}): Segment {
    const path = shmName(name, "open");
    const deadline = performance.now() + (options.readyTimeoutMs ?? 2000);
    const fd = libc.shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) fail("open", name, -errno());
    try {
      for (;;) {
        const { size, uid } = fstat(fd, name);
        if (uid !== libc.getuid() && !options.allowOtherOwner) {
          fail("open", name, Code.EACCES, `the segment belongs to uid ${uid}; pass allowOtherOwner to open it anyway`);
        }
        const checked = size > 0 ? mapAndCheck(fd, size, name) : { base: null, rc: Code.NOT_READY };
        if (checked.base !== null && checked.rc === 0) return new Segment(name, checked.base, size, false);
        // Its creator has made the name but not yet sized or formatted it.
        if (checked.rc !== Code.NOT_READY || performance.now() > deadline) fail("open", name, checked.rc);
        sleepSync(1);
      }
    } finally {
      libc.close(fd);
    }
  }

  /** Takes a reference on the mapping for a view that will drop it. */
  view(offset: number, length: number): ArrayBuffer {
    if (this.#closed) fail("recv", this.name, Code.CLOSED);
    if (offset < 0 || length < 0 || offset + length > this.size) {
      fail("recv", this.name, Code.INVALID, `view [${offset}, ${offset + length}) is outside the ${this.size}-byte mapping`);
    }
    core.shmp_mapping_ref(this.#mapping);
    return mappedBuffer(this.base, offset, length, this.#mapping);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Drops this segment's reference and, if this process created it, removes the name. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.owned && ownedNames.delete(this.name)) unlinkName(this.name);
    core.shmp_mapping_unref(this.#mapping);
  }
}

function mapFd(fd: number, size: number, op: Operation, name: string): Address {
  const base = libc.mmap(0, size, PROT_READ_WRITE, MAP_SHARED, fd, 0) as number;
  if (base === -1) fail(op, name, -errno(), `could not map ${size} bytes`);
  return base as Address;
}

function mapAndCheck(fd: number, size: number, name: string): { base: Address | null; rc: number } {
  const base = mapFd(fd, size, "open", name);
  const rc = core.shmp_segment_check(base, size);
  if (rc === 0) return { base, rc };
  libc.munmap(base, size);
  return { base: null, rc };
}

// struct stat offsets of st_uid and st_size for the Linux ABIs we run on.
const STAT_LAYOUT: Record<string, { uid: number; size: number }> = {
  x64: { uid: 28, size: 48 },
  arm64: { uid: 24, size: 48 },
};

function fstat(fd: number, name: string): { size: number; uid: number } {
  const layout = STAT_LAYOUT[process.arch];
  if (!layout) throw new Error(`shmpipe: no struct stat layout for ${process.arch}`);
  const buf = new DataView(new ArrayBuffer(256));
  if (libc.fstat(fd, addressOf(buf)) !== 0) fail("open", name, -errno());
  return { uid: buf.getUint32(layout.uid, true), size: Number(buf.getBigInt64(layout.size, true)) };
}

/** Removes a channel's name from /dev/shm (existing mappings stay valid). */
export function unlink(name: string): void {
  const rc = unlinkName(name);
  ownedNames.delete(name);
  if (rc !== 0) fail("unlink", name, rc);
}
