"""pyarrow record batches through a channel, one Arrow IPC message per record,
interchangeable with the TypeScript ArrowWriter/ArrowReader.

Reading: every record passes the C core's check (ffi/src/arrow.c) on a
private copy of its metadata before pyarrow sees it. pyarrow then reads the
stream through a file-like object that hands it that checked metadata and
the body as a memoryview of shared memory, which pyarrow wraps without
copying: the batch's buffers are views of the record. A batch stays valid
until the next read, release() or close(); after that the writer may reuse
its memory (the views keep the mapping alive, but not the data): call
copy_batch() to keep one. Dictionaries are copied, as later batches use them.

Writing: pyarrow cannot write one IPC message into memory it is handed, so
the writer serialises with pyarrow first and copies each message into its
record: one copy more than the TypeScript writer."""
import ctypes
from typing import Iterator, Optional, Union

import pyarrow as pa

from . import _core
from ._core import lib
from .channel import DEFAULT_TIMEOUT, Reader, Writer
from .errors import ShmpipeError

_ALIGN = 64


class _Check:
    """The C core's check of each message, with the schema it checks batches against."""

    def __init__(self, channel: str):
        self.channel = channel
        self._schema = None  # shmp_arrow_schema*
        self._why = ctypes.create_string_buffer(512)

    def __call__(self, record: memoryview):
        """(kind, private metadata prefix, body length) of a valid message; raises EARROW otherwise."""
        length = len(record)
        # The framing is read from the first 8 bytes only.
        prefix_length = lib.shmp_arrow_prefix_length(bytes(record[:8]), length, self._why, len(self._why))
        if prefix_length < 0:
            self._fail(prefix_length)
        prefix = bytes(record[:prefix_length])
        kind = lib.shmp_arrow_check_metadata(self._schema, prefix, prefix_length, length - prefix_length, self._why, len(self._why))
        if kind < 0:
            self._fail(kind)
        if kind == _core.ARROW_SCHEMA:
            error = ctypes.c_int32(0)
            schema = lib.shmp_arrow_schema_read(prefix, len(prefix), ctypes.byref(error), self._why, len(self._why))
            if not schema:
                self._fail(error.value)
            self.free()
            self._schema = schema
        return kind, prefix, lib.shmp_arrow_body_length(prefix, len(prefix))

    def free(self) -> None:
        if self._schema:
            lib.shmp_arrow_schema_free(self._schema)
        self._schema = None

    def _fail(self, code: int):
        raise ShmpipeError(code, self.channel, "recv", self._why.value.decode(errors="replace") if code == _core.ARROW else None)


class _Records:
    """A read-only file that pyarrow's stream reader pulls messages from.

    `fetch(timeout)` gives the next record as (memoryview, release), or None
    at the end: a channel's next message, or a published table's next one.

    Each read() is served from the current record: first its checked
    metadata (private bytes), then its body (a memoryview of shared memory,
    or a private copy for dictionaries). A schema after the first ends this
    file, so that the ArrowReader can start a new pyarrow stream with it."""

    closed = False

    def __init__(self, fetch, check: _Check):
        self._fetch = fetch
        self._check = check
        self._parts: list = []
        self._held = None  # releases the record the last batch views
        self.pending: Optional[tuple] = None  # a schema message that starts a new stream
        self.timeout: Optional[float] = DEFAULT_TIMEOUT
        self.started = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def release(self) -> None:
        if self._held is not None:
            self._held()
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
        fetched = self._fetch(self.timeout)
        if fetched is None:
            return False
        data, release = fetched
        try:
            kind, prefix, body_length = self._check(data)
        except BaseException:
            release()
            raise
        body = data[len(prefix):len(prefix) + body_length]
        if kind == _core.ARROW_RECORD_BATCH:
            self._held = release
        else:
            body = bytes(body)  # schemas and dictionaries outlive their record
            release()
        if kind == _core.ARROW_SCHEMA and self.started:
            self.pending = (kind, prefix, body)
            return False
        self._serve(kind, prefix, body)
        return True

    def _serve(self, kind: int, prefix: bytes, body) -> None:
        self.started = True
        self._parts = [prefix, body] if len(body) else [prefix]


