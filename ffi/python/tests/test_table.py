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


def test_a_table_published_to_persist_outlives_its_publisher(name, spawn):
    publisher = spawn("import sys, pyarrow as pa, shmpipe\n"
                      "shmpipe.publish(sys.argv[1], pa.table({'value': [1.0, 2.0, 3.0]}), persist=True)\n"
                      "print('published', flush=True)", name)
    out, err = publisher.communicate(timeout=30)
    assert (publisher.returncode, out) == (0, "published\n"), err
    try:
        assert shmpipe.open_table(name).column("value").to_pylist() == [1.0, 2.0, 3.0]
        remover = spawn("import sys, shmpipe; shmpipe.unpublish(sys.argv[1]); print('unpublished')", name)
        assert remover.communicate(timeout=30)[0] == "unpublished\n"
    finally:
        if os.path.exists(shmpipe.shm_path(name)):
            shmpipe.unpublish(name)
    assert not os.path.exists(shmpipe.shm_path(name))
    with pytest.raises(shmpipe.ShmpipeError) as gone:
        shmpipe.open_table(name)
    assert gone.value.code == "ENOENT"


def test_a_missing_table_is_called_a_table_and_a_near_name_is_offered(name):
    with shmpipe.publish(name, pa.table({"x": [1]})):
        with pytest.raises(shmpipe.ShmpipeError) as missing:
            shmpipe.open_table(name + "x")
    assert (missing.value.code, missing.value.op) == ("ENOENT", "open_table")
    assert "No table by that name is published" in str(missing.value)
    assert f'Did you mean "{name}"?' in str(missing.value)


def test_persistence_is_asked_for_and_unpublish_takes_only_tables(name):
    owned = shmpipe._core.lib.shmp_owned_count  # the names the core removes for this process at exit
    before = owned()
    with shmpipe.publish(name, pa.table({"x": [1, 2]}), persist=True) as kept:
        assert kept.persistent
        assert owned() == before  # not this process's to remove: it outlives it
    assert os.path.exists(shmpipe.shm_path(name))  # leaving the with-block let go of it, no more
    with pytest.raises(shmpipe.ShmpipeError) as taken:
        shmpipe.publish(name, pa.table({"x": [3]}))
    assert taken.value.code == "EEXIST" and "It is a persistent published table (published by pid" in str(taken.value)
    kept.unpublish()
    assert not os.path.exists(shmpipe.shm_path(name))
    with shmpipe.publish(name, pa.table({"x": [1]})):
        assert owned() == before + 1
    assert owned() == before
    assert not os.path.exists(shmpipe.shm_path(name))
    with shmpipe.create_reader(name, 4096):
        with pytest.raises(shmpipe.ShmpipeError) as refused:
            shmpipe.unpublish(name)
        assert (refused.value.code, refused.value.op) == ("EBADARG", "unpublish")
        assert "not a published table" in str(refused.value)
        assert os.path.exists(shmpipe.shm_path(name))


def test_a_table_unpublished_by_name_is_no_longer_this_processs_to_remove(name, spawn):
    """At close and at exit a process removes only what it still answers
    for: not a name another process took after this one unpublished it."""
    publisher = spawn("import os, sys, time, pyarrow as pa, shmpipe\n"
                      "table = shmpipe.publish(sys.argv[1], pa.table({'x': [1]}))\n"
                      "shmpipe.unpublish(sys.argv[1])\n"
                      "print('unpublished', flush=True)\n"
                      "deadline = time.monotonic() + 10\n"
                      "while not os.path.exists(shmpipe.shm_path(sys.argv[1])) and time.monotonic() < deadline:\n"
                      "    time.sleep(0.01)\n"
                      "table.close()\n", name)
    assert publisher.stdout.readline() == "unpublished\n"
    with shmpipe.create_reader(name, 4096):
        assert publisher.wait(15) == 0
        assert os.path.exists(shmpipe.shm_path(name))


def test_publish_copies_each_buffer_from_the_tables_own_memory(name):
    """pyarrow's stream writer hands the capture each body buffer of a
    table over 1 MiB as it is (no encoding into memory first), and the core
    copies it from there."""
    values = pa.array([i * 0.5 for i in range(200_000)])
    table = pa.table({"x": values, "s": pa.array([str(i) for i in range(200_000)])})
    layouts = shmpipe.arrow.ipc_messages(table, name)
    addresses = {data.address for layout in layouts for _, data in layout.buffers}
    assert values.buffers()[1].address in addresses
    assert table.column("s").chunks[0].buffers()[2].address in addresses


def test_the_capture_joins_pieces_only_where_a_range_spans_several():
    capture = shmpipe.arrow._Capture()
    first, second = pa.py_buffer(b"abcd"), pa.py_buffer(b"efgh")
    capture.write(first)
    capture.write(second)
    assert capture.view(4, 4).address == second.address  # one piece: no copy
    assert capture.view(2, 4).to_pybytes() == b"cdef"
    with pytest.raises(ValueError):
        capture.view(6, 4)


def test_publishing_keeps_no_file_open(name):
    """The core writes a table through its file until it is sealed, then closes it."""
    before = len(os.listdir("/proc/self/fd"))
    with shmpipe.publish(name, pa.table({"x": pa.array(range(1000))})):
        assert len(os.listdir("/proc/self/fd")) == before
