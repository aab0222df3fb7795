"""Shared pieces of the firmware tests (tests/test_firmware_*.py, tests/conformance): building the
images, emulated boards started once per session, the PC twin of a board run; the
fault-injecting proxy is erbp.boards.faults.FaultyLink. Which boards exist, and what
each needs, comes from the board table (firmware/boards/boards.toml, erbp.boards.table)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from erbp.boards import table
from erbp.boards.faults import FaultyLink  # noqa: F401  (the proxy lives in the package)

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
GOLDEN = ROOT / "tests" / "golden"
SMALL = "mnistlike_erbp_64"  # the golden model the host-build tests deploy (64-16-10)


def require_tools(*tools: str) -> None:
    """Fail (never skip) when a tool the firmware tests need is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: the firmware tests need the cross "
                    f"compilers and QEMU; run `make setup`")


def binutil(spec: table.BoardSpec, program: str) -> str:
    """A binutils program of a board's toolchain (nm, objdump: the one beside its size)."""
    return spec.arch.size[:-len("size")] + program


def make(*targets: str, env_args: tuple[str, ...] = ()) -> str:
    """Run make in firmware/ (targets: boards or architectures of the board table, host, ...);
    returns its output. Fails naming the missing compiler."""
    key = " ".join(targets + env_args)
    names = {t.removesuffix("-rom") for t in targets}  # a read-only build: NAME-rom
    need = [b.arch.cc for b in table.boards() if b.name in names or b.arch.name in names]
    require_tools("make", *dict.fromkeys(need))
    r = subprocess.run(["make", "-C", str(FIRMWARE), *targets, *env_args], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.fail(f"make {key} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout + r.stderr


class Emulators:
    """Emulated boards started on first use and kept for the session (one boot per board per
    session): ``emulators("mps2-an386")`` builds the image, boots QEMU and returns the
    :class:`erbp.boards.emulators.Emulator`; ``san=True`` (host only) runs the sanitizer build.
    A test opens its own :class:`erbp.boards.client.Board` on ``emu.url`` and closes it after
    (QEMU waits for the next client; the pty stays)."""

    def __init__(self) -> None:
        self.running: dict[tuple[str, bool], object] = {}

    def __call__(self, name: str, *, san: bool = False):
        from erbp.boards.emulators import start_board

        key = (name, san)
        emu = self.running.get(key)
        if emu is None or not emu.running:
            spec = table.board(name)
            require_tools(*spec.tools)
            make(name, env_args=("SAN=1",) if san else ())
            emu = self.running[key] = start_board(name, spec.image_path(san))
        return emu

    def stop_all(self) -> None:
        for emu in self.running.values():
            emu.stop()
        self.running.clear()


def golden_model(name: str = SMALL) -> bytes:
    return (GOLDEN / f"{name}.erbp").read_bytes()


@pytest.fixture(scope="module")
def host_board(emulators):
    """The sanitizer build of the host firmware (shared with the conformance suite)."""
    emu = emulators("host", san=True)
    yield emu
    assert emu.running, "the sanitizer build of the firmware died (see the test output)"


@pytest.fixture
def b(host_board):
    """A client of the host board, HELLO done."""
    from erbp.boards.client import Board

    with Board(host_board.url, timeout=2, retries=3) as board:
        board.hello()
        yield board


def pc_results(model: bytes, x: np.ndarray, y: np.ndarray | None, mode: str, first_index: int):
    """What the PC's C engine computes for the same samples: (lines, model bytes afterwards)."""
    from erbp.engines.c import CNetwork

    net = CNetwork.loads(model)
    out = []
    for i in range(len(x)):
        r = net.run_sample(x[i], int(y[i]) if mode == "train" else -1, mode, first_index + i)
        out.append({"prediction": int(r.prediction), "counts": [int(c) for c in r.counts],
                    "events": int(r.events), "ticks": int(r.ticks)})
    return out, net.dumps()
