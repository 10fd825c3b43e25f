// Runs on a Worker: blocks in the C core's futex wait so that the thread
// running the user's event loop never does. One request at a time; the
// answer is the core's return code.
import { core } from "./ffi/bun.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ reader: number; timeoutNs: number; spin: number }>) => {
  const { reader, timeoutNs, spin } = event.data;
  self.postMessage(core.shmp_reader_wait(reader, timeoutNs, spin));
};
