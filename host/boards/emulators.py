"""Emulated boards: start and stop QEMU (or the host build) running the erbp firmware.

    with start_board("mps2-an386") as emu:          # builds the firmware image if needed
        with Board(emu.url) as b: ...

Images are built on demand with make (:func:`ensure_image`) from the firmware and cport sources:
a source checkout's, or the copies a wheel ships, staged in erbp's cache by :mod:`erbp.cport`.
``start_board(..., detach=True)`` leaves the emulator running after this process ends (``erbp
board start --detach``); :func:`stop_detached` stops it.

Every board fact (QEMU binary, machine and arguments, image) comes from the board table,
firmware/boards/boards.toml (:mod:`erbp.boards.table`). QEMU runs with the firmware's serial link
on ``-serial tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on`` (the guest starts when the first
client connects, so no byte is lost; no Nagle delay: a request's round trip 1 ms, not 48), a free
port chosen here, and ``-icount shift=0`` by default on the
boards whose table entry allows it: one guest instruction = 1 ns of virtual time, so the cycle
counter the firmware reports counts instructions deterministically (1e9 / cycles_hz instructions
per counter tick). A QMP socket lets :meth:`Emulator.system_reset` press the reset button.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import ErbpError
from ..fileio import read_json, user_cache_dir, write_json
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


def install_hint(specs: list[BoardSpec]) -> str:
    """How to get the tools of these boards: their Debian packages (the board table's)."""
    pkgs = " ".join(dict.fromkeys(p for b in specs for p in b.arch.debian.split()))
    return (f"install them with `sudo apt-get install {pkgs}` (Debian/Ubuntu; `make setup` does it "
            f"in a source checkout)" if pkgs else "run `make setup`")


def build(boards: list[str] | None = None, *, san: bool = False) -> None:
    """Build firmware images with make, one target per board or architecture (default: every
    board of the table); quietly, raises with the compiler output on failure."""
    targets = boards or table.names()
    specs = [b for b in table.boards() if b.name in targets or b.arch.name in targets]
    need = ["make", *dict.fromkeys(b.arch.cc for b in specs)]
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise EmulatorError(f"{', '.join(missing)} not found, needed to build the firmware of "
                            f"{', '.join(targets)}: {install_hint(specs)}")
    cmd = ["make", "-s", "-C", str(table.FIRMWARE), *targets] + (["SAN=1"] if san else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EmulatorError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")


def ensure_image(board: str, log=None) -> Path:
    """A board's image, built (or brought up to date) by make first when its compiler is here;
    an existing image is used as it is when the compiler is missing."""
    img = image_path(board)
    try:
        if log and not img.exists():
            log(f"building the firmware of {board} (make -C {table.FIRMWARE} {board})")
        build([board])
    except EmulatorError:
        if not img.exists():
            raise
    return img


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
           "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on", "-kernel", str(image)]
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

    def read_memory(self, address: int, n_words: int) -> list[int]:
        """n_words little-endian 32-bit words of the guest's physical memory from ``address``
        (QMP, the monitor's ``xp``): e.g. how deep the firmware's painted stack was used."""
        import re

        out = self._qmp("human-monitor-command",
                        {"command-line": f"xp /{int(n_words)}wx {int(address):#x}"})
        words = [int(w, 16) for line in out.get("return", "").splitlines()
                 for w in re.findall(r"0x([0-9a-fA-F]+)", line.partition(":")[2])]
        if len(words) != n_words:
            raise EmulatorError(f"read {len(words)} of {n_words} words at {address:#x}")
        return words

    def _qmp(self, command: str, arguments: dict | None = None) -> dict:
        if not self.qmp_path:
            raise EmulatorError("this emulator has no QMP socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.qmp_path)
            f = s.makefile("rw")
            f.readline()  # greeting
            reply: dict = {}
            for cmd, args in (("qmp_capabilities", None), (command, arguments)):
                msg = {"execute": cmd, **({"arguments": args} if args else {})}
                f.write(json.dumps(msg) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply

    def system_reset(self) -> None:
        """Press the reset button (QMP system_reset): the firmware reboots, the model is gone."""
        self._qmp("system_reset")


def start_board(board: str, image: Path | None = None, *, icount: bool = True,
                port: int | None = None, qmp: bool = True, detach: bool = False,
                log=None) -> Emulator:
    """Start an emulated board running ``image`` (default: the board's image, built on demand by
    :func:`ensure_image`). ``detach``: the emulator survives this process (its own session, no
    parent-death signal) and is recorded for :func:`stop_detached`; ``log(message)`` hears about
    a build."""
    b = spec(board)
    if detach and b.kind != "qemu":
        raise EmulatorError(f"{board} runs in the foreground only (detach is for QEMU boards)")
    if b.kind == "qemu" and shutil.which(b.arch.qemu) is None:
        raise EmulatorError(f"{b.arch.qemu} not found: {install_hint([b])}")
    image = Path(image) if image else ensure_image(board, log)
    if not image.exists():
        raise EmulatorError(f"no firmware image {image}")
    if b.kind == "host":
        proc = subprocess.Popen([str(image)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, preexec_fn=_die_with_parent)
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PTY":
            proc.kill()
            raise EmulatorError(f"{image} did not print its pty: {line}")
        return Emulator(board, proc, line[1], None, None, [str(image)])
    tmpdir = tempfile.mkdtemp(prefix="erbp-qemu-")
    qmp_path = os.path.join(tmpdir, "qmp.sock") if qmp else None
    for _ in range(5):
        p = port or free_port()
        cmd = qemu_command(board, image, p, icount=icount, qmp=qmp_path)
        qlog = open(os.path.join(tmpdir, "qemu.log"), "w+")
        if detach:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog, stderr=qlog,
                                    start_new_session=True)
        else:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog, stderr=qlog,
                                    preexec_fn=_die_with_parent)
        qlog.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                # QEMU listens once the port is bound: probe without connecting (a connection
                # would start the guest and be the one client the chardev accepts).
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    emu = Emulator(board, proc, f"socket://127.0.0.1:{p}", qmp_path, tmpdir, cmd)
                    if detach:
                        _record(emu)
                    return emu
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


# --- detached emulators (erbp board start --detach / erbp board stop) ----------------------------
def _records_dir() -> Path:
    return user_cache_dir() / "boards"


def _record(emu: Emulator) -> None:
    port = emu.url.rsplit(":", 1)[1]
    write_json(_records_dir() / f"{port}.json", {
        "board": emu.board, "url": emu.url, "pid": emu.proc.pid, "tmpdir": emu._tmpdir,
        "command": emu.command, "started": time.time()}, indent=1, parents=True)


def _alive(rec: dict) -> bool:
    """The recorded process still runs and is the recorded emulator (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{rec['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].decode(errors="replace") == rec["command"][0]


def detached_boards() -> list[dict]:
    """The emulators started detached that still run (records of dead ones are removed):
    dicts with board, url, pid, command."""
    out = []
    for f in sorted(_records_dir().glob("*.json")) if _records_dir().is_dir() else []:
        try:
            rec = read_json(f, max_bytes=1 << 16)  # a record is ~300 bytes
        except (OSError, ValueError):
            continue
        if _alive(rec):
            out.append(rec)
        else:
            f.unlink(missing_ok=True)
            if rec.get("tmpdir"):
                shutil.rmtree(rec["tmpdir"], ignore_errors=True)
    return out


def stop_detached(url: str | None = None) -> list[dict]:
    """Stop the detached emulator at ``url`` (every one when None); returns what was stopped.
    Raises EmulatorError when no detached emulator runs at ``url``."""
    recs = [r for r in detached_boards() if url is None or r["url"] == url]
    if url is not None and not recs:
        raise EmulatorError(f"no emulator started by `erbp board start --detach` runs at {url}")
    for rec in recs:
        try:
            os.kill(rec["pid"], signal.SIGTERM)
            for _ in range(100):
                if not _alive(rec):
                    break
                time.sleep(0.05)
            else:
                os.kill(rec["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        (_records_dir() / f"{rec['url'].rsplit(':', 1)[1]}.json").unlink(missing_ok=True)
        if rec.get("tmpdir"):
            shutil.rmtree(rec["tmpdir"], ignore_errors=True)
    return recs
