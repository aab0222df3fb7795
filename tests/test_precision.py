"""Rescaling a configuration to other widths (erbp.research.precision) keeps the real-valued network."""
from __future__ import annotations

import numpy as np
import pytest

from erbp.research.float_erbp import FloatNetwork
from erbp.research.precision import max_w_shift, rescale
from erbp.reference import INFER, TRAIN, NetConfig

GRID = [(b, s) for b in (4, 6, 8, 10, 12, 16) for s in (16, 12)]


@pytest.mark.parametrize("topology", ["784-100-10", "784-200-200-10", "784-500-500-10"])
def test_every_sweep_point_is_valid_and_exact(topology):
    cfg = NetConfig.default(topology)
    assert rescale(cfg, 8, 16)[0] == cfg
    for b, s in GRID:
        new, notes = rescale(cfg, b, s)  # NetConfig validates every rule
        assert new.weight_bits == b and new.state_bits == s
        assert notes["inexact"] == []
        for l, n_pre in enumerate(cfg.sizes[:-1]):
            # the same real learning rate: lr * 2^w_shift is invariant
            assert new.lr_mult[l] * 2.0 ** (new.w_shift[l] - new.lr_shift[l]) == \
                cfg.lr_mult[l] * 2.0 ** (cfg.w_shift[l] - cfg.lr_shift[l])
            # the same real initial range, in reference units
            a = notes["layers"][l]["a"]
            assert new.init_amp[l] * 2.0 ** (new.w_shift[l] + 16 - s) == \
                cfg.init_amp[l] * 2.0 ** cfg.w_shift[l]
            assert 0 <= new.w_shift[l] <= max_w_shift(n_pre, b)
            assert notes["layers"][l]["resolution_bits"] == a
        assert new.threshold * 2 ** (16 - s) == cfg.threshold


@pytest.mark.parametrize("b,s", GRID)
def test_float_twins_of_rescaled_configs_spike_identically(b, s):
    # a short filter (syn_shift 1) so that 40 ticks drive the output layer to spike
    cfg = NetConfig.default((64, 30, 30, 10), ticks_train=40, ticks_infer=40, burn_in=5,
                            in_gain=200, init_amp=(32, 64, 64), w_shift=(3, 4, 4),
                            syn_shift=1, i2v_shift=1)
    new, _ = rescale(cfg, b, s)
    k = 2.0 ** (s - 16)  # one new state unit is 2^(16-s) reference units
    f0, f1 = FloatNetwork.create(cfg, 4), FloatNetwork.create(new, 4)
    f1.W = [w * k for w in f0.W]  # the same real weights, on the new scale
    f1.G = [g * k for g in f0.G]
    px = np.random.default_rng(1).integers(0, 256, 64)
    spikes = 0
    for mode, label in ((TRAIN, 3), (INFER, -1), (TRAIN, 7)):
        r0, r1 = f0.run_sample(px, label, mode), f1.run_sample(px, label, mode)
        np.testing.assert_array_equal(r0.counts, r1.counts)
        spikes += int(r0.counts.sum())  # output spikes drive the error neurons and learning
        for p0, p1 in zip(f0.pops, f1.pops):
            np.testing.assert_array_equal(p0.V * k, p1.V)
            np.testing.assert_array_equal(p0.U * k, p1.U)
    for w0, w1 in zip(f0.W, f1.W):
        np.testing.assert_array_equal(w0 * k, w1)
    assert spikes > 0
