"""The bit-accurate eRBP reference engine: docs/semantics.md as executable numpy code.

Read this file next to the specification: each numbered phase of :meth:`Network.tick` is the phase
of the same number in semantics.md ("One tick"). All values are exact integers held in int64 arrays;
saturation is explicit (``sat``), and values the spec says cannot leave their width are checked
(``check_range``), so an overflow raises instead of wrapping silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np

from . import rng
from .config import NetConfig
from .constants import (P_ONE, READOUT_BOUND, STREAM_BLANK, STREAM_INIT_G, STREAM_INIT_W,
                        STREAM_INPUT, STREAM_NOISE, STREAM_ROUND)
from .intmath import I64, asr, check_range, decay, sat, stochastic_round_shift

TRAIN = "train"
INFER = "infer"
MODES = (TRAIN, INFER)


U32_MAX = 0xFFFFFFFF


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy; not a bool, a float or anything else)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_u32(value: object, what: str) -> int:
    """``value`` as an int if it is an integer in 0..2^32-1, else ValueError "<what> must be a
    uint32" (a float, a bool, a negative number or a larger one is never wrapped)."""
    if not is_integer(value) or not 0 <= value <= U32_MAX:
        raise ValueError(f"{what} must be a uint32, got {value!r}")
    return int(value)


def check_pixels(pixels: object, n_in: int, rows: bool = False) -> np.ndarray:
    """Pixels (``n_in`` of them, or rows of ``n_in`` with ``rows``) as an integer array, checked
    as section 7 of docs/semantics.md says: integers (an integer dtype: floats such as 0.5 are
    refused, never truncated) in 0..255; ValueError otherwise."""
    px = np.asarray(pixels)
    shape_ok = px.ndim == 2 and px.shape[1] == n_in if rows else px.shape == (n_in,)
    if not shape_ok:
        want = f"an array of shape (N, {n_in})" if rows else f"{n_in} pixels"
        raise ValueError(f"expected {want}, got shape {px.shape}")
    if px.dtype.kind not in "iu" or (px.size and (px.min() < 0 or px.max() > 255)):
        raise ValueError(f"pixels must be integers in 0..255 (got {px.dtype})")
    return px


def check_label(label: object, mode: str, n_out: int) -> int:
    """The label of a sample: in training an integer in [0, n_out) (ValueError otherwise); in
    inference any value is accepted and ignored (-1 is returned)."""
    if mode != TRAIN:
        return -1
    if not is_integer(label) or not 0 <= label < n_out:
        raise ValueError(f"training needs a label in [0, {n_out}), got {label!r}")
    return int(label)


def check_labels(labels: object, n: int, mode: str, n_out: int) -> np.ndarray | None:
    """The labels of a batch of ``n`` samples: in training an integer array of shape (n,) in
    [0, n_out) (ValueError otherwise, before any sample runs); in inference None (ignored)."""
    if mode != TRAIN:
        return None
    if labels is None:
        raise ValueError("training needs labels")
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"expected {n} labels, got shape {lab.shape}")
    if n and (lab.dtype.kind not in "iu" or lab.min() < 0 or lab.max() >= n_out):
        raise ValueError(f"labels must be integers in [0, {n_out}) (got {lab.dtype})")
    return lab.astype(np.int64)


def stream(kind: int, sub: int = 0) -> int:
    """Stream id = (kind << 8) | sub."""
    return (kind << 8) | sub


def init_weights(cfg: NetConfig, seed: int, layer: int) -> np.ndarray:
    """W_layer[pre, post] = UNIFORM(DRAW(KEY(seed, INIT_W|layer, 0, 0), pre*n_post+post), init_amp)."""
    n_pre, n_post = cfg.sizes[layer], cfg.sizes[layer + 1]
    k = rng.key(seed, stream(STREAM_INIT_W, layer), 0, 0)
    w = rng.uniform_int(rng.draws(k, n_pre * n_post), cfg.init_amp[layer])
    return w.reshape(n_pre, n_post)


