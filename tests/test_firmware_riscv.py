"""The same firmware on a fourth board: QEMU's RISC-V virt (RV32IMAC, NS16550A UART, minstret).
Golden vectors with full state after every sample; inference and on-chip training of a small
network (8x8 digits, 64-32-10) equal to the PC's C engine, weights bit for bit; exact, repeatable
instruction counts (minstret under -icount)."""
from __future__ import annotations

import pytest

from firmware_support import check_golden_vectors, make, pc_results, require_tools


@pytest.fixture(scope="module")
def board():
    from erbp.boards.client import Board
    from erbp.boards.emulators import start_board

    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    make("riscv")
    emu = start_board("riscv-virt")
    b = Board(emu.url, timeout=5)
    yield b
    b.close()
    emu.stop()


def test_golden_vectors_full_state(board):
    assert board.hello().board == "riscv-virt"
    check_golden_vectors(board)


def test_digits_inference_and_training_equal_pc(board, digits, tmp_path):
    from erbp.boards.stream import compare, run_stream
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    net = CNetwork.create(NetConfig.default("64-32-10", "erbp"), seed=11)
    net.run_samples(digits.train_x[:200], digits.train_y[:200], "train")
    model = net.dumps()
    board.deploy(model)
    x, y = digits.test_x[:60], digits.test_y[:60]
    lines = run_stream(board, x, y, "infer", tmp_path / "i.jsonl", checkpoint_every=0)
    assert compare(lines, pc_results(model, x, y, "infer", 0)[0]) == []
    again = board.run(0, "infer", -1, x[0])
    assert again.cycles == lines[0]["cycles"] > 100_000  # minstret: exact instruction counts
    x, y = digits.train_x[200:240], digits.train_y[200:240]
    lines = run_stream(board, x, y, "train", tmp_path / "t.jsonl", checkpoint_every=0)
    expected, after = pc_results(model, x, y, "train", 200)
    assert compare(lines, expected) == []
    pulled = board.read_model()
    assert pulled == after != model
