"""The Python receiving side of scripts/bench/handoff.ts (transport shm-py):
reads each batch from channel <tag>-data, reads one value of each column,
and acknowledges with its CLOCK_MONOTONIC time on <tag>-ack."""
import struct
import sys
import time

import shmpipe

tag = sys.argv[1]
ack = shmpipe.open_writer(f"{tag}-ack")
reader = shmpipe.ArrowReader(shmpipe.open_reader(f"{tag}-data"))
print("ready", flush=True)
while True:
    batch = reader.read(timeout=None)
    if batch is None:
        break
    x, y = batch.column(0), batch.column(1)
    if x[0].as_py() != 0 or y[len(y) - 1].as_py() != len(y) - 1:
        raise SystemExit("receiver got wrong values")
    ack.send(struct.pack("<d", float(time.monotonic_ns())))
