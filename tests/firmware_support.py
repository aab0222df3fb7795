"""Shared pieces of the firmware tests (tests/test_firmware_*.py, tests/conformance): building the
images, emulated boards started once per session, the PC twin of a board run, and a
fault-injecting TCP proxy between the host and an emulated board. Which boards exist, and what
each needs, comes from the board table (firmware/boards/boards.toml, erbp.boards.table)."""
from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from erbp.boards import table

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


def make(*targets: str, env_args: tuple[str, ...] = ()) -> str:
    """Run make in firmware/ (targets: boards or architectures of the board table, host, ...);
    returns its output. Fails naming the missing compiler."""
    key = " ".join(targets + env_args)
    need = [b.arch.cc for b in table.boards() if b.name in targets or b.arch.name in targets]
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


class FaultyLink:
    """A TCP proxy that damages the byte stream in both directions (seeded, reproducible):
    each byte is corrupted, dropped or duplicated with the given probabilities. ``url`` is what
    the host opens; the proxy connects to ``upstream`` (host, port) on the first client."""

    def __init__(self, upstream: tuple[str, int], *, corrupt: float = 0.0, drop: float = 0.0,
                 dup: float = 0.0, seed: int = 1):
        self.upstream, self.p = upstream, (corrupt, drop, dup)
        # one generator per direction: the fault pattern does not depend on thread timing
        self.rngs = {"up": random.Random(seed), "down": random.Random(seed + 1)}
        self.lock = threading.Lock()
        self.stats = {"corrupted": 0, "dropped": 0, "duplicated": 0, "bytes": 0}
        self.enabled = True
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _mangle(self, data: bytes, direction: str) -> bytes:
        if not self.enabled:
            return data
        corrupt, drop, dup = self.p
        rng = self.rngs[direction]
        out = bytearray()
        with self.lock:
            for b in data:
                self.stats["bytes"] += 1
                r = rng.random()
                if r < corrupt:
                    out.append(b ^ (1 << rng.randrange(8)))
                    self.stats["corrupted"] += 1
                elif r < corrupt + drop:
                    self.stats["dropped"] += 1
                elif r < corrupt + drop + dup:
                    out += bytes((b, b))
                    self.stats["duplicated"] += 1
                else:
                    out.append(b)
        return bytes(out)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while not self._stop.is_set():
                data = src.recv(4096)
                if not data:
                    break
                dst.sendall(self._mangle(data, direction))
        except OSError:
            pass
        finally:
            self._stop.set()

    def _serve(self) -> None:
        try:
            client, _ = self.srv.accept()
        except OSError:
            return
        up = socket.create_connection(self.upstream)
        self._socks += [client, up]
        a = threading.Thread(target=self._pump, args=(client, up, "up"), daemon=True)
        b = threading.Thread(target=self._pump, args=(up, client, "down"), daemon=True)
        a.start()
        b.start()
        a.join()
        b.join()

    def close(self) -> None:
        self._stop.set()
        for s in [self.srv, *self._socks]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._thread.join(timeout=5)


def pc_results(model: bytes, x: np.ndarray, y: np.ndarray | None, mode: str, first_index: int):
    """What the PC's C engine computes for the same samples: (lines, model bytes afterwards)."""
    from erbp.engines.c import CNetwork

    net = CNetwork.loads(model)
    out = []
    for i in range(len(x)):
        r = net.run_sample(x[i], int(y[i]) if mode == "train" else -1, mode, first_index + i)
        out.append({"prediction": int(r.prediction), "counts": [int(c) for c in r.counts],
                    "events": int(r.events)})
    return out, net.dumps()
