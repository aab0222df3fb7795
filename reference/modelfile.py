"""The versioned model file (docs/semantics.md, section 9): save, and load with full validation.

A model file holds one network: seed, samples_seen, configuration, weights and feedback matrices,
closed by a CRC-32. :func:`loads` refuses, with a :class:`ModelFileError` naming the reason, any
file that is truncated, corrupt, of another format or semantics version, or inconsistent.
"""
from __future__ import annotations

import os
import stat
import struct
import zlib

import numpy as np

from .config import ConfigError, NetConfig
from .constants import SEMANTICS_VERSION
from .errors import ErbpError
from .constants import MAX_HIDDEN
from .fileio import write_bytes_atomic
from .network import Network, check_u32
from .params import FIELD_BY_NAME, FIELDS, field_offsets, word_count

MAGIC = b"ERBP"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHHIIII")  # magic, format, semantics, size, seed, samples_seen, n_words


class ModelFileError(ErbpError, ValueError):
    """A model file that cannot be used; the message says why."""


#: How a model file of an older semantics version becomes one of this version with the same
#: numbers: {old version: the command}. Version 1 files convert exactly (:func:`convert_v1`).
CONVERT_COMMAND = "erbp convert OLD.erbp NEW.erbp"


def semantics_refusal(sem: int) -> str:
    """Why a file of semantics version ``sem`` is refused, and what to do about it."""
    how = (f"convert it with `{CONVERT_COMMAND}` (exact: the same numbers as version 1) or "
           f"retrain it" if sem == 1 else "retrain it")
    return (f"model was made for semantics version {sem}; this erbp implements version "
            f"{SEMANTICS_VERSION}: {how}")


def layout(cfg: NetConfig) -> list[tuple[str, tuple[int, int], str]]:
    """The arrays of a model file in order: (name, shape, numpy little-endian dtype)."""
    wdt = "<i1" if cfg.weight_bytes == 1 else "<i2"
    out = [(f"W{l}", (cfg.sizes[l], cfg.sizes[l + 1]), wdt) for l in range(cfg.n_layers)]
    out += [(f"G{h}", (cfg.n_out, cfg.sizes[h + 1]), "<i2") for h in range(cfg.n_hidden)]
    return out


def file_size(cfg: NetConfig) -> int:
    """Exact size in bytes of the model file of a configuration."""
    n = HEADER.size + 4 * word_count()
    n += sum(int(np.prod(shape)) * np.dtype(dt).itemsize for _, shape, dt in layout(cfg))
    n += (-n) % 4
    return n + 4


def max_file_size() -> int:
    """The size of the largest valid model file: every size field at its maximum, 16-bit
    weights (file sizes grow with each of them). Readers refuse a larger declared size before
    reading further."""
    hi = {name: FIELD_BY_NAME[name].hi for name in ("n_in", "hidden_size", "n_out")}
    sizes = [hi["n_in"], *[hi["hidden_size"]] * MAX_HIDDEN, hi["n_out"]]
    n = HEADER.size + 4 * word_count()
    n += sum(2 * a * b for a, b in zip(sizes, sizes[1:]))
    n += 2 * hi["n_out"] * hi["hidden_size"] * MAX_HIDDEN
    return n + (-n) % 4 + 4


def dumps(net: Network) -> bytes:
    """Serialise a network (weights, G, config, seed, samples_seen) to model-file bytes."""
    cfg = net.cfg
    size = file_size(cfg)
    seed, seen = check_u32(net.seed, "seed"), check_u32(net.samples_seen, "samples_seen")
    parts = [HEADER.pack(MAGIC, FORMAT_VERSION, SEMANTICS_VERSION, size, seed, seen,
                         word_count()),
             struct.pack(f"<{word_count()}i", *cfg.to_words())]
    arrays = {f"W{l}": w for l, w in enumerate(net.W)} | {f"G{h}": g for h, g in enumerate(net.G)}
    for name, shape, dt in layout(cfg):
        a = arrays[name]
        if a.shape != shape:
            raise ModelFileError(f"{name} has shape {a.shape}, the configuration says {shape}")
        parts.append(np.ascontiguousarray(a).astype(dt).tobytes())
    body = b"".join(parts)
    body += b"\0" * ((-len(body)) % 4)
    body += struct.pack("<I", zlib.crc32(body))
    assert len(body) == size
    return body


