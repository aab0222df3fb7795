"""Read-only networks (inference from flash: ``erbp_net_init_rom``, ``CNetwork.loads_rom``): the
model file read in place, state in its own small arena. They compute what the network in RAM
computes on MNIST (tick by tick on the golden vectors and random networks: the conformance suite's
``c-rom`` adapter); they refuse to learn or to change W and G; their state arena size is mirrored
in Python."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from erbp.engines.c import engine as cengine
from erbp.engines.c.engine import CNetwork, required_bytes, state_required_bytes
from erbp.reference import INFER, TRAIN, NetConfig
from erbp.reference.modelfile import ModelFileError

from conformance.strategies import layouts, networks
from test_cport_engine import assert_same_state

LIB = cengine._load()[1]


def c_state_required_bytes(cfg: NetConfig) -> int:
    ffi = cengine._load()[0]
    c = ffi.new("erbp_config_t *")
    words = cfg.to_words()
    LIB.erbp_config_from_words(c, ffi.new("int32_t[]", words), len(words))
    return int(LIB.erbp_net_state_required_bytes(c))


@given(st.one_of(layouts(), networks().map(lambda net: net.cfg)))
def test_state_size_is_the_same_in_c_and_python(cfg):
    n = state_required_bytes(cfg)
    assert c_state_required_bytes(cfg) == n
    w = sum(a * b for a, b in zip(cfg.sizes, cfg.sizes[1:])) * cfg.weight_bytes
    assert 0 < n <= required_bytes(cfg) - w


def test_state_size_of_784_100_10():
    # the figure docs/firmware.md and erbp.h quote (5,312 B of state, 91,888 B in RAM)
    cfg = NetConfig.default("784-100-10")
    assert (state_required_bytes(cfg), required_bytes(cfg)) == (5312, 91888)
    assert c_state_required_bytes(cfg) == 5312
    # the blank-out mask only when inference blanks synapses out (p_infer, not p_transmit)
    perbp = NetConfig.default("784-100-10", "perbp")
    assert max(perbp.p_transmit) < 256 == min(perbp.p_infer)
    assert state_required_bytes(perbp) == 5312
    blanking = perbp.replace(p_infer=(200, 256))
    assert state_required_bytes(blanking) == c_state_required_bytes(blanking) >= 5312 + 2 * 100


def _twins(model: bytes):
    ram, rom = CNetwork.loads(model), CNetwork.loads_rom(model)
    assert rom.read_only and not ram.read_only
    return ram, rom


def test_mnist_784_100_10(mnist):
    cfg = NetConfig.default("784-100-10")
    net = CNetwork.create(cfg, 2017)
    net.run_samples(mnist.train_x[:100], mnist.train_y[:100], TRAIN)
    ram, rom = _twins(net.dumps())
    a = ram.run_samples(mnist.test_x[:40], None, INFER)
    b = rom.run_samples(mnist.test_x[:40], None, INFER)
    assert np.array_equal(a.predictions, b.predictions)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.events, b.events)
    assert np.array_equal(a.ticks, b.ticks) and a.ticks.min() < cfg.ticks_infer  # early exits
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