def init_feedback(cfg: NetConfig, seed: int, hidden: int) -> np.ndarray:
    """G_h[class, i]: uniform in [-g_amp, g_amp], then made exactly zero-sum over the classes.

    For each hidden neuron i: s = sum_k r[k, i]; m = floor(s / n_out); rem = s - m * n_out
    (0 <= rem < n_out); G[k, i] = r[k, i] - m - (1 if k < rem else 0).
    """
    n_h, n_c = cfg.sizes[hidden + 1], cfg.n_out
    k = rng.key(seed, stream(STREAM_INIT_G, hidden), 0, 0)
    r = rng.uniform_int(rng.draws(k, n_c * n_h), cfg.g_amp).reshape(n_c, n_h)
    s = r.sum(axis=0)
    m = s // n_c
    rem = s - m * n_c
    g = r - m[None, :] - (np.arange(n_c)[:, None] < rem[None, :]).astype(I64)
    assert not g.sum(axis=0).any()
    return g


@dataclass
class Population:
    """State of one population of two-compartment neurons (a hidden layer or the output)."""

    I: np.ndarray  # synaptic current, state_bits, saturating
    V: np.ndarray  # somatic membrane, state_bits, saturating
    U: np.ndarray  # dendritic (error) compartment, state_bits, saturating
    ref: np.ndarray  # refractory counter, 0..refractory
    spk: np.ndarray  # spikes of the last completed tick (bool)
    count: np.ndarray  # spikes since the start of the sample

    @classmethod
    def zeros(cls, n: int) -> "Population":
        z = lambda: np.zeros(n, dtype=I64)  # noqa: E731
        return cls(z(), z(), z(), z(), np.zeros(n, dtype=bool), z())


@dataclass
class SampleResult:
    """What one sample produced."""

    prediction: int  # the output with the highest score (readout), lowest index on ties
    counts: np.ndarray  # output spike counts
    events: int  # synaptic events of the ticks run (pre spikes x fan-out, all layers, blanked too)
    ticks: int  # ticks run: ticks_train, ticks_infer, or fewer after an early exit (inference)
    hidden_spikes: int = 0
    input_spikes: int = 0


