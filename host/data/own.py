"""Your own data: arrays, an ``.npz`` file, or a folder of IDX files (``erbp train --dataset PATH``).

Every source ends in :func:`from_arrays`, which checks what erbp needs and says what is wrong:

* images: an integer array (N, n_in) or (N, H, W) with values 0..255 (converted to uint8; float
  images are refused: scale them to 0..255 and round first), 1 <= n_in <= 4096;
* labels: an integer array (N,), values 0..n_classes-1; ``n_classes`` is the largest training
  label + 1 (at least 2, at most 64: a network's outputs) unless given; every test label must be
  one of these classes (:func:`erbp.data.datasets.check_labels`, as for MNIST);
* the test split: given, or else every fifth example (index % 5 == 4) is held out, as for the 8x8
  digits.

``.npz`` files (``numpy.savez``) hold ``x_train, y_train`` and optionally ``x_test, y_test`` (the
Keras spelling), or ``x, y`` (split as above). A folder of IDX files holds training images and
labels and optionally test ones, named like MNIST's (``train-images-idx3-ubyte[.gz]``,
``t10k-labels-idx1-ubyte``, ``train-images.idx3-ubyte``) or any names containing ``train`` /
``test`` (or ``t10k``) and ``images`` / ``labels``.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .datasets import Dataset, DatasetError, check_labels, find_idx_file
from .idx import IdxError, read_idx
from ..reference.params import FIELD_BY_NAME

#: The largest number of inputs a network can have (reference/params.py).
MAX_INPUTS = FIELD_BY_NAME["n_in"].hi


def _images(x: object, what: str) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 rows (N, n_in) and the image shape (H, W) of an image array."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        raise DatasetError(f"{what}: images are {a.dtype}; erbp needs integer pixels 0..255 "
                           f"(e.g. np.round(x * 255).astype(np.uint8) for values in [0, 1])")
    if a.dtype.kind not in "iu":
        raise DatasetError(f"{what}: images must be integers 0..255, got dtype {a.dtype}")
    if a.ndim not in (2, 3) or len(a) == 0:
        raise DatasetError(f"{what}: images must be (N, n_in) or (N, height, width) with N >= 1, "
                           f"got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 255):
        bad = int(np.flatnonzero((a.reshape(-1) < 0) | (a.reshape(-1) > 255))[0])
        raise DatasetError(f"{what}: pixel values must lie in 0..255; image {bad // (a.size // len(a))}"
                           f" holds {int(a.reshape(-1)[bad])}")
    shape = (int(a.shape[1]), int(a.shape[2])) if a.ndim == 3 else (1, int(a.shape[1]))
    n_in = shape[0] * shape[1]
    if not 1 <= n_in <= MAX_INPUTS:
        raise DatasetError(f"{what}: {n_in} pixels per image; a network has 1..{MAX_INPUTS} inputs")
    return a.reshape(len(a), n_in).astype(np.uint8), shape


def _labels(y: object, n: int, what: str) -> np.ndarray:
    a = np.asarray(y)
    if a.dtype.kind not in "iu":
        raise DatasetError(f"{what}: labels must be integers, got dtype {a.dtype}")
    if a.ndim != 1 or len(a) != n:
        raise DatasetError(f"{what}: expected {n} labels (one per image) in shape ({n},), got "
                           f"shape {a.shape}")
    return a.astype(np.int64)


def from_arrays(x: object, y: object, test_x: object = None, test_y: object = None, *,
                name: str = "arrays", n_classes: int | None = None) -> Dataset:
    """A :class:`Dataset` from arrays (module docstring: what is accepted, the default split).
    ``name`` is what run directories record (a path reloads the data for ``erbp eval``)."""
    tx, shape = _images(x, "training images")
    ty = _labels(y, len(tx), "training labels")
    if (test_x is None) != (test_y is None):
        raise DatasetError("give both test images and test labels, or neither")
    if test_x is None:
        hold = np.arange(len(ty)) % 5 == 4
        if not hold.any() or hold.all():
            raise DatasetError(f"{len(ty)} examples cannot be split into training and test sets "
                               f"(every fifth is a test example): give at least 5, or a test set")
        tx, ty, vx, vy = tx[~hold], ty[~hold], tx[hold], ty[hold]
    else:
        vx, vshape = _images(test_x, "test images")
        if vx.shape[1] != tx.shape[1]:
            raise DatasetError(f"test images have {vx.shape[1]} pixels ({vshape[0]}x{vshape[1]}), "
                               f"training images {tx.shape[1]} ({shape[0]}x{shape[1]})")
        vy = _labels(test_y, len(vx), "test labels")
    n_classes = check_labels(ty, vy, n_classes=n_classes)
    return Dataset(name=name, train_x=tx, train_y=ty, test_x=vx, test_y=vy,
                   image_shape=shape, n_classes=n_classes)


def load_npz(path: str | os.PathLike) -> Dataset:
    """An ``.npz`` file of images and labels (module docstring)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            if {"x_train", "y_train"} <= keys:
                test = (z["x_test"], z["y_test"]) if {"x_test", "y_test"} <= keys else (None, None)
                if ("x_test" in keys) != ("y_test" in keys):
                    raise DatasetError(f"{p}: has one of x_test / y_test but not the other")
                arrays = (z["x_train"], z["y_train"], *test)
            elif {"x", "y"} <= keys:
                arrays = (z["x"], z["y"], None, None)
            else:
                raise DatasetError(f"{p}: expected arrays x_train, y_train[, x_test, y_test] or "
                                   f"x, y; the file has {', '.join(sorted(keys)) or 'none'}")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"{p}: not a readable .npz file ({e})") from e
    try:
        return from_arrays(*arrays, name=str(p.resolve()))
    except DatasetError as e:
        raise DatasetError(f"{p}: {e}") from e


