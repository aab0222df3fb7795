"""erbp export --format nir: the file loads with the nir package, its nodes and metadata are what
docs/nir.md says, the readout function is semantics version 2's readout (the summed current or the
spike counts, the early exit) on erbp's own traces, and a numpy simulation of the NIR nodes'
documented equations (forward Euler, one tick per step), fed erbp's own input spikes and read out
by the model's rule, predicts what the integer engine predicts on at least 95 % of test digits."""
from __future__ import annotations

import nir
import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.engines.c import CNetwork
from erbp.export.nir import DT, READOUT, input_spikes, nir_graph, readout
from erbp.reference import INFER, SEMANTICS_VERSION, NetConfig, modelfile


def simulate(graph: nir.NIRGraph, spikes: np.ndarray,
             refractory: bool = False) -> dict[str, np.ndarray]:
    """The last population's synaptic current and spikes after each tick ("current", "spikes":
    (n_samples, ticks, n_out)) of a chain input -> (Affine -> CubaLIF)* -> output driven by
    ``spikes`` (n_samples, ticks, n_in), by the equations of nir.Affine (y = W x + b) and
    nir.CubaLIF (tau_syn I' = -I + w_in S; tau_mem v' = (v_leak - v) + r I; spike at
    v > v_threshold, then v = v_reset), one forward-Euler step of dt per tick, the current
    before the membrane. ``refractory``: also hold v at v_reset, without spikes, for the
    ``refractory_ticks`` a node's metadata names after each of its spikes (what a simulator with
    a refractory period does; NIR's CubaLIF has none)."""
    dt = float(graph.metadata["erbp"]["dt_s"])
    nxt = dict(graph.edges)
    chain, name = [], "input"
    while nxt[name] != "output":
        name = nxt[name]
        chain.append(graph.nodes[name])
    n = len(spikes)
    state = {id(c): [np.zeros((n, len(c.v_threshold)))] * 3 for c in chain
             if isinstance(c, nir.CubaLIF)}
    current, out = [], []
    for t in range(spikes.shape[1]):
        x = spikes[:, t].astype(np.float64)
        for node in chain:
            if isinstance(node, nir.Affine):
                x = x @ node.weight.T + node.bias
                continue
            i, v, held = state[id(node)]
            i = i + dt / node.tau_syn * (-i + node.w_in * x)
            v = v + dt / node.tau_mem * ((node.v_leak - v) + node.r * i)
            z = (v > node.v_threshold) & (held == 0)
            if refractory:
                v = np.where(held > 0, node.v_reset, v)
                held = np.where(z, int(node.metadata["refractory_ticks"]), np.maximum(held - 1, 0))
            state[id(node)] = [i, np.where(z, node.v_reset, v), held]
            x = z.astype(np.float64)
        current.append(i)
        out.append(x)
    return {"current": np.stack(current, axis=1), "spikes": np.stack(out, axis=1)}


@pytest.fixture(scope="module")
def trained(mnist, tmp_path_factory):
    net = CNetwork.create(NetConfig.default("784-100-10"), 1)
    net.run_samples(mnist.train_x[:5000], mnist.train_y[:5000], "train")
    path = tmp_path_factory.mktemp("nir") / "model.erbp"
    net.save(path)
    return path, net


def test_round_trip_agrees_with_the_integer_engine(trained, mnist, tmp_path):
    path, net = trained
    out = tmp_path / "model.nir"
    r = CliRunner().invoke(main, ["export", str(path), "--format", "nir", "--out", str(out)])
    assert r.exit_code == 0, r.output
    g = nir.read(out)
    assert [type(g.nodes[k]).__name__ for k in ("input", "affine0", "lif0", "affine1", "lif1",
                                                 "output")] == \
        ["Input", "Affine", "CubaLIF", "Affine", "CubaLIF", "Output"]
    meta = g.metadata["erbp"]
    ref = modelfile.load(path)
    rule = meta["readout"]
    assert int(meta["semantics_version"]) == SEMANTICS_VERSION and rule["rule"] == READOUT["rule"]
    assert [int(rule[k]) for k in ("readout", "exit_margin", "ticks_infer")] == \
        [ref.cfg.readout, ref.cfg.exit_margin, ref.cfg.ticks_infer]
    assert ref.cfg.readout == 1 and ref.cfg.exit_margin > 0  # the defaults: current, early exit
    assert int(meta["formats"]["weight_bits"]) == 8 and float(meta["dt_s"]) == DT
    np.testing.assert_array_equal(g.nodes["affine0"].weight, ref.W[0].T * 2 ** ref.cfg.w_shift[0])
    n = 1000
    x = mnist.test_x[:n]
    engine = net.run_samples(x, None, "infer", 0)
    spikes = np.stack([input_spikes(ref, x[i], i) for i in range(n)])
    assert [int(g.nodes[f"lif{l}"].metadata["refractory_ticks"]) for l in (0, 1)] == \
        [ref.cfg.refractory] * 2
    # NIR's equations and the refractory period the nodes' metadata names, read out by the
    # model's rule (the summed current, the early exit)
    got, ticks = readout(simulate(g, spikes, refractory=True), int(rule["readout"]),
                         int(rule["exit_margin"]))
    agree = float((got == engine.predictions).mean())
    assert agree >= 0.95, f"NIR simulation agrees with the integer engine on {agree:.1%}"
    assert (got == mnist.test_y[:n]).mean() > 0.8  # and it classifies: not a vacuous agreement
    assert (ticks < ref.cfg.ticks_infer).mean() > 0.9  # the early exit fired on most digits
    # it exits about when the engine does (docs/nir.md quotes both means)
    assert abs(ticks.mean() - engine.ticks.mean()) < 0.1 * engine.ticks.mean()
    # NIR's equations alone (no refractory period): the hidden neurons fire more, the output
    # current grows faster and the margin is reached earlier; docs/nir.md quotes the figures
    got, ticks = readout(simulate(g, spikes), int(rule["readout"]), int(rule["exit_margin"]))
    agree = float((got == engine.predictions).mean())
    assert agree >= 0.90, f"NIR equations alone agree with the integer engine on {agree:.1%}"
    assert ticks.mean() < 0.75 * engine.ticks.mean()