@dataclass
class Network:
    """An eRBP network: configuration, seed, weights, feedback matrices and dynamic state."""

    #: What a subclass may override, and the helpers an override may call: the phases of a tick
    #: (semantics.md, "One tick"), the state's reset, copy and snapshot, the constructor. Their
    #: names and signatures are kept stable for subclasses such as the float twin
    #: (erbp.research.float_erbp.FloatNetwork); tests/test_float_erbp.py fails if the twin
    #: overrides or calls anything else. The tick and sample loops, the order of the phases and
    #: the keys of the random streams are not extension points: they stay the reference's.
    EXTENSION_POINTS: ClassVar[tuple[str, ...]] = (
        "create", "copy", "reset_state", "snapshot",
        "_update_factor", "_input_spikes", "_deliver", "_transmit_mask", "_neurons",
        "_errors_and_feedback", "_error_neuron", "_key",
    )

    cfg: NetConfig
    seed: int
    W: list[np.ndarray]  # W[l][pre, post], int64 holding weight_bits values
    G: list[np.ndarray]  # G[h][class, i], int64 holding int16 values
    samples_seen: int = 0  # training samples applied, u32 wrapping (stored in model files)
    check: bool = True  # range checks on; turning them off never changes a result
    # dynamic state, valid during and after a sample
    pops: list[Population] = field(default_factory=list)
    in_ref: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=I64))
    in_spk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=I64))
    en: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=I64))
    ep_spk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    en_spk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    R: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=I64))  # readout sums, output
    # the sample in progress
    mode: str = INFER
    sample: int = 0
    label: int = -1
    tick_no: int = 0
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=I64))
    events: int = 0
    _skeys: dict[int, int] = field(default_factory=dict)  # stream -> sample key (a cache)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def create(cls, cfg: NetConfig, seed: int) -> "Network":
        """A fresh network whose weights and G are generated from ``seed`` (uint32)."""
        seed = check_u32(seed, "seed")
        W = [init_weights(cfg, seed, l) for l in range(cfg.n_layers)]
        G = [init_feedback(cfg, seed, h) for h in range(cfg.n_hidden)]
        net = cls(cfg=cfg, seed=seed, W=W, G=G)
        net.reset_state()
        return net

    def copy(self) -> "Network":
        net = Network(cfg=self.cfg, seed=self.seed, W=[w.copy() for w in self.W],
                      G=[g.copy() for g in self.G], samples_seen=self.samples_seen,
                      check=self.check)
        net.reset_state()
        return net

    # --- the sample ------------------------------------------------------------------------
    def reset_state(self) -> None:
        """Phase 0: every dynamic state is zero at the start of a sample (weights are kept)."""
        c = self.cfg
        self.pops = [Population.zeros(n) for n in c.sizes[1:]]
        self.in_ref = np.zeros(c.n_in, dtype=I64)
        self.in_spk = np.zeros(c.n_in, dtype=bool)
        self.ep = np.zeros(c.n_out, dtype=I64)
        self.en = np.zeros(c.n_out, dtype=I64)
        self.ep_spk = np.zeros(c.n_out, dtype=bool)
        self.en_spk = np.zeros(c.n_out, dtype=bool)
        self.R = np.zeros(c.n_out, dtype=I64)
        self.tick_no = 0
        self.events = 0

    def begin_sample(self, pixels: np.ndarray, label: int, mode: str, sample: int) -> None:
        """Start a sample: check inputs, reset state. ``sample`` (uint32) keys the randomness."""
        c = self.cfg
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        px = check_pixels(pixels, c.n_in)
        check_label(label, mode, c.n_out)
        check_u32(sample, "sample index")
        self.pixels = px.astype(I64)
        self.label = int(label) if is_integer(label) else -1
        self.mode, self.sample = mode, int(sample)
        self._skeys = {}
        self.reset_state()

    def _key(self, strm: int, t: int) -> int:
        """KEY(seed, strm, sample, t), caching the per-sample part."""
        sk = self._skeys.get(strm)
        if sk is None:
            sk = self._skeys[strm] = rng.sample_key(self.seed, strm, self.sample)
        return rng.absorb(sk, t)

    @property
    def ticks(self) -> int:
        return self.cfg.ticks_train if self.mode == TRAIN else self.cfg.ticks_infer

    def run_sample(self, pixels: np.ndarray, label: int = -1, mode: str = INFER,
                   sample: int | None = None,
                   on_tick: Callable[["Network"], None] | None = None) -> SampleResult:
        """Run one whole sample: ``ticks`` ticks, or in inference fewer when the early exit
        (:meth:`exit_reached`) ends it. In training mode ``samples_seen`` is used as the sample
        index when ``sample`` is None, and is incremented afterwards."""
        if sample is None:
            sample = self.samples_seen if mode == TRAIN else 0
        self.begin_sample(pixels, label, mode, sample)
        hidden_spikes = input_spikes = 0
        for _ in range(self.ticks):
            self.tick()
            input_spikes += int(self.in_spk.sum())
            hidden_spikes += sum(int(p.spk.sum()) for p in self.pops[:-1])
            if on_tick is not None:
                on_tick(self)
            if self.exit_reached():
                break
        if mode == TRAIN:
            self.samples_seen = (self.samples_seen + 1) & 0xFFFFFFFF  # a u32 that wraps
        counts = self.pops[-1].count.copy()
        return SampleResult(prediction=predict(self.scores()), counts=counts, events=self.events,
                            ticks=self.tick_no, hidden_spikes=hidden_spikes,
                            input_spikes=input_spikes)

    # --- the readout (semantics.md section 7.2) ----------------------------------------------
    def scores(self) -> np.ndarray:
        """The score of every output: its spike count (readout 0) or its readout sum R
        (readout 1)."""
        return (self.R if self.cfg.readout else self.pops[-1].count).copy()

    def exit_reached(self) -> bool:
        """The early exit, checked after each tick: in infer mode with exit_margin > 0, whether
        the highest score minus the second highest (a tie of two leaders: 0) is >= exit_margin."""
        c = self.cfg
        if self.mode != INFER or c.exit_margin == 0:
            return False
        s = np.sort(self.scores())
        return int(s[-1]) - int(s[-2]) >= c.exit_margin

    # --- one tick ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the sample by one tick (phases 1-5 of semantics.md, "One tick")."""
        c, t = self.cfg, self.tick_no
        train = self.mode == TRAIN
        learn = train and t >= c.burn_in

        # Phase 1: the update of every plastic population, from the state at the tick's start.
        dw = [self._update_factor(l, t) if learn else None for l in range(c.n_layers)]

        # Phase 2: input spikes.
        self._input_spikes(t)

        # Phase 3: delivery along every weight layer (learning fused with transmission).
        acc = [self._deliver(l, t, dw[l]) for l in range(c.n_layers)]

        # Phase 4: neuron dynamics of every population, in order; the output's readout sum.
        for p in range(c.n_layers):
            self._neurons(p, t, acc[p])
        self._readout()

        # Phase 5: training only: label, error neurons, feedback into the dendrites.
        if train:
            self._errors_and_feedback(t)
        self.tick_no += 1

    def _update_factor(self, l: int, t: int) -> np.ndarray:
        """dw_i = SAT_w(SRS(U_i * lr_mult, lr_shift, r_i)) if gate_lo < I_i < gate_hi, else 0."""
        c, pop = self.cfg, self.pops[l]
        r = rng.draws(self._key(stream(STREAM_ROUND, l), t), pop.U.size)
        q = pop.U * c.lr_mult[l]
        dw = sat(stochastic_round_shift(q, c.lr_shift[l], r), c.w_min, c.w_max)
        gate = (c.gate_lo[l] < pop.I) & (pop.I < c.gate_hi[l])
        return np.where(gate, dw, 0)

    def _input_spikes(self, t: int) -> None:
        c = self.cfg
        r = rng.draws(self._key(stream(STREAM_INPUT), t), c.n_in)
        ready = self.in_ref == 0
        spk = ready & ((r.astype(I64) >> 16) < self.pixels * c.in_gain)
        self.in_ref = np.where(ready, np.where(spk, c.in_refractory, 0), self.in_ref - 1)
        self.in_spk = spk

    def _deliver(self, l: int, t: int, dw: np.ndarray | None) -> np.ndarray:
        """acc_post = sum over spiking pre j of m_ji * w_ji, after w_ji <- SAT_w(w_ji + dw_i)."""
        c = self.cfg
        pre_spk = self.in_spk if l == 0 else self.pops[l - 1].spk
        pre = np.flatnonzero(pre_spk)
        W = self.W[l]
        n_post = W.shape[1]
        self.events += pre.size * n_post
        if pre.size == 0:
            return np.zeros(n_post, dtype=I64)
        rows = W[pre]
        if dw is not None:
            rows = sat(rows + dw[None, :], c.w_min, c.w_max)
            W[pre] = rows
        if self._p(l) < P_ONE:
            rows = rows * self._transmit_mask(l, t, pre, n_post)
        return rows.sum(axis=0)

    def _p(self, l: int) -> int:
        """The transmission probability * 256 of layer l: p_transmit in train mode, p_infer in
        infer mode."""
        return self.cfg.p_transmit[l] if self.mode == TRAIN else self.cfg.p_infer[l]

    def _transmit_mask(self, l: int, t: int, pre: np.ndarray, n_post: int) -> np.ndarray:
        """m_ji = [byte (i mod 4) of DRAW(k, j * ceil(n_post/4) + i // 4) < p], p = _p(l)."""
        k = self._key(stream(STREAM_BLANK, l), t)
        words = (n_post + 3) // 4
        post = np.arange(n_post)
        idx = pre[:, None] * words + (post // 4)[None, :]
        r = rng.draws_at(k, idx).astype(I64)
        byte = (r >> (8 * (post % 4))[None, :]) & 0xFF
        return (byte < self._p(l)).astype(I64)

    def _neurons(self, p: int, t: int, acc: np.ndarray) -> None:
        c, pop = self.cfg, self.pops[p]
        if self.check:
            check_range(acc, -(1 << 30), 1 << 30, "synaptic sum")
        pop.I = sat(decay(pop.I, c.syn_shift) + acc * (1 << c.w_shift[p]), c.s_min, c.s_max)
        noise = 0
        if c.noise_prob:
            r = rng.draws(self._key(stream(STREAM_NOISE, p), t), pop.V.size)
            noise = np.where((r.astype(I64) >> 16) < c.noise_prob, c.noise_weight, 0)
        v = sat(decay(pop.V, c.mem_shift) + asr(pop.I, c.i2v_shift) + noise, c.s_min, c.s_max)
        refr = pop.ref > 0
        spk = ~refr & (v >= c.threshold)
        pop.V = np.where(refr | spk, 0, v)
        pop.ref = np.where(refr, pop.ref - 1, np.where(spk, c.refractory, 0))
        pop.spk = spk
        pop.count += spk

    def _readout(self) -> None:
        """R_k += I_k of every output neuron (its I of this tick, after phase 4's update)."""
        self.R = self.R + self.pops[-1].I
        if self.check:
            check_range(self.R, -READOUT_BOUND, READOUT_BOUND, "readout sum")

    def _errors_and_feedback(self, t: int) -> None:
        c = self.cfg
        label_spk = np.zeros(c.n_out, dtype=I64)
        if t % c.label_period == 0:
            label_spk[self.label] = 1
        net = label_spk * c.err_label_w - self.pops[-1].spk.astype(I64) * c.err_pred_w
        self.ep, self.ep_spk = self._error_neuron(self.ep + net)
        self.en, self.en_spk = self._error_neuron(self.en - net)
        e = self.ep_spk.astype(I64) - self.en_spk.astype(I64)  # +1, 0 or -1 per class
        for h in range(c.n_hidden):
            pop = self.pops[h]
            pop.U = sat(decay(pop.U, c.dend_shift) + e @ self.G[h], c.s_min, c.s_max)
        out = self.pops[-1]
        out.U = sat(decay(out.U, c.dend_shift) + e * c.fb_out, c.s_min, c.s_max)

    def _error_neuron(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Non-leaky, rectified, subtractive reset: spike iff x >= err_threshold."""
        thr = self.cfg.err_threshold
        spk = x >= thr
        x = np.where(spk, x - thr, np.maximum(x, 0))
        if self.check:
            check_range(x, 0, thr - 1, "error-neuron state")
        return x, spk

    # --- observation -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, np.ndarray]:
        """The full state after the last tick: every weight, every neuron variable, every spike.

        Keys: W{l}, G{h}, and for each population p (0..n_hidden, the last is the output):
        I{p}, V{p}, U{p}, ref{p}, spk{p}, count{p}; in_ref, in_spk, ep, en, ep_spk, en_spk; R (the
        output's readout sums).
        """
        s: dict[str, np.ndarray] = {}
        for l, w in enumerate(self.W):
            s[f"W{l}"] = w.copy()
        for h, g in enumerate(self.G):
            s[f"G{h}"] = g.copy()
        for p, pop in enumerate(self.pops):
            for name in ("I", "V", "U", "ref", "spk", "count"):
                s[f"{name}{p}"] = getattr(pop, name).astype(I64).copy()
        for name in ("in_ref", "in_spk", "ep", "en", "ep_spk", "en_spk", "R"):
            s[name] = getattr(self, name).astype(I64).copy()
        return s


def predict(scores: np.ndarray) -> int:
    """The prediction: the output with the highest score (spike count or readout sum, section
    7.2); on a tie the lowest index."""
    return int(np.argmax(scores))
