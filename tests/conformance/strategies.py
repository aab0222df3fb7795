"""The one module of hypothesis strategies for random configurations, networks and samples: every
test that needs random networks draws them here (the conformance suite, the reference's property
tests, the C engine's own tests).

    @given(networks())                       # Net(cfg, seed, samples): 3 samples, up to 3 hidden
    def test_x(net): ...
    networks(SMALL, n_samples=2)             # smaller populations (the reference's properties)
    layouts()                                # configurations across the whole size range

The configuration is drawn field by field from ``erbp.reference.params.FIELDS``: a field listed in
``CHOICES`` gets values that keep networks busy (spikes in every population, learning) or sit on
the edge of a rule (two networks in three are drawn ``BUSY``: spikes everywhere, learning); any
other field (a new one) is drawn over its whole range, ends first. A draw that breaks a
cross-field rule is rejected, so a new field with a new rule needs a ``CHOICES`` entry only if
most draws break it.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from erbp.reference import INFER, TRAIN, ConfigError, NetConfig
from erbp.reference.params import FIELDS

U32 = 2**32 - 1


class Shape(NamedTuple):
    """Bounds of the populations of a random network."""

    max_hidden: int = 3
    max_in: int = 40
    max_hidden_size: int = 20
    max_out: int = 12


#: The default shape: up to 40-20-20-20-12 (fast enough for every engine, boards included).
DEFAULT = Shape()
#: Smaller populations, for properties of the reference (pure numpy, many examples).
SMALL = Shape(max_hidden=2, max_in=12, max_hidden_size=8, max_out=5)


class Sample(NamedTuple):
    """One sample: ``label`` is -1 or a class in inference (engines ignore it), a class in
    training; ``index`` is the sample index of the random draws (u32); ``pixels`` uint8."""

    mode: str
    label: int
    index: int
    pixels: np.ndarray


class Net(NamedTuple):
    """A random network: configuration, seed of its initial weights, samples to run in order."""

    cfg: NetConfig
    seed: int
    samples: tuple[Sample, ...]


def edge(lo: int, hi: int) -> st.SearchStrategy[int]:
    """An integer in [lo, hi], the ends often."""
    return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))


def _max_w_shift(cfg: dict[str, Any], l: int) -> int:
    """The largest w_shift of layer l the 2^30 rule allows (n_pre * 2^(w-1) * 2^w_shift)."""
    n_pre = cfg["sizes"][l]
    k = 0
    while k < 15 and n_pre << (cfg["weight_bits"] - 1 + k + 1) <= 1 << 30:
        k += 1
    return k


def _gate_hi(lo: int, smax: int) -> st.SearchStrategy[int]:
    return st.sampled_from([1, 2, 30, 100, smax, 2 * smax + 1, 65535]).map(
        lambda d: min(lo + d, 32767))


#: Per field: a function of the values drawn so far (FIELDS order, plus ``sizes``, ``smax``,
#: ``wmax``) that returns the strategy of one value (one slot for per-layer fields; ``l`` is the
#: layer). Busy dynamics and rule edges: small thresholds, every gate shape, shifts at their ends.
CHOICES: dict[str, Callable[..., st.SearchStrategy[int]]] = {
    "weight_bits": lambda c, l: edge(2, 16),
    "state_bits": lambda c, l: edge(8, 16),
    "ticks_train": lambda c, l: st.integers(1, 25),
    "ticks_infer": lambda c, l: st.integers(1, 25),
    "burn_in": lambda c, l: st.integers(0, c["ticks_train"]),
    "in_refractory": lambda c, l: st.sampled_from([0, 0, 1, 3, 255]),
    "label_period": lambda c, l: st.sampled_from([1, 2, 3, 255]),
    "threshold": lambda c, l: st.sampled_from([1, 2, 100, c["smax"]])
    | st.integers(1, min(40, c["smax"])),
    "refractory": lambda c, l: st.sampled_from([0, 1, 4, 255]),
    "noise_prob": lambda c, l: st.sampled_from([0, 1, 20000, 30000, 65535, 65536]),
    "err_threshold": lambda c, l: st.sampled_from([1, 2, 64, 3000, 32767]) | st.integers(1, 60),
    "err_label_w": lambda c, l: edge(0, c["err_threshold"]),
    "err_pred_w": lambda c, l: edge(0, c["err_threshold"]),
    "g_amp": lambda c, l: edge(0, 32767 // (2 * c["n_out"])),
    "w_shift": lambda c, l: st.integers(0, min(3, _max_w_shift(c, l)))
    | st.just(_max_w_shift(c, l)),
    "gate_lo": lambda c, l: st.sampled_from([-32768, -c["smax"] - 1, -c["smax"] // 2, -100, -30,
                                             -1, 0]),
    "gate_hi": lambda c, l: _gate_hi(c["gate_lo"][l], c["smax"]),
    "lr_shift": lambda c, l: edge(0, 30) | st.sampled_from([0, 3, 8, 14, 30]),
    "init_amp": lambda c, l: edge(0, c["wmax"]) | st.integers(c["wmax"] // 2, c["wmax"]),
    "p_transmit": lambda c, l: st.sampled_from([0, 1, 128, 255, 256]),
    "p_infer": lambda c, l: st.sampled_from([0, 1, 128, 255, 256]),
    # early exits that fire (counts differ by a few, readout sums by hundreds or thousands), the
    # largest margin, and off
    "exit_margin": lambda c, l: st.sampled_from([1, 1, 2, 3, 0, 2**31 - 1])
    | st.integers(1, 5000),
}
#: Two networks in three are drawn "busy": these choices first (then CHOICES), so that spikes
#: reach every population and weights change (the edges above silence many networks on their
#: own; about half of the busy draws end up with spikes everywhere and changed weights, almost
#: none of the others).
BUSY: dict[str, Callable[..., st.SearchStrategy[int]]] = {
    "weight_bits": lambda c, l: st.integers(4, 16),  # 2-bit weights of +-1 silence most networks
    "w_shift": lambda c, l: st.integers(0, min(3, _max_w_shift(c, l))),
    "ticks_train": lambda c, l: st.integers(8, 25),
    "burn_in": lambda c, l: st.integers(0, 2),
    "in_gain": lambda c, l: st.integers(100, 257),
    "in_refractory": lambda c, l: st.integers(0, 3),
    "label_period": lambda c, l: st.integers(1, 3),
    "threshold": lambda c, l: st.integers(1, min(40, c["smax"])),
    "refractory": lambda c, l: st.integers(0, 3),
    "err_threshold": lambda c, l: st.integers(1, 60),
    "err_label_w": lambda c, l: st.integers(c["err_threshold"] // 2, c["err_threshold"]),
    "err_pred_w": lambda c, l: st.integers(c["err_threshold"] // 2, c["err_threshold"]),
    "gate_lo": lambda c, l: st.sampled_from([-32768, -c["smax"] - 1]),
    "gate_hi": lambda c, l: st.sampled_from([32767, c["smax"]]),
    "lr_mult": lambda c, l: st.integers(1000, 32767),
    "lr_shift": lambda c, l: st.integers(0, 10),
    "init_amp": lambda c, l: st.integers(max(1, c["wmax"] // 2), max(1, c["wmax"])),
    "p_transmit": lambda c, l: st.sampled_from([128, 255, 256]),
    "p_infer": lambda c, l: st.sampled_from([128, 255, 256]),
    "exit_margin": lambda c, l: st.sampled_from([1, 1, 2, 3, 0]) | st.integers(1, 100),
}
#: The fields that fix the populations (drawn from the Shape, not from CHOICES).
SHAPE_FIELDS = ("n_in", "n_out", "n_hidden", "hidden_size")


@st.composite
def configs(draw, shape: Shape = DEFAULT) -> NetConfig:
    """A valid configuration: populations within ``shape``, every other field of FIELDS drawn
    from BUSY (two times in three), CHOICES or over its range."""
    busy = draw(st.sampled_from([True, False, True]))
    n_hidden = draw(st.integers(0, shape.max_hidden))
    sizes = [draw(st.integers(1, shape.max_in))] + \
        [draw(st.integers(1, shape.max_hidden_size)) for _ in range(n_hidden)] + \
        [draw(st.integers(2, shape.max_out))]
    c: dict[str, Any] = dict(n_in=sizes[0], n_out=sizes[-1], n_hidden=n_hidden,
                             hidden_size=tuple(sizes[1:-1]), sizes=sizes)
    for f in FIELDS:
        if f.name in SHAPE_FIELDS:
            continue
        pick = (busy and BUSY.get(f.name)) or CHOICES.get(f.name) or \
            (lambda c, l, f=f: edge(f.lo, f.hi))
        if f.per_layer or f.per_hidden:
            n = n_hidden + 1 if f.per_layer else n_hidden
            c[f.name] = ()
            for l in range(n):  # one slot at a time: a slot may depend on the earlier ones
                c[f.name] += (draw(pick(c, l)),)
        else:
            c[f.name] = draw(pick(c, 0))
        if f.name == "weight_bits":
            c["wmax"] = (1 << (c["weight_bits"] - 1)) - 1
        if f.name == "state_bits":
            c["smax"] = (1 << (c["state_bits"] - 1)) - 1
    try:
        return NetConfig({f.name: c[f.name] for f in FIELDS})
    except ConfigError:
        reject()


def pixels(n_in: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.sampled_from([0, 0, 1, 128, 200, 255]) | st.integers(0, 255),
                    min_size=n_in, max_size=n_in).map(lambda p: np.array(p, np.uint8))


@st.composite
def samples(draw, cfg: NetConfig, n: int = 3) -> tuple[Sample, ...]:
    """n samples for ``cfg``: mostly training, indices at the ends of u32 often."""
    out = []
    for _ in range(n):
        mode = draw(st.sampled_from([TRAIN, INFER, TRAIN]))
        label = draw(st.integers(0, cfg.n_out - 1) if mode == TRAIN else
                     st.sampled_from([-1]) | st.integers(0, cfg.n_out - 1))
        index = draw(st.sampled_from([0, 1, U32]) | st.integers(0, U32))
        out.append(Sample(mode, label, index, draw(pixels(cfg.n_in))))
    return tuple(out)


@st.composite
def networks(draw, shape: Shape = DEFAULT, n_samples: int = 3) -> Net:
    """A random network: a configuration, a seed, and samples to run on it in order."""
    cfg = draw(configs(shape))
    return Net(cfg, draw(st.integers(0, U32)), draw(samples(cfg, n_samples)))


@st.composite
def layouts(draw) -> NetConfig:
    """Configurations that differ in what the arena layout depends on: sizes over the whole
    allowed range (across every padding boundary), hidden layers 0..4, 2- to 16-bit weights;
    the other fields as small as the rules allow."""
    from erbp.reference.constants import MAX_HIDDEN
    from erbp.reference.golden import explicit_config

    n_hidden = draw(st.integers(0, MAX_HIDDEN))
    size = st.one_of(st.integers(1, 70), st.integers(1, 4096))
    sizes = [draw(size)] + [draw(size) for _ in range(n_hidden)] + [draw(st.integers(2, 64))]
    ones = (1,) * (n_hidden + 1)
    return explicit_config(tuple(sizes), weight_bits=draw(st.integers(2, 16)), g_amp=1,
                           w_shift=(0,) * (n_hidden + 1), init_amp=ones)
