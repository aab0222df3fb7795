"""The counter-based random function of the semantics (docs/semantics.md, "Randomness").

A draw is a pure function of (seed, stream, sample, tick, index); there is no generator state, so
every engine gets the same numbers whatever order its loops run in, and numpy can draw a whole
population at once. Only 32-bit wrapping multiply, xor and shifts are used (cheap on a Cortex-M0).
"""
from __future__ import annotations

import numpy as np

from .constants import GOLDEN, KEY_IV, MASK32, MIX_M1, MIX_M2

U32 = np.uint32


def mix32(x: int) -> int:
    """MIX32: a 32-bit integer hash (xorshift-multiply, constants 0x21f0aaad and 0x735a2d97)."""
    x &= MASK32
    x ^= x >> 16
    x = (x * MIX_M1) & MASK32
    x ^= x >> 15
    x = (x * MIX_M2) & MASK32
    x ^= x >> 15
    return x


def mix32_np(x: np.ndarray) -> np.ndarray:
    """MIX32 on a uint32 array (numpy's uint32 multiply wraps modulo 2**32, as specified)."""
    x = x.astype(U32, copy=True)
    x ^= x >> U32(16)
    x *= U32(MIX_M1)
    x ^= x >> U32(15)
    x *= U32(MIX_M2)
    x ^= x >> U32(15)
    return x


def absorb(h: int, v: int) -> int:
    """ABSORB(h, v) = MIX32(h xor MIX32(v xor 0x9e3779b9)): fold one 32-bit word into a key."""
    return mix32(h ^ mix32((v & MASK32) ^ GOLDEN))


def sample_key(seed: int, stream: int, sample: int) -> int:
    """The key of one stream in one sample: ABSORB(ABSORB(ABSORB(KEY_IV, seed), stream), sample)."""
    return absorb(absorb(absorb(KEY_IV, seed), stream), sample)


def key(seed: int, stream: int, sample: int, tick: int) -> int:
    """KEY(seed, stream, sample, tick) = ABSORB(sample_key(seed, stream, sample), tick): the
    32-bit key of one stream in one tick of one sample."""
    return absorb(sample_key(seed, stream, sample), tick)


def draw(k: int, index: int) -> int:
    """DRAW(key, index) = MIX32(key + index * 0x9e3779b9 mod 2**32): one uniform 32-bit number."""
    return mix32((k + (index * GOLDEN)) & MASK32)


def draws(k: int, n: int, start: int = 0) -> np.ndarray:
    """DRAW(key, i) for i = start .. start+n-1, as a uint32 array."""
    idx = np.arange(start, start + n, dtype=np.uint64)
    x = (np.uint64(k) + idx * np.uint64(GOLDEN)) & np.uint64(MASK32)
    return mix32_np(x.astype(U32))


def draws_at(k: int, index: np.ndarray) -> np.ndarray:
    """DRAW(key, i) for every i in an integer array (any shape)."""
    x = (np.uint64(k) + index.astype(np.uint64) * np.uint64(GOLDEN)) & np.uint64(MASK32)
    return mix32_np(x.astype(U32))


def uniform_int(r: np.ndarray, amp: int) -> np.ndarray:
    """UNIFORM(r, a) = ((r >> 16) * (2a + 1)) >> 16 - a: an integer in [-a, a] from a draw r."""
    return (((r.astype(np.int64) >> 16) * (2 * amp + 1)) >> 16) - amp
