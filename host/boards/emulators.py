"""Emulated boards: start and stop QEMU (or the host build) running the erbp firmware.

    with start_board("mps2-an386") as emu:          # builds nothing: give an image or make it first
        with Board(emu.url) as b: ...

QEMU runs with the firmware's serial link on ``-serial tcp:127.0.0.1:PORT,server=on,wait=on`` (the
guest starts when the first client connects, so no byte is lost), a free port chosen here, and
``-icount shift=0`` by default: one guest instruction = 1 ns of virtual time, so the cycle counter
the firmware reports counts instructions deterministically (1e9 / cycles_hz instructions per
counter tick: 40 on mps2-an386). A QMP socket lets :meth:`Emulator.system_reset` press the reset
button.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ErbpError

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"


@dataclass(frozen=True)
class BoardSpec:
    name: str
    kind: str               # "qemu" or "host"
    machine: str = ""       # QEMU machine
    cpu: str = ""           # CPU core, for the docs
    ram: str = ""
    flash_hint: str = ""    # how to flash the real board
    description: str = ""
    qemu: str = "qemu-system-arm"
    qemu_args: tuple[str, ...] = ()


BOARDS: dict[str, BoardSpec] = {
    "mps2-an386": BoardSpec(
        "mps2-an386", "qemu", machine="mps2-an386", cpu="Cortex-M4 (25 MHz)", ram="4 MiB",
        flash_hint="copy build/mps2-an386/erbp-fw.bin to the MPS2 board's MB/ images folder "
                   "(images.txt) and power-cycle",
        description="Arm MPS2+ FPGA board with AN386 (Cortex-M4), CMSDK UART0"),
    "netduinoplus2": BoardSpec(
        "netduinoplus2", "qemu", machine="netduinoplus2", cpu="Cortex-M4 STM32F405RG",
        ram="128 KiB (+64 KiB CCM unused)",
        flash_hint="pyocd flash -t stm32f405rg build/netduinoplus2/erbp-fw.elf   or   openocd "
                   "-f interface/stlink.cfg -f target/stm32f4x.cfg -c 'program "
                   "build/netduinoplus2/erbp-fw.elf verify reset exit'",
        description="Netduino Plus 2 (STM32F405), USART1 on PA9/PA10 at 115200 8N1"),
    "riscv-virt": BoardSpec(
        "riscv-virt", "qemu", machine="virt", cpu="RV32IMAC (QEMU virt, machine mode)",
        ram="16 MiB used of 128 MiB", qemu="qemu-system-riscv32", qemu_args=("-bios", "none"),
        description="QEMU's RISC-V virt board, NS16550A UART0, minstret instruction counter"),
    "host": BoardSpec(
        "host", "host", cpu="this computer", ram="64 MiB arena",
        description="the firmware as a Linux process on a pseudo-terminal (tests, fuzzing)"),
}


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


def image_path(board: str, build_dir: Path | None = None) -> Path:
    """Where `make -C firmware` puts a board's image."""
    build = build_dir or FIRMWARE / "build"
    if board == "host":
        return build / "host" / "erbp-fw-host"
    return build / board / "erbp-fw.elf"


def build(boards: list[str] | None = None, *, san: bool = False) -> None:
    """Build firmware images with make (quietly; raises with the compiler output on failure)."""
    targets = boards or ["arm", "riscv", "host"]
    targets = ["host" if b == "host" else b for b in targets]
    need = ["make"] + (["arm-none-eabi-gcc"] if any(t not in ("host", "riscv", "riscv-virt")
                                                     for t in targets) else [])
    need += ["riscv64-unknown-elf-gcc"] if any(t.startswith("riscv") for t in targets) else []
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise EmulatorError(f"{', '.join(missing)} not found: run `make setup` (installs the Arm "
                            f"cross compiler and QEMU)")
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
    spec = BOARDS[board]
    if spec.kind != "qemu":
        raise EmulatorError(f"{board} is not an emulated board")
    cmd = [spec.qemu, "-M", spec.machine, *spec.qemu_args, "-nographic", "-monitor", "none",
           "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on", "-kernel", str(image)]
    if icount:
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
    if board not in BOARDS:
        raise EmulatorError(f"unknown board {board!r}; known: {', '.join(BOARDS)}")
    image = Path(image) if image else image_path(board)
    if not image.exists():
        raise EmulatorError(f"no firmware image {image}: build it with `make -C firmware` (needs "
                            f"`make setup`)")
    if BOARDS[board].kind == "host":
        proc = subprocess.Popen([str(image)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, preexec_fn=_die_with_parent)
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PTY":
            proc.kill()
            raise EmulatorError(f"{image} did not print its pty: {line}")
        return Emulator(board, proc, line[1], None, None, [str(image)])
    qemu = BOARDS[board].qemu
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
