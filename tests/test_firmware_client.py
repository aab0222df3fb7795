"""The host's protocol client (erbp.boards.client) against scripted fake boards on a TCP socket: clear
errors for an absent board, a silent or babbling one, and one of another protocol or semantics
version; frames round-trip through the `cobs` package and zlib."""
from __future__ import annotations

import socket
import threading

import pytest

from erbp.boards import client as B


class FakeBoard:
    """Answers every frame it receives with ``respond(version, type, seq, body) -> bytes``."""

    def __init__(self, respond):
        self.respond = respond
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        buf = bytearray()
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\0" in buf:
                    i = buf.index(b"\0")
                    raw, buf = bytes(buf[:i]), buf[i + 1:]
                    if raw:
                        v, t, _, seq, body = B.decode_frame(raw)
                        conn.sendall(self.respond(v, t, seq, body))

    def close(self):
        self.srv.close()


def caps_body(semantics: int = B.SEMANTICS_VERSION, protocol: int = B.PROTOCOL_VERSION) -> bytes:
    return B.CAPS.pack(protocol, semantics, 1, 1, 4120, 1000, 2000, 25_000_000, 1, 0, 1024, 4096,
                       64, b"fake", b"fw", 3000)


@pytest.fixture
def fake():
    boards = []

    def make(respond):
        f = FakeBoard(respond)
        boards.append(f)
        return f

    yield make
    for f in boards:
        f.close()


def test_frames_round_trip():
    frame = B.encode_frame(B.MSG_SAMPLE, 0xDEADBEEF, b"\x00\x01\x00" * 100)
    assert frame[0] == 0 and frame[-1] == 0 and b"\0" not in frame[1:-1]
    assert B.decode_frame(frame[1:-1]) == (B.PROTOCOL_VERSION, B.MSG_SAMPLE, 0, 0xDEADBEEF,
                                           b"\x00\x01\x00" * 100)
    damaged = bytearray(frame[1:-1])
    damaged[5] ^= 1
    with pytest.raises(B.FrameError):
        B.decode_frame(bytes(damaged))


def test_zero_run_code():
    px = bytes(300) + bytes(range(1, 200)) + bytes(5) + b"\x07"
    code = B.zero_runs(px)
    out = bytearray()
    i = 0
    while i < len(code):
        t = code[i]
        if t >= 0x80:
            out += bytes(t - 0x7F)
            i += 1
        else:
            out += code[i + 1: i + 2 + t]
            i += 2 + t
    assert bytes(out) == px and len(code) < len(px) // 2


def test_absent_board():
    with pytest.raises(B.BoardNotFound, match="cannot open /dev/no-such-erbp-board"):
        B.Board("/dev/no-such-erbp-board")


def test_silent_board(fake):
    f = fake(lambda v, t, seq, body: b"")
    with B.Board(f.url, timeout=0.2, retries=2) as b:
        with pytest.raises(B.BoardNotFound, match="no erbp board answers"):
            b.hello()


def test_babbling_device(fake):
    f = fake(lambda v, t, seq, body: b"\x00hello from something else\x00")
    with B.Board(f.url, timeout=0.2, retries=2) as b:
        with pytest.raises(B.BoardNotFound, match="damaged answer"):
            b.hello()


def test_other_semantics_version(fake):
    f = fake(lambda v, t, seq, body: B.encode_frame(t | B.MSG_REPLY, seq, caps_body(semantics=1)))
    with B.Board(f.url, timeout=1) as b:
        with pytest.raises(B.ProtocolMismatch, match="semantics version 1; this erbp implements "
                                                     "version 2"):
            b.hello()
        assert b.hello(check=False).semantics == 1


def test_other_protocol_version(fake):
    def respond(v, t, seq, body):  # a board of protocol 1 refuses our version-2 frames
        return B.encode_frame(B.MSG_ERROR, seq, B.ERROR_HEAD.pack(B.ERR_VERSION, 0, 1) + b"v1",
                              version=1)

    f = fake(respond)
    with B.Board(f.url, timeout=1) as b:
        with pytest.raises(B.ProtocolMismatch, match="speaks protocol version 1"):
            b.hello()


def test_stale_and_duplicate_answers_are_ignored(fake):
    """Answers to earlier requests and link errors about earlier garbage do not confuse the
    client: it returns the answer with its own sequence number."""
    def respond(v, t, seq, body):
        old = B.encode_frame(B.MSG_SAMPLE | B.MSG_REPLY, seq - 1, b"old")
        err = B.encode_frame(B.MSG_ERROR, 0, B.ERROR_HEAD.pack(B.ERR_FRAMING, 0, 3) + b"short")
        return old + err + B.encode_frame(t | B.MSG_REPLY, seq, caps_body())

    f = fake(respond)
    with B.Board(f.url, timeout=1, retries=1) as b:
        assert b.hello().board == "fake" and b.retransmissions == 0


def test_typed_error_is_raised(fake):
    def respond(v, t, seq, body):
        if t == B.MSG_HELLO:
            return B.encode_frame(t | B.MSG_REPLY, seq, caps_body())
        return B.encode_frame(B.MSG_ERROR, seq, B.ERROR_HEAD.pack(B.ERR_NO_MODEL, 0, 0) + b"none")

    f = fake(respond)
    with B.Board(f.url, timeout=1) as b:
        with pytest.raises(B.BoardRefused, match="NO_MODEL") as e:
            b.run(0, "infer", -1, bytes(4))
        assert e.value.code == B.ERR_NO_MODEL
