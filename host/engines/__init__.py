"""Engines: the reference, the C engine and the MicroPython port behind one interface, by name.

:func:`make_engine` builds an engine from a configuration and seed or from a reference Network;
:func:`register_engine` adds one. The C engine lives in :mod:`erbp.engines.c` (with the build
script of its binding), the MicroPython subprocess engine in :mod:`erbp.engines.micropython`.
"""
from .registry import (ENGINES, EngineSpec, EngineUnavailable, engine_class, make_engine,
                       register_engine, resolve_engine, run_batch, to_network)

__all__ = ["ENGINES", "EngineSpec", "EngineUnavailable", "engine_class", "make_engine",
           "register_engine", "resolve_engine", "run_batch", "to_network"]
