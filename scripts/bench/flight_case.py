"""One case of the flight group of `shmpipe bench`: a table moved over
Arrow Flight on loopback (DoGet or DoPut), or the same bytes as an Arrow
IPC stream over a plain TCP socket, in GB/s (10^9 bytes of Arrow buffers a
second). Prints one JSON line {case, value, unit}: the median of REPS
transfers after one to warm up.

  flight_case.py FLIGHT get bridge|pyarrow|ipc-tcp pyarrow|go [--mib N] [--reps R]
  flight_case.py FLIGHT put bridge-channel|bridge-table|pyarrow pyarrow|go [...]

FLIGHT is the built shmpipe-flight program. The server is a process of its
own (the peer: on the second CPU of $SHMPIPE_BENCH_CPUS), this process is
the client (pyarrow.flight), or starts it (go: `shmpipe-flight pull
--discard`, `push`; its start-up is in its time). The table: an int64 and a
float64 column in batches of 16 MiB, the same bytes on every side:
published in shared memory for the bridge, in the heap of pyarrow's server.
  - get bridge: `serve` streams the published table from shared memory;
  - get pyarrow: pyarrow.flight's server streams its table from its memory;
  - get ipc-tcp: a pyarrow process writes its table as an IPC stream to a
    TCP socket, the client reads it batch by batch (only a pyarrow client);
  - put bridge-channel: DoPut into a channel there, read to its end there
    by a pyarrow reader (the shmpipe binding), started (imported) before
    the clock and waiting for the channel; timed until it has read all;
  - put bridge-table: DoPut published there as a table;
  - put pyarrow: pyarrow.flight's server reads the stream into its memory.
The clients keep nothing (get: every batch read, then dropped).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from array import array

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

BATCH_MIB = 16


def make_table(mib: int) -> pa.Table:
    """Two int64/float64 columns (16 bytes a row), a buffer of its own per batch."""
    rows, per_batch = mib * (1 << 20) // 16, BATCH_MIB * (1 << 20) // 16
    base = pa.array(array("q", range(per_batch)))
    batches = []
    for start in range(0, rows, per_batch):
        ids = pc.add(base[: min(per_batch, rows - start)], start)
        batches.append(pa.record_batch({"id": ids, "x": pc.divide(pc.cast(ids, pa.float64()), 2.0)}))
    return pa.Table.from_batches(batches)


def peer(argv: list) -> list:
    """A server's command, on the second CPU of $SHMPIPE_BENCH_CPUS."""
    cpus = os.environ.get("SHMPIPE_BENCH_CPUS", "").split(",")
    return ["taskset", "-c", cpus[1], *argv] if len(cpus) == 2 and cpus[1] else argv


# ---- the servers other than the bridge (run as: flight_case.py serve-pyarrow|send-ipc MIB) ----

class PyarrowServer(flight.FlightServerBase):
    def __init__(self, table: pa.Table):
        super().__init__("grpc://127.0.0.1:0")
        self.table = table

    def do_get(self, context, ticket):
        return flight.RecordBatchStream(self.table)

    def do_put(self, context, descriptor, reader, writer):
        received = reader.read_all()  # into this server's memory
        del received


def serve_pyarrow(mib: int) -> None:
    server = PyarrowServer(make_table(mib))
    print(f"listening on grpc://127.0.0.1:{server.port}", flush=True)
    server.serve()


def send_ipc(mib: int) -> None:
    """Writes the table as an Arrow IPC stream to every connection."""
    table = make_table(mib)
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        connection, _ = listener.accept()
        with connection, connection.makefile("wb") as out:
            with pa.ipc.new_stream(out, table.schema) as writer:
                writer.write_table(table)


# ---- the clients ----

def get_pyarrow(address: str, ticket: bytes, size: int) -> None:
    client = flight.connect(address)
    reader = client.do_get(flight.Ticket(ticket))
    got = 0
    for chunk in reader:
        got += chunk.data.nbytes
    client.close()
    assert got == size, (got, size)


def get_ipc_tcp(address: str, size: int) -> None:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as connection, connection.makefile("rb") as stream:
        got = 0
        for batch in pa.ipc.open_stream(stream):
            got += batch.nbytes
    assert got == size, (got, size)


