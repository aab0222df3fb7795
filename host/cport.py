"""Where the C sources are: cport (the engine) and the firmware, in a source tree or a wheel.

A wheel ships them as package data (``erbp/cport_src``, ``erbp/firmware_src``), so that an exported
C model compiles and an emulated board's firmware builds without the source tree (make builds it
in a copy laid out as a checkout, in erbp's cache: :func:`source_root`)::

    python -m erbp.cport --include      # the directory to pass as -I
    python -m erbp.cport --sources      # the .c files to compile with a program
    python -m erbp.cport --cflags       # -I... for a Makefile

``erbp export --format c --out DIR`` copies them into a ready project (``make -C DIR``).
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from .errors import ErbpError

_HERE = Path(__file__).resolve().parent


class SourcesMissing(ErbpError, FileNotFoundError):
    """The C sources are neither in a source tree nor in the installed package."""


def _find(tree: str, shipped: str, probe: str) -> Path:
    for d in (_HERE.parent / tree, _HERE / shipped):  # source tree (editable), then the wheel
        if (d / probe).is_file():
            return d
    raise SourcesMissing(f"the {tree} sources are not installed (neither {_HERE.parent / tree} "
                         f"nor {_HERE / shipped}): reinstall erbp (pip install --force-reinstall "
                         f"erbp)")


def cport_dir() -> Path:
    """The cport folder: ``include/``, ``src/``, ``examples/``."""
    return _find("cport", "cport_src", "include/erbp.h")


def firmware_dir() -> Path:
    """The firmware folder (its ``Makefile``, ``src/``, ``boards/``)."""
    return _find("firmware", "firmware_src", "src/main.c")


def source_root() -> Path:
    """A directory laid out as a checkout for the firmware build: the checkout itself, or (an
    installed package) ``~/.cache/erbp/src/VERSION-HASH/`` holding ``firmware/``, ``cport/`` and
    ``host/boards/table.py`` copied from the package (once per content: the hash is of the
    shipped files)."""
    if (_HERE.parent / "firmware" / "boards" / "boards.toml").is_file():
        return _HERE.parent
    from . import __version__
    from .fileio import user_cache_dir

    parts = {"cport": cport_dir(), "firmware": firmware_dir(),
             "host/boards": _HERE / "boards"}
    files = sorted((dst, f) for dst, src in parts.items() for f in src.rglob("*")
                   if f.is_file() and "__pycache__" not in f.parts and "build" not in
                   f.relative_to(src).parts and (dst != "host/boards" or f.name == "table.py"))
    h = hashlib.sha256()
    for dst, f in files:
        h.update(f"{dst}/{f.name}".encode() + f.read_bytes())
    root = user_cache_dir() / "src" / f"{__version__}-{h.hexdigest()[:12]}"
    if not (root / "firmware" / "boards" / "boards.toml").is_file():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for dst, f in files:
            target = tmp / dst / f.relative_to(parts[dst])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return root


def include_dir() -> Path:
    """The directory holding ``erbp.h`` (pass it as ``-I``)."""
    return cport_dir() / "include"


def source_files() -> list[Path]:
    """The engine's ``.c`` files (compile them with the program; freestanding C99)."""
    return sorted((cport_dir() / "src").glob("*.c"))


def copy_library(dest: str | Path) -> list[Path]:
    """Copy cport's ``include/`` and ``src/`` into ``dest`` (``dest/include``, ``dest/src``)."""
    out = []
    for sub, patterns in (("include", ("*.h",)), ("src", ("*.c", "*.h"))):
        (Path(dest) / sub).mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            for f in sorted((cport_dir() / sub).glob(pattern)):
                out.append(Path(shutil.copyfile(f, Path(dest) / sub / f.name)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m erbp.cport", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--include", action="store_true", help="the include directory")
    g.add_argument("--sources", action="store_true", help="the .c files, one per line")
    g.add_argument("--cflags", action="store_true", help="-I<include directory>")
    g.add_argument("--root", action="store_true", help="the cport folder")
    a = ap.parse_args(argv)
    try:
        if a.include:
            print(include_dir())
        elif a.sources:
            print("\n".join(map(str, source_files())))
        elif a.cflags:
            print(f"-I{include_dir()}")
        else:
            print(cport_dir())
    except SourcesMissing as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
