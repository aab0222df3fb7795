"""The model file (docs/semantics.md section 9): round trip and refusal of every kind of bad file."""
import struct
import zlib

import numpy as np
import pytest

from erbp.reference import NetConfig, Network, SEMANTICS_VERSION
from erbp.reference import modelfile as mf
from erbp.reference.params import field_offsets


def fix_crc(b: bytes) -> bytes:
    body = b[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.fixture(params=[("20-7-3", 8), ("9-4-4-2", 12), ("5-3", 3)])
def net(request):
    topo, wb = request.param
    cfg = NetConfig.default(topo, weight_bits=wb, init_amp=(3,) * (topo.count("-")))
    n = Network.create(cfg, seed=77)
    n.samples_seen = 1234
    return n


def test_round_trip_is_exact(net, tmp_path):
    p = tmp_path / "m.erbp"
    mf.save(net, p)
    back = mf.load(p)
    assert back.cfg == net.cfg and back.seed == 77 and back.samples_seen == 1234
    for a, b in zip(back.W + back.G, net.W + net.G):
        assert (a == b).all()
    assert mf.dumps(back) == p.read_bytes()
    assert len(p.read_bytes()) == mf.file_size(net.cfg)
    assert not list(tmp_path.glob("*.tmp"))


def test_truncated_files_are_refused(net):
    b = mf.dumps(net)
    for n in sorted({0, 3, 10, 27, len(b) // 2, len(b) - 5, len(b) - 1}):
        with pytest.raises(mf.ModelFileError, match="truncated|header"):
            mf.loads(b[:n])


def test_every_single_byte_corruption_is_refused(net):
    b = bytearray(mf.dumps(net))
    for i in range(0, len(b), max(1, len(b) // 97)):
        c = bytearray(b)
        c[i] ^= 0x5A
        with pytest.raises(mf.ModelFileError):
            mf.loads(bytes(c))


def test_other_versions_and_magic_are_refused(net):
    b = bytearray(mf.dumps(net))
    c = bytearray(b); c[0:4] = b"NOPE"
    with pytest.raises(mf.ModelFileError, match="not an erbp model"):
        mf.loads(fix_crc(bytes(c)))
    c = bytearray(b); struct.pack_into("<H", c, 6, SEMANTICS_VERSION + 1)
    with pytest.raises(mf.ModelFileError, match="semantics version"):
        mf.loads(fix_crc(bytes(c)))
    c = bytearray(b); struct.pack_into("<H", c, 4, 99)
    with pytest.raises(mf.ModelFileError, match="format version"):
        mf.loads(fix_crc(bytes(c)))


def test_mismatched_shapes_and_bad_config_are_refused(net):
    b = bytearray(mf.dumps(net))
    off = mf.HEADER.size + 4 * field_offsets()["n_in"]
    c = bytearray(b); struct.pack_into("<i", c, off, net.cfg.n_in + 1)
    with pytest.raises(mf.ModelFileError, match="shapes differ"):
        mf.loads(fix_crc(bytes(c)))
    c = bytearray(b); struct.pack_into("<i", c, mf.HEADER.size + 4 * field_offsets()["threshold"], 0)
    with pytest.raises(mf.ModelFileError, match="invalid configuration"):
        mf.loads(fix_crc(bytes(c)))
    with pytest.raises(mf.ModelFileError, match="unexpected bytes"):
        mf.loads(bytes(b) + b"\0\0\0\0")


def test_weights_outside_their_width_are_refused():
    cfg = NetConfig.default("6-3", weight_bits=4, init_amp=(2,))
    net = Network.create(cfg, 1)
    net.W[0][0, 0] = 9  # not a 4-bit value
    with pytest.raises(mf.ModelFileError, match="4-bit range"):
        mf.loads(mf.dumps(net))


def test_missing_file_message(tmp_path):
    with pytest.raises(mf.ModelFileError, match="cannot read"):
        mf.load(tmp_path / "absent.erbp")


def test_shape_mismatch_on_save():
    net = Network.create(NetConfig.default("6-3"), 1)
    net.W[0] = np.zeros((5, 3), np.int64)
    with pytest.raises(mf.ModelFileError, match="shape"):
        mf.dumps(net)
