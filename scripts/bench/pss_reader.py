"""A Python reader for scripts/bench/fanout-pss.ts: reads one Arrow batch
from channel argv[1], sums its "x" column (touching every page of it), then
prints its memory as JSON and holds the batch until the writer closes."""
import json
import os
import re
import sys

import pyarrow.compute as pc

import shmpipe


def memory(path: str) -> dict:
    rss = pss = 0
    in_segment = False
    for line in open("/proc/self/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            in_segment = line.rstrip("\n").endswith(path)
        elif in_segment and line.startswith("Rss:"):
            rss += int(line.split()[1])
        elif in_segment and line.startswith("Pss:"):
            pss += int(line.split()[1])
    total = int(re.search(r"^Pss:\s+(\d+)", open("/proc/self/smaps_rollup").read(), re.M).group(1))
    return {"segmentRssKiB": rss, "segmentPssKiB": pss, "totalPssKiB": total}


name = sys.argv[1]
with shmpipe.ArrowReader(shmpipe.open_reader(name)) as reader:
    print("ready", flush=True)
    batch = reader.read(timeout=120)
    total = pc.sum(batch.column("x")).as_py()
    print(json.dumps({"reader": "Python", "pid": os.getpid(), "sum": total, **memory(shmpipe.shm_path(name))}), flush=True)
    reader.read(timeout=120)  # end of stream: the writer is done measuring
