"""Default parameter values (docs/semantics.md, "Defaults"), chosen by measurement.

The rules of the semantics do not depend on these numbers; they are what ``NetConfig.default``
fills in. The measurements that chose them are in docs/semantics.md and benchmarks/.
"""
from __future__ import annotations

from typing import Any


def default_values(sizes: tuple[int, ...], variant: str) -> dict[str, Any]:
    n_in, *hidden, n_out = sizes
    n_layers = len(hidden) + 1
    v: dict[str, Any] = dict(
        n_in=n_in, n_out=n_out, n_hidden=len(hidden), hidden_size=tuple(hidden),
        weight_bits=8, state_bits=16,
        ticks_train=100, ticks_infer=100, burn_in=10,
        in_gain=52, in_refractory=0, label_period=5,
        syn_shift=2, mem_shift=2, dend_shift=3, i2v_shift=1,
        threshold=1024, refractory=3,
        noise_prob=0, noise_weight=0,
        err_threshold=256, err_label_w=256, err_pred_w=256,
        fb_out=256, g_amp=256,
    )
    layer = dict(w_shift=3, gate_lo=-8192, gate_hi=8192, lr_mult=1, lr_shift=8,
                 init_amp=16, p_transmit=256)
    for k, x in layer.items():
        v[k] = (x,) * n_layers
    if variant == "erbp":
        v["noise_prob"] = 6554  # 0.1 per tick
        v["noise_weight"] = 256
    else:  # peRBP: no noise, transmission probability 0.65 (the authors' scripts)
        v["p_transmit"] = (166,) * n_layers
    return v
