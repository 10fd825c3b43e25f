// Everything that depends on bun:ffi lives in this file: the libc symbols
// used to map segments, the C core's symbols, and views over raw memory.
// A Deno adapter would be a sibling of this file exporting the same names.
import { CString, dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const { i32, u32, i64, u64, i64_fast, u64_fast, ptr: pointer, cstring, void: none } = FFIType;

const libc = dlopen("libc.so.6", {
  shm_open: { args: [pointer, i32, u32], returns: i32 },
  shm_unlink: { args: [pointer], returns: i32 },
  posix_fallocate: { args: [i32, i64, i64], returns: i32 },
  fstat: { args: [i32, pointer], returns: i32 },
  // mmap returns MAP_FAILED = (void*)-1, which a pointer return cannot
  // express: read the address as a signed integer instead.
  mmap: { args: [u64, u64, i32, i32, i32, i64], returns: i64_fast },
  munmap: { args: [pointer, u64], returns: i32 },
  close: { args: [i32], returns: i32 },
  clock_gettime: { args: [i32, pointer], returns: i32 },
  signal: { args: [i32, pointer], returns: pointer },
  raise: { args: [i32], returns: i32 },
  __errno_location: { args: [], returns: pointer },
  dlopen: { args: [pointer, i32], returns: pointer },
  dlvsym: { args: [pointer, pointer, pointer], returns: pointer },
  dlclose: { args: [pointer], returns: i32 },
}).symbols;

/** The C core's ABI this binding is written for (SHMP_ABI in shmpipe.h). */
const CORE_ABI = 1;

/**
 * The newest version node of ffi/core/shmpipe.map whose calls this binding
 * binds, and one call of that node to ask the dynamic linker for. Raise it
 * with the first call bound from a newer node.
 */
const NEWEST_NODE = { node: "SHMPIPE_1.1", call: "shmp_owned_unlink_all" } as const;
const RTLD_NOW = 0x2, RTLD_NOLOAD = 0x4;

/**
 * Where the C core is: $SHMPIPE_LIB, else the build for this machine in
 * this package (the npm package carries it prebuilt; a checkout builds it
 * with `make -C ffi/core`).
 */
export const corePath = process.env.SHMPIPE_LIB || fileURLToPath(new URL(`../../ffi/core/build/linux-${process.arch}/libshmpipe.so`, import.meta.url));

const symbols = {
  shmp_version: { args: [], returns: cstring },
  shmp_abi: { args: [], returns: u32 },
  shmp_error_name: { args: [i32], returns: cstring },
  shmp_error_set: { args: [pointer, i32, pointer, pointer, pointer], returns: i32 },
  shmp_constant: { args: [pointer], returns: i64_fast },
  shmp_shm_name: { args: [pointer, pointer, pointer, u64, pointer], returns: i32 },
  shmp_create_size: { args: [pointer, u64, u32, pointer], returns: i64_fast },
  shmp_syscall_failed: { args: [pointer, pointer, pointer, u32, i32, u64], returns: i32 },
  shmp_open_missing: { args: [pointer, u32, i64, i64, pointer], returns: i32 },
  shmp_segment_format: { args: [pointer, pointer, u64, pointer], returns: pointer },
  shmp_segment_adopt: { args: [pointer, pointer, u64, u32, u32, i64, i64, pointer], returns: pointer },
  shmp_segment_check_file: { args: [pointer, u32, pointer], returns: i32 },
  shmp_segment_capacity: { args: [pointer], returns: u64_fast },
  shmp_segment_protect_records: { args: [pointer, pointer], returns: i32 },
  shmp_segment_creator_pid: { args: [pointer], returns: u32 },
  shmp_segment_range: { args: [pointer, u64, u64, pointer, pointer], returns: i32 },
  shmp_segment_ref: { args: [pointer], returns: none },
  shmp_segment_unref: { args: [pointer], returns: none },
  shmp_segment_refs: { args: [pointer], returns: u32 },
  shmp_view_deallocator: { args: [pointer, pointer], returns: none },
  shmp_record_footprint: { args: [u64], returns: u64_fast },
  shmp_segment_stat: { args: [pointer, pointer, pointer], returns: i32 },
  shmp_segment_counts: { args: [pointer, pointer, pointer], returns: i32 },
  shmp_segment_list: { args: [pointer, u64, pointer], returns: i64_fast },
  shmp_writer_attach: { args: [pointer, pointer], returns: pointer },
  shmp_reader_attach: { args: [pointer, pointer], returns: pointer },
  shmp_writer_close: { args: [pointer], returns: none },
  shmp_writer_drain: { args: [pointer, i64, u32, pointer], returns: i32 },
  shmp_writer_linger: { args: [pointer, i64, u32, pointer], returns: i32 },
  shmp_writer_linger_notice: { args: [pointer, i64, pointer, u64], returns: i64_fast },
  shmp_writer_close_checked: { args: [pointer, pointer], returns: i32 },
  shmp_writer_readers_joined: { args: [pointer], returns: u32 },
  shmp_reader_close: { args: [pointer], returns: none },
  shmp_writer_max_payload: { args: [pointer], returns: u64_fast },
  shmp_writer_interrupt: { args: [pointer], returns: none },
  shmp_reader_interrupt: { args: [pointer], returns: none },
  shmp_writer_seal: { args: [pointer], returns: none },
  shmp_writer_seal_persistent: { args: [pointer], returns: none },
  shmp_table_check_unpublish: { args: [pointer, pointer], returns: i32 },
  shmp_table_open: { args: [pointer, i64, pointer], returns: pointer },
  shmp_writer_claim: { args: [pointer, u64, i64, u32, pointer], returns: i64_fast },
  shmp_writer_commit: { args: [pointer, u64, pointer], returns: i32 },
  shmp_writer_abort: { args: [pointer, pointer], returns: i32 },
  shmp_writer_send: { args: [pointer, pointer, u64, i64, u32, pointer], returns: i32 },
  shmp_reader_peek: { args: [pointer, pointer, pointer], returns: i64_fast },
  shmp_reader_offset: { args: [pointer], returns: u64_fast },
  shmp_reader_release: { args: [pointer, pointer], returns: i32 },
  shmp_reader_wait: { args: [pointer, i64, u32, pointer], returns: i32 },
  shmp_reader_next: { args: [pointer, pointer, i64, u32, pointer], returns: i64_fast },
  shmp_owned_add: { args: [pointer, pointer], returns: i32 },
  shmp_owned_forget: { args: [pointer], returns: none },
  shmp_owned_unlink: { args: [pointer, pointer], returns: i32 },
  shmp_owned_count: { args: [], returns: i32 },
  shmp_owned_unlink_all: { args: [], returns: i32 },
  shmp_owned_unlink_on_signals: { args: [], returns: i32 },
  shmp_interrupt_waits_on_signals: { args: [], returns: i32 },
  shmp_interrupted_signal: { args: [], returns: i32 },
  shmp_arrow_sender_new: { args: [pointer, pointer, i32, pointer], returns: pointer },
  shmp_arrow_sender_free: { args: [pointer], returns: none },
  shmp_arrow_sender_schema_owed: { args: [pointer], returns: i32 },
  shmp_arrow_sender_commit: { args: [pointer, u64, pointer], returns: i32 },
  shmp_arrow_sender_abort: { args: [pointer], returns: none },
  shmp_arrow_checker_new: { args: [pointer, pointer, pointer], returns: pointer },
  shmp_arrow_checker_free: { args: [pointer], returns: none },
  shmp_arrow_checker_check: { args: [pointer, pointer, u64, pointer], returns: i32 },
  shmp_arrow_checker_trust_values: { args: [pointer, i32], returns: none },
  shmp_arrow_checker_prefix: { args: [pointer], returns: pointer },
  shmp_arrow_checker_prefix_length: { args: [pointer], returns: u64_fast },
  shmp_arrow_checker_body_length: { args: [pointer], returns: u64_fast },
  shmp_arrow_checker_layout: { args: [pointer, pointer, u64], returns: i64_fast },
  shmp_reader_check_arrow: { args: [pointer, pointer, pointer, u64, pointer], returns: i32 },
} as const;

function openCore() {
  if (!existsSync(corePath)) {
    throw new Error(
      `shmpipe: the C core ${corePath} is missing. In a checkout run \`npm run setup\` (or \`make -C ffi/core\`); the npm package carries it prebuilt for linux-x64 only.`,
    );
  }
  // Two questions before binding every call, so that a library this
  // binding cannot use is refused now, in one sentence, rather than by
  // bun:ffi's "symbol not found" or at the first call: its ABI (the layout
  // and meaning of what it shares), then whether it has every call this
  // binding binds (the newest version node it exports).
  const probe = dlopen(corePath, { shmp_abi: symbols.shmp_abi, shmp_version: symbols.shmp_version });
  try {
    const abi = probe.symbols.shmp_abi();
    const version = String(probe.symbols.shmp_version());
    if (abi !== CORE_ABI) {
      throw new Error(`shmpipe: ${corePath} is shmpipe core ${version} with ABI ${abi}, but this binding needs ABI ${CORE_ABI}: rebuild the core (\`make -C ffi/core\`) or reinstall shmpipe.`);
    }
    if (!hasVersionNode(corePath, NEWEST_NODE.node, NEWEST_NODE.call)) {
      throw new Error(
        `shmpipe: ${corePath} is shmpipe core ${version} without the version node ${NEWEST_NODE.node} this binding calls into (it is older than the binding): rebuild the core (\`make -C ffi/core\`) or reinstall shmpipe${process.env.SHMPIPE_LIB ? ", or point SHMPIPE_LIB at a newer core" : ""}.`,
      );
    }
    return dlopen(corePath, symbols).symbols;
  } finally {
    probe.close(); // the full binding above holds the library
  }
}

/** Whether the loaded library at `path` exports `call` in version node `node` (glibc's dlvsym). */
function hasVersionNode(path: string, node: string, call: string): boolean {
  // RTLD_NOLOAD: a handle to the copy bun:ffi loaded, never a second one.
  const handle = libc.dlopen(cString(path), RTLD_NOW | RTLD_NOLOAD);
  if (handle === null) return false;
  try {
    return libc.dlvsym(handle, cString(call), cString(node)) !== null;
  } finally {
    libc.dlclose(handle);
  }
}

const core = openCore();
export { core, libc };

/** An address in this process, as bun:ffi passes pointers: a number. */
export type Address = Pointer;

/** errno of the calling thread, read right after a failed libc call. */
export function errno(): number {
  return new Int32Array(toArrayBuffer(libc.__errno_location()!, 0, 4))[0]!;
}

/** The address of a typed array's first byte (for out-parameters). */
export function addressOf(view: NodeJS.TypedArray | DataView): Address {
  return ptr(view);
}

/** A copy of `length` bytes of C memory at `address`. */
export function copyOut(address: Address, length: number): Uint8Array {
  return new Uint8Array(toArrayBuffer(address, 0, length)).slice();
}

/** The NUL-terminated string at `address`. */
export function stringAt(address: Address): string {
  return new CString(address).toString();
}

// Each bound function also carries its C address.
const deallocator = (core.shmp_view_deallocator as unknown as { ptr: Address }).ptr;

// bun:ffi's declarations list only three parameters of toArrayBuffer; at run
// time it also takes the deallocator context and a C deallocator that runs
// when the ArrayBuffer is collected or detached.
const externalBuffer = toArrayBuffer as unknown as (
  address: Address,
  byteOffset: number,
  byteLength: number,
  context: Address,
  deallocator: Address,
) => ArrayBuffer;

/**
 * An ArrayBuffer over `length` bytes at `base + offset` that holds one
 * reference on `segment` (a shmp_segment*), dropped when the buffer is
 * collected or detached. The caller has taken that reference already.
 */
export function mappedBuffer(base: Address, offset: number, length: number, segment: Address): ArrayBuffer {
  return externalBuffer(base, offset, length, segment, deallocator);
}

/** A NUL-terminated C string argument. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

const CLOCK_MONOTONIC = 1;
const clock = new BigInt64Array(2);

/** CLOCK_MONOTONIC in ns: comparable across processes (and with Python's time.monotonic_ns). */
export function monotonicNs(): number {
  libc.clock_gettime(CLOCK_MONOTONIC, ptr(clock));
  return Number(clock[0]!) * 1e9 + Number(clock[1]!);
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Ends the process by `signal` as if nobody had handled it: the runtime's
 * handler cannot be told to stand aside from JavaScript, so the default
 * action is restored in C and the signal raised again.
 */
export function dieBySignal(signal: keyof typeof SIGNAL_NUMBERS): never {
  const number = SIGNAL_NUMBERS[signal];
  libc.signal(number, null); // SIG_DFL
  libc.raise(number);
  process.exit(128 + number); // not reached
}

/** Blocks the calling thread (used only while a segment is being set up). */
export function sleepSync(ms: number): void {
  Bun.sleepSync(ms);
}
