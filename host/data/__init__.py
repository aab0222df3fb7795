"""Data sets: MNIST from IDX files (found or downloaded, checksum-verified), the 8x8 digits, and
your own (:mod:`~erbp.data.own`: arrays, ``.npz`` files, folders of IDX files).

:mod:`~erbp.data.datasets` (the :class:`Dataset` type, loaders, where MNIST is looked for),
:mod:`~erbp.data.idx` (the IDX file format), :mod:`~erbp.data.download` (verified mirror
downloads).
"""
from .datasets import DATASETS, Dataset, DatasetError, load_dataset, load_digits, load_mnist
from .download import DownloadError
from .idx import IdxError
from .own import from_arrays, load_idx_dir, load_npz

__all__ = ["DATASETS", "Dataset", "DatasetError", "load_dataset", "load_digits", "load_mnist",
           "DownloadError", "IdxError", "from_arrays", "load_idx_dir", "load_npz"]
