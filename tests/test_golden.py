"""The stored golden vectors equal a fresh run of the reference (so they can never go stale), and
they exercise every rule, initialisation's full u32 range included. Every engine against them
(made from the configuration and seed, loaded, run tick by tick): the conformance suite,
tests/conformance."""
import json

import numpy as np
import pytest

from erbp.reference import SEMANTICS_VERSION, NetConfig, golden

from conftest import GOLDEN

CASES = golden.cases()


def test_index_lists_every_case_and_the_version():
    idx = json.loads((GOLDEN / "index.json").read_text())
    assert idx["semantics_version"] == SEMANTICS_VERSION
    assert idx["cases"] == list(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_stored_vectors_equal_a_fresh_reference_run(name):
    manifest, model, blob, _ = golden.run_case(name, CASES[name])
    stored = json.loads((GOLDEN / f"{name}.json").read_text())
    assert stored == json.loads(json.dumps(manifest)), "manifest differs: run `make golden`?"
    assert (GOLDEN / f"{name}.erbp").read_bytes() == model
    data = (GOLDEN / f"{name}.bin").read_bytes()
    assert len(data) == len(blob)
    if data != blob:
        a, b = np.frombuffer(data, "<i4"), np.frombuffer(blob, "<i4")
        i = int(np.flatnonzero(a != b)[0])
        pytest.fail(f"{name}.bin differs from the reference at word {i}: {a[i]} vs {b[i]}")


def test_the_suite_exercises_every_rule():
    total = {}
    for name, spec in CASES.items():
        manifest, _, _, snaps = golden.run_case(name, spec)
        for k, v in golden.coverage(snaps, spec["cfg"], manifest).items():
            total[k] = total.get(k, False) or v
    assert all(total.values()), total


def test_a_case_needs_the_full_u32_product():
    """bounds_w16 has init_amp >= 16384, where UNIFORM's product (docs/semantics.md, section 6)
    passes 2^31: every engine that creates networks must compute it in u32."""
    words = json.loads((GOLDEN / "bounds_w16.json").read_text())["config_words"]
    cfg = NetConfig.from_words(words)
    assert max(cfg.init_amp) >= 16384 and 65535 * (2 * max(cfg.init_amp) + 1) >= 2**31
