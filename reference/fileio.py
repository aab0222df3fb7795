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
