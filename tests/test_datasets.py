"""Data sets: MNIST from IDX files (where it is looked for, verified downloads), the 8x8 digits."""
from __future__ import annotations

import functools
import gzip
import http.server
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from erbp.data import datasets
from erbp.data.datasets import (MNIST_FILES, DatasetError, download_mnist, idx_content_sha256,
                           load_dataset, load_digits, load_mnist, mnist_mirrors,
                           resolve_data_dir)
from erbp.data.idx import encode_idx

from data_support import find_mnist, local_mnist_dir, mnist_file


def write_fake_mnist(directory: Path, n_train: int, n_test: int = 3, compress: bool = True,
                     spelling: str = "-idx") -> None:
    """A tiny MNIST-shaped data set (4x4 images) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    arrays = {"train_x": rng.integers(0, 256, (n_train, 4, 4), dtype=np.uint8),
              "train_y": (np.arange(n_train) % 10).astype(np.uint8),
              "test_x": rng.integers(0, 256, (n_test, 4, 4), dtype=np.uint8),
              "test_y": (np.arange(n_test) % 10).astype(np.uint8)}
    for role, (stem, _, _) in MNIST_FILES.items():
        name = stem.replace("-idx", spelling) + (".gz" if compress else "")
        (directory / name).write_bytes(encode_idx(arrays[role], compress=compress))


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No ERBP_DATA / ERBP_MNIST_MIRRORS, and a fresh home directory (so a fresh default cache)."""
    monkeypatch.delenv("ERBP_DATA", raising=False)
    monkeypatch.delenv("ERBP_MNIST_MIRRORS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no ../shared/data/mnist beside it
    return tmp_path / "home" / ".cache" / "erbp" / "mnist"


# --- the real MNIST -------------------------------------------------------------------------------
def test_real_mnist(mnist):
    assert mnist.name == "mnist" and mnist.image_shape == (28, 28) and mnist.n_in == 784
    assert mnist.train_x.shape == (60000, 784) and mnist.test_x.shape == (10000, 784)
    assert mnist.train_x.dtype == np.uint8 and mnist.train_y.dtype == np.int64
    assert (mnist.train_y[:5].tolist(), mnist.test_y[:3].tolist()) == ([5, 0, 4, 1, 9], [7, 2, 1])
    assert np.bincount(mnist.train_y).tolist()[:2] == [5923, 6742]
    assert mnist.train_x.max() == 255 and mnist.n_classes == 10


def test_real_mnist_content_hashes(mnist_dir):
    for role, (stem, sha, size) in MNIST_FILES.items():
        assert idx_content_sha256(mnist_file(mnist_dir, role)) == sha


# --- where MNIST is looked for --------------------------------------------------------------------
def test_precedence_argument_then_env_then_default_cache(no_env, tmp_path, monkeypatch):
    arg, env = tmp_path / "arg", tmp_path / "env"
    write_fake_mnist(arg, 11)
    write_fake_mnist(env, 12)
    write_fake_mnist(no_env, 13)  # the default cache
    monkeypatch.setenv("ERBP_DATA", str(env))
    assert resolve_data_dir(arg) == (arg, "argument")
    assert len(load_mnist(arg).train_y) == 11
    assert resolve_data_dir() == (env, "ERBP_DATA")
    assert len(load_mnist().train_y) == 12
    monkeypatch.delenv("ERBP_DATA")
    assert resolve_data_dir() == (no_env, "default cache")
    assert len(load_mnist().train_y) == 13


def test_shared_copy_beside_the_working_directory(no_env, tmp_path, monkeypatch):
    """After ERBP_DATA and before the default cache: ../shared/data/mnist (a workspace's copy);
    nothing is ever downloaded into it."""
    work = tmp_path / "ws" / "repo"
    work.mkdir(parents=True)
    shared = tmp_path / "ws" / "shared" / "data" / "mnist"
    write_fake_mnist(shared, 14)
    write_fake_mnist(no_env, 13)
    monkeypatch.chdir(work)
    assert resolve_data_dir() == (shared, "shared copy")
    assert datasets.shared_copy_dir() == datasets.shared_copy_dir(work) == shared
    assert len(load_mnist().train_y) == 14
    env = tmp_path / "env"
    write_fake_mnist(env, 12)
    monkeypatch.setenv("ERBP_DATA", str(env))
    assert resolve_data_dir() == (env, "ERBP_DATA")
    monkeypatch.delenv("ERBP_DATA")
    (shared / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="missing"):
        load_mnist()  # refused, not downloaded into the shared copy
    assert not (shared / "t10k-labels-idx1-ubyte.gz").exists()


@pytest.mark.parametrize("compress, spelling", [(False, "-idx"), (True, ".idx"), (False, ".idx")])
def test_raw_files_and_dot_idx_spelling(tmp_path, compress, spelling):
    write_fake_mnist(tmp_path, 7, compress=compress, spelling=spelling)
    d = load_mnist(tmp_path)
    assert d.train_x.shape == (7, 16) and d.image_shape == (4, 4)
    assert d.test_y.tolist() == [0, 1, 2]


def test_missing_directory_and_missing_files_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", "file:///nonexistent/")
    with pytest.raises(DatasetError, match=r"does not exist.*--data-dir or ERBP_DATA"):
        load_mnist(tmp_path / "nope")
    write_fake_mnist(tmp_path, 5)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"missing in .*\(from argument\): t10k-labels"):
        load_mnist(tmp_path)


