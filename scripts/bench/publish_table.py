"""Python's publish() of a pyarrow table of BYTES bytes of doubles (16
columns), ROUNDS times, each into a new segment (removed again between
rounds): prints the median seconds as a JSON line (scripts/bench/publish.ts
sets it beside a C memcpy of the same bytes into a new segment).
    python scripts/bench/publish_table.py BYTES ROUNDS"""
import array
import json
import os
import statistics
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

import shmpipe

size, rounds = int(sys.argv[1]), int(sys.argv[2])
columns = 16
rows = size // 8 // columns
counting = pa.Array.from_buffers(pa.float64(), rows, [None, pa.py_buffer(array.array("d", range(rows)))])
table = pa.table({f"c{k}": pc.multiply(counting, float(k + 1)) for k in range(columns)})
name = f"bench-py-publish-{os.getpid()}"
took = []
for _ in range(rounds):
    started = time.perf_counter()
    published = shmpipe.publish(name, table)
    took.append(time.perf_counter() - started)
    published.unpublish()
median = statistics.median(took)
print(json.dumps({"case": f"Python publish, {size} B of doubles", "value": round(median, 4), "unit": "s",
                  "mibps": round(size / 2**20 / median)}))
