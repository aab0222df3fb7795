"""The IDX parser: raw and gzip files, and clear errors on truncated or corrupt ones."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from erbp.data.idx import IdxError, encode_idx, parse_idx, read_idx

IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("compress", [False, True])
def test_roundtrip_raw_and_gzip(compress):
    data = encode_idx(IMAGES, compress=compress)
    assert (data[:2] == b"\x1f\x8b") == compress
    a = parse_idx(data)
    assert a.dtype == np.uint8 and a.shape == (2, 3, 4)
    np.testing.assert_array_equal(a, IMAGES)


def test_header_layout_is_big_endian():
    data = encode_idx(IMAGES)
    assert data[:4] == bytes([0, 0, 0x08, 3])
    assert struct.unpack(">3I", data[4:16]) == (2, 3, 4)


def test_wider_types_are_big_endian_on_disk_and_native_in_memory():
    x = np.array([[1, -2], [300, -40000]], dtype=np.int32)
    data = encode_idx(x)
    assert data[2] == 0x0C and data[-4:] == struct.pack(">i", -40000)
    a = parse_idx(data)
    assert a.dtype == np.dtype("int32") and a.dtype.isnative
    np.testing.assert_array_equal(a, x)


def test_detects_gzip_by_content_not_name(tmp_path):
    # a raw file called .gz and a gzip file without .gz both read correctly
    (tmp_path / "raw.gz").write_bytes(encode_idx(IMAGES))
    (tmp_path / "packed").write_bytes(encode_idx(IMAGES, compress=True))
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), IMAGES)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed"), IMAGES)


GOOD = encode_idx(IMAGES)


@pytest.mark.parametrize("data, message", [
    (b"", "shorter than the 4-byte IDX magic"),
    (b"\x00\x00\x08", "shorter than the 4-byte IDX magic"),
    (b"\x01\x02\x08\x03" + GOOD[4:], "not an IDX file"),
    (b"\x00\x00\x07\x03" + GOOD[4:], "unknown IDX element type 0x07"),
    (b"\x00\x00\x08\x00", "zero dimensions"),
    (GOOD[:10], "truncated header: 3 dimensions need 16 bytes, the file has 10"),
    (GOOD[:-1], "truncated: dimensions (2, 3, 4) need 40 bytes, the file has 39"),
    (GOOD + b"\x00\x00", "2 trailing bytes"),
])
def test_bad_headers_and_sizes_are_named(data, message):
    with pytest.raises(IdxError, match="bad.idx") as e:
        parse_idx(data, "bad.idx")
    assert message in str(e.value)


def test_truncated_and_corrupt_gzip():
    packed = gzip.compress(GOOD)
    with pytest.raises(IdxError, match="corrupt or truncated gzip"):
        parse_idx(packed[: len(packed) // 2], "x.gz")
    broken = packed[:12] + bytes(b ^ 0xFF for b in packed[12:-8]) + packed[-8:]
    with pytest.raises(IdxError, match="corrupt or truncated gzip"):
        parse_idx(broken, "x.gz")


def test_truncated_inside_gzip_is_reported_after_decompression():
    with pytest.raises(IdxError, match="truncated: dimensions"):
        parse_idx(gzip.compress(GOOD[:-5]), "y.gz")


def test_unreadable_file(tmp_path):
    with pytest.raises(IdxError, match="cannot read"):
        read_idx(tmp_path / "absent")
