"""Publish-once tables, as in the TypeScript binding (lib/arrow/table.ts):
a table written once into a segment of its own and sealed; any number of
processes open it at once and get a pyarrow Table whose buffers view the
segment in place, valid for as long as they hold it."""
from typing import Union

import pyarrow as pa

from ._core import ARROW, lib
from .arrow import _Checker, _Records, ipc_messages, send_message
from .channel import Reader, create_writer, open_flags
from .errors import error
from .segment import OPEN_READ_ONLY_DATA, Segment


class PublishedTable:
    """A table this process published; unpublish() (or exit) removes its name."""

    def __init__(self, segment: Segment, byte_length: int):
        self.name = segment.name
        self.byte_length = byte_length
        self.owner_pid = lib.shmp_segment_creator_pid(segment.pointer)
        self._segment = segment

    def unpublish(self) -> None:
        """Removes the name; processes that opened the table keep their data."""
        self._segment.close()

    def __enter__(self) -> "PublishedTable":
        return self

    def __exit__(self, *_exc) -> None:
        self.unpublish()


def publish(name: str, table: Union[pa.Table, pa.RecordBatch], mode: int = 0o600) -> PublishedTable:
    """Writes `table` once into a new segment named `name`, for open_table() in any process."""
    messages = ipc_messages(table, name)
    byte_length = sum(lib.shmp_record_footprint(length) for _, length in messages)
    writer = create_writer(name, byte_length, mode)
    sent = _Checker(name, "publish").trust_values(True)
    try:
        for message, length in messages:
            send_message(writer, message, length, 0, sent)
    except BaseException:
        writer.close()
        raise
    finally:
        sent.free()
    return PublishedTable(writer._seal(), byte_length)


def open_table(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0, wait: float = 0.0) -> pa.Table:
    """The table published as `name` (waiting up to `wait` seconds for it to
    be published); its buffers view the segment in place."""
    segment = Segment.open(name, open_flags(allow_other_owner) | OPEN_READ_ONLY_DATA, ready_timeout, wait)
    ready_ns = int(ready_timeout * 1e9)
    with Reader(segment, lambda pointer, errp: lib.shmp_table_open(pointer, ready_ns, errp)) as reader:
        try:
            return pa.ipc.open_stream(_Records(reader, _Checker(name, "open"))).read_all()
        except (pa.ArrowException, OSError) as failure:
            raise error(ARROW, "open", name, f"pyarrow could not load the table: {failure}") from None
