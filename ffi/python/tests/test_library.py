"""Loading the C core: the binding refuses a library built for another ABI."""
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import shmpipe

CORE = Path(__file__).resolve().parents[2] / "core"


def import_with(target: str, build: str):
    """Builds the core's make `target` into build/`build`, imports shmpipe over it in a fresh
    interpreter, and returns the library's path and the last line the import printed."""
    subprocess.run(["make", "-s", "-C", str(CORE), target], check=True)
    library = CORE / "build" / build / "libshmpipe.so"
    env = dict(os.environ, SHMPIPE_LIB=str(library), PYTHONPATH=str(Path(shmpipe.__file__).parents[1]))
    run = subprocess.run([sys.executable, "-c", "import shmpipe"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    return library, run.stderr.strip().splitlines()[-1]


def test_a_library_of_another_abi_is_refused():
    library, last = import_with("abi-test-lib", "abi-test")
    assert last.startswith("ImportError: ") and str(library) in last
    version = shmpipe._core.lib.shmp_version().decode()
    assert f"is shmpipe core {version} with ABI 99, but this binding needs ABI 1" in last


def test_shmpipe_lib_chooses_the_library():
    library = shmpipe._core.lib._name
    env = dict(os.environ, SHMPIPE_LIB=library, PYTHONPATH=str(Path(shmpipe.__file__).parents[1]))
    run = subprocess.run([sys.executable, "-c", "import shmpipe; print(shmpipe._core.lib._name)"], env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == library


def test_the_defaults_are_the_cores():
    constant = shmpipe._core.lib.shmp_constant
    assert shmpipe.DEFAULT_TIMEOUT == constant(b"DEFAULT_TIMEOUT_NS") / 1e9
    assert shmpipe.DEFAULT_READY_TIMEOUT == constant(b"DEFAULT_READY_TIMEOUT_NS") / 1e9
    assert shmpipe.DEFAULT_SPIN == constant(b"DEFAULT_SPIN")
    assert shmpipe.DEFAULT_CAPACITY == constant(b"DEFAULT_CAPACITY")
    assert shmpipe.DEFAULT_BATCH_RECORDS == constant(b"DEFAULT_BATCH_RECORDS")
    defaults = {
        "timeout": shmpipe.DEFAULT_TIMEOUT, "spin": shmpipe.DEFAULT_SPIN, "ready_timeout": shmpipe.DEFAULT_READY_TIMEOUT,
        "capacity": shmpipe.DEFAULT_CAPACITY, "max_records": shmpipe.DEFAULT_BATCH_RECORDS,
    }
    functions = [shmpipe.Writer.send, shmpipe.Writer.send_batch, shmpipe.Writer.claim, shmpipe.Writer.drain,
                 shmpipe.Writer.close, shmpipe.Reader.recv, shmpipe.Reader.recv_batch, shmpipe.Reader.batches,
                 shmpipe.ArrowWriter.write, shmpipe.ArrowWriter.close, shmpipe.ArrowReader.read, shmpipe.create_writer,
                 shmpipe.create_reader, shmpipe.open_writer, shmpipe.open_reader, shmpipe.open_table,
                 shmpipe.segment.Segment.open]
    seen = set()
    for function in functions:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in defaults:
                assert parameter.default == defaults[parameter.name], f"{function.__qualname__}({parameter.name})"
                seen.add(parameter.name)
    assert seen == set(defaults)


def test_a_library_older_than_the_binding_is_refused_at_import():
    """The newest version node the binding uses is checked when the library loads, not at the first call."""
    library, last = import_with("old-abi-lib", "old-abi")
    assert last.startswith(f"ImportError: shmpipe: {library} (shmpipe core ")
    assert ("is older than this binding: its newest version node is SHMPIPE_1.0 and this binding needs SHMPIPE_1.3; "
            "rebuild the core from the same checkout (make -C ffi/core), or reinstall shmpipe") in last


def test_the_binding_checks_the_newest_node_it_uses():
    """NODES must name, last, the newest node of the map among the calls the binding declares."""
    nodes = re.findall(r"^(SHMPIPE_[0-9.]+) \{(.*?)\}", (CORE / "shmpipe.map").read_text(), re.M | re.S)
    declared = set(shmpipe._core._SIGNATURES) | {"shmp_abi", "shmp_version"}
    used = [node for node, body in nodes if declared & set(re.findall(r"\b(shmp_\w+);", body))]
    assert list(shmpipe._core.NODES)[-1] == used[-1]
    for node, call in shmpipe._core.NODES.items():
        assert re.search(rf"\b{call};", dict(nodes)[node]), f"{call} is not in {node}"
