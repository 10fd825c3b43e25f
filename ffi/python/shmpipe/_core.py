"""The C core (libshmpipe.so) through ctypes: every protocol operation goes
through it; this package never touches the ring itself.

ctypes releases the GIL during each call, so a thread blocked in a wait
does not stop the others."""
import ctypes
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CANDIDATES = [
    os.environ.get("SHMPIPE_LIB"),
    _HERE / "_lib" / "libshmpipe.so",  # an installed package
    _HERE.parent.parent / "build" / "libshmpipe.so",  # a source checkout
]


def _load() -> ctypes.CDLL:
    for candidate in _CANDIDATES:
        if candidate and Path(candidate).exists():
            return ctypes.CDLL(str(candidate))
    raise ImportError(
        "shmpipe: the C core libshmpipe.so was not found (looked at "
        + ", ".join(str(c) for c in _CANDIDATES if c)
        + "). Run `make -C ffi` in the shmpipe checkout, or install with `pip install ./ffi/python`."
    )


lib = _load()

_p, _u64, _i64, _i32, _u32 = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int32, ctypes.c_uint32
_SIGNATURES = {
    "shmp_error_name": ([_i32], ctypes.c_char_p),
    "shmp_error_message": ([_i32], ctypes.c_char_p),
    "shmp_error_hint": ([_i32], ctypes.c_char_p),
    "shmp_segment_size": ([_u64], _u64),
    "shmp_segment_format": ([_p, _u64], _i32),
    "shmp_segment_check": ([_p, _u64], _i32),
    "shmp_segment_capacity": ([_p], _u64),
    "shmp_segment_creator_pid": ([_p, _u64], _u32),
    "shmp_max_payload": ([_u64], _u64),
    "shmp_writer_attach": ([_p, _u64, ctypes.POINTER(_i32)], _p),
    "shmp_reader_attach": ([_p, _u64, ctypes.POINTER(_i32)], _p),
    "shmp_writer_close": ([_p], None),
    "shmp_writer_seal": ([_p], None),
    "shmp_table_open": ([_p, _u64, ctypes.POINTER(_i32)], _p),
    "shmp_reader_close": ([_p], None),
    "shmp_writer_claim": ([_p, _u64, _i64, _u32], _i64),
    "shmp_writer_commit": ([_p, _u64], _i32),
    "shmp_writer_abort": ([_p], _i32),
    "shmp_writer_send": ([_p, _p, _u64, _i64, _u32], _i32),
    "shmp_reader_peek": ([_p, ctypes.POINTER(_u64)], _i64),
    "shmp_reader_release": ([_p], _i32),
    "shmp_reader_next": ([_p, ctypes.POINTER(_u64), _i64, _u32], _i64),
    "shmp_arrow_prefix_length": ([_p, _u64, _p, _u64], _i64),
    "shmp_arrow_check_metadata": ([_p, _p, _u64, _u64, _p, _u64], _i32),
    "shmp_arrow_schema_read": ([_p, _u64, ctypes.POINTER(_i32), _p, _u64], _p),
    "shmp_arrow_schema_free": ([_p], None),
    "shmp_arrow_body_length": ([_p, _u64], _i64),
}
for _name, (_args, _result) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    _fn.restype = _result

# Codes the binding branches on (ffi/include/shmpipe.h).
TIMEOUT = -5006
CLOSED = -5007
TOO_LARGE = -5008
BUSY = -5009
NOT_READY = -5010
STATE = -5012
INVALID = -5013
ARROW = -5014

ARROW_SCHEMA, ARROW_DICTIONARY, ARROW_RECORD_BATCH = 1, 2, 3
