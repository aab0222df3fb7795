"""A request the board refuses changes nothing (docs/protocol.md, "Which requests change the
board"), and every length and range rule of docs/protocol.md is the board's rule: the host build
(ASan + UBSan) on a pty.

For each refusal, in three situations (a model live with weights learned on the board, an upload
in progress, no model), everything a host can observe is compared before and after: the HELLO
reply, the whole model (MODEL_READ), the whole state image (STATE_READ), the upload's position, and
the idempotency cache (the last applied request, re-sent, is answered from the cache and not
applied again)."""
from __future__ import annotations

import struct
import zlib

import pytest
from cobs import cobs

from firmware_support import b, golden_model, host_board  # noqa: F401 (fixtures)

N_IN, N_OUT = 64, 10  # of the golden model deployed here (mnistlike_erbp_64)
MIN_MODEL = 28  # the shortest model file: header (24 bytes) and CRC
PROBE = 0xFFFFFFF0  # a chunk offset no upload reaches: its refusal names the upload's position
TRAIN_SEQ = 0x3000


def sample_body(index: int = 0, mode: int = 1, label: int = 3, n: int = N_IN,
                pixels: bytes | None = None) -> bytes:
    px = bytes((7 * i + index) % 256 for i in range(n)) if pixels is None else pixels
    return struct.pack("<IBBH", index, mode, label, n) + px


def frame_payload(msg_type: int, body: bytes, seq: int = 1, version: int | None = None,
                  flags: int = 0) -> bytes:
    from erbp.boards.client import PROTOCOL_VERSION

    version = PROTOCOL_VERSION if version is None else version
    head = struct.pack("<BBHI", version, msg_type, flags, seq) + body
    return head + struct.pack("<I", zlib.crc32(head))


def wire(payload: bytes) -> bytes:
    return b"\0" + cobs.encode(payload) + b"\0"


def answer(b, raw: bytes):
    """Send raw bytes, return the first answer frame: (type, seq, body)."""
    import time

    from erbp.boards import client as B

    b.send_raw(raw)
    frame = b._read_frame(time.monotonic() + 5)
    assert frame is not None, "no answer"
    _, rtype, _, seq, body = B.decode_frame(frame)
    return rtype, seq, body


def refusal(b, raw: bytes) -> tuple[int, int] | None:
    """The error code and value of the answer (None: the request was accepted)."""
    from erbp.boards import client as B

    rtype, _, body = answer(b, raw)
    if rtype != B.MSG_ERROR:
        return None
    code, _, value = B.ERROR_HEAD.unpack_from(body)
    assert body[B.ERROR_HEAD.size:], "an error without a message"
    return code, value


# --- the board's observable state ----------------------------------------------------------------
def upload_position(b) -> tuple[int, int]:
    """(OFFSET, next offset) during an upload, (NOT_LOADING, 0) otherwise: the answer to a chunk
    that no upload accepts."""
    from erbp.boards.client import BoardRefused

    with pytest.raises(BoardRefused) as e:
        b.request(0x03, struct.pack("<I", PROBE) + b"x")
    return e.value.code, e.value.value


def snapshot(b, last: tuple[int, int, bytes] | None) -> dict:
    """Everything a host can observe; ``last`` = (type, seq, body) of the last applied request,
    re-sent: a board that kept its cache answers it again without applying it."""
    caps = b.hello()
    snap = {"caps": caps, "upload": upload_position(b)}
    if caps.model_loaded:
        snap["model"] = b.read_model()
        snap["state"] = b.read_state()
    if last is not None:
        msg_type, seq, body = last
        snap["cached answer"] = b.request(msg_type, body, seq=seq)
        snap["after re-send"] = b.hello().samples_seen
    return snap


def with_model(b) -> tuple[int, int, bytes]:
    """A live model that learned three samples on the board; the last training request."""
    b.deploy(golden_model())
    for k in range(3):
        b.request(0x05, sample_body(k, 1, k), seq=TRAIN_SEQ + k)
    return 0x05, TRAIN_SEQ + 2, sample_body(2, 1, 2)


