"""The Python receiving side of the Arrow hand-off benchmarks
(scripts/bench/handoff.ts, scripts/bench/handoff_sender.py, and the Go
cases of ffi/go/cmd/shmpipe-bench):
gets each batch, reads one value of each column, and acknowledges with its
CLOCK_MONOTONIC time on the channel <tag>-ack.

    handoff_reader.py [shm] <tag>       shmpipe: batches from channel <tag>-data
    handoff_reader.py unix <tag>        Arrow IPC streams over a Unix socket,
                                        each after its length (float64, LE)
    handoff_reader.py zmq <tag>         Arrow IPC streams, one per ZeroMQ
                                        message, on a PULL socket (ipc://)
"""
import os
import socket
import struct
import sys
import tempfile
import time

import pyarrow as pa

import shmpipe

transport, tag = ("shm", sys.argv[1]) if len(sys.argv) == 2 else (sys.argv[1], sys.argv[2])
ack = shmpipe.open_writer(f"{tag}-ack")


def held(x, y):
    if x[0].as_py() != 0 or y[len(y) - 1].as_py() != len(y) - 1:
        raise SystemExit("receiver got wrong values")
    ack.send(struct.pack("<d", float(time.monotonic_ns())))


def receive_exactly(conn, view):
    got = 0
    while got < len(view):
        n = conn.recv_into(view[got:])
        if n == 0:
            return False
        got += n
    return True


if transport == "shm":
    reader = shmpipe.ArrowReader(shmpipe.open_reader(f"{tag}-data"))
    print("ready", flush=True)
    while True:
        batch = reader.read(timeout=None)
        if batch is None:
            break
        held(batch.column(0), batch.column(1))
elif transport == "unix":
    path = os.path.join(tempfile.gettempdir(), f"{tag}.sock")
    if os.path.exists(path):
        os.remove(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    print(f"ready {path}", flush=True)
    conn, _ = server.accept()
    os.remove(path)
    length = bytearray(8)
    while receive_exactly(conn, memoryview(length)):
        (size,) = struct.unpack("<d", length)
        data = bytearray(int(size))
        if not receive_exactly(conn, memoryview(data)):
            break
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        held(table.column(0), table.column(1))
elif transport == "zmq":
    import zmq  # pyzmq: only this case needs it

    path = os.path.join(tempfile.gettempdir(), f"{tag}.zmq")
    pull = zmq.Context().socket(zmq.PULL)
    pull.bind(f"ipc://{path}")
    print(f"ready ipc://{path}", flush=True)
    while True:
        frame = pull.recv(copy=False)  # the batch's buffers stay views of the message
        table = pa.ipc.open_stream(pa.py_buffer(frame.buffer)).read_all()
        held(table.column(0), table.column(1))
else:
    raise SystemExit(f"unknown transport {transport}")
