"""The firmware's frame parser and command handler, as the host build (a Linux process on a pty,
compiled with AddressSanitizer + UndefinedBehaviorSanitizer): every malformed, truncated,
oversized or out-of-order request gets a typed error and the board keeps answering; a byte fuzzer
(hypothesis) through the pty; resumable streams; the `erbp board` commands. (Golden vectors and
random networks with the full state read back: the conformance suite, tests/conformance.)"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_support import GOLDEN, SMALL, b, golden_model, host_board  # noqa: F401 (fixtures)


def raw_answer(b, data: bytes):
    """Send raw bytes; return the first decoded answer frame."""
    import time

    from erbp.boards import client as B

    b.send_raw(data)
    raw = b._read_frame(time.monotonic() + 5)
    assert raw is not None, "no answer"
    return B.decode_frame(raw)


def error_of(answer) -> tuple[int, int, str]:
    from erbp.boards import client as B

    version, rtype, _, _, body = answer
    assert version == B.PROTOCOL_VERSION and rtype == B.MSG_ERROR, answer
    code, _, value = B.ERROR_HEAD.unpack_from(body)
    return code, value, body[B.ERROR_HEAD.size:].decode()


def refused(b, msg_type: int, body: bytes = b"") -> tuple[int, int]:
    from erbp.boards.client import BoardRefused

    with pytest.raises(BoardRefused) as e:
        b.request(msg_type, body)
    assert e.value.board_message  # the board says why
    return e.value.code, e.value.value


def test_damaged_frames_get_typed_errors(b):
    from cobs import cobs

    from erbp.boards import client as B

    good = B.encode_frame(B.MSG_HELLO, 7)
    payload = bytearray(cobs.decode(good[1:-1]))
    payload[-1] ^= 0x40
    assert error_of(raw_answer(b, b"\0" + cobs.encode(bytes(payload)) + b"\0"))[0] == B.ERR_CRC
    assert error_of(raw_answer(b, b"\0\x05\x01\x02\0"))[0] == B.ERR_FRAMING  # code runs past end
    assert error_of(raw_answer(b, b"\0" + cobs.encode(b"\x01\x01\x00") + b"\0"))[0] == B.ERR_FRAMING
    code, value, _ = error_of(raw_answer(b, b"\0" + b"\x07" * 9000 + b"\0"))
    assert (code, value) == (B.ERR_TOO_LONG, b.caps.max_frame)
    code, value, _ = error_of(raw_answer(b, B.encode_frame(B.MSG_HELLO, 8, version=1)))
    assert (code, value) == (B.ERR_VERSION, B.PROTOCOL_VERSION)
    assert error_of(raw_answer(b, B.encode_frame(B.MSG_HELLO, 9, flags=1)))[0] == B.ERR_FLAGS
    b.hello()  # and the board still answers


def test_bad_requests_get_typed_errors(b):
    from erbp.boards import client as B

    assert refused(b, 0x42) == (B.ERR_UNKNOWN_TYPE, 0x42)
    assert refused(b, B.MSG_LOAD_BEGIN, b"\x01") == (B.ERR_LENGTH, 4)
    assert refused(b, B.MSG_LOAD_END, b"\x00") == (B.ERR_LENGTH, 0)
    assert refused(b, B.MSG_RESET, b"\x00")[0] == B.ERR_LENGTH
    assert refused(b, B.MSG_LOAD_CHUNK, b"\x00\x00")[0] == B.ERR_LENGTH
    assert refused(b, B.MSG_LOAD_CHUNK, bytes(4 + 1025))[0] == B.ERR_LENGTH
    assert refused(b, B.MSG_SAMPLE, b"\x00" * 5)[0] == B.ERR_LENGTH
    assert refused(b, B.MSG_SAMPLE, struct.pack("<IBBH", 0, 0, 0, 10) + bytes(9))[0] == B.ERR_LENGTH
    assert refused(b, B.MSG_MODEL_READ, b"\x00")[0] == B.ERR_LENGTH


def test_no_model_and_load_order(b):
    from erbp.boards import client as B

    b.reset()
    assert not b.hello().model_loaded
    assert refused(b, B.MSG_SAMPLE, struct.pack("<IBBH", 0, 0, 0, 64) + bytes(64))[0] == B.ERR_NO_MODEL
    assert refused(b, B.MSG_MODEL_READ, struct.pack("<IH", 0, 64))[0] == B.ERR_NO_MODEL
    assert refused(b, B.MSG_STATE_READ, struct.pack("<IH", 0, 64))[0] == B.ERR_NO_MODEL
    assert refused(b, B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + b"ERBP")[0] == B.ERR_NOT_LOADING
    assert refused(b, B.MSG_LOAD_END)[0] == B.ERR_NOT_LOADING
    model = golden_model()
    b.request(B.MSG_LOAD_BEGIN, struct.pack("<I", len(model)))
    b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + model[:100])
    # out of order: the board names the offset it expects
    assert refused(b, B.MSG_LOAD_CHUNK, struct.pack("<I", 200) + model[200:300]) == (B.ERR_OFFSET, 100)
    # a repeated chunk is acknowledged, not applied twice
    assert b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + model[:100]) == struct.pack("<I", 100)
    assert refused(b, B.MSG_LOAD_END) == (B.ERR_OFFSET, 100)  # incomplete
    b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", 100) + model[100:1100])
    # past the declared size
    assert refused(b, B.MSG_LOAD_CHUNK, struct.pack("<I", 1100) + model[1100:] + b"x")[0] == B.ERR_ARGUMENT
    b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", 1100) + model[1100:])
    b.request(B.MSG_LOAD_END)
    assert b.hello().model_loaded and b.read_model() == model


def _model_with(model: bytes, offset: int, data: bytes, fix_crc: bool = True) -> bytes:
    m = bytearray(model)
    m[offset: offset + len(data)] = data
    if fix_crc:
        m[-4:] = struct.pack("<I", zlib.crc32(bytes(m[:-4])))
    return bytes(m)


@pytest.mark.parametrize("change, why", [
    ((0, b"ERBQ"), "magic"),
    ((4, b"\x02\x00"), "format version"),
    ((6, b"\x07\x00"), "semantics"),
    ((20, b"\x05\x00\x00\x00"), "configuration words"),
    ((24, struct.pack("<i", 5000)), "CONFIG"),           # n_in out of range
    ((8, struct.pack("<I", 1000)), "size"),             # declared size != upload
])
def test_invalid_models_are_refused_with_the_reason(b, change, why):
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused

    bad = _model_with(golden_model(), *change)
    with pytest.raises(BoardRefused) as e:
        b.deploy(bad)
    assert e.value.code == B.ERR_MODEL and why.lower() in e.value.board_message.lower()
    assert not b.hello().model_loaded  # a refused model is never half-live


def test_corrupt_and_out_of_range_models(b):
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused
    from erbp.reference import NetConfig, Network, modelfile
    from erbp.reference.params import word_count

    model = golden_model()
    with pytest.raises(BoardRefused, match="CRC") as e:
        b.deploy(_model_with(model, 400, b"\x55", fix_crc=False))
    assert e.value.code == B.ERR_MODEL
    # 4-bit weights stored in int8: a 9 is outside [-8, 7]
    cfg = NetConfig.default("6-5-3", "erbp").replace(weight_bits=4, init_amp=(3, 3))
    m4 = modelfile.dumps(Network.create(cfg, 1))
    off = 24 + 4 * word_count() + 7
    with pytest.raises(BoardRefused, match="weight") as e:
        b.deploy(_model_with(m4, off, b"\x09"))
    b.deploy(m4)
    assert b.read_model() == m4
    # too big for the board: refused before a byte of it is stored
    with pytest.raises(BoardRefused) as e:
        b.request(B.MSG_LOAD_BEGIN, struct.pack("<I", b.caps.arena_bytes + 100000))
    assert e.value.code == B.ERR_NO_MEMORY and e.value.value == b.caps.arena_bytes


def test_board_refuses_models_for_cport_loader_reasons(b):
    """The board judges an upload with cport's incremental loader: each refusal case of the cport
    loader tests is refused with erbp_model_check's status (message and value = -status)."""
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused
    from erbp.engines.c.engine import _load, status_name
    from erbp.reference import modelfile
    from erbp.reference.params import word_count
    from test_cport_engine import refusal_cases

    ffi, lib = _load()
    model = golden_model()
    for code, bad in refusal_cases(modelfile.loads(model), model).items():
        want = lib.erbp_model_check(bad, len(bad), ffi.NULL, ffi.NULL, ffi.NULL)
        assert status_name(want) == code
        with pytest.raises(BoardRefused) as e:
            b.deploy(bad)
        assert e.value.code == B.ERR_MODEL, code
        if code == "ERBP_E_FILE_TRAILING":  # bytes past the declared size: the announced size
            assert "declared file size differs" in e.value.board_message  # is the upload's
        else:
            assert e.value.board_message.startswith(code + ":") and e.value.value == -want, code
        assert not b.hello().model_loaded
    # A rule broken in the configuration refuses the upload at once, at the chunk that breaks
    # it, even when the CRC (checked at the end, where erbp_model_check would name it) fails too.
    bad = _model_with(model, 24, struct.pack("<i", 5000), fix_crc=False)  # n_in out of range
    b.request(B.MSG_LOAD_BEGIN, struct.pack("<I", len(bad)))
    with pytest.raises(BoardRefused, match="ERBP_E_CONFIG_RANGE") as e:
        b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + bad[:24 + 4 * word_count() + 16])
    assert status_name(lib.erbp_model_check(bad, len(bad), ffi.NULL, ffi.NULL, ffi.NULL)) == \
        "ERBP_E_FILE_CRC"
    assert refused(b, B.MSG_LOAD_END)[0] == B.ERR_NOT_LOADING and not b.hello().model_loaded