def mid_upload(b, pos: int = 800) -> tuple[int, int, bytes]:
    """An upload of the golden model, ``pos`` bytes in; the last chunk request."""
    model = golden_model()
    b.request(0x02, struct.pack("<I", len(model)), seq=0x4000)
    b.request(0x03, struct.pack("<I", 0) + model[:300], seq=0x4001)
    body = struct.pack("<I", 300) + model[300:pos]
    b.request(0x03, body, seq=0x4002)
    return 0x03, 0x4002, body


def no_model(b) -> None:
    b.reset()
    return None


SITUATIONS = {"model": with_model, "upload": mid_upload, "empty": no_model}
# for the chunk-size limits: more than max_chunk bytes of the file still to come
SETUPS = {**SITUATIONS, "early upload": lambda b: mid_upload(b, 700)}


def refusals(caps) -> list[tuple[str, bytes, dict[str, int]]]:
    """(name, bytes on the wire, expected error code per situation; key "*": any situation)."""
    from erbp.boards import client as B

    def req(msg_type: int, body: bytes = b"", **kw) -> bytes:
        return wire(frame_payload(msg_type, body, seq=0x7777, **kw))

    bad_crc = bytearray(frame_payload(B.MSG_LOAD_END, b"", seq=0x7777))
    bad_crc[-1] ^= 0x10
    px = sample_body()
    no = B.ERR_NO_MODEL
    model = golden_model()
    return [
        # frames that cannot be trusted
        ("CRC", wire(bytes(bad_crc)), {"*": B.ERR_CRC}),
        ("COBS", b"\0\x05\x01\x02\0", {"*": B.ERR_FRAMING}),
        ("short frame", wire(b"\x01\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
         {"*": B.ERR_FRAMING}),
        ("over the receive buffer", b"\0" + b"\x07" * 9000 + b"\0", {"*": B.ERR_TOO_LONG}),
        ("payload of max_frame + 1", wire(frame_payload(B.MSG_LOAD_CHUNK,
                                                        bytes(caps.max_frame - 11))),
         {"*": B.ERR_TOO_LONG}),
        ("version", req(B.MSG_LOAD_END, version=1), {"*": B.ERR_VERSION}),
        ("flags", req(B.MSG_LOAD_END, flags=1), {"*": B.ERR_FLAGS}),
        # unknown types
        *[(f"type 0x{t:02x}", req(t), {"*": B.ERR_UNKNOWN_TYPE}) for t in (0x00, 0x09, 0x7F,
                                                                          0x82, 0xFF)],
        # lengths
        ("HELLO with a body", req(B.MSG_HELLO, b"\0"), {"*": B.ERR_LENGTH}),
        ("LOAD_BEGIN 3 bytes", req(B.MSG_LOAD_BEGIN, b"\0" * 3), {"*": B.ERR_LENGTH}),
        ("LOAD_BEGIN 5 bytes", req(B.MSG_LOAD_BEGIN, b"\0" * 5), {"*": B.ERR_LENGTH}),
        ("empty LOAD_CHUNK", req(B.MSG_LOAD_CHUNK, struct.pack("<I", 800)), {"*": B.ERR_LENGTH}),
        ("LOAD_CHUNK of 1025 bytes", req(B.MSG_LOAD_CHUNK, struct.pack("<I", 800) + bytes(1025)),
         {"*": B.ERR_LENGTH}),
        ("LOAD_END with a body", req(B.MSG_LOAD_END, b"\0"), {"*": B.ERR_LENGTH}),
        ("SAMPLE 7 bytes", req(B.MSG_SAMPLE, px[:7]), {"*": B.ERR_LENGTH}),
        ("SAMPLE one pixel short", req(B.MSG_SAMPLE, px[:-1]), {"*": B.ERR_LENGTH}),
        ("SAMPLE one pixel over", req(B.MSG_SAMPLE, px + b"\1"), {"*": B.ERR_LENGTH}),
        *[(f"{name} {n} bytes", req(t, bytes(n)), {"*": B.ERR_LENGTH})
          for name, t in (("MODEL_READ", B.MSG_MODEL_READ), ("STATE_READ", B.MSG_STATE_READ))
          for n in (5, 7)],
        ("RESET with a body", req(B.MSG_RESET, b"\0"), {"*": B.ERR_LENGTH}),
        # the upload out of turn
        ("stray LOAD_CHUNK", req(B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + model[:1000]),
         {"model": B.ERR_NOT_LOADING, "empty": B.ERR_NOT_LOADING, "upload": B.ERR_OFFSET}),
        ("chunk ahead", req(B.MSG_LOAD_CHUNK, struct.pack("<I", 900) + model[900:1000]),
         {"model": B.ERR_NOT_LOADING, "empty": B.ERR_NOT_LOADING, "upload": B.ERR_OFFSET}),
        ("chunk past the announced size",
         req(B.MSG_LOAD_CHUNK, struct.pack("<I", 800) + model[800:] + b"\0"),
         {"model": B.ERR_NOT_LOADING, "empty": B.ERR_NOT_LOADING, "upload": B.ERR_ARGUMENT}),
        ("stray LOAD_END", req(B.MSG_LOAD_END),
         {"model": B.ERR_NOT_LOADING, "empty": B.ERR_NOT_LOADING, "upload": B.ERR_OFFSET}),
        ("LOAD_BEGIN shorter than a model", req(B.MSG_LOAD_BEGIN, struct.pack("<I", MIN_MODEL - 1)),
         {"*": B.ERR_MODEL}),
        ("LOAD_BEGIN larger than the board",
         req(B.MSG_LOAD_BEGIN, struct.pack("<I", caps.max_model_bytes + 1)), {"*": B.ERR_NO_MEMORY}),
        # samples and reads
        ("SAMPLE n_in - 1 pixels", req(B.MSG_SAMPLE, sample_body(n=N_IN - 1)),
         {"model": B.ERR_ARGUMENT, "*": no}),
        ("SAMPLE mode 2", req(B.MSG_SAMPLE, sample_body(mode=2)), {"model": B.ERR_ARGUMENT, "*": no}),
        ("SAMPLE mode 0x41", req(B.MSG_SAMPLE, sample_body(mode=0x41)),
         {"model": B.ERR_ARGUMENT, "*": no}),
        ("SAMPLE label n_out", req(B.MSG_SAMPLE, sample_body(label=N_OUT)),
         {"model": B.ERR_ARGUMENT, "*": no}),
        ("SAMPLE bad zero runs", req(B.MSG_SAMPLE, struct.pack("<IBBH", 0, 0x81, 3, N_IN) + b"\xbe"),
         {"*": B.ERR_ARGUMENT}),
        ("MODEL_READ past the end", req(B.MSG_MODEL_READ, struct.pack("<IH", len(model) + 1, 16)),
         {"model": B.ERR_ARGUMENT, "*": no}),
        ("STATE_READ past the end", req(B.MSG_STATE_READ, struct.pack("<IH", 1 << 20, 16)),
         {"model": B.ERR_ARGUMENT, "*": no}),
    ]


def test_stray_upload_frames_keep_the_live_model(b):
    """A LOAD_CHUNK or LOAD_END without LOAD_BEGIN is refused (NOT_LOADING) and the model,
    with the weights it learned on the board, stays live and unchanged."""
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused

    with_model(b)
    model, state = b.read_model(), b.read_state()
    assert model != golden_model()  # it learned
    for msg_type, body in ((B.MSG_LOAD_CHUNK, struct.pack("<I", 0) + model[:100]),
                           (B.MSG_LOAD_CHUNK, struct.pack("<I", 100) + model[100:200]),
                           (B.MSG_LOAD_END, b"")):
        with pytest.raises(BoardRefused) as e:
            b.request(msg_type, body)
        assert e.value.code == B.ERR_NOT_LOADING
        caps = b.hello()
        assert caps.model_loaded and not caps.loading and caps.samples_seen == 3
        assert b.read_model() == model and b.read_state() == state


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_refused_requests_change_nothing(b, situation):
    setup = SITUATIONS[situation]
    last = setup(b)
    reference = snapshot(b, last)
    assert reference["caps"].model_loaded == (situation == "model")
    assert reference["caps"].loading == (situation == "upload")
    problems = []
    for name, raw, codes in refusals(reference["caps"]):
        want = codes.get(situation, codes.get("*"))
        code = (refusal(b, raw) or (None, 0))[0]
        after = snapshot(b, last)
        changed = [k for k in reference if reference[k] != after.get(k)]
        if code != want or changed:
            problems.append(f"{name}: error {code} (documented {want}), changed {changed}")
            last = setup(b)  # start again from a known state
            reference = snapshot(b, last)
    assert not problems, "\n".join(problems)


def test_refused_model_file_ends_its_upload_and_the_answer_is_cached(b):
    """The one refusal that changes the board: a chunk whose bytes make the model file certain to
    be refused ends that upload (the model before it was dropped by LOAD_BEGIN). Its answer is
    cached like an applied request's: re-sent, it gets the same answer."""
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused
    from erbp.reference.params import word_count

    model = bytearray(golden_model())
    model[24:28] = struct.pack("<i", 5000)  # n_in out of range
    b.request(B.MSG_LOAD_BEGIN, struct.pack("<I", len(model)))
    body = struct.pack("<I", 0) + bytes(model[:24 + 4 * word_count() + 16])  # past the config
    answers = []
    for _ in range(2):
        with pytest.raises(BoardRefused) as e:
            b.request(B.MSG_LOAD_CHUNK, body, seq=0x5000)
        answers.append((e.value.code, e.value.value, e.value.board_message))
    assert answers[0] == answers[1] and answers[0][0] == B.ERR_MODEL
    caps = b.hello()
    assert not caps.model_loaded and not caps.loading
    assert upload_position(b) == (B.ERR_NOT_LOADING, 0)


# (situation, message, body, expected (code, value), or None: accepted). Each rule of
# docs/protocol.md at its limit (accepted) and just past it (refused with the documented error).
def limit_cases(caps, state_bytes: int) -> list[tuple[str, str, int, bytes, tuple[int, int] | None]]:
    from erbp.boards import client as B

    model = golden_model()
    n_model = len(model)
    def chunk(offset: int, n: int) -> bytes:
        return struct.pack("<I", offset) + model[offset: offset + n]

    # zero-run coded pixels need n + len(code) + 16 <= max_frame to expand in place: n zeros
    # take ceil(n / 128) tokens
    room = max(n for n in range(caps.max_frame) if n + -(-n // 128) + 16 <= caps.max_frame)
    zr = B.SAMPLE_ZRUN
    return [
        ("model", "HELLO", B.MSG_HELLO, b"", None),
        ("model", "HELLO", B.MSG_HELLO, b"\0", (B.ERR_LENGTH, 0)),
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, b"\0" * 3, (B.ERR_LENGTH, 4)),
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, b"\0" * 5, (B.ERR_LENGTH, 4)),
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, struct.pack("<I", MIN_MODEL - 1),
         (B.ERR_MODEL, 17)),  # ERBP_E_FILE_TRUNCATED
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, struct.pack("<I", MIN_MODEL), None),
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, struct.pack("<I", caps.max_model_bytes), None),
        ("model", "LOAD_BEGIN", B.MSG_LOAD_BEGIN, struct.pack("<I", caps.max_model_bytes + 1),
         (B.ERR_NO_MEMORY, caps.arena_bytes)),
        ("early upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, b"\0" * 3, (B.ERR_LENGTH, 5)),
        ("early upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(700, 0), (B.ERR_LENGTH, 5)),
        ("early upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(700, 1), None),
        ("early upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(700, 1024), None),
        ("early upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(700, 1025), (B.ERR_LENGTH, 1028)),
        ("upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(801, 1), (B.ERR_OFFSET, 800)),
        ("upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(800, n_model - 800), None),
        ("upload", "LOAD_CHUNK", B.MSG_LOAD_CHUNK, chunk(800, n_model - 800) + b"\0",
         (B.ERR_ARGUMENT, n_model)),
        ("upload", "LOAD_END", B.MSG_LOAD_END, b"", (B.ERR_OFFSET, 800)),
        ("upload", "LOAD_END", B.MSG_LOAD_END, b"\0", (B.ERR_LENGTH, 0)),
        ("model", "LOAD_END", B.MSG_LOAD_END, b"", (B.ERR_NOT_LOADING, 0)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body()[:7], (B.ERR_LENGTH, 8)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body()[:-1], (B.ERR_LENGTH, 8 + N_IN)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body() + b"\1", (B.ERR_LENGTH, 8 + N_IN)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(n=N_IN - 1), (B.ERR_ARGUMENT, N_IN)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(n=N_IN + 1), (B.ERR_ARGUMENT, N_IN)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(label=N_OUT - 1), None),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(label=N_OUT), (B.ERR_ARGUMENT, N_OUT)),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(mode=0, label=200), None),
        ("model", "SAMPLE", B.MSG_SAMPLE, sample_body(mode=2), (B.ERR_ARGUMENT, 2)),
        ("model", "SAMPLE", B.MSG_SAMPLE,
         struct.pack("<IBBH", 0, zr, 255, room) + B.zero_runs(bytes(room)),
         (B.ERR_ARGUMENT, N_IN)),  # expands, then the pixel count is wrong for the model
        ("model", "SAMPLE", B.MSG_SAMPLE,
         struct.pack("<IBBH", 0, zr, 255, room + 1) + B.zero_runs(bytes(room + 1)),
         (B.ERR_ARGUMENT, room + 1)),  # no room to expand
        ("empty", "SAMPLE", B.MSG_SAMPLE, sample_body(), (B.ERR_NO_MODEL, 0)),
        *[(s, name, t, body, want)
          for name, t, total in (("MODEL_READ", B.MSG_MODEL_READ, n_model),
                                 ("STATE_READ", B.MSG_STATE_READ, state_bytes))
          for s, body, want in (
              ("model", b"\0" * 5, (B.ERR_LENGTH, 6)),
              ("model", b"\0" * 7, (B.ERR_LENGTH, 6)),
              ("model", struct.pack("<IH", total, 1024), None),
              ("model", struct.pack("<IH", total + 1, 1024), (B.ERR_ARGUMENT, total)),
              ("empty", struct.pack("<IH", 0, 16), (B.ERR_NO_MODEL, 0)))],
        ("model", "RESET", B.MSG_RESET, b"\0", (B.ERR_LENGTH, 0)),
        ("model", "RESET", B.MSG_RESET, b"", None),
        ("model", "type", 0x00, b"", (B.ERR_UNKNOWN_TYPE, 0x00)),
        ("model", "type", 0x09, b"", (B.ERR_UNKNOWN_TYPE, 0x09)),
    ]


def test_length_and_range_limits(b):
    from erbp.boards import client as B
    from erbp.boards.client import BoardRefused

    caps = b.hello()
    with_model(b)
    state_bytes, _ = B.READ_REPLY.unpack(b.request(B.MSG_STATE_READ, struct.pack("<IH", 0, 0)))
    problems = []
    for situation, name, msg_type, body, want in limit_cases(caps, state_bytes):
        SETUPS[situation](b)
        try:
            b.request(msg_type, body)
            got = None
        except BoardRefused as e:
            got = (e.code, e.value)
        if got != want:
            problems.append(f"{name} ({situation}) body of {len(body)} bytes: {got}, documented "
                            f"{want}")
    # frames: payload lengths at and past their limits
    short = frame_payload(B.MSG_HELLO, b"")[:11]
    got = refusal(b, wire(short))
    if got != (B.ERR_FRAMING, 11):
        problems.append(f"payload of 11 bytes: {got}")
    for n, want in ((caps.max_frame, (B.ERR_LENGTH, 1028)),
                    (caps.max_frame + 1, (B.ERR_TOO_LONG, caps.max_frame))):
        got = refusal(b, wire(frame_payload(B.MSG_LOAD_CHUNK, bytes(n - 12))))
        if got != want:
            problems.append(f"payload of {n} bytes: {got}, documented {want}")
    assert not problems, "\n".join(problems)


def test_a_refusal_between_a_sample_and_its_resending_does_not_train_twice(b):
    """The board applied a training sample whose answer was lost; a refused request arrives
    (a stray frame); the host re-sends the sample: answered from the cache, learned once."""
    from erbp.boards import client as B

    msg_type, seq, body = with_model(b)
    first = b.request(msg_type, body, seq=seq)
    for raw in (wire(frame_payload(B.MSG_SAMPLE, sample_body(label=N_OUT), seq=seq + 1)),
                wire(frame_payload(B.MSG_LOAD_END, b"", seq=seq)),  # same seq, other frame
                wire(frame_payload(B.MSG_LOAD_BEGIN, struct.pack("<I", 1), seq=seq + 2))):
        assert refusal(b, raw) is not None
        assert b.request(msg_type, body, seq=seq) == first
    assert b.hello().samples_seen == 3
