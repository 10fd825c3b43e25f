"""One-way throughput from one Python process to another (the python group
of `shmpipe bench`, beside scripts/bench/throughput.ts for TypeScript):

    one_way.py RECORD_BYTES RECORDS record|batch

record: the producer send()s each record, this process recv()s and
releases each (a Message per record). batch: send_batch() of 256 records
per call, and batches() here, a memoryview per record. The producer is a
child process, pinned to the second CPU of SHMPIPE_BENCH_CPUS.
Prints {"case", "value" (records/s), "unit", "mibps"}."""
import json
import os
import subprocess
import sys
import time

import shmpipe

PRODUCER = """
import sys, shmpipe
name, count, size, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
record = bytes(size)
with shmpipe.open_writer(name, wait=10) as writer:
    if mode == "record":
        for _ in range(count):
            writer.send(record)
    else:
        batch = [record] * shmpipe.DEFAULT_BATCH_RECORDS
        for start in range(0, count, len(batch)):
            writer.send_batch(batch[:count - start])
"""
APIS = {"record": "send + recv", "batch": "send_batch + batches(), a view per record"}


def main() -> None:
    size, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if mode not in APIS:
        raise SystemExit(f"one_way.py: mode {mode}: one of {', '.join(APIS)}")
    name = f"bench-py-oneway-{os.getpid()}"
    cpus = os.environ.get("SHMPIPE_BENCH_CPUS", "").split(",")
    pin = ["taskset", "-c", cpus[1]] if len(cpus) > 1 and cpus[1] else []
    received, first = 0, 0.0
    with shmpipe.create_reader(name, capacity=max(4 << 20, 8 * (size + 64))) as reader:
        producer = subprocess.Popen(pin + [sys.executable, "-c", PRODUCER, name, str(count), str(size), mode])
        try:
            if mode == "record":
                for message in reader:
                    if received == 0:
                        first = time.perf_counter()
                    if len(message.data) != size:
                        raise SystemExit(f"one_way.py: a record of {len(message.data)} bytes, expected {size}")
                    received += 1
            else:
                for batch in reader.batches():
                    if received == 0:
                        first = time.perf_counter()
                    for view in batch:
                        if len(view) != size:
                            raise SystemExit(f"one_way.py: a record of {len(view)} bytes, expected {size}")
                    received += len(batch)
            seconds = time.perf_counter() - first
        except BaseException:
            producer.kill()
            raise
        finally:
            if producer.wait(timeout=60) != 0:
                raise SystemExit(f"one_way.py: the producer exited with {producer.returncode}")
    if received != count:
        raise SystemExit(f"one_way.py: received {received} of {count} records")
    rate = (received - 1) / seconds  # counted from the first arrival, which is not timed itself
    print(json.dumps({"case": f"shmpipe Python->Python one way, {APIS[mode]}, {size} B records", "value": round(rate),
                      "unit": "records/s", "mibps": round(rate * size / 2**20)}))


if __name__ == "__main__":
    main()
