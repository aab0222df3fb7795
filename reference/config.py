"""Network configuration objects: sizes, integer parameters, the paper's topologies by name.

A :class:`NetConfig` holds the values of every field of :data:`erbp.reference.params.FIELDS`.
Scalars are ints; per-layer fields are tuples with one entry per weight layer (n_hidden + 1). It is
immutable; ``cfg.replace(...)`` makes a modified copy, and every constructor validates.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from .constants import MAX_HIDDEN, MAX_LAYERS
from .errors import ErbpError
from .params import FIELD_BY_NAME, FIELDS, field_offsets, word_count

#: The networks of the paper's results table, by the name the paper uses.
TOPOLOGIES: dict[str, tuple[int, ...]] = {
    "784-100-10": (784, 100, 10),
    "784-200-10": (784, 200, 10),
    "784-500-10": (784, 500, 10),
    "784-200-200-10": (784, 200, 200, 10),
    "784-500-500-10": (784, 500, 500, 10),
}

#: Variants of the learning rule (docs/semantics.md, "eRBP and peRBP").
VARIANTS = ("erbp", "perbp")


class ConfigError(ErbpError, ValueError):
    """A configuration that breaks a rule of docs/semantics.md (the message names the rule)."""


def parse_sizes(spec: str | Iterable[int]) -> tuple[int, ...]:
    """Sizes from a topology name ("784-100-10"), a custom "a-b-...-z" string, or a sequence."""
    if isinstance(spec, str):
        if spec in TOPOLOGIES:
            return TOPOLOGIES[spec]
        try:
            sizes = tuple(int(s) for s in spec.split("-"))
        except ValueError as e:
            raise ConfigError(f"bad topology {spec!r}: expected sizes like 784-100-10") from e
    else:
        sizes = tuple(int(s) for s in spec)
    if len(sizes) < 2:
        raise ConfigError(f"a network needs at least an input and an output layer, got {sizes}")
    return sizes


class NetConfig:
    """Validated, immutable integer configuration of one network (see params.FIELDS)."""

    __slots__ = ("_v",)

    def __init__(self, values: Mapping[str, Any]):
        v: dict[str, Any] = {}
        missing = [f.name for f in FIELDS if f.name not in values]
        if missing:
            raise ConfigError(f"configuration lacks fields {missing}")
        unknown = sorted(set(values) - set(FIELD_BY_NAME))
        if unknown:
            raise ConfigError(f"unknown configuration fields {unknown}")
        for f in FIELDS:
            x = values[f.name]
            v[f.name] = tuple(int(e) for e in x) if f.slots > 1 else int(x)
        object.__setattr__(self, "_v", v)
        self.validate()

    # --- access -----------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        try:
            return self._v[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("NetConfig is immutable; use cfg.replace(...)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetConfig) and self._v == other._v

    def __hash__(self) -> int:
        return hash(tuple(self.to_words()))

    def __repr__(self) -> str:
        return f"NetConfig({'-'.join(map(str, self.sizes))}, {self._v})"

    def as_dict(self) -> dict[str, Any]:
        """All fields; per-layer ones as lists (JSON-friendly)."""
        return {k: list(x) if isinstance(x, tuple) else x for k, x in self._v.items()}

    def replace(self, **changes: Any) -> "NetConfig":
        """A copy with some fields changed (validated)."""
        v = dict(self._v)
        v.update(changes)
        return NetConfig(v)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Population sizes: input, hidden layers..., output."""
        return (self.n_in, *self.hidden_size[: self.n_hidden], self.n_out)

    @property
    def n_layers(self) -> int:
        """Number of weight layers (= n_hidden + 1)."""
        return self.n_hidden + 1

    @property
    def w_min(self) -> int:
        return -(1 << (self.weight_bits - 1))

    @property
    def w_max(self) -> int:
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def s_min(self) -> int:
        return -(1 << (self.state_bits - 1))

    @property
    def s_max(self) -> int:
        return (1 << (self.state_bits - 1)) - 1

    @property
    def weight_bytes(self) -> int:
        """Bytes per stored weight: 1 for weight_bits <= 8, else 2 (little-endian)."""
        return 1 if self.weight_bits <= 8 else 2

    # --- validation (mirrors erbp_config_check in cport) ------------------------------------
    def _count(self, f) -> int:
        return self.n_layers if f.per_layer else self.n_hidden if f.per_hidden else 1

    def validate(self) -> None:
        v = self._v
        if not 0 <= v["n_hidden"] <= MAX_HIDDEN:
            raise ConfigError(f"n_hidden = {v['n_hidden']} outside [0, {MAX_HIDDEN}]")
        for f in FIELDS:
            vals = v[f.name] if (f.per_layer or f.per_hidden) else (v[f.name],)
            if len(vals) != self._count(f):
                raise ConfigError(f"{f.name} needs {self._count(f)} entries, got {len(vals)}")
            for x in vals:
                if not f.lo <= x <= f.hi:
                    raise ConfigError(f"{f.name} = {x} outside [{f.lo}, {f.hi}]: {f.doc}")
        if self.threshold > self.s_max:
            raise ConfigError(f"threshold {self.threshold} exceeds the state range (max {self.s_max})")
        if self.err_label_w > self.err_threshold or self.err_pred_w > self.err_threshold:
            raise ConfigError("err_label_w and err_pred_w must not exceed err_threshold "
                              "(keeps error states in [0, err_threshold))")
        if self.burn_in > self.ticks_train:
            raise ConfigError("burn_in exceeds ticks_train")
        if 2 * self.n_out * self.g_amp > 32767:
            raise ConfigError("2 * n_out * g_amp must be <= 32767 (zero-sum G entries fit 16 bits)")
        for l, n_pre in enumerate(self.sizes[:-1]):
            if self.gate_lo[l] >= self.gate_hi[l]:
                raise ConfigError(f"layer {l}: gate_lo must be < gate_hi")
            if self.init_amp[l] > self.w_max:
                raise ConfigError(f"layer {l}: init_amp {self.init_amp[l]} exceeds the weight range")
            # the synaptic sum times the gain must fit in 31 bits (no int32 overflow in any engine)
            if n_pre * (1 << (self.weight_bits - 1)) * (1 << self.w_shift[l]) > (1 << 30):
                raise ConfigError(f"layer {l}: n_pre * 2^(weight_bits-1) * 2^w_shift exceeds 2^30")

    # --- serialisation ------------------------------------------------------------------------
    def to_words(self) -> list[int]:
        """The configuration as int32 words, in params.FIELDS order, multi-slot fields padded
        with zeros to their slot count."""
        out: list[int] = []
        for f in FIELDS:
            x = self._v[f.name]
            if f.slots > 1:
                out.extend(list(x) + [0] * (f.slots - len(x)))
            else:
                out.append(x)
        assert len(out) == word_count()
        return out

    @classmethod
    def from_words(cls, words: Iterable[int]) -> "NetConfig":
        w = [int(x) for x in words]
        if len(w) != word_count():
            raise ConfigError(f"a configuration has {word_count()} words, got {len(w)}")
        n_hidden = w[field_offsets()["n_hidden"]]
        if not 0 <= n_hidden <= MAX_HIDDEN:
            raise ConfigError(f"n_hidden = {n_hidden} outside [0, {MAX_HIDDEN}]")
        vals: dict[str, Any] = {}
        off = 0
        for f in FIELDS:
            if f.slots > 1:
                used = n_hidden if f.per_hidden else n_hidden + 1
                slots = w[off: off + f.slots]
                if any(slots[used:]):
                    raise ConfigError(f"{f.name}: unused slots must be 0")
                vals[f.name] = tuple(slots[:used])
            else:
                vals[f.name] = w[off]
            off += f.slots
        return cls(vals)

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def default(cls, topology: str | Iterable[int] = "784-100-10", variant: str = "erbp",
                **overrides: Any) -> "NetConfig":
        """The default configuration for a topology (see docs/semantics.md, "Defaults")."""
        from .defaults import default_values, exit_margin

        sizes = parse_sizes(topology)
        if len(sizes) - 2 > MAX_HIDDEN:
            raise ConfigError(f"at most {MAX_HIDDEN} hidden layers are supported")
        if variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {VARIANTS}, got {variant!r}")
        v = default_values(sizes, variant)
        v.update(overrides)
        if "exit_margin" not in overrides:  # the rule follows an overridden threshold
            v["exit_margin"] = exit_margin(v["threshold"], v["i2v_shift"])
        return cls(v)


def glorot_amp(fan_in: int, fan_out: int, scale: float) -> int:
    """Round(scale * sqrt(7 / (fan_in + fan_out))): the paper's init range, in weight units."""
    return int(round(scale * math.sqrt(7.0 / (fan_in + fan_out))))
