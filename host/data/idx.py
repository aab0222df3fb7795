"""The IDX file format (MNIST's): parse bytes or files, raw or gzip-compressed, with full checks.

An IDX file is a 4-byte magic ``00 00 TT DD`` (TT = element type, DD = number of dimensions),
DD big-endian uint32 dimension sizes, then the elements in row-major order, big-endian. Whether a
file is gzip-compressed is decided by its first two bytes (``1f 8b``), never by its name.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import ErbpError

#: IDX element type code -> numpy dtype (big-endian where it matters).
IDX_TYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}
GZIP_MAGIC = b"\x1f\x8b"


class IdxError(ErbpError, ValueError):
    """An IDX file that cannot be used; the message names the file and the reason."""


def is_gzip(data: bytes) -> bool:
    """True if ``data`` starts with the gzip magic bytes."""
    return data[:2] == GZIP_MAGIC


def decompress(data: bytes, name: str = "<bytes>") -> bytes:
    """The IDX bytes of ``data``: gunzipped if it is gzip, else unchanged. Raises IdxError on a
    truncated or corrupt gzip stream."""
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise IdxError(f"{name}: corrupt or truncated gzip data ({e})") from e


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (raw or gzip) into an array of the file's shape and native-endian dtype.

    Checks: the magic (two zero bytes, a known type code, at least one dimension), that the header
    is complete, and that the data are exactly as long as the dimensions say (a shorter file is
    "truncated", a longer one has "trailing bytes").
    """
    data = decompress(data, name)
    if len(data) < 4:
        raise IdxError(f"{name}: truncated: {len(data)} bytes, shorter than the 4-byte IDX magic")
    z0, z1, code, ndim = data[0], data[1], data[2], data[3]
    if z0 or z1:
        raise IdxError(f"{name}: not an IDX file (magic {data[:4].hex()}, expected 0000TTDD)")
    if code not in IDX_TYPES:
        raise IdxError(f"{name}: unknown IDX element type 0x{code:02x}")
    if ndim == 0:
        raise IdxError(f"{name}: IDX file with zero dimensions")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise IdxError(f"{name}: truncated header: {ndim} dimensions need {head} bytes, "
                       f"the file has {len(data)}")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = np.dtype(IDX_TYPES[code])
    need = head + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) < need:
        raise IdxError(f"{name}: truncated: dimensions {dims} need {need} bytes, the file has "
                       f"{len(data)}")
    if len(data) > need:
        raise IdxError(f"{name}: {len(data) - need} trailing bytes after the data of dimensions "
                       f"{dims}")
    arr = np.frombuffer(data, dtype=dtype, offset=head).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read and parse one IDX file (raw or gzip, detected by content)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise IdxError(f"cannot read {p}: {e.strerror}") from e
    return parse_idx(data, str(p))


def encode_idx(arr: np.ndarray, compress: bool = False) -> bytes:
    """IDX bytes of an array (the inverse of :func:`parse_idx`; used to make test files)."""
    a = np.asarray(arr)
    for code, dt in IDX_TYPES.items():
        if np.dtype(dt).kind == a.dtype.kind and np.dtype(dt).itemsize == a.dtype.itemsize:
            break
    else:
        raise ValueError(f"no IDX type for dtype {a.dtype}")
    raw = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    raw += a.astype(np.dtype(dt)).tobytes()
    return gzip.compress(raw, mtime=0) if compress else raw
