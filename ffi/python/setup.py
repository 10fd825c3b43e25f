# Builds the shmpipe C core into the package, so that an installed shmpipe
# carries its own libshmpipe.so. The package's Python is pure and loads the
# library with ctypes, so the wheel is tagged for the platform only
# (py3-none-linux_x86_64), not for one CPython.
#
# The core is built from core-src/, a copy of its sources: in a checkout
# setup.py refreshes it from ../core (sh ../core/bundle.sh), and an sdist
# carries it (MANIFEST.in), since a build from an sdist sees nothing else.
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CHECKOUT_CORE = HERE.parent / "core"
BUNDLED_CORE = HERE / "core-src"


def bundle_core() -> None:
    if (CHECKOUT_CORE / "bundle.sh").exists():
        subprocess.run(["sh", str(CHECKOUT_CORE / "bundle.sh"), str(BUNDLED_CORE)], check=True)
    if not (BUNDLED_CORE / "Makefile").exists():
        raise SystemExit("shmpipe: This source distribution was built incorrectly: the C core's sources are missing "
                         f"(no {BUNDLED_CORE.name}/ beside setup.py, and no shmpipe checkout around it to copy them from)")


class BuildWithCore(build_py):
    def run(self):
        super().run()
        build = Path(self.get_finalized_command("build").build_temp).resolve() / "core"
        subprocess.run(["make", "-s", "-C", str(BUNDLED_CORE), f"BUILD={build}"], check=True)
        [library] = build.glob("linux-*/libshmpipe.so")
        target = Path(self.build_lib) / "shmpipe" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, target / "libshmpipe.so")


class WithNativeLibrary(Distribution):
    def has_ext_modules(self):
        return True  # installs into platlib and makes a platform wheel


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        return "py3", "none", super().get_tag()[2]  # any Python 3: ctypes loads the library


bundle_core()
setup(distclass=WithNativeLibrary, cmdclass={"build_py": BuildWithCore, "bdist_wheel": PlatformWheel})
