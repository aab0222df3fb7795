"""Property tests of the reference: invariants hold for random networks, parameters and inputs."""
import numpy as np
from hypothesis import given

from conformance import strategies
from erbp.reference import INFER, TRAIN, Network


def networks():
    """Small random networks with two samples (tests/conformance/strategies.py)."""
    return strategies.networks(strategies.SMALL, n_samples=2)


def run(cfg, seed, samples, on_tick=None):
    net = Network.create(cfg, seed)
    res = [net.run_sample(px, lab if m == TRAIN else -1, m, sample=idx, on_tick=on_tick)
           for m, lab, idx, px in samples]
    return net, res


@given(networks())
def test_states_stay_in_their_widths(case):
    cfg, seed, samples = case

    def check(net):
        for l, w in enumerate(net.W):
            assert cfg.w_min <= w.min() and w.max() <= cfg.w_max
        for p in net.pops:
            for v in (p.I, p.V, p.U):
                assert cfg.s_min <= v.min() and v.max() <= cfg.s_max
            assert 0 <= p.ref.min() and p.ref.max() <= cfg.refractory
            assert p.count.max() <= net.tick_no
        assert 0 <= net.ep.min() and net.ep.max() < cfg.err_threshold
        assert 0 <= net.en.min() and net.en.max() < cfg.err_threshold
        assert not (net.ep_spk & net.en_spk).any()  # a class's two error neurons never co-fire

    run(cfg, seed, samples, on_tick=check)


@given(networks())
def test_a_seed_determines_everything(case):
    cfg, seed, samples = case
    a, ra = run(cfg, seed, samples)
    b, rb = run(cfg, seed, samples)
    assert [r.counts.tolist() for r in ra] == [r.counts.tolist() for r in rb]
    assert all((x == y).all() for x, y in zip(a.W, b.W))
    sa, sb = a.snapshot(), b.snapshot()
    assert all((sa[k] == sb[k]).all() for k in sa)


@given(networks())
def test_inference_never_changes_weights_or_dendrites(case):
    cfg, seed, samples = case
    net = Network.create(cfg, seed)
    w0 = [w.copy() for w in net.W]

    def check(n):
        assert all(not p.U.any() for p in n.pops)
        assert not n.ep.any() and not n.en.any()

    for m, lab, idx, px in samples:
        net.run_sample(px, -1, INFER, sample=idx, on_tick=check)
    assert all((a == b).all() for a, b in zip(w0, net.W))


@given(networks())
def test_a_sample_depends_only_on_weights_not_on_history(case):
    """State resets per sample: running sample B after A equals running B on a fresh network
    holding the weights A left behind."""
    cfg, seed, samples = case
    net, res = run(cfg, seed, samples[:1])
    fresh = net.copy()
    (m, lab, idx, px) = samples[1]
    r1 = net.run_sample(px, lab if m == TRAIN else -1, m, sample=idx)
    r2 = fresh.run_sample(px, lab if m == TRAIN else -1, m, sample=idx)
    assert r1.counts.tolist() == r2.counts.tolist() and r1.events == r2.events
    assert all((a == b).all() for a, b in zip(net.W, fresh.W))
