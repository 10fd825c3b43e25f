"""One exception type for everything shmpipe reports, worded exactly as the
TypeScript binding words it: the code's name, sentence and hint come from
the C core."""
from typing import Optional

from ._core import lib


def _text(raw: Optional[bytes]) -> Optional[str]:
    return raw.decode() if raw is not None else None


def error_name(code: int) -> str:
    return _text(lib.shmp_error_name(code)) or "EUNKNOWN"


class ShmpipeError(Exception):
    """A failed shmpipe operation.

    code: stable name ("ETIMEOUT", "EPEERGONE", "ENOENT", ...); errno: the
    numeric code (-errno or the core's own); segment: the channel's name;
    op: what was being done ("create", "recv", ...)."""

    def __init__(self, errno: int, segment: str, op: str, hint: Optional[str] = None):
        self.errno = errno
        self.code = error_name(errno)
        self.segment = segment
        self.op = op
        hint = hint if hint is not None else _text(lib.shmp_error_hint(errno))
        message = f'{op} on segment "{segment}" failed: {_text(lib.shmp_error_message(errno))} [{self.code}]'
        super().__init__(f"{message}. {hint}" if hint else message)
