"""The C core (libshmpipe.so) through ctypes: every rule and every error
sentence lives there; this package only adapts it to Python.

ctypes releases the GIL during each call, so a thread blocked in a wait
does not stop the others."""
import ctypes
import os
import platform
from pathlib import Path

ABI = 1
"""The core's ABI this binding was written for (shmp_abi())."""

# The version nodes of the core's symbol map (ffi/core/shmpipe.map) this
# binding knows, oldest first, each with a call it added. The last is the
# newest the binding uses: a library without it is older than the binding.
NODES = {"SHMPIPE_1.0": "shmp_version", "SHMPIPE_1.1": "shmp_owned_unlink_all", "SHMPIPE_1.2": "shmp_segment_write",
         "SHMPIPE_1.3": "shmp_writer_send_batch_from"}

_HERE = Path(__file__).resolve().parent
# Node's names for the architecture: the core's build directory uses them.
_ARCH = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _find() -> Path:
    override = os.environ.get("SHMPIPE_LIB")
    candidates = [Path(override)] if override else [
        _HERE / "_lib" / "libshmpipe.so",  # an installed package
        _HERE.parents[1] / "core" / "build" / f"linux-{_ARCH}" / "libshmpipe.so",  # a checkout
    ]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ImportError(f"shmpipe: the C core libshmpipe.so was not found (looked at {', '.join(map(str, candidates))}). "
                      "Run `make -C ffi/core` in the shmpipe checkout, or install the package with pip.")


def _load() -> ctypes.CDLL:
    path = _find()
    lib = ctypes.CDLL(str(path))
    # Only these two symbols are trusted before the ABI matches.
    lib.shmp_abi.restype, lib.shmp_abi.argtypes = ctypes.c_uint32, []
    lib.shmp_version.restype, lib.shmp_version.argtypes = ctypes.c_char_p, []
    if lib.shmp_abi() != ABI:
        raise ImportError(f"shmpipe: {path} is shmpipe core {lib.shmp_version().decode()} with ABI {lib.shmp_abi()}, "
                          f"but this binding needs ABI {ABI}: build the core from the same checkout, or reinstall shmpipe")
    has = _node_check(lib)
    needed = list(NODES)[-1]
    if not has(needed):
        newest = [node for node in NODES if has(node)][-1:] or ["none of " + ", ".join(NODES)]
        raise ImportError(f"shmpipe: {path} (shmpipe core {lib.shmp_version().decode()}) is older than this binding: its "
                          f"newest version node is {newest[0]} and this binding needs {needed}; rebuild the core from "
                          "the same checkout (make -C ffi/core), or reinstall shmpipe")
    return lib


def _node_check(lib: ctypes.CDLL):
    """has(node): whether `lib` exports the node's call in that version (glibc's dlvsym on the library's own handle,
    so a symbol of the same name elsewhere in the process does not count)."""
    dlvsym = None
    for libc in (None, "libdl.so.2"):  # glibc >= 2.34 has it in libc, older ones in libdl
        try:
            dlvsym = ctypes.CDLL(libc).dlvsym
            break
        except (OSError, AttributeError):
            continue
    if dlvsym is None:  # not glibc: names without versions are all there is to check
        return lambda node: hasattr(lib, NODES[node])
    dlvsym.restype, dlvsym.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    return lambda node: bool(dlvsym(lib._handle, NODES[node].encode(), node.encode()))


lib = _load()


class Move(ctypes.Structure):
    """shmp_arrow_move: where a body buffer lies in pyarrow's body and in shmpipe's."""
    _fields_ = [("src", ctypes.c_uint64), ("dst", ctypes.c_uint64), ("length", ctypes.c_uint64)]


class Error(ctypes.Structure):
    """shmp_error: filled by the core when a call fails."""
    _fields_ = [("code", ctypes.c_int32), ("op", ctypes.c_char * 16), ("segment", ctypes.c_char * 256),
                ("message", ctypes.c_char * 512)]