def test_upload_in_chunks_of_any_size(b):
    """Chunks of 1..9 bytes (cut anywhere: inside int16 fields, at the end of the header and of
    the configuration) load the same model."""
    from erbp.boards import client as B

    model = golden_model("erbp_three_hidden")
    b.request(B.MSG_LOAD_BEGIN, struct.pack("<I", len(model)))
    off, k = 0, 0
    while off < len(model):
        n = min(1 + k % 9, len(model) - off)
        assert b.request(B.MSG_LOAD_CHUNK, struct.pack("<I", off) + model[off:off + n]) == \
            struct.pack("<I", off + n)
        off, k = off + n, k + 1
        if k % 50 == 0:
            assert not b.hello().model_loaded  # nothing is live before LOAD_END
    b.request(B.MSG_LOAD_END)
    assert b.hello().model_loaded and b.read_model() == model


def test_sample_arguments_are_checked(b):
    from erbp.boards import client as B

    b.deploy(golden_model())
    n_in = 64
    assert refused(b, B.MSG_SAMPLE, struct.pack("<IBBH", 0, 0, 0, 10) + bytes(10)) == (B.ERR_ARGUMENT, n_in)
    assert refused(b, B.MSG_SAMPLE, struct.pack("<IBBH", 0, 2, 0, n_in) + bytes(n_in))[0] == B.ERR_ARGUMENT
    assert refused(b, B.MSG_SAMPLE, struct.pack("<IBBH", 0, 1, 10, n_in) + bytes(n_in)) == (B.ERR_ARGUMENT, 10)
    assert b.hello().samples_seen == 0


