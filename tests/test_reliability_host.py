"""Reliability of the host side (docs/reliability.md section 3): readers bound what they read by
the format's own limits, data are validated when loaded, every engine refuses the same bad sample
arguments the same way and changes nothing, JSON-lines files tolerate a torn last line only, a run
directory appears whole or not at all."""
from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest

from erbp.data.datasets import DatasetError, load_mnist
from erbp.data.idx import MAX_IDX_BYTES, IdxError, encode_idx, parse_idx, read_idx
from erbp.engines import make_engine
from erbp.fileio import FileLimitError, JsonFileError, read_json, read_jsonl
from erbp.reference import SEMANTICS_VERSION, NetConfig, Network, modelfile
from erbp.reference.params import word_count
from erbp.reference.modelfile import HEADER, MAGIC, ModelFileError, max_file_size
from erbp.training import RunOptions, start_run, train
from erbp.training.rundir import RunDir, RunDirError


# --- model files: bounded reads -------------------------------------------------------------------
def test_model_file_from_an_endless_device_is_refused_after_a_few_bytes():
    with pytest.raises(ModelFileError, match="not an erbp model file"):
        modelfile.load("/dev/zero")


def test_model_file_declaring_more_than_any_configuration_is_refused(tmp_path):
    p = tmp_path / "huge.erbp"
    p.write_bytes(HEADER.pack(MAGIC, 1, SEMANTICS_VERSION, 0x7FFFFFFF, 0, 0, word_count()) + bytes(64))
    with pytest.raises(ModelFileError, match="more than the largest valid model file"):
        modelfile.load(p)


def test_max_file_size_is_that_of_the_largest_configuration():
    cfg = NetConfig.default("4096-4096-4096-4096-4096-64", "erbp", weight_bits=16, g_amp=200)
    assert modelfile.file_size(cfg) == max_file_size()


def test_model_read_from_a_pipe_stops_at_the_declared_size(tmp_path):
    """A model followed by an endless stream: bounded by the header, reported as trailing."""
    import os
    import threading

    data = modelfile.dumps(Network.create(NetConfig.default("6-5-3", "erbp"), 1))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
                for _ in range(1000):  # 64 MB more, never read whole
                    f.write(bytes(65536))
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with pytest.raises(ModelFileError, match="unexpected bytes after the declared end"):
        modelfile.load(fifo)
    t.join(timeout=10)


