"""Weight averaging over the end of a run: part of the training recipe, done on the host.

With 8-bit weights and stochastic rounding, every weight keeps moving by whole steps until the
end of a run, so the network after the last sample is one noisy point around where training has
settled (the error moves by tenths of a point between epochs after the learning rate has
fallen). The mean of the weights over the last part of the run is a better network (measured on a
validation split, docs/tuning.md). It is still an ordinary model of the same configuration, 8-bit
weights within range, so every engine and board runs it bit for bit and can go on learning from
it; the averaging never touches the semantics.

The window. A run that aims at ``end`` samples averages the weights at every position ``p``
with ``first < p <= end`` and ``p % every == 0``, and at ``end`` (after the sample ``p - 1``), where
``first = end - floor(epochs * epoch_size)``. The averaged weight is the integer mean rounded
half up, ``floor((2 * sum + n) / (2 * n))`` for ``n`` snapshots: exact integer arithmetic, so a
run resumed from any checkpoint averages to the same network as an uninterrupted one (the sums
are saved with every checkpoint, ``average.npz`` in the run directory).

:func:`default_average` is what ``erbp train`` and ``erbp sweep`` use: the last period of the
learning-rate schedule (the last 2 epochs of a 10-epoch run, the last 6 of 30), 20 snapshots per
epoch; no averaging without a schedule.
"""
from __future__ import annotations

import dataclasses
import io
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from .recipe import LrSchedule
from ..errors import ErbpError
from ..fileio import read_limited, write_bytes_atomic
from ..reference import Network

#: Snapshots per epoch of the default window.
SNAPSHOTS_PER_EPOCH = 20


@dataclasses.dataclass(frozen=True)
class AverageWindow:
    """Average the weights over the last ``epochs`` epochs of a run (0: no averaging), one
    snapshot every ``every`` samples (module docstring)."""

    epochs: float = 0.0
    every: int = 0

    def __post_init__(self) -> None:
        if not math.isfinite(self.epochs) or self.epochs < 0:
            raise ValueError(f"weight averaging over {self.epochs} epochs: need a finite "
                             f"number >= 0")
        if not isinstance(self.every, int) or self.every < 0 or (self.epochs > 0 and
                                                                 self.every == 0):
            raise ValueError(f"weight averaging every {self.every} samples: need an integer "
                             f">= 1")

    @property
    def active(self) -> bool:
        return self.epochs > 0

    def first(self, end: int, epoch_size: int) -> int:
        """The position after which snapshots are taken for a run that ends at ``end``."""
        return max(0, end - math.floor(Fraction(self.epochs) * epoch_size))

    def takes(self, pos: int, end: int, epoch_size: int) -> bool:
        """Whether the weights at position ``pos`` (after sample pos - 1) are a snapshot: a
        multiple of ``every`` inside the window, or the end."""
        return (self.active and self.first(end, epoch_size) < pos <= end
                and (pos % self.every == 0 or pos == end))

    def next_snapshot(self, pos: int) -> int:
        """The first position after ``pos`` that is a multiple of ``every`` (a huge number
        when off)."""
        return (pos // self.every + 1) * self.every if self.active else 1 << 62


#: No averaging (runs made before averaging existed, and runs without a schedule).
NO_AVERAGE = AverageWindow(0.0, 0)


def average_window(epochs: float, epoch_size: int) -> AverageWindow:
    """Averaging over the last ``epochs`` epochs (0: none), ``SNAPSHOTS_PER_EPOCH`` snapshots
    per epoch of ``epoch_size`` samples (at least one every sample)."""
    if epochs == 0:
        return NO_AVERAGE
    return AverageWindow(epochs, max(1, epoch_size // SNAPSHOTS_PER_EPOCH))


def default_average(schedule: LrSchedule, epoch_size: int) -> AverageWindow:
    """The default window of a run with this learning-rate schedule: its last halving period
    (``schedule.every`` epochs; none without a schedule), :func:`average_window`."""
    return average_window(schedule.every if schedule.active else 0.0, epoch_size)


class AverageError(ErbpError, ValueError):
    """An average.npz that does not belong to the network beside it."""


@dataclasses.dataclass
class WeightAverage:
    """The running sums of a run's weight snapshots: ``sums[l]`` (int64, the shape of W[l]),
    ``count`` snapshots, the last taken at position ``last`` (0: none yet), for the window that
    begins after position ``first``; ``samples_seen`` is the position the sums were saved at
    (that of the checkpoint they belong to)."""

    sums: list[np.ndarray]
    count: int = 0
    last: int = 0
    samples_seen: int = 0
    first: int = 0

    @classmethod
    def empty(cls, net: Network, first: int = 0) -> "WeightAverage":
        return cls([np.zeros(w.shape, np.int64) for w in net.W], 0, 0, net.samples_seen, first)

    def add(self, W: list[np.ndarray], pos: int) -> None:
        """Add the snapshot of the weights ``W`` at position ``pos``."""
        for s, w in zip(self.sums, W):
            s += np.asarray(w, np.int64)
        self.count += 1
        self.last = pos

    def network(self, net: Network) -> Network:
        """``net`` (configuration, G, seed, samples_seen) with the averaged weights: the mean
        of the snapshots rounded half up, ``floor((2 sum + n) / (2 n))``."""
        if self.count == 0:
            raise ValueError("no weight snapshot has been taken")
        n = self.count
        W = [(2 * s + n) // (2 * n) for s in self.sums]
        return Network(cfg=net.cfg, seed=net.seed, W=W, G=[g.copy() for g in net.G],
                       samples_seen=net.samples_seen)

    def dumps(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, meta=np.array([self.count, self.last, self.samples_seen, self.first],
                                    np.int64),
                 **{f"sum{l}": s for l, s in enumerate(self.sums)})
        return buf.getvalue()

    def save(self, path: str | Path, samples_seen: int) -> None:
        """Write the sums (as of the checkpoint at ``samples_seen``) atomically."""
        self.samples_seen = samples_seen
        write_bytes_atomic(path, self.dumps())

    @classmethod
    def load(cls, path: str | Path, net: Network) -> "WeightAverage":
        """The sums saved beside ``net``: AverageError if the file is not erbp's, or belongs to
        another network or another checkpoint."""
        limit = 64 + sum(16 * w.size + 4096 for w in net.W)
        try:
            with np.load(io.BytesIO(read_limited(path, limit)), allow_pickle=False) as z:
                meta = z["meta"]
                sums = [z[f"sum{l}"] for l in range(len(net.W))]
        except (OSError, ValueError, KeyError) as e:
            raise AverageError(f"{path}: not a weight average of this run ({e})") from None
        if meta.shape != (4,) or any(s.shape != w.shape or s.dtype != np.int64
                                     for s, w in zip(sums, net.W)):
            raise AverageError(f"{path}: not a weight average of this network")
        count, last, seen, first = (int(v) for v in meta)
        if seen != net.samples_seen or count < 0:
            raise AverageError(f"{path}: saved at {seen} samples, the checkpoint is at "
                               f"{net.samples_seen}")
        return cls(sums, count, last, seen, first)
