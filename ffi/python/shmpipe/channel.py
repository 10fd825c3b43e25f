"""The two ends of a channel, as in the TypeScript binding: a Writer sends
records (send, or claim -> fill -> commit), a Reader receives them.

Received records are zero-copy, read-only memoryviews of shared memory,
valid until released; release() (or receiving the next record) hands the
space back to the writer, which may then overwrite it. copy() keeps the
data longer."""
import atexit
import ctypes
import sys
import threading
import time
from typing import Callable, Iterator, Optional, Sequence, Union

from . import _core
from ._core import AGAIN, CLOSED, INVALID, STATE, TIMEOUT, Error, lib
from .batch import Batch
from .errors import ShmpipeError, check, error
from .segment import OPEN_ALLOW_OTHER_OWNER, OPEN_READ_ONLY_DATA, Segment

# The core's defaults (shmp_constant), the same in every binding.
DEFAULT_TIMEOUT: float = _core.DEFAULT_TIMEOUT
"""Seconds a send or receive waits for the other side unless told otherwise."""
DEFAULT_READY_TIMEOUT: float = _core.DEFAULT_READY_TIMEOUT
"""Seconds an open waits for a creator still setting the channel up."""
DEFAULT_CAPACITY: int = _core.DEFAULT_CAPACITY
"""Record space of a channel created without a capacity."""
DEFAULT_SPIN: int = _core.DEFAULT_SPIN
"""Polls before a wait sleeps on the futex."""
DEFAULT_BATCH_RECORDS: int = _core.DEFAULT_BATCH_RECORDS
"""Records a batch takes at most unless told otherwise (Reader.recv_batch)."""
# Waits are cut into slices so that Ctrl-C (KeyboardInterrupt) is seen
# promptly: Python runs signal handlers only between foreign calls.
_SLICE = 0.1


# Ends still open when the interpreter exits are closed then, so that their
# peers learn "closed" rather than, a moment later, that a process died.
_open_ends: set = set()


@atexit.register
def _close_open_ends() -> None:
    for end in list(_open_ends):
        end._close_at_exit()


class _Endpoint:
    """What both ends share: the segment, the core's handle and an error struct for its calls.

    ctypes lets go of the GIL during a core call, so another thread could
    close the endpoint while a call uses it: every call holds `_lock`, and
    close() first interrupts a waiting call (the core allows that from any
    thread), then takes the lock to free the handle."""

    _interrupt: Callable[[int], None]

    def __init__(self, segment: Segment, attach: Callable):
        self._segment = segment
        self._err = Error()
        self._errp = ctypes.byref(self._err)
        self._lock = threading.Lock()
        self._closing_lock = threading.Lock()
        self._closing = False
        self._handle = attach(segment.pointer, self._errp)
        if not self._handle:
            segment.close()
            raise ShmpipeError.from_error(self._err)
        _open_ends.add(self)

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

    def _close_at_exit(self) -> None:
        self.close()

    def _live(self, op: str) -> int:
        if self._handle is None or self._closing:
            raise error(CLOSED, op, self.name, f"this {type(self).__name__.lower()} was closed")
        return self._handle

    def _call(self, op: str, call: Callable[[int], int]) -> int:
        """One core call on the live handle, which no close can free meanwhile."""
        with self._lock:
            return call(self._live(op))

    def _waited(self, call: Callable[[int, int], int], timeout: Optional[float], op: str) -> int:
        """Repeats a core call (handle, ns) that waits up to ns until it stops timing out or time is up."""
        if timeout is not None and not timeout >= 0:
            raise error(INVALID, op, self.name, f"timeout must be >= 0 seconds or None, got {timeout}")
        deadline = None if timeout is None else time.monotonic() + timeout
        left = _SLICE if timeout is None else min(_SLICE, timeout)
        while True:
            with self._lock:  # as _call(), inline: a record's receive is a few µs, and each frame counts
                rc = call(self._live(op), int(left * 1e9))
            # AGAIN: interrupted by close(), which the next slice says
            if rc != AGAIN and (rc != TIMEOUT or (deadline is not None and time.monotonic() >= deadline)):
                return rc
            left = _SLICE if deadline is None else min(_SLICE, max(0.0, deadline - time.monotonic()))

    def _close_handle(self, close: Callable[[int], None], before: Optional[Callable[[int], None]] = None) -> bool:
        """Interrupts a waiting call, then (after `before`, if given) frees the handle; False if closed already."""
        with self._closing_lock:  # not _lock: a waiting call holds that one
            if self._handle is None or self._closing:
                return False
            self._closing = True
        _open_ends.discard(self)
        self._interrupt(self._handle)  # still valid: only this function frees it, below
        with self._lock:
            try:
                if before is not None:
                    before(self._handle)
            finally:
                close(self._handle)
                self._handle = None
        return True


