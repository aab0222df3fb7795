"""The same real-valued network at another resolution: rescaling a configuration to new widths.

A configuration with ``weight_bits = 8`` and ``state_bits = 16`` (the defaults) defines a network
whose real-valued quantities we keep fixed while the widths change. Units: let one *reference
unit* be one unit of I, V or U in the 8/16 configuration. Then in any configuration

* a state value x (I, V, U) is worth ``x * 2^(16 - s)`` reference units;
* a weight w is worth ``w * 2^w_shift * 2^(16 - s)`` reference units of current;
* a learning step is worth ``lr_mult / 2^lr_shift * 2^w_shift`` reference units of current per
  reference unit of U (the ``2^(16 - s)`` of U and of the weight cancel).

:func:`rescale` maps a configuration to widths ``(b, s)`` so that all three stay the same, with
``e_w = b - 8`` and ``e_s = s - 16``:

1. **Thresholds and state-valued parameters** scale by ``2^e_s``: ``threshold``, ``gate_lo``,
   ``gate_hi``, ``noise_weight``, ``fb_out``, ``g_amp`` (G lives in U, so in state units).
   Error neurons count whole spikes and are left alone (``err_*``), as are time constants
   (``*_shift`` leaks), ``i2v_shift`` (V and I scale together), ticks, probabilities.
2. **Weights**: the weight grid should get ``e_w`` more bits of resolution at the same real range
   (``w' = w * 2^e_w``), so the transmission gain must change by ``2^(e_s - e_w)``:
   ``w_shift' = w_shift + e_s - e_w``. Where that is impossible (``w_shift'`` outside
   ``[0, w_shift_max]``, the largest shift that keeps ``n_pre * 2^(b-1) * 2^w_shift <= 2^30``),
   ``w_shift'`` is clamped and the weight grid is scaled by ``2^a`` with
   ``a = w_shift + e_s - w_shift'`` instead of ``2^e_w``. Then the real weight *resolution* stops
   improving (it is one state unit once ``w_shift' = 0``) and the extra bits widen the real
   weight *range* by ``2^(e_w - a)`` instead. With the defaults (``w_shift = 3``) this happens for
   ``b > 11`` at ``s = 16`` and for every ``b >= 8`` at ``s = 12`` (the state quantum is then
   16 reference units, so at ``b = 8``, ``s = 12`` the weights have half the default resolution
   and twice its range).
3. **Initial range**: ``init_amp' = round(init_amp * 2^a)`` (at least 1, at most the new wmax).
4. **Learning rate**: ``lr_mult' / 2^lr_shift' = lr_mult / 2^lr_shift * 2^(a - e_s)`` (in new
   weight units per new unit of U): ``lr_shift' = lr_shift - (a - e_s)``; a negative shift moves
   into ``lr_mult`` (``lr_mult * 2^-shift``, shift 0); a shift above 30 is clamped (the rate is
   then smaller than asked, recorded in the notes).

Every scaling is by a power of two, so with the default values it is exact down to
``weight_bits = 4`` and ``state_bits = 12`` (``init_amp`` 1, ``threshold`` 64). The float twin
(:class:`erbp.research.float_erbp.FloatNetwork`) of a rescaled configuration, given the same real
weights, runs exactly the same spikes as that of the original (``tests/test_precision.py``): the
rescaled networks differ only in rounding and saturation, which is what a sweep measures.
"""
from __future__ import annotations

from typing import Any

from ..reference import ConfigError, NetConfig
from ..reference.params import FIELD_BY_NAME

#: Reference widths: the real-valued network is the one the configuration defines at these.
REF_WEIGHT_BITS = 8
REF_STATE_BITS = 16
#: Largest w_shift the field allows.
W_SHIFT_MAX = 15


def _scale(x: int, e: int) -> tuple[int, bool]:
    """round(x * 2^e) and whether that is exact."""
    if e >= 0:
        return x << e, True
    y = round(x / (1 << -e))
    return y, y * (1 << -e) == x


def max_w_shift(n_pre: int, weight_bits: int) -> int:
    """The largest w_shift with n_pre * 2^(weight_bits-1) * 2^w_shift <= 2^30 (and <= 15)."""
    k = 0
    while k < W_SHIFT_MAX and n_pre * (1 << (weight_bits - 1)) * (1 << (k + 1)) <= 1 << 30:
        k += 1
    return k


