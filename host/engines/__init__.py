"""Engines: the reference, the C engine and the MicroPython port behind one interface, by name.

Every engine is an :class:`Engine` (:mod:`erbp.engines.base`): ``run_sample`` returns a
:class:`SampleResult`, ``run_samples`` a :class:`BatchResult`, whatever runs the numbers.
:func:`make_engine` builds one by name from a configuration and seed or from a reference Network;
:func:`register_engine` adds a kind. The engines: :mod:`erbp.engines.reference` (the numpy
reference), :mod:`erbp.engines.c` (the C engine, with the build script of its binding),
:mod:`erbp.engines.micropython` (erbp_mp in a MicroPython subprocess).
"""
from .base import BatchResult, Engine, EngineClass, SampleResult
from .registry import (ENGINES, EngineSpec, EngineUnavailable, as_engine, engine_class, make_engine,
                       register_engine, resolve_engine, to_network)

__all__ = ["BatchResult", "Engine", "EngineClass", "SampleResult", "ENGINES", "EngineSpec",
           "EngineUnavailable", "as_engine", "engine_class", "make_engine", "register_engine",
           "resolve_engine", "to_network"]
