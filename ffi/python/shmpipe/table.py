"""Publish-once tables, as in the TypeScript binding (lib/arrow/table.ts):
a table written once into a segment of its own and sealed; any number of
processes open it at once and get a pyarrow Table whose buffers view the
segment in place, valid for as long as they hold it."""
import ctypes
import time
from typing import Optional, Union

import pyarrow as pa

from . import _core
from ._core import lib
from .arrow import ArrowWriter, _Check, _Records
from .channel import create_writer
from .errors import ShmpipeError
from .segment import Segment

_RECORD_HEADER = 64


def _align64(n: int) -> int:
    return -(-n // 64) * 64


class PublishedTable:
    """A table this process published; unpublish() (or exit) removes its name."""

    def __init__(self, name: str, segment: Segment, byte_length: int):
        self.name = name
        self.byte_length = byte_length
        self.owner_pid = lib.shmp_segment_creator_pid(segment.base, segment.size)
        self._segment: Optional[Segment] = segment

    def unpublish(self) -> None:
        """Removes the name; processes that opened the table keep their data."""
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def __enter__(self) -> "PublishedTable":
        return self

    def __exit__(self, *_exc) -> None:
        self.unpublish()


def _message_bytes(data: Union[pa.Table, pa.RecordBatch]) -> int:
    """Ring bytes ArrowWriter needs for `data`: its messages as records."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as stream:
        stream.write(data)
    total = 0
    for message in pa.ipc.MessageReader.open_stream(sink.getvalue()):
        size = pa.MockOutputStream()
        message.serialize_to(size, alignment=64)
        total += _RECORD_HEADER + _align64(size.size())
    return total


def publish(name: str, table: Union[pa.Table, pa.RecordBatch], mode: int = 0o600) -> PublishedTable:
    """Writes `table` once into a new segment named `name`, for open_table() in any process."""
    byte_length = _message_bytes(table)
    writer = create_writer(name, byte_length, mode)
    try:
        ArrowWriter(writer).write(table, timeout=0)
    except BaseException:
        writer.close()
        raise
    return PublishedTable(name, writer._seal(), byte_length)


def open_table(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> pa.Table:
    """The table published as `name`; its buffers view the segment in place."""
    segment = Segment.open(name, allow_other_owner, ready_timeout)
    check = _Check(name)
    handle = None
    try:
        handle = _open_sealed(segment, ready_timeout)
        offset = ctypes.c_uint64(0)

        def fetch(_timeout):
            length = lib.shmp_reader_peek(handle, ctypes.byref(offset))
            if length == _core.CLOSED:
                return None
            if length < 0:
                raise ShmpipeError(length, name, "open")
            return segment.view(offset.value, length), lambda: lib.shmp_reader_release(handle)

        records = _Records(fetch, check)
        try:
            return pa.ipc.open_stream(records).read_all()
        except (pa.ArrowException, OSError) as error:
            raise ShmpipeError(_core.ARROW, name, "open", f"pyarrow could not load the table: {error}") from None
    finally:
        if handle:
            lib.shmp_reader_close(handle)
        check.free()
        segment.close()


def _open_sealed(segment: Segment, ready_timeout: float) -> int:
    deadline = time.monotonic() + ready_timeout
    error = ctypes.c_int32(0)
    while True:
        handle = lib.shmp_table_open(segment.base, segment.size, ctypes.byref(error))
        if handle:
            return handle
        if error.value != _core.NOT_READY or time.monotonic() > deadline:
            hint = "the table is still being published, or this is a channel rather than a table" if error.value == _core.NOT_READY else None
            raise ShmpipeError(error.value, segment.name, "open", hint)
        time.sleep(0.001)
