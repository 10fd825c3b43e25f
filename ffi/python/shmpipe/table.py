"""Publish-once tables, as in the TypeScript binding (lib/arrow/table.ts):
a table written once into a segment of its own and sealed; any number of
processes open it at once and get a pyarrow Table whose buffers view the
segment in place, valid for as long as they hold it.

A table published with persist=True outlives its publisher: its name stays
until some process unpublishes it by name (unpublish(name), or
`shmpipe unpublish NAME` on the command line)."""
import ctypes
from typing import Union

import pyarrow as pa

from . import pickling as _pickling
from ._core import ARROW, ENOENT, OPEN_TABLE, Error, lib
from .arrow import _Checker, _Records, _Sender, ipc_messages
from .channel import DEFAULT_READY_TIMEOUT, Reader, Writer, open_flags
from .errors import ShmpipeError, check, error
from .segment import OPEN_READ_ONLY_DATA, Segment, _c_name


class PublishedTable:
    """A table this process published. unpublish() removes its name; close()
    (or exit) removes it too unless the table was published to persist."""

    def __init__(self, segment: Segment, byte_length: int, persistent: bool = False):
        self.name = segment.name
        self.byte_length = byte_length
        self.persistent = persistent
        self.owner_pid = lib.shmp_segment_creator_pid(segment.pointer)
        self._segment = segment
        self._unpublished = False
        self._token = _pickling.token_of(segment.pointer, segment.base)

    def __reduce__(self):
        """Pickles as the table's name (and a token of this publication):
        unpickled, in any process, it is the table opened (open_table), or a
        GoneTable if the table was unpublished or published again since."""
        return _pickling.reduce_published(self.name, self._token)

    def unpublish(self) -> None:
        """Removes the name (a persistent table's too, also after close());
        processes that opened the table keep their data."""
        if self._unpublished:
            return
        self._unpublished = True
        try:
            if self.persistent:
                try:
                    unpublish(self.name)
                except ShmpipeError as gone:
                    if gone.errno != ENOENT:  # unpublished by name already: done
                        raise
        finally:
            self._segment.close()

    def close(self) -> None:
        """Lets go of this process's hold: a persistent table stays published, another goes (as unpublish())."""
        if self.persistent:
            self._segment.close()
        else:
            self.unpublish()

    def __enter__(self) -> "PublishedTable":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def publish(name: str, table: Union[pa.Table, pa.RecordBatch], mode: int = 0o600,
            persist: bool = False) -> PublishedTable:
    """Writes `table` once into a new segment named `name`, for open_table() in
    any process. With persist=True the table outlives this process: its name
    stays until unpublish(name) in any process."""
    messages = ipc_messages(table, name)
    byte_length = sum(lib.shmp_record_footprint(layout.length) for layout in messages)
    writer = Writer(Segment.create(name, byte_length, mode, table=True))
    sender = _Sender(writer, "publish")
    try:
        for layout in messages:
            sender.send(layout, 0)
    except BaseException:
        writer._discard()
        raise
    finally:
        sender.free()
    segment = writer._seal(persist)
    if persist:
        segment.keep_name()  # sealed: from now on the name outlives this process
    return PublishedTable(segment, byte_length, persist)


def unpublish(name: str, allow_other_owner: bool = False) -> None:
    """Removes the published table `name` (persistent or not), from any
    process of its user; the core checks that it is a table, not a channel.
    Processes that opened it keep their data."""
    err = Error()
    cname = _c_name(name, "unpublish")
    check(lib.shmp_table_unpublish(cname, open_flags(allow_other_owner), ctypes.byref(err)), err)


def open_table(name: str, allow_other_owner: bool = False, ready_timeout: float = DEFAULT_READY_TIMEOUT, wait: float = 0.0) -> pa.Table:
    """The table published as `name` (waiting up to `wait` seconds for it to
    be published); its buffers view the segment in place. It, and any part
    of it (columns, slices, batches, arrays), pickles by name (pickling.py)."""
    segment = Segment.open(name, open_flags(allow_other_owner) | OPEN_READ_ONLY_DATA | OPEN_TABLE, ready_timeout, wait)
    _pickling.register(segment, allow_other_owner)  # what views this mapping pickles by name
    ready_ns = int(ready_timeout * 1e9)
    with Reader(segment, lambda pointer, errp: lib.shmp_table_open(pointer, ready_ns, errp)) as reader:
        try:
            return pa.ipc.open_stream(_Records(reader, _Checker(name, "open"))).read_all()
        except (pa.ArrowException, OSError) as failure:
            raise error(ARROW, "open", name, f"The pyarrow package could not load the table: {failure}") from None
