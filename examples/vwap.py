"""A Python consumer of the demo pipeline (scripts/pipeline.ts): reads Arrow
batches of trades from channel argv[1] with pyarrow, zero-copy, and prints,
as JSON, the volume-weighted average price per symbol.

    python3 examples/vwap.py <channel>   (with `pip install ./ffi/python`,
                                          or PYTHONPATH=ffi/python)
"""
import json
import sys

import pyarrow as pa
import pyarrow.compute as pc

import shmpipe

if len(sys.argv) != 2:
    sys.exit("usage: python3 examples/vwap.py <channel>")
notional, volume, rows = {}, {}, 0
with shmpipe.ArrowReader(shmpipe.open_reader(sys.argv[1])) as reader:
    print("ready", flush=True)
    for batch in reader:
        qty = pc.cast(batch.column("qty"), pa.float64())
        table = pa.table({"symbol": batch.column("symbol").cast(pa.string()),
                          "notional": pc.multiply(batch.column("price"), qty), "qty": qty})
        for row in table.group_by("symbol").aggregate([("notional", "sum"), ("qty", "sum")]).to_pylist():
            notional[row["symbol"]] = notional.get(row["symbol"], 0.0) + row["notional_sum"]
            volume[row["symbol"]] = volume.get(row["symbol"], 0.0) + row["qty_sum"]
        rows += batch.num_rows
print(json.dumps({"consumer": "Python", "rows": rows, "vwap": {s: notional[s] / volume[s] for s in notional}}))
