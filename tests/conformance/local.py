"""Engines that run in a Python process and call back after every tick (the reference, the C
binding in any build): records of the full state, results as plain data. Used in this process by
the `reference` and `c` adapters, and in a worker process (cworker.py) by the C build variants.
Needs numpy and erbp only (no pytest): the worker imports it."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from erbp.reference import NetConfig, modelfile
from erbp.reference.network import SampleResult

#: The fields of a sample's result an engine may report (and samples_seen after the sample).
RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(SampleResult)) + ("samples_seen",)


def record(snap: dict[str, np.ndarray]) -> np.ndarray:
    """A snapshot as one flat int64 record, in key order (tests/golden/README.md)."""
    return np.concatenate([np.asarray(v, np.int64).reshape(-1) for v in snap.values()])


def layout(snap: dict[str, np.ndarray]) -> list[tuple[str, int]]:
    """A snapshot's record layout: [(key, words)]."""
    return [(k, int(np.asarray(v).size)) for k, v in snap.items()]


def result_dict(r: Any, samples_seen: int | None = None) -> dict[str, Any]:
    """The RESULT_FIELDS an engine's result object has, as plain ints and lists."""
    out = {}
    for f in RESULT_FIELDS:
        v = getattr(r, f, None)
        if v is not None:
            out[f] = [int(x) for x in v] if np.ndim(v) else int(v)
    if samples_seen is not None:
        out["samples_seen"] = int(samples_seen)
    return out


class TickEngine:
    """A network of an engine class with ``loads(bytes)``, ``create(cfg, seed)``, ``dumps()``,
    ``samples_seen`` and ``run_sample(..., on_tick=)`` (erbp.reference.Network, CNetwork)."""

    def __init__(self, cls: Any, loads: Any = None):
        self.cls, self.loads_fn, self.net = cls, loads or cls.loads, None

    def load(self, model: bytes) -> bytes:
        """Load a model file; returns the model file the engine writes back."""
        self.net = self.loads_fn(model)
        return self.dumps()

    def create(self, words: list[int], seed: int) -> bytes:
        """Create a network from configuration words and a seed; returns its model file."""
        self.net = self.cls.create(NetConfig.from_words(words), seed)
        return self.dumps()

    def dumps(self) -> bytes:
        if hasattr(self.net, "dumps"):
            return self.net.dumps()
        return modelfile.dumps(self.net)

    def run(self, mode: str, label: int, index: int, pixels: np.ndarray
            ) -> tuple[dict[str, Any], np.ndarray, bytes]:
        """One sample: its result, the record of every tick (ticks, words), the model after."""
        recs: list[np.ndarray] = []
        r = self.net.run_sample(np.asarray(pixels), label, mode, sample=index,
                                on_tick=lambda n: recs.append(record(n.snapshot())))
        return result_dict(r, self.net.samples_seen), np.array(recs), self.dumps()
