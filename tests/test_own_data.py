"""Your own data (erbp.data.own): arrays, .npz files and folders of IDX files of any size and class
count train and evaluate from the command line; bad data gets one clear line; the weights read back
as int8 arrays."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from erbp.cli import main
from erbp.data import DatasetError, from_arrays, load_dataset
from erbp.data.idx import encode_idx
from erbp.export import model_arrays
from erbp.reference import modelfile


def blobs(n: int, side: int = 5, classes: int = 3, seed: int = 0):
    """Images whose class is which third of the image is bright: learnable in a few samples."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.integers(0, 40, (n, side, side))
    for i, c in enumerate(y):
        x[i, :, c * side // classes:(c + 1) * side // classes] += 200
    return x.astype(np.uint8), y


def erbp(*args, code: int = 0, stdout: bool = False):
    r = CliRunner().invoke(main, list(map(str, args)))
    assert r.exit_code == code, r.output
    return r.stdout if stdout else r.output


def test_from_arrays_and_the_default_split():
    x, y = blobs(50)
    d = from_arrays(x, y)
    assert (d.n_in, d.n_classes, d.image_shape) == (25, 3, (5, 5))
    assert (len(d.train_y), len(d.test_y)) == (40, 10)
    np.testing.assert_array_equal(d.test_x, x[4::5].reshape(10, 25))
    assert d.train_x.dtype == np.uint8 and d.train_y.dtype == np.int64
    d2 = from_arrays(x.reshape(50, 25).astype(np.int32), y, x[:3], y[:3], n_classes=4)
    assert (len(d2.train_y), len(d2.test_y), d2.n_classes, d2.image_shape) == (50, 3, 4, (1, 25))


@pytest.mark.parametrize("args, message", [
    (lambda x, y: (x / 255.0, y), r"float64; erbp needs integer pixels 0\.\.255"),
    (lambda x, y: (x.astype(np.int16) * 2, y), r"pixel values must lie in 0\.\.255; image \d+ "),
    (lambda x, y: (x, y.astype(float)), "labels must be integers"),
    (lambda x, y: (x, y[:-1]), r"expected 50 labels"),
    (lambda x, y: (x[:, 0, 0], y), r"must be \(N, n_in\) or \(N, height, width\)"),
    (lambda x, y: (x, y - 1),
     r"training labels: label -1 at position \d+ is not one of the 2 classes .*\(0\.\.1\)"),
    (lambda x, y: (x, y * 40), r"label 80 at position \d+: labels must lie in \[0, 64\)"),
    (lambda x, y: (x, y, x[:4], np.array([0, 1, 2, 3])),
     r"test labels: label 3 at position 3 is not one of the 3 classes .*\(0\.\.2\)"),
    (lambda x, y: (x, y, x[:4, :4, :4], y[:4]), "test images have 16 pixels"),
    (lambda x, y: (x[:4], y[:4]), "cannot be split"),
])
def test_bad_arrays_are_refused_with_the_reason(args, message):
    x, y = blobs(50)
    with pytest.raises(DatasetError, match=message):
        from_arrays(*args(x, y))


def test_npz_trains_evaluates_and_exports_from_the_command_line(tmp_path):
    x, y = blobs(300, seed=1)
    xt, yt = blobs(60, seed=2)
    npz = tmp_path / "mine.npz"
    np.savez(npz, x_train=x, y_train=y, x_test=xt, y_test=yt)
    run = tmp_path / "run"
    out = erbp("train", "--dataset", npz, "--samples", 300, "--out", run, "--no-progress")
    assert "25-100-3" in out
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["options"]["dataset"] == str(npz.resolve())
    res = json.loads(erbp("eval", run, "--json", "-", stdout=True))  # data set from the run
    assert res["test_samples"] == 60 and res["test_error"] < 0.2  # 3 classes: chance is 0.67
    erbp("info", run, "--npz", tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as w:
        assert w["W0"].dtype == np.int8 and w["W0"].shape == (25, 100)
        assert w["G0"].dtype == np.int16 and w["G0"].shape == (3, 100)
        net = modelfile.load(run / "model.erbp")
        np.testing.assert_array_equal(w["W1"], net.W[1])
    assert model_arrays(run / "model.erbp")["W0"].dtype == np.int8
    erbp("export", run, "--format", "c", "--out", tmp_path / "hello")  # samples from the npz
    assert "MODEL_N_SAMPLES 20u" in (tmp_path / "hello" / "model.h").read_text()


def test_idx_folder_of_any_size_and_names(tmp_path):
    x, y = blobs(40, side=7, classes=4, seed=3)
    d = tmp_path / "idx"
    d.mkdir()
    (d / "my-train-images.idx").write_bytes(encode_idx(x, compress=True))
    (d / "my-train-labels.idx").write_bytes(encode_idx(y.astype(np.uint8)))
    data = load_dataset(str(d))
    assert (data.n_in, data.n_classes, len(data.train_y), len(data.test_y)) == (49, 4, 32, 8)
    (d / "my-test-images.idx").write_bytes(encode_idx(x[:5]))
    (d / "my-test-labels.idx").write_bytes(encode_idx(y[:5].astype(np.uint8)))
    data = load_dataset(str(d))
    assert (len(data.train_y), len(data.test_y)) == (40, 5)
    run = tmp_path / "run"
    erbp("train", "--dataset", d, "--samples", 20, "--set", "ticks_train=10", "--set",
         "ticks_infer=10", "--out", run, "--no-progress")
    assert "test error" in erbp("eval", run)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a zip"), "not a readable .npz file"),
    (lambda p: np.savez(p, images=np.zeros((5, 4), np.uint8)), "expected arrays x_train, y_train"),
    (lambda p: np.savez(p, x=np.zeros((10, 4)), y=np.zeros(10, int)), "float64"),
])
def test_bad_files_give_one_line(tmp_path, make, message):
    p = tmp_path / "bad.npz"
    make(p)
    out = erbp("train", "--dataset", p, "--samples", 5, "--out", tmp_path / "r", code=1)
    errors = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in out
    assert not (tmp_path / "r").exists()
    out = erbp("train", "--dataset", "nonsense", "--out", tmp_path / "r", code=2)
    assert "neither mnist nor digits nor a file or folder" in out
