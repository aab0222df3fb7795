"""Network configurations from user input: a topology, a variant and ``key=value`` overrides.

Overrides name any field of :data:`erbp.reference.params.FIELDS`. Values are integers (decimal,
or with a 0x/0o/0b prefix); per-layer fields (one value per weight layer) and per-hidden fields
(one per hidden layer) take comma lists, and a single value is applied to every layer.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterable

from ..reference import ConfigError, NetConfig
from ..reference.defaults import exit_margin
from ..reference.params import FIELD_BY_NAME
from .precision import on_grid


def parse_int(text: str, what: str) -> int:
    """An integer from decimal or 0x/0o/0b text; ConfigError naming ``what`` otherwise."""
    t = text.strip()
    try:
        return int(t, 0) if t[:2].lower() in ("0x", "0o", "0b") else int(t)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not an integer") from None


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` to ``{key: value}`` (values still text; later items win)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key] = value
    return out


def apply_overrides(cfg: NetConfig, overrides: dict[str, Any]) -> NetConfig:
    """``cfg`` with fields replaced. Values may be ints, int sequences or text (see the module
    docstring). Raises ConfigError for an unknown field, a bad value or an invalid result."""
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        f = FIELD_BY_NAME.get(key)
        if f is None:
            close = difflib.get_close_matches(key, list(FIELD_BY_NAME), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"unknown configuration field {key!r}{hint}")
        if isinstance(value, str):
            vals = [parse_int(v, key) for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            vals = [int(v) for v in value]
        else:
            vals = [int(value)]
        if f.per_layer or f.per_hidden:
            n = cfg.n_layers if f.per_layer else cfg.n_hidden
            if len(vals) == 1:
                vals = vals * n
            changes[key] = tuple(vals)
        else:
            if len(vals) != 1:
                raise ConfigError(f"{key} takes one value, got {len(vals)}")
            changes[key] = vals[0]
    return cfg.replace(**changes)


#: The fields that change only how a network infers (never its training or its weights): what a
#: model may be evaluated with instead of its own values (``erbp eval --set``).
INFERENCE_FIELDS = ("ticks_infer", "readout", "exit_margin", "p_infer")


def inference_overrides(cfg: NetConfig, overrides: dict[str, Any]) -> NetConfig:
    """``cfg`` with inference fields (INFERENCE_FIELDS) replaced; ConfigError for any other."""
    other = sorted(set(overrides) - set(INFERENCE_FIELDS))
    if other:
        raise ConfigError(f"only the inference fields {', '.join(INFERENCE_FIELDS)} can be set "
                          f"when evaluating a model, not {', '.join(other)}")
    return apply_overrides(cfg, overrides)


def make_config(topology: str, variant: str = "erbp", overrides: dict[str, Any] | None = None,
                n_in: int | None = None, n_classes: int | None = None,
                grid_bits: int | None = None) -> NetConfig:
    """The default configuration of ``topology`` (a paper name such as "784-100-10" or custom
    sizes "a-b-...-z") and ``variant`` ("erbp" or "perbp"), with ``overrides`` applied. If given,
    ``n_in``/``n_classes`` (a data set's) are checked against the input and output sizes.
    ``grid_bits`` (None: the defaults' 8) puts the default network's weights on a finer or
    coarser grid before the overrides apply (:func:`erbp.training.precision.on_grid`)."""
    cfg = NetConfig.default(topology, variant)
    if grid_bits is not None:
        cfg = on_grid(cfg, grid_bits)
    if n_in is not None and cfg.n_in != n_in:
        raise ConfigError(f"topology {topology} has {cfg.n_in} inputs but the data set has "
                          f"{n_in} pixels per sample")
    if n_classes is not None and cfg.n_out < n_classes:
        raise ConfigError(f"topology {topology} has {cfg.n_out} outputs but the data set has "
                          f"{n_classes} classes")
    overrides = overrides or {}
    cfg = apply_overrides(cfg, overrides)
    if "exit_margin" not in overrides and {"threshold", "i2v_shift"} & set(overrides):
        # the default exit margin is a rule of the threshold (reference/defaults.py)
        cfg = cfg.replace(exit_margin=exit_margin(cfg.threshold, cfg.i2v_shift))
    return cfg
