"""The conformance suite: every engine of the project (tests/conformance/adapters.py: the
reference, the C binding and its builds, MicroPython viper and plain from .py and .mpy, every board
of the board table under QEMU and the firmware's host build) reproduces

* every golden case (tests/golden): the initial network made from the configuration and seed
  (where the engine makes networks), the model file loaded and written back, the full state after
  every tick (or, for a board, the state it reads back after every sample), every sample's
  results, the model file after every sample;
* random networks (conformance.strategies.networks): the same against the reference.

A read-only engine (the C binding's read-only network, a board's build with the model in flash)
runs each golden case's inference samples on the model file in effect before them (so against
the golden vectors themselves), and the samples of random networks as inference on their initial
model: its results, state and model file.

Engines start once per session (boards boot once: the `emulators` fixture).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from conformance.adapters import ADAPTERS, Adapter
from erbp.reference import INFER

from conformance.cases import (GOLDEN_CASES, Case, Truth, activity, as_inference,
                               first_difference, golden_case, random_case, random_truth)
from conformance.strategies import networks


@pytest.fixture(scope="session")
def started():
    pool: dict[str, Adapter] = {}
    yield pool
    for a in pool.values():
        a.close()


@pytest.fixture
def engine(request, started) -> Adapter:
    """The adapter named by the test's parameter, started on first use."""
    a = ADAPTERS[request.param]
    if a.name not in started:
        a.start(request)
        started[a.name] = a
    yield a
    a.detach()


def conform(engine: Adapter, case: Case, truth: Truth) -> None:
    """Make the case's network (where the engine can), load its model file, run its samples and
    compare everything the engine exposes with the truth (a read-only engine: the inference
    samples, each on the model file in effect before it)."""
    where = f"{engine.name} on {case.name}"
    if engine.inference_only:
        loaded = None
        for i, s in enumerate(case.samples):
            before = truth.models[i - 1] if i else case.model
            if s.mode != INFER:
                continue
            if before != loaded:
                written = engine.load(before)
                assert written in (None, before), f"{where}: it writes back another model file"
                loaded = before
            check_sample(engine, where, i, truth, case)
        return
    created = engine.create(case.cfg, case.seed)
    assert created in (None, case.model), f"{where}: the network it created differs (model file)"
    written = engine.load(case.model)
    assert written in (None, case.model), f"{where}: it writes back another model file"
    for i in range(len(case.samples)):
        check_sample(engine, where, i, truth, case)


def check_sample(engine: Adapter, where: str, i: int, truth: Truth, case: Case) -> None:
    """Run sample i of the case on the engine; its results, state (every tick, or after the
    sample) and model file afterwards against the truth."""
    s = case.samples[i]
    out = engine.run(s)
    at = f"{where}, sample {i} ({s.mode}, index {s.index})"
    got, want = out.result, truth.results[i]
    assert got and set(got) <= set(want), f"{at}: result fields {sorted(got)}"
    assert got == {k: want[k] for k in got}, f"{at}: result {got}, reference {want}"
    if out.ticks is not None:
        why = first_difference(truth.keys, out.ticks, truth.ticks[i])
    else:
        assert out.state is not None, f"{engine.name} exposes no state"
        why = first_difference(truth.keys, out.state, truth.ticks[i][-1])
        why = why and why.replace("tick 0:", "after the sample:")
    if why:
        pytest.fail(f"{at}: {why}")
    if out.model is not None:
        assert out.model == truth.models[i], f"{at}: the model file afterwards differs"


@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("engine", list(ADAPTERS), indirect=True)
def test_golden_vectors(engine, case):
    conform(engine, *golden_case(case))


@pytest.mark.parametrize("engine", [n for n in ADAPTERS if n != "reference"], indirect=True)
def test_random_networks(engine):
    """As many random networks as the engine's speed allows (adapter.examples of the hypothesis
    profile's count); the same draws for every engine, so the reference runs each once. A
    read-only engine runs their samples as inference."""
    @settings(max_examples=engine.examples(settings().max_examples))
    @given(networks())
    def check(net):
        if engine.inference_only:
            net = as_inference(net)
        conform(engine, random_case(net), random_truth(net))

    check()


