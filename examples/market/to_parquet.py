"""The Python stage of the main example (examples/market/pipeline.ts): reads
the same ticks as the R stage (fan-out: every batch is read in place by
both) and writes them to a Parquet file, then prints where, and the rows
and the sum of prices it wrote, for the orchestrator to check.

    python3 examples/market/to_parquet.py OUT.parquet
"""
import json
import sys
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq

import shmpipe

if len(sys.argv) != 2:
    sys.exit("usage: to_parquet.py OUT.parquet")
path = sys.argv[1]
rows, price = 0, 0.0
started = time.perf_counter()
with shmpipe.ArrowReader(shmpipe.open_reader(shmpipe.channel_name("ticks"), wait=30)) as reader:
    writer = None
    for batch in reader:
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_batch(batch)
        rows += batch.num_rows
        price += pc.sum(batch.column("price")).as_py()
    if writer is not None:
        writer.close()
print(f"shmpipe-output: {path}")  # listed in the pipeline's summary
print(json.dumps({"parquet": path, "rows": rows, "price": price, "seconds": round(time.perf_counter() - started, 3)}), flush=True)
