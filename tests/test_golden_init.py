"""Initialisation (docs/semantics.md, section 6) by every engine that creates networks itself: from
each golden case's configuration and seed, the C engine and the MicroPython port (viper and plain
kernels) make exactly the case's NAME.erbp. The golden replays load NAME.erbp, so they test the
dynamics; this tests UNIFORM and the zero-sum G, including init_amp >= 16384 (bounds_w16), where
UNIFORM's product needs the full u32 range. (The firmware is always handed a model file; the
reference is checked by tests/test_golden.py; the plain kernels on a 32-bit MicroPython by
tests/test_micropython_32bit.py.)
"""
from __future__ import annotations

import json

import pytest

from erbp import micropython_tools as mpt
from erbp.engines import micropython as mpp
from erbp.engines.c import CNetwork
from erbp.reference import NetConfig

from conftest import GOLDEN

CASES = json.loads((GOLDEN / "index.json").read_text())["cases"]


def case(name: str) -> tuple[NetConfig, int, bytes]:
    manifest = json.loads((GOLDEN / f"{name}.json").read_text())
    return (NetConfig.from_words(manifest["config_words"]), manifest["seed"],
            (GOLDEN / f"{name}.erbp").read_bytes())


def test_a_case_needs_the_full_u32_product():
    cfg, _, _ = case("bounds_w16")
    assert max(cfg.init_amp) >= 16384 and 65535 * (2 * max(cfg.init_amp) + 1) >= 2**31


@pytest.mark.parametrize("name", CASES)
def test_the_c_engine_creates_the_golden_model(name):
    cfg, seed, model = case(name)
    assert CNetwork.create(cfg, seed).dumps() == model


@pytest.mark.parametrize("backend", ("viper", "plain"))
def test_micropython_creates_every_golden_model(backend):
    try:
        mpt.find_micropython()
    except mpt.ToolMissing as e:
        pytest.fail(str(e))
    cfg, seed, model = case(CASES[0])
    with mpp.MicroPythonEngine.create(cfg, seed, backend=backend) as eng:
        assert eng.backend == backend
        for name in CASES:
            cfg, seed, model = case(name)
            eng.recreate(cfg, seed)
            assert eng.dumps() == model, name
