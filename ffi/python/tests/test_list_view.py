"""List views (list_view, large_list_view) through a channel: pyarrow writes
them, the core checks them, pyarrow reads them back equal, in place; list
views whose offsets or sizes leave their child are refused with EARROW,
never handed to pyarrow (which trusts them)."""
import pyarrow as pa
import pytest

import shmpipe
from list_view_tables import list_view_tables


@pytest.fixture
def arrow_channel(name):
    reader = shmpipe.ArrowReader(shmpipe.create_reader(name, capacity=4 << 20))
    writer = shmpipe.open_writer(name)
    yield writer, shmpipe.ArrowWriter(writer), reader
    writer.close()
    reader.close()


@pytest.mark.parametrize("label", list(list_view_tables()))
def test_list_views_round_trip(arrow_channel, label):
    _, writer, reader = arrow_channel
    sent = list_view_tables()[label]
    writer.write(sent)
    batch = shmpipe.copy_batch(reader.read(timeout=2))
    batch.validate(full=True)
    expected = sent if isinstance(sent, pa.RecordBatch) else sent.combine_chunks().to_batches()[0]
    assert batch.schema.field("list_view").type == pa.list_view(pa.int32())
    assert batch.schema.field("large_list_view").type == pa.large_list_view(pa.int64())
    assert batch.equals(expected)
    assert batch.to_pydict() == sent.to_pydict()


def test_list_views_are_read_in_place(arrow_channel):
    raw, writer, reader = arrow_channel
    writer.write(list_view_tables()["whole"])
    batch = reader.read(timeout=2)
    segment = reader._reader._segment
    for column in ("list_view", "large_list_view"):
        _, offsets, sizes = batch.column(column).buffers()[:3]
        for buffer in (offsets, sizes):
            assert segment.base <= buffer.address < segment.base + segment.size
    reader.release()


def _messages(data):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as stream:
        stream.write(data)
    return [message.serialize().to_pybytes() for message in pa.ipc.MessageReader.open_stream(sink.getvalue())]


def _ints(width, *values):
    return b"".join(v.to_bytes(width, "little", signed=True) for v in values)


def _patched(message, width, offsets, sizes, new_offsets, new_sizes):
    """The message with the list view's offsets and sizes buffers replaced (they follow each other, 8-byte padded)."""
    pad = lambda b: b + bytes(-len(b) % 8)  # noqa: E731
    old = pad(_ints(width, *offsets)) + pad(_ints(width, *sizes))
    new = pad(_ints(width, *new_offsets)) + pad(_ints(width, *new_sizes))
    at = message.rindex(old)  # in the body, after the metadata
    return message[:at] + new + message[at + len(old):]


@pytest.mark.parametrize("width,kind", [(4, pa.list_view), (8, pa.large_list_view)])
def test_list_views_outside_their_child_are_refused(arrow_channel, width, kind):
    """pyarrow reads list views unchecked: a view past the child would read
    out of bounds. The core refuses it, null rows included (the columnar
    format asks every view to lie in the child), and names the field."""
    raw, _, reader = arrow_channel
    offsets, sizes = [0, 1, 2], [1, 1, 2]
    column = pa.array([[10], [20], [30, 40]], kind(pa.int32()))
    assert (column.offsets.to_pylist(), column.sizes.to_pylist()) == (offsets, sizes)
    batch = pa.record_batch({"v": column})
    schema, good = _messages(batch)
    raw.send(schema)
    for new_offsets, new_sizes, why in [
        ([0, 1, 2], [1, 1, 9], 'Field "v" has a list view at row 2 of 9 values from offset 2, past the 4 child values there are'),
        ([0, 1, 4], [1, 1, 2], 'Field "v" has a list view at row 2 of 2 values from offset 4, past the 4 child values there are'),
        ([0, 1, 2], [1, -1, 2], 'Field "v" has a list view of size -1 at row 1'),
        ([0, -3, 2], [1, 1, 2], 'Field "v" has a list view at row 1 starting at offset -3, before its child values'),
        ([2**31 - 1, 1, 2], [1, 1, 2], 'Field "v" has a list view at row 0 of 1 values from offset 2147483647, past the 4'),
    ]:
        raw.send(_patched(good, width, offsets, sizes, new_offsets, new_sizes))
        with pytest.raises(shmpipe.ShmpipeError) as refused:
            reader.read(timeout=2).column(0).to_pylist()
        assert refused.value.code == "EARROW" and why in str(refused.value)
    raw.send(good)
    assert reader.read(timeout=2).column(0).to_pylist() == [[10], [20], [30, 40]]


def test_a_null_list_view_must_lie_in_its_child_too(arrow_channel):
    raw, _, reader = arrow_channel
    column = pa.ListViewArray.from_arrays(pa.array([0, 1, 2], pa.int32()), pa.array([1, 1, 2], pa.int32()),
                                          pa.array([10, 20, 30, 40], pa.int32()), mask=pa.array([False, True, False]))
    schema, good = _messages(pa.record_batch({"v": column}))
    raw.send(schema)
    raw.send(_patched(good, 4, [0, 1, 2], [1, 1, 2], [0, 7, 2], [1, 1, 2]))
    with pytest.raises(shmpipe.ShmpipeError) as refused:
        reader.read(timeout=2)
    assert refused.value.code == "EARROW" and "at row 1 of 1 values from offset 7, past the 4 child values" in str(refused.value)
    raw.send(good)
    assert reader.read(timeout=2).column(0).to_pylist() == [[10], None, [30, 40]]


def test_a_list_view_pyarrow_built_past_its_child_is_refused_by_the_reader(arrow_channel):
    """pyarrow builds such a list view without a full validation, and its
    writer sends it (the writer's check trusts pyarrow's values); the
    reader refuses it, and the stream goes on."""
    _, writer, reader = arrow_channel
    bad = pa.ListViewArray.from_arrays(pa.array([0, 5], pa.int32()), pa.array([2, 2], pa.int32()), pa.array([1, 2, 3]))
    writer.write(pa.table({"bad": bad}))
    with pytest.raises(shmpipe.ShmpipeError) as refused:
        reader.read(timeout=2)
    assert refused.value.code == "EARROW" and refused.value.op == "recv"
    assert 'Field "bad" has a list view at row 1 of 2 values from offset 5, past the 3 child values' in str(refused.value)
    writer.write(pa.table({"v": pa.array([[1, 2], None], pa.list_view(pa.int32()))}))
    assert reader.read(timeout=2).column(0).to_pylist() == [[1, 2], None]