@pytest.mark.parametrize("sets", [{}, {"exit_margin": 0}, {"readout": 0, "exit_margin": 3},
                                  {"readout": 0, "exit_margin": 0}])
def test_readout_is_the_engines_on_its_own_trace(trained, mnist, sets):
    """readout() applied to the integer engine's own output trace (current and spikes after each
    tick, run without an exit) gives the engine's predictions and ticks run exactly."""
    path, _ = trained
    ref = modelfile.load(path)
    ref.cfg = ref.cfg.replace(**sets)
    traced = ref.copy()
    traced.cfg = ref.cfg.replace(exit_margin=0)
    current, spikes, want = [], [], []
    for i in range(12):
        cur, spk = [], []
        traced.run_sample(mnist.test_x[i], -1, INFER, i, on_tick=lambda n: (
            cur.append(n.pops[-1].I.copy()), spk.append(n.pops[-1].spk.copy())))
        current.append(cur)
        spikes.append(spk)
        want.append(ref.run_sample(mnist.test_x[i], -1, INFER, i))
    got, ticks = readout({"current": np.array(current), "spikes": np.array(spikes)},
                         ref.cfg.readout, ref.cfg.exit_margin)
    assert got.tolist() == [r.prediction for r in want]
    assert ticks.tolist() == [r.ticks for r in want]
    if ref.cfg.exit_margin:
        assert max(ticks) < ref.cfg.ticks_infer  # the exit fired


def test_readout_ties_and_exit_at_the_margin():
    """Two equal leaders lead by 0 (no exit at margin > 0); a lead equal to the margin exits; the
    lowest index wins a tie."""
    cur = np.array([[[5, 5, 0], [0, 0, 0], [1, 0, 0]],     # tie for two ticks, then lead 1
                    [[0, 3, 3], [0, 0, 0], [0, 0, 0]]])    # a tie to the end
    assert [a.tolist() for a in readout({"current": cur}, 1, 1)] == [[0, 1], [3, 3]]
    assert [a.tolist() for a in readout({"current": cur}, 1, 0)] == [[0, 1], [3, 3]]
    assert [a.tolist() for a in readout({"spikes": cur > 0}, 0, 1)] == [[0, 1], [3, 3]]
    with pytest.raises(ValueError, match="readout"):
        readout({"current": cur}, 2)


def test_graph_parameters_from_the_integer_semantics(trained):
    path, _ = trained
    net = modelfile.load(path)
    c = net.cfg
    g = nir_graph(net)
    lif = g.nodes["lif0"]
    # one Euler step reproduces the integer leaks and gains (without their rounding)
    assert np.allclose(1 - DT / lif.tau_syn, 1 - 2.0 ** -c.syn_shift)
    assert np.allclose(DT / lif.tau_syn * lif.w_in, 1)
    assert np.allclose(1 - DT / lif.tau_mem, 1 - 2.0 ** -c.mem_shift)
    assert np.allclose(DT / lif.tau_mem * lif.r, 2.0 ** -c.i2v_shift)
    assert np.allclose(lif.v_threshold, c.threshold - 0.5) and not lif.v_reset.any()
    assert np.allclose(DT / lif.tau_mem * lif.v_leak, c.noise_prob / 65536 * c.noise_weight)


def test_perbp_inference_transmission_enters_as_its_mean(tmp_path):
    """The graph infers: p_infer (not training's p_transmit) enters the weights as its mean."""
    net = CNetwork.create(NetConfig.default("64-16-10", "perbp"), 3).to_network()
    assert net.cfg.p_transmit[0] < 256 == net.cfg.p_infer[0]  # blank-out off in inference
    np.testing.assert_array_equal(nir_graph(net).nodes["affine0"].weight,
                                  net.W[0].T * 2 ** net.cfg.w_shift[0])
    net.cfg = net.cfg.replace(p_infer=(166, *net.cfg.p_infer[1:]))
    g = nir_graph(net)
    np.testing.assert_allclose(g.nodes["affine0"].weight,
                               net.W[0].T * 2 ** net.cfg.w_shift[0] * 166 / 256)
    assert [int(p) for p in g.metadata["erbp"]["p_infer"]][:1] == [166]
