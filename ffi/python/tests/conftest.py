"""Fixtures: unique channel names, real child processes that are always
reaped, and a check that the tests leave nothing in /dev/shm."""
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shmpipe

_counter = itertools.count()
_PREFIX = f"py{os.getpid()}-"
PACKAGE = str(Path(__file__).resolve().parent.parent)


def unique_name(label: str) -> str:
    return f"{_PREFIX}{next(_counter)}-{label}"


@pytest.fixture
def name(request) -> str:
    return unique_name(request.node.name[:40].replace("[", "-").replace("]", ""))


@pytest.fixture
def spawn():
    """Starts `python3 -c code args...` with this package importable; kills leftovers."""
    children = []

    def start(code: str, *args: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=PACKAGE)
        child = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()


@pytest.fixture(autouse=True, scope="session")
def nothing_left_in_dev_shm():
    yield
    left = [entry for entry in os.listdir("/dev/shm") if entry.startswith(shmpipe.NAME_PREFIX + _PREFIX)]
    assert left == [], f"segments left in /dev/shm: {left}"
