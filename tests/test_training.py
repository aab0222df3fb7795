"""The training loop: sample order, sample indices, evaluation, engines, exact resume."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from erbp import engines
from erbp.engines import BatchResult, EngineUnavailable, make_engine, register_engine
from erbp.reference import INFER, TRAIN, NetConfig, Network, modelfile
from erbp.training import (RunOptions, SampleOrder, balanced_epoch, default_epoch_size,
                           evaluate, open_run, run_training, start_run, train)

CFG = NetConfig.default("64-16-10", ticks_train=16, ticks_infer=16, burn_in=2)


def fresh(seed: int = 3) -> Network:
    return Network.create(CFG, seed)


def weights(net: Network) -> list[np.ndarray]:
    return [w.copy() for w in net.W]


def assert_same_weights(a: Network, b: Network) -> None:
    assert a.samples_seen == b.samples_seen
    for wa, wb in zip(a.W, b.W):
        np.testing.assert_array_equal(wa, wb)


# --- sample order ---------------------------------------------------------------------------------
def test_balanced_epoch_pinned_values():
    # the order is part of what makes runs reproducible everywhere: pin it
    labels = np.arange(20) % 4
    assert balanced_epoch(labels, 0, 8, 1).tolist() == [13, 7, 3, 13, 14, 12, 8, 2]
    assert balanced_epoch(labels, 1, 8, 1).tolist() == [5, 7, 18, 12, 16, 6, 9, 7]


def test_balanced_epoch_is_class_balanced_with_replacement(digits):
    idx = balanced_epoch(digits.train_y, 0, 5003, seed=9)
    counts = np.bincount(digits.train_y[idx], minlength=10)
    assert counts.tolist() == [501, 501, 501] + [500] * 7  # remainder to the lowest classes
    assert len(np.unique(idx)) < len(idx)  # drawn with replacement
    assert not np.array_equal(idx, balanced_epoch(digits.train_y, 0, 5003, seed=10))
    assert not np.array_equal(idx, balanced_epoch(digits.train_y, 1, 5003, seed=9))
    np.testing.assert_array_equal(idx, balanced_epoch(digits.train_y, 0, 5003, seed=9))


def test_order_is_independent_of_chunking():
    labels = np.arange(50) % 5
    order = SampleOrder(labels, "balanced", epoch_size=30, seed=4)
    whole = order.indices(0, 100)
    parts = np.concatenate([SampleOrder(labels, "balanced", 30, 4).indices(a, b - a)
                            for a, b in [(0, 7), (7, 29), (29, 31), (31, 100)]])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole[30:60], balanced_epoch(labels, 1, 30, 4))


def test_sequential_order_wraps():
    order = SampleOrder(np.zeros(60, dtype=int), "sequential")
    assert order.indices(58, 5).tolist() == [58, 59, 0, 1, 2]


def test_default_epoch_size(digits, mnist):
    assert default_epoch_size(mnist, "balanced") == 50_000
    assert default_epoch_size(mnist, "sequential") == 60_000
    assert default_epoch_size(digits, "balanced") == 1438


# --- what one training sample is -----------------------------------------------------------------
def test_train_runs_samples_in_order_with_samples_seen_as_index(digits):
    a, b = fresh(), fresh()
    train(a, digits, 6, protocol="sequential", test_samples=0)
    for i in range(6):  # by hand: example i, sample index = samples_seen = i
        b.run_sample(digits.train_x[i], int(digits.train_y[i]), TRAIN, sample=i)
    assert_same_weights(a, b)
    assert a.samples_seen == 6


def test_evaluate_uses_test_positions_and_keeps_weights(digits):
    net = fresh()
    train(net, digits, 10, test_samples=0)
    before = weights(net)
    r = evaluate(net, digits, n=6, start=4)
    ref = net.copy()
    preds = [ref.run_sample(digits.test_x[p], -1, INFER, sample=p).prediction
             for p in range(4, 10)]
    assert r.n == 6 and r.start == 4
    assert r.correct == int((np.array(preds) == digits.test_y[4:10]).sum())
    assert r.error == pytest.approx(1 - r.correct / 6)
    for w0, w1 in zip(before, net.W):
        np.testing.assert_array_equal(w0, w1)
    assert evaluate(net, digits, n=10_000, start=350).n == len(digits.test_y) - 350


def test_periodic_metrics(digits, tmp_path):
    net = fresh()
    run = start_run(tmp_path / "r", net, RunOptions("digits", 25))
    res = train(net, digits, 25, test_every=10, test_samples=4, window=8, run=run,
                train_eval_samples=6)
    recs = run.read_metrics()
    assert [r["samples_seen"] for r in recs] == [10, 20, 25]
    assert recs == res.records
    final = evaluate(net, digits, 6, split="train")
    assert recs[-1]["train_eval_error"] == round(final.error, 6) and final.n == 6
    ref = net.copy()
    assert final.correct == sum(ref.run_sample(digits.train_x[p], -1, INFER, sample=p).prediction
                                == digits.train_y[p] for p in range(6))
    assert all(r["train_window"] == 8 and r["test_samples"] == 4 for r in recs[1:])
    assert recs[0]["train_window"] == 8
    assert 0 <= recs[-1]["test_error"] <= 1 and recs[-1]["events"] > recs[0]["events"] > 0
    assert recs[-1]["time_s"] >= recs[0]["time_s"]


# --- exact resume ---------------------------------------------------------------------------------
def test_resume_through_model_file_is_bit_identical(digits, tmp_path):
    straight = fresh()
    train(straight, digits, 40, test_samples=0)
    half = fresh()
    train(half, digits, 17, test_samples=0)
    modelfile.save(half, tmp_path / "m.erbp")
    resumed = modelfile.load(tmp_path / "m.erbp")
    mid = weights(resumed)
    train(resumed, digits, 23, test_samples=0)
    assert_same_weights(straight, resumed)
    assert any((a != b).any() for a, b in zip(mid, resumed.W))  # the resumed part did learn


def test_interrupted_run_resumes_bit_identically(digits, tmp_path):
    opts = RunOptions("digits", samples=40, epoch_size=30, order_seed=3, test_every=10,
                      test_samples=4, window=8)
    full = fresh()
    run_a = start_run(tmp_path / "a", full, opts)
    run_training(run_a, full, digits, opts)

    net = fresh()
    run_b = start_run(tmp_path / "b", net, opts)
    calls = iter(range(100))
    res = run_training(run_b, net, digits, opts, stop=lambda: next(calls) >= 16)  # stop at 17
    assert res.interrupted and net.samples_seen == 17
    assert modelfile.load(run_b.model_path).samples_seen == 17
    run_b, net2, state, opts2 = open_run(tmp_path / "b", command="erbp train --resume b")
    assert opts2 == opts and state.samples_seen == 17 and len(state.recent) == 8
    run_training(run_b, net2, digits, opts2, state)

    assert_same_weights(full, net2)
    assert_same_weights(full, modelfile.load(run_b.model_path))
    strip = lambda recs: [{k: v for k, v in r.items() if k != "time_s"} for r in recs]  # noqa
    assert strip(run_b.read_metrics()) == strip(run_a.read_metrics())
    assert run_b.read_config()["resumed"][0]["command"] == "erbp train --resume b"


def test_resume_drops_metrics_after_the_checkpoint(digits, tmp_path):
    net = fresh()
    opts = RunOptions("digits", samples=30, test_every=10, test_samples=2, checkpoint_every=20)
    run = start_run(tmp_path / "r", net, opts)
    run_training(run, net, digits, opts)
    # a crash after the record at 30 but before the final checkpoint: the model is at 20
    n20 = fresh()
    train(n20, digits, 20, test_samples=0)
    modelfile.save(n20, run.model_path)
    run, net2, state, _ = open_run(run.path)
    assert [r["samples_seen"] for r in run.read_metrics()] == [10, 20]
    assert state.samples_seen == 20 and state.recent == ""  # state.json was for 30: ignored
    run_training(run, net2, digits, opts, state)
    assert [r["samples_seen"] for r in run.read_metrics()] == [10, 20, 30]
    assert_same_weights(net, net2)


# --- engines --------------------------------------------------------------------------------------
class BatchEngine:
    """A stand-in for an engine with a batch path (like the C engine), wrapping the reference."""

    calls: list[tuple[str, int, int]] = []
    max_batch = None

    def __init__(self, net: Network):
        self.net = net

    @classmethod
    def create(cls, cfg, seed):
        return cls(Network.create(cfg, seed))

    @classmethod
    def from_network(cls, net):
        return cls(net.copy())

    def to_network(self):
        return self.net.copy()

    cfg = property(lambda self: self.net.cfg)
    seed = property(lambda self: self.net.seed)
    samples_seen = property(lambda self: self.net.samples_seen)

    def run_samples(self, X, labels=None, mode=INFER, start_index=None):
        BatchEngine.calls.append((mode, start_index, len(X)))
        return BatchResult.from_samples([self.net.run_sample(x, int(y), mode,
                                                             sample=start_index + i)
                                         for i, (x, y) in enumerate(zip(X, labels))],
                                        self.net.cfg.n_out)


@pytest.fixture
def batch_engine():
    register_engine("batch-test", lambda: BatchEngine, "test double")
    BatchEngine.calls = []
    yield
    engines.ENGINES.pop("batch-test")


def test_batch_path_gives_the_same_weights(digits, batch_engine):
    ref = fresh()
    train(ref, digits, 30, test_every=12, test_samples=3)
    res = train(fresh(), digits, 30, engine="batch-test", test_every=12, test_samples=3,
                batch_size=7)
    assert_same_weights(ref, res.network)
    trains = [(s, n) for m, s, n in BatchEngine.calls if m == TRAIN]
    assert trains == [(0, 7), (7, 5), (12, 7), (19, 5), (24, 6)]  # cut at evaluations
    assert (INFER, 0, 3) in BatchEngine.calls


def test_make_engine():
    net = fresh()
    assert make_engine("python", net).to_network() is net  # the reference runs it, no copy
    made = make_engine("python", CFG, 3)
    assert_same_weights(net, made.to_network())
    with pytest.raises(ValueError, match="seed is needed"):
        make_engine("python", CFG)
    with pytest.raises(EngineUnavailable, match="unknown engine 'gpu'"):
        make_engine("gpu", CFG, 1)


def test_missing_c_engine_is_a_clear_error(monkeypatch, digits):
    monkeypatch.setitem(sys.modules, "erbp.engines.c", None)  # as if it were not built
    with pytest.raises(EngineUnavailable, match=r"C engine not built: pip install -e \."):
        make_engine("c", CFG, 1)
    with pytest.raises(EngineUnavailable, match="C engine not built"):
        train(fresh(), digits, 1, engine="c")


def test_c_engine_trains_like_the_reference(digits):
    from erbp.engines.c import engine  # noqa: F401  built by `make setup`; never skipped
    ref = fresh()
    train(ref, digits, 20, test_samples=5)
    res = train(fresh(), digits, 20, engine="c", test_samples=5, batch_size=6)
    assert_same_weights(ref, res.network)