def test_random_networks_reach_the_corners():
    """The strategy's networks (three times as many as the C engine runs) cover both weight
    storages, the narrowest and widest states, blank-out, certain noise, every depth, both
    readouts, p_infer apart from p_transmit, early exits; and many of them are busy: spikes in
    every population, weights that change."""
    nets, busy = [], []

    @settings(max_examples=3 * ADAPTERS["c"].examples(settings().max_examples))
    @given(networks())
    def collect(net):
        nets.append(net)
        a = activity(random_case(net), random_truth(net))
        busy.append(a["every population spiked"] and a["weights changed"])

    collect()
    cfgs = [n.cfg for n in nets]
    assert {c.weight_bytes for c in cfgs} == {1, 2}
    assert {8, 16} <= {c.state_bits for c in cfgs}
    assert {0, 1, 2, 3} <= {c.n_hidden for c in cfgs}
    assert any(p < 256 for c in cfgs for p in c.p_transmit)
    assert any(c.noise_prob == 65536 for c in cfgs)
    assert any(s.mode == "infer" for n in nets for s in n.samples)
    assert {0, 1} <= {c.readout for c in cfgs}
    assert any(p != q for c in cfgs for p, q in zip(c.p_transmit, c.p_infer))
    exits = [r["ticks"] < n.cfg.ticks_infer for n in nets
             for s, r in zip(n.samples, random_truth(n).results) if s.mode == "infer"]
    assert any(exits), f"none of {len(exits)} inference samples exits early"
    # hypothesis runs a configuration with several sets of samples: count configurations. Of
    # these, 16 to 40 % were busy in runs of this test (which examples the derandomised search
    # draws depends on the other tests of the session): an eighth leaves room for that spread
    distinct = {(tuple(n.cfg.to_words()), n.seed): b for n, b in zip(nets, busy)}
    assert sum(distinct.values()) >= len(distinct) // 8, \
        f"only {sum(distinct.values())} of {len(distinct)} networks are busy"


def test_the_comparison_names_the_first_difference():
    keys = [("W0", 4), ("I0", 2)]
    a = np.zeros((3, 6), np.int64)
    b = a.copy()
    assert first_difference(keys, a, b) is None
    b[2, 5] = 7
    assert first_difference(keys, a, b) == "tick 2: I0[1] = 0, reference 7"
    assert first_difference(keys, a[:2], b) == "shape (2, 6), reference (3, 6)"
    assert first_difference(keys, a[0], b[2]) == "tick 0: I0[1] = 0, reference 7"


def test_every_engine_and_board_has_an_adapter():
    """The engines of erbp.engines and the boards of the board table all have adapters."""
    from erbp.boards import table
    from erbp.engines import ENGINES

    names = set(ADAPTERS)
    assert {b.name for b in table.boards()} <= names
    assert {b.target(rom=True) for b in table.boards("rom")} <= names  # their read-only builds
    assert {n for n, a in ADAPTERS.items() if a.inference_only} >= \
        {"c-rom"} | {b.name for b in table.boards() if b.rom_only}
    kinds = {"python": "reference", "c": "c", "micropython": "mp-viper"}
    assert {kinds.get(e, e) for e in ENGINES} <= names


class _Wrong(Adapter):
    """The reference with one thing broken: a state word at a tick, a result field, the model
    file after a sample, or the model file it writes back."""

    def __init__(self, what: str):
        from conformance.adapters import InProcess

        self.name, self.what = f"wrong {what}", what
        self.inference_only = what == "inference"
        self.inner = InProcess("reference", "erbp.reference.Network",
                               "erbp.reference.modelfile.loads")
        self.inner.start(None)

    def load(self, model):
        out = self.inner.load(model)
        return out[:-1] + bytes([out[-1] ^ 1]) if self.what == "load" else out

    def run(self, s):
        out = self.inner.run(s)
        if self.what == "tick":
            out.ticks[len(out.ticks) // 2, -3] += 1
        elif self.what == "result":
            out.result["events"] += 1
        elif self.what == "model":
            out.model = out.model[:-1] + bytes([out.model[-1] ^ 1])
        elif self.what in ("state", "inference"):
            out.state, out.ticks = out.ticks[-1].copy(), None
            out.state[0] += 1
        return out


@pytest.mark.parametrize("what, why", [("tick", r"sample 0 .*: tick \d+: \w+\[\d+\] = "),
                                       ("result", "result"), ("model", "model file afterwards"),
                                       ("load", "writes back another model file"),
                                       ("state", "after the sample: W0"),
                                       ("inference", r"sample \d \(infer.*after the sample: W0")])
def test_a_wrong_engine_fails_with_the_first_difference(what, why):
    with pytest.raises((AssertionError, pytest.fail.Exception), match=why):
        conform(_Wrong(what), *golden_case(GOLDEN_CASES[0]))
