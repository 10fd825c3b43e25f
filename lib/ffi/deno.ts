// The Deno adapter: the one file that calls Deno.dlopen. It binds the
// calls declared in symbols.ts with Deno's FFI types and exports the same
// names as lib/ffi/bun.ts; package.json's "imports" (#ffi) picks it under
// Deno's "deno" condition.
//
// What differs from Bun, and why:
// - Addresses are pointer objects, not numbers (opaque Address either way).
// - Deno.UnsafePointerView.getArrayBuffer takes no deallocator: a view's
//   reference on its segment is dropped by a FinalizationRegistry instead,
//   once the ArrayBuffer is collected (see mappedBuffer).
// - A `nonblocking: true` call runs on a thread of Deno's and returns a
//   promise: a reader's asynchronous wait uses it instead of a Worker.
import { type Address, type Core, coreSymbols, corePath, type Declaration, type Libc, libcSymbols, openCore, type Neutral, posix, type WaitAsync } from "./symbols.ts";

export { type Address, corePath, cString } from "./symbols.ts";

// A returned const char* comes back as a pointer and is read here.
const TYPE: Record<Neutral, Deno.NativeResultType> = {
  i32: "i32", u32: "u32", i64: "i64", u64: "u64", pointer: "pointer", buffer: "buffer", cstring: "pointer", void: "void",
};

type Table = Record<string, Declaration>;

const pointer = (address: Address | null) => address as unknown as Deno.PointerValue;

function denoDeclarations(table: Table, nonblocking: boolean): Deno.ForeignLibraryInterface {
  return Object.fromEntries(Object.entries(table).map(([name, d]) => [name, {
    parameters: d.args.map((a) => TYPE[a] as Deno.NativeType),
    result: TYPE[d.returns],
    ...(nonblocking ? { nonblocking } : {}),
  }]));
}

/** Binds `table` from `path`; a cstring result is handed out as a string. */
function bind<T>(path: string, table: Table, nonblocking = false): T {
  const { symbols } = Deno.dlopen(path, denoDeclarations(table, nonblocking));
  const bound = { ...symbols } as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, d] of Object.entries(table)) {
    const call = bound[name]!;
    if (d.returns === "cstring") bound[name] = (...args: unknown[]) => stringAt(call(...args) as Address);
    // Deno returns every 64-bit result as a bigint; symbols.ts promises a
    // number wherever one is exact (sizes, offsets, negative error codes).
    else if ((d.returns === "i64" || d.returns === "u64") && !nonblocking) bound[name] = exactly(call as (...args: unknown[]) => bigint, d.args.length);
  }
  return bound as T;
}

/** `call` with its bigint result made a number where exact; of fixed arity, as rest parameters cost a third more on a hot call. */
function exactly(call: (...args: unknown[]) => bigint, arity: number): (...args: unknown[]) => number | bigint {
  switch (arity) {
    case 0: return () => exact(call());
    case 1: return (a) => exact(call(a));
    case 2: return (a, b) => exact(call(a, b));
    case 3: return (a, b, c) => exact(call(a, b, c));
    case 4: return (a, b, c, d) => exact(call(a, b, c, d));
    case 5: return (a, b, c, d, e) => exact(call(a, b, c, d, e));
    default: return (...args) => exact(call(...args));
  }
}

function exact(value: bigint): number | bigint {
  return value <= MAX_EXACT && value >= -MAX_EXACT ? Number(value) : value;
}
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

const libc = bind<Libc>("libc.so.6", libcSymbols);

const core = openCore((path, table) => bind(path, table), libc);
export { core, libc };

/** errno of the calling thread, read right after a failed libc call. */
export function errno(): number {
  return new Deno.UnsafePointerView(pointer(libc.__errno_location())!).getInt32();
}

/** The address of a typed array's first byte, as a number (tests check alignment and placement with it). */
export function addressOf(view: ArrayBufferView): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>)));
}

/** A copy of `length` bytes of C memory at `address`. */
export function copyOut(address: Address, length: number): Uint8Array {
  const copy = new Uint8Array(length);
  if (length > 0) Deno.UnsafePointerView.copyInto(pointer(address)!, copy);
  return copy;
}

/** The NUL-terminated string at `address`. */
export function stringAt(address: Address): string {
  return Deno.UnsafePointerView.getCString(pointer(address)!);
}

