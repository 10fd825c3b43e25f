"""The two ends of a channel, as in the TypeScript binding: a Writer sends
records (send, or claim -> fill -> commit), a Reader receives them.

Received records are zero-copy, read-only memoryviews of shared memory,
valid until released; release() (or receiving the next record) hands the
space back to the writer, which may then overwrite it. copy() keeps the
data longer."""
import ctypes
import time
from typing import Callable, Iterator, Optional, Union

from ._core import CLOSED, INVALID, STATE, TIMEOUT, Error, lib
from .errors import ShmpipeError, check, error
from .segment import OPEN_ALLOW_OTHER_OWNER, OPEN_READ_ONLY_DATA, Segment

DEFAULT_TIMEOUT = 30.0
"""Seconds a send or receive waits for the other side unless told otherwise."""
DEFAULT_SPIN = 256
"""Polls before sleeping on the futex (see lib/options.ts)."""
# Waits are cut into slices so that Ctrl-C (KeyboardInterrupt) is seen
# promptly: Python runs signal handlers only between foreign calls.
_SLICE = 0.1


class _Endpoint:
    """What both ends share: the segment, the core's handle and an error struct for its calls."""

    def __init__(self, segment: Segment, attach: Callable):
        self._segment = segment
        self._err = Error()
        self._errp = ctypes.byref(self._err)
        self._handle = attach(segment.pointer, self._errp)
        if not self._handle:
            segment.close()
            raise ShmpipeError.from_error(self._err)

    @property
    def name(self) -> str:
        return self._segment.name

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _live(self, op: str) -> int:
        if self._handle is None:
            raise error(CLOSED, op, self.name, f"this {type(self).__name__.lower()} was closed")
        return self._handle

    def _waited(self, call: Callable[[int], int], timeout: Optional[float], op: str) -> int:
        """Repeats a core call that waits up to the given ns until it stops timing out or time is up."""
        if timeout is not None and not timeout >= 0:
            raise error(INVALID, op, self.name, f"timeout must be >= 0 seconds or None, got {timeout}")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _SLICE if deadline is None else min(_SLICE, max(0.0, deadline - time.monotonic()))
            rc = call(int(left * 1e9))
            if rc != TIMEOUT or (deadline is not None and time.monotonic() >= deadline):
                return rc


