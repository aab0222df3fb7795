"""The IDX file format (MNIST's): parse bytes or files, raw or gzip-compressed, with full checks.

An IDX file is a 4-byte magic ``00 00 TT DD`` (TT = element type, DD = number of dimensions),
DD big-endian uint32 dimension sizes, then the elements in row-major order, big-endian. Whether a
file is gzip-compressed is decided by its first two bytes (``1f 8b``), never by its name.
"""
from __future__ import annotations

import gzip
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import ErbpError

#: IDX element type code -> numpy dtype (big-endian where it matters).
IDX_TYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}
IDX_UBYTE = 0x08  # the element type of MNIST's images and labels

#: IDX element type code -> its name in messages.
TYPE_NAMES: dict[int, str] = {
    0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "16-bit integer", 0x0C: "32-bit integer",
    0x0D: "32-bit float", 0x0E: "64-bit float",
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


#: The largest IDX content read (bytes after decompression): 1 GiB, 20 times MNIST's training
#: images. A header whose dimensions need more is refused before anything is allocated.
MAX_IDX_BYTES = 1 << 30


def _header(head: bytes, name: str, expect_type: int | None
            ) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, dims, total bytes) from the first bytes of IDX content (at least the whole header
    if the content has one). Checks, in order: the magic, the element type, the dimensions' count,
    a complete header, the type the caller expects, and the size the dimensions give (computed
    exactly, never overflowing) against :data:`MAX_IDX_BYTES`."""
    if len(head) < 4:
        raise IdxError(f"{name}: truncated: {len(head)} bytes, shorter than the 4-byte IDX magic")
    z0, z1, code, ndim = head[0], head[1], head[2], head[3]
    if z0 or z1:
        raise IdxError(f"{name}: not an IDX file (magic {head[:4].hex()}, expected 0000TTDD)")
    if code not in IDX_TYPES:
        raise IdxError(f"{name}: unknown IDX element type 0x{code:02x}")
    if ndim == 0:
        raise IdxError(f"{name}: IDX file with zero dimensions")
    size = 4 + 4 * ndim
    if len(head) < size:
        raise IdxError(f"{name}: truncated header: {ndim} dimensions need {size} bytes, "
                       f"the file has {len(head)}")
    dtype = np.dtype(IDX_TYPES[code])
    if expect_type is not None and code != expect_type:
        raise IdxError(f"{name}: element type 0x{code:02x} ({TYPE_NAMES[code]}); this data set "
                       f"needs 0x{expect_type:02x} ({TYPE_NAMES[expect_type]})")
    dims = struct.unpack_from(f">{ndim}I", head, 4)
    n = 1
    for d in dims:
        n *= d  # a Python int: no overflow
    need = size + n * dtype.itemsize
    if need > MAX_IDX_BYTES:
        raise IdxError(f"{name}: dimensions {dims} need {need} bytes, more than the "
                       f"{MAX_IDX_BYTES} an IDX file may have here")
    return dtype, dims, need


def _array(data: bytes, name: str, dtype: np.dtype, dims: tuple[int, ...], need: int,
           total: int | None = None) -> np.ndarray:
    """The array of complete IDX content ``data``; ``total``: the content's size when ``data``
    holds only its first bytes (a bounded read)."""
    if len(data) < need:
        raise IdxError(f"{name}: truncated: dimensions {dims} need {need} bytes, the file has "
                       f"{len(data)}")
    if len(data) > need:
        extra = f"{total - need} trailing bytes" if total else "trailing bytes"
        raise IdxError(f"{name}: {extra} after the data of dimensions {dims}")
    arr = np.frombuffer(data, dtype=dtype, offset=need - int(np.prod(dims)) * dtype.itemsize)
    return arr.reshape(dims).astype(dtype.newbyteorder("="))


def parse_idx(data: bytes, name: str = "<bytes>", expect_type: int | None = None) -> np.ndarray:
    """Parse IDX bytes (raw or gzip) into an array of the file's shape and native-endian dtype.

    Checks: the magic (two zero bytes, a known type code, at least one dimension), that the header
    is complete, the element type (``expect_type``, an IDX type code, if given), the size the
    dimensions give (at most :data:`MAX_IDX_BYTES`), and that the data are exactly as long as the
    dimensions say (a shorter file is "truncated", a longer one has "trailing bytes").
    """
    data = decompress(data, name)
    dtype, dims, need = _header(data[:4 + 4 * 255], name, expect_type)
    return _array(data, name, dtype, dims, need, len(data))


def read_idx(path: str | os.PathLike, expect_type: int | None = None) -> np.ndarray:
    """Read and parse one IDX file (raw or gzip, detected by content), reading no more than its
    header says it holds plus one byte (see :func:`parse_idx` for the checks)."""
    p = Path(path)
    try:
        with open(p, "rb") as raw:
            f = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == GZIP_MAGIC else raw
            st = os.fstat(raw.fileno())
            total = st.st_size if f is raw and stat.S_ISREG(st.st_mode) else None
            try:
                head = f.read(4)
                if len(head) == 4 and head[:2] == b"\0\0":
                    head += f.read(4 * head[3])
                dtype, dims, need = _header(head, str(p), expect_type)
                data = head + f.read(need - len(head) + 1)
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                raise IdxError(f"{p}: corrupt or truncated gzip data ({e})") from e
    except OSError as e:
        raise IdxError(f"cannot read {p}: {e.strerror or e}") from e
    return _array(data, str(p), dtype, dims, need, total)


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
