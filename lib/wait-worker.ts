// Runs on a Worker: blocks in the C core's futex wait so that the thread
// running the user's event loop never does. One request at a time; the
// answer is the core's return code with the error it wrote.
import { type Address, core } from "#ffi";
import { errorBuffer } from "./errors.ts";
import type { WaitResult } from "./waiter.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ reader: Address; timeoutNs: number; spin: number }>) => {
  const { reader, timeoutNs, spin } = event.data;
  const err = errorBuffer();
  const result: WaitResult = { rc: core.shmp_reader_wait(reader, timeoutNs, spin, err), err };
  self.postMessage(result);
};
