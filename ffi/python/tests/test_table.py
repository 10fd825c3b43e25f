"""Publish-once tables from Python: written once, opened in place."""
import os

import pyarrow as pa
import pytest

import shmpipe
from sample_tables import batches_of, sample_tables


@pytest.mark.parametrize("label", list(sample_tables()))
def test_published_tables_open_equal(name, label):
    data = sample_tables()[label]
    with shmpipe.publish(name, data) as published:
        assert published.owner_pid == os.getpid()
        opened = shmpipe.open_table(name)
    opened.validate(full=True)
    assert opened.equals(pa.Table.from_batches(batches_of(data), schema=data.schema))


def test_opened_tables_view_the_segment_and_outlive_the_name(name):
    published = shmpipe.publish(name, pa.table({"x": pa.array([i * 0.5 for i in range(50_000)])}))
    opened = shmpipe.open_table(name)
    address = opened.column("x").chunks[0].buffers()[1].address
    maps = open("/proc/self/maps").read().splitlines()
    ranges = [line.split()[0].split("-") for line in maps if line.endswith(shmpipe.shm_path(name))]
    assert any(int(start, 16) <= address < int(end, 16) for start, end in ranges)
    published.unpublish()
    assert not os.path.exists(shmpipe.shm_path(name))
    assert opened.column("x")[49_999].as_py() == 24_999.5
    with pytest.raises(shmpipe.ShmpipeError) as gone:
        shmpipe.open_table(name)
    assert gone.value.code == "ENOENT"
