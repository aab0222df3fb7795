"""The sample order of training: which training example is sample number ``p``.

Training sample number ``p`` of a network (``p`` = its ``samples_seen`` before the
sample) is a pure function of (protocol, training labels, epoch size, order seed, p):

* ``"balanced"`` (the paper's protocol): epochs of ``epoch_size`` draws with replacement, each class
  equally often (the remainder of ``epoch_size / n_classes`` goes to the lowest classes), in a
  random order. Epoch ``e`` is drawn from the project's counter-based random function with
  key ``KEY(order_seed, 0x8000, e, 0)`` (class order: a stable argsort of its draws) and
  ``KEY(order_seed, 0x8000, e, 1)`` (the example within the class: ``(draw * count) >> 32``).
  Stream kind 0x80 is the host's; no engine uses it.
* ``"sequential"``: example ``p mod N`` (plain passes over the training set in file order).

So a run resumed from a checkpoint continues with exactly the samples, and hence the weights, of
an uninterrupted run. The sample index given to the engine (which keys all its randomness) is
``samples_seen`` for training and the test-set position for inference (docs/semantics.md, 7).
"""
from __future__ import annotations

import numpy as np

from ..data.datasets import Dataset
from ..reference import rng
from ..reference.network import stream

PROTOCOLS = ("balanced", "sequential")
ORDER_STREAM = stream(0x80, 0)  # the host's stream kind for the data order
PAPER_EPOCH = 50_000  # draws per balanced epoch in the paper's MNIST protocol
#: The largest epoch: a balanced epoch is drawn whole (a few arrays of epoch_size int64).
MAX_EPOCH_SIZE = 1 << 24

def default_epoch_size(data: Dataset, protocol: str) -> int:
    """Samples per epoch: 50,000 for balanced MNIST (the paper's), else the training-set size."""
    if protocol == "balanced" and data.name == "mnist":
        return PAPER_EPOCH
    return len(data.train_y)


def balanced_epoch(labels: np.ndarray, epoch: int, epoch_size: int, seed: int) -> np.ndarray:
    """Training-set indices of one class-balanced epoch drawn with replacement (module docs)."""
    classes = np.unique(labels)
    n_c = len(classes)
    counts = np.full(n_c, epoch_size // n_c, dtype=np.int64)
    counts[: epoch_size % n_c] += 1
    slots = np.repeat(np.arange(n_c), counts)
    k_order = rng.key(seed, ORDER_STREAM, epoch, 0)
    slots = slots[np.argsort(rng.draws(k_order, epoch_size), kind="stable")]
    members = [np.flatnonzero(labels == c) for c in classes]
    sizes = np.array([len(m) for m in members], dtype=np.uint64)
    r = rng.draws(rng.key(seed, ORDER_STREAM, epoch, 1), epoch_size).astype(np.uint64)
    within = ((r * sizes[slots]) >> np.uint64(32)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum([len(m) for m in members])[:-1]])
    return np.concatenate(members)[starts[slots] + within]


class SampleOrder:
    """Maps training positions (samples_seen values) to training-set indices."""

    def __init__(self, labels: np.ndarray, protocol: str = "balanced",
                 epoch_size: int | None = None, seed: int = 0):
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        self.labels = np.asarray(labels)
        self.protocol = protocol
        self.epoch_size = int(epoch_size or len(self.labels))
        if not 0 < self.epoch_size <= MAX_EPOCH_SIZE:
            raise ValueError(f"epoch_size must lie in 1..{MAX_EPOCH_SIZE}, got {self.epoch_size}")
        self.seed = seed
        self._epoch: tuple[int, np.ndarray] | None = None

    def _epoch_indices(self, e: int) -> np.ndarray:
        if self._epoch is None or self._epoch[0] != e:
            self._epoch = (e, balanced_epoch(self.labels, e, self.epoch_size, self.seed))
        return self._epoch[1]

    def indices(self, start: int, n: int) -> np.ndarray:
        """Training-set indices of positions start .. start+n-1."""
        pos = np.arange(start, start + n, dtype=np.int64)
        if self.protocol == "sequential":
            return pos % len(self.labels)
        out = np.empty(n, dtype=np.int64)
        for e in np.unique(pos // self.epoch_size):
            sel = pos // self.epoch_size == e
            out[sel] = self._epoch_indices(int(e))[pos[sel] % self.epoch_size]
        return out
