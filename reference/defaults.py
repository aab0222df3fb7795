"""Default parameter values (docs/semantics.md, "Defaults"), chosen by measurement.

The rules of the semantics do not depend on these numbers; they are what ``NetConfig.default``
fills in. The measurements that chose them are in docs/semantics.md and benchmarks/.
"""
from __future__ import annotations

import math
from typing import Any

#: The early-exit margin in units of ``threshold << i2v_shift`` (the output current that drives V
#: to the threshold in one tick): 20 is the knee measured on validation splits (docs/inference.md).
EXIT_MARGIN_UNITS = 20


def exit_margin(threshold: int, i2v_shift: int) -> int:
    """The default ``exit_margin``: EXIT_MARGIN_UNITS * (threshold << i2v_shift) (a rule, so that
    a configuration with another threshold or input scaling keeps the measured knee)."""
    return EXIT_MARGIN_UNITS * (threshold << i2v_shift)


def _clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))


def hidden_lr(sizes: tuple[int, ...]) -> tuple[int, int]:
    """``(lr_mult, lr_shift)`` of the hidden layers: the rate ``3 / 2^13`` of 784-100-10 scaled by
    ``f = min(1, sqrt(100 / n_h) / H)`` (``n_h`` hidden units in all, ``H`` hidden layers), with
    two more bits of multiplier than the change of shift needs:
    ``(3, 13)`` if ``f == 1``, else ``s = 15 + ceil(log2(1 / f))``, ``(round(3 f 2^(s - 13)), s)``.

    784-200-10: 17/2^16; 784-500-10: 21/2^17; 784-200-200-10: 12/2^17; 784-500-500-10: 15/2^18.
    """
    hidden = sizes[1:-1]
    H = len(hidden)
    if H == 0 or min(hidden) <= 0:  # no hidden layer, or a topology the validation refuses
        return 3, 13
    f = min(1.0, math.sqrt(100 / sum(hidden)) / H)
    if f == 1.0:
        return 3, 13
    s = 15 + math.ceil(-math.log2(f))
    return max(1, round(3 * f * 2 ** (s - 13))), s


def output_lr_shift(sizes: tuple[int, ...]) -> int:
    """``lr_shift`` of the output layer (``lr_mult`` 2): ``13 + max(0, round(log2(n_h / 500)))``
    with ``n_h`` hidden units in all: 2/2^13 up to about 700 hidden units, half that for 1,000
    (784-500-500-10 swings between epochs at 2/2^13; docs/tuning.md section 14)."""
    n_h = sum(sizes[1:-1])
    if n_h <= 0:  # no hidden layer, or a topology the validation refuses
        return 13
    return 13 + max(0, int(round(math.log2(n_h / 500))))


def w_shift_for_fan_in(n_pre: int) -> int:
    """``w_shift`` of a layer fed by ``n_pre`` spiking hidden units:
    ``clamp(round(log2(800 / n_pre)), 0, 7)`` (100 -> 3, 200 -> 2, 500 -> 1), so the drive a
    neuron receives from a layer of typical activity does not grow with the layer's width."""
    if n_pre <= 0:  # a topology the validation refuses
        return 2
    return _clamp(int(round(math.log2(800 / n_pre))), 0, 7)


def default_values(sizes: tuple[int, ...], variant: str) -> dict[str, Any]:
    """Field values for a network of ``sizes`` and a variant ("erbp" or "perbp").

    One rule for every topology (docs/semantics.md, "Defaults"): the weight gain of a layer from
    its fan-in (:func:`w_shift_for_fan_in`; the pixel layer ``w_shift`` 2), the hidden learning
    rate from the number and width of hidden layers (:func:`hidden_lr`), the synaptic filter
    ``syn_shift = i2v_shift = 2`` with the hidden learning gate ``(-2048, 4096)`` (``(-1, 2)``
    thresholds, scaled by the filter's gain ``2^(syn_shift - 1)``). Measured on a validation
    split over the five networks of the paper's table (docs/tuning.md).
    """
    n_in, *hidden, n_out = sizes
    H = len(hidden)
    v: dict[str, Any] = dict(
        n_in=n_in, n_out=n_out, n_hidden=H, hidden_size=tuple(hidden),
        weight_bits=8, state_bits=16,
        ticks_train=100, ticks_infer=200, burn_in=10,
        in_gain=52, in_refractory=3, label_period=5,
        syn_shift=2, mem_shift=1, dend_shift=5, i2v_shift=2,
        threshold=1024, refractory=3,
        noise_prob=0, noise_weight=0,
        err_threshold=256, err_label_w=256, err_pred_w=256,
        fb_out=256, g_amp=256,
        readout=1,  # the summed output current decides (docs/inference.md)
    )
    v["exit_margin"] = exit_margin(v["threshold"], v["i2v_shift"])
    h_mult, h_shift = hidden_lr(tuple(sizes))
    v["w_shift"] = (2,) + tuple(w_shift_for_fan_in(sizes[l]) for l in range(1, H + 1))
    v["init_amp"] = (32,) * H + (16,)
    v["gate_lo"] = (-2048,) * H + (-20000,)
    v["gate_hi"] = (4096,) * H + (20000,)
    v["lr_mult"] = (h_mult,) * H + (2,)
    v["lr_shift"] = (h_shift,) * H + (output_lr_shift(tuple(sizes)),)
    v["p_infer"] = (256,) * (H + 1)  # every synapse transmits in inference (measured better)
    if variant == "erbp":
        v["noise_prob"] = 10000  # 0.15 per tick
        v["noise_weight"] = 256
        v["p_transmit"] = (256,) * (H + 1)
    else:  # peRBP: no noise, each synapse transmits with probability p_transmit / 256 (0.9)
        # in training; in inference p_infer
        v["p_transmit"] = (230,) * (H + 1)
    return v
