"""The wheel is the product: built from the checkout's files, installed with its declared
dependencies into a fresh virtual environment outside the tree, it runs the README's quick start
as written (tests/docs_support.py) — C project, MicroPython export and the emulated board included.

What "fresh" proves: the environment is new (no editable install, no PYTHONPATH, no source tree
on any path, the working directory elsewhere), and its packages are exactly what the wheel's
metadata asks for (installed by pip from the index or pip's cache, not copied from the test
environment), so a file missing from the wheel or a dependency missing from pyproject.toml fails
here. The Debian tools (compilers, QEMU) are the machine's, as for a user.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from docs_support import check, run_doc
from erbp.boards import table


def checkout_files(dest: Path) -> None:
    """The files a clone of this checkout has (tracked and new, not ignored), copied to dest."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for n in filter(None, names):
        src = ROOT / n.decode()
        if src.is_file():
            (dest / n.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / n.decode())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    checkout_files(base / "src")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(base / "dist"), str(base / "src")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = (base / "dist").glob("erbp-*.whl")
    return whl


def test_wheel_contents(wheel):
    assert wheel.name.endswith("-cp310-abi3-linux_x86_64.whl")  # one wheel for CPython >= 3.10
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"erbp/py.typed", "erbp/_cport.abi3.so", "erbp/cport_src/include/erbp.h",
            "erbp/cport_src/examples/hello.c", "erbp/firmware_src/Makefile",
            "erbp/firmware_src/boards/boards.toml", "erbp/firmware_src/boards/cortex-m/link.ld",
            "erbp/boards/table.py", "erbp/mp_src/erbp_mp.py",
            # the int8 MLP app's CMSIS-NN kernel ships with its licence
            "erbp/firmware_src/mlp/third_party/cmsis-nn/LICENSE",
            "erbp/firmware_src/mlp/third_party/cmsis-nn/Include/Internal/arm_nn_config.h",
            "erbp/firmware_src/mlp/third_party/cmsis-nn/Source/NNSupportFunctions/"
            "arm_nn_vec_mat_mult_t_s8.c"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not {"erbp/engines/c/_build.py", "erbp/mp_src/qemu_microbit_check.py"} & names
    meta = next(zipfile.ZipFile(wheel).read(n).decode() for n in names
                if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in meta
    assert "Provides-Extra: micropython" in meta and "Provides-Extra: nir" in meta


@pytest.mark.slow
def test_quick_start_from_the_wheel_in_a_fresh_venv(wheel, tmp_path, mnist_dir):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        f"{wheel}[demo,micropython]"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    where = subprocess.run([str(py), "-c", "import erbp; print(erbp.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed package, not the checkout
    r = run_doc(ROOT / "README.md", tmp_path / "work", venv / "bin", mnist_dir,
                tmp_path / "cache")
    check(r, "verified: all 100 results equal the PC's C engine; the board's weights are "
             "bit-identical to the PC's", "after learning on them once: right")
    image = table.board("mps2-an386").image  # relative to firmware/, in the staged sources
    assert list((tmp_path / "cache" / "erbp" / "src").glob(f"*/firmware/{image}")), \
        "the firmware was not built in erbp's cache"