def test_duplicate_request_is_answered_from_cache(b):
    from erbp.boards import client as B

    b.deploy(golden_model())
    body = struct.pack("<IBBH", 0, 1, 3, 64) + bytes(range(64))
    a1 = b.request(B.MSG_SAMPLE, body, seq=99)
    b.hello()  # read-only requests in between do not disturb the cache
    a2 = b.request(B.MSG_SAMPLE, body, seq=99)
    assert a1 == a2 and b.hello().samples_seen == 1
    a3 = b.request(B.MSG_SAMPLE, body, seq=100)  # a new sequence number: applied again
    assert B.BoardResult.parse(a3).samples_seen == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=300),
                          st.sampled_from([b"\0", b"\x01", b"\xff" * 5, b"\x02\x01\0"])),
                max_size=12))
def test_byte_fuzz_keeps_the_board_answering(host_board, data):
    """Random bytes and fragments, then a HELLO: the board (ASan/UBSan build) always answers."""
    from erbp.boards import client as B
    from erbp.boards.client import Board

    with Board(host_board.url, timeout=2, retries=3) as b:
        b.send_raw(b"".join(data))
        caps = b.hello()
        assert caps.board == "host"
        b.request(B.MSG_STATE_READ, struct.pack("<IH", 0, 16)) if caps.model_loaded else None


