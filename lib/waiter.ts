// Waiting for a record without blocking the event loop: the blocking futex
// wait runs on a Worker, one per reader, started on the first wait that
// cannot be satisfied at once. (bun:ffi's threadsafe JSCallback would let C
// call back from another thread, but it is experimental and crashes.)
import type { Address } from "./ffi/bun.ts";

/** What a wait on the Worker ended with: the core's code, and its shmp_error. */
export interface WaitResult {
  rc: number;
  err: Uint8Array;
}

export class Waiter {
  #worker: Worker | null = null;
  #pending: ((result: WaitResult) => void) | null = null;

  /** Resolves with shmp_reader_wait()'s return code and the error it wrote. One wait at a time. */
  wait(reader: Address, timeoutNs: number, spin: number): Promise<WaitResult> {
    if (this.#pending) throw new Error("shmpipe: a wait is already in progress on this reader");
    const worker = (this.#worker ??= this.#start());
    // A pending wait keeps the process alive, like a pending socket read.
    worker.ref();
    return new Promise((resolve) => {
      this.#pending = resolve;
      worker.postMessage({ reader, timeoutNs, spin });
    });
  }

  get waiting(): boolean {
    return this.#pending !== null;
  }

  /** Ends the worker; call only when no wait is pending. */
  stop(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }

  #start(): Worker {
    const worker = new Worker(new URL("./wait-worker.ts", import.meta.url).href);
    worker.onmessage = (event: MessageEvent<WaitResult>) => {
      const resolve = this.#pending;
      this.#pending = null;
      worker.unref();
      resolve?.(event.data);
    };
    return worker;
  }
}
