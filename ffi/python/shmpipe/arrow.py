"""pyarrow record batches through a channel, one Arrow IPC message per record,
interchangeable with the TypeScript ArrowWriter/ArrowReader.

Reading: the C core checks every record (a private copy of its framing and
metadata, against the stream's schema) before pyarrow sees it. pyarrow then
reads the stream through a file-like object that hands it that checked copy
and the body as a memoryview of shared memory, which pyarrow wraps without
copying: the batch's buffers are views of the record. A batch stays valid
until the next read, release() or close(); after that the writer may reuse
its memory (the views keep the mapping alive, but not the data): call
copy_batch() to keep one. Dictionaries are copied, as later batches use them.

Writing: pyarrow's stream writer writes into a file that keeps what it is
given (_Capture): the small framing and metadata, and each body buffer as
the pyarrow Buffer of the batch itself, not a copy (a batch under 1 MiB is
encoded into memory first: cheaper than a call back into Python per
piece). The core then lays each message out (shmp_arrow_align_buffers);
every buffer is copied once into its record, a large one by the core
(shmp_segment_write: through the file of a table being published), and
the core checks the message before it is committed."""
import bisect
import ctypes
import struct
import weakref
from typing import Iterator, List, Optional, Tuple, Union

import pyarrow as pa

from ._core import ARROW, ARROW_RECORD_BATCH, ARROW_SCHEMA, INVALID, Error, Move, lib
from .channel import DEFAULT_TIMEOUT, Message, Reader, Writer
from .errors import ShmpipeError, check, error

# shmpipe's layout: the body starts 64 bytes into its record, and each
# buffer 64 bytes into the body. pyarrow pads buffers to 8 only (the C++
# IpcWriteOptions.alignment that would make them 64 is not exposed), so the
# core rewrites each message's buffer offsets (shmp_arrow_align_buffers) and
# the writer copies each buffer of pyarrow's body to its place.
_ALIGN = 64
_FRAMING = 8  # 0xFFFFFFFF and the metadata length
_SMALL = 1 << 20  # bytes of data below which pyarrow encodes into memory first (ipc_messages)
_CORE_COPY = 1 << 16  # a buffer this large is copied by the core (shmp_segment_write)


class _Capture:
    """A file for pyarrow's IPC stream writer that keeps each piece it is
    given at its place in the stream instead of copying it: the framing,
    metadata and padding (small bytes) and every body buffer (a pyarrow
    Buffer of the batch's own memory, which pyarrow hands over as it is)."""

    closed = False

    def __init__(self):
        self._starts: List[int] = []
        self._pieces: List[pa.Buffer] = []
        self.size = 0

    def write(self, data) -> int:
        piece = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
        if piece.size:
            self._starts.append(self.size)
            self._pieces.append(piece)
            self.size += piece.size
        return piece.size

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def view(self, at: int, length: int) -> pa.Buffer:
        """The stream's bytes [at, at + length): a slice of the piece that
        holds them all (no copy; every body buffer is one piece), else a copy."""
        if at < 0 or length < 0 or at + length > self.size:
            raise ValueError(f"bytes {at}..{at + length} lie outside the {self.size}-byte stream")
        i = max(bisect.bisect_right(self._starts, at) - 1, 0)
        if length == 0 or at + length <= self._starts[i] + self._pieces[i].size:
            return self._pieces[i].slice(at - self._starts[i], length) if self._pieces else pa.py_buffer(b"")
        parts = []
        while length > 0:
            start = at - self._starts[i]
            part = self._pieces[i].slice(start, min(length, self._pieces[i].size - start))
            parts.append(part.to_pybytes())
            at, length, i = at + part.size, length - part.size, i + 1
        return pa.py_buffer(b"".join(parts))


