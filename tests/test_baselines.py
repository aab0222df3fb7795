"""Float baselines (erbp.research.baselines): BP is the exact gradient, FA/DFA use their fixed feedback,
all three learn MNIST, and runs resume exactly."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from erbp.research.baselines import MLP, BaselineConfig, BaselineError, final_error, load_model, \
    run_baseline


@pytest.fixture(scope="module")
def small(mnist):
    """MNIST cut to 6,000 training and 1,000 test images (fast, still MNIST)."""
    return dataclasses.replace(mnist, train_x=mnist.train_x[:6000], train_y=mnist.train_y[:6000],
                               test_x=mnist.test_x[:1000], test_y=mnist.test_y[:1000])


def _loss(m: MLP, x: np.ndarray, y: np.ndarray) -> float:
    z = m.logits(x)
    z = z - z.max(axis=1, keepdims=True)
    return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]).mean())


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_bp_step_is_the_exact_gradient(activation):
    gen = np.random.default_rng(3)
    m = MLP((6, 5, 4, 3), "bp", activation, seed=2, dtype="float64")
    x, y = gen.random((7, 6)), gen.integers(0, 3, 7)
    for b in m.b:  # nonzero biases keep ReLU units off their kink at exactly 0
        b[:] = gen.normal(0, 0.5, b.shape)
    before = {k: v.copy() for k, v in m.state().items()}
    lr = 1e-3
    m.step(x, y, lr)
    after = m.state()
    probe = MLP((6, 5, 4, 3), "bp", activation, seed=2, dtype="float64")
    for name in ("W0", "b1", "W2"):
        grad = (before[name] - after[name]) / lr  # the step's gradient of the mean loss
        for idx in [(0,), (1,)] if name.startswith("b") else [(0, 0), (2, 1), (3, 2)]:
            num = []
            for h in (1e-6, -1e-6):
                probe.load_state(before)
                probe.state()[name][idx] += h
                num.append(_loss(probe, x, y))
            assert grad[idx] == pytest.approx((num[0] - num[1]) / 2e-6, rel=1e-4, abs=1e-8)


def test_fa_with_b_equal_to_w_is_bp_and_rules_agree_without_hidden_layers():
    gen = np.random.default_rng(4)
    x, y = gen.random((5, 8)), gen.integers(0, 3, 5)
    bp, fa = MLP((8, 6, 3), "bp", seed=1, dtype="float64"), MLP((8, 6, 3), "fa", seed=1,
                                                                  dtype="float64")
    np.testing.assert_array_equal(bp.W[1], fa.W[1])
    fa.B[1] = fa.W[1].copy()
    bp.step(x, y, 0.1)
    fa.step(x, y, 0.1)
    np.testing.assert_allclose(bp.W[0], fa.W[0], rtol=0, atol=1e-15)
    nets = [MLP((8, 3), r, seed=1, dtype="float64") for r in ("bp", "fa", "dfa")]
    for n in nets:
        n.step(x, y, 0.1)
    for n in nets[1:]:
        np.testing.assert_array_equal(n.W[0], nets[0].W[0])


def test_dfa_feeds_the_output_error_straight_to_each_hidden_layer():
    gen = np.random.default_rng(5)
    m = MLP((8, 6, 5, 3), "dfa", "relu", seed=1, dtype="float64")
    assert [d.shape for d in m.D] == [(3, 6), (3, 5)]
    m.D[0][:] = 0  # no feedback into the first hidden layer: it must not learn
    w0, w1 = m.W[0].copy(), m.W[1].copy()
    m.step(gen.random((4, 8)), gen.integers(0, 3, 4), 0.5)
    np.testing.assert_array_equal(m.W[0], w0)
    assert not np.array_equal(m.W[1], w1)


@pytest.mark.parametrize("topology,rule,max_error", [
    ("784-100-10", "bp", 0.16), ("784-100-10", "dfa", 0.2), ("784-100-10", "fa", 0.2),
    ("784-100-100-10", "dfa", 0.22),
])
def test_learns_mnist(small, topology, rule, max_error):
    # 5,000 samples (~1/10 of an epoch) of the default tanh SGD: ~87 % on 1,000 test digits
    cfg = BaselineConfig(topology=topology, rule=rule, epochs=2, epoch_size=2500, seed=1)
    r = run_baseline(cfg, small)
    assert [rec["epoch"] for rec in r.records] == [1, 2]
    assert r.records[-1]["samples_seen"] == 5000
    assert r.records[-1]["test_error"] < max_error
    assert r.summary["test_error_last"] == pytest.approx(final_error(r.records, 5))


def test_run_directory_resumes_exactly(small, tmp_path):
    cfg = BaselineConfig(topology="784-30-10", rule="dfa", epochs=3, epoch_size=1000, seed=9)
    whole = run_baseline(cfg, small)
    out = tmp_path / "run"
    part = run_baseline(cfg, small, out=out, stop_after=1, command="first")
    assert len(part.records) == 1
    rest = run_baseline(cfg, small, out=out, command="second")
    strip = lambda rs: [{k: v for k, v in r.items() if not k.endswith("_s")} for r in rs]  # noqa
    assert strip(rest.records) == strip(whole.records)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]
    model, saved_cfg, epoch = load_model(out)
    assert epoch == 3 and saved_cfg == cfg
    for a, b in zip(model.W, whole.model.W):
        np.testing.assert_array_equal(a, b)
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "first" and config["resumed"][0]["command"] == "second"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_done"] == 3
    with pytest.raises(BaselineError, match="other settings"):
        run_baseline(dataclasses.replace(cfg, lr=0.1), small, out=out)
