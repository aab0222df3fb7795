"""The run directory of ``erbp train``: its files, its checkpoint and its resume bookkeeping.

Layout (every file is replaced atomically, :mod:`erbp.fileio`; metrics.jsonl is appended to)::

    RUNDIR/
      config.json    what the run is: data set, topology, variant, seed, protocol, overrides,
                     the full network configuration, and the exact command line(s)
      model.erbp     the latest checkpoint (a model file, erbp.reference.modelfile); the final
                     model once the run is complete
      state.json     resume bookkeeping that is not in the model: elapsed time, events, the recent
                     training predictions (for the train-error window)
      metrics.jsonl  one JSON object per evaluation (see erbp.training.loop.train)
      average.npz    the running sums of the weight snapshots of the recipe's averaging window
                     (erbp.training.averaging), saved with every checkpoint inside the window
      model-avg.erbp the averaged network, written when the run completes with averaging on

The model file alone determines the weights of a resumed run (the sample order is a function of
samples_seen); state.json only makes the metrics of a resumed run continue seamlessly, and is
ignored if it does not belong to the model next to it.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .averaging import WeightAverage
from ..reference import Network
from ..reference import modelfile
from ..errors import ErbpError
from ..fileio import (append_jsonl, make_dir_atomic, read_json, read_jsonl, write_json,
                      write_jsonl)

CONFIG = "config.json"
MODEL = "model.erbp"
STATE = "state.json"
METRICS = "metrics.jsonl"
AVERAGE = "average.npz"
MODEL_AVG = "model-avg.erbp"
#: The largest config.json or state.json read (erbp writes a few kilobytes).
MAX_CONFIG_BYTES = 1 << 20


class RunDirError(ErbpError, RuntimeError):
    """A run directory that cannot be created, opened or resumed; the message says why."""


@dataclass
class RunState:
    """Bookkeeping of a run at a checkpoint: ``samples_seen`` (that of the model it belongs to),
    ``elapsed_s`` (wall-clock seconds of training and evaluation so far), ``events`` (synaptic
    events of all training samples so far), ``recent`` (correctness of the most recent training
    predictions, oldest first, as a string of '0'/'1')."""

    samples_seen: int = 0
    elapsed_s: float = 0.0
    events: int = 0
    recent: str = ""


class RunDir:
    """One run directory (see the module docstring for its files)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / CONFIG)
    model_path = property(lambda self: self.path / MODEL)
    state_path = property(lambda self: self.path / STATE)
    metrics_path = property(lambda self: self.path / METRICS)
    average_path = property(lambda self: self.path / AVERAGE)
    model_avg_path = property(lambda self: self.path / MODEL_AVG)

    @classmethod
    def create(cls, path: str | os.PathLike, config: dict[str, Any],
               net: Network | None = None, *, exclusive: bool = False) -> "RunDir":
        """A new run directory holding ``config`` as config.json and, if given, ``net`` as its
        first checkpoint. A new (or empty) directory is built beside ``path`` and renamed into
        place, so an interrupted or failed creation leaves nothing behind. Refuses a path that
        is a file or a directory that holds a run (use resume); a directory holding other files
        is refused with ``exclusive`` (``erbp train --out``), else the run's files are written
        into it one by one (each atomically)."""
        run = cls(path)
        try:
            if run.path.exists() and not run.path.is_dir():
                raise RunDirError(f"{run.path} exists and is not a directory")
            if run.config_path.exists() or run.model_path.exists():
                raise RunDirError(f"{run.path} already holds a run: continue it with "
                                  f"--resume {run.path} or choose another --out")
            if run.path.is_dir() and any(run.path.iterdir()):
                if exclusive:
                    raise RunDirError(f"{run.path} is a directory that is not empty: choose a "
                                      f"new --out for the run")
                run._fill(config, net)
                return run
            with make_dir_atomic(run.path, parents=True) as tmp:
                cls(tmp)._fill(config, net)
        except OSError as e:
            raise RunDirError(f"cannot create run directory {run.path}: {e.strerror or e}") \
                from e
        return run

    def _fill(self, config: dict[str, Any], net: Network | None) -> None:
        self.write_config(config)
        if net is not None:
            self.save_checkpoint(net, RunState(samples_seen=net.samples_seen))

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """An existing run directory (must hold config.json and model.erbp)."""
        run = cls(path)
        if not run.path.is_dir():
            raise RunDirError(f"run directory {run.path} does not exist")
        for p in (run.config_path, run.model_path):
            if not p.is_file():
                raise RunDirError(f"{run.path} is not a run directory: {p.name} is missing")
        return run

    def read_config(self) -> dict[str, Any]:
        """config.json as a dict."""
        try:
            config = read_json(self.config_path, MAX_CONFIG_BYTES)
        except (OSError, ValueError) as e:
            raise RunDirError(f"cannot read {self.config_path}: {e}") from e
        if not isinstance(config, dict):
            raise RunDirError(f"{self.config_path} is not a run configuration (a JSON object)")
        return config

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.config_path, config)

    def save_checkpoint(self, net: Network, state: RunState,
                        average: WeightAverage | None = None) -> None:
        """Write average.npz (if given), model.erbp, then state.json (each atomically)."""
        if average is not None:
            average.save(self.average_path, net.samples_seen)
        modelfile.save(net, self.model_path)
        state.samples_seen = net.samples_seen
        write_json(self.state_path, asdict(state), indent=None)

    def load_checkpoint(self) -> tuple[Network, RunState]:
        """The checkpointed network and its bookkeeping (a fresh RunState if state.json is
        missing, unreadable or belongs to another checkpoint)."""
        net = modelfile.load(self.model_path)
        state = RunState(samples_seen=net.samples_seen)
        try:
            saved = RunState(**read_json(self.state_path, MAX_CONFIG_BYTES))
        except (OSError, ValueError, TypeError):
            return net, state
        return net, (saved if saved.samples_seen == net.samples_seen else state)

    def load_average(self, net: Network) -> WeightAverage | None:
        """The weight-snapshot sums saved with the checkpoint ``net`` (None if there are none);
        AverageError if average.npz belongs to another checkpoint."""
        if not self.average_path.exists():
            return None
        return WeightAverage.load(self.average_path, net)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl."""
        append_jsonl(self.metrics_path, record)

    def truncate_metrics(self, samples_seen: int) -> None:
        """Drop the records made after ``samples_seen`` (a resumed run makes them again)."""
        keep = [r for r in self.read_metrics() if r.get("samples_seen", 0) <= samples_seen]
        if self.metrics_path.exists():
            write_jsonl(self.metrics_path, keep)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every record of metrics.jsonl (empty if there is none)."""
        return read_jsonl(self.metrics_path)
