"""Loading the C core: the binding refuses a library built for another ABI."""
import os
import subprocess
import sys
from pathlib import Path

import shmpipe

CORE = Path(__file__).resolve().parents[2] / "core"


def test_a_library_of_another_abi_is_refused():
    subprocess.run(["make", "-s", "-C", str(CORE), "abi-test-lib"], check=True)
    library = CORE / "build" / "abi-test" / "libshmpipe.so"
    env = dict(os.environ, SHMPIPE_LIB=str(library), PYTHONPATH=str(Path(shmpipe.__file__).parents[1]))
    run = subprocess.run([sys.executable, "-c", "import shmpipe"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and str(library) in last
    version = shmpipe._core.lib.shmp_version().decode()
    assert f"is shmpipe core {version} with ABI 99, but this binding needs ABI 1" in last


def test_shmpipe_lib_chooses_the_library():
    library = shmpipe._core.lib._name
    env = dict(os.environ, SHMPIPE_LIB=library, PYTHONPATH=str(Path(shmpipe.__file__).parents[1]))
    run = subprocess.run([sys.executable, "-c", "import shmpipe; print(shmpipe._core.lib._name)"], env=env,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == library
