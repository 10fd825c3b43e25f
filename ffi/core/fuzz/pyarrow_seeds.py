"""Writes the seed streams of the Arrow message fuzzer that pyarrow makes:
the Python sample tables (ffi/python/tests/sample_tables.py, which must be
on PYTHONPATH) and the types and stream shapes they leave out: list views,
string and binary views, large lists, unions, run-end encoded columns,
several batches with dictionary replacements and deltas, a schema that
changes half-way.

    python pyarrow_seeds.py DIR   # prints the path of each stream it wrote

Each stream is an Arrow IPC stream file (schema, dictionaries, batches)."""
import sys

import pyarrow as pa

from sample_tables import sample_tables

ROWS = 23


def _nullable(values):
    return [None if i % 5 == 3 else v for i, v in enumerate(values)]


def list_views() -> pa.Table:
    r = range(ROWS)
    lists = _nullable([list(range(i, i + i % 4)) for i in r])
    return pa.table({
        "list_view": pa.array(lists, pa.list_view(pa.int32())),
        "large_list_view": pa.array(lists, pa.large_list_view(pa.int64())),
        "list_view_of_strings": pa.array(_nullable([[f"s{i}"] * (i % 3) for i in r]), pa.list_view(pa.string())),
        "nested": pa.array(_nullable([[[i] * (i % 2)] * (i % 3) for i in r]), pa.list_view(pa.large_list_view(pa.int16()))),
        # Out of order and overlapping: what only a list view can say.
        "shared": pa.ListViewArray.from_arrays(pa.array([4 - i % 5 for i in r], pa.int32()),
                                               pa.array([i % 3 for i in r], pa.int32()),
                                               pa.array(range(7), pa.int8())),
    })


def other_types() -> pa.Table:
    r = range(ROWS)
    dense = pa.UnionArray.from_dense(pa.array([i % 2 for i in r], pa.int8()),
                                     pa.array([i // 2 for i in r], pa.int32()),
                                     [pa.array(range(ROWS), pa.int32()), pa.array([f"u{i}" for i in r])], ["n", "s"])
    sparse = pa.UnionArray.from_sparse(pa.array([i % 2 for i in r], pa.int8()),
                                       [pa.array(range(ROWS), pa.float64()), pa.array([i % 3 == 0 for i in r])], ["f", "b"])
    return pa.table({
        "string_view": pa.array(_nullable([f"short{i}" if i % 2 else f"a string longer than twelve bytes {i}" for i in r]), pa.string_view()),
        "binary_view": pa.array(_nullable([bytes(range(i)) for i in r]), pa.binary_view()),
        "large_list": pa.array(_nullable([list(range(i % 5)) for i in r]), pa.large_list(pa.int16())),
        "large_binary": pa.array(_nullable([bytes([i]) * (i % 4) for i in r]), pa.large_binary()),
        "dense_union": dense,
        "sparse_union": sparse,
        "run_end": pa.RunEndEncodedArray.from_arrays(pa.array([3, 7, 8, ROWS], pa.int32()), pa.array(["a", None, "c", "d"])),
        "fixed_list": pa.array(_nullable([[i, 2 * i] for i in r]), pa.list_(pa.int64(), 2)),
        "time64": pa.array(_nullable([i * 1000 for i in r]), pa.time64("us")),
        "month_day_nano": pa.array(_nullable([pa.MonthDayNano([i, i, i]) for i in r]), pa.month_day_nano_interval()),
        "decimal256": pa.array(_nullable([i * 10**40 for i in r]), pa.decimal256(60, 0)),
        "dictionary_i8": pa.DictionaryArray.from_arrays(pa.array(_nullable([i % 4 for i in r]), pa.int8()), pa.array(["w", "x", "y", "z"])),
    })


def write(path: str, schema: pa.Schema, batches, **options) -> str:
    with pa.ipc.new_stream(path, schema, options=pa.ipc.IpcWriteOptions(**options)) as stream:
        for batch in batches:
            stream.write(batch)
    return path


def main(out: str) -> None:
    paths = []
    for label, table in sample_tables().items():
        if label == "long":
            continue  # big seeds only slow the rounds down
        paths.append(write(f"{out}/py-{label}.arrows", table.schema, [table]))
    views = list_views()
    paths.append(write(f"{out}/py-list-views.arrows", views.schema, [views]))
    paths.append(write(f"{out}/py-list-views-sliced.arrows", views.schema, [views.slice(5, 11)]))
    others = other_types()
    paths.append(write(f"{out}/py-other-types.arrows", others.schema, [others]))
    # Several batches of one dictionary column: replaced, then extended by deltas.
    colors = pa.schema([("c", pa.dictionary(pa.int16(), pa.string())), ("v", pa.list_view(pa.int32()))])
    words = ["red", "green", "blue", "pink", "grey"]
    batches = [pa.record_batch([pa.DictionaryArray.from_arrays(pa.array(indices, pa.int16()), pa.array(words[:size])),
                                pa.array([None if i is None else [i] * i for i in indices], pa.list_view(pa.int32()))], schema=colors)
               for size, indices in ((2, [0, 1, 0]), (3, [2, 0, None, 2]), (5, [4, 3]), (1, [0]))]
    paths.append(write(f"{out}/py-dictionary-deltas.arrows", colors, batches, emit_dictionary_deltas=True))
    paths.append(write(f"{out}/py-dictionary-replaced.arrows", colors, batches))
    # A new schema half-way (a new stream on the same channel): the first
    # stream without its end-of-stream marker, then the second.
    first = write(f"{out}/py-schema-change.arrows", colors, batches[:1])
    with open(first, "rb") as f:
        head = f.read()
    with open(f"{out}/py-list-views-sliced.arrows", "rb") as f:
        tail = f.read()
    assert head.endswith(b"\xff\xff\xff\xff\x00\x00\x00\x00")
    with open(first, "wb") as f:
        f.write(head[:-8] + tail)
    paths.append(first)
    for path in paths:
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
