// Waiting for a record without blocking the event loop. Under Deno the
// core's blocking wait is a nonblocking FFI call (it runs on one of Deno's
// threads and returns a promise: waitAsync). Under Bun, which has none,
// it runs on a Worker, one per reader, started on the first wait that
// cannot be satisfied at once. (bun:ffi's threadsafe JSCallback would let C
// call back from another thread, but it is experimental and crashes.)
import { type Address, waitAsync } from "#ffi";
import { errorBuffer } from "./errors.ts";

/** What a wait ended with: the core's code, and its shmp_error. */
export interface WaitResult {
  rc: number;
  err: Uint8Array;
}

/** Bun's Worker, which can stop keeping the process alive while idle. */
type BunWorker = Worker & { ref(): void; unref(): void };

export class Waiter {
  #worker: BunWorker | null = null;
  #pending: ((result: WaitResult) => void) | null = null;
  #waiting = false;

  /** Resolves with shmp_reader_wait()'s return code and the error it wrote. One wait at a time. */
  wait(reader: Address, timeoutNs: number, spin: number): Promise<WaitResult> {
    if (this.#waiting) throw new Error("shmpipe: a wait is already in progress on this reader");
    this.#waiting = true;
    if (waitAsync) {
      const err = errorBuffer();
      return waitAsync(reader, timeoutNs, spin, err).then((rc) => {
        this.#waiting = false;
        return { rc, err };
      });
    }
    const worker = (this.#worker ??= this.#start());
    // A pending wait keeps the process alive, like a pending socket read.
    worker.ref();
    return new Promise((resolve) => {
      this.#pending = resolve;
      worker.postMessage({ reader, timeoutNs, spin });
    });
  }

  get waiting(): boolean {
    return this.#waiting;
  }

  /** Ends the worker; call only when no wait is pending. */
  stop(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }

  #start(): BunWorker {
    const worker = new Worker(new URL("./wait-worker.ts", import.meta.url).href) as BunWorker;
    worker.onmessage = (event: MessageEvent<WaitResult>) => {
      const resolve = this.#pending;
      this.#pending = null;
      this.#waiting = false;
      worker.unref();
      resolve?.(event.data);
    };
    return worker;
  }
}
