"""pyarrow's own work per batch, for comparison with scripts/bench/decode.ts:
the same columns (a float64 and an int32, bytes / 12 rows) as one IPC
message in memory; each round is pyarrow.ipc.read_record_batch of it (the
buffers stay views of the message), timed alone; one value of each column
is checked after the rounds.
    python scripts/bench/decode_pyarrow.py <bytes> [rounds]
Prints {"case", "value" (µs per batch, median of rounds), "unit"}."""
import json
import sys
import time

import pyarrow as pa

from size_label import MiB, size_label  # beside this script


size = int(sys.argv[1]) if len(sys.argv) > 1 else MiB
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
rows = max(1, size // 12)
batch = pa.record_batch({"x": pa.array(range(rows), pa.float64()), "y": pa.array(range(rows), pa.int32())})
message = batch.serialize()  # one encapsulated IPC message
schema = batch.schema
times = []
for _ in range(rounds):
    start = time.perf_counter_ns()
    loaded = pa.ipc.read_record_batch(message, schema)
    times.append((time.perf_counter_ns() - start) / 1000)
if loaded.column(0)[rows - 1].as_py() != rows - 1 or loaded.column(1)[0].as_py() != 0:
    raise SystemExit("wrong values")
times.sort()
print(json.dumps({"case": f"pyarrow read_record_batch (one process), {size_label(size)} batch", "value": round(times[len(times) // 2], 1), "unit": "µs"}, ensure_ascii=False))