_p, _s, _u64, _i64, _i32, _u32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int32, ctypes.c_uint32
_e = ctypes.POINTER(Error)
_SIGNATURES = {
    "shmp_error_name": ([_i32], _s),
    "shmp_error_set": ([_e, _i32, _s, _s, _s], _i32),
    "shmp_constant": ([_s], _i64),
    "shmp_segment_create": ([_s, _u64, _u32, _e], _p),
    "shmp_table_create": ([_s, _u64, _u32, _e], _p),
    "shmp_segment_write": ([_p, _u64, _p, _u64, _e], _i32),
    "shmp_segment_open": ([_s, _u32, _i64, _e], _p),
    "shmp_unlink": ([_s, _e], _i32),
    "shmp_arrow_sender_new": ([_p, _s, _i32, _e], _p),
    "shmp_arrow_align_buffers": ([_p, _u64, ctypes.POINTER(Move), _u32, ctypes.POINTER(_u32), _s, _e], _i64),
    "shmp_arrow_sender_free": ([_p], None),
    "shmp_arrow_sender_schema_owed": ([_p], _i32),
    "shmp_arrow_sender_commit": ([_p, _u64, _e], _i32),
    "shmp_arrow_sender_abort": ([_p], None),
    "shmp_writer_linger_notice": ([_p, _i64, ctypes.c_char_p, _u64], _i64),
    "shmp_segment_protect_records": ([_p, _e], _i32),
    "shmp_owned_forget": ([_s], None),
    "shmp_owned_unlink": ([_s, _e], _i32),
    "shmp_owned_count": ([], _i32),
    "shmp_owned_unlink_all": ([], _i32),
    "shmp_owned_unlink_on_signals": ([], _i32),
    "shmp_shm_name": ([_s, _s, _p, _u64, _e], _i32),
    "shmp_segment_base": ([_p], _p),
    "shmp_segment_length": ([_p], _u64),
    "shmp_segment_name": ([_p], _s),
    "shmp_segment_creator_pid": ([_p], _u32),
    "shmp_segment_range": ([_p, _u64, _u64, _s, _e], _i32),
    "shmp_segment_ref": ([_p], None),
    "shmp_segment_unref": ([_p], None),
    "shmp_record_footprint": ([_u64], _u64),
    "shmp_writer_attach": ([_p, _e], _p),
    "shmp_reader_attach": ([_p, _e], _p),
    "shmp_table_open": ([_p, _i64, _e], _p),
    "shmp_writer_close": ([_p], None),
    "shmp_writer_drain": ([_p, _i64, _u32, _e], _i32),
    "shmp_writer_linger": ([_p, _i64, _u32, _e], _i32),
    "shmp_writer_close_checked": ([_p, _e], _i32),
    "shmp_writer_readers_joined": ([_p], _u32),
    "shmp_writer_seal_persistent": ([_p], None),
    "shmp_table_unpublish": ([_s, _u32, _e], _i32),
    "shmp_writer_interrupt": ([_p], None),
    "shmp_reader_interrupt": ([_p], None),
    "shmp_writer_seal": ([_p], None),
    "shmp_reader_close": ([_p], None),
    "shmp_writer_max_payload": ([_p], _u64),
    "shmp_writer_claim": ([_p, _u64, _i64, _u32, _e], _i64),
    "shmp_writer_commit": ([_p, _u64, _e], _i32),
    "shmp_writer_abort": ([_p, _e], _i32),
    "shmp_writer_send": ([_p, _p, _u64, _i64, _u32, _e], _i32),
    "shmp_reader_release": ([_p, _e], _i32),
    "shmp_reader_next": ([_p, ctypes.POINTER(_u64), _i64, _u32, _e], _i64),
    "shmp_writer_send_batch_from": ([_p, _p, _u64, _p, _u32, _u32, _i64, _u32, ctypes.POINTER(_u64), _e], _i64),
    "shmp_reader_take_batch": ([_p, _p, _u32, ctypes.POINTER(_u64), _i64, _u32, _e], _i64),
    "shmp_reader_release_lease": ([_p, _u64, _e], _i32),
    "shmp_arrow_checker_new": ([_s, _s, _e], _p),
    "shmp_arrow_checker_free": ([_p], None),
    "shmp_arrow_checker_check": ([_p, _p, _u64, _e], _i32),
    "shmp_arrow_checker_trust_values": ([_p, _i32], None),
    "shmp_arrow_checker_prefix": ([_p], _p),
    "shmp_arrow_checker_prefix_length": ([_p], _u64),
    "shmp_arrow_checker_body_length": ([_p], _u64),
    "shmp_reader_check_arrow": ([_p, _p, _p, _u64, _e], _i32),
}
for _name, (_args, _result) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.argtypes = _args
    _fn.restype = _result


def _constant(name: str) -> int:
    value = lib.shmp_constant(name.encode())
    if value == -(1 << 63):  # INT64_MIN: the core does not know the name
        raise ImportError(f"shmpipe: the C core does not define the constant {name}")
    return value


# What the binding branches on or reports itself, by the core's names.
TIMEOUT, CLOSED, STATE, INVALID, ARROW, AGAIN = (_constant(n) for n in ("ETIMEOUT", "ECLOSED", "ESTATE", "EBADARG", "EARROW", "ENOTYET"))
ARROW_SCHEMA, ARROW_RECORD_BATCH = _constant("ARROW_SCHEMA"), _constant("ARROW_RECORD_BATCH")
NAME_MAX = _constant("NAME_MAX")
OPEN_ALLOW_OTHER_OWNER, OPEN_READ_ONLY_DATA = _constant("OPEN_ALLOW_OTHER_OWNER"), _constant("OPEN_READ_ONLY_DATA")
OPEN_WAIT_FOR_NAME = _constant("OPEN_WAIT_FOR_NAME")
OPEN_TABLE = _constant("OPEN_TABLE")  # the opener wants a published table: sentences say so
ENOENT, NOT_READY = _constant("ENOENT"), _constant("ENOTREADY")
# The defaults every binding shares, in Python's units (seconds).
DEFAULT_TIMEOUT = _constant("DEFAULT_TIMEOUT_NS") / 1e9
DEFAULT_READY_TIMEOUT = _constant("DEFAULT_READY_TIMEOUT_NS") / 1e9
DEFAULT_SPIN = _constant("DEFAULT_SPIN")
DEFAULT_CAPACITY = _constant("DEFAULT_CAPACITY")
DEFAULT_BATCH_RECORDS = _constant("DEFAULT_BATCH_RECORDS")
if ctypes.sizeof(Error) != _constant("ERROR_SIZE"):
    raise ImportError(f"shmpipe: {lib._name} lays out shmp_error differently from this binding")
