"""The firmware's COBS and CRC-32 (C, ASan + UBSan build) against PyPI `cobs` and zlib, and the
protocol constants of firmware/src/proto_defs.h against erbp.boards.client."""
from __future__ import annotations

import random
import re
import subprocess
import zlib

import pytest
from cobs import cobs

from firmware_support import FIRMWARE, make


@pytest.fixture(scope="module")
def codec():
    make("codec-test")
    proc = subprocess.Popen([str(FIRMWARE / "build/host/codec_test")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(op: str, data: bytes) -> str:
        proc.stdin.write(f"{op} {data.hex()}\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    yield ask
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0  # ASan/UBSan would have failed the process


def vectors():
    rng = random.Random(1)
    out = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x01" * 253, b"\x01" * 254, b"\x01" * 255,
           b"\x01" * 254 + b"\x00", b"\x00" + b"\x01" * 254, bytes(range(256)) * 3,
           b"\x01\x00\x02\x00\x00\xff"]
    for n in (1, 2, 3, 100, 253, 254, 255, 256, 507, 508, 509, 1000, 4120):
        for zeros in (0.0, 0.1, 0.5, 0.9):
            out.append(bytes(0 if rng.random() < zeros else rng.randrange(1, 256)
                             for _ in range(n)))
    return out


def test_cobs_encode_and_decode_match_the_cobs_package(codec):
    for v in vectors():
        enc = cobs.encode(v)
        assert codec("enc", v) == enc.hex(), v[:16]
        assert codec("dec", enc) == v.hex()


def test_cobs_decoder_refuses_what_the_package_refuses(codec):
    rng = random.Random(2)
    refused = 0
    for _ in range(300):
        raw = bytes(rng.randrange(0, 256) if rng.random() < 0.3 else rng.randrange(1, 8)
                    for _ in range(rng.randrange(1, 40)))
        try:
            want = cobs.decode(raw).hex()
        except cobs.DecodeError:
            want, refused = "ERR", refused + 1
        assert codec("dec", raw) == want, raw.hex()
    assert refused > 20  # the random inputs did exercise the error paths


def test_crc32_matches_zlib(codec):
    assert codec("crc", b"123456789") == "cbf43926"
    for v in vectors():
        assert codec("crc", v) == f"{zlib.crc32(v):08x}"


def test_protocol_constants_agree():
    """Every number of firmware/src/proto_defs.h has its twin in erbp.boards.client (FW_X is X,
    the header and CRC sizes are those of HDR and CRC), every message type, error code and mode of
    erbp.boards.client is in proto_defs.h, and ERROR_NAMES names exactly the error codes."""
    from erbp.boards import client as B

    text = (FIRMWARE / "src/proto_defs.h").read_text()
    c = {m[0]: int(m[1], 0) for m in re.findall(r"#define (FW_\w+) (0x[0-9A-Fa-f]+|\d+)u", text)}
    assert len(c) == len(re.findall(r"#define FW_\w+ ", text)) - 1  # all but FW_MIN_FRAME
    twins = {"FW_HDR_BYTES": B.HDR.size, "FW_CRC_BYTES": B.CRC.size}
    for name, value in c.items():
        python = twins.get(name, getattr(B, name.removeprefix("FW_"), None))
        assert python == value, f"{name} = {value} in proto_defs.h, {python} in erbp.boards.client"
    for name, value in vars(B).items():
        if name.startswith(("MSG_", "ERR_", "MODE_")) and isinstance(value, int):
            assert c[f"FW_{name}"] == value, name
    assert B.ERROR_NAMES == {v: n.removeprefix("FW_ERR_") for n, v in c.items()
                             if n.startswith("FW_ERR_")}
