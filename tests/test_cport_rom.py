"""Read-only networks (inference from flash: ``erbp_net_init_rom``, ``CNetwork.loads_rom``): the
model file read in place, state in its own small arena. They compute what the network in RAM
computes, tick by tick and on MNIST; they refuse to learn or to change W and G; their state
arena size is mirrored in Python."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from erbp.engines.c import engine as cengine
from erbp.engines.c.engine import CNetwork, required_bytes, state_required_bytes
from erbp.reference import INFER, TRAIN, NetConfig
from erbp.reference.modelfile import ModelFileError

from conftest import GOLDEN
from test_cport_engine import assert_same_state, layouts, networks

LIB = cengine._load()[1]


def c_state_required_bytes(cfg: NetConfig) -> int:
    ffi = cengine._load()[0]
    c = ffi.new("erbp_config_t *")
    words = cfg.to_words()
    LIB.erbp_config_from_words(c, ffi.new("int32_t[]", words), len(words))
    return int(LIB.erbp_net_state_required_bytes(c))


@given(st.one_of(layouts(), networks().map(lambda case: case[0])))
def test_state_size_is_the_same_in_c_and_python(cfg):
    n = state_required_bytes(cfg)
    assert c_state_required_bytes(cfg) == n
    w = sum(a * b for a, b in zip(cfg.sizes, cfg.sizes[1:])) * cfg.weight_bytes
    assert 0 < n <= required_bytes(cfg) - w


def test_state_size_of_784_100_10():
    # the figure docs/firmware.md and erbp.h quote (5,264 B of state, 91,840 B in RAM)
    cfg = NetConfig.default("784-100-10")
    assert (state_required_bytes(cfg), required_bytes(cfg)) == (5264, 91840)
    assert c_state_required_bytes(cfg) == 5264


def _twins(model: bytes):
    ram, rom = CNetwork.loads(model), CNetwork.loads_rom(model)
    assert rom.read_only and not ram.read_only
    return ram, rom


def _golden_models():
    for name in json.loads((GOLDEN / "index.json").read_text())["cases"]:
        meta = json.loads((GOLDEN / f"{name}.json").read_text())
        yield name, (GOLDEN / f"{name}.erbp").read_bytes(), meta


@pytest.mark.parametrize("name,model,meta", list(_golden_models()),
                         ids=[n for n, _, _ in _golden_models()])
def test_golden_models_tick_by_tick(name, model, meta):
    """Every golden model, its samples in inference, plus a training pass on the RAM twin and
    the trained file again read only: the full state equal after every tick."""
    ram, rom = _twins(model)
    assert_same_state(ram.snapshot(), rom.snapshot(), f"{name}: after load")
    for round_ in range(2):
        for s in meta["samples"]:
            snaps: list[dict] = []
            rr = ram.run_sample(s["pixels"], -1, INFER, s["index"],
                                on_tick=lambda n: snaps.append(n.snapshot()))
            it = iter(snaps)
            rc = rom.run_sample(s["pixels"], -1, INFER, s["index"],
                                on_tick=lambda n: assert_same_state(next(it), n.snapshot(),
                                                                    f"{name} tick"))
            assert (rr.prediction, rr.events, rr.input_spikes, rr.hidden_spikes) == \
                (rc.prediction, rc.events, rc.input_spikes, rc.hidden_spikes)
            assert np.array_equal(rr.counts, rc.counts)
        for k, s in enumerate(meta["samples"]):  # learn on the RAM twin, then read it in place
            ram.run_sample(s["pixels"], k % ram.cfg.n_out, TRAIN)
        rom = CNetwork.loads_rom(ram.dumps())
        assert rom.dumps() == ram.dumps()


@given(networks(max_hidden=2))
def test_random_networks_equal_the_ram_engine(case):
    cfg, seed, samples = case
    ram = CNetwork.create(cfg, seed)
    for mode, label, index, px in samples:  # train the RAM network a little first
        ram.run_sample(px, label if mode == TRAIN else -1, mode, sample=index)
    rom = CNetwork.loads_rom(ram.dumps())
    ram.reset_state()
    assert_same_state(ram.snapshot(), rom.snapshot(), "after load")
    X = np.stack([px for _, _, _, px in samples]).astype(np.uint8)
    a = ram.run_samples(X, None, INFER, start_index=7)
    b = rom.run_samples(X, None, INFER, start_index=7)
    assert np.array_equal(a.predictions, b.predictions)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.events, b.events)
    assert_same_state(ram.snapshot(), rom.snapshot(), "after the batch")


def test_mnist_784_100_10(mnist):
    cfg = NetConfig.default("784-100-10")
    net = CNetwork.create(cfg, 2017)
    net.run_samples(mnist.train_x[:100], mnist.train_y[:100], TRAIN)
    ram, rom = _twins(net.dumps())
    a = ram.run_samples(mnist.test_x[:40], None, INFER)
    b = rom.run_samples(mnist.test_x[:40], None, INFER)
    assert np.array_equal(a.predictions, b.predictions)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.events, b.events)
    assert (a.predictions == mnist.test_y[:40]).mean() > 0.3  # it learned something


def test_refusals_change_nothing():
    cfg = NetConfig.default("20-8-3", ticks_infer=10, ticks_train=10)
    model = CNetwork.create(cfg, 5).dumps()
    rom = CNetwork.loads_rom(model)
    px = np.arange(20, dtype=np.uint8) * 12
    rom.run_sample(px, -1, INFER, 3)
    before = rom.snapshot()
    with pytest.raises(ValueError, match="ERBP_E_ARG"):
        rom.run_sample(px, 1, TRAIN, 4)
    with pytest.raises(ValueError, match="ERBP_E_ARG"):
        rom.run_samples(px[None, :], np.array([1]), TRAIN)
    for key in ("W0", "W1", "G0"):
        with pytest.raises(ValueError, match="ERBP_E_ARG"):
            rom.write_state({key: before[key]})
    assert_same_state(before, rom.snapshot(), "after the refusals")
    assert rom.dumps() == model and rom.samples_seen == 0
    rom.write_state({"I0": before["I0"] + 1})  # state writes work
    assert np.array_equal(rom.snapshot()["I0"], before["I0"] + 1)
    bad = bytearray(model)
    bad[300] ^= 1
    with pytest.raises(ModelFileError, match="ERBP_E_FILE_CRC"):
        CNetwork.loads_rom(bytes(bad))
