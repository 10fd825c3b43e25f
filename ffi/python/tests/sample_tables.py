"""pyarrow tables (and one batch) of every type shmpipe carries, with nulls, plus the
awkward shapes: empty, no columns, very wide, long, sliced. Used by the
Python tests and as what Python sends TypeScript in the cross-language
tests."""
import datetime
import decimal

import pyarrow as pa

ROWS = 40


def _nullable(values):
    return [None if i % 5 == 3 else v for i, v in enumerate(values)]


def _types() -> pa.Table:
    n = ROWS
    r = range(n)
    return pa.table({
        "bool": pa.array(_nullable([i % 2 == 0 for i in r])),
        "i8": pa.array(_nullable([i - 20 for i in r]), pa.int8()),
        "i16": pa.array(_nullable([i * 800 for i in r]), pa.int16()),
        "i32": pa.array(_nullable([i * 100_000 for i in r]), pa.int32()),
        "i64": pa.array(_nullable([i * 10_000_000_000 - 3 for i in r]), pa.int64()),
        "u8": pa.array(_nullable([i * 6 for i in r]), pa.uint8()),
        "u32": pa.array(_nullable([i * 100_000_000 for i in r]), pa.uint32()),
        "u64": pa.array(_nullable([i * 400_000_000_000_000_000 for i in r]), pa.uint64()),
        "f32": pa.array(_nullable([i * 1.5 for i in r]), pa.float32()),
        "f64": pa.array(_nullable([i / 7 for i in r]), pa.float64()),
        "utf8": pa.array(_nullable(["é🙂x" * (i % 7) for i in r])),
        "large_utf8": pa.array(_nullable([f"large-{i}" for i in r]), pa.large_string()),
        "binary": pa.array(_nullable([bytes(range(i % 9)) for i in r])),
        "fixed_binary": pa.array(_nullable([bytes([i, 2 * i, 3 * i]) for i in r]), pa.binary(3)),
        "date32": pa.array(_nullable([datetime.date(2020, 1, 1) + datetime.timedelta(days=i * 40) for i in r])),
        "ts_us_tz": pa.array(_nullable([datetime.datetime(2024, 1, 1, 12, i % 60) for i in r]), pa.timestamp("us", tz="UTC")),
        "ts_ns": pa.array(_nullable([1_600_000_000_000_000_000 + i for i in r]), pa.timestamp("ns")),
        "time_ms": pa.array(_nullable([i * 1000 for i in r]), pa.time32("ms")),
        "duration_s": pa.array(_nullable([i * 60 for i in r]), pa.duration("s")),
        "decimal": pa.array(_nullable([decimal.Decimal(f"{i}.{i % 100:02d}") for i in r]), pa.decimal128(12, 2)),
        "list": pa.array(_nullable([list(range(i % 4)) for i in r]), pa.list_(pa.int32())),
        "fixed_list": pa.array(_nullable([[i, -i] for i in r]), pa.list_(pa.float64(), 2)),
        "struct": pa.array(_nullable([{"a": i, "b": f"s{i}"} for i in r])),
        "map": pa.array(_nullable([[(f"k{i}", i)] for i in r]), pa.map_(pa.string(), pa.int32())),
        "dictionary": pa.array(_nullable([["red", "green", "blue"][i % 3] for i in r])).dictionary_encode(),
        "nulls": pa.nulls(n),
    })


def batches_of(data) -> list:
    return [data] if isinstance(data, pa.RecordBatch) else data.to_batches()


def sample_tables() -> dict:
    types = _types()
    return {
        "types": types,
        "sliced": types.slice(7, 21),
        # A batch: pyarrow tables drop batches without rows.
        "empty": types.to_batches()[0].slice(0, 0),
        "no_columns": pa.table({}),
        "long": pa.table({"id": pa.array(range(200_000), pa.int32()), "x": pa.array([i * 0.25 for i in range(200_000)])}),
        "wide": pa.table({f"c{c}": pa.array([c * 10 + i for i in range(4)], pa.int16()) for c in range(500)}),
    }


def delta_for_a_dictionary_never_sent():
    """The messages of a stream whose dictionary grows (schema, dictionary,
    batch, delta, batch), for tests that send them out of order."""
    first = pa.array(["a", "b"]).dictionary_encode()
    grown = pa.DictionaryArray.from_arrays(pa.array([0, 2], pa.int32()), pa.array(["a", "b", "c"]))
    schema = pa.schema([("s", first.type)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=pa.ipc.IpcWriteOptions(emit_dictionary_deltas=True)) as stream:
        stream.write_batch(pa.record_batch([first], schema=schema))
        stream.write_batch(pa.record_batch([grown], schema=schema))
    return [message.serialize().to_pybytes() for message in pa.ipc.MessageReader.open_stream(sink.getvalue())]
