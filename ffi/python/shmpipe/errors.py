"""One exception type for everything shmpipe reports. The C core writes
every sentence (also for the failures this binding finds itself, through
shmp_error_set), so Python words them exactly as the other bindings do."""
import ctypes
from typing import Optional

from ._core import Error, lib


class ShmpipeError(Exception):
    """A failed shmpipe operation.

    code: stable name ("ETIMEOUT", "EPEERGONE", "ENOENT", ...); errno: the
    numeric code (-errno or the core's own); segment: the channel's name;
    op: what was being done ("create", "recv", ...)."""

    def __init__(self, errno: int, segment: str, op: str, message: str):
        super().__init__(message)
        self.errno = errno
        self.code = lib.shmp_error_name(errno).decode()
        self.segment = segment
        self.op = op

    @classmethod
    def from_error(cls, err: Error) -> "ShmpipeError":
        return cls(err.code, _text(err.segment), _text(err.op), _text(err.message))

    def __reduce__(self):  # so that it crosses process boundaries (multiprocessing)
        return type(self), (self.errno, self.segment, self.op, str(self))


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace")  # a message cut at 512 bytes may end mid-character


def check(rc: int, err: Error) -> int:
    """`rc` if the call succeeded; raises the core's error otherwise."""
    if rc < 0:
        raise ShmpipeError.from_error(err)
    return rc


def error(code: int, op: str, segment: str, detail: Optional[str] = None) -> ShmpipeError:
    """A failure the binding found itself, worded by the core."""
    err = Error()
    lib.shmp_error_set(ctypes.byref(err), code, op.encode(), segment.encode(errors="replace"),
                       detail.encode(errors="replace") if detail is not None else None)
    return ShmpipeError.from_error(err)
