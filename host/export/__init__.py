"""Export a trained model for a target: a C header (:mod:`erbp.export.c`: cport,
firmware), a MicroPython directory (:mod:`erbp.export.micropython`), or a plain model file.
``erbp export`` is its command line."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .c import DEFAULT_NAME, c_header
from ..reference import modelfile

FORMATS = ("c", "micropython", "model")


def export(model_path: str | os.PathLike, fmt: str, out: str | os.PathLike, *,
           name: str = DEFAULT_NAME, samples: tuple[np.ndarray, np.ndarray] | None = None,
           arch: str | None = None, mpy: bool = True) -> list[Path]:
    """Export ``model_path`` in format ``fmt`` ("c", "micropython" or "model") to ``out`` (a
    header file for "c", a directory for "micropython", a file for "model"). Returns the files.
    ``arch`` and ``mpy``: see :func:`erbp.export.micropython.export_micropython`."""
    if fmt == "c":
        text = c_header(model_path, name, samples)
        p = Path(out)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return [p]
    if fmt == "micropython":
        from .micropython import export_micropython

        return export_micropython(model_path, out, mpy=mpy, arch=arch, samples=samples)
    if fmt == "model":
        modelfile.load(model_path)  # validate before copying
        p = Path(out)
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model_path, p)
        return [p]
    raise ValueError(f"unknown export format {fmt!r}; choose one of {FORMATS}")
