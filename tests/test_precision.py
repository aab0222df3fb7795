"""Rescaling a configuration to other widths (erbp.training.precision) keeps the real-valued network."""
from __future__ import annotations

import numpy as np
import pytest

from erbp.research.float_erbp import FloatNetwork
from erbp.training.precision import max_w_shift, on_grid, rescale
from erbp.reference import INFER, TRAIN, ConfigError, NetConfig

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


def test_on_grid_keeps_the_real_network_or_refuses():
    """erbp train --grid-bits: the default network on another weight grid, exactly or not at all."""
    cfg = NetConfig.default("784-500-500-10")
    assert on_grid(cfg, 8) == cfg
    nine = on_grid(cfg, 9)
    assert nine == rescale(cfg, 9, 16)[0]
    assert (nine.weight_bits, nine.w_shift, nine.init_amp) == (9, (1, 0, 0), (64, 64, 32))
    assert nine.lr_shift == tuple(s - 1 for s in cfg.lr_shift) and nine.lr_mult == cfg.lr_mult
    assert on_grid(cfg, 7).w_shift == tuple(s + 1 for s in cfg.w_shift)
    with pytest.raises(ConfigError, match="weight layer 1's real weights: it needs w_shift >= 2"):
        on_grid(cfg, 10)  # the 500-wide layers have w_shift 1
    assert on_grid(NetConfig.default("784-100-10"), 10).w_shift == (0, 1)
    with pytest.raises(ConfigError, match="this one has weight_bits 9"):
        on_grid(nine, 10)
    with pytest.raises(ConfigError, match="outside"):
        on_grid(cfg, 17)
    for bad in (9.0, "9", True):  # a sweep spec's value arrives as TOML gives it
        with pytest.raises(ConfigError, match="grid_bits must be an integer"):
            on_grid(cfg, bad)


def test_make_config_puts_the_grid_before_the_overrides():
    from erbp.training import make_config

    cfg = make_config("784-200-10", "perbp", {"lr_shift": (11, 12)}, grid_bits=9)
    assert cfg == on_grid(NetConfig.default("784-200-10", "perbp"), 9).replace(lr_shift=(11, 12))
