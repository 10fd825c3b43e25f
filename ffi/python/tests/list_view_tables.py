"""pyarrow tables of list views (list_view and large_list_view), with
nulls: what the list view tests of Python, TypeScript (test/list-view.test.ts)
and Go (ffi/go/list_view_test.go) send. pyarrow is the oracle of what they
hold.

    python list_view_tables.py CHANNEL            # sends every table through CHANNEL,
                                                  # then prints them as JSON
    python list_view_tables.py CHANNEL malformed  # sends a list view column's schema,
                                                  # MALFORMED batches, then the good one"""
import json
import sys

import pyarrow as pa

ROWS = 29


def _nullable(values):
    return [None if i % 5 == 3 else v for i, v in enumerate(values)]


def list_view_table() -> pa.Table:
    r = range(ROWS)
    lists = _nullable([list(range(i, i + i % 4)) for i in r])
    # Out of order and overlapping, nulls with a size of their own: what a
    # list array cannot say.
    shared = pa.ListViewArray.from_arrays(pa.array([4 - i % 5 for i in r], pa.int32()), pa.array([i % 3 for i in r], pa.int32()),
                                          pa.array(range(7), pa.int8()), mask=pa.array([i % 4 == 1 for i in r]))
    return pa.table({
        "list_view": pa.array(lists, pa.list_view(pa.int32())),
        "large_list_view": pa.array(lists, pa.large_list_view(pa.int64())),
        "strings": pa.array(_nullable([[f"s{i}-{j}" for j in range(i % 3)] for i in r]), pa.list_view(pa.string())),
        "nested": pa.array(_nullable([[[i, -i]] * (i % 3) for i in r]), pa.large_list_view(pa.list_view(pa.int16()))),
        "shared": shared,
    })


def _ints(*values):
    return b"".join(v.to_bytes(4, "little", signed=True) for v in values)


# The offsets and sizes buffers of malformed_messages()' batch, each padded to 8 bytes.
GOOD_VIEWS = _ints(0, 1, 2, 0) + _ints(1, 1, 2, 0)
MALFORMED = [
    (_ints(0, 1, 2, 0) + _ints(1, 1, 9, 0), 'Field "v" has a list view at row 2 of 9 values from offset 2, past the 4 child values there are'),
    (_ints(0, 1, 2, 0) + _ints(1, -1, 2, 0), 'Field "v" has a list view of size -1 at row 1'),
    (_ints(0, -3, 2, 0) + _ints(1, 1, 2, 0), 'Field "v" has a list view at row 1 starting at offset -3, before its child values'),
]


def malformed_messages() -> list:
    """A list view column's schema message, its batch with each MALFORMED pair of buffers, then the good batch."""
    column = pa.array([[10], [20], [30, 40]], pa.list_view(pa.int32()))
    batch = pa.record_batch({"v": column})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write(batch)
    schema, good = [m.serialize().to_pybytes() for m in pa.ipc.MessageReader.open_stream(sink.getvalue())]
    at = good.rindex(GOOD_VIEWS)  # in the body, after the metadata
    bad = [good[:at] + views + good[at + len(views):] for views, _ in MALFORMED]
    return [schema, *bad, good]


def list_view_tables() -> dict:
    """A table, a slice of it (views that do not start at 0) and a batch without rows (pyarrow tables drop those)."""
    table = list_view_table()
    return {"whole": table, "sliced": table.slice(3, 17), "empty": table.to_batches()[0].slice(0, 0)}


if __name__ == "__main__":
    import shmpipe

    if sys.argv[2:] == ["malformed"]:
        with shmpipe.open_writer(sys.argv[1]) as raw:
            for message in malformed_messages():
                raw.send(message)
        print(json.dumps([why for _, why in MALFORMED]), flush=True)
        sys.exit(0)
    tables = list_view_tables()
    with shmpipe.ArrowWriter(shmpipe.open_writer(sys.argv[1])) as writer:
        for table in tables.values():
            writer.write(table)
    print(json.dumps({label: {"rows": table.num_rows, "columns": table.to_pydict()} for label, table in tables.items()}), flush=True)
