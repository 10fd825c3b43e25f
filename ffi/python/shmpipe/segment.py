"""A segment is one named shared memory object mapped into this process.
The C core creates, opens and checks it; this module keeps the mapping alive
for Python's views and removes the names this process created (at close,
at exit, and on SIGTERM/SIGHUP, through the core).

The core counts references to a mapping and unmaps it after the last one.
A Segment holds one until close(); every view handed out is a slice of one
memoryview over a ctypes array that holds another, dropped when that array
is collected, i.e. after the last view of it (also inside a pyarrow buffer)
is gone: a view never outlives its mapping."""
import atexit
import ctypes
import os
import time
import weakref
from typing import Optional

from ._core import (DEFAULT_READY_TIMEOUT, ENOENT, INVALID, NAME_MAX, NOT_READY, OPEN_ALLOW_OTHER_OWNER, OPEN_READ_ONLY_DATA,
                    OPEN_WAIT_FOR_NAME, Error, lib)
from .errors import ShmpipeError, check, error


def _c_name(name: str, op: str) -> bytes:
    # The core checks the name; only what C strings cannot carry is ours.
    if not isinstance(name, str) or "\0" in name:
        raise error(INVALID, op, str(name).replace("\0", "?"), "a channel name is a str without NUL characters")
    return name.encode()


def shm_path(name: str) -> str:
    """The path of a channel's segment under /dev/shm."""
    err = Error()
    out = ctypes.create_string_buffer(NAME_MAX + 64)
    check(lib.shmp_shm_name(_c_name(name, "open"), b"open", out, len(out), ctypes.byref(err)), err)
    return "/dev/shm" + out.value.decode()


NAME_PREFIX = os.path.basename(shm_path("x"))[:-1]
"""What the core puts before a channel's name in /dev/shm ("shmpipe.")."""

# ---- names this process must remove -----------------------------------------
# The core keeps the list (it records a name at create and forgets it at
# shmp_unlink) and the signal policy, for every binding: entries carry the
# pid that made them, so a forked child (multiprocessing) never removes its
# parent's names. Registered at import, before any end's exit hook, so that
# it runs last: ends still open are closed first.
atexit.register(lib.shmp_owned_unlink_all)
_signals_installed = False


def _unlink_on_signals() -> None:
    """Removes this process's names on SIGTERM and SIGHUP, then lets the
    signal end it. The core takes only a signal whose action is still the
    default: Python's SIGINT (KeyboardInterrupt, which ends in atexit) and a
    handler the program set before stay; one it sets later replaces this."""
    global _signals_installed
    if not _signals_installed:
        _signals_installed = True
        lib.shmp_owned_unlink_on_signals()


def unlink(name: str) -> None:
    """Removes a channel's name from /dev/shm (existing mappings stay valid)."""
    err = Error()
    check(lib.shmp_unlink(_c_name(name, "unlink"), ctypes.byref(err)), err)


# ---- the mapping ----------------------------------------------------------------


def _views(segment: int) -> memoryview:
    """A memoryview of the whole mapping that holds a reference of its own."""
    lib.shmp_segment_ref(segment)
    array = (ctypes.c_char * lib.shmp_segment_length(segment)).from_address(lib.shmp_segment_base(segment))
    # Not at exit: views may still be used while the interpreter shuts down.
    weakref.finalize(array, lib.shmp_segment_unref, segment).atexit = False
    return memoryview(array).cast("B")


class Segment:
    """One mapped segment (the core's shmp_segment*); close() drops this object's hold on it."""

    def __init__(self, pointer: int, owned: bool):
        self.pointer = pointer
        self.name = lib.shmp_segment_name(pointer).decode()
        self.base = lib.shmp_segment_base(pointer)
        self.size = lib.shmp_segment_length(pointer)
        self.owned = owned
        self._memory: Optional[memoryview] = _views(pointer)
        self._readonly = self._memory.toreadonly()
        self._err = Error()
        self._release = weakref.finalize(self, lib.shmp_segment_unref, pointer)
        self._release.atexit = False

    @classmethod
    def create(cls, name: str, capacity: int, mode: int = 0o600, table: bool = False) -> "Segment":
        """A new segment; with `table`, one for a table about to be published,
        written through its file until sealed (the core's shmp_table_create)."""
        err = Error()
        create = lib.shmp_table_create if table else lib.shmp_segment_create
        pointer = create(_c_name(name, "create"), capacity, mode, ctypes.byref(err))
        if not pointer:
            raise ShmpipeError.from_error(err)
        _unlink_on_signals()
        return cls(pointer, owned=True)

    @classmethod
    def open(cls, name: str, flags: int = 0, ready_timeout: float = DEFAULT_READY_TIMEOUT, wait: float = 0.0) -> "Segment":
        """Opens the segment; with `wait` > 0, waits that long for it to be
        created, in slices of 0.1 s so that Ctrl-C is seen."""
        err = Error()
        cname = _c_name(name, "open")
        if not wait > 0:
            pointer = lib.shmp_segment_open(cname, flags, int(ready_timeout * 1e9), ctypes.byref(err))
        else:
            deadline = time.monotonic() + wait  # one limit for both: the name, then the header
            while True:
                left = max(0.0, deadline - time.monotonic())
                pointer = lib.shmp_segment_open(cname, flags | OPEN_WAIT_FOR_NAME, int(min(0.1, left) * 1e9),
                                                ctypes.byref(err))
                if pointer or err.code not in (ENOENT, NOT_READY) or left == 0:
                    break
        if not pointer:
            raise ShmpipeError.from_error(err)
        return cls(pointer, owned=False)

    def protect_records(self) -> None:
        """Maps the records read-only from now on (a reader of a channel this
        process created): no reader can change what another reads."""
        check(lib.shmp_segment_protect_records(self.pointer, ctypes.byref(self._err)), self._err)

    def keep_name(self) -> None:
        """The name outlives this process (a persistent table): close() and exit leave it."""
        if self.owned:
            self.owned = False
            lib.shmp_owned_forget(self.name.encode())

    def view(self, offset: int, length: int, op: str, writable: bool = False) -> memoryview:
        """Bytes [offset, offset + length) of the mapping, once the core agrees they lie in it."""
        check(lib.shmp_segment_range(self.pointer, offset, length, op.encode(), ctypes.byref(self._err)), self._err)
        return (self._memory if writable else self._readonly)[offset:offset + length]

    def mapped(self) -> memoryview:
        """The whole mapping, read-only, for views of ranges the core has
        checked already (a batch's records: Reader.recv_batch)."""
        return self._readonly

    @property
    def closed(self) -> bool:
        return self._memory is None

    def close(self) -> None:
        """Removes the name if this process created it, and lets go of the mapping (views keep it)."""
        if self._memory is None:
            return
        if self.owned:
            self.owned = False
            # Only while still this process's: a name unpublished since may
            # belong to another process's segment now.
            lib.shmp_owned_unlink(self.name.encode(), None)
        self._memory = self._readonly = None
        self._release()
