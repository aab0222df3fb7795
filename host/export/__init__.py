"""Export a trained model for a target: a C header or a ready C project (:mod:`erbp.export.c`:
cport, firmware), a MicroPython directory (:mod:`erbp.export.micropython`), the inference graph
as NIR (:mod:`erbp.export.nir`), or a plain model file. ``erbp export`` is its command line."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .c import DEFAULT_NAME, ExportError, c_header, c_project
from ..fileio import write_bytes_atomic, write_text_atomic
from ..reference import Network, modelfile

FORMATS = ("c", "micropython", "nir", "model")


def model_arrays(model: str | os.PathLike | Network) -> dict[str, np.ndarray]:
    """The weights and feedback matrices of a model (a file or a Network) as numpy arrays of
    their width in the model file: ``W0, W1, ...`` (n_pre, n_post) int8 for weights of up to 8
    bits (else int16), ``G0, ...`` (n_out, n_hidden) int16. Integer weights as the engines use them
    (docs/semantics.md: a weight w means w / 2^(weight_bits - 1) of the range, never a float)."""
    net = model if isinstance(model, Network) else modelfile.load(model)
    arrays = {f"W{l}": w for l, w in enumerate(net.W)} | {f"G{h}": g for h, g in enumerate(net.G)}
    return {name: np.ascontiguousarray(arrays[name], dtype=np.dtype(dt).newbyteorder("="))
            for name, _, dt in modelfile.layout(net.cfg)}


def export(model_path: str | os.PathLike, fmt: str, out: str | os.PathLike, *,
           name: str = DEFAULT_NAME, samples: tuple[np.ndarray, np.ndarray] | None = None,
           arch: str | None = None, mpy: bool = True) -> list[Path]:
    """Export ``model_path`` in format ``fmt`` ("c", "micropython", "nir" or "model") to ``out``
    (for "c" a header file ``*.h``, or else a project directory: :func:`erbp.export.c.c_project`;
    a directory for "micropython", a file for "nir" and "model"). Returns the files. ``arch`` and ``mpy``:
    see :func:`erbp.export.micropython.export_micropython`."""
    if fmt == "c" and not str(out).endswith(".h"):
        if name != DEFAULT_NAME:
            raise ExportError(f"--name {name}: a C project's hello.c includes {DEFAULT_NAME}.h; "
                             f"--name is for a header (--out NAME.h)")
        return c_project(model_path, out, samples)
    if fmt == "c":
        text = c_header(model_path, name, samples)
        p = Path(out)
        write_text_atomic(p, text, parents=True)
        return [p]
    if fmt == "micropython":
        from .micropython import export_micropython

        return export_micropython(model_path, out, mpy=mpy, arch=arch, samples=samples)
    if fmt == "nir":
        from .nir import export_nir

        return export_nir(model_path, out)
    if fmt == "model":
        data = modelfile.read_bytes(model_path)
        try:
            modelfile.loads(data)  # validate before copying
        except modelfile.ModelFileError as e:
            raise modelfile.ModelFileError(f"{model_path}: {e}") from e
        p = Path(out)
        write_bytes_atomic(p, data, parents=True)
        return [p]
    raise ValueError(f"unknown export format {fmt!r}; choose one of {FORMATS}")
