// The calls this binding makes into libc and the C core, declared once in
// types of no runtime. Each adapter (bun.ts, deno.ts) maps these types to
// its own FFI's and binds the same tables, so a call added here is a call
// in every runtime. What the neutral types mean to a caller:
//
//   i32, u32   a number
//   i64, u64   a number (a bigint only past 2^53, which no size or offset reaches)
//   pointer    a C address: an opaque Address (or null), never a JS buffer
//   buffer     JavaScript memory lent for the call (a typed array, or null):
//              strings in, out-parameters, the shmp_error a call fills
//   cstring    a returned const char*, read as a string
//   void       nothing
//
// Why pointer and buffer differ: Bun passes both as one type, but Deno
// passes an address and a typed array through different ones.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Neutral = "i32" | "u32" | "i64" | "u64" | "pointer" | "buffer" | "cstring" | "void";

export interface Declaration {
  readonly args: readonly Neutral[];
  readonly returns: Neutral;
}

declare const addressBrand: unique symbol;
/** An address in this process, opaque: a number under Bun, a pointer object under Deno. */
export type Address = { readonly [addressBrand]: true };

type Arg<T> = T extends "i32" | "u32" ? number
  : T extends "i64" | "u64" ? number | bigint
  : T extends "pointer" ? Address | null
  : T extends "buffer" ? ArrayBufferView | null
  : never;
type Result<T> = T extends "i32" | "u32" ? number
  : T extends "i64" | "u64" ? number | bigint
  : T extends "pointer" ? Address | null
  : T extends "cstring" ? string
  : void;

/** The functions a table of declarations binds to, in any runtime. */
export type Bound<S extends Record<string, Declaration>> = {
  [K in keyof S]: (...args: Args<S[K]["args"]>) => Result<S[K]["returns"]>;
};
type Args<A extends readonly Neutral[]> = { -readonly [I in keyof A]: Arg<A[I]> };

