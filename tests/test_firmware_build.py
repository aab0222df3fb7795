"""The firmware builds warning-free (-std=c99 -Wall -Wextra -Wconversion -Wshadow -pedantic) for
every board of the board table (each of its builds: the network in RAM, the model in flash) and
the host, and fits: under 32 KB of flash, and on every board its RAM (data, bss, stack) within the
table's ram_bytes, with a 784-100-10 network training in the arena of each board that learns."""
from __future__ import annotations

import re
import subprocess

import pytest

from erbp.boards import table
from firmware_support import FIRMWARE, make, require_tools

WARN = ["-std=c99", "-Wall", "-Wextra", "-Wconversion", "-Wshadow", "-pedantic", "-Werror"]
SOURCES = sorted(str(p) for p in (FIRMWARE / "src").glob("*.c"))
COMMON = [str(p) for p in sorted((FIRMWARE / "boards/common").glob("*.c"))]
QEMU_BOARDS = [b.name for b in table.boards() if b.kind == "qemu"]
BUILDS = [(b.name, build) for b in table.boards() if b.kind == "qemu" for build in b.builds]


def _model_header(tmp_path) -> list[str]:
    """The include flag of a read-only build's fw_model.h (a golden model, exported)."""
    from erbp.export import export

    export(FIRMWARE.parent / "tests/golden/erbp_small.erbp", "c", tmp_path / "fw_model.h",
           name="fw_model")
    return ["-I", str(tmp_path)]


@pytest.mark.parametrize("board,build", BUILDS)
def test_board_sources_compile_without_warnings(board, build, tmp_path):
    """Every build of every board: the network in RAM (ram), the model in flash (rom)."""
    spec = table.board(board)
    require_tools(spec.arch.cc)
    files = SOURCES + COMMON + [str(FIRMWARE / f) for f in spec.sources if f.endswith(".c")]
    r = subprocess.run([spec.arch.cc, *WARN, "-O2", "-ffreestanding", "-fsyntax-only",
                        "-I", str(FIRMWARE / "src"), "-I", str(FIRMWARE.parent / "cport/include"),
                        *(_model_header(tmp_path) if build == "rom" else []),
                        *spec.cflags(build), *files], capture_output=True, text=True,
                       cwd=FIRMWARE)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("rom", [False, True])
def test_host_sources_compile_without_warnings(rom, tmp_path):
    files = SOURCES + [str(FIRMWARE / "boards/host/board_host.c"),
                       str(FIRMWARE / "fuzz/fuzz_proto.c")]
    build = ["-DFW_ROM_MODEL=\"fw_model.h\"", *_model_header(tmp_path)] if rom else \
        ["-DFW_ARENA_BYTES=65536"]
    for f in files:
        r = subprocess.run(["gcc", *WARN, "-fsyntax-only", "-DFW_HOST", *build,
                            "-I", str(FIRMWARE / "src"), "-I", str(FIRMWARE.parent / "cport/include"),
                            f], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def _sections(spec: table.BoardSpec) -> dict[str, int]:
    out = subprocess.run([spec.arch.size, "-A", str(spec.image_path())], capture_output=True,
                         text=True, check=True).stdout
    return {m[0]: int(m[1]) for m in re.findall(r"^\.(\w+)\s+(\d+)", out, re.M)}


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_flash_and_ram_budgets(board):
    from erbp.engines.c import required_bytes
    from erbp.reference import NetConfig

    spec = table.board(board)
    make(board)
    s = _sections(spec)
    assert s["text"] + s.get("rodata", 0) + s["data"] < 32 * 1024, f"{board}: over 32 KB of code"
    ram = s["data"] + s.get("sdata", 0) + s["bss"] + s.get("noinit", 0) + s["stack"]
    assert ram <= spec.ram_bytes, f"{board} uses {ram} bytes of its {spec.ram_bytes} bytes of RAM"
    if "ram" not in spec.builds:
        return  # the model in flash (its budgets: tests/test_firmware_rom.py)
    assert s["bss"] >= spec.arena_bytes  # the arena is static: the table's size is what it got
    for variant in ("erbp", "perbp"):
        assert required_bytes(NetConfig.default("784-100-10", variant)) <= spec.arena_bytes
