"""The two ends of a channel, as in the TypeScript binding: a Writer sends
records (send, or claim -> fill -> commit), a Reader receives them.

Received records are zero-copy memoryviews of shared memory, valid until
released; release() (or receiving the next record) hands the space back to
the writer, which may then overwrite it. copy() keeps the data longer."""
import ctypes
import time
from typing import Iterator, Optional, Union

from . import _core
from ._core import lib
from .errors import ShmpipeError
from .segment import Segment

DEFAULT_TIMEOUT = 30.0
"""Seconds a send or receive waits for the other side unless told otherwise."""
DEFAULT_SPIN = 256
"""Polls before sleeping on the futex (see lib/options.ts)."""
# Waits are cut into slices so that Ctrl-C (KeyboardInterrupt) is seen
# promptly; the core checks the peer's liveness within each slice anyway.
_SLICE = 0.1


def _deadline(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    if not timeout >= 0:
        raise ValueError(f"shmpipe: timeout must be >= 0 seconds or None, got {timeout}")
    return time.monotonic() + timeout


def _slice_ns(deadline: Optional[float]) -> int:
    left = _SLICE if deadline is None else min(_SLICE, max(0.0, deadline - time.monotonic()))
    return int(left * 1e9)


def _waited(call, deadline: Optional[float]) -> int:
    """Repeats a core call that waits up to the given ns until it stops timing out or time is up."""
    while True:
        rc = call(_slice_ns(deadline))
        if rc != _core.TIMEOUT or (deadline is not None and time.monotonic() >= deadline):
            return rc


_BUSY_HINTS = {
    "shmp_writer_attach": "another live process is already this channel's writer",
    "shmp_reader_attach": "all 32 reader slots of this channel are taken by live readers",
}


def _attach(segment: Segment, attach) -> int:
    error = ctypes.c_int32(0)
    handle = attach(segment.base, segment.size, ctypes.byref(error))
    if not handle:
        segment.close()
        hint = _BUSY_HINTS.get(attach.__name__) if error.value == _core.BUSY else None
        raise ShmpipeError(error.value, segment.name, "attach", hint)
    return handle


class Writer:
    """The writing end of a channel."""

    def __init__(self, segment: Segment):
        self._segment = segment
        self._handle = _attach(segment, lib.shmp_writer_attach)
        self._claimed: Optional[memoryview] = None
        self._claimed_length = 0
        self.max_record_size = lib.shmp_max_payload(lib.shmp_segment_capacity(segment.base))

    @property
    def name(self) -> str:
        return self._segment.name

    @property
    def closed(self) -> bool:
        return self._handle is None

    def send(self, data: Union[bytes, bytearray, memoryview, str], timeout: Optional[float] = DEFAULT_TIMEOUT,
             spin: int = DEFAULT_SPIN) -> None:
        """Copies `data` into the next record and publishes it."""
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data).cast("B")
        target = self.claim(len(view), timeout, spin)
        target[:] = view
        self.commit()

    def claim(self, length: int, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> memoryview:
        """Reserves a record of up to `length` bytes; returns a view of it to fill, then commit()."""
        handle = self._live("claim")
        if self._claimed is not None:
            raise ShmpipeError(_core.STATE, self.name, "claim", "commit() or abort() the previous claim first")
        deadline = _deadline(timeout)
        offset = _waited(lambda ns: lib.shmp_writer_claim(handle, length, ns, spin), deadline)
        if offset < 0:
            self._fail("claim", offset, length)
        self._claimed = self._segment.view(offset, length)
        self._claimed_length = length
        return self._claimed

    def commit(self, length: Optional[int] = None) -> None:
        """Publishes the claimed record with its first `length` bytes (default: all)."""
        handle = self._live("commit")
        if self._claimed is None:
            raise ShmpipeError(_core.STATE, self.name, "commit", "claim() a record first")
        length = self._claimed_length if length is None else length
        if not 0 <= length <= self._claimed_length:
            raise ShmpipeError(_core.INVALID, self.name, "commit", f"length {length} is outside the {self._claimed_length} bytes claimed")
        self._drop_claim()
        rc = lib.shmp_writer_commit(handle, length)
        if rc != 0:
            self._fail("commit", rc, length)

    def abort(self) -> None:
        """Gives the claimed space back unpublished."""
        handle = self._live("abort")
        if self._claimed is not None:
            self._drop_claim()
            lib.shmp_writer_abort(handle)

    def close(self) -> None:
        """Marks end-of-stream for the reader and lets go of the segment."""
        if self._handle is None:
            return
        self._drop_claim()
        lib.shmp_writer_close(self._handle)
        self._handle = None
        self._segment.close()

    def _seal(self) -> Segment:
        """Ends the stream and seals the segment as a published table; the caller takes the segment."""
        handle = self._live("commit")
        self._drop_claim()
        lib.shmp_writer_seal(handle)
        self._handle = None
        return self._segment

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _drop_claim(self) -> None:
        # Invalidate the view so it cannot write into a published record
        # (unless someone made buffers of it: then it cannot be released).
        if self._claimed is not None:
            try:
                self._claimed.release()
            except BufferError:
                pass
        self._claimed = None

    def _live(self, op: str) -> int:
        if self._handle is None:
            raise ShmpipeError(_core.CLOSED, self.name, op, "this writer was closed")
        return self._handle

    def _fail(self, op: str, rc: int, length: int):
        hint = None
        if rc == _core.TOO_LARGE:
            hint = (f"a {length}-byte record does not fit: this channel carries at most {self.max_record_size} "
                    "bytes per record; create it with a larger capacity")
        raise ShmpipeError(rc, self.name, op, hint)


class Message:
    """One received record. `data` is a memoryview of shared memory, valid until release()."""

    def __init__(self, reader: "Reader", data: memoryview):
        self._reader: Optional[Reader] = reader
        self.channel = reader.name
        self.data = data

    @property
    def released(self) -> bool:
        return self._reader is None

    def copy(self) -> bytes:
        """The payload in memory of your own, to keep after release()."""
        if self._reader is None:
            raise ShmpipeError(_core.STATE, self.channel, "recv", "copy() the message before releasing it")
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


class Reader:
    """The reading end of a channel; iterate it for every record until end-of-stream."""

    def __init__(self, segment: Segment):
        self._segment = segment
        self._handle = _attach(segment, lib.shmp_reader_attach)
        self._current: Optional[Message] = None
        self._offset = ctypes.c_uint64(0)

    @property
    def name(self) -> str:
        return self._segment.name

    @property
    def closed(self) -> bool:
        return self._handle is None

    def recv(self, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> Optional[Message]:
        """The next record, or None at end-of-stream. Releases the previous record first."""
        handle = self._live()
        if self._current is not None:
            self._current.release()
        offset = ctypes.byref(self._offset)
        length = _waited(lambda ns: lib.shmp_reader_next(handle, offset, ns, spin), _deadline(timeout))
        if length == _core.CLOSED:
            return None
        if length < 0:
            raise ShmpipeError(length, self.name, "recv")
        self._current = Message(self, self._segment.view(self._offset.value, length))
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

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _released(self, message: Message) -> None:
        if message is self._current:
            self._current = None
            if self._handle is not None:
                lib.shmp_reader_release(self._handle)

    def _live(self) -> int:
        if self._handle is None:
            raise ShmpipeError(_core.CLOSED, self.name, "recv", "this reader was closed")
        return self._handle


def create_writer(name: str, capacity: int, mode: int = 0o600) -> Writer:
    """Creates the channel and writes to it. Closing the writer removes the name."""
    return Writer(Segment.create(name, capacity, mode))


def open_writer(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> Writer:
    """Writes to a channel another process created."""
    return Writer(Segment.open(name, allow_other_owner, ready_timeout))


def create_reader(name: str, capacity: int, mode: int = 0o600) -> Reader:
    """Creates the channel and reads from it. Closing the reader removes the name."""
    return Reader(Segment.create(name, capacity, mode))


def open_reader(name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> Reader:
    """Reads from a channel another process created."""
    return Reader(Segment.open(name, allow_other_owner, ready_timeout))
