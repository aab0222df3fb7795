"""What every engine must reproduce: a case (an initial model file and samples) and its truth
(the full state after every tick of every sample, each sample's results, the model file after it),
from the golden vectors (tests/golden) or from the reference on a random network; and the one
comparison of a state with the truth, which names the first difference.

A state is a *record*: every array of ``Network.snapshot()`` flattened in key order (the layout of
tests/golden/README.md). Records and result fields are taken from the reference, never listed
here, so a new state variable or result field reaches every engine without a change here.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from erbp.reference import INFER, NetConfig, Network, modelfile

from conftest import GOLDEN
from conformance.local import TickEngine, layout, record, result_dict
from conformance.strategies import Net, Sample

GOLDEN_CASES: list[str] = json.loads((GOLDEN / "index.json").read_text())["cases"]


@dataclass
class Case:
    """An initial network (its model file, and the configuration and seed it was made from) and
    the samples to run on it in order."""

    name: str
    model: bytes
    samples: tuple[Sample, ...]
    cfg: NetConfig
    seed: int


@dataclass
class Truth:
    """The reference's account of a case: ``keys`` the record layout [(name, words)]; per sample
    ``ticks`` (ticks, words) int64, ``results`` {field: value} (local.RESULT_FIELDS) and
    ``models`` (the model file after the sample)."""

    keys: list[tuple[str, int]]
    ticks: list[np.ndarray]
    results: list[dict[str, Any]]
    models: list[bytes]


def first_difference(keys: list[tuple[str, int]], got: np.ndarray, want: np.ndarray
                     ) -> str | None:
    """Where two records, or two (ticks, words) arrays of records, first differ: 'tick T:
    name[i] = got, reference want' (None if equal)."""
    got, want = np.atleast_2d(got), np.atleast_2d(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, reference {want.shape}"
    bad = np.argwhere(got != want)
    if not len(bad):
        return None
    tick, word = (int(x) for x in bad[0])
    off = 0
    for name, n in keys:
        if word < off + n:
            return (f"tick {tick}: {name}[{word - off}] = {got[tick, word]}, "
                    f"reference {want[tick, word]}")
        off += n
    return f"tick {tick}: word {word} (past the layout) = {got[tick, word]}"


# --- golden cases -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def golden_case(name: str) -> tuple[Case, Truth]:
    """A golden case as stored: its model file and samples, and its truth: the records of
    NAME.bin and the results of NAME.json; the extra result fields and the model file after each
    sample from a reference replay (which tests/test_golden.py proves equal to the files)."""
    manifest = json.loads((GOLDEN / f"{name}.json").read_text())
    model = (GOLDEN / f"{name}.erbp").read_bytes()
    keys = [(k["name"], int(np.prod(k["shape"]))) for k in manifest["keys"]]
    blob = np.fromfile(GOLDEN / f"{name}.bin", "<i4").astype(np.int64)
    records = blob.reshape(manifest["records"], sum(n for _, n in keys))
    samples = tuple(Sample(s["mode"], s["label"], s["index"], np.array(s["pixels"], np.uint8))
                    for s in manifest["samples"])
    net = modelfile.loads(model)
    ticks, results, models, row = [], [], [], 0
    for s, stored, n in zip(samples, manifest["results"], manifest["ticks"]):
        r = net.run_sample(s.pixels, s.label, s.mode, sample=s.index)
        res = result_dict(r, net.samples_seen)
        assert {k: res[k] for k in stored} == stored, \
            f"the reference no longer gives {name}.json's results: `make golden`?"
        ticks.append(records[row:row + n])
        results.append(res)
        models.append(modelfile.dumps(net))
        row += n
    assert row == len(records)
    cfg = NetConfig.from_words(manifest["config_words"])
    return Case(name, model, samples, cfg, manifest["seed"]), Truth(keys, ticks, results, models)


# --- random networks ----------------------------------------------------------------------------
def as_inference(net: Net) -> Net:
    """The same network and samples, every sample run as inference (for read-only engines)."""
    return net._replace(samples=tuple(Sample(INFER, -1, s.index, s.pixels) for s in net.samples))


def random_case(net: Net) -> Case:
    ref = Network.create(net.cfg, net.seed)
    return Case(f"random {'-'.join(map(str, net.cfg.sizes))} seed {net.seed}",
                modelfile.dumps(ref), net.samples, net.cfg, net.seed)


@functools.lru_cache(maxsize=512)
def _random_truth(key: tuple) -> Truth:
    words, seed, samples = key
    eng = TickEngine(Network, modelfile.loads)
    eng.create(list(words), seed)
    keys = layout(eng.net.snapshot())
    ticks, results, models = [], [], []
    for mode, label, index, px in samples:
        res, rec, model = eng.run(mode, label, index, np.array(px, np.uint8))
        ticks.append(rec)
        results.append(res)
        models.append(model)
    return Truth(keys, ticks, results, models)


def random_truth(net: Net) -> Truth:
    """The reference's truth of a random network (cached: every engine gets the same draws)."""
    key = (tuple(net.cfg.to_words()), net.seed,
           tuple((s.mode, s.label, s.index, tuple(int(p) for p in s.pixels))
                 for s in net.samples))
    return _random_truth(key)


def activity(case: Case, truth: Truth) -> dict[str, bool]:
    """What a case exercised: spikes in every population (the snapshot's spk keys), weights
    that changed (the W keys)."""
    offs = np.cumsum([0] + [n for _, n in truth.keys])
    cols = {k: slice(offs[i], offs[i + 1]) for i, (k, _) in enumerate(truth.keys)}
    spiked = all(any(t[:, c].any() for t in truth.ticks) for k, c in cols.items()
                 if k.startswith("spk"))
    first, last = record(modelfile.loads(case.model).snapshot()), truth.ticks[-1][-1]
    learned = any((first[c] != last[c]).any() for k, c in cols.items() if k.startswith("W"))
    return {"every population spiked": spiked, "weights changed": learned}