def _find(directory: Path, split: str, kind: str) -> Path | None:
    stems = {("train", "images"): "train-images-idx3-ubyte",
             ("train", "labels"): "train-labels-idx1-ubyte",
             ("test", "images"): "t10k-images-idx3-ubyte",
             ("test", "labels"): "t10k-labels-idx1-ubyte"}
    p = find_idx_file(directory, stems[split, kind])
    if p is not None:
        return p
    words = ("train",) if split == "train" else ("test", "t10k")
    found = sorted(f for f in directory.iterdir() if f.is_file()
                   and any(w in f.name.lower() for w in words) and kind in f.name.lower())
    if len(found) > 1:
        raise DatasetError(f"{directory}: several {split} {kind} files: "
                           f"{', '.join(f.name for f in found)}")
    return found[0] if found else None


def load_idx_dir(directory: str | os.PathLike) -> Dataset:
    """A folder of IDX files (module docstring), of any size and number of classes."""
    d = Path(directory)
    paths = {(s, k): _find(d, s, k) for s in ("train", "test") for k in ("images", "labels")}
    for k in ("images", "labels"):
        if paths["train", k] is None:
            raise DatasetError(f"{d}: no training {k} file (e.g. train-{k}-idx"
                               f"{3 if k == 'images' else 1}-ubyte[.gz])")
    if (paths["test", "images"] is None) != (paths["test", "labels"] is None):
        raise DatasetError(f"{d}: test images without test labels or the other way round")
    try:
        arrays = {key: read_idx(p) for key, p in paths.items() if p is not None}
    except IdxError as e:
        raise DatasetError(str(e)) from e

    def at(s: str, k: str):
        return arrays.get((s, k))

    try:
        return from_arrays(at("train", "images"), at("train", "labels"), at("test", "images"),
                           at("test", "labels"), name=str(d.resolve()))
    except DatasetError as e:
        raise DatasetError(f"{d}: {e}") from e


def load_path(path: str | os.PathLike) -> Dataset:
    """An ``.npz`` file or a folder of IDX files."""
    p = Path(path).expanduser()
    if p.is_dir():
        return load_idx_dir(p)
    if p.is_file():
        return load_npz(p)
    raise DatasetError(f"{p}: no such file or folder")
