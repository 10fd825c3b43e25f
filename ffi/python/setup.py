# Builds the shmpipe C core (../, with make) into the package, so that an
# installed shmpipe carries its own libshmpipe.so:
#   pip install ./ffi/python        (from the repository root)
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CORE = Path(__file__).resolve().parent.parent


class BuildWithCore(build_py):
    def run(self):
        super().run()
        subprocess.run(["make", "-s", "-C", str(CORE)], check=True)
        target = Path(self.build_lib) / "shmpipe" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CORE / "build" / "libshmpipe.so", target / "libshmpipe.so")


setup(cmdclass={"build_py": BuildWithCore})
