"""Data sets for training and evaluation: MNIST (IDX files) and scikit-learn's 8x8 digits.

Every loader returns a :class:`Dataset`: images flattened to uint8 rows (pixel values 0..255, one
column per input neuron, row-major over the image) and integer labels 0..n_classes-1. Labels are
checked when the files are loaded: IDX files do not declare a number of classes, so it is the
largest training label + 1 (at most 64, a network's most outputs), and a test label outside those
classes is refused with the file and position (:func:`check_labels`).

Where MNIST is looked for (first match wins):

1. the ``data_dir`` argument (``erbp train --data-dir``);
2. the environment variable ``ERBP_DATA``;
3. ``../shared/data/mnist`` relative to the current directory, if that directory exists (a
   workspace's shared copy beside the repository);
4. the default cache directory ``~/.cache/erbp/mnist``.

A directory given by 1, 2 or 3 must already hold the four files (each ``.gz`` or raw, detected by
content); nothing is downloaded into it unless ``download=True``. Only the default cache downloads
missing files by default: from the mirrors in ``ERBP_MNIST_MIRRORS`` (comma/space separated base
URLs) or else :data:`MNIST_MIRRORS`, each file verified by the SHA-256 of its decompressed IDX
content (so any faithful gzip of the standard data verifies), written atomically.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .download import DownloadError, fetch, parse_mirrors
from .idx import IDX_UBYTE, IdxError, decompress, read_idx
from ..errors import ErbpError
from ..reference.params import FIELD_BY_NAME

DATA_ENV = "ERBP_DATA"
#: The most classes a data set may have: a network's largest number of outputs (n_out).
MAX_CLASSES = FIELD_BY_NAME["n_out"].hi
MIRRORS_ENV = "ERBP_MNIST_MIRRORS"

#: Public MNIST mirrors (base URLs), tried in order.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: The four MNIST files: role -> (file stem, SHA-256 of the decompressed IDX content, its size).
MNIST_FILES: dict[str, tuple[str, str, int]] = {
    "train_x": ("train-images-idx3-ubyte",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
    "train_y": ("train-labels-idx1-ubyte",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
    "test_x": ("t10k-images-idx3-ubyte",
               "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
    "test_y": ("t10k-labels-idx1-ubyte",
               "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
}


class DatasetError(ErbpError, RuntimeError):
    """A data set that cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Dataset:
    """A classification data set with integer pixels.

    ``train_x``/``test_x``: uint8 arrays (N, n_in), pixel values 0..255. ``train_y``/``test_y``:
    int64 arrays (N,), labels 0..n_classes-1. ``image_shape``: (height, width) of one image.
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    image_shape: tuple[int, int]
    n_classes: int = 10

    @property
    def n_in(self) -> int:
        """Inputs (pixels) per sample."""
        return int(self.train_x.shape[1])

    def default_topology(self, hidden: int = 100) -> str:
        """``"<n_in>-<hidden>-<n_classes>"``: one hidden layer sized for this data set."""
        return f"{self.n_in}-{hidden}-{self.n_classes}"


# --- where MNIST lives ----------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``~/.cache/erbp/mnist`` (``~`` is the current user's home directory)."""
    return Path.home() / ".cache" / "erbp" / "mnist"


def shared_copy_dir(base: str | os.PathLike | None = None) -> Path:
    """Where a workspace keeps its shared copy: ``data/mnist`` in the ``shared`` folder beside
    ``base`` (default: the current directory), i.e. ``base/../shared/data/mnist``."""
    return Path(base if base is not None else Path.cwd()).parent / "shared" / "data" / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The MNIST directory and where it came from: "argument", "ERBP_DATA", "shared copy" or
    "default cache" (the order of the module docstring)."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser(), "argument"
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser(), DATA_ENV
    shared = shared_copy_dir()
    if shared.is_dir():
        return shared, "shared copy"
    return default_cache_dir(), "default cache"


def mnist_mirrors(mirrors: Sequence[str] | None = None) -> list[str]:
    """The mirror list: the argument, else ``ERBP_MNIST_MIRRORS``, else :data:`MNIST_MIRRORS`."""
    if mirrors is not None:
        return list(mirrors)
    env = os.environ.get(MIRRORS_ENV, "")
    return parse_mirrors(env) if env.strip() else list(MNIST_MIRRORS)


