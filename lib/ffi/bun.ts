// The Bun adapter: the one file that imports bun:ffi. It binds the calls
// declared in symbols.ts (libc's, to map segments, and the C core's) with
// bun:ffi's types and makes views over raw memory. lib/ffi/deno.ts exports
// the same names for Deno; package.json's "imports" (#ffi) picks one by
// the runtime's condition, so no other file names either.
import { CString, dlopen, FFIType, type Pointer, ptr, toArrayBuffer } from "bun:ffi";
import { type Address, type Declaration, type Libc, libcSymbols, openCore, type Neutral, posix, type WaitAsync } from "./symbols.ts";

export { type Address, corePath, cString } from "./symbols.ts";

// Arguments take the plain 64-bit types; results the _fast ones (a number
// when it fits, as symbols.ts promises). A pointer and a buffer are one
// type to bun:ffi: it takes a number or a typed array for either.
const ARG: Record<Neutral, FFIType> = {
  i32: FFIType.i32, u32: FFIType.u32, i64: FFIType.i64, u64: FFIType.u64,
  pointer: FFIType.ptr, buffer: FFIType.ptr, cstring: FFIType.cstring, void: FFIType.void,
};
const RESULT: Record<Neutral, FFIType> = { ...ARG, i64: FFIType.i64_fast, u64: FFIType.u64_fast };

function bunDeclarations(table: Record<string, Declaration>) {
  return Object.fromEntries(Object.entries(table).map(([name, d]) => [name, { args: d.args.map((a) => ARG[a]), returns: RESULT[d.returns] }]));
}

/** Binds `table` from `path`; a cstring result is handed out as a string, not bun:ffi's CString. */
function bind<T>(path: string, table: Record<string, Declaration>): T {
  const { symbols } = dlopen(path, bunDeclarations(table));
  const bound = symbols as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, d] of Object.entries(table)) {
    if (d.returns === "cstring") {
      const call = bound[name]!;
      bound[name] = (...args: unknown[]) => String(call(...args));
    }
  }
  return bound as T;
}

const libc = bind<Libc>("libc.so.6", libcSymbols);

const core = openCore((path, table) => bind(path, table), libc);
export { core, libc };

/** errno of the calling thread, read right after a failed libc call. */
export function errno(): number {
  return new Int32Array(toArrayBuffer(libc.__errno_location() as unknown as Pointer, 0, 4))[0]!;
}

/** The address of a typed array's first byte, as a number (tests check alignment and placement with it). */
export function addressOf(view: ArrayBufferView): number {
  return ptr(view as NodeJS.TypedArray);
}

/** A copy of `length` bytes of C memory at `address`. */
export function copyOut(address: Address, length: number): Uint8Array {
  return new Uint8Array(toArrayBuffer(address as unknown as Pointer, 0, length)).slice();
}

/** The NUL-terminated string at `address`. */
export function stringAt(address: Address): string {
  return new CString(address as unknown as Pointer).toString();
}

/** mmap(2) of `size` bytes of `fd`, shared; null if it failed (errno says why). */
export function mapShared(fd: number, size: number, prot: number): Address | null {
  const base = libc.mmap(0, size, prot, MAP_SHARED, fd, 0) as number;
  return base === -1 ? null : (base as unknown as Address);
}
const MAP_SHARED = 0x1;

// Each bound function also carries its C address.
const deallocator = (core.shmp_view_deallocator as unknown as { ptr: Pointer }).ptr;

// bun:ffi's declarations list only three parameters of toArrayBuffer; at run
// time it also takes the deallocator context and a C deallocator that runs
// when the ArrayBuffer is collected or detached.
const externalBuffer = toArrayBuffer as unknown as (
  address: Address,
  byteOffset: number,
  byteLength: number,
  context: Address,
  deallocator: Pointer,
) => ArrayBuffer;

/**
 * An ArrayBuffer over `length` bytes at `base + offset` that holds one
 * reference on `segment` (a shmp_segment*), dropped when the buffer is
 * collected or detached. The caller has taken that reference already.
 */
export function mappedBuffer(base: Address, offset: number, length: number, segment: Address): ArrayBuffer {
  return externalBuffer(base, offset, length, segment, deallocator);
}

/**
 * Bun has no FFI call that runs on another thread and returns a promise:
 * a reader's asynchronous wait blocks on a Worker instead (waiter.ts).
 */
export const waitAsync: WaitAsync = null;

export const { monotonicNs, dieBySignal, sleepSync } = posix(libc);
