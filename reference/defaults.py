"""Default parameter values (docs/semantics.md, "Defaults"), chosen by measurement.

The rules of the semantics do not depend on these numbers; they are what ``NetConfig.default``
fills in. The measurements that chose them are in docs/semantics.md and benchmarks/.
"""
from __future__ import annotations

from typing import Any


def default_values(sizes: tuple[int, ...], variant: str) -> dict[str, Any]:
    """Field values for a network of ``sizes`` and a variant ("erbp" or "perbp").

    Hidden layers share one set of per-layer values, the output layer has its own (a wider learning
    gate, a coarser and wider weight grid, as measured best for 784-100-10).

    The long-run values (dend_shift 5, output w_shift 3 / init_amp 16, lr_shift 13) were
    measured on a validation split over 10 epochs with benchmarks/tune.py (docs/results.md,
    "Tuning"); they learn as fast as the earlier (3, 2/32, 11/11) in the first 5,000 samples.
    """
    n_in, *hidden, n_out = sizes
    v: dict[str, Any] = dict(
        n_in=n_in, n_out=n_out, n_hidden=len(hidden), hidden_size=tuple(hidden),
        weight_bits=8, state_bits=16,
        ticks_train=100, ticks_infer=200, burn_in=10,
        in_gain=52, in_refractory=3, label_period=5,
        syn_shift=1, mem_shift=1, dend_shift=5, i2v_shift=1,
        threshold=1024, refractory=3,
        noise_prob=0, noise_weight=0,
        err_threshold=256, err_label_w=256, err_pred_w=256,
        fb_out=256, g_amp=256,
    )
    hidden_layer = dict(w_shift=2, gate_lo=-1024, gate_hi=2048, lr_mult=3, lr_shift=13,
                        init_amp=32, p_transmit=256)
    output_layer = dict(w_shift=3, gate_lo=-20000, gate_hi=20000, lr_mult=2, lr_shift=13,
                        init_amp=16, p_transmit=256)
    for k in hidden_layer:
        v[k] = (hidden_layer[k],) * len(hidden) + (output_layer[k],)
    if variant == "erbp":
        v["noise_prob"] = 10000  # 0.15 per tick
        v["noise_weight"] = 256
    else:  # peRBP: no noise, each synapse transmits with probability p_transmit / 256
        v["p_transmit"] = (166,) * (len(hidden) + 1)
    return v
