"""A floating-point twin of the fixed-point eRBP network: what quantisation costs, measured.

:class:`FloatNetwork` runs the network of docs/semantics.md with every *rounding and saturation*
removed and everything else kept: the same populations, phases and order of events in a tick, the
same one-tick delays, the same thresholds, refractory periods, error neurons and label train, and
the same counter-based random draws (input spikes, eRBP noise, blank-out) from
:mod:`erbp.reference.rng`. It starts from the same initial weights and G as the integer network
of the same configuration and seed. The differences, rule by rule:

==========================  ==========================================  =========================
semantics (integers)        here (float64)                              units
==========================  ==========================================  =========================
``W_l`` in weight units     ``W_l = w * 2^w_shift[l]``, no clipping     current units (of I)
``acc * 2^w_shift``         ``acc`` (the gain is inside W)              current units
``DECAY(x, k)``             ``x * (1 - 2^-k)`` (exact exponential)      units of x
``ASR(I, i2v_shift)``       ``I / 2^i2v_shift``                         potential units (of V)
``SAT`` of I, V, U, W       none                                        -
``SRS(U*lr_mult, lr_shift)``  ``U * lr_mult / 2^lr_shift`` exactly,     weight units, then
then ``SAT`` to weights     times ``2^w_shift[l]``                      current units
==========================  ==========================================  =========================

Error neurons stay integer (their inputs are whole spikes, so they are exact in both), and so do
the refractory counters and spike counts. The spikes themselves (``V >= threshold``) are the only
place where the float and integer networks can part: once one spike differs, the two runs follow
different (equally valid) trajectories. With learning off they therefore agree closely but not
exactly; that is what ``tests/test_float_erbp.py`` checks.

This is a subclass of the reference :class:`~erbp.reference.Network` that overrides the numerical
parts of phases 1, 3, 4 and 5 (``_update_factor``, ``_deliver``, ``_neurons``,
``_errors_and_feedback``); the tick loop, the sample loop, phase 2 (input spikes), the keys of the
random streams and the blank-out masks are the reference's own code, so the event order cannot
drift from the specification. It overrides and calls only what the reference declares in
``Network.EXTENSION_POINTS`` (checked by ``tests/test_float_erbp.py``), so a refactor of the
reference that renames or changes one of those fails that test instead of silently bypassing the
twin's override.

:class:`SaturatingFloatNetwork` is the same twin with one rule put back: every updated weight is
clipped to the integer weight range, as the integer network saturates it. Nothing is rounded, so
the pair separates what the grid's rounding costs from what its bounded range does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..reference import NetConfig, Network, rng
from ..reference.fileio import open_atomic
from ..reference.constants import STREAM_NOISE
from ..reference.intmath import I64
from ..reference.network import init_feedback, init_weights, stream

F64 = np.float64


def leak(k: int) -> float:
    """The per-tick decay factor ``1 - 2^-k`` of a state with leak shift k (0 for k = 0)."""
    return 1.0 - 2.0 ** -k


@dataclass
class FloatNetwork(Network):
    """The eRBP network in float64 (see the module docstring).

    ``W[l]``: float64 (n_pre, n_post) in current units (the integer network's ``w * 2^w_shift``).
    ``G[h]``: float64 copies of the integer feedback matrices (units of U per error spike).
    States I, V, U are float64 in the integer network's units; weights and states never saturate.
    """

    #: Clip every updated weight to the integer weight range (``[w_min, w_max] * 2^w_shift``
    #: in current units). False here; :class:`SaturatingFloatNetwork` sets it.
    SATURATE_WEIGHTS: ClassVar[bool] = False

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def create(cls, cfg: NetConfig, seed: int) -> "FloatNetwork":
        """The float twin of ``Network.create(cfg, seed)``: the same initial weights and G."""
        if not 0 <= seed <= 0xFFFFFFFF:
            raise ValueError("seed must be a uint32")
        W = [init_weights(cfg, seed, l) for l in range(cfg.n_layers)]
        G = [init_feedback(cfg, seed, h) for h in range(cfg.n_hidden)]
        return cls._from_integer(cfg, seed, W, G, 0)

    @classmethod
    def from_network(cls, net: Network) -> "FloatNetwork":
        """The float twin of an integer network (its current weights, G, seed, samples_seen)."""
        return cls._from_integer(net.cfg, net.seed, net.W, net.G, net.samples_seen)

    @classmethod
    def _from_integer(cls, cfg: NetConfig, seed: int, W: list[np.ndarray], G: list[np.ndarray],
                      samples_seen: int) -> "FloatNetwork":
        Wf = [np.asarray(w, dtype=F64) * 2.0 ** cfg.w_shift[l] for l, w in enumerate(W)]
        net = cls(cfg=cfg, seed=seed, W=Wf, G=[np.asarray(g, dtype=F64) for g in G],
                  samples_seen=samples_seen)
        net.reset_state()
        return net

    # --- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write what a resumed run needs (W, G, seed, samples_seen; the configuration is the
        caller's) to ``path`` as a numpy ``.npz`` archive, atomically (``open_atomic``). States
        are not saved: they are reset at the start of every sample."""
        with open_atomic(path) as f:
            np.savez(f, seed=np.uint32(self.seed), samples_seen=np.int64(self.samples_seen),
                     n_layers=len(self.W), n_hidden=len(self.G),
                     **{f"W{l}": w for l, w in enumerate(self.W)},
                     **{f"G{h}": g for h, g in enumerate(self.G)})

    @classmethod
    def load(cls, path: str | Path, cfg: NetConfig) -> "FloatNetwork":
        """The network :meth:`save` wrote, with configuration ``cfg`` (its shapes must match)."""
        with np.load(Path(path)) as z:
            W = [z[f"W{l}"].astype(F64) for l in range(int(z["n_layers"]))]
            G = [z[f"G{h}"].astype(F64) for h in range(int(z["n_hidden"]))]
            seed, seen = int(z["seed"]), int(z["samples_seen"])
        want = [(a, b) for a, b in zip(cfg.sizes[:-1], cfg.sizes[1:])]
        if [w.shape for w in W] != want:
            raise ValueError(f"{path}: weight shapes {[w.shape for w in W]} are not {want}")
        net = cls(cfg=cfg, seed=seed, W=W, G=G, samples_seen=seen)
        net.reset_state()
        return net

    def copy(self) -> "FloatNetwork":
        net = replace(self, W=[w.copy() for w in self.W], G=[g.copy() for g in self.G])
        net.reset_state()
        return net

    def weights_in_weight_units(self) -> list[np.ndarray]:
        """``W[l] / 2^w_shift[l]``: the weights on the integer network's scale (not rounded)."""
        return [w / 2.0 ** self.cfg.w_shift[l] for l, w in enumerate(self.W)]

    def to_network(self) -> Network:
        """The integer network nearest to this one: weights rounded to nearest (ties to even) in
        weight units and saturated to the weight range; G, seed and samples_seen kept."""
        c = self.cfg
        W = [np.clip(np.rint(w), c.w_min, c.w_max).astype(I64)
             for w in self.weights_in_weight_units()]
        net = Network(cfg=c, seed=self.seed, W=W, G=[np.rint(g).astype(I64) for g in self.G],
                      samples_seen=self.samples_seen)
        net.reset_state()
        return net

    # --- state ----------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Every dynamic state zero; I, V, U as float64 (the rest as in the reference)."""
        super().reset_state()
        for pop in self.pops:
            pop.I, pop.V, pop.U = (np.zeros(pop.I.size, dtype=F64) for _ in range(3))

    def snapshot(self) -> dict[str, np.ndarray]:
        """Like :meth:`Network.snapshot`, but W{l}, G{h}, I{p}, V{p}, U{p} are float64."""
        s = super().snapshot()  # casts to int64; replace the float arrays
        for l, w in enumerate(self.W):
            s[f"W{l}"] = w.copy()
        for h, g in enumerate(self.G):
            s[f"G{h}"] = g.copy()
        for p, pop in enumerate(self.pops):
            for name in ("I", "V", "U"):
                s[f"{name}{p}"] = getattr(pop, name).copy()
        return s

    # --- the numerical phases ------------------------------------------------------------
    def _update_factor(self, l: int, t: int) -> np.ndarray:
        """Phase 1: dw_i = U_i * lr_mult / 2^lr_shift (weight units) * 2^w_shift (current
        units) if gate_lo < I_i < gate_hi, else 0. No rounding, no saturation."""
        c, pop = self.cfg, self.pops[l]
        eta = c.lr_mult[l] * 2.0 ** (c.w_shift[l] - c.lr_shift[l])
        gate = (c.gate_lo[l] < pop.I) & (pop.I < c.gate_hi[l])
        return np.where(gate, pop.U * eta, 0.0)

    def _deliver(self, l: int, t: int, dw: np.ndarray | None) -> np.ndarray:
        """Phase 3: w_ji += dw_i for every spiking pre j (no saturation unless
        ``SATURATE_WEIGHTS``), then the reference's delivery of the updated weights:
        acc_i = sum_j m_ji w_ji in current units."""
        if dw is not None:
            pre = np.flatnonzero(self.in_spk if l == 0 else self.pops[l - 1].spk)
            self.W[l][pre] += dw[None, :]
            if self.SATURATE_WEIGHTS and pre.size:
                c, g = self.cfg, 2.0 ** self.cfg.w_shift[l]
                self.W[l][pre] = np.clip(self.W[l][pre], c.w_min * g, c.w_max * g)
        return super()._deliver(l, t, None)

    def _neurons(self, p: int, t: int, acc: np.ndarray) -> None:
        """Phase 4 with exact decays: I = I(1 - 2^-syn) + acc; V = V(1 - 2^-mem) + I/2^i2v +
        noise; spike iff V >= threshold; the reference's refractory rule."""
        c, pop = self.cfg, self.pops[p]
        pop.I = pop.I * leak(c.syn_shift) + acc
        noise = 0.0
        if c.noise_prob:
            r = rng.draws(self._key(stream(STREAM_NOISE, p), t), pop.V.size)
            noise = np.where((r.astype(I64) >> 16) < c.noise_prob, float(c.noise_weight), 0.0)
        v = pop.V * leak(c.mem_shift) + pop.I * 2.0 ** -c.i2v_shift + noise
        refr = pop.ref > 0
        spk = ~refr & (v >= c.threshold)
        pop.V = np.where(refr | spk, 0.0, v)
        pop.ref = np.where(refr, pop.ref - 1, np.where(spk, c.refractory, 0))
        pop.spk = spk
        pop.count += spk

    def _errors_and_feedback(self, t: int) -> None:
        """Phase 5: the reference's integer error neurons; U decays exactly and takes the
        feedback (e G_h for hidden layers, e * fb_out for the output) without saturation."""
        c = self.cfg
        label_spk = np.zeros(c.n_out, dtype=I64)
        if t % c.label_period == 0:
            label_spk[self.label] = 1
        net = label_spk * c.err_label_w - self.pops[-1].spk.astype(I64) * c.err_pred_w
        self.ep, self.ep_spk = self._error_neuron(self.ep + net)
        self.en, self.en_spk = self._error_neuron(self.en - net)
        e = (self.ep_spk.astype(I64) - self.en_spk.astype(I64)).astype(F64)
        for h in range(c.n_hidden):
            pop = self.pops[h]
            pop.U = pop.U * leak(c.dend_shift) + e @ self.G[h]
        out = self.pops[-1]
        out.U = out.U * leak(c.dend_shift) + e * c.fb_out


@dataclass
class SaturatingFloatNetwork(FloatNetwork):
    """The float twin with the integer weight range kept: every updated weight is clipped to
    ``[w_min, w_max]`` weight units (``* 2^w_shift`` in current units), as the integer network
    saturates it; nothing is rounded. Beside :class:`FloatNetwork` it separates what the 8-bit
    grid's rounding costs from what its bounded range does (docs/tuning.md section 18)."""

    SATURATE_WEIGHTS: ClassVar[bool] = True
