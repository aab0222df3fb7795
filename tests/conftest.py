"""Shared test configuration.

* MNIST is found as tests/data_support.py says: ERBP_DATA, else ../shared/data/mnist beside the
  repository (then exported as ERBP_DATA for the erbp subprocesses), else erbp's default cache,
  downloaded and SHA-256 checked if missing. A test that needs it fails (never skips) when it cannot
  be had.
* Hypothesis: the `ci` profile (default) is derandomised and bounded so CI is reproducible and fast;
  HYPOTHESIS_PROFILE=dev explores more.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from data_support import find_mnist, local_mnist_dir

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
_LOCAL_MNIST = local_mnist_dir(ROOT)
if _LOCAL_MNIST is not None:
    os.environ["ERBP_DATA"] = str(_LOCAL_MNIST)

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
    """The MNIST directory (IDX files, gz or raw; tests/data_support.py); fails loudly if it
    cannot be found nor downloaded."""
    from erbp.errors import ErbpError

    try:
        return find_mnist(ROOT)
    except ErbpError as e:
        pytest.fail(f"MNIST not found: {e} (set ERBP_DATA to a directory holding the four IDX "
                    f"files, or give this machine network access for the verified download)")


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
