"""The firmware on the emulated boards (QEMU, -icount shift=0), against the PC's C engine; which
board runs what is the `ci` list of its entry in the board table (firmware/boards/boards.toml).

* mnist boards: a model trained on the PC (300 MNIST digits, C engine) is deployed over the UART
  and 200 MNIST test digits are streamed; predictions, output spike counts, synaptic events and
  ticks run equal the PC engine's sample for sample; then 100 MNIST training digits are streamed in train
  mode and the weights pulled back equal the PC engine's weights after the same samples, bit for
  bit; a duplicated training request is not applied twice; stray and refused requests change
  nothing.
* digits boards: the same with the 8x8 digits and a 64-32-10 network, and exact, repeatable
  instruction counts.
* faults boards: a stream through a proxy that corrupts, drops and duplicates bytes, with a board
  reset in the middle, completes with every sample answered once and results identical to the PC's.
Golden vectors and random networks, with the full state read back, are the conformance suite's
(tests/conformance). Every board boots once per session (the `emulators` fixture).
"""
from __future__ import annotations

import struct

import pytest

from erbp.boards import table
from firmware_support import FaultyLink, pc_results

N_INFER, N_TRAIN, N_PC_TRAIN = 200, 100, 300


@pytest.fixture(scope="module")
def pc_model(mnist) -> bytes:
    """784-100-10 eRBP trained on the PC (C engine) on the first 300 MNIST training digits."""
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    net = CNetwork.create(NetConfig.default("784-100-10", "erbp"), seed=2017)
    net.run_samples(mnist.train_x[:N_PC_TRAIN], mnist.train_y[:N_PC_TRAIN], "train")
    assert net.samples_seen == N_PC_TRAIN
    return net.dumps()


@pytest.fixture(scope="module", params=[b.name for b in table.boards("mnist")])
def emu(request, emulators):
    return emulators(request.param)


@pytest.fixture(scope="module")
def board(emu):
    from erbp.boards.client import Board

    b = Board(emu.url, timeout=5)
    yield b
    b.close()


@pytest.fixture(scope="module")
def deployed(board, pc_model) -> bytes:
    """The PC-trained model, deployed once per board (the UART is slow: ~81 KB)."""
    info = board.deploy(pc_model)
    assert info["model_bytes"] == len(pc_model) and info["samples_seen"] == N_PC_TRAIN
    return pc_model


def test_hello_names_the_board(board, emu):
    caps = board.hello()
    assert caps.board == emu.board
    assert (caps.protocol, caps.semantics, caps.model_format) == (2, 2, 1)
    assert caps.cycles_hz > 0 and caps.boot_id >= 1
    assert caps.max_model_bytes > caps.arena_bytes and caps.ram_bytes >= caps.arena_bytes


def test_inference_equals_pc(board, deployed, mnist, tmp_path):
    from erbp.boards.stream import compare, run_stream

    x, y = mnist.test_x[:N_INFER], mnist.test_y[:N_INFER]
    lines = run_stream(board, x, y, "infer", tmp_path / "infer.jsonl", first_index=0,
                       checkpoint_every=0)
    expected, after = pc_results(deployed, x, y, "infer", 0)
    assert len(lines) == N_INFER and [r["pos"] for r in lines] == list(range(N_INFER))
    assert compare(lines, expected) == []
    assert sum(r["prediction"] == r["label"] for r in lines) > N_INFER // 5  # above chance (10 %)
    assert all(r["cycles"] > 0 for r in lines)
    # -icount shift=0: the count is the instructions executed, so it repeats, up to the phase of
    # the counter (one tick: 1e9 / counter_hz instructions, counter_hz from the board table)
    again = board.run(0, "infer", -1, x[0], timeout=board.timeout)  # no re-send mid-count
    assert abs(again.cycles - lines[0]["cycles"]) <= 1 and again.counts == lines[0]["counts"]
    # The board's model file is byte-identical to the deployed one: inference changed nothing.
    assert board.read_model() == deployed == after


def test_training_on_chip_equals_pc(board, deployed, mnist, tmp_path):
    from erbp.boards.stream import compare, run_stream

    sl = slice(N_PC_TRAIN, N_PC_TRAIN + N_TRAIN)
    x, y = mnist.train_x[sl], mnist.train_y[sl]
    lines = run_stream(board, x, y, "train", tmp_path / "train.jsonl", checkpoint_every=0)
    expected, after = pc_results(deployed, x, y, "train", N_PC_TRAIN)
    assert compare(lines, expected) == []
    assert [r["index"] for r in lines] == list(range(N_PC_TRAIN, N_PC_TRAIN + N_TRAIN))
    pulled = board.read_model()
    assert pulled != deployed  # the weights did change on the chip ...
    assert pulled == after  # ... exactly as on the PC (weights, G, samples_seen, CRC)


def test_duplicate_training_request_applied_once(board, deployed, mnist):
    """The same SAMPLE frame twice: two identical answers, the second from the cache."""
    import time

    from erbp.boards import client as B

    seen = board.hello().samples_seen
    assert seen == N_PC_TRAIN + N_TRAIN
    body = struct.pack("<IBBH", seen, 1, int(mnist.train_y[0]), 784) + bytes(mnist.train_x[0])
    frame = B.encode_frame(B.MSG_SAMPLE, 0x1234, body)
    board.send_raw(frame + frame)
    answers = []
    while len(answers) < 2:
        raw = board._read_frame(time.monotonic() + 10)
        assert raw is not None, "the board did not answer both frames"
        answers.append(B.decode_frame(raw))
    assert answers[0] == answers[1]
    assert answers[0][1] == B.MSG_SAMPLE | B.MSG_REPLY and answers[0][3] == 0x1234
    assert board.hello().samples_seen == seen + 1, "a duplicated sample was applied twice"


