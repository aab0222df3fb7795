"""One adapter per engine: how the conformance suite loads a model file into an engine, runs a
sample on it, and reads back what the engine exposes.

An adapter is a subclass of :class:`Adapter` added to :data:`ADAPTERS` (boards come from the board
table, firmware/boards/boards.toml, by themselves). It implements

* ``start(request)``: once per session (start a process, boot a board; ``request`` gives the
  session fixtures, e.g. ``request.getfixturevalue("emulators")``), fail with the install step if
  a tool is missing;
* ``load(model) -> bytes | None``: load a model file; the model file the engine writes back (None
  if it cannot say);
* ``create(cfg, seed) -> bytes | None``: make the initial network itself, returns its model file
  (leave the default, None, if the engine cannot);
* ``run(sample) -> Outcome``: run one sample; report the result fields it knows (plain data, see
  ``local.result_dict``), and the full state: every tick's record (``ticks``) or the record after
  the sample (``state``), and the model file after it when it can;
* ``examples(n)``: how many random networks it runs when the hypothesis profile asks for n.

An engine that only infers (``inference_only``: a read-only network, whose model is fixed when it
is loaded - in flash on a board) runs each golden case's inference samples on the model file in
effect before them, and random networks' samples as inference on their initial model.

Adapters pass configurations, records and results through without naming a configuration field,
a state variable or a result field: what to compare comes from the reference.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from erbp.boards import table
from erbp.reference import NetConfig, modelfile

from conformance import cworker
from conformance.local import TickEngine, record, result_dict
from conformance.strategies import Sample


@dataclass
class Outcome:
    """What an engine reports for one sample: ``result`` {field: value}; ``ticks`` (ticks, words)
    records or ``state`` (words,) the record after the last tick; ``model`` the model file after
    the sample (None where the engine does not expose it)."""

    result: dict[str, Any]
    ticks: np.ndarray | None = None
    state: np.ndarray | None = None
    model: bytes | None = None


class Adapter:
    """An engine as the suite sees it (the module docstring says what each method does)."""

    name = "?"
    #: a read-only engine: it runs inference only, on the model file it was loaded with
    inference_only = False

    def start(self, request: pytest.FixtureRequest) -> None:
        pass

    def load(self, model: bytes) -> bytes | None:
        raise NotImplementedError

    def create(self, cfg: NetConfig, seed: int) -> bytes | None:
        return None

    def run(self, s: Sample) -> Outcome:
        raise NotImplementedError

    def examples(self, n: int) -> int:
        return n

    def detach(self) -> None:
        """After each test: let go of what other tests may need (a board's one serial link)."""

    def close(self) -> None:
        """At the end of the session."""


# --- in this process ----------------------------------------------------------------------------
class InProcess(Adapter):
    """An engine class with run_sample(on_tick=) in this process: the full state every tick."""

    def __init__(self, name: str, cls_path: str, loads: str | None = None, examples: int = 0,
                 inference_only: bool = False):
        self.name, self.cls_path, self.loads_path, self.min_examples = \
            name, cls_path, loads, examples
        self.inference_only = inference_only

    def start(self, request):
        import importlib

        def get(path):  # module.attr[.attr...]
            parts = path.split(".")
            for i in range(len(parts) - 1, 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                except ImportError:
                    continue
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
                return obj
            raise ImportError(path)

        self.eng = TickEngine(get(self.cls_path), get(self.loads_path) if self.loads_path else None)

    def load(self, model):
        return self.eng.load(model)

    def create(self, cfg, seed):
        return self.eng.create(cfg.to_words(), seed)

    def run(self, s):
        res, ticks, model = self.eng.run(s.mode, s.label, s.index, s.pixels)
        return Outcome(res, ticks=ticks, model=model)

    def examples(self, n):
        return max(n, self.min_examples)


# --- a build of the C binding in a worker process ----------------------------------------------
class CWorker(Adapter):
    """A build of the C binding (tests/cport_builds.py) in a process of its own (cworker.py)."""

    def __init__(self, build: str, x86_clones: int | None = None):
        self.name, self.build, self.x86_clones = f"c-{build}", build, x86_clones

    def start(self, request):
        env = request.getfixturevalue("cport_builds")(self.build)
        self.proc = subprocess.Popen([sys.executable, cworker.__file__], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        info = self._answer()
        if self.x86_clones is not None:
            assert info["x86_clones"] == self.x86_clones, f"{self.name}: {info}"

    def _answer(self) -> Any:
        answer = cworker.receive(self.proc.stdout)
        if answer is None:
            self.proc.wait(timeout=10)
            pytest.fail(f"{self.name} worker died:\n{self.proc.stderr.read().decode()[-4000:]}")
        status, value = answer
        if status != "ok":
            raise AssertionError(f"{self.name} worker: {value}")
        return value

    def _call(self, *req: Any) -> Any:
        try:
            cworker.send(self.proc.stdin, req)
        except BrokenPipeError:
            pass  # _answer reports the worker's death and its stderr
        return self._answer()

    def load(self, model):
        return self._call("load", model)

    def create(self, cfg, seed):
        return self._call("create", cfg.to_words(), seed)

    def run(self, s):
        res, ticks, model = self._call("run", s.mode, s.label, s.index, s.pixels)
        return Outcome(res, ticks=ticks, model=model)

    def examples(self, n):
        return max(n, 60)

    def close(self):
        proc = getattr(self, "proc", None)
        if proc is None:
            return
        try:
            cworker.send(proc.stdin, ("quit",))
            proc.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()
        assert proc.returncode == 0, f"{self.name} worker exited with {proc.returncode}: {err}"


# --- MicroPython (unix port) ----------------------------------------------------------------------
class MicroPython(Adapter):
    """erbp_mp in a unix-port micropython process: the full state every tick. ``mpy``: the
    module precompiled by mpy-cross instead of the .py sources."""

    def __init__(self, backend: str, mpy: bool = False):
        self.name = f"mp-{backend}" + ("-mpy" if mpy else "")
        self.backend, self.mpy = backend, mpy

    def start(self, request):
        from erbp import micropython_tools as mpt
        from erbp.engines.micropython import MicroPythonEngine

        try:
            mpt.find_micropython()
            module_path = None
            if self.mpy:
                mpt.find_mpy_cross()
                module_path = request.getfixturevalue("tmp_path_factory").mktemp("mpy")
                mpt.build_mpy(module_path, "host", driver=True)
        except mpt.ToolMissing as e:
            pytest.fail(str(e))
        first = (Path(__file__).parents[1] / "golden" / "erbp_small.erbp").read_bytes()
        self.eng = MicroPythonEngine(first, backend=self.backend, module_path=module_path)
        assert self.eng.backend == self.backend
        if self.mpy:
            assert self.eng.info["module"].endswith(".mpy"), self.eng.info
            if self.backend == "viper":
                assert self.eng.info["viper_module"].endswith(".mpy"), self.eng.info

    def load(self, model):
        self.eng.reload(model)
        return self.eng.dumps()

    def create(self, cfg, seed):
        self.eng.recreate(cfg, seed)
        return self.eng.dumps()

    def run(self, s):
        r, rec = self.eng.run_sample_records(s.pixels, s.label, s.mode, s.index)
        return Outcome(result_dict(r, self.eng.samples_seen), ticks=rec.astype(np.int64),
                       model=self.eng.dumps())

    def close(self):
        if hasattr(self, "eng"):
            self.eng.close()


# --- boards (QEMU, the host build of the firmware) ------------------------------------------------
class BoardAdapter(Adapter):
    """A board of the table over its serial link (one boot per session: the `emulators`
    fixture). The protocol exposes the result of a sample, the model file (MODEL_READ) and the
    state image (STATE_READ): the record after a sample is the loaded model's weights and G
    followed by the state image."""

    def __init__(self, board: str):
        self.name, self.board_name = board, board

    board = None

    def start(self, request):
        spec = table.board(self.board_name)
        self.emulator = request.getfixturevalue("emulators")(self.board_name,
                                                             san=spec.kind == "host")

    def _link(self):
        from erbp.boards.client import Board

        if self.board is None:
            assert self.emulator.running, f"{self.name}: the emulator has stopped"
            self.board = Board(self.emulator.url, timeout=5)
            assert self.board.hello().board == self.board_name
        return self.board

    def load(self, model):
        b = self._link()
        b.deploy(model)
        return b.read_model()

    def run(self, s):
        b = self._link()
        r = b.run(s.index, s.mode, s.label, s.pixels)
        model = b.read_model()
        state = np.array(b.read_state(), np.int64)
        # the model's part of a record (weights, G) is what a freshly loaded network holds
        loaded = record(modelfile.loads(model).snapshot())
        rec = np.concatenate([loaded[:loaded.size - state.size], state])
        return Outcome(result_dict(r), state=rec, model=model)

    def examples(self, n):
        return max(2, n // 3)

    def detach(self):
        if self.board is not None:
            self.board.close()
            self.board = None

    close = detach


class RomBoardAdapter(BoardAdapter):
    """A board's read-only build (the model in flash, inference only: ``make NAME-rom
    ROM_MODEL=m.erbp``, or ``make NAME`` on a rom-only board): every model file it is given is
    built into an image of its own (once per session) and booted; the protocol exposes the same
    as on a board that learns."""

    inference_only = True

    def __init__(self, board: str):
        super().__init__(board)
        self.name = table.board(board).target(rom=True)
        self.emulator, self.loaded = None, None

    def start(self, request):
        self.spec = table.board(self.board_name)
        self.root = request.getfixturevalue("tmp_path_factory").mktemp(f"{self.name}-images")

    def load(self, model):
        from erbp.boards.emulators import start_board
        from firmware_support import make, require_tools

        if model != self.loaded:
            self.close()
            out = self.root / hashlib.sha256(model).hexdigest()[:16]
            if not out.exists():
                require_tools(*self.spec.tools)
                out.mkdir()
                (out / "model.erbp").write_bytes(model)
                make(self.spec.target(rom=True),
                     env_args=(f"BUILD={out}", f"ROM_MODEL={out / 'model.erbp'}",
                               f"ERBP={Path(sys.executable).with_name('erbp')}"))
            self.emulator = start_board(self.board_name,
                                        self.spec.image_path(rom=True, build_dir=out))
            self.loaded = model
        b = self._link()
        assert b.hello().model_read_only, f"{self.name}: not a read-only build"
        return b.read_model()

    def examples(self, n):
        return max(2, n // 6)  # an image built per network

    def close(self):
        self.detach()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator, self.loaded = None, None


def _adapters() -> list[Adapter]:
    out: list[Adapter] = [
        InProcess("reference", "erbp.reference.Network", "erbp.reference.modelfile.loads"),
        InProcess("c", "erbp.engines.c.CNetwork", examples=60),
        InProcess("c-rom", "erbp.engines.c.CNetwork", "erbp.engines.c.CNetwork.loads_rom",
                  examples=60, inference_only=True),
        CWorker("portable", x86_clones=0), CWorker("scalar"), CWorker("asan"),
        MicroPython("viper"), MicroPython("plain"),
        MicroPython("viper", mpy=True), MicroPython("plain", mpy=True),
    ]
    # every board's first build; the read-only build too of the boards whose ci lists rom
    out += [BoardAdapter(b.name) if "ram" in b.builds else RomBoardAdapter(b.name)
            for b in table.boards("conformance")]
    return out + [RomBoardAdapter(b.name) for b in table.boards("rom") if "ram" in b.builds]


#: Every engine of the project, by adapter name. The reference is the truth of random networks.
ADAPTERS: dict[str, Adapter] = {a.name: a for a in _adapters()}
