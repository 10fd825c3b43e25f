"""The Python peer of the conformance runs: the same command line as
test/peers/peer.ts (`peer.py ROLE NAME`), the data of each scenario from
scenarios.json. A reader creates the channel and prints "ready"; a writer
waits for the name. A reader prints "ok <summary>" when every value
matched, or fails with the first difference."""
import json
import os
import sys
import time

import pyarrow as pa

import shmpipe

role, name = sys.argv[1], sys.argv[2]
scenarios = json.load(open(os.path.join(os.path.dirname(__file__), "scenarios.json")))
batches, per_batch = scenarios["arrow"]["batches"], scenarios["arrow"]["rows"]


def fail(message):
    print(f"python peer {role}: {message}", file=sys.stderr)
    sys.exit(1)


def record_bytes(i):
    sizes = scenarios["bytes"]["sizes"]
    return bytes((i * 7 + j) % 251 for j in range(sizes[i % len(sizes)]))


def table(start, count):
    r = range(start, start + count)
    return pa.table({
        "x": pa.array([k * 0.5 for k in r], pa.float64()),
        "y": pa.array([None if k % 7 == 3 else k * 3 for k in r], pa.int32()),
        "s": pa.array([f"s{k}" for k in r], pa.utf8()),
    })


def check_rows(data, start):
    want = table(start, data.num_rows)
    got = pa.table({name: data.column(name) for name in ("x", "y", "s")})
    if not got.equals(want):
        fail(f"rows {start}..{start + data.num_rows - 1} differ: {got.slice(0, 3).to_pylist()} ...")
    return data.num_rows


if role == "write-bytes":
    with shmpipe.open_writer(name, wait=10.0) as writer:
        for i in range(scenarios["bytes"]["records"]):
            writer.send(record_bytes(i))
elif role == "read-bytes":
    with shmpipe.create_reader(name, capacity=1 << 20) as reader:
        print("ready", flush=True)
        i = total = 0
        while (message := reader.recv(timeout=None)) is not None:
            got = bytes(message.copy())
            if got != record_bytes(i):
                fail(f"record {i} differs ({len(got)} bytes)")
            total += len(got)
            message.release()
            i += 1
        if i != scenarios["bytes"]["records"]:
            fail(f"{i} records, expected {scenarios['bytes']['records']}")
        print(f"ok {i} records {total} bytes", flush=True)
elif role == "write-bytes-hang":
    # Sends every record, says so, then hangs until killed (the writer killed mid-stream).
    writer = shmpipe.open_writer(name, wait=10.0)
    for i in range(scenarios["bytes"]["records"]):
        writer.send(record_bytes(i))
    print("sent", flush=True)
    while True:
        time.sleep(3600)
elif role == "read-bytes-gone":
    # Every record the killed writer committed, then EPEERGONE rather than an end of stream.
    with shmpipe.create_reader(name, capacity=1 << 20) as reader:
        print("ready", flush=True)
        i = 0
        try:
            while True:
                message = reader.recv(timeout=20.0)
                if message is None:
                    fail(f"the stream ended cleanly after {i} records; expected EPEERGONE")
                if bytes(message.copy()) != record_bytes(i):
                    fail(f"record {i} differs")
                message.release()
                i += 1
        except shmpipe.ShmpipeError as error:
            if error.code != "EPEERGONE":
                raise
        if i != scenarios["bytes"]["records"]:
            fail(f"{i} records before EPEERGONE, expected {scenarios['bytes']['records']}")
        print(f"ok {i} records then EPEERGONE", flush=True)
elif role == "write-bytes-until-gone":
    # Creates the channel and sends until its only reader is gone (killed mid-stream): EPEERGONE, not a hang.
    with shmpipe.create_writer(name, capacity=1 << 20) as writer:
        print("ready", flush=True)
        i = 0
        try:
            while True:
                writer.send(record_bytes(i % scenarios["bytes"]["records"]), timeout=20.0)
                i += 1
        except shmpipe.ShmpipeError as error:
            if error.code != "EPEERGONE":
                raise
        print(f"ok EPEERGONE after {i} records", flush=True)
elif role == "read-bytes-hang":
    # Reads a few records, says so, then hangs until killed (the reader killed mid-stream).
    reader = shmpipe.open_reader(name, wait=10.0)
    for _ in range(3):
        message = reader.recv(timeout=10.0)
        if message is None:
            fail("the stream ended")
        message.release()
    print("read", flush=True)
    while True:
        time.sleep(3600)
elif role == "write-arrow":
    with shmpipe.ArrowWriter(shmpipe.open_writer(name, wait=10.0)) as writer:
        for b in range(batches):
            writer.write(table(b * per_batch, per_batch))
elif role == "read-arrow":
    with shmpipe.ArrowReader(shmpipe.create_reader(name, capacity=1 << 22)) as reader:
        print("ready", flush=True)
        seen = 0
        for batch in reader:
            seen += check_rows(batch, seen)
        if seen != batches * per_batch:
            fail(f"{seen} rows, expected {batches * per_batch}")
        print(f"ok {seen} rows", flush=True)
elif role == "publish":
    shmpipe.publish(name, table(0, batches * per_batch), persist=True).close()
    print("published", flush=True)
elif role == "open-table":
    seen = check_rows(shmpipe.open_table(name, wait=10.0), 0)
    if seen != batches * per_batch:
        fail(f"{seen} rows, expected {batches * per_batch}")
    shmpipe.unpublish(name)
    print(f"ok {seen} rows", flush=True)
else:
    fail(f'no role "{role}"')