def test_stray_frames_change_nothing(board, deployed, mnist):
    """On the cross-compiled firmware too: a stray LOAD_CHUNK / LOAD_END (no LOAD_BEGIN) or a
    refused sample leaves the model with its learned weights live, and the cache in place."""
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused

    caps, crc = board.hello(), board.model_crc()
    body = struct.pack("<IBBH", caps.samples_seen, 1, int(mnist.train_y[1]), 784) + bytes(
        mnist.train_x[1])
    first = board.request(B.MSG_SAMPLE, body, seq=0x2345)
    crc = board.model_crc()
    for msg_type, stray in ((B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + deployed[:64]),
                            (B.MSG_LOAD_END, b""),
                            (B.MSG_SAMPLE, struct.pack("<IBBH", 0, 1, 10, 784) + bytes(784))):
        with pytest.raises(BoardRefused) as e:
            board.request(msg_type, stray)
        assert e.value.code in (B.ERR_NOT_LOADING, B.ERR_ARGUMENT)
    assert board.request(B.MSG_SAMPLE, body, seq=0x2345) == first  # from the cache: once
    after = board.hello()
    assert after.model_loaded and after.samples_seen == caps.samples_seen + 1
    assert board.model_crc() == crc


@pytest.mark.parametrize("name", [b.name for b in table.boards("digits")])
def test_digits_inference_and_training_equal_pc(name, emulators, digits, tmp_path):
    """A 64-32-10 network trained on the PC: inference and on-chip training equal the PC's C
    engine, weights bit for bit; the counter repeats exactly (an instruction count on a board
    whose counter_hz is 1 GHz: minstret under -icount)."""
    from erbp.boards.client import Board
    from erbp.boards.stream import compare, run_stream
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    net = CNetwork.create(NetConfig.default("64-32-10", "erbp"), seed=11)
    net.run_samples(digits.train_x[:200], digits.train_y[:200], "train")
    model = net.dumps()
    with Board(emulators(name).url, timeout=5) as board:
        assert board.hello().board == name
        board.deploy(model)
        x, y = digits.test_x[:60], digits.test_y[:60]
        lines = run_stream(board, x, y, "infer", tmp_path / "i.jsonl", checkpoint_every=0)
        assert compare(lines, pc_results(model, x, y, "infer", 0)[0]) == []
        again = board.run(0, "infer", -1, x[0], timeout=board.timeout)  # no re-send mid-count
        assert again.cycles == lines[0]["cycles"] > 100_000
        x, y = digits.train_x[200:240], digits.train_y[200:240]
        lines = run_stream(board, x, y, "train", tmp_path / "t.jsonl", checkpoint_every=0)
        expected, after = pc_results(model, x, y, "train", 200)
        assert compare(lines, expected) == []
        pulled = board.read_model()
    assert pulled == after != model


@pytest.mark.parametrize("name", [b.name for b in table.boards("faults")])
def test_faults_and_reset_mid_stream(name, emulators, digits, tmp_path):
    """Corrupted, dropped and duplicated bytes both ways, and a board reset mid-stream: every
    sample is answered exactly once; results and final weights equal the PC's. (The 8x8 digits and
    a 64-32-10 network keep the frames small so that many of them cross the faulty link.)"""
    from erbp.boards.client import Board
    from erbp.boards.stream import compare, read_results, run_stream
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    from erbp.boards.emulators import start_board

    model = CNetwork.create(NetConfig.default("64-32-10", "erbp"), seed=3).dumps()
    emulators(name)  # built (and its tools there); a board of its own: it gets reset
    emu = start_board(name)
    with Board(emu.url) as board:
        board.deploy(model)  # then the emulator's one serial connection goes to the proxy
    port = int(emu.url.rsplit(":", 1)[1])
    link = FaultyLink(("127.0.0.1", port), corrupt=1e-3, drop=5e-4, dup=5e-4, seed=5)
    n, reset_at = 100, 55
    x, y = digits.train_x[:n], digits.train_y[:n]
    out = tmp_path / "faulty.jsonl"
    logs: list[str] = []
    try:
        with Board(link.url, timeout=0.6, retries=30, log=logs.append) as b:
            def on_result(line):
                if line["pos"] == reset_at:
                    emu.system_reset()  # the board loses its model; the stream recovers
            lines = run_stream(b, x, y, "train", out, checkpoint_every=20, on_result=on_result,
                               log=logs.append)
            pulled = b.read_model()
    finally:
        link.close()
        emu.stop()
    expected, after = pc_results(model, x, y, "train", 0)
    assert [r["pos"] for r in read_results(out)] == list(range(n))  # once each, in order
    assert compare(lines, expected) == []
    assert pulled == after
    assert any("lost its model" in m for m in logs), logs  # the reset did happen
    faults = link.stats["corrupted"] + link.stats["dropped"] + link.stats["duplicated"]
    assert faults >= 10 and any("retransmitting" in m for m in logs), (link.stats, logs[:5])
