"""``erbp export --format nir``: the inference graph of a model as NIR (the Neuromorphic
Intermediate Representation, PyPI ``nir``: ``pip install "erbp[nir]"``), for simulators and
neuromorphic hardware that read NIR. docs/nir.md says what NIR can carry of erbp and what not.

The graph: ``input`` (n_in spikes per tick) -> for every weight layer l: ``affine{l}`` (weights,
transposed to NIR's (post, pre), times the transmission gain 2^w_shift[l] and the expected
transmission p_transmit[l]/256; bias 0) -> ``lif{l}`` (a CubaLIF population) -> ... -> ``output``.

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
encoding, the readout and what the graph leaves out. The readout (how a prediction is made from
the outputs) is :func:`readout`, the one place a new semantics version changes it.
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

#: How semantics version 1 makes a prediction from the output population (section 7.2).
READOUT = {"rule": "argmax of the output spike counts over ticks_infer ticks; ties: the lowest "
                   "index; no output spike: class 0", "uses": "spike counts"}

#: What the graph does not carry (docs/nir.md explains each).
LEFT_OUT = ["the eRBP learning rule (error neurons, feedback G, update factors, gates)",
            "integer rounding and saturation (DECAY, ASR, SAT at state_bits)",
            "the refractory period (refractory ticks, V held at 0)",
            "the stochastic input encoding (input spikes are the graph's input)",
            "membrane noise (only its mean, as v_leak)",
            "stochastic transmission (only its mean, in the weights)",
            "the one-tick delay between populations"]


def _need_nir() -> Any:
    try:
        import nir
    except ImportError as e:
        raise ExportError('the NIR export needs the nir package: pip install "erbp[nir]"') from e
    return nir


def readout(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """Predictions from what the output population produced over a sample: ``outputs["counts"]``
    (n_samples, n_out) spike counts. Semantics version 1 (section 7.2): the index of the largest
    count, the lowest on a tie (np.argmax). A semantics version that reads the output another way
    changes this function and :data:`READOUT`."""
    return np.argmax(np.asarray(outputs["counts"]), axis=-1)


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
        "p_transmit": list(c.p_transmit), "w_shift": list(c.w_shift),
        "readout": READOUT, "left_out": LEFT_OUT}}


def nir_graph(net: Network) -> Any:
    """The inference graph of ``net`` as a ``nir.NIRGraph`` (module docstring)."""
    nir = _need_nir()
    c = net.cfg
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([c.n_in])})}
    edges, prev = [], "input"
    for l, w in enumerate(net.W):
        n = w.shape[1]
        gain = 2.0 ** c.w_shift[l] * c.p_transmit[l] / 256
        nodes[f"affine{l}"] = nir.Affine(weight=w.T.astype(np.float64) * gain,
                                         bias=np.zeros(n))
        mean_noise = c.noise_prob / 65536 * c.noise_weight
        nodes[f"lif{l}"] = nir.CubaLIF(
            tau_syn=np.full(n, DT * 2.0 ** c.syn_shift), tau_mem=np.full(n, DT * 2.0 ** c.mem_shift),
            r=np.full(n, 2.0 ** (c.mem_shift - c.i2v_shift)),
            v_leak=np.full(n, mean_noise * 2.0 ** c.mem_shift),
            v_threshold=np.full(n, c.threshold - 0.5), v_reset=np.zeros(n),
            w_in=np.full(n, 2.0 ** c.syn_shift))
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
