"""libFuzzer on the firmware's frame parser and command handler (firmware/fuzz/fuzz_proto.c: the
same src/proto.c, src/modelio.c and cport the boards run; clang, ASan + UBSan), for a bounded time,
from a seed corpus of valid requests. The target aborts if the board ever sends an invalid frame."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest

from firmware_support import FIRMWARE, GOLDEN, make

FUZZ_SECONDS = int(os.environ.get("ERBP_FUZZ_SECONDS", "15"))


def seed_corpus(directory):
    from erbp.boards import client as B

    model = (GOLDEN / "mnistlike_erbp_64.erbp").read_bytes()
    frames = {
        "hello": B.encode_frame(B.MSG_HELLO, 1),
        "infer": B.encode_frame(B.MSG_SAMPLE, 2, struct.pack("<IBBH", 5, 0, 255, 64) + bytes(range(64))),
        "train": B.encode_frame(B.MSG_SAMPLE, 3, struct.pack("<IBBH", 0, 1, 4, 64) + bytes(range(64, 128))),
        "zrun": B.encode_frame(B.MSG_SAMPLE, 10, struct.pack("<IBBH", 5, 0x80, 255, 64)
                               + B.zero_runs(bytes(20) + bytes(range(1, 30)) + bytes(15))),
        "read": B.encode_frame(B.MSG_MODEL_READ, 4, struct.pack("<IH", 1700, 100)),
        "state": B.encode_frame(B.MSG_STATE_READ, 5, struct.pack("<IH", 0, 64)),
        "load": B.encode_frame(B.MSG_LOAD_BEGIN, 6, struct.pack("<I", len(model)))
        + B.encode_frame(B.MSG_LOAD_CHUNK, 7, struct.pack("<I", 0) + model[:300])
        + B.encode_frame(B.MSG_LOAD_CHUNK, 8, struct.pack("<I", 300) + model[300:]),
        "reset": B.encode_frame(B.MSG_RESET, 9),
    }
    for name, data in frames.items():
        # first byte odd: the harness uploads the model first; even: no model
        (directory / f"{name}-model").write_bytes(b"\x01" + data)
        (directory / f"{name}-empty").write_bytes(b"\x00" + data)


def test_libfuzzer_finds_nothing(tmp_path):
    if shutil.which("clang") is None:
        pytest.fail("clang not found: the protocol fuzz test needs it; run `make setup`")
    make("fuzz")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed_corpus(corpus)
    env = dict(os.environ, FW_FUZZ_MODEL=str(GOLDEN / "mnistlike_erbp_64.erbp"))
    r = subprocess.run([str(FIRMWARE / "build/fuzz/fuzz_proto"), str(corpus),
                        f"-max_total_time={FUZZ_SECONDS}", "-max_len=4096", "-timeout=10",
                        f"-artifact_prefix={tmp_path}/"],
                       capture_output=True, text=True, env=env, timeout=FUZZ_SECONDS + 120)
    tail = r.stderr[-4000:]
    assert r.returncode == 0, f"the fuzzer found a failure:\n{tail}"
    runs = [line for line in r.stderr.splitlines() if line.startswith("Done ")]
    assert runs and int(runs[0].split()[1]) > 1000, tail  # it did run
