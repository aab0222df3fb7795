"""The floating-point eRBP twin (erbp.research.float_erbp): same network, same events, no rounding.

* Where no integer rule rounds (leak shifts 0, i2v_shift 0, lr_shift 0) and nothing saturates, the
  float network must equal the integer reference exactly, tick by tick, in both modes: this pins
  the phases, event order, random draws and feedback paths to the specification.
* With the default (rounding) configuration on MNIST it must track the reference closely.
"""
from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from erbp.research.float_erbp import FloatNetwork, SaturatingFloatNetwork, leak
from erbp.reference import INFER, TRAIN, NetConfig, Network


def test_overrides_and_calls_only_declared_extension_points():
    """The twin replaces reference methods by name: each one it overrides or calls must be a
    declared extension point of the reference, with the same signature, so that renaming or
    re-shaping one in the reference fails here instead of silently bypassing the twin."""
    points = Network.EXTENSION_POINTS
    for name in points:
        assert callable(getattr(Network, name, None)), f"Network.{name} is declared but missing"
    overridden = [n for n, v in vars(FloatNetwork).items()
                  if not n.startswith("__") and hasattr(Network, n)]
    assert {"_update_factor", "_deliver", "_neurons", "_errors_and_feedback"} <= set(overridden)
    for name in overridden:
        assert name in points, f"FloatNetwork overrides Network.{name}, not an extension point"
        mine, ref = (inspect.signature(getattr(c, name)).parameters for c in (FloatNetwork, Network))
        assert list(mine.values()) == list(ref.values()), f"parameters of {name} differ"
    source = inspect.getsource(FloatNetwork)
    called = set(re.findall(r"(?:self|super\(\))\.(_\w+)\(", source))
    assert called, "the source scan found no calls"
    for name in called - set(vars(FloatNetwork)):
        assert name in points, f"FloatNetwork calls Network.{name}, not an extension point"


def test_starts_from_the_integer_networks_weights():
    cfg = NetConfig.default("784-100-10")
    a, b = Network.create(cfg, 5), FloatNetwork.create(cfg, 5)
    for l in range(cfg.n_layers):
        assert b.W[l].dtype == np.float64
        np.testing.assert_array_equal(b.W[l], a.W[l] * 2.0 ** cfg.w_shift[l])
        np.testing.assert_array_equal(b.weights_in_weight_units()[l], a.W[l])
    np.testing.assert_array_equal(b.G[0], a.G[0])
    back = b.to_network()
    for l in range(cfg.n_layers):
        np.testing.assert_array_equal(back.W[l], a.W[l])
    assert FloatNetwork.from_network(a).W[1].tolist() == b.W[1].tolist()
    assert leak(0) == 0.0 and leak(2) == 0.75


def shiftless_config(variant: str, **kw) -> NetConfig:
    """A small network with every shift 0, where the integer rules round nothing."""
    return NetConfig.default(
        (16, 8, 3), variant, syn_shift=0, mem_shift=0, dend_shift=0, i2v_shift=0,
        lr_mult=(1, 1), lr_shift=(0, 0), w_shift=(0, 0), threshold=12, g_amp=2, fb_out=2,
        noise_weight=10, ticks_train=30, ticks_infer=30, burn_in=0, in_gain=257, **kw)


@pytest.mark.parametrize("variant", ["erbp", "perbp"])
def test_equals_reference_tick_by_tick_where_nothing_rounds(variant):
    # Every shift 0: DECAY(x, 0) = 0 = x * (1 - 2^0), ASR(I, 0) = I, SRS(q, 0, r) = q. Widths are
    # wide enough that nothing saturates, so the two networks must agree exactly (as floats).
    cfg = shiftless_config(variant, init_amp=(20, 30), weight_bits=16)
    a, b = Network.create(cfg, 7), FloatNetwork.create(cfg, 7)
    gen = np.random.default_rng(0)
    out_spikes = 0
    for s in range(6):
        px = gen.integers(0, 256, cfg.n_in)
        label, mode = int(gen.integers(0, cfg.n_out)), (TRAIN if s % 2 == 0 else INFER)
        sa: list[dict] = []
        sb: list[dict] = []
        ra = a.run_sample(px, label, mode, sample=s, on_tick=lambda n: sa.append(n.snapshot()))
        rb = b.run_sample(px, label, mode, sample=s, on_tick=lambda n: sb.append(n.snapshot()))
        assert len(sa) == len(sb) == cfg.ticks_train
        for t, (x, y) in enumerate(zip(sa, sb)):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"sample {s} tick {t} {k}")
        assert ra.prediction == rb.prediction and ra.events == rb.events
        out_spikes += int(ra.counts.sum())
    assert out_spikes > 5  # the error and feedback paths were exercised
    assert any(not np.array_equal(w, w0) for w, w0 in
               zip(a.W, Network.create(cfg, 7).W))  # and learning happened


