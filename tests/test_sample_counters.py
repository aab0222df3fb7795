"""What every engine counts, and how labels are taken (docs/semantics.md, sections 3, 7 and 9):

* ``samples_seen`` is incremented (mod 2^32) once per training sample run whole, after its last
  tick, whether the sample index was given or defaulted to samples_seen; inference never changes
  it, a refused sample does not either, and the tick-level API (begin_sample + tick) leaves it
  alone. It is stored in the model file's header.
* ``events`` is per sample: it restarts at 0 with every sample.
* a training label outside [0, n_out) is refused before anything changes; in inference the label
  is ignored.

The engines: the reference, the C engine (one sample, with a per-tick callback, and the batch
path) and the MicroPython port (viper and plain kernels). The firmware's count is checked by
the conformance suite (tests/conformance: the host build and every board).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from erbp import micropython_tools as mpt
from erbp.engines import micropython as mpp
from erbp.engines.c import CNetwork
from erbp.reference import INFER, TRAIN, Network, modelfile as mf

from conftest import GOLDEN

MODEL = (GOLDEN / "erbp_small.erbp").read_bytes()
N_OUT, N_IN = 3, 12


def with_samples_seen(model: bytes, seen: int) -> bytes:
    b = bytearray(model)
    struct.pack_into("<I", b, 16, seen)
    return bytes(b[:-4]) + struct.pack("<I", zlib.crc32(bytes(b[:-4])))


def pixels(i: int) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, N_IN)


#: (mode, label, index or None for the default) and samples_seen afterwards, from 2^32 - 2.
STEPS = [
    ((TRAIN, 1, 100), 0xFFFFFFFF),  # an explicit index still counts
    ((INFER, -1, None), 0xFFFFFFFF),  # inference never counts
    ((TRAIN, 2, None), 0),  # the default index is samples_seen (2^32 - 1); then it wraps
    ((TRAIN, 0, None), 1),  # index 0
    ((INFER, 7, 3), 1),  # an inference label is ignored (the result is the label -1 one)
]
START = with_samples_seen(MODEL, 0xFFFFFFFE)


def reference_run() -> list[tuple]:
    """(samples_seen, result, model bytes) after each step, by the reference; each step's events
    also equal those of the same sample on a fresh copy of the network it started from."""
    net = mf.loads(START)
    out = []
    for (mode, label, index), _ in STEPS:
        before = mf.dumps(net)
        r = net.run_sample(pixels(len(out)), label, mode, index)
        fresh = mf.loads(before)
        want_index = index if index is not None else (fresh.samples_seen if mode == TRAIN else 0)
        rf = fresh.run_sample(pixels(len(out)), -1 if mode == INFER else label, mode, want_index)
        assert r.events == rf.events and r.counts.tolist() == rf.counts.tolist()
        out.append((net.samples_seen, (r.prediction, r.counts.tolist(), r.events), mf.dumps(net)))
    return out


def test_the_reference_counts_as_documented():
    got = reference_run()
    assert [g[0] for g in got] == [seen for _, seen in STEPS]
    assert [struct.unpack_from("<I", g[2], 16)[0] for g in got] == [seen for _, seen in STEPS]
    assert got[0][1][2] > 0 and got[1][1][2] < got[0][1][2] + got[1][1][2]  # per sample


def engine_run(net) -> list[tuple]:
    out = []
    for (mode, label, index), _ in STEPS:
        r = net.run_sample(pixels(len(out)), label, mode, index)
        out.append((net.samples_seen, (r.prediction, list(map(int, r.counts)), r.events),
                    net.dumps()))
    return out


def test_the_c_engine_counts_like_the_reference():
    assert engine_run(CNetwork.loads(START)) == reference_run()


def test_the_c_engine_with_a_tick_callback_counts_like_the_reference():
    net = CNetwork.loads(START)
    out = []
    for (mode, label, index), _ in STEPS:
        r = net.run_sample(pixels(len(out)), label, mode, index, on_tick=lambda n: None)
        out.append((net.samples_seen, (r.prediction, list(map(int, r.counts)), r.events),
                    net.dumps()))
    assert out == reference_run()


@pytest.mark.parametrize("backend", ("viper", "plain"))
def test_micropython_counts_like_the_reference(tmp_path, backend):
    try:
        mpt.find_micropython()
    except mpt.ToolMissing as e:
        pytest.fail(str(e))
    path = tmp_path / "start.erbp"
    path.write_bytes(START)
    with mpp.MicroPythonEngine(path, backend=backend) as eng:
        assert engine_run(eng) == reference_run()
        # a batch of training samples with explicit indices counts each of them
        eng.run_samples(np.stack([pixels(i) for i in range(3)]), np.array([0, 1, 2]), TRAIN, 50)
        assert eng.samples_seen == 4


def test_batches_count_every_training_sample():
    ref, c = mf.loads(START), CNetwork.loads(START)
    X = np.stack([pixels(i) for i in range(3)])
    for i in range(3):
        ref.run_sample(X[i], i, TRAIN, 50 + i)
    c.run_samples(X, np.array([0, 1, 2]), TRAIN, start_index=50)
    assert c.samples_seen == ref.samples_seen == 1 and c.dumps() == mf.dumps(ref)
    c.run_samples(X, None, INFER)
    assert c.samples_seen == 1


@pytest.mark.parametrize("make", [mf.loads, CNetwork.loads], ids=["python", "c"])
def test_the_tick_level_api_leaves_samples_seen_alone(make):
    net = make(START)
    net.begin_sample(pixels(0), 1, TRAIN, 5)
    for _ in range(4):
        net.tick()
    assert net.samples_seen == 0xFFFFFFFE


@pytest.mark.parametrize("make", [mf.loads, CNetwork.loads], ids=["python", "c"])
@pytest.mark.parametrize("label", [-1, N_OUT, 2**31 - 1])
def test_a_training_label_out_of_range_is_refused_and_changes_nothing(make, label):
    net = make(START)
    net.run_sample(pixels(0), 0, TRAIN, 1)
    before = net.dumps() if hasattr(net, "_net") else mf.dumps(net)
    with pytest.raises(ValueError, match="label"):
        net.run_sample(pixels(1), label, TRAIN, 2)
    after = net.dumps() if hasattr(net, "_net") else mf.dumps(net)
    assert after == before


def test_micropython_refuses_a_training_label_out_of_range(tmp_path):
    path = tmp_path / "start.erbp"
    path.write_bytes(START)
    with mpp.MicroPythonEngine(path, backend="plain") as eng:
        with pytest.raises(Exception, match="label"):
            eng.run_sample(pixels(1), N_OUT, TRAIN, 2)
        assert eng.dumps() == START


def test_fresh_networks_start_at_zero():
    net = mf.loads(MODEL)
    assert net.samples_seen == 0 == CNetwork.loads(MODEL).samples_seen
    assert Network.create(net.cfg, 1).samples_seen == 0 == CNetwork.create(net.cfg, 1).samples_seen
