"""The engine interface (erbp.engines): every registered engine is an Engine whose results are
exactly SampleResult and BatchResult, with the documented dtypes and shapes, and the same numbers.
(Full-state equality tick by tick is the conformance suite's job: tests/conformance.)"""
from __future__ import annotations

import numpy as np
import pytest

from erbp.engines import (ENGINES, BatchResult, Engine, EngineUnavailable, SampleResult,
                          make_engine, resolve_engine)
from erbp.reference import INFER, TRAIN, NetConfig, Network

CFG = NetConfig.default("12-8-3", ticks_train=12, ticks_infer=12, burn_in=2)
N = 5


def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (N, CFG.n_in), dtype=np.uint8), rng.integers(0, 3, N)


def closing(eng):
    close = getattr(eng, "close", None)
    if close is not None:
        close()


def check_batch(r: BatchResult, n: int) -> None:
    assert type(r) is BatchResult and len(r) == n
    assert r.predictions.dtype == r.counts.dtype == r.events.dtype == np.int64
    assert r.predictions.shape == (n,) and r.counts.shape == (n, CFG.n_out)
    assert r.events.shape == (n,)
    assert ((0 <= r.predictions) & (r.predictions < CFG.n_out)).all()
    assert (r.predictions == np.argmax(r.counts, axis=1)).all()


@pytest.fixture(scope="module")
def expected() -> dict:
    """What the reference computes, sample by sample (training, then inference)."""
    X, y = samples()
    net = Network.create(CFG, 5)
    tr = [net.run_sample(X[i], int(y[i]), TRAIN) for i in range(N)]
    inf = [net.run_sample(X[i], -1, INFER, sample=10 + i) for i in range(N)]
    return {"train": tr, "infer": inf, "W": [w.copy() for w in net.W], "seen": net.samples_seen}


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_returns_the_documented_results(name, expected):
    X, y = samples()
    eng = make_engine(name, CFG, 5)
    try:
        assert isinstance(eng, Engine)
        assert eng.max_batch is None or eng.max_batch >= 1
        assert eng.cfg == CFG and eng.seed == 5 and eng.samples_seen == 0
        r = eng.run_samples(X[:-1], y[:-1], TRAIN)  # start index: samples_seen
        check_batch(r, N - 1)
        one = eng.run_sample(X[-1], int(y[-1]), TRAIN)
        assert type(one) is SampleResult and eng.samples_seen == N
        assert isinstance(one.prediction, int) and isinstance(one.events, int)
        assert one.counts.dtype == np.int64 and one.counts.shape == (CFG.n_out,)
        want = expected["train"]
        assert r.predictions.tolist() + [one.prediction] == [w.prediction for w in want]
        assert r.counts.tolist() + [one.counts.tolist()] == [w.counts.tolist() for w in want]
        assert r.events.tolist() + [one.events] == [w.events for w in want]
        assert r.total_events == sum(w.events for w in want[:-1])
        inf = eng.run_samples(X, None, INFER, 10)
        check_batch(inf, N)
        assert inf.predictions.tolist() == [w.prediction for w in expected["infer"]]
        assert inf.events.tolist() == [w.events for w in expected["infer"]]
        check_batch(eng.run_samples(X[:0], y[:0], TRAIN), 0)
        net = eng.to_network()
        assert net.samples_seen == expected["seen"]
        for w, ww in zip(net.W, expected["W"]):
            assert np.array_equal(w, ww)
        assert set(eng.snapshot()) == set(net.snapshot())
        assert isinstance(eng.dumps(), bytes)
    finally:
        closing(eng)


def test_batch_result_refuses_other_types_and_shapes():
    ok = dict(predictions=np.zeros(2, np.int64), counts=np.zeros((2, 3), np.int64),
              events=np.zeros(2, np.int64), ticks=np.zeros(2, np.int64))
    BatchResult(**ok)
    with pytest.raises(TypeError, match="events must be an int64"):
        BatchResult(**{**ok, "events": np.zeros(2, np.uint64)})
    with pytest.raises(TypeError, match="counts"):
        BatchResult(**{**ok, "counts": [[0, 0, 0], [0, 0, 0]]})
    with pytest.raises(ValueError, match="counts has 3 rows"):
        BatchResult(**{**ok, "counts": np.zeros((3, 3), np.int64)})
    with pytest.raises(ValueError, match="ticks has 1 rows"):
        BatchResult(**{**ok, "ticks": np.zeros(1, np.int64)})


def test_auto_is_python_when_the_c_binding_is_missing(monkeypatch):
    from erbp.engines.c import engine as cengine

    def missing():
        raise ImportError("no erbp._cport")

    assert resolve_engine("auto") == "c"  # built by `make setup`
    monkeypatch.setattr(cengine, "_load", missing)
    assert resolve_engine("auto") == "python"
    with pytest.raises(EngineUnavailable, match="C engine not built"):
        make_engine("c", CFG, 1)