# --- IDX files -----------------------------------------------------------------------------------
def idx_head(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("dims", [(0xFFFFFFFF,) * 4, (0x10000, 0x10000, 0x10000),
                                  (1 << 31, 1 << 31, 4, 4)])
def test_idx_dimensions_that_overflow_are_refused(dims, tmp_path):
    head = idx_head(0x08, *dims)
    with pytest.raises(IdxError, match="more than the"):
        parse_idx(head + bytes(16), "big.idx")
    for data in (head + bytes(16), gzip.compress(head + bytes(16))):
        (tmp_path / "big.idx").write_bytes(data)
        with pytest.raises(IdxError, match="more than the"):
            read_idx(tmp_path / "big.idx")


def test_idx_reader_reads_no_more_than_the_header_says(tmp_path):
    """A gzip bomb (a header of a small array, then megabytes of zeros) is refused as trailing
    data without decompressing it all."""
    bomb = gzip.compress(encode_idx(np.zeros((2, 2), np.uint8)) + bytes(64 << 20))
    (tmp_path / "bomb.gz").write_bytes(bomb)
    with pytest.raises(IdxError, match="trailing bytes"):
        read_idx(tmp_path / "bomb.gz")
    assert MAX_IDX_BYTES >= 47040016  # MNIST's training images fit


@pytest.mark.parametrize("code, name", [(0x0D, "32-bit float"), (0x0C, "32-bit integer"),
                                        (0x09, "signed byte")])
def test_idx_of_another_element_type_says_so_not_truncated(code, name, tmp_path):
    """MNIST-sized data (one byte per element) under another element type: the reason is the
    type, not a length."""
    from erbp.data.idx import IDX_UBYTE

    data = idx_head(code, 3, 2, 2) + bytes(12)
    (tmp_path / "f.idx").write_bytes(data)
    with pytest.raises(IdxError) as e:
        read_idx(tmp_path / "f.idx", expect_type=IDX_UBYTE)
    assert f"element type 0x{code:02x} ({name})" in str(e.value)
    assert "truncated" not in str(e.value)


def fake_mnist(d, train_y, test_y, image_code=0x08):
    n, m = len(train_y), len(test_y)
    (d / "train-images-idx3-ubyte.gz").write_bytes(encode_idx(np.zeros((n, 4, 4), np.uint8)))
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(encode_idx(np.zeros((m, 4, 4), np.uint8)))
    (d / "train-labels-idx1-ubyte.gz").write_bytes(encode_idx(np.asarray(train_y, np.uint8)))
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(encode_idx(np.asarray(test_y, np.uint8)))
    if image_code != 0x08:
        raw = bytearray((d / "train-images-idx3-ubyte.gz").read_bytes())
        raw[2] = image_code
        (d / "train-images-idx3-ubyte.gz").write_bytes(bytes(raw))


def test_mnist_with_a_float_element_type_names_the_type(tmp_path):
    fake_mnist(tmp_path, list(range(10)), [0, 1], image_code=0x0D)
    with pytest.raises(DatasetError, match=r"train-images.*element type 0x0d \(32-bit float\)"):
        load_mnist(tmp_path)


# --- labels --------------------------------------------------------------------------------------
@pytest.mark.parametrize("train_y, test_y, fragments", [
    (list(range(10)) * 2, [3, 10, 2], ["t10k-labels", "label 10 at position 1", "10 classes"]),
    ([0, 1, 200, 3], [0, 1], ["train-labels", "label 200 at position 2", "[0, 64)"]),
])
def test_labels_outside_the_classes_are_refused_with_file_and_position(tmp_path, train_y, test_y,
                                                                       fragments):
    fake_mnist(tmp_path, train_y, test_y)
    with pytest.raises(DatasetError) as e:
        load_mnist(tmp_path)
    assert all(f in str(e.value) for f in fragments), str(e.value)


def test_classes_are_the_largest_training_label_plus_one(tmp_path):
    fake_mnist(tmp_path, [0, 1, 2, 4], [4, 0])
    assert load_mnist(tmp_path).n_classes == 5


# --- JSON and JSON-lines files -------------------------------------------------------------------
def test_jsonl_tolerates_a_torn_last_line_with_a_warning(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"a": 1}\n{"a": 2}\n{"a": 3, "b')
    warnings = []
    assert read_jsonl(p, warn=warnings.append) == [{"a": 1}, {"a": 2}]
    assert len(warnings) == 1 and "last line is incomplete" in warnings[0]


@pytest.mark.parametrize("text, line", [('{"a": 1}\n{"a": 2, "b\n{"a": 3}\n', 2),
                                        ('{"a": 1}\n[1, 2]\n', 2),
                                        ('{"a": 1\n{"a": 2}\n', 1),
                                        ('{"a": 1}\n{"a": 2}x\n', 2)])
def test_jsonl_refuses_corruption_elsewhere(tmp_path, text, line):
    p = tmp_path / "m.jsonl"
    p.write_text(text)
    with pytest.raises(JsonFileError, match=f"line {line} is corrupt"):
        read_jsonl(p)


def test_json_readers_are_bounded(tmp_path):
    with pytest.raises(FileLimitError):
        read_json("/dev/zero", max_bytes=1000)
    with pytest.raises(FileLimitError):
        read_jsonl("/dev/zero", max_bytes=1000)
    p = tmp_path / "x.json"
    p.write_text("[1, 2")
    with pytest.raises(JsonFileError, match="not valid JSON"):
        read_json(p)


# --- engines: the same refusals, nothing changed -------------------------------------------------
CFG = NetConfig.default("6-5-3", "erbp").replace(ticks_train=4, ticks_infer=4, burn_in=0)
PX = np.arange(6, dtype=np.uint8) * 40


def _run_sample(**kw):
    args = {"pixels": PX, "label": 1, "mode": "train", "sample": 0} | kw
    return lambda e: e.run_sample(args["pixels"], args["label"], args["mode"], args["sample"])


def _run_samples(**kw):
    args = {"X": np.stack([PX, PX]), "labels": np.array([0, 1]), "mode": "train",
            "start_index": 0} | kw
    return lambda e: e.run_samples(args["X"], args["labels"], args["mode"], args["start_index"])


def _set_seen(v):
    def f(e):
        e.samples_seen = v
    return f


BAD_INPUTS = {
    "float pixels": (_run_sample(pixels=PX / 255), "pixels must be integers in 0..255"),
    "half pixel": (_run_sample(pixels=np.full(6, 0.5)), "pixels must be integers in 0..255"),
    "pixel 256": (_run_sample(pixels=np.full(6, 256)), "pixels must be integers in 0..255"),
    "pixel -1": (_run_sample(pixels=np.full(6, -1)), "pixels must be integers in 0..255"),
    "bool pixels": (_run_sample(pixels=np.ones(6, bool)), "pixels must be integers in 0..255"),
    "5 pixels": (_run_sample(pixels=PX[:5]), "expected 6 pixels"),
    "label 3": (_run_sample(label=3), "training needs a label in [0, 3)"),
    "label -1": (_run_sample(label=-1), "training needs a label in [0, 3)"),
    "label 1.5": (_run_sample(label=1.5), "training needs a label in [0, 3)"),
    "label True": (_run_sample(label=True), "training needs a label in [0, 3)"),
    "sample -1": (_run_sample(sample=-1), "sample index must be a uint32"),
    "sample 2^32": (_run_sample(sample=1 << 32), "sample index must be a uint32"),
    "sample 2.5": (_run_sample(sample=2.5), "sample index must be a uint32"),
    "mode": (_run_sample(mode="learn"), "mode must be one of"),
    "samples_seen -5": (_set_seen(-5), "samples_seen must be a uint32"),
    "samples_seen 2^32": (_set_seen(1 << 32), "samples_seen must be a uint32"),
    "samples_seen 1.5": (_set_seen(1.5), "samples_seen must be a uint32"),
    "batch float pixels": (_run_samples(X=np.full((2, 6), 0.5)),
                           "pixels must be integers in 0..255"),
    "batch shape": (_run_samples(X=np.zeros((2, 5), np.uint8)), "expected an array of shape"),
    "batch float labels": (_run_samples(labels=np.array([0.0, 1.5])), "labels must be integers"),
    "batch label 3 last": (_run_samples(labels=np.array([0, 3])), "labels must be integers"),
    "batch no labels": (_run_samples(labels=None), "training needs labels"),
    "batch 1 label": (_run_samples(labels=np.array([0])), "expected 2 labels"),
    "batch start -1": (_run_samples(start_index=-1), "start index must be a uint32"),
    "batch past 2^32": (_run_samples(start_index=(1 << 32) - 1),
                        "the last sample index must be a uint32"),
}


@pytest.mark.parametrize("engine", ["python", "c"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_engines_refuse_bad_sample_arguments_alike_and_change_nothing(engine, case):
    call, message = BAD_INPUTS[case]
    eng = make_engine(engine, Network.create(CFG, 5))
    eng.samples_seen = 7
    before = eng.snapshot()
    with pytest.raises(ValueError) as e:
        call(eng)
    assert message in str(e.value)
    assert eng.samples_seen == 7
    after = eng.snapshot()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_model_file_refuses_a_samples_seen_outside_u32():
    net = Network.create(CFG, 5)
    net.samples_seen = -5
    with pytest.raises(ValueError, match="samples_seen must be a uint32"):
        modelfile.dumps(net)


# --- training and run directories ----------------------------------------------------------------
def test_training_past_the_u32_counter_is_refused_before_it_starts(digits):
    net = Network.create(NetConfig.default("64-8-10", "erbp", ticks_train=2, ticks_infer=2,
                                           burn_in=0), 1)
    net.samples_seen = 0xFFFFFFFF - 2
    with pytest.raises(ValueError, match="outside 0..4294967295"):
        train(net, digits, 5)
    assert net.samples_seen == 0xFFFFFFFF - 2


def test_an_interrupted_run_creation_leaves_nothing(tmp_path, monkeypatch):
    net = Network.create(CFG, 1)

    def interrupted(self, net, state):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start_run(tmp_path / "r", net, RunOptions("digits", 5))
    assert list(tmp_path.iterdir()) == []


def test_a_run_is_never_created_in_a_directory_holding_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not empty"):
        start_run(tmp_path, Network.create(CFG, 1), RunOptions("digits", 5), exclusive=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    run = start_run(tmp_path / "empty", Network.create(CFG, 1), RunOptions("digits", 5))
    assert json.loads(run.config_path.read_text())["options"]["samples"] == 5


# --- the board client: bounded buffer, adaptive waits ---------------------------------------------
class _Silent:
    """A serial link that answers nothing but what it is given to deliver."""

    def __init__(self, deliver=()):
        self.deliver, self.sent = list(deliver), []

    def read(self, n):
        return self.deliver.pop(0) if self.deliver else b""

    def write(self, data):
        self.sent.append(bytes(data))

    def flush(self):
        pass

    def fileno(self):
        raise OSError("no descriptor")

    def close(self):
        pass


def _client(deliver=(), timeout=0.08):
    from erbp.boards.client import Board

    b = Board("loop://", timeout=timeout, retries=2)
    b.ser = _Silent(deliver)
    return b


def test_the_client_never_keeps_more_garbage_than_an_answer_can_be():
    import time

    from erbp.boards import client as B

    frame = B.encode_frame(B.MSG_HELLO | B.MSG_REPLY, 7, b"x")
    b = _client([bytes(range(1, 256)) * 16] * 40 + [frame])  # 160 kB without a delimiter
    sizes = []
    real = b.ser.read

    def read(n):
        sizes.append(len(b._buf))
        return real(n)

    b.ser.read = read
    raw = b._read_frame(time.monotonic() + 5)
    assert B.decode_frame(raw)[3] == 7
    assert max(sizes) <= B.MAX_ANSWER_BYTES + 4096


def test_short_waits_that_expire_do_not_use_up_the_retries():
    from erbp.boards import client as B

    b = _client()
    b._observe(B.MSG_HELLO, 0.001)  # a fast link: the wait drops to its floor
    assert b.wait_for(B.MSG_HELLO) == B.MIN_TIMEOUT
    with pytest.raises(B.LinkError) as e:
        b.request(B.MSG_HELLO, what="HELLO")
    # 5, 10, 20, 40 ms (probes), then the two full waits of 80 ms that `retries` allows
    assert len(b.ser.sent) == 6 and "after 6 attempts" in str(e.value)


def test_a_sample_with_a_fixed_wait_is_not_sent_again_early():
    """run(timeout=): what a measured sample uses (a re-send arriving while the board computes
    would add its receive interrupts to the instruction count)."""
    from erbp.boards import client as B

    b = _client()
    b._observe(B.MSG_SAMPLE, 0.001)  # the adaptive wait is at its floor ...
    with pytest.raises(B.LinkError):
        b.run(0, "infer", -1, bytes(4), timeout=b.timeout)
    assert len(b.ser.sent) == 2  # ... but only the two full waits `retries` allows were made


def test_a_read_announcing_more_than_any_model_is_refused():
    import struct

    from erbp.boards import client as B

    reply = B.encode_frame(B.MSG_MODEL_READ | B.MSG_REPLY, 0, struct.pack("<II", 1 << 31, 0)
                           + b"abcd")
    b = _client()
    b._seq = -1  # the next request gets seq 0, answered by `reply`
    b.ser.deliver = [reply]
    with pytest.raises(B.ProtocolMismatch, match="more than any model"):
        b.read_model()
