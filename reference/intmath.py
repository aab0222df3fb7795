"""Exact integer rules of the semantics, vectorised over numpy int64 arrays.

Every function here implements one named rule of docs/semantics.md ("Integer rules"). Values are
held in int64 arrays, far wider than any declared width, so intermediate results are exact; where
the spec saturates we clip explicitly, and where the spec says a value can never leave its width we
call :func:`check_range`, which raises :class:`RangeError` instead of letting a value wrap.
"""
from __future__ import annotations

import numpy as np

from .errors import ErbpError

I64 = np.int64


class RangeError(ErbpError, ArithmeticError):
    """A value left the width the semantics declares for it (a bug in a config or an engine)."""


def bounds(bits: int) -> tuple[int, int]:
    """Inclusive range of a two's-complement signed integer of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_range(x: np.ndarray | int, lo: int, hi: int, what: str) -> None:
    """Raise RangeError if any element of ``x`` lies outside [lo, hi]."""
    a = np.asarray(x)
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a.min() if a.min() < lo else a.max()
        raise RangeError(f"{what} = {int(bad)} left its declared range [{lo}, {hi}]")


def sat(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """SAT(x, lo, hi): clamp to [lo, hi] (saturation, never wrap-around)."""
    return np.minimum(np.maximum(x, lo), hi)


def asr(x: np.ndarray, k: int) -> np.ndarray:
    """ASR(x, k) = floor(x / 2**k): arithmetic shift right, rounding toward minus infinity."""
    return np.right_shift(x, k)  # numpy's >> on signed integers is floor division by 2**k


def decay(x: np.ndarray, k: int) -> np.ndarray:
    """DECAY(x, k) = x - sign(x) * ceil(|x| / 2**k).

    One tick of exponential decay by the factor (1 - 2**-k), with the decayed value rounded toward
    zero: a nonzero value always moves at least one unit toward 0, positive and negative values
    decay symmetrically, and every state reaches exactly 0. k = 0 clears the value.
    """
    mag = np.abs(x)
    leak = (mag + ((1 << k) - 1)) >> k
    return x - np.sign(x) * leak


def stochastic_round_shift(q: np.ndarray, k: int, r: np.ndarray) -> np.ndarray:
    """SRS(q, k, r) = floor(q / 2**k) + [ (r mod 2**k) < (q mod 2**k) ].

    Unbiased stochastic rounding of q / 2**k for both signs: the remainder q mod 2**k is taken in
    [0, 2**k) (two's-complement low bits), r is a uniform 32-bit draw. E[SRS] = q / 2**k exactly.
    """
    mask = (1 << k) - 1
    return (q >> k) + ((r.astype(I64) & mask) < (q & mask)).astype(I64)
