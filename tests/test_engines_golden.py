"""One golden-vector suite over every engine: each engine loads tests/golden/NAME.erbp (so its
model loader is tested too), runs the case's samples, and its FULL state after every tick must
equal NAME.bin word for word (tests/golden/README.md describes the format).

Engines plug in through ``GOLDEN_ENGINES``: a function ``(model_bytes, samples) -> iterator of
(sample number, tick in sample, snapshot dict, result or None)``. In-process engines (the
reference, the C engine) are below; an engine that runs out of process (the MicroPython port, the
firmware under QEMU) adds a function that drives it and parses the snapshots it sends back, and
gets the same comparison and the same messages. That the stored vectors equal a fresh reference
run is checked in test_golden.py.
"""
from __future__ import annotations

import json
from typing import Callable, Iterator

import numpy as np
import pytest

from erbp.reference import modelfile

from conftest import GOLDEN

CASES = json.loads((GOLDEN / "index.json").read_text())["cases"]

Record = tuple[int, int, dict, object]


def _in_process(net) -> Callable[[list[dict]], Iterator[Record]]:
    def run(samples: list[dict]) -> Iterator[Record]:
        for s, smp in enumerate(samples):
            snaps: list[dict] = []
            res = net.run_sample(np.array(smp["pixels"]), smp["label"], smp["mode"],
                                 sample=smp["index"], on_tick=lambda n: snaps.append(n.snapshot()))
            for t, snap in enumerate(snaps):
                yield s, t, snap, res if t == len(snaps) - 1 else None
    return run


def python_engine(model: bytes, samples: list[dict]) -> Iterator[Record]:
    return _in_process(modelfile.loads(model))(samples)


def c_engine(model: bytes, samples: list[dict]) -> Iterator[Record]:
    from erbp.engines.c import CNetwork

    net = CNetwork.loads(model)
    assert net.dumps() == model, "the C engine writes back another model file than it loaded"
    return _in_process(net)(samples)


GOLDEN_ENGINES: dict[str, Callable[[bytes, list[dict]], Iterator[Record]]] = {
    "python": python_engine,
    "c": c_engine,
}


def load_case(name: str) -> tuple[dict, bytes, np.ndarray]:
    manifest = json.loads((GOLDEN / f"{name}.json").read_text())
    model = (GOLDEN / f"{name}.erbp").read_bytes()
    words = sum(int(np.prod(k["shape"])) for k in manifest["keys"])
    records = np.frombuffer((GOLDEN / f"{name}.bin").read_bytes(), "<i4").reshape(-1, words)
    assert len(records) == manifest["records"] == sum(manifest["ticks"])
    return manifest, model, records


def first_mismatch(snap: dict, record: np.ndarray, keys: list[dict]) -> str | None:
    """'' if the snapshot equals the record, else 'key[index] = got, golden want'."""
    off = 0
    for k in keys:
        n = int(np.prod(k["shape"]))
        want = record[off:off + n]
        got = np.asarray(snap[k["name"]]).reshape(-1)
        if got.shape != want.shape:
            return f"{k['name']} has {got.size} values, golden {n}"
        bad = np.flatnonzero(got != want)
        if bad.size:
            i = int(bad[0])
            return f"{k['name']}[{i}] = {int(got[i])}, golden {int(want[i])}"
        off += n
    return None


@pytest.mark.parametrize("engine", list(GOLDEN_ENGINES))
@pytest.mark.parametrize("case", CASES)
def test_engine_reproduces_every_tick(engine, case):
    manifest, model, records = load_case(case)
    keys = manifest["keys"]
    n = 0
    for s, t, snap, res in GOLDEN_ENGINES[engine](model, manifest["samples"]):
        assert n < len(records), f"{engine} ran more ticks than {case}.bin holds"
        assert list(snap) == [k["name"] for k in keys], f"{engine}: snapshot keys differ"
        why = first_mismatch(snap, records[n], keys)
        if why:
            pytest.fail(f"{engine} on {case}: first mismatch at tick {n} (sample {s}, tick {t}): "
                        f"{why}")
        if res is not None:
            want = manifest["results"][s]
            got = dict(prediction=res.prediction, counts=list(map(int, res.counts)),
                       events=res.events)
            assert got == want, f"{engine} on {case}, sample {s}: result {got}, golden {want}"
        n += 1
    assert n == len(records), f"{engine} ran {n} ticks, {case}.bin holds {len(records)}"


def test_the_comparison_reports_the_first_difference():
    manifest, _, records = load_case(CASES[0])
    keys = manifest["keys"]
    snap, off = {}, 0
    for k in keys:
        n = int(np.prod(k["shape"]))
        snap[k["name"]] = records[5][off:off + n].reshape(k["shape"]).astype(np.int64)
        off += n
    assert first_mismatch(snap, records[5], keys) is None
    name = keys[-3]["name"]
    snap[name] = snap[name].copy()
    snap[name][1] += 1
    assert first_mismatch(snap, records[5], keys).startswith(f"{name}[1] = ")
