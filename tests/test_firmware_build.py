"""The firmware builds warning-free (-std=c99 -Wall -Wextra -Wconversion -Wshadow -pedantic) for
both Arm boards and the host, and fits: under 32 KB of flash, and on the 128 KB STM32F405 a
784-100-10 network trains in the arena with the firmware's buffers and stack beside it."""
from __future__ import annotations

import re
import subprocess

import pytest

from firmware_support import FIRMWARE, make, require_tools

WARN = ["-std=c99", "-Wall", "-Wextra", "-Wconversion", "-Wshadow", "-pedantic", "-Werror"]
SOURCES = sorted(str(p) for p in (FIRMWARE / "src").glob("*.c"))
COMMON = [str(FIRMWARE / "boards/common/libc_min.c"), str(FIRMWARE / "boards/common/rxring.c")]
BOARDS = {"mps2-an386": "boards/mps2-an386/board.c", "netduinoplus2": "boards/netduinoplus2/board.c"}


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_arm_sources_compile_without_warnings(board):
    require_tools("arm-none-eabi-gcc")
    files = SOURCES + COMMON + [str(FIRMWARE / BOARDS[board]),
                                str(FIRMWARE / "boards/cortex-m/startup.c")]
    r = subprocess.run(["arm-none-eabi-gcc", *WARN, "-mcpu=cortex-m4", "-mthumb", "-O2",
                        "-ffreestanding", "-fsyntax-only", "-I", str(FIRMWARE / "src"),
                        "-I", str(FIRMWARE / "boards/cortex-m"),
                        "-I", str(FIRMWARE.parent / "cport/include"), "-DFW_ARENA_BYTES=65536",
                        *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_riscv_sources_compile_without_warnings():
    require_tools("riscv64-unknown-elf-gcc")
    files = SOURCES + COMMON + [str(FIRMWARE / "boards/riscv-virt/board.c")]
    r = subprocess.run(["riscv64-unknown-elf-gcc", *WARN, "-march=rv32imac_zicsr", "-mabi=ilp32",
                        "-O2", "-ffreestanding", "-fsyntax-only", "-I", str(FIRMWARE / "src"),
                        "-I", str(FIRMWARE / "boards/riscv-virt"),
                        "-I", str(FIRMWARE.parent / "cport/include"), "-DFW_ARENA_BYTES=65536",
                        *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_host_sources_compile_without_warnings():
    files = SOURCES + [str(FIRMWARE / "boards/host/board_host.c"),
                       str(FIRMWARE / "fuzz/fuzz_proto.c")]
    for f in files:
        r = subprocess.run(["gcc", *WARN, "-fsyntax-only", "-DFW_HOST", "-DFW_ARENA_BYTES=65536",
                            "-I", str(FIRMWARE / "src"), "-I", str(FIRMWARE.parent / "cport/include"),
                            f], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def _sections(board: str) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(FIRMWARE / f"build/{board}/erbp-fw.elf")],
                         capture_output=True, text=True, check=True).stdout
    return {m[0]: int(m[1]) for m in re.findall(r"^\.(\w+)\s+(\d+)", out, re.M)}


def test_flash_and_ram_budgets():
    from erbp.engines.c import required_bytes
    from erbp.reference import NetConfig

    make("arm")
    for board in BOARDS:
        s = _sections(board)
        assert s["text"] + s["data"] < 32 * 1024, f"{board}: firmware over 32 KB of flash"
    s = _sections("netduinoplus2")
    ram = s["data"] + s["bss"] + s["noinit"] + s["stack"]
    assert ram <= 128 * 1024, f"netduinoplus2 uses {ram} bytes of its 128 KiB SRAM"
    arena = int(re.search(r"ARENA_netduinoplus2 := (\d+)", (FIRMWARE / "Makefile").read_text())[1])
    for variant in ("erbp", "perbp"):
        assert required_bytes(NetConfig.default("784-100-10", variant)) <= arena
