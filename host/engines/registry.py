"""Engines by name: register, look up, build.

Built in: "python" (:class:`erbp.engines.reference.ReferenceEngine`, the numpy reference), "c"
(:class:`erbp.engines.c.CNetwork`, the C engine through cffi) and "micropython"
(:class:`erbp.engines.micropython.MicroPythonEngine`, erbp_mp in a MicroPython subprocess). An
engine class is imported only when it is used; more can be added with :func:`register_engine`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .base import Engine, EngineClass
from ..errors import ErbpError
from ..reference import NetConfig, Network


class EngineUnavailable(ErbpError, RuntimeError):
    """The engine asked for is not known or not built (the message says how to get it)."""


@dataclass(frozen=True)
class EngineSpec:
    """How to build one engine: ``load()`` returns its class (imported lazily), which has
    ``create(cfg, seed)`` and ``from_network(net)`` (:class:`erbp.engines.base.EngineClass`)."""

    name: str
    load: Callable[[], EngineClass]
    description: str


ENGINES: dict[str, EngineSpec] = {}


def register_engine(name: str, load: Callable[[], EngineClass], description: str = "") -> None:
    """Register (or replace) an engine: ``load()`` returns a class with ``create(cfg, seed)`` and
    ``from_network(net)`` whose objects are :class:`~erbp.engines.base.Engine`\\ s; it is called
    only when the engine is used, and raises EngineUnavailable if the engine cannot be had."""
    ENGINES[name] = EngineSpec(name, load, description)


def _load_reference() -> EngineClass:
    from .reference import ReferenceEngine

    return ReferenceEngine


def _load_c() -> EngineClass:
    try:
        c = importlib.import_module("erbp.engines.c")
    except ImportError as e:
        raise EngineUnavailable(f"C engine not built: pip install -e . ({e})") from e
    if not c.available():
        raise EngineUnavailable("C engine not built: pip install -e . (the binding erbp._cport "
                                "cannot be imported)")
    return c.CNetwork


def _load_micropython() -> EngineClass:
    from .micropython import MicroPythonEngine

    return MicroPythonEngine


register_engine("python", _load_reference, "the numpy bit-accurate reference (erbp.reference)")
register_engine("c", _load_c, "the C engine (cport) through cffi (erbp.engines.c)")
register_engine("micropython", _load_micropython,
                "erbp_mp under the MicroPython unix port (subprocess; slow, for verification)")


def engine_class(name: str) -> EngineClass:
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


def make_engine(name: str, net_or_cfg: Network | NetConfig, seed: int | None = None) -> Engine:
    """An engine of the named kind.

    From a :class:`NetConfig` a fresh network is created from ``seed`` (uint32, required). From a
    reference :class:`Network` the engine starts from that network's weights, G, seed and
    samples_seen (``seed`` must then be None or equal); the "python" engine runs that Network
    itself (no copy), every other engine a copy.
    """
    cls = engine_class(name)
    if isinstance(net_or_cfg, Network):
        if seed is not None and seed != net_or_cfg.seed:
            raise ValueError(f"seed {seed} differs from the network's seed {net_or_cfg.seed}")
        return cls.from_network(net_or_cfg)
    if seed is None:
        raise ValueError("a seed is needed to create a network from a configuration")
    return cls.create(net_or_cfg, seed)


def as_engine(obj: Engine | Network) -> Engine:
    """``obj`` itself if it is an engine; a reference Network as the "python" engine (no copy)."""
    if isinstance(obj, Network):
        return make_engine("python", obj)
    return obj


def to_network(obj: Engine | Network) -> Network:
    """The reference Network holding an engine's current weights, G, seed and samples_seen (a
    Network is returned as it is)."""
    return obj if isinstance(obj, Network) else obj.to_network()
