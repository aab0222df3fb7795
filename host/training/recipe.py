"""The training recipe of a run beyond the network configuration: the learning-rate schedule and
the data split a run is scored on. Both are stored in the run's config.json ("options"), so a
resumed run follows the same recipe, bit for bit.

Learning-rate schedule. The learning rate of every layer halves (``lr_shift += 1``, capped at the
field's maximum) every ``every`` epochs, the first time at epoch ``start + every``. The number of
halvings in force for training sample ``p`` (``samples_seen`` before it) is

    k(p) = max(0, floor((p / epoch_size - start) / every))        (0 if every == 0)

computed exactly in rationals, so the ``lr_shift`` of every sample is a pure function of ``p``
and the run's base configuration (config.json "net_config"): a run resumed from any checkpoint
trains exactly like an uninterrupted one. ``every`` and ``start`` are in epochs and may be
fractional; with integers the change falls on an epoch boundary.

:func:`default_lr_schedule` is what ``erbp train`` uses for balanced epochs unless told otherwise
(``--lr-halve-every``): five halvings over the run, never more often than every 2 epochs
(``every = max(2, epochs / 5)``: 10 epochs halve every 2, 30 every 6). It is resolved once, when
the run is created, and stored; extending a run with ``--resume --epochs`` keeps it. Run
directories written before the schedule existed have none (constant learning rate) and resume
that way.

Data split. ``"test"``: fit on the whole training set, score on the test set (the paper's
protocol). ``"validation"``: fit on the first 5/6 of the training set (MNIST: the first 50,000
images) and score on the rest (the last 10,000), so tuning never looks at the test set.
"""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Sequence

from ..data.datasets import Dataset
from ..reference.params import FIELD_BY_NAME


@dataclasses.dataclass(frozen=True)
class LrSchedule:
    """Halve the learning rate every ``every`` epochs (0: never), first at epoch
    ``start + every`` (module docstring)."""

    every: float = 0.0
    start: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.every) and math.isfinite(self.start)) or self.every < 0:
            raise ValueError(f"learning-rate schedule: halve every {self.every} epochs from "
                             f"{self.start}: need a finite every >= 0 and a finite start")

    @property
    def active(self) -> bool:
        return self.every > 0

    def halvings(self, pos: int, epoch_size: int) -> int:
        """Halvings in force for the training sample at position ``pos``."""
        if not self.active:
            return 0
        k = (Fraction(pos, epoch_size) - Fraction(self.start)) / Fraction(self.every)
        return max(0, math.floor(k))

    def next_change(self, pos: int, epoch_size: int) -> int | None:
        """The first position after ``pos`` whose halvings differ from those of ``pos`` (None if
        the schedule is off)."""
        if not self.active:
            return None
        k = self.halvings(pos, epoch_size) + 1
        at = (Fraction(self.start) + k * Fraction(self.every)) * epoch_size
        return max(pos + 1, math.ceil(at))

    def lr_shift(self, base: Sequence[int], pos: int, epoch_size: int) -> tuple[int, ...]:
        """The ``lr_shift`` of every layer for the sample at ``pos``, from the run's base."""
        top = FIELD_BY_NAME["lr_shift"].hi
        k = self.halvings(pos, epoch_size)
        return tuple(min(top, int(s) + k) for s in base)


#: No schedule: a constant learning rate (run directories that predate schedules).
CONSTANT_LR = LrSchedule(0.0, 0.0)
#: The default of ``erbp train`` for balanced runs of up to 10 epochs: halve every 2 epochs from
#: epoch 0 (measured on a validation split, docs/tuning.md: 10 epochs of the five networks).
DEFAULT_LR_SCHEDULE = LrSchedule(2.0, 0.0)
#: Halvings over a longer run (:func:`default_lr_schedule`).
DEFAULT_HALVINGS = 5


def default_lr_schedule(epochs: float) -> LrSchedule:
    """The default schedule of a balanced run of ``epochs`` epochs: halve every
    ``max(2, epochs / 5)`` epochs from epoch 0 (:data:`DEFAULT_LR_SCHEDULE` up to 10 epochs;
    30 epochs halve every 6, measured better than every 2 or 4 on a validation split,
    docs/tuning.md)."""
    if not (math.isfinite(epochs) and epochs > 0):
        raise ValueError(f"epochs must be finite and > 0, got {epochs}")
    every = max(DEFAULT_LR_SCHEDULE.every, epochs / DEFAULT_HALVINGS)
    return LrSchedule(every, DEFAULT_LR_SCHEDULE.start)

SPLITS = ("test", "validation")
VALIDATION_FRACTION = 6  # the last 1/6 of the training set validates (MNIST: 10,000 of 60,000)


def split_data(data: Dataset, split: str) -> Dataset:
    """``data`` as a run of this split sees it: "test" as it is; "validation" with the last
    ``len // 6`` training images as its test set and the rest as its training set."""
    if split == "test":
        return data
    if split != "validation":
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    n_fit = len(data.train_y) - len(data.train_y) // VALIDATION_FRACTION
    return dataclasses.replace(data, train_x=data.train_x[:n_fit], train_y=data.train_y[:n_fit],
                               test_x=data.train_x[n_fit:], test_y=data.train_y[n_fit:])
