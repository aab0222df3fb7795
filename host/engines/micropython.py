"""The MicroPython engine: a network run by erbp_mp inside a unix-port ``micropython``
subprocess, driven through ``erbp_mp_driver`` (firmware/micropython/): the same results and
snapshots as :class:`erbp.reference.Network`, for verification (it is slow). The tools and module
sources it needs are found by :mod:`erbp.micropython_tools`.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .base import BatchResult
from ..micropython_tools import DRIVER, MicroPythonError, find_micropython, module_dir
from ..reference import NetConfig, Network, modelfile
from ..reference.network import INFER, TRAIN, SampleResult


class MicroPythonEngine:
    """A network run by erbp_mp inside a unix-port ``micropython`` subprocess.

    Offers what :class:`erbp.reference.Network` offers for a run (the interface of
    erbp.engines): ``run_sample``, ``run_samples``, ``snapshot``, ``samples_seen``, ``cfg``,
    ``seed``, ``to_network``; plus ``run_sample_records`` (the full state after every tick, as
    golden records), ``dumps``/``save`` (the model file written by MicroPython) and ``backend``
    ("viper" or "plain"). ``backend="auto"`` lets erbp_mp choose (viper where the native emitter
    works). ``module_path``: a directory to import the module from (default the sources; pass
    :func:`erbp.micropython_tools.build_mpy`'s output directory to run the precompiled .mpy).
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

    def reload(self, model: bytes | Network, backend: str | None = None) -> None:
        """Replace the network by one loaded from a model file (same subprocess)."""
        if isinstance(model, Network):
            model = modelfile.dumps(model)
        path = Path(self._tmp.name) / "model.erbp"
        path.write_bytes(bytes(model))
        self._set_info(self._call({"op": "load", "path": str(path.resolve()),
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
                         events=res["events"], ticks=res["ticks"],
                         hidden_spikes=res["hidden_spikes"], input_spikes=res["input_spikes"])
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
            return BatchResult.of([], np.zeros((0, self.cfg.n_out)), [], [], self.cfg.n_out)
        y = np.zeros(n, np.uint8) if labels is None else np.asarray(labels).astype(np.uint8)
        path = Path(self._tmp.name) / "batch.bin"
        path.write_bytes(np.concatenate([y.reshape(n, 1), X.reshape(n, -1)], axis=1).tobytes())
        res = self._call({"op": "batch", "mode": mode, "path": str(path), "count": n,
                          "start": int(start_index)})
        self.samples_seen = res["samples_seen"]
        self.batch_us = int(res["us"])
        return BatchResult.of(res["predictions"], res["counts"], res["events"], res["ticks"],
                              self.cfg.n_out)

    def heap_check(self, pixels: Any, label: int = -1, mode: str = INFER) -> bool:
        """Whether running this sample allocates on the MicroPython heap (runs it twice)."""
        res = self._call({"op": "heapcheck", "mode": mode, "label": int(label),
                          "pixels": np.asarray(pixels, np.uint8).tobytes().hex()})
        self.samples_seen = self._call({"op": "info"})["samples_seen"]
        return bool(res["allocates"])