def test_inconsistent_or_corrupt_files(tmp_path):
    write_fake_mnist(tmp_path, 5)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(encode_idx(np.zeros(4, np.uint8)))
    with pytest.raises(DatasetError, match="holds 5 images but .* holds 4 labels"):
        load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(encode_idx(np.zeros((5, 2), np.uint8)))
    with pytest.raises(DatasetError, match="expected unsigned-byte labels"):
        load_mnist(tmp_path)
    data = encode_idx(np.zeros((5, 4, 4), np.uint8), compress=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(data[:-30])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: corrupt or truncated"):
        load_mnist(tmp_path)


# --- downloads ------------------------------------------------------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields (root dir, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def link_real_mnist(mnist_dir: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for role, (stem, _, _) in MNIST_FILES.items():
        src = mnist_file(mnist_dir, role)
        if src.name.endswith(".gz"):
            (target / (stem + ".gz")).symlink_to(src)
        else:  # mirrors serve .gz files: compress a raw copy
            (target / (stem + ".gz")).write_bytes(gzip.compress(src.read_bytes(), 1))


def test_default_cache_downloads_over_http_with_fallback(no_env, http_root, mnist_dir, mnist,
                                                         monkeypatch):
    root, url = http_root
    link_real_mnist(mnist_dir, root / "good")
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", f"{url}/missing/, {url}/good/")
    d = load_mnist()
    assert sorted(p.name for p in no_env.iterdir()) == sorted(s + ".gz" for s, _, _ in
                                                              MNIST_FILES.values())
    np.testing.assert_array_equal(d.train_x, mnist.train_x)
    np.testing.assert_array_equal(d.test_y, mnist.test_y)


def test_tests_find_mnist_like_the_product(no_env, http_root, mnist_dir, tmp_path, monkeypatch):
    """tests/data_support.py: ERBP_DATA, else ../shared/data/mnist beside the repository, else
    erbp's default cache, filled by the verified download (a fresh clone with network access)."""
    root, url = http_root
    link_real_mnist(mnist_dir, root / "mirror")
    repo = tmp_path / "clone" / "erbp"  # a clone with nothing beside it
    repo.mkdir(parents=True)
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", f"{url}/mirror/")
    assert local_mnist_dir(repo) is None
    assert find_mnist(repo) == no_env
    assert sorted(p.name for p in no_env.iterdir()) == sorted(s + ".gz" for s, _, _ in
                                                              MNIST_FILES.values())
    assert idx_content_sha256(mnist_file(no_env, "test_y")) == MNIST_FILES["test_y"][1]
    shared = tmp_path / "clone" / "shared" / "data" / "mnist"
    write_fake_mnist(shared, 5)
    assert find_mnist(repo) == shared  # the project's copy beside the repository comes first
    env = tmp_path / "env"
    write_fake_mnist(env, 6)
    monkeypatch.setenv("ERBP_DATA", str(env))
    assert find_mnist(repo) == env  # and ERBP_DATA before it
    (env / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="missing"):  # a given directory is never filled
        find_mnist(repo)


def test_download_from_file_urls(tmp_path, mnist_dir):
    out = download_mnist(tmp_path / "dl", [mnist_dir.as_uri()], roles=["train_y", "test_y"])
    assert [p.name for p in out] == ["train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert all(idx_content_sha256(p) == MNIST_FILES[r][1] for p, r in zip(out, ["train_y",
                                                                              "test_y"]))
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == sorted(p.name for p in out)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_checksum_mismatch_fails_without_leaving_a_file(tmp_path, http_root, scheme):
    root, url = http_root
    write_fake_mnist(root / "fake", 9)  # right names and format, wrong content
    base = f"{url}/fake/" if scheme == "http" else (root / "fake").as_uri()
    dest = tmp_path / "dest"
    with pytest.raises(DatasetError, match="SHA-256 mismatch"):
        download_mnist(dest, [base], roles=["test_y"])
    assert list(dest.iterdir()) == []