def find_idx_file(directory: Path, stem: str) -> Path | None:
    """The file holding ``stem`` in ``directory``: ``stem.gz``, ``stem``, or the ``.idx`` spelling
    (``train-images.idx3-ubyte``) with or without ``.gz``; None if there is none."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, alt + ".gz", alt):
        p = directory / name
        if p.is_file():
            return p
    return None


def idx_content_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's IDX content, decompressed first if it is gzip."""
    return hashlib.sha256(decompress(path.read_bytes(), str(path))).hexdigest()


def download_mnist(directory: str | os.PathLike, mirrors: Sequence[str] | None = None,
                   timeout: float = 60.0, roles: Sequence[str] | None = None) -> list[Path]:
    """Download the MNIST ``.gz`` files (all, or those of ``roles``) into ``directory``, each
    verified and renamed into place atomically. Raises DatasetError if a file cannot be had."""
    out = []
    for role in roles or MNIST_FILES:
        stem, sha, _ = MNIST_FILES[role]
        try:
            out.append(fetch(stem + ".gz", directory, mnist_mirrors(mirrors), sha,
                             digest=idx_content_sha256, timeout=timeout, log=_stderr))
        except DownloadError as e:
            raise DatasetError(f"MNIST download failed: {e}") from e
    return out


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mnist_files(data_dir: str | os.PathLike | None = None, *, download: bool | None = None,
                mirrors: Sequence[str] | None = None, timeout: float = 60.0) -> dict[str, Path]:
    """The four MNIST IDX files by role (``train_x``, ``train_y``, ``test_x``, ``test_y``), found
    where the module docstring says, missing ones downloaded (verified) where allowed.

    ``download``: None (default) downloads missing files only into the default cache; True also
    into a given directory; False never. ``timeout`` in seconds per network operation.
    """
    directory, source = resolve_data_dir(data_dir)
    if download is None:
        download = source == "default cache"
    where = f"{directory} (from {source})"
    if not download and not directory.is_dir():
        raise DatasetError(f"MNIST data directory {where} does not exist; set --data-dir or "
                           f"{DATA_ENV} to a directory holding the four MNIST IDX files")
    paths = {role: find_idx_file(directory, stem) for role, (stem, _, _) in MNIST_FILES.items()}
    missing = [role for role, p in paths.items() if p is None]
    if missing:
        if not download:
            names = ", ".join(MNIST_FILES[r][0] + "[.gz]" for r in missing)
            raise DatasetError(f"MNIST files missing in {where}: {names}")
        for role, p in zip(missing, download_mnist(directory, mirrors, timeout, missing)):
            paths[role] = p
    return paths  # type: ignore[return-value]  # every role found or downloaded


def load_mnist(data_dir: str | os.PathLike | None = None, *, download: bool | None = None,
               mirrors: Sequence[str] | None = None, timeout: float = 60.0) -> Dataset:
    """MNIST from IDX files (see the module docstring for where they are looked for; the
    arguments are those of :func:`mnist_files`)."""
    paths = mnist_files(data_dir, download=download, mirrors=mirrors, timeout=timeout)
    try:
        arrays = {role: read_idx(p, expect_type=IDX_UBYTE) for role, p in paths.items()}
    except IdxError as e:
        raise DatasetError(f"MNIST: {e}") from e
    return _check_image_set("mnist", arrays, {r: str(p) for r, p in paths.items()})


def _check_image_set(name: str, a: dict[str, np.ndarray], src: dict[str, str]) -> Dataset:
    """Check the shapes and types of parsed IDX arrays and build the Dataset."""
    for role in ("train_x", "test_x"):
        x = a[role]
        if x.ndim != 3 or x.dtype != np.uint8:
            raise DatasetError(f"{src[role]}: expected unsigned-byte images (N, H, W), got "
                               f"{x.dtype} of shape {x.shape}")
    for role in ("train_y", "test_y"):
        y = a[role]
        if y.ndim != 1 or y.dtype != np.uint8:
            raise DatasetError(f"{src[role]}: expected unsigned-byte labels (N,), got {y.dtype} "
                               f"of shape {y.shape}")
    for x, y in (("train_x", "train_y"), ("test_x", "test_y")):
        if len(a[x]) != len(a[y]):
            raise DatasetError(f"{src[x]} holds {len(a[x])} images but {src[y]} holds "
                               f"{len(a[y])} labels")
    if a["train_x"].shape[1:] != a["test_x"].shape[1:]:
        raise DatasetError(f"training images are {a['train_x'].shape[1:]}, test images "
                           f"{a['test_x'].shape[1:]}")
    n_classes = check_labels(a["train_y"], a["test_y"], src["train_y"], src["test_y"])
    h, w = a["train_x"].shape[1:]
    return Dataset(name=name,
                   train_x=a["train_x"].reshape(len(a["train_x"]), h * w),
                   train_y=a["train_y"].astype(np.int64),
                   test_x=a["test_x"].reshape(len(a["test_x"]), h * w),
                   test_y=a["test_y"].astype(np.int64),
                   image_shape=(int(h), int(w)), n_classes=n_classes)


