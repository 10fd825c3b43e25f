"""A view of shared memory never outlives its mapping: closing an endpoint
lets go of the segment, and the core unmaps it only once the last view
(a memoryview slice, a pyarrow buffer) has been collected."""
import gc

import pyarrow as pa

import shmpipe


def mapped(name: str) -> bool:
    # Once the name is removed, the kernel shows it with " (deleted)".
    with open("/proc/self/maps") as maps:
        paths = (line.split(maxsplit=5)[-1].strip().removesuffix(" (deleted)") for line in maps)
        return shmpipe.shm_path(name) in paths


def test_views_keep_the_mapping_after_close(name):
    writer = shmpipe.create_writer(name, capacity=8192)
    reader = shmpipe.open_reader(name)
    writer.send(b"still here after close")
    kept = reader.recv(timeout=1).data[6:10]  # a slice outlives the record's own view
    reader.close()
    writer.close()
    assert mapped(name) and bytes(kept) == b"here"
    del kept
    gc.collect()
    assert not mapped(name)


def test_batches_keep_the_mapping_after_close(name):
    reader = shmpipe.ArrowReader(shmpipe.create_reader(name, capacity=1 << 20))
    with shmpipe.ArrowWriter(shmpipe.open_writer(name)) as writer:
        writer.write(pa.table({"x": pa.array(range(1000), pa.int64())}))
    batch = reader.read(timeout=2)
    reader.close()
    assert mapped(name) and batch.column(0)[999].as_py() == 999
    del batch
    gc.collect()
    assert not mapped(name)


def test_nothing_stays_mapped_without_views(name):
    with shmpipe.create_writer(name, capacity=8192) as writer, shmpipe.open_reader(name) as reader:
        writer.send(b"x")
        reader.recv(timeout=1)
    gc.collect()
    assert not mapped(name)
