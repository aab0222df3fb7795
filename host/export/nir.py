"""``erbp export --format nir``: the inference graph of a model as NIR (the Neuromorphic
Intermediate Representation, PyPI ``nir``: ``pip install "erbp[nir]"``), for simulators and
neuromorphic hardware that read NIR. docs/nir.md says what NIR can carry of erbp and what not.

The graph: ``input`` (n_in spikes per tick) -> for every weight layer l: ``affine{l}`` (weights,
transposed to NIR's (post, pre), times the transmission gain 2^w_shift[l] and the expected
transmission of inference p_infer[l]/256; bias 0) -> ``lif{l}`` (a CubaLIF population) -> ... -> ``output``.

The CubaLIF parameters come from the integer semantics (docs/semantics.md, section 7.1, phase 4),
read as one forward-Euler step of ``dt`` = one tick:

* ``I <- DECAY(I, syn_shift) + acc``: ``tau_syn = dt * 2^syn_shift``, ``w_in = 2^syn_shift``
  (so that dt / tau_syn * w_in = 1: the synaptic sum enters I whole);
* ``V <- DECAY(V, mem_shift) + ASR(I, i2v_shift) + noise``: ``tau_mem = dt * 2^mem_shift``,
  ``r = 2^(mem_shift - i2v_shift)``, ``v_leak`` = the expected noise per tick
  (noise_prob / 65536 * noise_weight) times 2^mem_shift;
* spike when ``V >= threshold`` (integer V), reset to 0: ``v_threshold = threshold - 1/2``
  (NIR fires at v > v_threshold), ``v_reset = 0``.

States are in erbp's integer units (a weight unit, the threshold 1024 of the defaults, ...); the
graph's metadata (``erbp`` key) holds the semantics version, the integer formats, the input
encoding, the readout and what the graph leaves out. The readout (semantics version 2: the
summed output current or the spike counts, and the early exit; how a prediction is made from the
output population) is not a NIR node: :func:`readout` applies it to a recorded trace.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .c import ExportError
from ..reference import INFER, SEMANTICS_VERSION, Network, modelfile

#: One tick in seconds (docs/semantics.md section 11: a tick stands for about 1 ms).
DT = 1e-3

#: How semantics version 2 makes a prediction from the output population (section 7.2); the
#: metadata adds the model's values (:func:`readout_rule`).
READOUT = {
    "rule": "score_k = R_k (readout 1: the sum over the ticks run of output k's synaptic current "
            "I_k, after its update in each tick) or count_k (readout 0: its spikes); after each "
            "tick t, if exit_margin > 0 and top - second >= exit_margin (highest score minus the "
            "second highest, two equal leaders: 0) the sample ends after t + 1 ticks; at the end "
            "the prediction is the highest score, the lowest index on a tie",
    "uses": "readout 1: the synaptic current I of the last CubaLIF population (its state, not a "
            "graph output) per tick; readout 0: the output spikes per tick",
    "not_in_graph": "the readout sum and the early exit are not NIR nodes: a simulator records "
                    "the output population per tick and applies the rule (erbp.export.nir."
                    "readout)"}

#: What the graph does not carry (docs/nir.md explains each).
LEFT_OUT = ["the eRBP learning rule (error neurons, feedback G, update factors, gates)",
            "integer rounding and saturation (DECAY, ASR, SAT at state_bits)",
            "the refractory period (V held at 0 for refractory ticks; named in the CubaLIF "
            "nodes' metadata only)",
            "the stochastic input encoding (input spikes are the graph's input)",
            "membrane noise (only its mean, as v_leak)",
            "stochastic transmission (only its mean, p_infer, in the weights)",
            "the one-tick delay between populations",
            "the readout sum and the early exit (metadata 'readout', erbp.export.nir.readout)"]


def _need_nir() -> Any:
    try:
        import nir
    except ImportError as e:
        raise ExportError('the NIR export needs the nir package: pip install "erbp[nir]"') from e
    return nir


def readout(outputs: dict[str, np.ndarray], readout: int = 1,
            exit_margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and ticks run from what the output population did in each tick of a sample
    (semantics version 2, section 7.2; :data:`READOUT`): ``outputs["current"]`` (n_samples, ticks,
    n_out), the synaptic current I of the output population after each tick (in erbp's integer
    units, the CubaLIF state), for ``readout`` 1; ``outputs["spikes"]`` (n_samples, ticks, n_out),
    its spikes, for ``readout`` 0. The score of output k after tick t is the sum of its current
    (or spikes) over ticks 0..t; with ``exit_margin`` > 0 a sample ends after the first tick whose
    highest score leads the second highest by ``exit_margin`` or more (two equal leaders: a lead
    of 0); the prediction is the highest score after the last tick run, the lowest index on a
    tie. Returns (predictions, ticks run), int64 (n_samples,) each."""
    if readout not in (0, 1):
        raise ValueError(f"readout must be 0 or 1, got {readout}")
    key = "current" if readout == 1 else "spikes"
    trace = np.asarray(outputs[key], dtype=np.float64)
    if trace.ndim != 3:
        raise ValueError(f"outputs[{key!r}] must be (n_samples, ticks, n_out), got {trace.shape}")
    n, ticks, n_out = trace.shape
    score = np.cumsum(trace, axis=1)  # after each tick
    run = np.full(n, ticks, dtype=np.int64)
    if exit_margin > 0 and n_out > 1:
        top2 = np.sort(score, axis=2)[:, :, -2:]
        done = top2[:, :, 1] - top2[:, :, 0] >= exit_margin
        fired = done.any(axis=1)
        run[fired] = done[fired].argmax(axis=1) + 1
    final = score[np.arange(n), run - 1] if ticks else np.zeros((n, n_out))
    return np.argmax(final, axis=-1).astype(np.int64), run


