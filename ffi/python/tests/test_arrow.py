"""pyarrow record batches through a channel: every type round-trips, batches
view shared memory, bad messages are refused with EARROW."""
import json
import random

import pyarrow as pa
import pytest

import shmpipe
from sample_tables import batches_of, delta_for_a_dictionary_never_sent, sample_tables


@pytest.fixture
def arrow_channel(name):
    reader = shmpipe.ArrowReader(shmpipe.create_reader(name, capacity=16 << 20))
    writer = shmpipe.open_writer(name)
    yield writer, shmpipe.ArrowWriter(writer), reader
    writer.close()
    reader.close()


def read_table(reader, schema, batches):
    return pa.Table.from_batches([shmpipe.copy_batch(reader.read(timeout=2)) for _ in range(batches)], schema=schema)


@pytest.mark.parametrize("label", list(sample_tables()))
def test_every_sample_table_round_trips(arrow_channel, label):
    _, writer, reader = arrow_channel
    table = sample_tables()[label]
    writer.write(table)
    batches = batches_of(table)
    received = read_table(reader, table.schema, len(batches))
    received.validate(full=True)
    assert received.equals(pa.Table.from_batches(batches, schema=table.schema))


def test_batches_are_views_of_the_mapping_until_released(arrow_channel):
    raw, writer, reader = arrow_channel
    writer.write(pa.table({"x": pa.array([i * 0.5 for i in range(10_000)])}))
    batch = reader.read(timeout=2)
    segment = reader._reader._segment
    address = batch.column(0).buffers()[1].address
    assert segment.base <= address < segment.base + segment.size
    kept = shmpipe.copy_batch(batch)
    copied = kept.column(0).buffers()[1].address
    assert not segment.base <= copied < segment.base + segment.size
    reader.release()
    raw.close()
    assert reader.read(timeout=2) is None
    assert kept.column(0)[9_999].as_py() == 4999.5


def test_every_buffer_python_writes_lies_at_a_64_byte_boundary(arrow_channel):
    """shmpipe's layout, though pyarrow pads buffers to 8 only: the core
    rewrites the offsets, the writer moves each buffer to its place."""
    raw, writer, reader = arrow_channel
    sent = pa.table({"f": pa.array([0.5, None, 2.5]), "i": pa.array([1, 2, 3], pa.int32()),
                     "s": pa.array(["a", "bb", None]), "b": pa.array([True, False, True]),
                     "d": pa.array(["x", "y", "x"]).dictionary_encode()})
    writer.write(sent)
    batch = reader.read(timeout=2)
    assert pa.Table.from_batches([batch]).equals(sent)
    # (a dictionary's values are the reader's private copy, not the record)
    addresses = [buffer.address for column in batch.columns for buffer in column.buffers() if buffer is not None]
    assert len(addresses) >= 8 and all(address % 64 == 0 for address in addresses), [a % 64 for a in addresses]
    reader.release()


def test_a_refused_message_never_ends_the_stream(arrow_channel):
    """A delta for a dictionary never sent is refused (by pyarrow here);
    the next schema starts a clean stream whose batches come through."""
    raw, _writer, reader = arrow_channel
    schema, dictionary, batch, delta, _ = delta_for_a_dictionary_never_sent()
    for message in (schema, delta, schema, dictionary, batch):
        raw.send(message)
    raw.close()
    with pytest.raises(shmpipe.ShmpipeError) as refused:
        reader.read(timeout=2)
    assert refused.value.code == "EARROW" and refused.value.segment == reader.name
    assert reader.read(timeout=2).column(0).to_pylist() == ["a", "b"]
    assert reader.read(timeout=2) is None


def test_schema_changes_and_dictionaries(arrow_channel):
    _, writer, reader = arrow_channel
    colors = pa.array(["red", "green", "red"]).dictionary_encode()
    writer.write(pa.table({"c": colors}))
    writer.write(pa.table({"c": pa.array(["blue", "blue"]).dictionary_encode()}))
    writer.write(pa.table({"n": pa.array([7, 8], pa.int32())}))
    assert reader.read(timeout=2).column(0).to_pylist() == ["red", "green", "red"]
    assert reader.read(timeout=2).column(0).to_pylist() == ["blue", "blue"]
    changed = reader.read(timeout=2)
    assert reader.schema.names == ["n"] and changed.column(0).to_pylist() == [7, 8]


