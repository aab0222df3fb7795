"""Shared pieces of the firmware tests (tests/test_firmware_*.py): building the images, the PC
twin of a board run, and a fault-injecting TCP proxy between the host and an emulated board."""
from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
GOLDEN = ROOT / "tests" / "golden"
ARM_BOARDS = ["mps2-an386", "netduinoplus2"]

_built: set[str] = set()


def require_tools(*tools: str) -> None:
    """Fail (never skip) when a tool the firmware tests need is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: the firmware tests need the Arm cross "
                    f"compiler and QEMU; run `make setup`")


def make(*targets: str, env_args: tuple[str, ...] = ()) -> str:
    """Run make in firmware/ (once per target set per session); returns its output."""
    key = " ".join(targets + env_args)
    require_tools("make", *(["arm-none-eabi-gcc"] if any(t in ("arm", *ARM_BOARDS)
                                                         for t in targets) else []))
    r = subprocess.run(["make", "-C", str(FIRMWARE), *targets, *env_args], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.fail(f"make {key} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    _built.add(key)
    return r.stdout + r.stderr


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


def check_golden_vectors(board) -> None:
    """Load each golden model on the board, run its samples, and after every sample read the
    weights (MODEL_READ) and the state (STATE_READ) back: they must equal the record of the
    sample's last tick (tests/golden/README.md)."""
    import json

    from erbp.reference import modelfile

    for name in json.loads((GOLDEN / "index.json").read_text())["cases"]:
        meta = json.loads((GOLDEN / f"{name}.json").read_text())
        words = sum(int(np.prod(k["shape"])) for k in meta["keys"])
        recs = np.fromfile(GOLDEN / f"{name}.bin", dtype="<i4").reshape(-1, words)
        board.deploy((GOLDEN / f"{name}.erbp").read_bytes())
        end = trained = 0
        for s, res, ticks in zip(meta["samples"], meta["results"], meta["ticks"]):
            r = board.run(s["index"], s["mode"], s["label"], s["pixels"])
            assert [r.prediction, r.counts, r.events] == [res["prediction"], res["counts"],
                                                          res["events"]], name
            end += ticks
            trained += s["mode"] == "train"  # counted even though the index is explicit
            net = modelfile.loads(board.read_model())
            assert r.samples_seen == net.samples_seen == trained, name
            got = np.concatenate([a.ravel() for a in (*net.W, *net.G)]
                                 + [np.array(board.read_state(), dtype=np.int64)])
            assert got.shape == recs[end - 1].shape, name
            assert np.array_equal(got, recs[end - 1]), f"{name}: state differs after {s['index']}"


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
