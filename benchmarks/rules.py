"""Candidate defaults rules: configuration overrides computed from a topology and a variant.

A rule maps the layer sizes and the variant to field values, so that one candidate
(``benchmarks/tune.py --cand "NAME rule=R"``) means the same recipe on every network of the
paper's table; the measurements that compare them are in docs/tuning.md. ``rule_overrides``
returns a dict of field -> int or per-layer tuple, as ``erbp.configure.apply_overrides`` takes
it.

Notation: layer l (0 .. H) has ``n_pre(l)`` inputs; layer 0 is fed by the pixels, the others by
spiking hidden units. ``syn`` is the synaptic filter shift (``syn_shift``); the current I of a
neuron with a constant drive x per tick settles at ``2^syn * x``, and V integrates
``I / 2^i2v_shift``, so ``i2v_shift = syn_shift`` keeps the mean drive of V of the defaults
(``syn_shift = i2v_shift = 1``) while the gates on I scale by ``2^(syn - 1)``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from erbp.reference.config import parse_sizes

Rule = Callable[[tuple[int, ...], str], dict[str, Any]]


def _log2r(x: float) -> int:
    """round(log2(x)) for x > 0."""
    return int(round(math.log2(x)))


def lr_scaled(mult: int, shift: int, f: float) -> tuple[int, int]:
    """(lr_mult, lr_shift) for ``f`` times the rate mult / 2^shift: unchanged for f = 1, else
    with two more bits of multiplier than the shift change needs (lr_mult >= 4 * mult / 2)."""
    if f == 1.0:
        return mult, shift
    s = shift + max(0, math.ceil(-math.log2(f))) + 2
    return max(1, round(mult * f * 2 ** (s - shift))), s


def filt(syn: int, gate_lo: int = -1024, gate_hi: int = 2048) -> Rule:
    """Only the synaptic filter: syn_shift = i2v_shift = syn, hidden gates scaled with it."""
    def rule(sizes: tuple[int, ...], variant: str) -> dict[str, Any]:
        H = len(sizes) - 2
        k = 2 ** (syn - 1)
        return {"syn_shift": syn, "i2v_shift": syn,
                "gate_lo": (gate_lo * k,) * H + (-20000,),
                "gate_hi": (gate_hi * k,) * H + (20000,)}
    return rule


def fanin(syn: int = 2, c_hid: int = 800, hid_lr: str = "none", out_init: int = 16,
          hh_init: int = 32) -> Rule:
    """Weight gain from fan-in: a layer fed by spiking hidden units gets
    ``w_shift = clamp(round(log2(c_hid / n_pre)), 0, 7)`` (100 inputs -> 3, 200 -> 2, 500 -> 1);
    the pixel layer keeps ``w_shift`` 2. Hidden learning rates: ``hid_lr`` "none" (3/2^13
    everywhere), "sqrt" (scaled by sqrt(100 / n_h), n_h = all hidden units, as the paper scales
    its feedback G), "lin" (scaled by 100 / n_h) or "sqrtH" (sqrt(100 / n_h) / H, H hidden
    layers)."""
    base = filt(syn)

    def rule(sizes: tuple[int, ...], variant: str) -> dict[str, Any]:
        v = base(sizes, variant)
        H = len(sizes) - 2
        ws = [2] + [min(7, max(0, _log2r(c_hid / sizes[l]))) for l in range(1, H + 1)]
        v["w_shift"] = tuple(ws)
        v["init_amp"] = (32,) + (hh_init,) * (H - 1) + (out_init,)
        n_h = sum(sizes[1:-1])
        f = {"none": 1.0, "sqrt": math.sqrt(100 / n_h), "lin": 100 / n_h,
             "sqrtH": math.sqrt(100 / n_h) / H}[hid_lr]
        f = min(1.0, f)
        m, s = lr_scaled(3, 13, f)
        v["lr_mult"] = (m,) * H + (2,)
        v["lr_shift"] = (s,) * H + (13,)
        return v
    return rule


RULES: dict[str, Rule] = {
    "f1": filt(1),
    "f2": filt(2),
    "f3": filt(3),
    "fan2": fanin(2),
    "fan2s": fanin(2, hid_lr="sqrt"),
    "fan2l": fanin(2, hid_lr="lin"),
    "fan2d": fanin(2, hid_lr="sqrtH"),
    "fan1": fanin(1),
    "fan1s": fanin(1, hid_lr="sqrt"),
    "fan3s": fanin(3, hid_lr="sqrt"),
}


def rule_overrides(name: str, topology: str, variant: str) -> dict[str, Any]:
    """The overrides of rule ``name`` for ``topology`` (e.g. "784-100-10") and ``variant``."""
    try:
        rule = RULES[name]
    except KeyError:
        raise SystemExit(f"Error: unknown rule {name!r}; known: {', '.join(RULES)}") from None
    return rule(parse_sizes(topology), variant)
