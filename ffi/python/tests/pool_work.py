"""What the pool tests' workers run (a module of its own, importable by
spawned and forkserver workers without the test module)."""
import os
import pickle
from multiprocessing.reduction import ForkingPickler

import pyarrow as pa
import pyarrow.compute as pc


def total(table) -> float:
    """The sum of every numeric column of a table, record batch, column or array."""
    if isinstance(table, (pa.Table, pa.RecordBatch)):
        return sum(total(table.column(i)) for i in range(table.num_columns) if pa.types.is_floating(table.schema.field(i).type)
                   or pa.types.is_integer(table.schema.field(i).type))
    return pc.sum(table).as_py() or 0


def views_shared_memory(obj) -> bool:
    """Whether every buffer of `obj` lies in a mapping of a /dev/shm file (a published table)."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith("/dev/shm/shmpipe."):
                start, end = (int(part, 16) for part in fields[0].split("-"))
                ranges.append((start, end))
    chunks = obj.chunks if isinstance(obj, pa.ChunkedArray) else [obj]
    buffers = [b for chunk in chunks for b in chunk.buffers() if b is not None and b.size > 0]
    return bool(buffers) and all(any(s <= b.address < e for s, e in ranges) for b in buffers)


def task(part):
    """A worker's task: its share's sum, whether it views shared memory, the
    pid, and a slice of it to send back (by name too) with its pickled size."""
    column = part.column(0) if isinstance(part, (pa.Table, pa.RecordBatch)) else part
    back = part.slice(1, 5)
    return total(part), views_shared_memory(column), os.getpid(), back, len(ForkingPickler.dumps(back))


def table_sum(table, columns):
    """Sums the named columns of `table` (the benchmark's and the example's task)."""
    return sum(pc.sum(table.column(c)).as_py() for c in columns)


def queue_child(inbox, outbox):
    part = inbox.get(timeout=60)
    outbox.put(task(part))


def use(obj):
    """Touches `obj` (a GoneTable raises here)."""
    return obj.num_rows


def pickled_size(obj) -> int:
    return len(pickle.dumps(obj))