/** mmap(2) of `size` bytes of `fd`, shared; null if it failed (errno says why). */
export function mapShared(fd: number, size: number, prot: number): Address | null {
  const base = libc.mmap(0, size, prot, MAP_SHARED, fd, 0);
  return base === -1 || base === -1n ? null : (Deno.UnsafePointer.create(BigInt(base)) as unknown as Address);
}
const MAP_SHARED = 0x1;

// Deno's external ArrayBuffers take no deallocator, so the reference a
// view holds is dropped here once the collector has taken the buffer. The
// order is what makes it safe: the buffer is unreachable before its
// callback runs, so no JavaScript can touch the memory after the unref
// that may unmap it. (A buffer detached by transfer() is collected too,
// a little later.) The registry itself stays reachable for the life of
// the module, so no registration is lost.
const views = new FinalizationRegistry<Address>((segment) => core.shmp_segment_unref(segment));

/**
 * An ArrayBuffer over `length` bytes at `base + offset` that holds one
 * reference on `segment` (a shmp_segment*), dropped when the buffer is
 * collected. The caller has taken that reference already.
 */
export function mappedBuffer(base: Address, offset: number, length: number, segment: Address): ArrayBuffer {
  const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer(base)!, length, offset);
  views.register(buffer, segment);
  mapped.add(buffer);
  return buffer;
}

// A transfer moves an ArrayBuffer's memory to a new ArrayBuffer and
// detaches the old one; V8 moves an external buffer's memory as it is. The
// old buffer, the one registered above, is then collected, its reference
// dropped, the segment perhaps unmapped: and the new buffer reads unmapped
// memory (measured: SIGSEGV). So a view of a mapping is never moved: its
// transfer() copies (the original is still detached, as the call
// promises: moved into an empty buffer, which reads nothing), and a
// transfer list (postMessage, structuredClone) that names one is refused.
// Other buffers take the runtime's own paths untouched.
const mapped = new WeakSet<ArrayBuffer>();

function refuseMapped(transfer: unknown): void {
  const list = Array.isArray(transfer) ? transfer : (transfer as { transfer?: unknown[] } | undefined)?.transfer;
  if (list?.some((item) => item instanceof ArrayBuffer && mapped.has(item))) {
    throw new TypeError("shmpipe: a view of shared memory cannot be transferred (its memory belongs to the mapping): send a copy (bytes.slice()) instead");
  }
}

for (const method of ["transfer", "transferToFixedLength"] as const) {
  const move = ArrayBuffer.prototype[method];
  Object.defineProperty(ArrayBuffer.prototype, method, {
    ...Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, method),
    value: function (this: ArrayBuffer, length?: number): ArrayBuffer {
      if (!mapped.has(this)) return move.call(this, length);
      const copy = new Uint8Array(length ?? this.byteLength);
      copy.set(new Uint8Array(this, 0, Math.min(copy.length, this.byteLength)));
      move.call(this, 0);
      return copy.buffer;
    },
  });
}
const clone = globalThis.structuredClone as (value: unknown, options?: unknown) => unknown;
globalThis.structuredClone = ((value: unknown, options?: unknown) => (refuseMapped(options), clone(value, options))) as typeof structuredClone;
for (const target of [Worker.prototype, MessagePort.prototype]) {
  const post = target.postMessage as (this: unknown, message: unknown, transfer?: unknown) => void;
  target.postMessage = function (this: unknown, message: unknown, transfer?: unknown) {
    refuseMapped(transfer);
    return post.call(this, message, transfer);
  } as typeof target.postMessage;
}

const waits = bind<Pick<Record<keyof Core, (...args: unknown[]) => Promise<number>>, "shmp_reader_wait">>(
  corePath,
  { shmp_reader_wait: coreSymbols.shmp_reader_wait },
  true,
);

/**
 * shmp_reader_wait on one of Deno's FFI threads: the event loop runs on,
 * and the pending promise keeps the process alive, like a pending read.
 */
export const waitAsync: WaitAsync = (reader, timeoutNs, spin, err) => waits.shmp_reader_wait(reader, timeoutNs, spin, err);

export const { monotonicNs, dieBySignal, sleepSync } = posix(libc);