class _Layout:
    """One message of a captured stream as shmpipe lays it out: its metadata
    with the offsets rewritten by the core, and where each buffer of
    pyarrow's body (a piece of the batch's memory) goes in the record."""

    def __init__(self, stream: _Capture, at: int, channel: str):
        marker, metadata_length = struct.unpack("<Ii", stream.view(at, _FRAMING).to_pybytes())
        if marker != 0xFFFFFFFF or metadata_length <= 0:
            raise error(ARROW, "send", channel, f"pyarrow wrote no IPC message at byte {at} of its stream")
        self.metadata = bytearray(stream.view(at + _FRAMING, metadata_length).to_pybytes())
        self.prefix = -(-(_FRAMING + len(self.metadata)) // _ALIGN) * _ALIGN
        err = Error()
        count = ctypes.c_uint32(0)
        moves = (Move * 16)()
        anchor = (ctypes.c_char * len(self.metadata)).from_buffer(self.metadata)
        while True:
            body_length = lib.shmp_arrow_align_buffers(anchor, len(self.metadata), moves, len(moves), ctypes.byref(count),
                                                      channel.encode(), ctypes.byref(err))
            if body_length == INVALID and count.value > len(moves):
                moves = (Move * count.value)()
                continue
            break
        del anchor
        check(body_length, err)
        body = at + _FRAMING + metadata_length
        # (where it goes in shmpipe's body, the bytes); pyarrow's body ends
        # after its last buffer, padded to 8 bytes (pyarrow's alignment).
        self.buffers = [(m.dst, stream.view(body + m.src, m.length)) for m in moves[:count.value]]
        self.end = body + max([-(-(m.src + m.length) // 8) * 8 for m in moves[:count.value]], default=0)
        self.body_length = body_length
        self.length = self.prefix + body_length

    def write(self, target: memoryview, writer: Writer) -> None:
        """Frames the message into `target`, the record `writer` claimed
        (self.length bytes): one copy of each buffer, the gaps zeroed."""
        target = target.cast("B")
        target[0:4] = b"\xff\xff\xff\xff"
        target[4:8] = (self.prefix - _FRAMING).to_bytes(4, "little")
        end = _FRAMING + len(self.metadata)
        target[_FRAMING:end] = self.metadata
        target[end:self.prefix] = bytes(self.prefix - end)
        at = self.prefix
        for dst, data in self.buffers:
            start = self.prefix + dst
            target[at:start] = bytes(start - at)
            if data.size >= _CORE_COPY:
                writer._fill(start, data.address, data.size)
            elif data.size:  # small: the call into the core would cost more than the copy
                target[start:start + data.size] = memoryview(data).cast("B")
            at = start + data.size
        target[at:self.length] = bytes(self.length - at)


class _Checker:
    """The C core's check of one stream of messages; it keeps the latest schema to check batches against."""

    def __init__(self, channel: str, op: str):
        self._err = Error()
        self._errp = ctypes.byref(self._err)
        self._pointer = lib.shmp_arrow_checker_new(channel.encode(), op.encode(), self._errp)
        if not self._pointer:
            raise ShmpipeError.from_error(self._err)
        self.free = weakref.finalize(self, lib.shmp_arrow_checker_free, self._pointer)

    def check_at(self, address: int, length: int) -> int:
        """The kind of the message at `address`; raises EARROW if it is not valid."""
        return check(lib.shmp_arrow_checker_check(self._pointer, address, length, self._errp), self._err)

    def __call__(self, message: Message, reader: Optional[Reader] = None) -> Tuple[int, bytes, int]:
        """(kind, checked framing and metadata, body length) of a valid message; raises EARROW otherwise.
        With the `reader` it came from, the kind may be 0: skip it, as that
        reader joined mid-stream and waits for the next schema (the core's rule)."""
        if reader is None:
            kind = self.check_at(message._address, len(message))
        else:
            kind = check(reader._call("recv", lambda handle: lib.shmp_reader_check_arrow(
                handle, self._pointer, message._address, len(message), self._errp)), self._err)
            if kind == 0:
                return 0, b"", 0
        prefix = ctypes.string_at(lib.shmp_arrow_checker_prefix(self._pointer), lib.shmp_arrow_checker_prefix_length(self._pointer))
        return kind, prefix, lib.shmp_arrow_checker_body_length(self._pointer)


class _Records:
    """A file (read() and closed are all pyarrow asks for) that pyarrow's
    stream reader pulls messages from, one record of `reader` at a time.

    Each read() is served from the current record: first its checked
    metadata (private bytes), then its body (a memoryview of shared memory,
    or a private copy for dictionaries). A schema after the first ends this
    file, so that the ArrowReader can start a new pyarrow stream with it."""

    closed = False

    def __init__(self, reader: Reader, check_message: _Checker):
        self._reader = reader
        self._check = check_message
        self._parts: list = []
        self._held: Optional[Message] = None  # the record the last batch views
        self.pending: Optional[tuple] = None  # a schema message that starts a new stream
        self.timeout: Optional[float] = DEFAULT_TIMEOUT
        self.started = False

    def release(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None

    def read(self, size: int = -1):
        while not self._parts:
            if not self._next_record():
                return b""
        part = self._parts[0]
        if size < 0 or size >= len(part):
            self._parts.pop(0)
            return part
        self._parts[0] = part[size:]
        return part[:size]

    def _next_record(self) -> bool:
        if self.pending is not None:
            if self.started:
                return False  # the current pyarrow stream ends here
            self._serve(*self.pending)
            self.pending = None
            return True
        self.release()
        message = self._reader.recv(self.timeout)
        if message is None:
            return False
        try:
            kind, prefix, body_length = self._check(message, self._reader)
        except BaseException:
            message.release()
            raise
        if kind == 0:  # this reader joined mid-stream: skipped until the next schema
            message.release()
            return True
        body = message.data[len(prefix):len(prefix) + body_length]
        if kind == ARROW_RECORD_BATCH:
            self._held = message
        else:
            body = bytes(body)  # schemas and dictionaries outlive their record
            message.release()
        if kind == ARROW_SCHEMA and self.started:
            self.pending = (prefix, body)
            return False
        self._serve(prefix, body)
        return True

    def _serve(self, prefix: bytes, body) -> None:
        self.started = True
        self._parts = [prefix, body] if len(body) else [prefix]


class ArrowReader:
    """Receives pyarrow RecordBatches whose buffers are views of shared memory."""

    def __init__(self, reader: Reader, trust_values: bool = False):
        """trust_values skips the core's check of offsets and dictionary
        indices (the metadata is checked still): only for a writer you trust,
        as pyarrow does not check them itself."""
        self._reader = reader
        self._check = _Checker(reader.name, "recv")
        lib.shmp_arrow_checker_trust_values(self._check._pointer, int(trust_values))
        self._records = _Records(reader, self._check)
        self._stream: Optional[pa.ipc.RecordBatchStreamReader] = None
        self._schema: Optional[pa.Schema] = None
        self._ended = False

    @property
    def name(self) -> str:
        return self._reader.name

    @property
    def schema(self) -> Optional[pa.Schema]:
        """The stream's latest schema (None before the first); kept after the end of the stream."""
        return self._schema

    def read(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> Optional[pa.RecordBatch]:
        """The next batch, or None at end-of-stream. Releases the previous batch's record."""
        self._records.timeout = timeout
        while not self._ended:
            try:
                if self._stream is None:
                    self._records.started = False
                    self._stream = pa.ipc.open_stream(self._records)
                    self._schema = self._stream.schema
                return self._stream.read_next_batch()
            except StopIteration:
                pass
            except (pa.ArrowException, OSError) as failure:
                # pyarrow verifies the metadata again, more strictly in places
                # (a flatbuffer field the core's check never reads).
                if self._records.started:
                    self._stream = None
                    self._records.release()
                    raise error(ARROW, "recv", self.name, f"The pyarrow package could not load the message: {failure}") from None
            # The stream ended: a new schema starts the next one, or the writer closed.
            self._stream = None
            self._ended = self._records.pending is None
        self._records.release()
        return None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """Every batch until end-of-stream, waiting as long as the writer
        lives (its death ends the loop with EPEERGONE)."""
        try:
            while True:
                batch = self.read(timeout=None)
                if batch is None:
                    return
                yield batch
        finally:
            self.release()

    def release(self) -> None:
        """Hands the current batch's record back to the writer, which may then reuse its memory."""
        self._records.release()

    def close(self) -> None:
        self.release()
        self._reader.close()
        self._check.free()

    def __enter__(self) -> "ArrowReader":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def ipc_messages(data: Union[pa.RecordBatch, pa.Table], channel: str) -> List[_Layout]:
    """`data` as the IPC messages a writer sends, each laid out for a record,
    the schema first; their buffers are the batch's own memory (no copy)."""
    if not isinstance(data, (pa.RecordBatch, pa.Table)):
        raise error(INVALID, "send", channel, "shmpipe writes a pyarrow RecordBatch or Table")
    # A small batch is encoded by pyarrow into its own memory in one go:
    # cheaper than pyarrow calling back into Python for each piece, and
    # the copy of a few KiB costs nothing. The capture then holds it whole.
    stream = _Capture()
    small = data.get_total_buffer_size() < _SMALL
    sink = pa.BufferOutputStream() if small else stream
    with pa.ipc.new_stream(sink, data.schema) as writer:
        if isinstance(data, pa.Table):  # its batches with rows: an empty table is its schema alone
            for batch in data.to_batches():
                if batch.num_rows:
                    writer.write_batch(batch)
        else:
            writer.write(data)
    if small:
        stream.write(sink.getvalue())
    layouts, at = [], 0
    while stream.view(at, _FRAMING).to_pybytes() != b"\xff\xff\xff\xff\x00\x00\x00\x00":  # the end-of-stream marker
        layouts.append(_Layout(stream, at, channel))
        at = layouts[-1].end
    return layouts


class _Sender:
    """The core's Arrow sender of one writer (ffi/core/src/arrow_send.c): the
    rules of the stream live there, once for every binding: when the schema
    is owed again (a reader joined mid-stream, a message failed) and the
    check of each message before it is committed, so that a message no
    reader could read is the writer's error, not every reader's. What is
    pyarrow's stays here: encoding each message straight into its record."""

    def __init__(self, writer: Writer, op: str):
        self._writer = writer
        self._err = Error()
        # The values come from pyarrow itself: the check trusts them.
        self._pointer = writer._call(op, lambda handle: lib.shmp_arrow_sender_new(handle, op.encode(), 1, ctypes.byref(self._err)))
        if not self._pointer:
            raise ShmpipeError.from_error(self._err)
        self.free = weakref.finalize(self, lib.shmp_arrow_sender_free, self._pointer)

    def schema_owed(self) -> bool:
        return bool(lib.shmp_arrow_sender_schema_owed(self._pointer))

    def send(self, layout: _Layout, timeout: Optional[float]) -> None:
        """Writes a message straight into a claimed record, laid out as
        `layout` says, and commits it once the core's check agrees."""
        target = self._writer.claim(layout.length, timeout)
        try:
            layout.write(target, self._writer)
        except BaseException:
            self._writer.abort()
            lib.shmp_arrow_sender_abort(self._pointer)
            raise
        self._writer._commit_arrow(self._pointer, layout.length)


class ArrowWriter:
    """Sends pyarrow RecordBatches and Tables; the schema goes first, and again
    when it changes or the core says it is owed (a reader joined mid-stream, a
    message failed), with every dictionary: each write sends its dictionaries
    whole. A table without rows sends its schema alone."""

    def __init__(self, writer: Writer):
        self._writer = writer
        self._schema: Optional[pa.Schema] = None
        self._sender = _Sender(writer, "send")

    @property
    def name(self) -> str:
        return self._writer.name

    def write(self, data: Union[pa.RecordBatch, pa.Table], timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        owed = self._sender.schema_owed()
        for i, layout in enumerate(ipc_messages(data, self.name)):
            if i == 0:  # the schema: pyarrow's stream starts with it
                if not owed and self._schema is not None and self._schema.equals(data.schema, check_metadata=True):
                    continue
                self._schema = data.schema
            self._sender.send(layout, timeout)

    def close(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        """Ends the stream and closes the channel's writer (see Writer.close)."""
        self._sender.free()
        self._writer.close(timeout)

    def __enter__(self) -> "ArrowWriter":
        return self

    def __exit__(self, *exc) -> None:
        self._sender.free()
        self._writer.__exit__(*exc)


def copy_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch in memory of your own, to keep after its record is released.

    Copied through an in-memory IPC stream: one copy, for every type pyarrow
    reads (some, like interval[year_month], it cannot wrap as Python arrays)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write_batch(batch)
    return pa.ipc.open_stream(sink.getvalue()).read_next_batch()