def test_infer_tracks_the_reference_on_mnist(mnist):
    # larger initial weights than the defaults: an untrained default network is nearly silent
    cfg = NetConfig.default("784-100-10", ticks_infer=60, init_amp=(100, 100))
    a, b = Network.create(cfg, 1), FloatNetwork.create(cfg, 1)
    n = 20
    same = 0
    hid_a, hid_b, out_a, out_b = [], [], [], []
    for i in range(n):
        ha: list = []
        hb: list = []
        ra = a.run_sample(mnist.test_x[i], -1, INFER, sample=i,
                          on_tick=lambda net: ha.append(net.pops[0].count))
        rb = b.run_sample(mnist.test_x[i], -1, INFER, sample=i,
                          on_tick=lambda net: hb.append(net.pops[0].count))
        same += ra.prediction == rb.prediction
        hid_a.append(ha[-1].copy())
        hid_b.append(hb[-1].copy())
        out_a.append(ra.counts)
        out_b.append(rb.counts)
    hid_a, hid_b = np.array(hid_a).ravel(), np.array(hid_b).ravel()
    assert hid_a.sum() > 1000  # the hidden layer is active
    assert np.corrcoef(hid_a, hid_b)[0, 1] > 0.98
    assert abs(int(hid_b.sum()) - int(hid_a.sum())) < 0.05 * hid_a.sum()
    assert same >= 0.8 * n
    assert np.corrcoef(np.ravel(out_a), np.ravel(out_b))[0, 1] > 0.9


def test_training_tracks_the_reference_without_quantising(mnist):
    cfg = NetConfig.default("784-100-10")
    a, b = Network.create(cfg, 1), FloatNetwork.create(cfg, 1)
    w0 = [w.copy() for w in a.W]
    for i in range(5):
        a.run_sample(mnist.train_x[i], int(mnist.train_y[i]), TRAIN)
        b.run_sample(mnist.train_x[i], int(mnist.train_y[i]), TRAIN)
    assert a.samples_seen == b.samples_seen == 5
    for l, wf in enumerate(b.weights_in_weight_units()):
        da, db = (a.W[l] - w0[l]).ravel(), (wf - w0[l]).ravel()
        assert np.abs(db).sum() > 0
        assert np.corrcoef(da, db)[0, 1] > 0.6, l
        assert not np.allclose(db, np.rint(db))  # float updates are not quantised


@pytest.mark.parametrize("variant", ["erbp", "perbp"])
def test_saturating_twin_equals_reference_where_only_weights_saturate(variant):
    # As above (every shift 0, so nothing rounds), but 5-bit weights that do saturate while the
    # 16-bit states and the updates (|U| <= n_out * g_amp = 6 < 16) do not: the saturating twin must
    # then agree exactly with the reference, and the plain twin must not.
    cfg = shiftless_config(variant, init_amp=(14, 15), weight_bits=5)
    a, b, c = (Network.create(cfg, 7), SaturatingFloatNetwork.create(cfg, 7),
               FloatNetwork.create(cfg, 7))
    gen = np.random.default_rng(0)
    for s in range(6):
        px = gen.integers(0, 256, cfg.n_in)
        label = int(gen.integers(0, cfg.n_out))
        sa: list[dict] = []
        sb: list[dict] = []
        ra = a.run_sample(px, label, TRAIN, sample=s, on_tick=lambda n: sa.append(n.snapshot()))
        rb = b.run_sample(px, label, TRAIN, sample=s, on_tick=lambda n: sb.append(n.snapshot()))
        c.run_sample(px, label, TRAIN, sample=s)
        for t, (x, y) in enumerate(zip(sa, sb)):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"sample {s} tick {t} {k}")
        assert ra.prediction == rb.prediction and ra.events == rb.events
    at_bound = sum(int(((w == cfg.w_min) | (w == cfg.w_max)).sum()) for w in a.W)
    assert at_bound > 0  # the weight range was reached, so saturation was exercised
    for wa, wb in zip(a.W, b.weights_in_weight_units()):
        np.testing.assert_array_equal(wa, wb)
    outside = sum(int(((w < cfg.w_min) | (w > cfg.w_max)).sum())
                  for w in c.weights_in_weight_units())
    assert outside > 0  # the plain twin leaves the range


@pytest.mark.parametrize("cls", [FloatNetwork, SaturatingFloatNetwork])
def test_a_saved_twin_resumes_as_if_never_stopped(cls, mnist, tmp_path):
    cfg = NetConfig.default("784-100-10")
    run = cls.create(cfg, 3)
    for i in range(2):
        run.run_sample(mnist.train_x[i], int(mnist.train_y[i]), TRAIN)
    run.save(tmp_path / "twin.npz")
    back = cls.load(tmp_path / "twin.npz", cfg)
    assert type(back) is cls and back.seed == 3 and back.samples_seen == 2
    for i in range(2, 4):
        for net in (run, back):
            net.run_sample(mnist.train_x[i], int(mnist.train_y[i]), TRAIN)
    assert back.samples_seen == run.samples_seen == 4
    for x, y in zip(run.W + run.G, back.W + back.G):
        assert x.dtype == y.dtype == np.float64
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(run.W[1], cls.create(cfg, 3).W[1])  # it did learn
    with pytest.raises(ValueError, match="weight shapes"):
        cls.load(tmp_path / "twin.npz", NetConfig.default("784-50-10"))