def _header(data: bytes) -> tuple[int, int, int, int, int]:
    """The header's (semantics version, size, seed, samples_seen, number of words), after the
    checks of section 9's rows 1 to 3 (length, magic, file-format version)."""
    if len(data) < HEADER.size + 4:
        raise ModelFileError(f"truncated: {len(data)} bytes is shorter than the header")
    magic, fmt, sem, size, seed, seen, n_words = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise ModelFileError(f"not an erbp model file (magic {magic!r}, expected {MAGIC!r})")
    if fmt != FORMAT_VERSION:
        raise ModelFileError(f"model-file format version {fmt}; this erbp reads version "
                             f"{FORMAT_VERSION}")
    return sem, size, seed, seen, n_words


def loads(data: bytes) -> Network:
    """Parse and fully validate model-file bytes into a Network (state reset)."""
    sem, size, seed, seen, n_words = _header(data)
    if sem != SEMANTICS_VERSION:
        raise ModelFileError(semantics_refusal(sem))
    if size > max_file_size():
        raise ModelFileError(f"the header declares {size} bytes, more than the largest valid "
                             f"model file ({max_file_size()})")
    if len(data) < size:
        raise ModelFileError(f"truncated: the header declares {size} bytes, the file has "
                             f"{len(data)}")
    if len(data) > size:
        raise ModelFileError(f"{len(data) - size} unexpected bytes after the declared end")
    crc = struct.unpack_from("<I", data, size - 4)[0]
    if zlib.crc32(data[: size - 4]) != crc:
        raise ModelFileError("CRC mismatch: the file is corrupt")
    if n_words != word_count():
        raise ModelFileError(f"configuration has {n_words} words, expected {word_count()}")
    if size < HEADER.size + 4 * n_words + 4:
        raise ModelFileError("declared size is smaller than the configuration")
    words = struct.unpack_from(f"<{n_words}i", data, HEADER.size)
    try:
        cfg = NetConfig.from_words(words)
    except ConfigError as e:
        raise ModelFileError(f"invalid configuration: {e}") from e
    if size != file_size(cfg):
        raise ModelFileError(f"size {size} does not match the configuration's {file_size(cfg)} "
                             f"(shapes differ)")
    off = HEADER.size + 4 * n_words
    arrays: dict[str, np.ndarray] = {}
    for name, shape, dt in layout(cfg):
        n = int(np.prod(shape))
        a = np.frombuffer(data, dtype=dt, count=n, offset=off).reshape(shape).astype(np.int64)
        off += n * np.dtype(dt).itemsize
        if name.startswith("W") and a.size and (a.min() < cfg.w_min or a.max() > cfg.w_max):
            raise ModelFileError(f"{name} holds values outside the {cfg.weight_bits}-bit range")
        arrays[name] = a
    if any(data[off: size - 4]):
        raise ModelFileError("nonzero padding before the CRC")
    net = Network(cfg=cfg, seed=seed, W=[arrays[f"W{l}"] for l in range(cfg.n_layers)],
                  G=[arrays[f"G{h}"] for h in range(cfg.n_hidden)], samples_seen=seen)
    net.reset_state()
    return net


#: The fields semantics version 2 added (appended to FIELDS) and their values in a converted
#: version 1 file: the count readout, no early exit, the training transmission in inference.
V2_FIELDS = ("readout", "exit_margin", "p_infer")


