"""Published tables travel to worker processes by name.

A pyarrow Table, RecordBatch, ChunkedArray or Array whose buffers view a
table opened with open_table() pickles as that table's name, a token of
the publication, and its own structure (pyarrow's own pickle of it, which
says which columns, which slice: schema, lengths, offsets; compressed) with
every shared buffer written as (offset, length) in the table's segment:
about 200 bytes, plus 5 to 10 per column chunk. Unpickling maps the same
table read-only (open_table) and rebuilds the object over it: no value is
copied. Everything else pickles exactly as pyarrow pickles it.

How: copyreg reducers for those pyarrow types (pyarrow's classes cannot be
subclassed from Python, so open_table cannot return a type of its own).
copyreg.dispatch_table is what pickle.dumps, multiprocessing's
ForkingPickler (Pool, Queue, concurrent.futures), cloudpickle and joblib's
loky all consult, so importing shmpipe is all a user does. Each reducer
looks at the object's buffers: only those that lie in a live mapping of a
published table (a registry of this process's open_table() mappings, held
by weak references, so that the registry never keeps a mapping alive) make
it travel by name; any other object gets pyarrow's own reduction, unchanged.
A channel's batches view a channel, not a published table: they pickle by
value (a copy), as before.

The token is what R's is (ffi/r/src/table.c): the creator's pid, the
capacity, and the inode of the file, read from /proc/self/maps for the
mapping itself (so it cannot race with a replacement of the name). A
reference resolves to a mapping of the same publication this process still
holds, or else opens the name; if the name is gone, or holds a table
published again, unpickling returns a GoneTable: a stand-in whose first use
raises ShmpipeError (ENOENT) saying so. Unpickling itself never raises: an
exception there kills a multiprocessing.Pool worker with its task (map()
then waits for ever) and breaks a ProcessPoolExecutor, while an exception
raised by the task's code comes back through its future or result."""
import copyreg
import ctypes
import io
import os
import pickle
import threading
import weakref
import zlib
from typing import Dict, List, Optional, Tuple

import pyarrow as pa

from ._core import ENOENT, lib
from .errors import ShmpipeError, error

lib.shmp_segment_capacity.argtypes, lib.shmp_segment_capacity.restype = [ctypes.c_void_p], ctypes.c_uint64

Token = Tuple[int, int, int]
"""(creator pid, capacity, inode) of one publication of a name."""


def _inode_at(address: int) -> Optional[int]:
    """The inode of the file mapped at `address` in this process (None if none)."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            for line in maps:
                fields = line.split()
                start, end = (int(part, 16) for part in fields[0].split(b"-"))
                if start <= address < end:
                    inode = int(fields[4])
                    return inode or None
    except OSError:
        pass
    return None


def token_of(pointer: int, base: int) -> Optional[Token]:
    """The token of the segment `pointer` (mapped at `base`); None if its file cannot be told."""
    inode = _inode_at(base)
    if inode is None:
        return None
    return (lib.shmp_segment_creator_pid(pointer), lib.shmp_segment_capacity(pointer), inode)


class _Mapping:
    """One live read-only mapping of a published table in this process."""
    __slots__ = ("name", "token", "ref", "start", "end", "array")

    def __init__(self, name: str, token: Token, start: int, end: int, array, allow_other_owner: bool):
        self.name, self.token, self.start, self.end = name, token, start, end
        # What a reference to it says: one object per mapping, which pickle
        # sends once per message. A table of another user's is opened as it was here.
        self.ref = (name, token, True) if allow_other_owner else (name, token)
        self.array = weakref.ref(array)

    def memory(self) -> Optional[memoryview]:
        array = self.array()
        return None if array is None else memoryview(array).cast("B").toreadonly()


# By start address; an entry goes with its mapping. No lock: each change is
# one dict operation (atomic under the GIL), and a lock held by another
# thread at a fork would stay held in the child.
_mappings: Dict[int, _Mapping] = {}
_last = threading.local()  # the entry open_table() registered last, in this thread


def _forget(start: int, entry: _Mapping) -> None:
    if _mappings.get(start) is entry:
        _mappings.pop(start, None)


def register(segment, allow_other_owner: bool = False) -> None:
    """Called by open_table(): buffers in this segment's mapping may travel by name."""
    _last.entry = None
    token = token_of(segment.pointer, segment.base)
    if token is None:
        return  # no file to tell publications apart by: such tables pickle by value
    array = segment.view(0, 0, "open").obj  # the ctypes array whose life is the mapping's
    entry = _Mapping(segment.name, token, segment.base, segment.base + segment.size, array, allow_other_owner)
    _mappings[entry.start] = entry
    weakref.finalize(array, _forget, entry.start, entry).atexit = False
    _last.entry = entry


def _mapping_of(address: int, size: int) -> Optional[_Mapping]:
    for entry in list(_mappings.values()):
        if entry.start <= address and address + size <= entry.end and entry.array() is not None:
            return entry
    return None


# ---- pickling ------------------------------------------------------------------


def _arrays(obj) -> List[pa.Array]:
    if isinstance(obj, pa.Table):
        return [chunk for column in obj.columns for chunk in column.chunks]
    if isinstance(obj, pa.RecordBatch):
        return obj.columns
    if isinstance(obj, pa.ChunkedArray):
        return obj.chunks
    return [obj]


