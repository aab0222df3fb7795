"""The libFuzzer targets of firmware/fuzz/ and their seed corpora (firmware/fuzz/corpus/<target>/).

One table says how each target is run (its models, its largest input), for the bounded fuzz of
tests/test_firmware_fuzz.py and the long one of benchmarks/fuzz.py. The seed corpus is generated
from the golden models (tests/golden) by this script and committed; the test checks that the
committed files are what the script generates:

    python3 firmware/fuzz/targets.py            # (re)write firmware/fuzz/corpus/

The frames of fuzz_proto's seeds come from erbp's protocol client (erbp.boards.client).
"""
from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parents[1]
GOLDEN = ROOT / "tests" / "golden"
CORPUS = FUZZ / "corpus"
BUILD = ROOT / "firmware" / "build" / "fuzz"

# Messages (firmware/src/proto_defs.h)
HELLO, LOAD_BEGIN, LOAD_CHUNK, LOAD_END, SAMPLE, MODEL_READ, STATE_READ, RESET = range(1, 9)


@dataclass(frozen=True)
class Target:
    name: str
    models: tuple[str, ...]  # golden models given in FW_FUZZ_MODEL (none: the target needs none)
    max_len: int             # libFuzzer -max_len
    what: str

    @property
    def binary(self) -> Path:
        return BUILD / self.name

    @property
    def corpus(self) -> Path:
        return CORPUS / self.name

    def env(self) -> dict[str, str]:
        if not self.models:
            return {}
        return {"FW_FUZZ_MODEL": ":".join(str(GOLDEN / f"{m}.erbp") for m in self.models)}


SMALL_MODELS = ("erbp_small", "erbp_three_hidden", "perbp_deep_narrow", "wide_nohidden")
TARGETS = {t.name: t for t in (
    Target("fuzz_proto", ("mnistlike_erbp_64",), 4096,
           "bytes on the link (the first harness: most inputs die at the CRC)"),
    Target("fuzz_frames", SMALL_MODELS, 4096,
           "well-formed requests built from the input (structure-aware), refusals change nothing"),
    Target("fuzz_loader", (), 8192,
           "cport's model loader in chunkings from the input, against erbp_model_check"),
)}


# --- fuzz_proto: bytes on the link ------------------------------------------------------------
def proto_seeds() -> dict[str, bytes]:
    from erbp.boards.client import encode_frame as frame
    from erbp.boards.client import zero_runs

    model = (GOLDEN / "mnistlike_erbp_64.erbp").read_bytes()
    frames = {
        "hello": frame(HELLO, 1),
        "infer": frame(SAMPLE, 2, struct.pack("<IBBH", 5, 0, 255, 64) + bytes(range(64))),
        "train": frame(SAMPLE, 3, struct.pack("<IBBH", 0, 1, 4, 64) + bytes(range(64, 128))),
        "zrun": frame(SAMPLE, 10, struct.pack("<IBBH", 5, 0x80, 255, 64)
                      + zero_runs(bytes(20) + bytes(range(1, 30)) + bytes(15))),
        "read": frame(MODEL_READ, 4, struct.pack("<IH", 1700, 100)),
        "state": frame(STATE_READ, 5, struct.pack("<IH", 0, 64)),
        "load": frame(LOAD_BEGIN, 6, struct.pack("<I", len(model)))
        + frame(LOAD_CHUNK, 7, struct.pack("<I", 0) + model[:300])
        + frame(LOAD_CHUNK, 8, struct.pack("<I", 300) + model[300:]),
        "reset": frame(RESET, 9),
    }
    out = {}
    for name, data in frames.items():
        # first byte odd: the harness uploads the model first; even: no model
        out[f"{name}-model"] = b"\x01" + data
        out[f"{name}-empty"] = b"\x00" + data
    return out


# --- fuzz_frames: records (firmware/fuzz/fuzz_frames.c) ----------------------------------------
SMART, DAMAGED, RESENT, SAME_SEQ = 0x40, 0x20, 0x30, 0x80
ANY_TYPE, UPLOAD, RAW = 8, 9, 10


