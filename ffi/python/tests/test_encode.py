"""The core's Arrow encoder (for bindings without an Arrow library, R)
checked against pyarrow, the independent oracle: what it writes is a
stream pyarrow reads back value for value."""
import ctypes
import struct

import pyarrow as pa

from shmpipe._core import Error, lib

_p, _c = ctypes.c_void_p, ctypes.c_char_p


class Column(ctypes.Structure):
    """shmp_column (shmpipe.h)."""
    _fields_ = [("name", _c), ("kind", ctypes.c_uint32), ("r_na", ctypes.c_int32), ("timezone", _c),
                ("null_count", ctypes.c_int64), ("validity", _p), ("values", _p), ("offsets", _p), ("data", _p),
                ("dictionary_length", ctypes.c_int64), ("dictionary_offsets", _p), ("dictionary_data", _p)]


FLOAT64, INT32, BOOL, UTF8, DICTIONARY_UTF8, DATE32, TIMESTAMP_US, INT64 = range(1, 9)


def _buffer(data: bytes):
    return ctypes.create_string_buffer(data, len(data) or 1)


def _encode(function, *args) -> bytes:
    err = Error()
    function.restype = ctypes.c_int64
    size = function(*args, None, 0, ctypes.byref(err))
    assert size > 0, err.message
    out = ctypes.create_string_buffer(size)
    assert function(*args, out, size, ctypes.byref(err)) == size
    return out.raw


def test_encoded_messages_are_read_by_pyarrow_value_for_value():
    keep = []  # the buffers the columns point to

    def buf(data):
        keep.append(_buffer(data))
        return ctypes.cast(keep[-1], _p)

    rows = 5
    na = struct.unpack("<d", struct.pack("<Q", 0x7FF00000000007A2))[0]  # R's NA_real_
    columns = (Column * 8)(
        Column(b"price", FLOAT64, 1, None, 1, buf(bytes([0x1B])), buf(struct.pack("<5d", 1.5, 2.5, na, 4.5, 5.5))),
        Column(b"count", INT32, 0, None, 0, None, buf(struct.pack("<5i", 1, 2, 3, 4, 5))),
        Column(b"flag", BOOL, 0, None, 0, None, buf(bytes([0x15]))),
        Column(b"text", UTF8, 0, None, 0, None, None, buf(struct.pack("<6i", 0, 1, 3, 3, 6, 7)), buf(b"abbcccd")),
        Column(b"symbol", DICTIONARY_UTF8, 0, None, 0, None, buf(struct.pack("<5i", 0, 1, 0, 1, 1)), None, None,
               2, buf(struct.pack("<3i", 0, 4, 8)), buf(b"MSFTAAPL")),
        Column(b"day", DATE32, 0, None, 0, None, buf(struct.pack("<5i", *range(19000, 19005)))),
        Column(b"at", TIMESTAMP_US, 0, b"Europe/Zurich", 0, None, buf(struct.pack("<5q", *range(5)))),
        Column(b"big", INT64, 0, None, 0, None, buf(struct.pack("<5q", *(1 << 40 + i for i in range(5))))),
    )
    stream = (_encode(lib.shmp_arrow_encode_schema, columns, 8)
              + _encode(lib.shmp_arrow_encode_dictionary, columns, 8, 4)
              + _encode(lib.shmp_arrow_encode_batch, columns, 8, ctypes.c_int64(rows)))
    table = pa.ipc.open_stream(stream).read_all()
    table.validate(full=True)
    assert table.to_pydict() == pa.table({
        "price": [1.5, 2.5, None, 4.5, 5.5],
        "count": pa.array([1, 2, 3, 4, 5], pa.int32()),
        "flag": [True, False, True, False, True],
        "text": ["a", "bb", "", "ccc", "d"],
        "symbol": pa.array(["MSFT", "AAPL", "MSFT", "AAPL", "AAPL"]).dictionary_encode(),
        "day": pa.array(list(range(19000, 19005)), pa.date32()),
        "at": pa.array(range(5), pa.timestamp("us", tz="Europe/Zurich")),
        "big": [1 << 40 + i for i in range(5)],
    }).to_pydict()
    assert table.schema.field("price").metadata == {b"shmpipe.r_na": b"true"}
    assert table.schema.field("symbol").type.index_type == pa.int32()
    assert table.schema.field("at").type.tz == "Europe/Zurich"