def put_pyarrow(address: str, descriptor: flight.FlightDescriptor, table: pa.Table) -> None:
    client = flight.connect(address)
    writer, _ = client.do_put(descriptor, table.schema)
    writer.write_table(table)
    writer.close()
    client.close()


def main() -> None:
    if sys.argv[1] in ("serve-pyarrow", "send-ipc"):
        (serve_pyarrow if sys.argv[1] == "serve-pyarrow" else send_ipc)(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("program")
    parser.add_argument("direction", choices=["get", "put"])
    parser.add_argument("server", choices=["bridge", "pyarrow", "ipc-tcp", "bridge-channel", "bridge-table"])
    parser.add_argument("client", choices=["pyarrow", "go"])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=3)
    a = parser.parse_args()
    from shmpipe.table import publish, unpublish  # the checkout's binding, on PYTHONPATH

    table = make_table(a.mib)
    size = table.nbytes
    name = f"flight-bench-{os.getpid()}"
    published = publish(name, table) if a.client == "go" or a.server == "bridge" else None
    pushed = f"{name}-put"
    if a.server.startswith("bridge"):
        server = [a.program, "serve", "--quiet", "--serve", f"{name},{pushed}", "--listen", "127.0.0.1:0"]
    else:
        server = [sys.executable, os.path.abspath(__file__), "serve-pyarrow" if a.server == "pyarrow" else "send-ipc", str(a.mib)]
    process = subprocess.Popen(peer(server), stdout=subprocess.PIPE, text=True)
    try:
        address = process.stdout.readline().strip().removeprefix("listening on ")
        ticket = name if a.server == "bridge" else "t"
        reader_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../test/fixtures/flight/reader.py")

        def transfer() -> float:
            drain = None
            if a.server == "bridge-channel":  # the channel's reader there, started first
                drain = subprocess.Popen(peer([sys.executable, reader_script, pushed]), stdout=subprocess.PIPE, text=True)
                # Ready, waiting for the channel, as pyarrow's server is for
                # the stream: Python's start-up is not the transfer's.
                assert drain.stdout.readline() == "started\n"
            start = time.perf_counter()
            if a.direction == "get" and a.server == "ipc-tcp":
                get_ipc_tcp(address, size)
            elif a.direction == "get" and a.client == "pyarrow":
                get_pyarrow(address, ticket.encode(), size)
            elif a.direction == "get":
                subprocess.run([a.program, "pull", "--discard", "--quiet", address, ticket], check=True)
            elif a.client == "pyarrow":
                command = {"name": pushed, "publish": a.server == "bridge-table"}
                put_pyarrow(address, flight.FlightDescriptor.for_command(json.dumps(command)), table)
            else:
                kind = "--channel" if a.server == "bridge-channel" else "--table"
                subprocess.run([a.program, "push", "--quiet", kind, name, address, pushed], check=True)
            if drain:  # until the reader there has read the last batch
                got = drain.stdout.read()
                assert drain.wait() == 0 and f'"rows": {table.num_rows},' in got, got
            elapsed = time.perf_counter() - start
            if a.server == "bridge-table":
                unpublish(pushed)
            return elapsed

        transfer()  # to warm up
        elapsed = statistics.median(transfer() for _ in range(a.reps))
    finally:
        process.terminate()
        process.wait()
        if published:
            published.unpublish()
    servers = {
        "bridge": "shmpipe flight serve",
        "pyarrow": "pyarrow.flight server",
        "ipc-tcp": "Arrow IPC stream over TCP (pyarrow)",
        "bridge-channel": "shmpipe flight serve, into a channel read there",
        "bridge-table": "shmpipe flight serve, published as a table",
    }
    clients = {"pyarrow": "pyarrow.flight client" if a.server != "ipc-tcp" else "pyarrow reader",
               "go": "pull --discard (arrow-go)" if a.direction == "get" else "push (arrow-go)"}
    what = "DoGet" if a.direction == "get" else "DoPut"
    if a.server == "ipc-tcp":
        what = "IPC stream"
    label = f"{a.mib} MiB" if a.mib < 1024 else f"{a.mib // 1024} GiB"
    arrow = "->" if a.direction == "get" else "<-"
    case = f"Flight {what}, {label} table: {servers[a.server]} {arrow} {clients[a.client]}"
    print(json.dumps({"case": case, "value": round(size / elapsed / 1e9, 3), "unit": "GB/s"}), flush=True)


if __name__ == "__main__":
    main()