def rescale(cfg: NetConfig, weight_bits: int, state_bits: int) -> tuple[NetConfig, dict[str, Any]]:
    """``cfg`` (read at 8-bit weights and 16-bit states, whatever its own widths say) mapped to
    ``weight_bits`` and ``state_bits`` as the module docstring describes.

    Returns the new configuration and notes: ``e_w``, ``e_s``, per layer ``a`` (the weight-grid
    exponent actually used), ``resolution_bits`` (bits of real weight resolution gained over the
    8/16 network: the real weight unit is ``2^(w_shift - a)`` reference units, so ``a``),
    ``range_bits`` (bits of real weight range gained: ``e_w - a``), and ``inexact`` (the fields
    whose rescaled value had to be rounded or clamped)."""
    e_w, e_s = weight_bits - REF_WEIGHT_BITS, state_bits - REF_STATE_BITS
    inexact: list[str] = []
    smax = (1 << (state_bits - 1)) - 1
    wmax = (1 << (weight_bits - 1)) - 1
    ch: dict[str, Any] = {"weight_bits": weight_bits, "state_bits": state_bits}

    def state_field(name: str, lo: int, hi: int) -> int:
        v, exact = _scale(getattr(cfg, name), e_s)
        v2 = min(max(v, lo), hi)
        if not exact or v2 != v:
            inexact.append(name)
        return v2

    ch["threshold"] = state_field("threshold", 1, smax)
    ch["noise_weight"] = state_field("noise_weight", -32768, 32767)
    ch["fb_out"] = state_field("fb_out", -32768, 32767)
    ch["g_amp"] = state_field("g_amp", 0, 32767 // (2 * cfg.n_out))
    per: dict[str, list[int]] = {k: [] for k in ("gate_lo", "gate_hi", "w_shift", "init_amp",
                                                  "lr_mult", "lr_shift")}
    layers = []
    for l, n_pre in enumerate(cfg.sizes[:-1]):
        for g in ("gate_lo", "gate_hi"):
            v, exact = _scale(getattr(cfg, g)[l], e_s)
            per[g].append(v)
            if not exact:
                inexact.append(f"{g}[{l}]")
        ws = min(max(cfg.w_shift[l] + e_s - e_w, 0), max_w_shift(n_pre, weight_bits))
        a = cfg.w_shift[l] + e_s - ws
        per["w_shift"].append(ws)
        amp, exact = _scale(cfg.init_amp[l], a)
        amp2 = min(max(amp, 1 if cfg.init_amp[l] else 0), wmax)
        if not exact or amp2 != amp:
            inexact.append(f"init_amp[{l}]")
        per["init_amp"].append(amp2)
        shift = cfg.lr_shift[l] - (a - e_s)
        mult = cfg.lr_mult[l]
        if shift < 0:
            mult, shift = mult << -shift, 0
        if shift > 30:
            shift = 30
            inexact.append(f"lr_shift[{l}]")
        if mult > 32767:
            mult = 32767
            inexact.append(f"lr_mult[{l}]")
        per["lr_mult"].append(mult)
        per["lr_shift"].append(shift)
        layers.append({"a": a, "resolution_bits": a, "range_bits": e_w - a})
    ch.update({k: tuple(v) for k, v in per.items()})
    out = cfg.replace(**ch)
    return out, {"weight_bits": weight_bits, "state_bits": state_bits, "e_w": e_w, "e_s": e_s,
                 "layers": layers, "inexact": inexact}


#: The weight widths ``erbp train --grid-bits`` accepts: the ``weight_bits`` field's range.
GRID_BITS = (FIELD_BY_NAME["weight_bits"].lo, FIELD_BY_NAME["weight_bits"].hi)
#: The grid of the defaults (what a run without ``--grid-bits`` records).
DEFAULT_GRID_BITS = REF_WEIGHT_BITS


def on_grid(cfg: NetConfig, grid_bits: int) -> NetConfig:
    """``cfg`` (an 8-bit-weight, 16-bit-state configuration, such as ``NetConfig.default``'s)
    with its weights on a ``grid_bits``-bit grid: the same real weights, range, initial range and
    learning rate, with steps ``2^(grid_bits - 8)`` times finer (:func:`rescale` at 16-bit
    states). What ``erbp train --grid-bits`` and a sweep's ``grid_bits`` do.

    Only an exact representation is accepted: a finer grid lowers every layer's ``w_shift`` by
    ``grid_bits - 8``, so it needs ``w_shift >= grid_bits - 8`` on every layer (784-500-500-10,
    ``w_shift`` 1 on its 500-wide layers, allows up to 9 bits); a coarser one raises it within
    the 2^30 rule. Anything else raises ConfigError naming the layer that limits it."""
    if cfg.weight_bits != REF_WEIGHT_BITS or cfg.state_bits != REF_STATE_BITS:
        raise ConfigError(f"--grid-bits rescales an {REF_WEIGHT_BITS}-bit-weight, "
                          f"{REF_STATE_BITS}-bit-state configuration; this one has "
                          f"weight_bits {cfg.weight_bits}, state_bits {cfg.state_bits}")
    lo, hi = GRID_BITS
    if isinstance(grid_bits, bool) or not isinstance(grid_bits, int):
        raise ConfigError(f"grid_bits must be an integer, got {grid_bits!r}")
    if not lo <= grid_bits <= hi:
        raise ConfigError(f"--grid-bits {grid_bits} is outside [{lo}, {hi}]")
    if grid_bits == REF_WEIGHT_BITS:
        return cfg
    out, notes = rescale(cfg, grid_bits, REF_STATE_BITS)
    e_w = grid_bits - REF_WEIGHT_BITS
    for l, layer in enumerate(notes["layers"]):
        if layer["a"] != e_w:
            need = "w_shift >= %d" % e_w if e_w > 0 else "room for w_shift + %d" % -e_w
            raise ConfigError(f"--grid-bits {grid_bits} cannot keep weight layer {l}'s real "
                              f"weights: it needs {need}, and the layer has w_shift "
                              f"{cfg.w_shift[l]} (n_pre {cfg.sizes[l]})")
    if notes["inexact"]:
        raise ConfigError(f"--grid-bits {grid_bits} cannot represent "
                          f"{', '.join(notes['inexact'])} exactly")
    return out
