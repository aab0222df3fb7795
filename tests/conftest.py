"""Shared test configuration.

* ERBP_DATA points every test at the real MNIST beside the project (../shared/data/mnist); a test
  that needs it fails (never skips) when it is missing.
* Hypothesis: the `ci` profile (default) is derandomised and bounded so CI is reproducible and fast;
  HYPOTHESIS_PROFILE=dev explores more.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
MNIST_DIR = Path(os.environ.get("ERBP_DATA", ROOT.parent / "shared" / "data" / "mnist"))
os.environ.setdefault("ERBP_DATA", str(MNIST_DIR))

settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def emulators():
    """Emulated boards of the board table, each built and booted once per session on first use:
    ``emulators(name, san=False) -> Emulator`` (tests/firmware_support.py); stopped at the end."""
    from firmware_support import Emulators

    pool = Emulators()
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def cport_builds(tmp_path_factory):
    """Builds of the C binding (portable, scalar, asan: tests/cport_builds.py), each compiled
    once per session: ``cport_builds(name) -> environment`` of a process that loads it."""
    from cport_builds import CportBuilds

    return CportBuilds(tmp_path_factory.mktemp("cport-builds"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST directory (IDX gz files); fails loudly if absent."""
    need = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    missing = [n for n in need if not (MNIST_DIR / n).exists()]
    if missing:
        pytest.fail(f"MNIST files {missing} not found in {MNIST_DIR}: set ERBP_DATA to the "
                    f"directory holding the IDX files")
    return MNIST_DIR


# --- host tools (erbp.data.datasets, erbp.training, the CLI) ----------------------------------------------
@pytest.fixture(scope="session")
def mnist(mnist_dir: Path):
    """The real MNIST as an erbp.data.datasets.Dataset, loaded once per session."""
    from erbp.data.datasets import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits as an erbp.data.datasets.Dataset (64 inputs, 1438/359 split)."""
    from erbp.data.datasets import load_digits

    return load_digits()
