"""Builds of the C engine that differ in speed only (tests/cport_builds.py). The x86-64 clones of
the hot kernels (ERBP_X86_CLONES in cport/src/erbp_kernels.c): the installed binding has them
wherever its compiler can build them, and a build without them (the portable kernels only) trains
and infers MNIST to the same bytes as the binding: model file, every prediction, every spike count,
every event count (on an AVX2 machine: the AVX2 clone against the baseline code; the rest of the
suite runs through the clone the CPU picks). The loops of cores without SIMD (ERBP_PAD_LOOPS=0:
what Cortex-M and RISC-V boards compile) pass the C engine's own suite. (Both builds run the
conformance suite too, tick by tick: its c-portable and c-scalar adapters.)"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from conftest import ROOT
from erbp.engines.c import _build as _cport_build
from erbp.engines.c.engine import CNetwork, _load
from erbp.reference import INFER, TRAIN, NetConfig

N_TRAIN, N_TEST = 150, 40
TOPOLOGIES = ("784-100-10", "784-40-30-10")


def run_engine(mnist_dir: str) -> dict:
    """Train each topology (eRBP and peRBP) on the first digits, then infer; everything that
    could differ, as plain data."""
    from hashlib import sha256

    from erbp.data.datasets import load_mnist

    d = load_mnist(mnist_dir)
    out = {}
    for topo in TOPOLOGIES:
        for variant in ("erbp", "perbp"):
            net = CNetwork.create(NetConfig.default(topo, variant), 5)
            tr = net.run_samples(d.train_x[:N_TRAIN], d.train_y[:N_TRAIN], TRAIN)
            inf = net.run_samples(d.test_x[:N_TEST], mode=INFER)
            out[f"{topo} {variant}"] = dict(
                model=sha256(net.dumps()).hexdigest(),
                train=[tr.predictions.tolist(), tr.events.tolist(), tr.counts.tolist()],
                infer=[inf.predictions.tolist(), inf.events.tolist(), inf.counts.tolist()])
    return out


def test_the_binding_has_the_clones_where_its_compiler_can_build_them():
    _, lib = _load()
    assert int(lib.erbp_binding_x86_clones) == int(_cport_build.x86_clones_supported())


def test_a_build_without_clones_computes_the_same_bytes(cport_builds, mnist_dir):
    env = cport_builds("portable")
    code = ("import json, sys; sys.path.insert(0, 'tests'); import test_cport_variants as t; "
            "from erbp.engines.c.engine import _load; assert _load()[1].erbp_binding_x86_clones == 0; "
            f"print(json.dumps(t.run_engine({str(mnist_dir)!r})))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    portable = json.loads(p.stdout.strip().splitlines()[-1])
    here = run_engine(str(mnist_dir))
    assert portable.keys() == here.keys()
    for key in here:
        for part in ("model", "train", "infer"):
            assert portable[key][part] == here[key][part], f"{key}: {part} differs"
    # the runs did something: learning changed predictions and spikes flowed
    assert all(np.sum(here[k]["train"][1]) > 0 for k in here)


def test_the_scalar_core_loops_pass_the_engine_suite(cport_builds):
    env = cport_builds("scalar")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_cport_engine.py"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert " passed" in p.stdout and " failed" not in p.stdout