class ArrowReader:
    """Receives pyarrow RecordBatches whose buffers are views of shared memory."""

    def __init__(self, reader: Reader):
        self._reader = reader
        self._check = _Check(reader.name)
        self._records = _Records(self._fetch, self._check)
        self._stream: Optional[pa.ipc.RecordBatchStreamReader] = None
        self._ended = False

    @property
    def name(self) -> str:
        return self._reader.name

    def _fetch(self, timeout: Optional[float]):
        message = self._reader.recv(timeout)
        return None if message is None else (message.data, message.release)

    @property
    def schema(self) -> Optional[pa.Schema]:
        return self._stream.schema if self._stream is not None else None

    def read(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> Optional[pa.RecordBatch]:
        """The next batch, or None at end-of-stream. Releases the previous batch's record."""
        self._records.timeout = timeout
        while not self._ended:
            try:
                if self._stream is None:
                    self._records.started = False
                    self._stream = pa.ipc.open_stream(self._records)
                return self._stream.read_next_batch()
            except StopIteration:
                pass
            except (pa.ArrowException, OSError) as error:
                # pyarrow verifies the metadata again, more strictly in places
                # (a flatbuffer field the core's check never reads).
                if self._records.started:
                    self._stream = None
                    self._records.release()
                    raise ShmpipeError(_core.ARROW, self.name, "recv", f"pyarrow could not load the message: {error}") from None
            # The stream ended: a new schema starts the next one, or the writer closed.
            self._stream = None
            self._ended = self._records.pending is None
        self._records.release()
        return None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                batch = self.read()
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


class ArrowWriter:
    """Sends pyarrow RecordBatches and Tables; the schema goes first, and again when it changes."""

    def __init__(self, writer: Writer):
        self._writer = writer
        self._schema: Optional[pa.Schema] = None

    @property
    def name(self) -> str:
        return self._writer.name

    def write(self, data: Union[pa.RecordBatch, pa.Table], timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        if not isinstance(data, (pa.RecordBatch, pa.Table)):
            raise ShmpipeError(_core.INVALID, self.name, "send", "write() takes a pyarrow RecordBatch or Table")
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as stream:
            stream.write(data)
        messages = pa.ipc.MessageReader.open_stream(sink.getvalue())
        for message in messages:
            if message.type == "schema":
                if self._schema is not None and self._schema.equals(data.schema, check_metadata=True):
                    continue
                self._schema = data.schema
            self._send(message, timeout)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "ArrowWriter":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _send(self, message: "pa.ipc.Message", timeout: Optional[float]) -> None:
        size = pa.MockOutputStream()
        message.serialize_to(size, alignment=_ALIGN)
        length = size.size()
        if length > self._writer.max_record_size:
            raise ShmpipeError(_core.TOO_LARGE, self.name, "send",
                               f"this Arrow message takes {length} bytes and the channel carries at most "
                               f"{self._writer.max_record_size} per record: create it with a larger capacity, or send smaller batches")
        target = self._writer.claim(length, timeout)
        try:
            sink = pa.FixedSizeBufferWriter(pa.py_buffer(target))
            message.serialize_to(sink, alignment=_ALIGN)
            sink.close()
            del sink
        except BaseException:
            self._writer.abort()
            raise
        self._writer.commit()


def copy_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch in memory of your own, to keep after its record is released.

    Copied through an in-memory IPC stream: one copy, for every type pyarrow
    reads (some, like interval[year_month], it cannot wrap as Python arrays)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as stream:
        stream.write_batch(batch)
    return pa.ipc.open_stream(sink.getvalue()).read_next_batch()
