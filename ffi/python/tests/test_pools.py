"""Published tables travel to worker pools by name: pickle, multiprocessing
(Pool.map arguments and results, Queue; fork, spawn, forkserver),
concurrent.futures and joblib's loky workers get a few hundred bytes and
map the same memory; a table gone since is an error on first use that
leaves the pool working; a channel's batches are pickled as a copy."""
import concurrent.futures
import io
import multiprocessing
import os
import pickle
from multiprocessing.reduction import ForkingPickler

import joblib
import pyarrow as pa
import pytest
from joblib.externals.loky import get_reusable_executor
from joblib.externals.loky.backend.reduction import dumps as loky_dumps

import shmpipe
from pool_work import queue_child, task, total, use, views_shared_memory

ROWS = 20_000
METHODS = ["fork", "spawn", "forkserver"]


def make_table(scale: float = 1.0) -> pa.Table:
    return pa.table({
        "a": pa.array([i * scale for i in range(ROWS)], pa.float64()),
        "b": pa.array(range(ROWS), pa.int64()),
        "s": pa.array([f"row {i}" for i in range(ROWS)]),
    })


@pytest.fixture
def shared(name):
    """(name, the table as published, the table opened: views of the segment)."""
    data = make_table()
    published = shmpipe.publish(name, data)
    try:
        yield name, data, shmpipe.open_table(name)
    finally:
        published.unpublish()


def parts_of(table: pa.Table):
    """Four parts: a quarter of the rows each, of some of the columns."""
    quarter = ROWS // 4
    return [table.select(["a", "b"]).slice(i * quarter, quarter) for i in range(4)]


def check_results(parts, results):
    for part, (value, shared_memory, _pid, back, back_size) in zip(parts, results):
        assert value == total(part)
        assert shared_memory, "the worker's table is a copy, not a view of the published table"
        assert back.equals(part.slice(1, 5))  # the slice a worker sent back, by name as well
        assert back_size < 1024
        assert views_shared_memory(back.column(0))


