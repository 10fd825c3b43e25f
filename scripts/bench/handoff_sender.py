"""The Python sending side of the Arrow hand-off benchmarks: the same batch
as scripts/bench/handoff.ts and the Go cases (a float64 and an int32
column, bytes / 12 rows) handed to a reader process, timed until the
reader holds it and has read one value of each column (its CLOCK_MONOTONIC
time, acknowledged on the channel <tag>-ack).

    handoff_sender.py shm|unix|zmq LABEL BYTES REPS WARMUPS -- READER...

READER... is handoff_reader.py or handoff-reader.ts (LABEL names it:
Python, TS), started with the transport and the tag as its last arguments, pinned to the second CPU of SHMPIPE_BENCH_CPUS.
  - shm: shmpipe.ArrowWriter, as a user's would write; two figures, from
    the start of the commit (the core's check of the message's metadata,
    then the publishing) and from before write() (pyarrow's serialising and
    the copy into shared memory included).
  - unix: an Arrow IPC stream over a Unix socket, its length (float64, LE)
    first, from before serialising.
  - zmq: an Arrow IPC stream as one ZeroMQ message, PUSH to the reader's
    PULL over ipc:// (a Unix socket underneath), from before serialising;
    sent with copy=False (libzmq sends pyarrow's buffer itself).
Prints one JSON line per figure: {"case", "value" (µs, median of reps), "unit"}."""
import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc

import shmpipe

from size_label import GiB, MiB, size_label  # beside this script


def make_batch(size):
    """x[i] = i / 2 and y[i] = i, built by pyarrow's kernels (a Python loop takes a minute at 1 GiB)."""
    rows = max(1, size // 12)
    y = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int32()), rows)), pa.scalar(1, pa.int32()))
    x = pc.multiply(pc.cast(y, pa.float64()), 0.5)
    return pa.record_batch({"x": x, "y": y})


def ipc_stream(batch):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write_batch(batch)
    return sink.getvalue()


def libzmq_path():
    """The libzmq this process runs (pyzmq's), for the TS reader to load the same one."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libzmq"):
                return path
    raise SystemExit("handoff_sender.py: pyzmq is loaded but no libzmq is mapped in this process")


def acknowledged(ack, reader):
    """When the reader held the batch (its CLOCK_MONOTONIC, ns); waits in
    short slices so that a reader that died ends the case at once."""
    while True:
        try:
            message = ack.recv(timeout=1)
            break
        except shmpipe.ShmpipeError as error:
            if error.code != "ETIMEOUT":
                raise
            if reader.poll() is not None:
                raise SystemExit(f"handoff_sender.py: the reader ended (status {reader.returncode}) before it acknowledged a batch")
    if message is None:
        raise SystemExit("handoff_sender.py: the reader closed its acknowledgements")
    (held,) = struct.unpack_from("<d", message.copy())
    message.release()
    return held


def main(argv):
    if len(argv) < 7 or argv[5] != "--" or argv[0] not in ("shm", "unix", "zmq"):
        raise SystemExit("usage: handoff_sender.py shm|unix|zmq LABEL BYTES REPS WARMUPS -- READER...")
    transport, label = argv[0], argv[1]
    size, reps, warmups = int(argv[2]), int(argv[3]), int(argv[4])
    reader_argv = argv[6:] + [transport]
    batch = make_batch(size)
    tag = f"bench-py-{os.getpid()}"
    cpus = os.environ.get("SHMPIPE_BENCH_CPUS", "").split(",")
    pin = ["taskset", "-c", cpus[1]] if len(cpus) > 1 and cpus[1] else []
    env = dict(os.environ)
    paths = [os.path.join(tempfile.gettempdir(), f"{tag}.{ext}") for ext in ("sock", "zmq")]  # where the readers listen
    if transport == "zmq":
        try:
            import zmq
        except ImportError:
            raise SystemExit("handoff_sender.py: pyzmq is not installed in this Python "
                             "(ffi/python/requirements-dev.txt lists it; `npm run setup` installs it into .venv)")
        context = zmq.Context()
        env["SHMPIPE_BENCH_LIBZMQ"] = libzmq_path()

    with shmpipe.create_reader(f"{tag}-ack", capacity=1 << 16) as ack, \
            (shmpipe.create_writer(f"{tag}-data", capacity=2 * (size + (1 << 16))) if transport == "shm" else contextlib.nullcontext()) as data:
        reader = subprocess.Popen(pin + reader_argv + [tag], stdout=subprocess.PIPE, env=env)
        try:
            line = reader.stdout.readline().decode()
            if not line.startswith("ready"):
                raise SystemExit(f"handoff_sender.py: the reader ({' '.join(reader_argv)}) ended before it was ready")
            address = line[len("ready"):].strip()
            if transport == "shm":
                writer = shmpipe.ArrowWriter(data)
                # The commit's time, taken as the commit starts: after it, write()
                # still frees pyarrow's serialised copy, which at 100 MiB takes
                # longer than the reader needs (a stamp at write()'s return
                # came after the reader held the batch).
                committed = [0]
                commit_arrow = data._commit_arrow

                def stamped_commit(*args):
                    committed[0] = time.monotonic_ns()
                    return commit_arrow(*args)
                data._commit_arrow = stamped_commit

                def send():
                    start = time.monotonic_ns()
                    writer.write(batch)
                    return start, committed[0]
                writer.write(pa.Table.from_batches([], batch.schema))  # the schema alone, before the first round
            elif transport == "unix":
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(address)

                def send():
                    start = time.monotonic_ns()
                    stream = ipc_stream(batch)
                    conn.sendall(struct.pack("<d", float(stream.size)))
                    conn.sendall(stream)
                    return start, None
            else:
                push = context.socket(zmq.PUSH)
                push.connect(address)

                def send():
                    start = time.monotonic_ns()
                    push.send(ipc_stream(batch), copy=False)
                    return start, None

            from_start, from_commit = [], []
            for rep in range(warmups + reps):
                start, commit = send()
                held = acknowledged(ack, reader)
                if rep < warmups:
                    continue
                from_start.append((held - start) / 1000)
                if commit is not None:
                    from_commit.append((held - commit) / 1000)
        finally:
            reader.kill()
            reader.wait()
            for path in paths:
                if os.path.exists(path):
                    os.remove(path)
            if transport == "zmq":
                context.destroy(linger=0)

    def median(values):
        return sorted(values)[len(values) // 2]

    def report(name, values):
        print(json.dumps({"case": f"{name}, {size_label(size)} batch", "value": round(median(values), 1), "unit": "µs"}, ensure_ascii=False))

    names = {"shm": f"shmpipe Python->{label}", "unix": f"Arrow IPC over Unix socket Python->{label}",
             "zmq": f"Arrow IPC over ZeroMQ (PUSH/PULL, ipc://) Python->{label}"}
    if from_commit:
        report(f"{names[transport]} commit -> usable", from_commit)
    report(f"{names[transport]}{' write -> usable' if from_commit else ''}", from_start)


if __name__ == "__main__":
    main(sys.argv[1:])