class Writer(_Endpoint):
    """The writing end of a channel."""

    def __init__(self, segment: Segment):
        super().__init__(segment, lib.shmp_writer_attach)
        self._claimed: Optional[memoryview] = None

    @property
    def max_record_size(self) -> int:
        """The largest payload one record can carry."""
        return lib.shmp_writer_max_payload(self._live("send"))

    def send(self, data: Union[bytes, bytearray, memoryview, str], timeout: Optional[float] = DEFAULT_TIMEOUT,
             spin: int = DEFAULT_SPIN) -> None:
        """Copies `data` into the next record and publishes it."""
        handle = self._live("send")
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes):  # ctypes passes bytes as they are, other buffers by address
            view = memoryview(data).cast("B")
            data = view.tobytes() if view.readonly else (ctypes.c_char * len(view)).from_buffer(view)
        sent = self._waited(lambda ns: lib.shmp_writer_send(handle, data, len(data), ns, spin, self._errp), timeout, "send")
        check(sent, self._err)

    def claim(self, length: int, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> memoryview:
        """Reserves a record of up to `length` bytes; returns a view of it to fill, then commit()."""
        handle = self._live("claim")
        offset = self._waited(lambda ns: lib.shmp_writer_claim(handle, length, ns, spin, self._errp), timeout, "claim")
        self._claimed = self._segment.view(check(offset, self._err), length, "claim", writable=True)
        return self._claimed

    def commit(self, length: Optional[int] = None) -> None:
        """Publishes the claimed record with its first `length` bytes (default: all)."""
        handle = self._live("commit")
        if length is None:
            length = len(self._claimed) if self._claimed is not None else 0
        check(lib.shmp_writer_commit(handle, length, self._errp), self._err)
        self._drop_claim()

    def abort(self) -> None:
        """Gives the claimed space back unpublished."""
        check(lib.shmp_writer_abort(self._live("abort"), self._errp), self._err)
        self._drop_claim()

    def close(self) -> None:
        """Marks end-of-stream for the readers and lets go of the segment."""
        if self._handle is None:
            return
        self._drop_claim()
        lib.shmp_writer_close(self._handle)
        self._handle = None
        self._segment.close()

    def _seal(self) -> Segment:
        """Ends the stream and seals the segment as a published table; the caller takes the segment."""
        handle = self._live("publish")
        self._drop_claim()
        lib.shmp_writer_seal(handle)
        self._handle = None
        return self._segment

    def _drop_claim(self) -> None:
        # Invalidate the view so it cannot write into a published record
        # (unless someone made buffers of it: then it cannot be released).
        if self._claimed is not None:
            try:
                self._claimed.release()
            except BufferError:
                pass
        self._claimed = None


class Message:
    """One received record. `data` is a read-only memoryview of shared memory, valid until release()."""

    def __init__(self, reader: "Reader", data: memoryview, address: int):
        self._reader: Optional[Reader] = reader
        self._address = address  # for the C core's Arrow check
        self.channel = reader.name
        self.data = data

    @property
    def released(self) -> bool:
        return self._reader is None

    def copy(self) -> bytes:
        """The payload in memory of your own, to keep after release()."""
        if self._reader is None:
            raise error(STATE, "recv", self.channel, "copy() the message before releasing it")
        return bytes(self.data)

    def release(self) -> None:
        """Hands the record's space back to the writer."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        try:
            self.data.release()
        except BufferError:
            pass  # a pyarrow buffer or numpy array still uses it
        reader._released(self)

    def __len__(self) -> int:
        return len(self.data)

    def __enter__(self) -> "Message":
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


class Reader(_Endpoint):
    """The reading end of a channel (or a published table); iterate it for every record until end-of-stream."""

    def __init__(self, segment: Segment, attach: Callable = lib.shmp_reader_attach):
        super().__init__(segment, attach)
        self._current: Optional[Message] = None
        self._offset = ctypes.c_uint64(0)
        self._offsetp = ctypes.byref(self._offset)

    def recv(self, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> Optional[Message]:
        """The next record, or None at end-of-stream. Releases the previous record first."""
        handle = self._live("recv")
        if self._current is not None:
            self._current.release()
        length = self._waited(lambda ns: lib.shmp_reader_next(handle, self._offsetp, ns, spin, self._errp), timeout, "recv")
        if length == CLOSED:
            return None
        offset = self._offset.value
        data = self._segment.view(offset, check(length, self._err), "recv")
        self._current = Message(self, data, self._segment.base + offset)
        return self._current

    def __iter__(self) -> Iterator[Message]:
        while True:
            message = self.recv()
            if message is None:
                return
            yield message

    def close(self) -> None:
        if self._handle is None:
            return
        if self._current is not None:
            self._current.release()
        lib.shmp_reader_close(self._handle)
        self._handle = None
        self._segment.close()

    def _released(self, message: Message) -> None:
        if message is self._current:
            self._current = None
            if self._handle is not None:
                check(lib.shmp_reader_release(self._handle, self._errp), self._err)


def open_flags(allow_other_owner: bool) -> int:
    return OPEN_ALLOW_OTHER_OWNER if allow_other_owner else 0


def create_writer(name: str, capacity: int, mode: int = 0o600) -> Writer:
    """Creates the channel and writes to it. Closing the writer removes the name."""
    return Writer(Segment.create(name, capacity, mode))


def open_writer(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> Writer:
    """Writes to a channel another process created."""
    return Writer(Segment.open(name, open_flags(allow_other_owner), ready_timeout))


def create_reader(name: str, capacity: int, mode: int = 0o600) -> Reader:
    """Creates the channel and reads from it. Closing the reader removes the name."""
    return Reader(Segment.create(name, capacity, mode))


def open_reader(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> Reader:
    """Reads from a channel another process created (its records mapped read-only)."""
    return Reader(Segment.open(name, open_flags(allow_other_owner) | OPEN_READ_ONLY_DATA, ready_timeout))
