# A stage of examples/template/pipeline.ts: writes 10 Arrow batches of
# numbers and their squares into the channel the pipeline calls "numbers".
import pyarrow as pa
import pyarrow.compute as pc

import shmpipe

with shmpipe.ArrowWriter(shmpipe.open_writer(shmpipe.channel_name("numbers"))) as writer:
    for start in range(0, 1_000_000, 100_000):
        n = pa.array(range(start, start + 100_000), pa.int64())
        writer.write(pa.record_batch({"n": n, "square": pc.multiply(n, n)}))
print("wrote 10 batches")