def rec(op: int, data: bytes = b"") -> bytes:
    return bytes([op]) + struct.pack("<H", len(data)) + data


def sample(index: int, mode: int, label: int, pixels: bytes) -> bytes:
    return struct.pack("<IBB", index, mode, label) + pixels


def frames_seeds() -> dict[str, bytes]:
    model0 = 0x01  # first byte: bit 0 = upload model (bits 1-2) first
    px = bytes((37 * i) % 256 if i % 3 else 0 for i in range(64))
    upload_steps = rec(LOAD_BEGIN - 1 | SMART, b"\1") + b"".join(
        rec(LOAD_CHUNK - 1 | SMART, struct.pack("<H", 99)) for _ in range(10)) + rec(LOAD_END - 1)
    return {
        "hello": b"\0" + rec(HELLO - 1),
        "infer-train-read": bytes([model0]) + rec(SAMPLE - 1 | SMART, sample(7, 0, 255, px))
        + rec(SAMPLE - 1 | SMART, sample(0, 1, 1, px)) + rec(SAMPLE - 1 | SMART, sample(1, 1, 2, px))
        + rec(MODEL_READ - 1 | SMART, struct.pack("<HH", 0, 1024))
        + rec(STATE_READ - 1 | SMART, struct.pack("<HH", 0, 1024)),
        "zero-runs": bytes([model0 | 2]) + rec(SAMPLE - 1 | SMART, sample(3, 0x81, 0, px)),
        "upload-in-steps": b"\0" + upload_steps + rec(SAMPLE - 1 | SMART, sample(0, 1, 0, px)),
        "whole-uploads": b"\0" + b"".join(rec(UPLOAD, bytes([m, c])) for m, c in
                                          ((0, 255), (1, 3), (2, 0), (3, 40))),
        "changed-upload": b"\0" + rec(UPLOAD, bytes([0x81, 10]) + struct.pack("<HB", 30, 0x10))
        + rec(UPLOAD, bytes([0x02, 255]) + struct.pack("<HB", 200, 0x7F)),
        "retransmit": bytes([model0]) + rec(SAMPLE - 1 | SMART, sample(0, 1, 1, px))
        + rec(RESENT) + rec(HELLO - 1) + rec(RESENT | SAME_SEQ),
        "damaged": bytes([model0]) + rec(HELLO - 1 | DAMAGED)
        + rec(SAMPLE - 1 | SMART | DAMAGED, sample(0, 1, 1, px)),
        "raw-bytes": bytes([model0]) + rec(RAW, b"\0\x05\x01\x02\0\x07\x07") + rec(HELLO - 1),
        "reset": bytes([model0]) + rec(RESET - 1) + rec(HELLO - 1) + rec(RESET - 1 | RESENT),
        "any-type": b"\0" + rec(ANY_TYPE, b"\x42") + rec(ANY_TYPE, b"\x82\0\0\0\0"),
        "stray-upload": bytes([model0]) + rec(LOAD_CHUNK - 1, struct.pack("<I", 0) + b"ERBP")
        + rec(LOAD_END - 1) + rec(LOAD_BEGIN - 1, struct.pack("<I", 7)),
    }


# --- fuzz_loader: chunk sizes and a file -------------------------------------------------------
def loader_seeds() -> dict[str, bytes]:
    out = {}
    for path in sorted(GOLDEN.glob("*.erbp")):
        data = path.read_bytes()
        for name, cuts in (("whole", b""), ("bytes", b"\1"), ("mixed", bytes([1, 7, 100, 0, 29]))):
            out[f"{path.stem}-{name}"] = bytes([len(cuts)]) + cuts + data
    return out


SEEDS = {"fuzz_proto": proto_seeds, "fuzz_frames": frames_seeds, "fuzz_loader": loader_seeds}


def seeds(target: str) -> dict[str, bytes]:
    return SEEDS[target]()


def write_corpus(root: Path = CORPUS) -> None:
    for name in TARGETS:
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            old.unlink()
        for seed, data in seeds(name).items():
            (d / seed).write_bytes(data)


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    print(f"wrote {CORPUS} ({total} bytes)")