def check_labels(train_y: np.ndarray, test_y: np.ndarray, train_name: str = "training labels",
                 test_name: str = "test labels", n_classes: int | None = None) -> int:
    """Check the labels of a data set and return its number of classes: ``n_classes`` if given
    (2..:data:`MAX_CLASSES`), else (files that do not declare it) the largest training label + 1
    (at least 2, at most :data:`MAX_CLASSES`). Every label, training or test, must be one of
    these classes: a test label no training example has would make a network with an output that
    nothing trains (DatasetError naming the file, the position and the label). The one check of
    labels for every data set that is not built in (MNIST files, :mod:`erbp.data.own`)."""
    if len(train_y) == 0:
        raise DatasetError(f"{train_name}: no training examples")
    of = ""
    if n_classes is None:
        top = int(np.argmax(train_y))
        n_classes = max(int(train_y[top]) + 1, 2)
        if n_classes > MAX_CLASSES:
            raise DatasetError(f"{train_name}: label {int(train_y[top])} at position {top}: "
                               f"labels must lie in [0, {MAX_CLASSES}) (a network has at most "
                               f"{MAX_CLASSES} outputs)")
        of = " of the training labels"
    elif not 2 <= n_classes <= MAX_CLASSES:
        raise DatasetError(f"{n_classes} classes: a network has 2..{MAX_CLASSES} outputs")
    for y, name in ((train_y, train_name), (test_y, test_name)):
        bad = np.flatnonzero((y < 0) | (y >= n_classes))
        if len(bad):
            more = f"; {len(bad)} labels are outside" if len(bad) > 1 else ""
            raise DatasetError(f"{name}: label {int(y[bad[0]])} at position {bad[0]} is not one "
                               f"of the {n_classes} classes{of} (0..{n_classes - 1}){more}")
    return n_classes


# --- the 8x8 digits demo --------------------------------------------------------------------------
def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), pixels 0..16 scaled to
    0..255 (round(v * 255 / 16)), 64 inputs. Fixed split: every fifth image (index % 5 == 4) is a
    test image (359 test, 1438 training)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as e:
        raise DatasetError('the digits data set needs scikit-learn: pip install "erbp[demo]"') \
            from e
    d = sk_load_digits()
    x = ((d.data.astype(np.int64) * 255 + 8) // 16).astype(np.uint8)
    y = d.target.astype(np.int64)
    test = np.arange(len(y)) % 5 == 4
    return Dataset(name="digits", train_x=x[~test], train_y=y[~test], test_x=x[test],
                   test_y=y[test], image_shape=(8, 8), n_classes=10)


#: Data sets by name: name -> loader(data_dir) (data_dir is ignored by download-free sets).
DATASETS: dict[str, Callable[..., Dataset]] = {
    "mnist": lambda data_dir=None: load_mnist(data_dir),
    "digits": lambda data_dir=None: load_digits(),
}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """A data set by name (see :data:`DATASETS`), or your own: the path of an ``.npz`` file or of
    a folder of IDX files (:mod:`erbp.data.own`)."""
    if name in DATASETS:
        return DATASETS[name](data_dir)
    if is_path(name):
        from .own import load_path

        return load_path(name)
    raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}, or the path of "
                       f"an .npz file or a folder of IDX files")


def is_path(name: str) -> bool:
    """Whether a ``--dataset`` value names a file or folder rather than a built-in data set."""
    return name not in DATASETS and (os.sep in name or name.endswith(".npz")
                                     or Path(name).expanduser().exists())