def test_stream_resumes_without_losing_or_repeating(b, tmp_path):
    """A stream cut after a torn line, and a sample the board applied whose answer was lost:
    the resumed stream records every sample once and equals an undisturbed run."""
    from erbp.boards import client as B
    from erbp.boards.stream import compare, read_results, run_stream
    from firmware_support import pc_results

    model = golden_model()
    meta = json.loads((GOLDEN / f"{SMALL}.json").read_text())
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, size=(30, 64), dtype=np.uint8)
    y = rng.integers(0, 10, size=30)
    out = tmp_path / "r.jsonl"
    b.deploy(model)
    assert meta["seed"] >= 0

    def cut(line):
        if line["pos"] == 11:
            raise KeyboardInterrupt  # the stream is interrupted after 12 samples

    with pytest.raises(KeyboardInterrupt):
        run_stream(b, x, y, "train", out, checkpoint_every=5, on_result=cut)
    with open(out, "ab") as f:
        f.write(b'{"pos": 12, "ind')  # the writer died mid-line
    # the board got sample 12 and learned it, but its answer was lost
    body = struct.pack("<IBBH", 12, 1, int(y[12]), 64) + bytes(x[12])
    b.request(B.MSG_SAMPLE, body, seq=B.seq_for_position(12))
    lines = run_stream(b, x, y, "train", out, checkpoint_every=5)
    assert [r["pos"] for r in read_results(out)] == list(range(30))
    expected, after = pc_results(model, x, y, "train", 0)
    assert compare(lines, expected) == []
    assert b.read_model() == after


def test_stream_recovers_after_reset(b, tmp_path):
    from erbp.boards.stream import compare, run_stream
    from firmware_support import pc_results

    model = golden_model()
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, size=(25, 64), dtype=np.uint8)
    y = rng.integers(0, 10, size=25)
    b.deploy(model)

    def on_result(line):
        if line["pos"] == 13:
            b.reset()

    logs: list[str] = []
    lines = run_stream(b, x, y, "train", tmp_path / "r.jsonl", checkpoint_every=4,
                       on_result=on_result, log=logs.append)
    expected, after = pc_results(model, x, y, "train", 0)
    assert compare(lines, expected) == [] and len(lines) == 25
    assert b.read_model() == after
    assert any("replayed positions 12..13" in m for m in logs), logs


def test_board_cli(host_board, tmp_path, digits):
    from click.testing import CliRunner

    from erbp.cli import main
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    model = tmp_path / "m.erbp"
    CNetwork.create(NetConfig.default("64-16-10", "erbp"), seed=9).save(model)
    run = CliRunner().invoke
    port = ["--port", host_board.url]
    r = run(main, ["board", "info", *port])
    assert r.exit_code == 0 and "protocol   2, semantics 2" in r.output, r.output
    r = run(main, ["board", "deploy", str(model), *port, "--force"])
    assert r.exit_code == 0 and "deployed" in r.output, r.output
    r = run(main, ["board", "deploy", str(model), *port])
    assert r.exit_code == 0 and "already holds" in r.output, r.output
    out = tmp_path / "s.jsonl"
    r = run(main, ["board", "stream", *port, "--mode", "train", "--dataset", "digits",
                   "--count", "20", "--out", str(out), "--verify", str(model)])
    assert r.exit_code == 0 and "20 samples" in r.output, r.output
    assert "weights are bit-identical" in r.output
    assert len(out.read_text().splitlines()) == 21  # the stream's header, then 20 results
    r = run(main, ["board", "pull", *port, "--out", str(tmp_path / "p.erbp")])
    assert r.exit_code == 0 and "20 samples seen" in r.output, r.output
    r = run(main, ["board", "info", "--port", "/dev/nonexistent-erbp"])
    assert r.exit_code == 1 and "cannot open" in r.output
    from erbp.boards import table

    r = run(main, ["board", "list"])
    assert r.exit_code == 0 and all(b.name in r.output for b in table.boards())
    probed = [b for b in table.boards() if b.pyocd_target]
    assert probed, "no board of the table is flashed through a probe"
    r = run(main, ["board", "flash", probed[0].name, "--dry-run"])
    assert r.exit_code == 0 and f"pyocd flash -t {probed[0].pyocd_target}" in r.output


