"""The one atomic file write of the package: a file is replaced whole or not at all.

:func:`open_atomic` writes to a temporary file beside the target (same directory, so the rename
never crosses file systems), flushes and fsyncs it, and renames it over the target with
``os.replace`` (atomic on POSIX and Windows); the directory is fsynced too where the system allows.
If anything fails before the rename, the temporary file is removed and the old file (if any) is
untouched. The file gets the permissions a plain ``open(path, "w")`` would give it (the umask).

It lives in the reference because the reference writes model files (:func:`modelfile.save`) and
must stay importable alone; :mod:`erbp.fileio` re-exports it with the text and JSON helpers the
host uses.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, Iterator

from .errors import ErbpError


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike, mode: str = "wb", *,
                parents: bool = False) -> Iterator[IO]:
    """A file object (``mode`` "wb" or "w"; text is UTF-8) whose contents replace ``path`` when
    the block ends without an exception. ``f.name`` is the temporary file's path (to read back
    what was written before it is committed, e.g. to verify a checksum). ``parents``: create
    missing parent directories first."""
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = Path(path)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
    f = open(tmp, "xb" if mode == "wb" else "x", **({} if mode == "wb" else {"encoding": "utf-8"}))
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def make_dir_atomic(path: str | os.PathLike, *, parents: bool = False) -> Iterator[Path]:
    """A new directory, filled in the block and then made visible at once: the block gets a
    temporary directory beside ``path`` to write into, renamed to ``path`` when it ends without
    an exception (``path`` must not exist or be an empty directory: a directory with anything in
    it is never replaced, OSError). On any failure the temporary directory is removed."""
    import shutil

    target = Path(path)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, target)  # onto nothing or an empty directory only
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where directories can be opened and fsynced)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, parents: bool = False) -> None:
    """Replace ``path`` by ``data``, atomically (see :func:`open_atomic`)."""
    with open_atomic(path, "wb", parents=parents) as f:
        f.write(data)


class FileLimitError(ErbpError, ValueError):
    """A file larger than its format allows (or not a regular file that ends): refused before
    it is read whole."""


def read_limited(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing (:class:`FileLimitError`) a file of more than ``limit``
    bytes before reading more than ``limit + 1`` of them (so ``/dev/zero``, a FIFO or a huge file
    never exhausts memory). OSError (missing, unreadable, a directory) passes through."""
    with open(path, "rb") as f:
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError:
            size = 0
        if size > limit:
            raise FileLimitError(f"{path}: {size} bytes, more than a {what} can have ({limit})")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileLimitError(f"{path}: more than {limit} bytes, more than a {what} can have")
    return data