def _views_a_table(obj) -> bool:
    for array in _arrays(obj):
        buffers = array.buffers()
        if isinstance(array, pa.DictionaryArray):
            buffers += array.dictionary.buffers()
        for buffer in buffers:
            if buffer is not None and buffer.size > 0 and _mapping_of(buffer.address, buffer.size) is not None:
                return True
    return False


class _Writer(pickle.Pickler):
    """pyarrow's own reduction of the object, with each buffer of a published
    table written as a reference: (which table, offset, length)."""
    dispatch_table: dict = {}  # pyarrow's reducers, not ours

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.refs: List[tuple] = []

    def persistent_id(self, obj):
        if not isinstance(obj, pa.Buffer) or obj.size == 0:
            return None
        entry = _mapping_of(obj.address, obj.size)
        if entry is None:
            return None
        if entry.ref not in self.refs:
            self.refs.append(entry.ref)
        return (self.refs.index(entry.ref), obj.address - entry.start, obj.size)


def _reduce(obj):
    if not _mappings or not _views_a_table(obj):
        return obj.__reduce__()  # what pickle does without shmpipe
    out = io.BytesIO()
    writer = _Writer(out)
    writer.dump(obj)
    # Compressed: a table's columns repeat the same few opcodes and types
    # (16 columns of doubles: 1.8 kB, 0.3 kB compressed).
    return _restore, (tuple(writer.refs), zlib.compress(out.getvalue()))


for _type in {pa.Table, pa.RecordBatch, pa.ChunkedArray, pa.Array, *(lambda f: f(f, pa.Array))(
        lambda f, cls: {sub for child in cls.__subclasses__() for sub in (child, *f(f, child))})}:
    copyreg.pickle(_type, _reduce)


# ---- unpickling ----------------------------------------------------------------


def _gone(name: str, detail: str) -> ShmpipeError:
    return error(ENOENT, "unpickle", name, detail)


def _open_checked(name: str, token: Token, allow_other_owner: bool = False):
    """open_table(name), and its mapping if it is publication `token`; raises ShmpipeError if it is gone."""
    from .table import open_table
    publisher = token[0] if token else "?"
    try:
        table = open_table(name, allow_other_owner)
    except ShmpipeError as failure:
        if failure.errno != ENOENT:
            raise
        raise _gone(name, f"The table was unpublished after this object was pickled (it was published by pid {publisher})") from None
    entry = getattr(_last, "entry", None)
    if entry is None or entry.name != name:
        raise _gone(name, "This process cannot tell which publication of the name it opened (/proc/self/maps shows no file "
                          "for the mapping), so it cannot check that it is the table this object was pickled from")
    if entry.token != tuple(token or ()):
        raise _gone(name, f"The table this object was pickled from is gone: the name now holds a table published again "
                          f"(by pid {entry.token[0]}; the pickled one was published by pid {publisher})")
    return table, entry


def _resolve(name: str, token: Token, allow_other_owner: bool = False) -> memoryview:
    """The memory of publication `token` of `name`: a mapping this process
    holds, or the name opened again. Raises ShmpipeError if it is gone."""
    for entry in list(_mappings.values()):
        if entry.name == name and entry.token == tuple(token):
            memory = entry.memory()
            if memory is not None:
                return memory
    table, entry = _open_checked(name, token, allow_other_owner)
    memory = entry.memory()  # alive: `table` holds it
    del table
    return memory


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, memories: List[memoryview]):
        super().__init__(io.BytesIO(data))
        self.memories = memories

    def persistent_load(self, pid):
        which, offset, size = pid
        return pa.py_buffer(self.memories[which][offset:offset + size])


def _restore(refs: tuple, data: bytes):
    try:
        memories = [_resolve(*ref) for ref in refs]
    except ShmpipeError as failure:
        return GoneTable(refs, data, failure)
    return _Reader(zlib.decompress(data), memories).load()


class GoneTable:
    """What a pickled table (record batch, column, array, published table)
    becomes in a process where the table it views is gone: unpublished, or
    published again under its name. Any use raises ShmpipeError (ENOENT)
    saying which; pickled again, it is the same reference."""
    __slots__ = ("_refs", "_data", "_error")

    def __init__(self, refs: tuple, data, failure: ShmpipeError):
        object.__setattr__(self, "_refs", refs)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_error", failure)

    @property
    def error(self) -> ShmpipeError:
        """The error any use raises."""
        e = object.__getattribute__(self, "_error")
        return ShmpipeError(e.errno, e.segment, e.op, str(e))

    def _fail(self, *_args, **_kwargs):
        raise self.error

    def __getattr__(self, _name):
        raise self.error

    __len__ = __iter__ = __getitem__ = __contains__ = __array__ = __setattr__ = _fail

    def __repr__(self) -> str:
        return f"<shmpipe.GoneTable: {object.__getattribute__(self, '_error')}>"

    def __reduce__(self):
        refs, data = object.__getattribute__(self, "_refs"), object.__getattribute__(self, "_data")
        return (_restore, (refs, data)) if data is not None else (_open_published, refs[0])


# ---- the handle publish() returns ---------------------------------------------


def reduce_published(name: str, token: Optional[Token]):
    """PublishedTable.__reduce__: the name and token; unpickled, the table opened (or a GoneTable)."""
    return _open_published, (name, token)


def _open_published(name: str, token: Optional[Token]):
    try:
        return _open_checked(name, token)[0]
    except ShmpipeError as failure:
        return GoneTable(((name, token),), None, failure)
