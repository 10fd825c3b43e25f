// ZeroMQ for the Bun receiver of the hand-off benchmark (handoff-reader.ts
// zmq): a PULL socket bound on ipc://, through bun:ffi over libzmq itself.
// The npm zeromq package (v6, an N-API addon) does not run under Bun 1.4:
// it calls libuv's uv_poll_init_socket, which Bun does not provide (Bun
// aborts: "unsupported uv function: uv_poll_init_socket", oven-sh/bun#18546).
// So this loads the very libzmq the Python sender runs (pyzmq's; its path in
// SHMPIPE_BENCH_LIBZMQ) and blocks in zmq_msg_recv: no event-loop plumbing,
// less work per message than the addon does, so it can only favour ZeroMQ.
import { CString, dlopen, FFIType, ptr, toArrayBuffer } from "bun:ffi";

const path = process.env.SHMPIPE_BENCH_LIBZMQ;
if (!path) throw new Error("zmq-pull.ts: SHMPIPE_BENCH_LIBZMQ must name the libzmq to load (handoff_sender.py sets it to pyzmq's)");
const { symbols: zmq } = dlopen(path, {
  zmq_ctx_new: { args: [], returns: FFIType.ptr },
  zmq_socket: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  zmq_bind: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
  zmq_msg_init: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_msg_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  zmq_msg_data: { args: [FFIType.ptr], returns: FFIType.ptr },
  zmq_msg_size: { args: [FFIType.ptr], returns: FFIType.u64_fast },
  zmq_msg_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  zmq_errno: { args: [], returns: FFIType.i32 },
  zmq_strerror: { args: [FFIType.i32], returns: FFIType.ptr },
});

const ZMQ_PULL = 7;

function check(rc: number, what: string): number {
  if (rc < 0) throw new Error(`zmq-pull.ts: ${what} failed: ${new CString(zmq.zmq_strerror(zmq.zmq_errno()))}`);
  return rc;
}

/**
 * Binds a PULL socket on `endpoint`, then hands each message to `use` as a
 * view of libzmq's own buffer, valid only during the call; never returns.
 */
export function pull(endpoint: string, onBound: () => void, use: (bytes: Uint8Array) => void): never {
  const socket = zmq.zmq_socket(zmq.zmq_ctx_new(), ZMQ_PULL);
  if (!socket) check(-1, "zmq_socket");
  check(zmq.zmq_bind(socket, Buffer.from(`${endpoint}\0`)), `zmq_bind ${endpoint}`);
  onBound();
  const message = new BigUint64Array(8); // zmq_msg_t: 64 bytes, 8-aligned, opaque
  const msg = ptr(message);
  for (;;) {
    check(zmq.zmq_msg_init(msg), "zmq_msg_init");
    check(zmq.zmq_msg_recv(msg, socket, 0), "zmq_msg_recv");
    const size = Number(zmq.zmq_msg_size(msg));
    use(new Uint8Array(toArrayBuffer(zmq.zmq_msg_data(msg)!, 0, size)));
    zmq.zmq_msg_close(msg);
  }
}