class Writer(_Endpoint):
    """The writing end of a channel."""

    _interrupt = staticmethod(lib.shmp_writer_interrupt)

    def __init__(self, segment: Segment):
        super().__init__(segment, lib.shmp_writer_attach)
        self._claimed: Optional[memoryview] = None

    @property
    def max_record_size(self) -> int:
        """The largest payload one record can carry."""
        return self._call("send", lib.shmp_writer_max_payload)

    def send(self, data: Union[bytes, bytearray, memoryview, str], timeout: Optional[float] = DEFAULT_TIMEOUT,
             spin: int = DEFAULT_SPIN) -> None:
        """Copies `data` into the next record and publishes it."""
        self._live("send")
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes):  # ctypes passes bytes as they are, other buffers by address
            view = memoryview(data).cast("B")
            data = view.tobytes() if view.readonly else (ctypes.c_char * len(view)).from_buffer(view)
        sent = self._waited(lambda handle, ns: lib.shmp_writer_send(handle, data, len(data), ns, spin, self._errp), timeout, "send")
        check(sent, self._err)

    def send_batch(self, records: Sequence[Union[bytes, bytearray, memoryview, str]],
                   timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> None:
        """Sends each of `records` as a record of its own, in one call into
        the core: for many small records, each of which would otherwise cost
        a call. The records are joined into one buffer first (a copy), so it
        pays for small records, not large ones. Readers see them together.
        If a wait fails, the records before it were sent: the error says how
        many of the batch's records went."""
        self._live("send")
        chunks = [record.encode() if isinstance(record, str) else record for record in records]
        count = len(chunks)
        if count == 0:
            return
        if count > 0xFFFFFFFF:
            raise error(INVALID, "send", self.name, f"a batch holds at most {0xFFFFFFFF} records, not {count}")
        data = b"".join(chunks)
        lengths = (ctypes.c_uint64 * count)(*(len(c) if isinstance(c, (bytes, bytearray)) else memoryview(c).nbytes for c in chunks))
        # Each slice of the wait goes on from the records sent before it, and
        # a failure counts the whole batch (shmp_writer_send_batch_from).
        sent = ctypes.c_uint64(0)
        sentp = ctypes.byref(sent)
        rc = self._waited(lambda handle, ns: lib.shmp_writer_send_batch_from(
            handle, data, len(data), lengths, count, sent.value, ns, spin, sentp, self._errp), timeout, "send")
        check(rc, self._err)

    def claim(self, length: int, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> memoryview:
        """Reserves a record of up to `length` bytes; returns a view of it to fill, then commit()."""
        offset = self._waited(lambda handle, ns: lib.shmp_writer_claim(handle, length, ns, spin, self._errp), timeout, "claim")
        self._claimed = self._segment.view(check(offset, self._err), length, "claim", writable=True)
        self._claimed_at = offset
        return self._claimed

    def _fill(self, at: int, address: int, length: int) -> None:
        """Copies `length` bytes at `address` into the claimed record, `at`
        bytes into it, by the core (shmp_segment_write: through the file of
        a table being published, which is faster than through the mapping)."""
        if at < 0 or self._claimed is None or length > len(self._claimed) - at:
            raise error(INVALID, "send", self.name, f"{length} bytes at {at} do not fit the claimed record")
        check(lib.shmp_segment_write(self._segment.pointer, self._claimed_at + at, address, length, self._errp), self._err)

    def commit(self, length: Optional[int] = None) -> None:
        """Publishes the claimed record with its first `length` bytes (default: all)."""
        if length is None:
            length = len(self._claimed) if self._claimed is not None else 0
        check(self._call("commit", lambda handle: lib.shmp_writer_commit(handle, length, self._errp)), self._err)
        self._drop_claim()

    def _commit_arrow(self, sender: int, length: int) -> int:
        """commit() through the core's Arrow sender of this writer (arrow.py),
        which checks the message first and refuses it unpublished (EARROW);
        the claim is over either way. Returns the message's kind."""
        try:
            return check(self._call("send", lambda _handle: lib.shmp_arrow_sender_commit(sender, length, self._errp)), self._err)
        finally:
            self._drop_claim()

    def abort(self) -> None:
        """Gives the claimed space back unpublished."""
        check(self._call("abort", lambda handle: lib.shmp_writer_abort(handle, self._errp)), self._err)
        self._drop_claim()

    def drain(self, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> None:
        """Waits until every record sent so far has been read and released by
        every reader attached (with none attached yet, until one comes and
        reads them). Raises ETIMEOUT, ECLOSED (the readers left first) or
        EPEERGONE (they died), naming what is still unread."""
        rc = self._waited(lambda handle, ns: lib.shmp_writer_drain(handle, ns, spin, self._errp), timeout, "drain")
        check(rc, self._err)

    def readers_joined(self) -> int:
        """How many readers joined mid-stream since the last call: they missed
        the start of the stream (ArrowWriter sends its schema again for them)."""
        return self._call("send", lib.shmp_writer_readers_joined)

    def close(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        """Marks end-of-stream for the readers and lets go of the segment; a send
        or claim waiting in another thread ends with ECLOSED.

        Nothing is lost silently: if this writer created the channel (its name
        goes now) and no reader has ever attached to read what it sent, close
        first waits up to `timeout` seconds for one to come; if none does, it
        closes and raises EUNREAD, naming the records lost. Readers that
        attached read every record to the end, also after the name is gone."""
        if timeout is not None and not timeout >= 0:
            raise error(INVALID, "close", self.name, f"timeout must be >= 0 seconds or None, got {timeout}")

        def linger(handle: int) -> None:
            """Waits only when records would be lost, in slices (Ctrl-C is seen),
            having said once what for when it is a wait to notice (the core's sentence)."""
            notice = ctypes.create_string_buffer(512)
            if lib.shmp_writer_linger_notice(handle, -1 if timeout is None else int(timeout * 1e9), notice, len(notice)) > 0:
                sys.stderr.write(notice.value.decode(errors="replace") + "\n")
                sys.stderr.flush()
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = _SLICE if deadline is None else min(_SLICE, max(0.0, deadline - time.monotonic()))
                rc = lib.shmp_writer_linger(handle, int(left * 1e9), DEFAULT_SPIN, self._errp)
                if rc == AGAIN:
                    continue  # the interrupt close sends to other calls
                if rc != TIMEOUT or (deadline is not None and time.monotonic() >= deadline):
                    return

        outcome = []
        if self._close_handle(lambda handle: outcome.append(lib.shmp_writer_close_checked(handle, self._errp)), linger):
            self._drop_claim()
            self._segment.close()
            if outcome and outcome[0] < 0:
                raise ShmpipeError.from_error(self._err)

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # an exception on its way out: no waiting, and it says more than a loss would
            self.close(timeout=0)
        except ShmpipeError:
            pass

    def _close_at_exit(self) -> None:
        """Left open at exit: closed without waiting; records lost are reported on stderr."""
        try:
            self.close(timeout=0)
        except ShmpipeError as lost:
            print(lost, file=sys.stderr)

    def _discard(self) -> None:
        """Closes at once, neither waiting nor telling (a publish that failed half-way)."""
        if self._close_handle(lib.shmp_writer_close):
            self._drop_claim()
            self._segment.close()

    def _seal(self, persistent: bool = False) -> Segment:
        """Ends the stream and seals the segment as a published table (persistent:
        it outlives this process); the caller takes the segment."""
        self._live("publish")
        self._close_handle(lib.shmp_writer_seal_persistent if persistent else lib.shmp_writer_seal)
        self._drop_claim()
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

    _interrupt = staticmethod(lib.shmp_reader_interrupt)

    def __init__(self, segment: Segment, attach: Callable = lib.shmp_reader_attach):
        super().__init__(segment, attach)
        self._current: Optional[Union[Message, Batch]] = None  # what was received and not yet released
        self._offset = ctypes.c_uint64(0)
        self._offsetp = ctypes.byref(self._offset)
        self._lease = ctypes.c_uint64(0)
        self._leasep = ctypes.byref(self._lease)
        self._words = (ctypes.c_uint64 * 0)()  # where the core writes a batch's (offset, length) pairs

    def recv(self, timeout: Optional[float] = DEFAULT_TIMEOUT, spin: int = DEFAULT_SPIN) -> Optional[Message]:
        """The next record, or None at end-of-stream. Releases what was received before first."""
        self._live("recv")
        if self._current is not None:
            self._current.release()
        length = self._waited(lambda handle, ns: lib.shmp_reader_next(handle, self._offsetp, ns, spin, self._errp), timeout, "recv")
        if length == CLOSED:
            return None
        offset = self._offset.value
        # The core checked the record against its ring: no second check of the range.
        data = self._segment.mapped()[offset:offset + check(length, self._err)]
        self._current = Message(self, data, self._segment.base + offset)
        return self._current

    def recv_batch(self, max_records: int = DEFAULT_BATCH_RECORDS, timeout: Optional[float] = DEFAULT_TIMEOUT,
                   spin: int = DEFAULT_SPIN) -> Optional[Batch]:
        """The records there are now, up to `max_records`, in one call into the
        core: for many small records, each of which would otherwise cost a
        call. Waits for the first as recv() does. None at end-of-stream.
        Releases what was received before first."""
        if not (isinstance(max_records, int) and 1 <= max_records <= 0xFFFFFFFF):
            raise ValueError(f"shmpipe: max_records must be a whole number >= 1, got {max_records!r}")
        self._live("recv")
        if self._current is not None:
            self._current.release()
        if len(self._words) < 2 * max_records:
            self._words = (ctypes.c_uint64 * (2 * max_records))()
        words = self._words
        count = self._waited(lambda handle, ns: lib.shmp_reader_take_batch(
            handle, words, max_records, self._leasep, ns, spin, self._errp), timeout, "recv")
        if count == CLOSED:
            return None
        check(count, self._err)
        pairs = memoryview(words).cast("B").cast("Q")[:2 * count].tolist()
        self._current = Batch(self, self._segment.mapped(), pairs, self._lease.value)
        return self._current

    def batches(self, max_records: int = DEFAULT_BATCH_RECORDS) -> Iterator[Batch]:
        """Every record until end-of-stream, in batches as recv_batch() takes
        them; each batch is released when the next is asked for. Waits as
        iterating the reader does."""
        while True:
            batch = self.recv_batch(max_records, timeout=None)
            if batch is None:
                return
            yield batch

    def __iter__(self) -> Iterator[Message]:
        """Every record until end-of-stream, waiting as long as the writer
        lives (its death ends the loop with EPEERGONE)."""
        while True:
            message = self.recv(timeout=None)
            if message is None:
                return
            yield message

    def close(self) -> None:
        """Lets go of the segment; a recv waiting in another thread ends with ECLOSED."""
        current, self._current = self._current, None
        if self._close_handle(lib.shmp_reader_close):
            if current is not None:
                current.release()
            self._segment.close()

    def _released(self, message: Message) -> None:
        if message is self._current:
            self._current = None
            with self._lock:
                if self._handle is not None and not self._closing:
                    check(lib.shmp_reader_release(self._handle, self._errp), self._err)

    def _released_batch(self, batch: Batch) -> None:
        if batch is self._current:
            self._current = None
            with self._lock:
                if self._handle is not None and not self._closing:
                    check(lib.shmp_reader_release_lease(self._handle, batch._lease, self._errp), self._err)


def open_flags(allow_other_owner: bool) -> int:
    return OPEN_ALLOW_OTHER_OWNER if allow_other_owner else 0


def create_writer(name: str, capacity: int = DEFAULT_CAPACITY, mode: int = 0o600) -> Writer:
    """Creates the channel and writes to it. Closing the writer removes the name."""
    return Writer(Segment.create(name, capacity, mode))


def open_writer(name: str, allow_other_owner: bool = False, ready_timeout: float = DEFAULT_READY_TIMEOUT, wait: float = 0.0) -> Writer:
    """Writes to a channel another process created (waiting up to `wait`
    seconds for it to be created: start-up order need not matter)."""
    return Writer(Segment.open(name, open_flags(allow_other_owner), ready_timeout, wait))


def create_reader(name: str, capacity: int = DEFAULT_CAPACITY, mode: int = 0o600) -> Reader:
    """Creates the channel and reads from it, its records mapped read-only as
    every reader's are. Closing the reader removes the name."""
    segment = Segment.create(name, capacity, mode)
    try:
        segment.protect_records()
        return Reader(segment)
    except BaseException:
        segment.close()
        raise


def open_reader(name: str, allow_other_owner: bool = False, ready_timeout: float = DEFAULT_READY_TIMEOUT, wait: float = 0.0) -> Reader:
    """Reads from a channel another process created (its records mapped
    read-only), waiting up to `wait` seconds for it to be created."""
    return Reader(Segment.open(name, open_flags(allow_other_owner) | OPEN_READ_ONLY_DATA, ready_timeout, wait))
