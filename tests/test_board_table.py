"""The board table (firmware/boards/boards.toml) is the one place of every board fact: it loads
into complete, consistent entries; the Makefile's variables are generated from it; and no code
file of the project writes a board fact again (a QEMU machine, a compiler or QEMU binary, a core
flag, a UART address, a memory or arena size, an image path, or a hand list of boards)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from erbp.boards import table
from erbp.boards.table import BoardTableError

from conftest import ROOT

#: Files that may name a fact of a board, and why.
EXCEPTIONS = {
    "Makefile": "Debian package names of `make setup` (qemu-system-arm is also the package)",
    "cport/Makefile": "cport's own freestanding builds (Cortex-M0/M4, RV32), not a board",
    "benchmarks/bench_engines.py": "names the compilers of cport's code-size table",
    "firmware/micropython/qemu_microbit_check.py": "the micro:bit MicroPython image, not a board",
    "tests/test_micropython_32bit.py": "the micro:bit MicroPython image, not a board",
    "tests/test_board_table.py": "the check's own examples",
}
CODE = (".py", ".c", ".h", ".S", ".ld", ".mk", ".toml", ".sh", ".cfg", "Makefile")


def code_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / f for f in sorted(set(out)) if f.endswith(CODE) and (ROOT / f).exists()
            and f != str(table.TABLE.relative_to(ROOT)) and f not in EXCEPTIONS]


def size_literals(text: str) -> set[int]:
    """Sizes written as products of 1024 (128 * 1024, 4u * 1024u * 1024u) or with K/M suffixes
    (linker scripts: 4M, 128K)."""
    out = set()
    for m in re.finditer(r"\b(\d+)u?\s*\*\s*1024u?(\s*\*\s*1024u?)?", text):
        out.add(int(m[1]) << (20 if m[2] else 10))
    for m in re.finditer(r"\b(\d+)([KM])\b", text):
        out.add(int(m[1]) << (20 if m[2] == "M" else 10))
    return out


def facts() -> list[tuple[str, re.Pattern]]:
    """(what, pattern) for every board fact that must not appear outside the table."""
    out: list[tuple[str, re.Pattern]] = []
    for b in table.boards():
        if b.kind == "qemu":
            out.append((f"{b.name}'s QEMU machine",
                        re.compile(rf"""(-M["']?,?\s*["']?|machine\s*=\s*["']){re.escape(b.qemu_machine)}\b""")))
            for tool in (b.arch.cc, b.arch.size, b.arch.objcopy, b.arch.qemu):
                if tool:
                    out.append((f"{b.arch.name}'s tool {tool}", re.compile(rf"\b{re.escape(tool)}\b")))
            for flag in b.cpu_flags:
                out.append((f"{b.name}'s core flag", re.compile(re.escape(flag) + r"\b")))
            out.append((f"{b.name}'s UART address",
                        re.compile(rf"\b0x0*{b.uart_base:x}u?\b", re.I)))
        if b.arena_bytes:
            out.append((f"{b.name}'s arena size",
                        re.compile(rf"(?<![\w.]){b.arena_bytes}(?![\w.])")))
        for img in (b.image, b.san_image, b.rom_image):
            if img:
                out.append((f"{b.name}'s image path", re.compile(re.escape(img))))
    return out


def test_the_table_loads_complete_entries():
    boards = table.boards()
    assert boards and len({b.name for b in boards}) == len(boards)
    ci = {"conformance", "mnist", "digits", "faults", "protocol", "mlp", "rom", "dsp"}
    for b in boards:
        assert b.kind in ("qemu", "host")
        assert set(b.ci) <= ci, f"{b.name}: unknown ci entries {set(b.ci) - ci}"
        assert "conformance" in b.ci, f"{b.name}: every board runs the conformance suite"
        assert b.description and b.cpu and b.builds
        # a board that learns has an arena; one that only runs a model from flash has none
        assert ("ram" in b.builds) == (b.arena_bytes > 0), b.name
        if "rom" in b.ci:
            assert "rom" in b.builds, f"{b.name}: ci rom without a rom build"
        if "dsp" in b.ci:
            assert b.dsp and "ram" in b.builds, f"{b.name}: ci dsp needs a DSP core that learns"
        if {"mnist", "digits", "faults"} & set(b.ci):
            assert "ram" in b.builds, f"{b.name}: training on the board needs a ram build"
        for f in b.sources + ((b.linker_script,) if b.linker_script else ()):
            assert (table.FIRMWARE / f).exists(), f"{b.name}: no {f}"
        if b.kind == "qemu":
            assert b.arch.qemu and b.arch.cc and b.uart_base and b.counter_hz
            assert b.ram_bytes and b.stack_bytes and b.linker_script
            assert b.arena_bytes < b.ram_bytes, f"{b.name}: the arena does not fit its RAM"
            assert b.image.startswith(f"build/{b.name}/")
        if set(b.builds) == {"ram", "rom"}:
            assert b.rom_image.startswith(f"build/{b.name}-rom/"), b.name


def test_a_malformed_table_is_refused_with_the_reason(tmp_path):
    good = table.TABLE.read_text()
    for text, why in [("[board.x]\narch = 'nope'\n", "no [arch.nope]"),
                      (good + "\n[board.y]\narch = 'arm'\ncolour = 1\n", "unknown fields"),
                      (good + "\n[board.z]\narch = 'arm'\n", "board z"),
                      (good.replace('builds = ["rom"]', 'builds = ["ram"]'), "an arena"),
                      (good.replace('builds = ["rom"]', 'builds = ["flash"]'), "ram and/or rom"),
                      (good.replace('\nrom_image = "build/host-rom/erbp-fw-host"', ""),
                       "names its rom_image"),
                      ("[board\n", "boards.toml")]:
        p = tmp_path / "boards.toml"
        p.write_text(text)
        with pytest.raises(BoardTableError, match=re.escape(why)):
            table.load(p)
    with pytest.raises(BoardTableError, match="no board table"):
        table.load(tmp_path / "missing.toml")
    with pytest.raises(BoardTableError, match="known: "):
        table.board("no-such-board")


def test_the_makefile_reads_the_table():
    mk = table.make_vars(table.load())
    firmware_mk = (table.FIRMWARE / "Makefile").read_text()
    assert "include $(BOARDS_MK)" in firmware_mk and "boards/boards.toml" in firmware_mk
    for b in table.boards():
        assert f"IMAGE_{b.name} := {b.image}\n" in mk
        assert f"ROM_IMAGE_{b.name} := {b.rom_image_path()}\n" in mk
        assert f"ARENA_{b.name} := {b.arena_bytes}\n" in mk
        if b.kind == "qemu":
            assert f"-DFW_BOARD_UART_BASE={b.uart_base:#x}u" in mk
            assert f"BOARD_RAM_BYTES={b.ram_bytes:#x}" in mk
    out = subprocess.run(["python3", "../host/boards/table.py", "make", "boards/boards.toml"],
                         cwd=table.FIRMWARE, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == mk, out.stderr


def test_no_code_file_repeats_a_board_fact():
    pats = facts()
    names = [b.name for b in table.boards()]
    sizes = {b.ram_bytes for b in table.boards()} | {b.flash_bytes for b in table.boards()} \
        | {b.stack_bytes for b in table.boards() if b.stack_bytes > 1024}
    sizes.discard(0)
    found = []
    for path in code_files():
        rel = path.relative_to(ROOT)
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for what, pat in pats:
                if pat.search(line):
                    found.append(f"{rel}:{n}: {what}: {line.strip()}")
            listed = [b for b in names if re.search(rf"(?<![\w-]){re.escape(b)}(?![\w-])", line)]
            if len(listed) >= 2:
                found.append(f"{rel}:{n}: a hand list of boards ({', '.join(listed)}): "
                             f"{line.strip()}")
            if path.suffix in (".c", ".h", ".ld", ".S", ".py") and size_literals(line) & sizes:
                found.append(f"{rel}:{n}: a board's memory size: {line.strip()}")
    assert not found, "board facts outside firmware/boards/boards.toml:\n" + "\n".join(found)


def test_the_check_finds_a_repeated_fact(tmp_path):
    b = next(x for x in table.boards() if x.kind == "qemu")
    lines = [f'cmd = ["{b.arch.qemu}", "-M", "{b.qemu_machine}"]',
             f"#define UART0 {b.uart_base:#x}u", f"ARENA := {b.arena_bytes}",
             f"{b.cpu_flags[0]} -O2"]
    for line in lines:
        assert any(p.search(line) for _, p in facts()), line
    assert size_literals("const uint32_t r = 128u * 1024u;") == {131072}
    assert size_literals("RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M") == {4 << 20}