def test_malformed_messages_are_refused(arrow_channel, name):
    raw, _, reader = arrow_channel
    raw.send(b"not arrow at all")
    with pytest.raises(shmpipe.ShmpipeError) as garbage:
        reader.read(timeout=1)
    assert garbage.value.code == "EARROW" and garbage.value.segment == name
    assert "continuation marker" in str(garbage.value)
    batch = pa.record_batch({"a": pa.array([1.0, 2.0])})
    raw.send(batch.serialize())
    with pytest.raises(shmpipe.ShmpipeError) as early:
        shmpipe.ArrowReader(reader._reader).read(timeout=1)
    assert "before any schema" in str(early.value)


def test_mutated_messages_yield_batches_or_earrow(arrow_channel):
    """Every round's messages are all in the channel before it is read, so
    each round ends in its batches, every one valid, or in EARROW: a wait
    that times out (the reader lost its place) fails the test."""
    raw, _, reader = arrow_channel
    table = sample_tables()["types"]
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write(table)
    parsed = list(pa.ipc.MessageReader.open_stream(sink.getvalue()))
    messages = [m.serialize().to_pybytes() for m in parsed]
    batches = sum(m.type == "record batch" for m in parsed)
    assert batches >= 1 and len(messages) > batches + 1  # a schema, dictionaries and batches
    rng = random.Random(7)
    outcomes = {"batches": 0, "EARROW": 0}
    for round_ in range(300):
        mutated = [bytearray(m) for m in messages]
        target = mutated[round_ % len(mutated)]
        end = min(len(target), 8 + int.from_bytes(target[4:8], "little"))
        for _ in range(rng.randint(1, 3)):
            target[rng.randrange(end)] = rng.randrange(256)
        fresh = shmpipe.ArrowReader(reader._reader)
        for message in mutated:
            raw.send(bytes(message))
        try:
            for _ in range(batches):
                batch = fresh.read(timeout=0)
                assert batch is not None, f"round {round_}: the stream ended early"
                batch.validate()
            outcomes["batches"] += 1
        except shmpipe.ShmpipeError as error:
            assert error.code == "EARROW", f"round {round_}: {error}"
            outcomes["EARROW"] += 1
        while True:  # drain what the failure left unread
            try:
                if reader._reader.recv(timeout=0) is None:
                    break
            except shmpipe.ShmpipeError:
                break
    assert outcomes["EARROW"] > 100 and outcomes["batches"] > 0, outcomes


def test_a_read_that_times_out_can_be_retried(arrow_channel):
    _, writer, reader = arrow_channel
    writer.write(pa.table({"a": [1, 2]}))
    assert reader.read(timeout=1).column(0).to_pylist() == [1, 2]
    with pytest.raises(shmpipe.ShmpipeError) as timeout:
        reader.read(timeout=0.1)
    assert timeout.value.code == "ETIMEOUT"
    writer.write(pa.table({"a": [3]}))
    assert reader.read(timeout=1).column(0).to_pylist() == [3]