export const libcSymbols = {
  shm_open: { args: ["buffer", "i32", "u32"], returns: "i32" },
  shm_unlink: { args: ["buffer"], returns: "i32" },
  posix_fallocate: { args: ["i32", "i64", "i64"], returns: "i32" },
  fstat: { args: ["i32", "buffer"], returns: "i32" },
  // mmap returns MAP_FAILED = (void*)-1, which a pointer return cannot
  // express: the address comes back as a signed integer (see mapShared).
  mmap: { args: ["u64", "u64", "i32", "i32", "i32", "i64"], returns: "i64" },
  munmap: { args: ["pointer", "u64"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  clock_gettime: { args: ["i32", "buffer"], returns: "i32" },
  signal: { args: ["i32", "pointer"], returns: "pointer" },
  raise: { args: ["i32"], returns: "i32" },
  __errno_location: { args: [], returns: "pointer" },
  dlopen: { args: ["buffer", "i32"], returns: "pointer" },
  dlvsym: { args: ["pointer", "buffer", "buffer"], returns: "pointer" },
  dlclose: { args: ["pointer"], returns: "i32" },
} as const satisfies Record<string, Declaration>;

export const coreSymbols = {
  shmp_version: { args: [], returns: "cstring" },
  shmp_abi: { args: [], returns: "u32" },
  shmp_error_name: { args: ["i32"], returns: "cstring" },
  shmp_error_set: { args: ["buffer", "i32", "buffer", "buffer", "buffer"], returns: "i32" },
  shmp_constant: { args: ["buffer"], returns: "i64" },
  shmp_shm_name: { args: ["buffer", "buffer", "buffer", "u64", "buffer"], returns: "i32" },
  shmp_create_size: { args: ["buffer", "u64", "u32", "buffer"], returns: "i64" },
  shmp_syscall_failed: { args: ["buffer", "buffer", "buffer", "u32", "i32", "u64"], returns: "i32" },
  shmp_open_missing: { args: ["buffer", "u32", "i64", "i64", "buffer"], returns: "i32" },
  shmp_segment_format: { args: ["buffer", "pointer", "u64", "buffer"], returns: "pointer" },
  shmp_table_format: { args: ["buffer", "pointer", "u64", "i32", "buffer"], returns: "pointer" },
  shmp_segment_adopt: { args: ["buffer", "pointer", "u64", "u32", "u32", "i64", "i64", "buffer"], returns: "pointer" },
  shmp_segment_check_file: { args: ["buffer", "u32", "buffer"], returns: "i32" },
  shmp_segment_capacity: { args: ["pointer"], returns: "u64" },
  shmp_segment_protect_records: { args: ["pointer", "buffer"], returns: "i32" },
  shmp_segment_creator_pid: { args: ["pointer"], returns: "u32" },
  shmp_segment_range: { args: ["pointer", "u64", "u64", "buffer", "buffer"], returns: "i32" },
  shmp_segment_write: { args: ["pointer", "u64", "buffer", "u64", "buffer"], returns: "i32" },
  shmp_segment_ref: { args: ["pointer"], returns: "void" },
  shmp_segment_unref: { args: ["pointer"], returns: "void" },
  shmp_segment_refs: { args: ["pointer"], returns: "u32" },
  shmp_view_deallocator: { args: ["pointer", "pointer"], returns: "void" },
  shmp_record_footprint: { args: ["u64"], returns: "u64" },
  shmp_segment_stat: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  shmp_segment_counts: { args: ["pointer", "buffer", "buffer"], returns: "i32" },
  shmp_segment_list: { args: ["buffer", "u64", "buffer"], returns: "i64" },
  shmp_writer_attach: { args: ["pointer", "buffer"], returns: "pointer" },
  shmp_reader_attach: { args: ["pointer", "buffer"], returns: "pointer" },
  shmp_writer_close: { args: ["pointer"], returns: "void" },
  shmp_writer_drain: { args: ["pointer", "i64", "u32", "buffer"], returns: "i32" },
  shmp_writer_linger: { args: ["pointer", "i64", "u32", "buffer"], returns: "i32" },
  shmp_writer_linger_notice: { args: ["pointer", "i64", "buffer", "u64"], returns: "i64" },
  shmp_writer_close_checked: { args: ["pointer", "buffer"], returns: "i32" },
  shmp_writer_readers_joined: { args: ["pointer"], returns: "u32" },
  shmp_reader_close: { args: ["pointer"], returns: "void" },
  shmp_writer_max_payload: { args: ["pointer"], returns: "u64" },
  shmp_writer_interrupt: { args: ["pointer"], returns: "void" },
  shmp_reader_interrupt: { args: ["pointer"], returns: "void" },
  shmp_writer_seal: { args: ["pointer"], returns: "void" },
  shmp_writer_seal_persistent: { args: ["pointer"], returns: "void" },
  shmp_table_check_unpublish: { args: ["pointer", "buffer"], returns: "i32" },
  shmp_table_open: { args: ["pointer", "i64", "buffer"], returns: "pointer" },
  shmp_writer_claim: { args: ["pointer", "u64", "i64", "u32", "buffer"], returns: "i64" },
  shmp_writer_commit: { args: ["pointer", "u64", "buffer"], returns: "i32" },
  shmp_writer_abort: { args: ["pointer", "buffer"], returns: "i32" },
  shmp_writer_send: { args: ["pointer", "buffer", "u64", "i64", "u32", "buffer"], returns: "i32" },
  shmp_writer_send_batch: { args: ["pointer", "buffer", "u64", "buffer", "u32", "i64", "u32", "buffer", "buffer"], returns: "i64" },
  shmp_reader_peek: { args: ["pointer", "buffer", "buffer"], returns: "i64" },
  shmp_reader_offset: { args: ["pointer"], returns: "u64" },
  shmp_reader_release: { args: ["pointer", "buffer"], returns: "i32" },
  shmp_reader_wait: { args: ["pointer", "i64", "u32", "buffer"], returns: "i32" },
  shmp_reader_next: { args: ["pointer", "buffer", "i64", "u32", "buffer"], returns: "i64" },
  shmp_reader_take_batch: { args: ["pointer", "buffer", "u32", "buffer", "i64", "u32", "buffer"], returns: "i64" },
  shmp_reader_release_lease: { args: ["pointer", "u64", "buffer"], returns: "i32" },
  shmp_owned_add: { args: ["buffer", "buffer"], returns: "i32" },
  shmp_owned_forget: { args: ["buffer"], returns: "void" },
  shmp_owned_unlink: { args: ["buffer", "buffer"], returns: "i32" },
  shmp_owned_count: { args: [], returns: "i32" },
  shmp_owned_unlink_all: { args: [], returns: "i32" },
  shmp_owned_unlink_on_signals: { args: [], returns: "i32" },
  shmp_interrupt_waits_on_signals: { args: [], returns: "i32" },
  shmp_interrupted_signal: { args: [], returns: "i32" },
  shmp_arrow_sender_new: { args: ["pointer", "buffer", "i32", "buffer"], returns: "pointer" },
  shmp_arrow_sender_free: { args: ["pointer"], returns: "void" },
  shmp_arrow_sender_schema_owed: { args: ["pointer"], returns: "i32" },
  shmp_arrow_sender_commit: { args: ["pointer", "u64", "buffer"], returns: "i32" },
  shmp_arrow_sender_abort: { args: ["pointer"], returns: "void" },
  shmp_arrow_checker_new: { args: ["buffer", "buffer", "buffer"], returns: "pointer" },
  shmp_arrow_checker_free: { args: ["pointer"], returns: "void" },
  shmp_arrow_checker_check: { args: ["pointer", "buffer", "u64", "buffer"], returns: "i32" },
  shmp_arrow_checker_trust_values: { args: ["pointer", "i32"], returns: "void" },
  shmp_arrow_checker_prefix: { args: ["pointer"], returns: "pointer" },
  shmp_arrow_checker_prefix_length: { args: ["pointer"], returns: "u64" },
  shmp_arrow_checker_body_length: { args: ["pointer"], returns: "u64" },
  shmp_arrow_checker_layout: { args: ["pointer", "buffer", "u64"], returns: "i64" },
  shmp_reader_check_arrow: { args: ["pointer", "pointer", "buffer", "u64", "buffer"], returns: "i32" },
} as const satisfies Record<string, Declaration>;

export type Libc = Bound<typeof libcSymbols>;
export type Core = Bound<typeof coreSymbols>;

/**
 * shmp_reader_wait(reader, timeoutNs, spin, err) run off the JavaScript
 * thread, resolving to its return code: what a runtime with FFI calls that
 * return promises offers (Deno's nonblocking calls). null where there are
 * none (Bun): the wait then blocks on a Worker (lib/waiter.ts).
 */
export type WaitAsync = ((reader: Address, timeoutNs: number, spin: number, err: Uint8Array) => Promise<number>) | null;

/** The C core's ABI this binding is written for (SHMP_ABI in shmpipe.h). */
const CORE_ABI = 1;

/**
 * The newest version node of ffi/core/shmpipe.map whose calls this binding
 * binds, and one call of that node to ask the dynamic linker for. Raise it
 * with the first call bound from a newer node.
 */
const NEWEST_NODE = { node: "SHMPIPE_1.3", call: "shmp_table_format" } as const;
const RTLD_NOW = 0x2, RTLD_NOLOAD = 0x4;

/**
 * Where the C core is: $SHMPIPE_LIB, else the build for this machine in
 * this package (the npm package carries it prebuilt; a checkout builds it
 * with `make -C ffi/core`).
 */
export const corePath = process.env.SHMPIPE_LIB || fileURLToPath(new URL(`../../ffi/core/build/linux-${process.arch}/libshmpipe.so`, import.meta.url));

/** What an adapter gives checkCore: the two calls every core has, and its loader's dlopen/dlvsym. */
export interface Probe {
  abi(): number;
  version(): string;
  libc: Pick<Libc, "dlopen" | "dlvsym" | "dlclose">;
}

/**
 * Two questions before binding every call, so that a library this binding
 * cannot use is refused now, in one sentence, rather than by the runtime's
 * "symbol not found" or at the first call: its ABI (the layout and meaning
 * of what it shares), then whether it has every call this binding binds
 * (the newest version node it exports). Ask after the runtime loaded the
 * library (RTLD_NOLOAD finds its copy, never a second one).
 */
function checkCore(probe: Probe): void {
  const abi = probe.abi();
  const version = probe.version();
  if (abi !== CORE_ABI) {
    throw new Error(`shmpipe: ${corePath} is shmpipe core ${version} with ABI ${abi}, but this binding needs ABI ${CORE_ABI}: rebuild the core (\`make -C ffi/core\`) or reinstall shmpipe.`);
  }
  const { libc } = probe;
  const handle = libc.dlopen(cString(corePath), RTLD_NOW | RTLD_NOLOAD);
  let found = false;
  if (handle !== null) {
    try {
      found = libc.dlvsym(handle, cString(NEWEST_NODE.call), cString(NEWEST_NODE.node)) !== null;
    } finally {
      libc.dlclose(handle);
    }
  }
  if (!found) {
    throw new Error(
      `shmpipe: ${corePath} is shmpipe core ${version} without the version node ${NEWEST_NODE.node} this binding calls into (it is older than the binding): rebuild the core (\`make -C ffi/core\`) or reinstall shmpipe${process.env.SHMPIPE_LIB ? ", or point SHMPIPE_LIB at a newer core" : ""}.`,
    );
  }
}

/**
 * The core, bound by an adapter's `bind` once it passed checkCore: the
 * same steps under every runtime.
 */
export function openCore(bind: <T>(path: string, table: Record<string, Declaration>) => T, libc: Libc): Core {
  if (!existsSync(corePath)) throw missingCore();
  const probe = bind<Pick<Core, "shmp_abi" | "shmp_version">>(corePath, { shmp_abi: coreSymbols.shmp_abi, shmp_version: coreSymbols.shmp_version });
  checkCore({ abi: probe.shmp_abi, version: probe.shmp_version, libc });
  return bind<Core>(corePath, coreSymbols);
}

/** The message when the core library file is not there at all. */
function missingCore(): Error {
  return new Error(
    `shmpipe: the C core ${corePath} is missing. In a checkout run \`npm run setup\` (or \`make -C ffi/core\`); the npm package carries it prebuilt for linux-x64 only.`,
  );
}

/** A NUL-terminated C string argument. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

const CLOCK_MONOTONIC = 1;
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** What every adapter builds the same way from its bound libc. */
export function posix(libc: Libc) {
  const clock = new BigInt64Array(2);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  return {
    /** CLOCK_MONOTONIC in ns: comparable across processes (and with Python's time.monotonic_ns). */
    monotonicNs(): number {
      libc.clock_gettime(CLOCK_MONOTONIC, clock);
      return Number(clock[0]!) * 1e9 + Number(clock[1]!);
    },
    /**
     * Ends the process by `signal` as if nobody had handled it: the runtime's
     * handler cannot be told to stand aside from JavaScript, so the default
     * action is restored in C and the signal raised again.
     */
    dieBySignal(signal: keyof typeof SIGNAL_NUMBERS): never {
      const number = SIGNAL_NUMBERS[signal];
      libc.signal(number, null); // SIG_DFL
      libc.raise(number);
      process.exit(128 + number); // not reached
    },
    /** Blocks the calling thread (used only while a segment is being set up). */
    sleepSync(ms: number): void {
      Atomics.wait(sleeper, 0, 0, ms);
    },
  };
}