def convert_v1(data: bytes) -> bytes:
    """A model file of semantics version 1 as a version 2 file that computes exactly what version
    1 computed: the configuration gains readout 0, exit_margin 0 and p_infer = p_transmit; seed,
    samples_seen, weights and G are kept. The old file is validated (header, size, CRC, word
    count) and the new one fully (:func:`loads`); ModelFileError says why either is refused."""
    old = word_count() - sum(f.slots for f in FIELDS if f.name in V2_FIELDS)
    sem, size, seed, seen, n_words = _header(data)
    if sem != 1:
        raise ModelFileError(f"model was made for semantics version {sem}; only version 1 "
                             f"files are converted"
                             + (" (it needs no conversion)" if sem == SEMANTICS_VERSION else ""))
    if len(data) != size:
        raise ModelFileError(f"the header declares {size} bytes, the file has {len(data)}")
    if zlib.crc32(data[: size - 4]) != struct.unpack_from("<I", data, size - 4)[0]:
        raise ModelFileError("CRC mismatch: the file is corrupt")
    if n_words != old or size < HEADER.size + 4 * old + 4:
        raise ModelFileError(f"a version 1 configuration has {old} words, the file says "
                             f"{n_words}")
    words = list(struct.unpack_from(f"<{old}i", data, HEADER.size))
    offs = field_offsets()
    pt = offs["p_transmit"]
    new = {"readout": [0], "exit_margin": [0], "p_infer": words[pt: offs["readout"]]}
    for f in FIELDS:
        if f.name in V2_FIELDS:
            assert offs[f.name] == len(words), "version 2 fields are appended in FIELDS"
            words += new[f.name]
    body = data[HEADER.size + 4 * old: size - 4]  # W, G, padding: the new words keep it aligned
    head = HEADER.pack(MAGIC, FORMAT_VERSION, SEMANTICS_VERSION,
                       size + 4 * (len(words) - old), seed, seen, len(words))
    out = head + struct.pack(f"<{len(words)}i", *words) + body
    out += struct.pack("<I", zlib.crc32(out))
    net = loads(out)  # every rule of this version
    assert dumps(net) == out
    return out


def loads_any(data: bytes) -> Network:
    """:func:`loads` for a file of this semantics version, or of version 1 through
    :func:`convert_v1` (exactly version 1's numbers); any other is refused as :func:`loads`
    refuses it."""
    if len(data) >= HEADER.size + 4 and _header(data)[0] == 1:
        data = convert_v1(data)
    return loads(data)


def save(net: Network, path: str | os.PathLike) -> None:
    """Write a model file atomically (:func:`erbp.reference.fileio.write_bytes_atomic`)."""
    write_bytes_atomic(path, dumps(net))


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a model file, read with a bound: a regular file of at most
    :func:`max_file_size` bytes whole, anything else (a larger file, a device such as
    ``/dev/zero``, a pipe) no further than the size its header declares (at most
    :func:`max_file_size`) plus one byte. Not validated yet: :func:`loads` does that."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size <= max_file_size():
                return f.read()
            head = f.read(HEADER.size + 4)
            if len(head) < HEADER.size + 4 or head[:4] != MAGIC:
                return head  # loads() says what is wrong
            size = min(HEADER.unpack_from(head)[3], max_file_size() + 1)
            return head + f.read(max(0, size - len(head)) + 1)
    except OSError as e:
        raise ModelFileError(f"cannot read model file {path}: {e.strerror or e}") from e


def load(path: str | os.PathLike) -> Network:
    """Read (bounded, :func:`read_bytes`) and validate a model file."""
    data = read_bytes(path)
    try:
        return loads(data)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from e


def load_any(path: str | os.PathLike) -> Network:
    """:func:`load` through :func:`loads_any`: a file of this semantics version or of version 1
    (for tools that read old runs, such as the benchmarks that rescore them)."""
    data = read_bytes(path)
    try:
        return loads_any(data)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from e
