"""The reference engine: a :class:`erbp.reference.Network` behind the :class:`Engine` interface.

It runs the Network it was given, not a copy: training through it changes that Network, and
:meth:`ReferenceEngine.to_network` returns it. ``network`` gives the Network itself for what only
the reference offers (``begin_sample``/``tick``, ``pops``, ...).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from .base import BatchResult, SampleResult
from ..reference import INFER, TRAIN, NetConfig, Network, modelfile
from ..reference.network import check_labels, check_pixels, check_u32


class ReferenceEngine:
    """The numpy reference as an engine (see the module docstring)."""

    #: Samples run one by one in Python: callers act (progress, stop) after every one.
    max_batch = 1

    def __init__(self, network: Network):
        self.network = network

    @classmethod
    def create(cls, cfg: NetConfig, seed: int) -> "ReferenceEngine":
        return cls(Network.create(cfg, seed))

    @classmethod
    def from_network(cls, net: Network) -> "ReferenceEngine":
        """The engine of ``net`` itself (no copy)."""
        return cls(net)

    @property
    def cfg(self) -> NetConfig:
        return self.network.cfg

    @property
    def seed(self) -> int:
        return self.network.seed

    @property
    def samples_seen(self) -> int:
        return self.network.samples_seen

    @samples_seen.setter
    def samples_seen(self, value: int) -> None:
        self.network.samples_seen = check_u32(value, "samples_seen")

    def run_sample(self, pixels: Any, label: int = -1, mode: str = INFER,
                   sample: int | None = None,
                   on_tick: Callable[[Network], None] | None = None) -> SampleResult:
        return self.network.run_sample(pixels, label, mode, sample, on_tick)

    def run_samples(self, X: Any, labels: Any = None, mode: str = INFER,
                    start_index: int | None = None) -> BatchResult:
        # every argument is checked before the first sample runs (a refused batch changes nothing)
        X = check_pixels(X, self.cfg.n_in, rows=True)
        lab = check_labels(labels, len(X), mode, self.cfg.n_out)
        if start_index is None:
            start_index = self.samples_seen if mode == TRAIN else 0
        check_u32(start_index, "start index")
        check_u32(start_index + max(len(X) - 1, 0), "the last sample index")
        results = [self.network.run_sample(x, int(lab[i]) if lab is not None else -1, mode,
                                           sample=start_index + i)
                   for i, x in enumerate(X)]
        return BatchResult.from_samples(results, self.cfg.n_out)

    def snapshot(self) -> dict[str, np.ndarray]:
        return self.network.snapshot()

    def to_network(self) -> Network:
        """The Network this engine runs (itself, not a copy)."""
        return self.network

    def dumps(self) -> bytes:
        return modelfile.dumps(self.network)

    def save(self, path: str | os.PathLike) -> None:
        """Write a model file atomically."""
        modelfile.save(self.network, path)