def check_all(parts, results):
    check_results(parts, results)
    assert sum(r[0] for r in results) == 2 * (ROWS * (ROWS - 1) // 2)  # columns a and b: every row once


def test_every_kind_of_part_pickles_by_name(shared):
    _, data, opened = shared
    batch = opened.to_batches()[0]
    for part in [opened, opened.select(["b", "a"]), opened.slice(123, 4567), batch, batch.slice(7, 70),
                 opened.column("a"), opened.column("s").slice(5, 10), batch.column(1), batch.column(2).slice(3, 9)]:
        pickled = pickle.dumps(part)
        assert len(pickled) < 1024, f"{type(part).__name__}: {len(pickled)} bytes pickled"
        back = pickle.loads(pickled)
        assert type(back) is type(part) and back.equals(part)
        column = back.column(0) if isinstance(back, (pa.Table, pa.RecordBatch)) else back
        assert views_shared_memory(column)
    assert len(pickle.dumps(data)) > 16 * ROWS  # the same table by value


def test_other_objects_pickle_exactly_as_pyarrow_pickles_them(shared):
    _, data, opened = shared  # a published table is open: the reducers look at every object

    class Plain(pickle.Pickler):
        dispatch_table = {}  # without shmpipe's reducers

    def dumps(obj, pickler=pickle.Pickler) -> bytes:
        out = io.BytesIO()
        pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        return out.getvalue()

    copy = opened.select(["a"]).take(list(range(100)))  # new buffers: not the segment's
    for obj in [data, data.slice(3, 30), data.column("s"), data.to_batches()[0], copy, copy.column(0).chunk(0)]:
        assert dumps(obj) == dumps(obj, Plain)
        assert pickle.loads(pickle.dumps(obj)).equals(obj)


@pytest.mark.parametrize("method", METHODS)
def test_multiprocessing_pool_map_arguments_and_results(shared, method):
    _, data, opened = shared
    parts = parts_of(opened)
    sizes = [len(ForkingPickler.dumps(part)) for part in parts]
    assert max(sizes) < 1024, sizes
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.map(task, parts)
    check_all(parts, results)


@pytest.mark.parametrize("method", METHODS)
def test_multiprocessing_queue(shared, method):
    _, data, opened = shared
    context = multiprocessing.get_context(method)
    inbox, outbox = context.Queue(), context.Queue()
    child = context.Process(target=queue_child, args=(inbox, outbox))
    child.start()
    try:
        part = opened.slice(100, 900)
        inbox.put(part)
        result = outbox.get(timeout=60)
        check_results([part], [result])
        assert result[2] == child.pid
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
            child.join()


@pytest.mark.parametrize("method", METHODS)
def test_process_pool_executor(shared, method):
    _, data, opened = shared
    parts = parts_of(opened)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        results = list(pool.map(task, parts))
    check_all(parts, results)


@pytest.fixture
def loky():
    """joblib's workers (loky's reusable executor), ended when the test ends."""
    yield
    get_reusable_executor().shutdown(wait=True)


def test_joblib_loky(shared, loky):
    _, data, opened = shared
    parts = parts_of(opened)
    assert max(len(loky_dumps(part)) for part in parts) < 1024
    results = joblib.Parallel(n_jobs=2)(joblib.delayed(task)(part) for part in parts)
    check_all(parts, results)


def test_the_published_handle_pickles_as_its_name_and_opens_in_a_worker(name):
    data = make_table()
    with shmpipe.publish(name, data) as published:
        assert len(pickle.dumps(published)) < 256
        assert pickle.loads(pickle.dumps(published)).equals(pa.Table.from_batches(data.to_batches()))
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            value, shared_memory, *_ = pool.submit(task, published).result(timeout=60)
    assert value == total(data) and shared_memory


def gone_in_a_worker(part, method: str) -> str:
    """Sends `part` to a worker that uses it: the error it raised; then checks the pool still works."""
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        with pytest.raises(shmpipe.ShmpipeError) as gone:
            pool.submit(use, part).result(timeout=60)
        assert pool.submit(total, pa.table({"x": [1.0, 2.0]})).result(timeout=60) == 3.0  # the pool lives on
    with multiprocessing.get_context(method).Pool(1) as pool:
        with pytest.raises(shmpipe.ShmpipeError):
            pool.apply(use, (part,))
        assert pool.apply(total, (pa.table({"x": [1.0, 2.0]}),)) == 3.0
    assert gone.value.code == "ENOENT"
    return str(gone.value)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_table_published_again_is_an_error_in_the_worker_not_other_data(name, method):
    published = shmpipe.publish(name, make_table())
    part = shmpipe.open_table(name).slice(10, 100)
    published.unpublish()
    with shmpipe.publish(name, make_table(scale=2.0)):  # the same name, other values
        message = gone_in_a_worker(part, method)
        assert "published again" in message and name in message
        assert part.column("a")[0].as_py() == 10.0  # here, the pickled table is still mapped


def test_an_unpublished_table_is_an_error_in_the_worker(name, loky):
    published = shmpipe.publish(name, make_table())
    part = shmpipe.open_table(name).column("b")
    handle = pickle.dumps(published)
    published.unpublish()
    message = gone_in_a_worker(part, "spawn")
    assert "unpublished" in message and name in message
    with pytest.raises(shmpipe.ShmpipeError, match="unpublished"):
        joblib.Parallel(n_jobs=2)(joblib.delayed(use)(p) for p in [part, part])
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        stand_in = pool.submit(pickle.loads, handle).result(timeout=60)  # comes back as the same reference
    assert isinstance(stand_in, shmpipe.GoneTable)
    with pytest.raises(shmpipe.ShmpipeError, match="unpublished"):
        stand_in.num_rows


def test_a_channel_batch_pickles_as_a_copy(name):
    reader = shmpipe.ArrowReader(shmpipe.create_reader(name, capacity=4 << 20))
    writer = shmpipe.open_writer(name)
    try:
        arrow = shmpipe.ArrowWriter(writer)
        arrow.write(pa.table({"x": pa.array([i * 0.5 for i in range(10_000)])}))
        batch = reader.read(timeout=2)
        assert views_shared_memory(batch.column(0))  # a view of the record
        pickled = pickle.dumps(batch)
        assert len(pickled) > 8 * 10_000 and name.encode() not in pickled  # its values, not its name
        reader.release()
        arrow.write(pa.table({"x": pa.array([-1.0] * 10_000)}))  # the writer may reuse the record
        assert reader.read(timeout=2).column(0)[0].as_py() == -1.0
        copy = pickle.loads(pickled)
        assert copy.column(0).to_pylist() == [i * 0.5 for i in range(10_000)]
    finally:
        writer.close()
        reader.close()


def test_a_forked_worker_uses_the_mapping_it_inherited_even_after_unpublish(name):
    """With fork, the worker inherits this process's mapping of the table: a
    reference to that same publication resolves to it, name or no name."""
    published = shmpipe.publish(name, make_table())
    part = shmpipe.open_table(name).slice(10, 100)
    published.unpublish()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        value, shared_memory, *_ = pool.apply(task, (part,))
    assert value == total(part) and shared_memory
