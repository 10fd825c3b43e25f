"""A segment is one POSIX shared memory object mapped into this process:
naming, creation (O_EXCL, mode 0600, memory reserved up front), opening
(owner and header checks) and removing the names this process created, also
on SIGTERM/SIGHUP and at exit.

The mapping is a Python mmap. Views handed out are memoryview slices of it;
while any exists (also inside a pyarrow buffer) the mmap cannot be closed,
so close() leaves the unmapping to the last view's collection: a view never
outlives its mapping."""
import atexit
import ctypes
import mmap
import os
import re
import signal
import time
from typing import Optional

from . import _core
from ._core import lib
from .errors import ShmpipeError

NAME_PREFIX = "shmpipe."
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")
_PAGE = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
_libc.shm_open.restype = ctypes.c_int
_libc.shm_unlink.argtypes = [ctypes.c_char_p]
_libc.shm_unlink.restype = ctypes.c_int


def shm_path(name: str) -> str:
    """The path of a channel's segment under /dev/shm."""
    return f"/dev/shm/{NAME_PREFIX}{name}"


def _shm_name(name: str, op: str) -> bytes:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ShmpipeError(_core.INVALID, str(name), op,
                           "A channel name is 1-200 characters of letters, digits, '.', '_' and '-', "
                           "not starting with '.' or '-'")
    return f"/{NAME_PREFIX}{name}".encode()


# ---- names this process must remove -----------------------------------------

_owned: set = set()


def _unlink_name(name: str) -> int:
    return 0 if _libc.shm_unlink(_shm_name(name, "unlink")) == 0 else -ctypes.get_errno()


def _remove_owned() -> None:
    for name in list(_owned):
        _unlink_name(name)
    _owned.clear()


def _on_signal(signum, _frame):
    _remove_owned()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_cleanup_installed = False


def _install_cleanup() -> None:
    # SIGINT raises KeyboardInterrupt, which ends in atexit; SIGTERM and
    # SIGHUP would kill the process without it, unless someone handles them.
    global _cleanup_installed
    if _cleanup_installed:
        return
    _cleanup_installed = True
    atexit.register(_remove_owned)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _on_signal)
        except ValueError:
            pass  # not the main thread: leave signals alone


def unlink(name: str) -> None:
    """Removes a channel's name from /dev/shm (existing mappings stay valid)."""
    rc = _unlink_name(name)
    _owned.discard(name)
    if rc != 0:
        raise ShmpipeError(rc, name, "unlink")


# ---- the mapping ----------------------------------------------------------------


class Segment:
    """One mapped segment; close() drops this object's hold on it."""

    def __init__(self, name: str, mapped: mmap.mmap, owned: bool):
        self.name = name
        self.size = len(mapped)
        self.owned = owned
        self._mmap: Optional[mmap.mmap] = mapped
        self._memory: Optional[memoryview] = memoryview(mapped)
        # The address for the C core; this export also pins the mapping.
        self._anchor = ctypes.c_char.from_buffer(mapped)
        self.base = ctypes.addressof(self._anchor)

    @classmethod
    def create(cls, name: str, capacity: int, mode: int = 0o600) -> "Segment":
        path = _shm_name(name, "create")
        pages = -(-int(capacity) // _PAGE) * _PAGE
        if pages < _PAGE:
            raise ShmpipeError(_core.INVALID, name, "create", f"capacity must be at least {_PAGE} bytes, got {capacity}")
        size = lib.shmp_segment_size(pages)
        fd = _libc.shm_open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        if fd < 0:
            raise ShmpipeError(-ctypes.get_errno(), name, "create")
        segment = None
        try:
            try:
                # Reserve every page now: a full /dev/shm fails here, not
                # with SIGBUS when a page is first touched.
                os.posix_fallocate(fd, 0, size)
            except OSError as error:
                raise ShmpipeError(-error.errno, name, "create", f"could not reserve {size} bytes in /dev/shm") from None
            segment = cls(name, mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE), True)
            rc = lib.shmp_segment_format(segment.base, size)
            if rc != 0:
                raise ShmpipeError(rc, name, "create")
            _install_cleanup()
            _owned.add(name)
            return segment
        except BaseException:
            if segment is not None:
                segment._unmap()
            _libc.shm_unlink(path)
            raise
        finally:
            os.close(fd)

    @classmethod
    def open(cls, name: str, allow_other_owner: bool = False, ready_timeout: float = 2.0) -> "Segment":
        path = _shm_name(name, "open")
        fd = _libc.shm_open(path, os.O_RDWR | os.O_CLOEXEC, 0)
        if fd < 0:
            raise ShmpipeError(-ctypes.get_errno(), name, "open")
        deadline = time.monotonic() + ready_timeout
        try:
            while True:
                info = os.fstat(fd)
                if info.st_uid != os.getuid() and not allow_other_owner:
                    raise ShmpipeError(-13, name, "open", f"the segment belongs to uid {info.st_uid}; pass allow_other_owner=True to open it anyway")
                rc = _core.NOT_READY
                if info.st_size > 0:
                    segment = cls(name, mmap.mmap(fd, info.st_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE), False)
                    rc = lib.shmp_segment_check(segment.base, segment.size)
                    if rc == 0:
                        return segment
                    segment._unmap()
                # Its creator has made the name but not yet sized or formatted it.
                if rc != _core.NOT_READY or time.monotonic() > deadline:
                    raise ShmpipeError(rc, name, "open")
                time.sleep(0.001)
        finally:
            os.close(fd)

    def view(self, offset: int, length: int) -> memoryview:
        if self._memory is None:
            raise ShmpipeError(_core.CLOSED, self.name, "recv")
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ShmpipeError(_core.INVALID, self.name, "recv", f"view [{offset}, {offset + length}) is outside the {self.size}-byte mapping")
        return self._memory[offset:offset + length]

    @property
    def closed(self) -> bool:
        return self._memory is None

    def close(self) -> None:
        """Removes the name if this process created it, and unmaps once no view is left."""
        if self._memory is None:
            return
        if self.owned and self.name in _owned:
            _owned.discard(self.name)
            _unlink_name(self.name)
        self._unmap()

    def _unmap(self) -> None:
        self._anchor = None
        if self._memory is not None:
            self._memory.release()
            self._memory = None
        try:
            self._mmap.close()
        except BufferError:
            pass  # views are still alive: the mmap goes when the last one does
        self._mmap = None
