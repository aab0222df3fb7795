"""The interface of an engine: :class:`Engine`, and its results :class:`SampleResult` and
:class:`BatchResult`.

An engine holds one network (configuration, seed, weights W, feedback G, ``samples_seen``) and runs
samples on it with the exact integers of docs/semantics.md, whatever it runs on (numpy, C, a
MicroPython subprocess). Every engine returns the same two result types, so code that drives
engines (training, evaluation, plots, benchmarks) never asks which engine it has.

Units: pixels are uint8 intensities 0..255 (``n_in`` per sample); a prediction is an output index
0..n_out-1 (the most output spikes, the lowest index on a tie); counts are output spikes of the
sample; events are the synaptic events of the sample alone (spiking pre-synaptic neurons times
their fan-out, summed over every weight layer, blanked-out ones included), not a running total;
ticks are the ticks the sample ran (``ticks_train``, or in inference ``ticks_infer`` or fewer when
the early exit ended it: docs/semantics.md section 7.2). Events and ticks are the per-sample cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from ..reference import INFER, NetConfig, Network
from ..reference.network import SampleResult

__all__ = ["BatchResult", "Engine", "EngineClass", "SampleResult"]


@dataclass(frozen=True)
class BatchResult:
    """What a batch of ``n`` samples produced, one row per sample in the order they ran.

    ``predictions``: int64 (n,), output indices. ``counts``: int64 (n, n_out), output spike counts.
    ``events``: int64 (n,), synaptic events of each sample (not cumulative). ``ticks``: int64 (n,),
    ticks each sample ran.
    """

    predictions: np.ndarray
    counts: np.ndarray
    events: np.ndarray
    ticks: np.ndarray

    def __post_init__(self) -> None:
        n = self.predictions.shape[0] if self.predictions.ndim == 1 else -1
        for name, a, ndim in (("predictions", self.predictions, 1), ("counts", self.counts, 2),
                              ("events", self.events, 1), ("ticks", self.ticks, 1)):
            if not isinstance(a, np.ndarray) or a.dtype != np.int64 or a.ndim != ndim:
                raise TypeError(f"BatchResult.{name} must be an int64 array of {ndim} "
                                f"dimension(s), got {getattr(a, 'dtype', type(a))} "
                                f"{getattr(a, 'shape', '')}")
            if a.shape[0] != n:
                raise ValueError(f"BatchResult: {name} has {a.shape[0]} rows, predictions {n}")

    def __len__(self) -> int:
        return int(self.predictions.shape[0])

    @property
    def total_events(self) -> int:
        """Synaptic events of the whole batch."""
        return int(self.events.sum())

    @property
    def total_ticks(self) -> int:
        """Ticks run by the whole batch."""
        return int(self.ticks.sum())

    @classmethod
    def of(cls, predictions: Any, counts: Any, events: Any, ticks: Any, n_out: int
           ) -> "BatchResult":
        """A BatchResult from array-likes (converted to int64; ``counts`` shaped (n, n_out))."""
        p = np.asarray(predictions, dtype=np.int64).reshape(-1)
        return cls(predictions=p,
                   counts=np.asarray(counts, dtype=np.int64).reshape(p.size, n_out),
                   events=np.asarray(events, dtype=np.int64).reshape(-1),
                   ticks=np.asarray(ticks, dtype=np.int64).reshape(-1))

    @classmethod
    def from_samples(cls, results: Sequence[SampleResult], n_out: int) -> "BatchResult":
        """The BatchResult of samples run one at a time."""
        return cls.of([r.prediction for r in results],
                      [np.asarray(r.counts).reshape(n_out) for r in results] or
                      np.zeros((0, n_out), np.int64),
                      [int(r.events) for r in results], [int(r.ticks) for r in results], n_out)


@runtime_checkable
class Engine(Protocol):
    """What every engine offers (the reference adapter, the C engine, the MicroPython engine).

    ``max_batch``: the most samples one :meth:`run_samples` call should get, or None for no
    limit; an engine that runs samples one by one in Python says 1, so that callers update
    progress and honour a stop request after every sample.
    """

    max_batch: ClassVar[int | None]

    @property
    def cfg(self) -> NetConfig: ...

    @property
    def seed(self) -> int: ...

    @property
    def samples_seen(self) -> int: ...

    def run_sample(self, pixels: Any, label: int = -1, mode: str = INFER,
                   sample: int | None = None) -> SampleResult:
        """Run one sample (uint8 pixels (n_in,)). ``sample`` (uint32) keys its randomness;
        default: ``samples_seen`` in training, 0 in inference. In training ``label`` (0..n_out-1)
        drives learning and ``samples_seen`` is incremented afterwards (whatever ``sample``)."""
        ...

    def run_samples(self, X: Any, labels: Any = None, mode: str = INFER,
                    start_index: int | None = None) -> BatchResult:
        """Run samples ``X[i]`` (uint8 (n, n_in)) in order, sample ``i`` with index
        ``start_index + i`` (default start: ``samples_seen`` in training, 0 in inference) and, in
        training, label ``labels[i]``. The same numbers as ``n`` calls of :meth:`run_sample`."""
        ...

    def snapshot(self) -> dict[str, np.ndarray]:
        """The full state after the last tick, keys and shapes of ``Network.snapshot`` (int64)."""
        ...

    def to_network(self) -> Network:
        """A reference Network with this engine's configuration, seed, W, G and samples_seen."""
        ...

    def dumps(self) -> bytes:
        """The network as model-file bytes (docs/semantics.md, "Model file")."""
        ...


class EngineClass(Protocol):
    """What :func:`erbp.engines.register_engine`'s loader returns: a class that builds engines."""

    def create(self, cfg: NetConfig, seed: int) -> Engine:
        """A fresh network generated from ``seed`` (uint32)."""
        ...

    def from_network(self, net: Network) -> Engine:
        """An engine holding a reference network's W, G, seed and samples_seen."""
        ...
