"""Emulated boards: start and stop QEMU (or the host build) running the erbp firmware.

    with start_board("mps2-an386") as emu:          # builds nothing: give an image or make it first
        with Board(emu.url) as b: ...

Every board fact (QEMU binary, machine and arguments, image) comes from the board table,
firmware/boards/boards.toml (:mod:`erbp.boards.table`). QEMU runs with the firmware's serial link
on ``-serial tcp:127.0.0.1:PORT,server=on,wait=on`` (the guest starts when the first client
connects, so no byte is lost), a free port chosen here, and ``-icount shift=0`` by default on the
boards whose table entry allows it: one guest instruction = 1 ns of virtual time, so the cycle
counter the firmware reports counts instructions deterministically (1e9 / cycles_hz instructions
per counter tick). A QMP socket lets :meth:`Emulator.system_reset` press the reset button.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import ErbpError
from . import table
from .table import FIRMWARE, BoardSpec, BoardTableError


class _Boards(Mapping[str, BoardSpec]):
    """The boards of the board table (firmware/boards/boards.toml) by name, read when first
    used (importing erbp.boards needs no table)."""

    def __getitem__(self, name: str) -> BoardSpec:
        try:
            return table.board(name)
        except BoardTableError as e:
            raise KeyError(name) from e

    def __iter__(self) -> Iterator[str]:
        return iter(table.names())

    def __len__(self) -> int:
        return len(table.names())


BOARDS: Mapping[str, BoardSpec] = _Boards()


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the parent dies, so no emulator outlives its
    owner (a killed test run, a closed terminal)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EmulatorError(ErbpError, RuntimeError):
    """The emulator or a tool it needs is missing, or it did not start."""


def spec(board: str) -> BoardSpec:
    """A board of the table (EmulatorError naming the known ones if there is none)."""
    try:
        return table.board(board)
    except BoardTableError as e:
        raise EmulatorError(str(e)) from None


def image_path(board: str, *, san: bool = False) -> Path:
    """Where `make -C firmware` puts a board's image (the board table's ``image``)."""
    return spec(board).image_path(san)


def build(boards: list[str] | None = None, *, san: bool = False) -> None:
    """Build firmware images with make, one target per board or architecture (default: every
    board of the table); quietly, raises with the compiler output on failure."""
    targets = boards or table.names()
    specs = [b for b in table.boards() if b.name in targets or b.arch.name in targets]
    need = ["make", *dict.fromkeys(b.arch.cc for b in specs)]
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise EmulatorError(f"{', '.join(missing)} not found: run `make setup` (installs the "
                            f"cross compilers and QEMU)")
    cmd = ["make", "-s", "-C", str(FIRMWARE), *targets] + (["SAN=1"] if san else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EmulatorError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(board: str, image: Path, port: int, *, icount: bool = True,
                 qmp: str | None = None) -> list[str]:
    """The QEMU command line that runs a board's firmware with its UART on a TCP port."""
    b = spec(board)
    if b.kind != "qemu":
        raise EmulatorError(f"{board} is not an emulated board")
    cmd = [b.arch.qemu, "-M", b.qemu_machine, *b.qemu_args, "-nographic", "-monitor", "none",
           "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on", "-kernel", str(image)]
    if icount and b.icount:
        cmd += ["-icount", "shift=0"]
    if qmp:
        cmd += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    return cmd


class Emulator:
    """A running emulated board (QEMU process, or the host build on a pty); ``url`` for Board()."""

    def __init__(self, board: str, proc: subprocess.Popen, url: str, qmp: str | None,
                 tmpdir: str | None, command: list[str]):
        self.board, self.proc, self.url, self.qmp_path = board, proc, url, qmp
        self._tmpdir, self.command = tmpdir, command

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Stop the emulator (terminate, then kill) and remove its temporary files."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def system_reset(self) -> None:
        """Press the reset button (QMP system_reset): the firmware reboots, the model is gone."""
        if not self.qmp_path:
            raise EmulatorError("this emulator has no QMP socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.qmp_path)
            f = s.makefile("rw")
            f.readline()  # greeting
            for cmd in ("qmp_capabilities", "system_reset"):
                f.write(json.dumps({"execute": cmd}) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break


def start_board(board: str, image: Path | None = None, *, icount: bool = True,
                port: int | None = None, qmp: bool = True) -> Emulator:
    """Start an emulated board running ``image`` (default: the image `make -C firmware` builds)."""
    b = spec(board)
    image = Path(image) if image else b.image_path()
    if not image.exists():
        raise EmulatorError(f"no firmware image {image}: build it with `make -C firmware` (needs "
                            f"`make setup`)")
    if b.kind == "host":
        proc = subprocess.Popen([str(image)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, preexec_fn=_die_with_parent)
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PTY":
            proc.kill()
            raise EmulatorError(f"{image} did not print its pty: {line}")
        return Emulator(board, proc, line[1], None, None, [str(image)])
    qemu = b.arch.qemu
    if shutil.which(qemu) is None:
        raise EmulatorError(f"{qemu} not found: run `make setup` (installs QEMU)")
    tmpdir = tempfile.mkdtemp(prefix="erbp-qemu-")
    qmp_path = os.path.join(tmpdir, "qmp.sock") if qmp else None
    for _ in range(5):
        p = port or free_port()
        cmd = qemu_command(board, image, p, icount=icount, qmp=qmp_path)
        log = open(os.path.join(tmpdir, "qemu.log"), "w+")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                # QEMU listens once the port is bound: probe without connecting (a connection
                # would start the guest and be the one client the chardev accepts).
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    return Emulator(board, proc, f"socket://127.0.0.1:{p}", qmp_path, tmpdir, cmd)
            time.sleep(0.05)
        err = Path(tmpdir, "qemu.log").read_text(errors="replace")
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if port or "Address already in use" not in err:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise EmulatorError(f"QEMU did not start: {' '.join(cmd)}\n{err}")
    shutil.rmtree(tmpdir, ignore_errors=True)
    raise EmulatorError("QEMU could not get a free TCP port")
