"""Firmware with its model in flash (read-only: inference; ``make -C firmware rom``): the model is
the const data of ``erbp export --format c``, read in place by cport's ``erbp_net_init_rom``; RAM
holds only the network's state. On every board whose board-table entry lists ``rom`` in its ``ci``
(firmware/boards/boards.toml: the micro:bit, whose only build this is, the STM32F405's read-only
build and the host build's):

* 784-100-10 (trained on the PC, 300 MNIST digits) built into the image runs MNIST test digits
  streamed over the UART: predictions, output spike counts, synaptic events and ticks run (the
  early exit of inference) equal the PC's C engine (RAM and read-only) sample for sample, the state after the last sample equals the PC's
  read-only twin's, the model read back is the file built in;
* uploads and training are refused, and change nothing;
* the stack painted at reset is used no deeper than reserved (emulated boards), and a rom-only
  board fits: firmware flash without the model under 32 KB, static RAM with the reserved stack
  within half its RAM (the micro:bit: 8 KiB);
* on those whose flash holds it (the STM32F405), 784-500-500-10 from flash, which no RAM arena of
  the board holds: results, ticks run and the state equal the PC's.

Golden vectors and random networks on the read-only builds (inference samples, full state) are
the conformance suite's (tests/conformance).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from erbp.boards import table
from firmware_support import binutil, make, pc_results, require_tools

N_INFER, N_PC_TRAIN = 40, 300
ROM_BOARDS = [b.name for b in table.boards("rom")]
STACK_PAINT = 0x5AC35AC3  # boards/cortex-m/startup.c


@pytest.fixture(scope="module")
def pc_model(mnist, tmp_path_factory) -> tuple[bytes, Path]:
    """784-100-10 eRBP trained on the PC (C engine) on the first 300 MNIST training digits."""
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    net = CNetwork.create(NetConfig.default("784-100-10", "erbp"), seed=2017)
    net.run_samples(mnist.train_x[:N_PC_TRAIN], mnist.train_y[:N_PC_TRAIN], "train")
    path = tmp_path_factory.mktemp("rom") / "model.erbp"
    net.save(path)
    return net.dumps(), path


@pytest.fixture(scope="module")
def build_dir(pc_model, tmp_path_factory) -> Path:
    """The read-only images built around the PC's model (in a directory of their own)."""
    specs = [table.board(n) for n in ROM_BOARDS]
    require_tools(*dict.fromkeys(t for s in specs for t in s.tools))
    out = tmp_path_factory.mktemp("fw-build")
    erbp = Path(sys.executable).with_name("erbp")
    make(*(s.target(rom=True) for s in specs),
         env_args=(f"BUILD={out}", f"ROM_MODEL={pc_model[1]}", f"ERBP={erbp}"))
    return out


