"""Engines by name: the Python reference and the C engine behind one Network-like interface.

An engine object offers what :class:`erbp.reference.Network` offers for a run:
``run_sample(pixels, label, mode, sample=None) -> SampleResult`` (``.prediction``, ``.events``),
``samples_seen``, ``cfg``, ``seed``; optionally a batch path
``run_samples(X, labels, mode, start_index)`` (X uint8 (n, n_in), labels (n,), sample indices
start_index .. start_index+n-1; returns a sequence of results with ``.prediction`` and ``.events``,
or an object or dict with ``predictions`` and ``events`` arrays); and ``to_network()`` unless it is
a reference Network itself. :func:`make_engine` builds one from a configuration and seed, or from
an existing reference Network; more engines can be added with :func:`register_engine`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..reference import NetConfig, Network
from ..errors import ErbpError


class EngineUnavailable(ErbpError, RuntimeError):
    """The engine asked for is not known or not built (the message says how to get it)."""


@dataclass(frozen=True)
class EngineSpec:
    """How to build one engine: ``load()`` returns its class (imported lazily), which must have
    ``create(cfg, seed)`` and ``from_network(net)``."""

    name: str
    load: Callable[[], Any]
    description: str


ENGINES: dict[str, EngineSpec] = {}


def register_engine(name: str, load: Callable[[], Any], description: str = "") -> None:
    """Register (or replace) an engine: ``load()`` returns a class with ``create(cfg, seed)`` and
    ``from_network(net)``; it is called only when the engine is used."""
    ENGINES[name] = EngineSpec(name, load, description)


def _load_reference() -> Any:
    return Network


def _load_c() -> Any:
    try:
        return importlib.import_module("erbp.engines.c").CNetwork
    except (ImportError, AttributeError) as e:
        raise EngineUnavailable(f"C engine not built: pip install -e . ({e})") from e


def _load_micropython() -> Any:
    return importlib.import_module("erbp.engines.micropython").MicroPythonEngine


register_engine("python", _load_reference, "the numpy bit-accurate reference (erbp.reference)")
register_engine("c", _load_c, "the C engine (cport) through cffi (erbp.engines.c)")
register_engine("micropython", _load_micropython,
                "erbp_mp under the MicroPython unix port (subprocess; slow, for verification)")


def engine_class(name: str) -> Any:
    """The class of a registered engine (imports it; EngineUnavailable if unknown or unbuilt)."""
    try:
        spec = ENGINES[name]
    except KeyError:
        raise EngineUnavailable(f"unknown engine {name!r}; known: {', '.join(ENGINES)}") from None
    return spec.load()


def resolve_engine(name: str) -> str:
    """An engine name for :func:`make_engine`: ``auto`` becomes "c" if the C engine is built, else
    "python"; another name is checked (EngineUnavailable if unknown or not built)."""
    if name != "auto":
        engine_class(name)
        return name
    try:
        engine_class("c")
        return "c"
    except EngineUnavailable:
        return "python"


def make_engine(name: str, net_or_cfg: Network | NetConfig, seed: int | None = None) -> Any:
    """An engine object of the named kind.

    From a :class:`NetConfig` a fresh network is created from ``seed`` (uint32, required). From a
    reference :class:`Network` the engine starts from that network's weights, G, seed and
    samples_seen (``seed`` must then be None or equal); the "python" engine returns the Network
    itself (no copy).
    """
    cls = engine_class(name)
    if isinstance(net_or_cfg, Network):
        if seed is not None and seed != net_or_cfg.seed:
            raise ValueError(f"seed {seed} differs from the network's seed {net_or_cfg.seed}")
        return net_or_cfg if cls is Network else cls.from_network(net_or_cfg)
    if seed is None:
        raise ValueError("a seed is needed to create a network from a configuration")
    return cls.create(net_or_cfg, seed)


def to_network(engine: Any) -> Network:
    """The reference Network holding an engine's current weights, G, seed and samples_seen."""
    return engine if isinstance(engine, Network) else engine.to_network()


def run_batch(engine: Any, X: np.ndarray, labels: np.ndarray, mode: str,
              start_index: int) -> tuple[np.ndarray, int]:
    """Run samples ``X[i]`` with sample index ``start_index + i``, in order.

    Uses the engine's ``run_samples`` when it has one, else ``run_sample`` one at a time. Returns
    (predictions int64 (n,), total synaptic events).
    """
    n = len(X)
    if hasattr(engine, "run_samples"):
        ret = engine.run_samples(X, labels, mode, start_index)
        return _batch_results(ret, n)
    preds = np.empty(n, dtype=np.int64)
    events = 0
    for i in range(n):
        r = engine.run_sample(X[i], int(labels[i]), mode, sample=start_index + i)
        preds[i] = r.prediction
        events += int(r.events)
    return preds, events


def _batch_results(ret: Any, n: int) -> tuple[np.ndarray, int]:
    """Normalise what a batch ``run_samples`` returned to (predictions, total events)."""
    if isinstance(ret, dict):
        preds, events = ret["predictions"], ret["events"]
    elif hasattr(ret, "predictions"):
        preds, events = ret.predictions, ret.events
    else:
        preds = [r.prediction for r in ret]
        events = sum(int(r.events) for r in ret)
    preds = np.asarray(preds, dtype=np.int64).reshape(-1)
    if preds.size != n:
        raise RuntimeError(f"engine returned {preds.size} results for {n} samples")
    return preds, int(np.sum(events))