def readout_rule(net: Network) -> dict[str, Any]:
    """The readout of ``net``'s model file: :data:`READOUT` and the values that apply it."""
    c = net.cfg
    return {**READOUT, "readout": c.readout, "exit_margin": c.exit_margin,
            "ticks_infer": c.ticks_infer}


def _node_metadata(c: Any, l: int) -> dict[str, Any]:
    """What a CubaLIF node of erbp has that NIR's CubaLIF equations lack: the refractory period
    (a simulator that has one applies it) and, for the output population, its part in the
    readout."""
    meta: dict[str, Any] = {
        "refractory_ticks": c.refractory,
        "refractory": "after a spike, V is held at v_reset (0) and cannot spike for "
                      "refractory_ticks ticks while I goes on (not in NIR's CubaLIF)"}
    if l == c.n_layers - 1:
        meta["readout"] = ("the output population: its synaptic current I, summed over the ticks "
                           "run, is the readout sum R (readout 1; graph metadata 'readout')")
    return meta


def _metadata(net: Network) -> dict[str, Any]:
    c = net.cfg
    return {"erbp": {
        "semantics_version": SEMANTICS_VERSION, "topology": "-".join(map(str, c.sizes)),
        "samples_seen": net.samples_seen, "seed": net.seed, "dt_s": DT,
        "ticks_infer": c.ticks_infer,
        "formats": {"weight_bits": c.weight_bits, "state_bits": c.state_bits,
                    "weight_range": [c.w_min, c.w_max], "state_range": [c.s_min, c.s_max],
                    "units": "integer: weights and states in erbp's integer units"},
        "input": {"encoding": "per tick, input j spikes when (DRAW >> 16) < pixel_j * in_gain "
                              "(probability pixel * in_gain / 65536), then stays silent "
                              "in_refractory ticks (docs/semantics.md 7.1, phase 2)",
                  "in_gain": c.in_gain, "in_refractory": c.in_refractory},
        "neurons": {"refractory": c.refractory, "threshold": c.threshold,
                    "noise_prob": c.noise_prob, "noise_weight": c.noise_weight},
        "p_transmit": list(c.p_transmit), "p_infer": list(c.p_infer), "w_shift": list(c.w_shift),
        "readout": readout_rule(net), "left_out": LEFT_OUT}}


def nir_graph(net: Network) -> Any:
    """The inference graph of ``net`` as a ``nir.NIRGraph`` (module docstring)."""
    nir = _need_nir()
    c = net.cfg
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([c.n_in])})}
    edges, prev = [], "input"
    for l, w in enumerate(net.W):
        n = w.shape[1]
        gain = 2.0 ** c.w_shift[l] * c.p_infer[l] / 256  # inference's transmission
        nodes[f"affine{l}"] = nir.Affine(weight=w.T.astype(np.float64) * gain,
                                         bias=np.zeros(n))
        mean_noise = c.noise_prob / 65536 * c.noise_weight
        nodes[f"lif{l}"] = nir.CubaLIF(
            tau_syn=np.full(n, DT * 2.0 ** c.syn_shift), tau_mem=np.full(n, DT * 2.0 ** c.mem_shift),
            r=np.full(n, 2.0 ** (c.mem_shift - c.i2v_shift)),
            v_leak=np.full(n, mean_noise * 2.0 ** c.mem_shift),
            v_threshold=np.full(n, c.threshold - 0.5), v_reset=np.zeros(n),
            w_in=np.full(n, 2.0 ** c.syn_shift), metadata=_node_metadata(c, l))
        edges += [(prev, f"affine{l}"), (f"affine{l}", f"lif{l}")]
        prev = f"lif{l}"
    nodes["output"] = nir.Output(output_type={"output": np.array([c.n_out])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=_metadata(net))


def export_nir(model_path: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write the NIR file (HDF5, ``nir.read`` loads it) of a validated model file."""
    nir = _need_nir()
    graph = nir_graph(modelfile.load(model_path))
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    nir.write(p, graph)
    return [p]


def input_spikes(net: Network, pixels: np.ndarray, sample: int) -> np.ndarray:
    """The input spikes erbp generates for a sample (ticks_infer, n_in) bool: what the graph's
    ``input`` node receives to reproduce an erbp inference (``sample``: the sample index, the
    position in the test set by the host's convention)."""
    net.begin_sample(pixels, -1, INFER, sample)
    out = np.zeros((net.cfg.ticks_infer, net.cfg.n_in), dtype=bool)
    for t in range(net.cfg.ticks_infer):
        net._input_spikes(t)  # phase 2 alone (a Network extension point)
        out[t] = net.in_spk
    return out
