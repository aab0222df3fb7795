"""Where the tests find MNIST: as the product does, plus the project's shared copy.

1. ``ERBP_DATA`` (as ``erbp`` reads it);
2. ``../shared/data/mnist`` beside the repository (the copy on the project's machines);
3. erbp's default cache ``~/.cache/erbp/mnist``, missing files downloaded there and SHA-256
   checked (``erbp.data.datasets.mnist_files``) — what a fresh clone with network access does.

When 1 or 2 gives the directory, tests/conftest.py exports it as ``ERBP_DATA`` so that every
``erbp`` subprocess reads the same files; otherwise ``erbp`` itself finds the default cache.
"""
from __future__ import annotations

import os
from pathlib import Path

from erbp.data.datasets import DATA_ENV, MNIST_FILES, find_idx_file, mnist_files, shared_copy_dir


def local_mnist_dir(root: Path) -> Path | None:
    """``ERBP_DATA``, else ``root/../shared/data/mnist`` if it exists, else None (no download)."""
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser()
    shared = shared_copy_dir(root)  # beside the repository, wherever pytest runs from
    return shared if shared.is_dir() else None


def find_mnist(root: Path) -> Path:
    """The MNIST directory holding all four files: :func:`local_mnist_dir`, else erbp's default
    cache (downloaded and verified if missing). Raises erbp's DatasetError naming what failed."""
    d = local_mnist_dir(root)
    paths = mnist_files(d, download=False) if d is not None else mnist_files(None)
    return Path(paths["train_x"]).parent


def mnist_file(directory: Path, role: str) -> Path:
    """The file of ``role`` (train_x, train_y, test_x, test_y) in ``directory``, any spelling."""
    p = find_idx_file(directory, MNIST_FILES[role][0])
    if p is None:
        raise FileNotFoundError(f"no {MNIST_FILES[role][0]}[.gz] in {directory}")
    return p
