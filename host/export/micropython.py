"""``erbp export --format micropython``: a directory for a MicroPython board, ready for
``mpremote cp``: the model file, the module (``.mpy`` or ``.py``) and a hello-world ``main.py``
(docs/micropython.md)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..micropython_tools import (MODULES, NATIVE_MODULES, build_mpy, find_mpy_cross, module_dir,
                                 module_sources)
from ..reference import modelfile

#: How the exported directory DIR goes onto a board's file system (its root, on the import path)
#: and runs; the docs and main.py say the same (tests/test_docs.py checks).
COPY_COMMAND = "mpremote cp {dir}/* : && mpremote run {dir}/main.py"

MAIN_PY = '''\
# Hello world of the erbp MicroPython port: load the model, classify, learn one sample.
# Copy this directory's files to the board and run it: {copy}
import time
import erbp_mp

net = erbp_mp.load("{model}")
c = net.cfg
print("erbp_mp", erbp_mp.__version__, "semantics", erbp_mp.SEMANTICS_VERSION,
      "kernels", net.backend, "network", "-".join(str(s) for s in c.sizes),
      "samples_seen", net.samples_seen)


def samples():
    """(label, pixels) pairs from samples.bin, or one synthetic pattern."""
    try:
        f = open("samples.bin", "rb")
    except OSError:
        yield 0, bytes((37 * j) % 256 if j % 3 else 0 for j in range(c.n_in))
        return
    with f:
        while True:
            b = f.read(1 + c.n_in)
            if len(b) < 1 + c.n_in:
                return
            yield b[0], b[1:]


for label, px in samples():
    t0 = time.ticks_ms()
    p = net.run(px)
    dt = time.ticks_diff(time.ticks_ms(), t0)
    print("label", label, "prediction", p, "counts", net.counts(), "events", net.events,
          "ticks", net.t, "ms", dt)

# on-device learning: one training sample, then the same sample again in inference
label, px = next(samples())
t0 = time.ticks_ms()
net.run(px, label % c.n_out, erbp_mp.TRAIN)
print("trained on one sample in", time.ticks_diff(time.ticks_ms(), t0), "ms; samples_seen",
      net.samples_seen, "; now predicts", net.run(px), net.counts())
# net.save("{model}")  # keep what was learned
'''


def export_micropython(model_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                       mpy: bool = True, arch: str | None = None,
                       samples: tuple[np.ndarray, np.ndarray] | None = None,
                       model_name: str = "model.erbp") -> list[Path]:
    """Write a directory for a MicroPython board: the model file, the module and a ``main.py``.

    ``model_path`` is validated first (the reference loader). With ``mpy`` (default) the bytecode
    modules are precompiled (.mpy, architecture-independent, MicroPython >= 1.23); the viper kernels
    are precompiled for ``arch`` (an mpy-cross -march name, see
    :data:`erbp.micropython_tools.BOARD_ARCHS`) or, when ``arch`` is None, shipped as source for the
    board to compile. ``samples`` = (pixels uint8 (k, n_in), labels (k,)) are written to
    ``samples.bin`` for the hello world. Returns the files written. This is ``erbp export --format
    micropython``.
    """
    net = modelfile.load(model_path)  # raises ModelFileError with the reason
    if mpy:
        find_mpy_cross()  # a missing tool is reported before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    dst = out / model_name
    shutil.copyfile(model_path, dst)
    written.append(dst)
    for stale in [out / f"{m}.{e}" for m in MODULES for e in ("py", "mpy")]:
        stale.unlink(missing_ok=True)
    if mpy:
        written += build_mpy(out, arch)
        if arch is None:
            for m in NATIVE_MODULES:
                written.append(Path(shutil.copyfile(module_dir() / f"{m}.py", out / f"{m}.py")))
    else:
        for src in module_sources():
            written.append(Path(shutil.copyfile(src, out / src.name)))
    if samples is not None:
        X, y = samples
        X = np.asarray(X, dtype=np.uint8).reshape(-1, net.cfg.n_in)
        y = np.asarray(y, dtype=np.uint8).reshape(-1)
        if len(X) != len(y):
            raise ValueError("samples: as many labels as images are needed")
        blob = np.concatenate([y[:, None], X], axis=1).tobytes()
        (out / "samples.bin").write_bytes(blob)
        written.append(out / "samples.bin")
    (out / "main.py").write_text(MAIN_PY.format(model=model_name,
                                                copy=COPY_COMMAND.format(dir=out.name or ".")))
    written.append(out / "main.py")
    return written