def test_all_mirrors_failing_names_each(tmp_path, http_root, no_env, monkeypatch):
    root, url = http_root
    (root / "junk").mkdir()
    (root / "junk" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip, not idx")
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", f"{url}/junk {url}/nothing file:///nonexistent/dir")
    with pytest.raises(DatasetError) as e:
        load_mnist()
    msg = str(e.value)
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in msg
    assert f"{url}/junk/train-images-idx3-ubyte.gz: not an IDX file" not in msg
    assert f"{url}/junk/train-images-idx3-ubyte.gz: SHA-256 mismatch" in msg
    assert f"{url}/nothing/train-images-idx3-ubyte.gz: HTTP 404" in msg
    assert "file:///nonexistent/dir/train-images-idx3-ubyte.gz" in msg
    assert "\n" not in msg
    assert not no_env.exists() or list(no_env.iterdir()) == []


def test_explicit_directory_never_downloads_by_default(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", mnist_dir.as_uri())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="missing"):
        load_mnist(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


def test_mirror_list_sources(monkeypatch):
    monkeypatch.delenv("ERBP_MNIST_MIRRORS", raising=False)
    assert mnist_mirrors() == list(datasets.MNIST_MIRRORS)
    assert all(m.startswith("https://") for m in mnist_mirrors())
    monkeypatch.setenv("ERBP_MNIST_MIRRORS", " a/, b  c ")
    assert mnist_mirrors() == ["a/", "b", "c"]
    assert mnist_mirrors(["x"]) == ["x"]


# --- the 8x8 digits -------------------------------------------------------------------------------
def test_digits(digits):
    from sklearn.datasets import load_digits as sk

    raw = sk()
    assert digits.name == "digits" and digits.n_in == 64 and digits.image_shape == (8, 8)
    assert digits.train_x.shape == (1438, 64) and digits.test_x.shape == (359, 64)
    assert digits.train_x.dtype == np.uint8 and digits.train_x.max() == 255
    # fixed split: every fifth image is a test image; pixels scaled round(v * 255 / 16)
    np.testing.assert_array_equal(digits.test_x[0], np.round(raw.data[4] * 255 / 16))
    assert digits.test_y[:3].tolist() == raw.target[[4, 9, 14]].tolist()
    assert digits.default_topology() == "64-100-10"


def test_digits_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DatasetError, match=r'pip install "erbp\[demo\]"'):
        load_digits()


def test_load_dataset_by_name(digits):
    assert load_dataset("digits").train_y.tolist() == digits.train_y.tolist()
    with pytest.raises(DatasetError, match="unknown data set 'cifar'"):
        load_dataset("cifar")
