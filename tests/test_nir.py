"""erbp export --format nir: the file loads with the nir package, its nodes and metadata are what
docs/nir.md says, and a numpy simulation of the NIR nodes' documented equations (forward Euler,
one tick per step), fed erbp's own input spikes, predicts what the integer engine predicts on at
least 95 % of test digits."""
from __future__ import annotations

import nir
import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.engines.c import CNetwork
from erbp.export.nir import DT, READOUT, input_spikes, nir_graph, readout
from erbp.reference import SEMANTICS_VERSION, NetConfig, modelfile


def simulate(graph: nir.NIRGraph, spikes: np.ndarray) -> np.ndarray:
    """Output spike counts (n_samples, n_out) of a chain input -> (Affine -> CubaLIF)* -> output
    driven by ``spikes`` (n_samples, ticks, n_in), by the equations of nir.Affine (y = W x + b)
    and nir.CubaLIF (tau_syn I' = -I + w_in S; tau_mem v' = (v_leak - v) + r I; spike at
    v > v_threshold, then v = v_reset), one forward-Euler step of dt per tick, the current
    before the membrane."""
    dt = float(graph.metadata["erbp"]["dt_s"])
    nxt = dict(graph.edges)
    chain, name = [], "input"
    while nxt[name] != "output":
        name = nxt[name]
        chain.append(graph.nodes[name])
    n = len(spikes)
    state = {id(c): [np.zeros((n, len(c.v_threshold)))] * 2 for c in chain
             if isinstance(c, nir.CubaLIF)}
    counts = 0
    for t in range(spikes.shape[1]):
        x = spikes[:, t].astype(np.float64)
        for node in chain:
            if isinstance(node, nir.Affine):
                x = x @ node.weight.T + node.bias
                continue
            i, v = state[id(node)]
            i = i + dt / node.tau_syn * (-i + node.w_in * x)
            v = v + dt / node.tau_mem * ((node.v_leak - v) + node.r * i)
            z = v > node.v_threshold
            state[id(node)] = [i, np.where(z, node.v_reset, v)]
            x = z.astype(np.float64)
        counts = counts + x
    return counts


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
    assert int(meta["semantics_version"]) == SEMANTICS_VERSION and meta["readout"]["rule"] == \
        READOUT["rule"]
    assert int(meta["formats"]["weight_bits"]) == 8 and float(meta["dt_s"]) == DT
    ref = modelfile.load(path)
    np.testing.assert_array_equal(g.nodes["affine0"].weight, ref.W[0].T * 2 ** ref.cfg.w_shift[0])
    n = 1000
    x = mnist.test_x[:n]
    engine = net.run_samples(x, None, "infer", 0).predictions
    spikes = np.stack([input_spikes(ref, x[i], i) for i in range(n)])
    got = readout({"counts": simulate(g, spikes)})
    agree = float((got == engine).mean())
    assert agree >= 0.95, f"NIR simulation agrees with the integer engine on {agree:.1%}"
    assert (got == mnist.test_y[:n]).mean() > 0.8  # and it classifies: not a vacuous agreement


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
    assert readout({"counts": np.array([[0, 2, 2], [0, 0, 0]])}).tolist() == [1, 0]


def test_perbp_transmission_enters_as_its_mean(tmp_path):
    net = CNetwork.create(NetConfig.default("64-16-10", "perbp"), 3).to_network()
    g = nir_graph(net)
    p = net.cfg.p_transmit[0] / 256
    np.testing.assert_allclose(g.nodes["affine0"].weight, net.W[0].T * 2 ** net.cfg.w_shift[0] * p)