def test_zero_run_coded_pixels(b):
    """Zero-run coded pixels give exactly the results of raw pixels; bad codes are refused."""
    from erbp.boards import client as B

    b.deploy(golden_model())
    rng = np.random.default_rng(6)
    for density in (0.0, 0.05, 0.3, 1.0):
        px = (rng.integers(1, 256, 64) * (rng.random(64) < density)).astype(np.uint8)
        b.zero_runs = False
        raw = b.run(7, "infer", -1, px)
        b.zero_runs = True
        assert len(B.zero_runs(bytes(px))) != 64 or density == 1.0
        coded = b.run(7, "infer", -1, px)
        assert (coded.prediction, coded.counts, coded.events, coded.ticks) == \
            (raw.prediction, raw.counts, raw.events, raw.ticks)
    hdr = struct.pack("<IBBH", 0, B.SAMPLE_ZRUN, 255, 64)
    for code, why in [(bytes([0xBE]), "shorter than the pixel count"),  # 63 zeros, not 64
                      (bytes([0xFF, 0xFF]), "zero run past the pixel count"),
                      (bytes([0x05, 1, 2]), "literal run past"),
                      (b"", "shorter than the pixel count")]:
        with pytest.raises(B.BoardRefused, match=why) as e:
            b.request(B.MSG_SAMPLE, hdr + code)
        assert e.value.code == B.ERR_ARGUMENT
    assert B.BoardResult.parse(b.request(B.MSG_SAMPLE, hdr + bytes([0xBF]))).index == 0  # 64 zeros


def test_resumed_inference_refuses_another_model(b, tmp_path):
    from erbp.boards.stream import StreamError, checkpoint_path, run_stream

    rng = np.random.default_rng(8)
    x = rng.integers(0, 256, size=(6, 64), dtype=np.uint8)
    out = tmp_path / "i.jsonl"
    b.deploy(golden_model())

    def cut(line):
        if line["pos"] == 2:
            raise KeyboardInterrupt  # the stream is interrupted after 3 samples

    with pytest.raises(KeyboardInterrupt):
        run_stream(b, x, None, "infer", out, on_result=cut)
    assert b.model_crc() == struct.unpack_from("<I", golden_model(), len(golden_model()) - 4)[0]
    b.deploy(golden_model("mnistlike_perbp_64"))  # someone deployed another model meanwhile
    with pytest.raises(StreamError, match="another model"):
        run_stream(b, x, None, "infer", out)
    b.deploy(checkpoint_path(out).read_bytes())
    assert len(run_stream(b, x, None, "infer", out)) == 6


def test_stream_survives_a_reset_during_recovery(b, tmp_path):
    """Reset during the replay after a reset: recovered again; and a board that keeps losing
    its model makes the stream give up with a message, resumable later."""
    from erbp.boards.stream import StreamError, compare, run_stream
    from firmware_support import pc_results

    model = golden_model()
    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, size=(20, 64), dtype=np.uint8)
    y = rng.integers(0, 10, size=20)
    b.deploy(model)
    resets = {"left": 2}
    real_run = b.run

    def flaky_run(index, mode, label, pixels, seq=None):
        if index in (12, 9) and seq is None and resets["left"]:  # during the first replay
            resets["left"] -= 1
            b.reset()
        elif index == 13 and seq is not None and resets["left"] == 2:
            b.reset()
        return real_run(index, mode, label, pixels, seq=seq)

    b.run = flaky_run
    try:
        lines = run_stream(b, x, y, "train", tmp_path / "r.jsonl", checkpoint_every=8)
    finally:
        b.run = real_run
    expected, after = pc_results(model, x, y, "train", 0)
    assert compare(lines, expected) == [] and b.read_model() == after
    b.deploy(model)
    with pytest.raises(StreamError, match="lost its model"):
        def always_reset(index, mode, label, pixels, seq=None):
            b.reset()
            return real_run(index, mode, label, pixels, seq=seq)
        b.run = always_reset
        try:
            run_stream(b, x, y, "train", tmp_path / "s.jsonl", checkpoint_every=8)
        finally:
            b.run = real_run