def _messages(table):
    """The IPC messages pyarrow writes for `table`, as bytes each."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write(table)
    return [message.serialize().to_pybytes() for message in pa.ipc.MessageReader.open_stream(sink.getvalue())]


def _patched(message: bytes, find: bytes, replace: bytes) -> bytes:
    at = message.rindex(find)  # the body comes after the metadata
    return message[:at] + replace + message[at + len(find):]


def _offsets(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "little", signed=True) for v in values)


def test_offsets_and_indices_outside_their_data_are_refused_not_a_crash(arrow_channel):
    """pyarrow trusts offsets and dictionary indices: a batch with one past
    its data would crash the process in to_pylist(). The core refuses it."""
    raw, _, reader = arrow_channel
    strings = pa.table({"s": pa.array(["x", "yy", "z"])})
    schema, batch = _messages(strings)
    raw.send(schema)
    for bad, why in [(_offsets(0, 1, 3, 1000), "ends at offset 1000, past the"),
                     (_offsets(0, 1, 0, 4), "go back from 1 to 0"),
                     (_offsets(-8, 1, 3, 4), "starts at offset -8")]:
        raw.send(_patched(batch, _offsets(0, 1, 3, 4), bad))
        with pytest.raises(shmpipe.ShmpipeError) as refused:
            reader.read(timeout=2).column(0).to_pylist()
        assert refused.value.code == "EARROW" and why in str(refused.value)
    raw.send(batch)
    assert reader.read(timeout=2).column(0).to_pylist() == ["x", "yy", "z"]

    coded = pa.table({"c": pa.array(["red", "green", "red"]).dictionary_encode()})
    schema, dictionary, batch = _messages(coded)
    raw.send(schema)
    raw.send(_patched(batch, _offsets(0, 1, 0), _offsets(0, 7, 0)))  # before its dictionary, and out of range
    with pytest.raises(shmpipe.ShmpipeError) as missing:
        reader.read(timeout=2)
    assert "which has not arrived" in str(missing.value)
    raw.send(dictionary)
    raw.send(_patched(batch, _offsets(0, 1, 0), _offsets(0, 7, 0)))
    with pytest.raises(shmpipe.ShmpipeError) as outside:
        reader.read(timeout=2).column(0).to_pylist()
    assert "dictionary index 7 at row 1; the dictionary holds 2 values" in str(outside.value)
    raw.send(batch)
    assert reader.read(timeout=2).column(0).to_pylist() == ["red", "green", "red"]


def test_a_reader_may_trust_its_writer_with_the_values(name):
    with shmpipe.create_reader(name, 1 << 20) as channel, shmpipe.open_writer(name) as raw:
        reader = shmpipe.ArrowReader(channel, trust_values=True)
        schema, batch = _messages(pa.table({"s": pa.array(["x", "yy", "z"])}))
        raw.send(schema)
        raw.send(_patched(batch, _offsets(0, 1, 3, 4), _offsets(0, 1, 0, 4)))
        assert reader.read(timeout=2).num_rows == 3  # accepted unchecked (values not touched here)


SEQ_READER = """
import json, sys, shmpipe
with shmpipe.ArrowReader(shmpipe.open_reader(sys.argv[1])) as reader:
    print("ready", flush=True)
    batches, first, last, bad = 0, None, None, 0
    while (batch := reader.read(timeout=30)) is not None:
        for seq, label in zip(batch.column("seq").to_pylist(), batch.column("label").to_pylist()):
            bad += (last is not None and seq != last + 1) or label != f"L{seq % 7}"
            first = seq if first is None else first
            last = seq
        batches += 1
    print(json.dumps([batches, first, last, bad]), flush=True)
"""


def test_readers_that_join_mid_stream_read_on_from_the_schema_sent_again(name, spawn):
    """After the ring has wrapped, the schema and dictionaries went by long
    ago: readers that attach then skip to the schema the writer sends again
    for them; readers there all along miss nothing. Real processes."""
    rows, before, after = 200, 100, 100
    labels = pa.array([f"L{k}" for k in range(7)])

    def batch(b):
        seq = range(b * rows, (b + 1) * rows)
        codes = pa.array([s % 7 for s in seq], pa.int32())
        return pa.record_batch([pa.array(seq, pa.int64()), pa.DictionaryArray.from_arrays(codes, labels)],
                               names=["seq", "label"])

    with shmpipe.ArrowWriter(shmpipe.create_writer(name, capacity=64 << 10)) as writer:  # ~4 KB a batch: laps
        early = [spawn(SEQ_READER, name) for _ in range(2)]
        assert [child.stdout.readline() for child in early] == ["ready\n"] * 2
        for b in range(before):
            writer.write(batch(b), timeout=30)
        late = [spawn(SEQ_READER, name) for _ in range(2)]
        assert [child.stdout.readline() for child in late] == ["ready\n"] * 2
        for b in range(before, before + after):
            writer.write(batch(b), timeout=30)
    outputs = [child.communicate(timeout=60) for child in early + late]
    last = (before + after) * rows - 1
    assert [json.loads(out) if out else err for out, err in outputs] == \
        [[before + after, 0, last, 0]] * 2 + [[after, before * rows, last, 0]] * 2


def test_a_table_without_rows_is_its_schema_alone(arrow_channel, name):
    """No batch reaches the reader, and the reader keeps the schema after the end of the stream."""
    raw, writer, reader = arrow_channel
    schema = pa.schema([("x", pa.int32()), ("s", pa.string())])
    with shmpipe.open_reader(name) as counter:
        writer.write(pa.Table.from_batches([pa.record_batch([[], []], schema=schema)]))
        raw.close()
        assert [message.copy()[:4] for message in counter] == [b"\xff\xff\xff\xff"]  # one message: the schema
    assert reader.read(timeout=2) is None
    assert reader.schema is not None and reader.schema.equals(schema)