def _sections(spec: table.BoardSpec, elf: Path) -> dict[str, int]:
    out = subprocess.run([spec.arch.size, "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {m[0]: int(m[1]) for m in re.findall(r"^\.(\w+)\s+(\d+)", out, re.M)}


def _symbols(spec: table.BoardSpec, elf: Path) -> dict[str, int]:
    out = subprocess.run([binutil(spec, "nm"), str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {p[2]: int(p[0], 16) for p in (line.split() for line in out.splitlines())
            if len(p) == 3}


@pytest.mark.parametrize("name", [n for n in ROM_BOARDS if table.board(n).rom_only])
def test_rom_only_board_fits(name, build_dir, pc_model):
    spec = table.board(name)
    s = _sections(spec, spec.image_path(rom=True, build_dir=build_dir))
    flash = s["text"] + s["data"]
    assert flash - len(pc_model[0]) < 32 * 1024, f"firmware without the model: {flash} B"
    assert flash <= spec.flash_bytes
    ram = s["data"] + s["bss"] + s["noinit"] + s["stack"]
    assert ram <= spec.ram_bytes // 2, f"static RAM with the stack: {ram} B"


def _stream_and_check(board, mnist, model: bytes) -> None:
    """Stream N_INFER test digits; compare with the PC; then the refusals."""
    from erbp.boards.client import BoardRefused
    from erbp.engines.c import CNetwork

    from conformance.local import record

    caps = board.hello()
    assert caps.model_loaded and caps.model_read_only and caps.max_pixels == 784
    x = mnist.test_x[:N_INFER]
    want, _ = pc_results(model, x, None, "infer", 0)
    rom = CNetwork.loads_rom(model)
    got = []
    for i in range(N_INFER):
        r = board.run(i, "infer", -1, x[i])
        got.append({"prediction": r.prediction, "counts": r.counts, "events": r.events,
                    "ticks": r.ticks})
        p = rom.run_sample(x[i], -1, "infer", i)
        assert (p.prediction, [int(c) for c in p.counts], p.events, p.ticks) == \
            (want[i]["prediction"], want[i]["counts"], want[i]["events"], want[i]["ticks"])
    assert got == want
    assert min(g["ticks"] for g in got) < rom.cfg.ticks_infer  # the early exit fired
    # the state after the last sample (the state image: the record after W and G) is the PC's
    # read-only twin's
    state = board.read_state()
    assert state == record(rom.snapshot())[-len(state):].tolist()
    assert board.read_model() == model
    # refusals change nothing
    with pytest.raises(BoardRefused, match="read-only"):
        board.run(0, "train", 3, x[0])
    with pytest.raises(BoardRefused, match="flash"):
        board.deploy(model)
    caps = board.hello()
    assert caps.model_loaded and caps.samples_seen == N_PC_TRAIN
    r = board.run(0, "infer", -1, x[0])
    assert (r.prediction, r.counts, r.events, r.ticks) == \
        (want[0]["prediction"], want[0]["counts"], want[0]["events"], want[0]["ticks"])


@pytest.mark.parametrize("name", ROM_BOARDS)
def test_board_infers_from_flash_like_the_pc(name, build_dir, pc_model, mnist):
    from erbp.boards.client import Board
    from erbp.boards.emulators import start_board

    spec = table.board(name)
    elf = spec.image_path(rom=True, build_dir=build_dir)
    with start_board(name, image=elf) as emu, Board(emu.url, timeout=30) as board:
        _stream_and_check(board, mnist, pc_model[0])
        if spec.kind != "qemu":
            return
        # how deep the stack was used (painted at reset), after every kind of request above
        sym = _symbols(spec, elf)
        lo, hi = sym["__stack_bottom"], sym["__stack_top"]
        words = emu.read_memory(lo, (hi - lo) // 4)
        untouched = next((i for i, w in enumerate(words) if w != STACK_PAINT), len(words))
        used = hi - lo - 4 * untouched
        print(f"{name}: stack used {used} of {hi - lo} B")  # docs/firmware.md quotes it (-s)
        assert 0 < used < hi - lo - 64, f"{name}: stack used {used} of {hi - lo} B"


# The goal for the STM32F405 (1 MiB of flash, 128 KiB of RAM): a deep network from flash.
DEEP, N_DEEP, N_DEEP_TRAIN = "784-500-500-10", 10, 3000


def _holds_deep(spec: table.BoardSpec) -> bool:
    """Whether a board's flash holds the firmware and the deep model (a model file is no larger
    than its network's arena in RAM) and its RAM the model's state (with room for the firmware)."""
    from erbp.engines.c import required_bytes, state_required_bytes
    from erbp.reference import NetConfig

    cfg = NetConfig.default(DEEP, "erbp")
    return (spec.kind == "qemu" and spec.flash_bytes >= 32 * 1024 + required_bytes(cfg)
            and spec.ram_bytes >= 2 * state_required_bytes(cfg))


DEEP_BOARDS = [n for n in ROM_BOARDS if _holds_deep(table.board(n))]


@pytest.mark.parametrize("name", DEEP_BOARDS)
def test_deep_network_infers_from_flash_like_the_pc(name, mnist, tmp_path):
    """784-500-500-10 (667 KB of model file, trained on the PC on 3,000 digits) built into the
    read-only image of every board whose flash holds it (the STM32F405): N_DEEP test digits give
    the PC's predictions, output spike counts, events and ticks run, the state after the last is
    the PC's read-only twin's, the model's CRC the file's; the firmware without the model stays
    under 32 KB, and the image's static RAM with the stack fits the board's RAM, which the arena
    of the same network in RAM (694,688 B) would not."""
    from erbp.boards.client import Board
    from erbp.boards.emulators import start_board
    from erbp.engines.c import CNetwork, required_bytes
    from erbp.reference import NetConfig

    from conformance.local import record

    spec = table.board(name)
    require_tools(*spec.tools)
    cfg = NetConfig.default(DEEP, "erbp")
    assert cfg.readout == 1 and cfg.exit_margin > 0  # version 2's readout sums and early exit
    net = CNetwork.create(cfg, seed=2017)
    net.run_samples(mnist.train_x[:N_DEEP_TRAIN], mnist.train_y[:N_DEEP_TRAIN], "train")
    model = net.dumps()
    path = tmp_path / "deep.erbp"
    path.write_bytes(model)
    make(spec.target(rom=True), env_args=(f"BUILD={tmp_path}", f"ROM_MODEL={path}",
                                          f"ERBP={Path(sys.executable).with_name('erbp')}"))
    elf = spec.image_path(rom=True, build_dir=tmp_path)
    s = _sections(spec, elf)
    assert s["text"] + s["data"] - len(model) < 32 * 1024  # the firmware without the model
    ram = s["data"] + s["bss"] + s["noinit"] + s["stack"]
    assert ram <= spec.ram_bytes < required_bytes(cfg)  # only a read-only network fits

    x = mnist.test_x[:N_DEEP]
    want, _ = pc_results(model, x, None, "infer", 0)
    assert sum(1 for w in want if sum(w["counts"])) >= N_DEEP // 2  # outputs spike: a real test
    rom = CNetwork.loads_rom(model)
    with start_board(name, image=elf) as emu, Board(emu.url, timeout=60) as board:
        caps = board.hello()
        assert caps.model_loaded and caps.model_read_only and caps.samples_seen == N_DEEP_TRAIN
        got = []
        for i in range(N_DEEP):
            r = board.run(i, "infer", -1, x[i])
            got.append({"prediction": r.prediction, "counts": r.counts, "events": r.events,
                        "ticks": r.ticks})
            rom.run_sample(x[i], -1, "infer", i)
        assert got == want
        state = board.read_state()
        assert state == record(rom.snapshot())[-len(state):].tolist()
        assert board.model_crc() == int.from_bytes(model[-4:], "little")
