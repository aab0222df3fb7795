"""The model loaders refuse the same files for the same reason (docs/semantics.md, section 9).

Three loaders read model files: the reference (erbp.reference.modelfile), the C library
(erbp_model_check and the incremental loader; the firmware uses the latter) and the MicroPython
port (erbp_mp, whose loader is plain Python and runs here under CPython; tests/test_micropython.py
runs it under MicroPython). A refused file names one reason: the C status, or the reference's
message, mapped to the status below. Files break one rule, several rules at once, or arbitrary
edits (hypothesis); every loader must report the same first reason. Section 9 of the document
lists every reason with its status name; a test checks the list is the C status table's.
"""
from __future__ import annotations

import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

from erbp import micropython_tools as mpt
from erbp.engines.c import engine as cengine
from erbp.engines.c import status_name
from erbp.reference import ConfigError, NetConfig, Network, modelfile as mf
from erbp.reference.golden import explicit_config
from erbp.reference.params import FIELDS, field_offsets, word_count

from conftest import ROOT

LIB = cengine._load()[1]
DOC = ROOT / "docs" / "semantics.md"

#: The reference's messages (and erbp_mp's, which are the same) -> the C status of that reason.
#: Order matters: the first pattern found in the message wins.
MESSAGES: tuple[tuple[str, str], ...] = (
    ("truncated", "ERBP_E_FILE_TRUNCATED"),
    ("not an erbp model file", "ERBP_E_FILE_MAGIC"),
    ("model-file format version", "ERBP_E_FILE_FORMAT"),
    ("semantics version", "ERBP_E_FILE_SEMANTICS"),
    ("unexpected bytes after the declared end", "ERBP_E_FILE_TRAILING"),
    ("CRC mismatch", "ERBP_E_FILE_CRC"),
    ("invalid configuration: ", "config"),  # then the configuration rule, below
    ("configuration has", "ERBP_E_FILE_WORDS"),
    ("declared size is smaller than the configuration", "ERBP_E_FILE_SIZE"),
    ("(shapes differ)", "ERBP_E_FILE_SIZE"),
    ("-bit range", "ERBP_E_FILE_WEIGHT"),
    ("nonzero padding", "ERBP_E_FILE_PADDING"),
)
CONFIG_MESSAGES: tuple[tuple[str, str], ...] = (
    ("unused slots must be 0", "ERBP_E_CONFIG_SLOT"),
    (" outside [", "ERBP_E_CONFIG_RANGE"),
    ("exceeds the state range", "ERBP_E_CONFIG_THRESHOLD"),
    ("must not exceed err_threshold", "ERBP_E_CONFIG_ERR_W"),
    ("burn_in exceeds ticks_train", "ERBP_E_CONFIG_BURN_IN"),
    ("2 * n_out * g_amp", "ERBP_E_CONFIG_G_AMP"),
    ("gate_lo must be < gate_hi", "ERBP_E_CONFIG_GATE"),
    ("exceeds the weight range", "ERBP_E_CONFIG_INIT_AMP"),
    ("n_pre * 2^(weight_bits-1) * 2^w_shift", "ERBP_E_CONFIG_GAIN"),
)


def reason_of(message: str) -> str:
    for pattern, code in MESSAGES:
        if pattern in message:
            if code != "config":
                return code
            for pattern, code in CONFIG_MESSAGES:
                if pattern in message:
                    return code
    raise AssertionError(f"a refusal message with no known reason: {message!r}")


@pytest.fixture(scope="module")
def erbp_mp():
    sys.path.insert(0, str(mpt.module_dir()))
    try:
        import erbp_mp
        yield erbp_mp
    finally:
        sys.path.remove(str(mpt.module_dir()))


def reasons(data: bytes, mp) -> dict[str, str]:
    """{loader: its reason ("ERBP_OK" if it accepts the file)}."""
    out = {}
    try:
        mf.loads(data)
        out["reference"] = "ERBP_OK"
    except mf.ModelFileError as e:
        out["reference"] = reason_of(str(e))
    ffi = cengine._load()[0]
    out["C"] = status_name(LIB.erbp_model_check(data, len(data), ffi.NULL, ffi.NULL, ffi.NULL))
    net, ld = ffi.new("erbp_net_t *"), ffi.new("erbp_loader_t *")
    arena = ffi.new("uint8_t[]", 1 << 16)
    LIB.erbp_loader_begin(ld, net, arena, 1 << 16)
    LIB.erbp_loader_feed(ld, data, len(data))
    out["C incremental"] = status_name(LIB.erbp_loader_end(ld))
    try:
        mp.loads(data, backend="plain")
        out["erbp_mp"] = "ERBP_OK"
    except mp.ModelFileError as e:
        out["erbp_mp"] = reason_of(str(e))
    return out


def assert_same_reason(data: bytes, mp, want: str | None = None) -> str:
    got = reasons(data, mp)
    assert len(set(got.values())) == 1, got
    if want is not None:
        assert got["C"] == want, got
    return got["C"]


# --- files that break one rule, or several ----------------------------------------------------
CFG = explicit_config((9, 5, 3), weight_bits=6, init_amp=(20, 20))  # 6-bit weights, padding
GOOD = mf.dumps(Network.create(CFG, 5))
CFG_AT = {f.name: mf.HEADER.size + 4 * o for f, o in zip(FIELDS, field_offsets().values())}
BODY = mf.HEADER.size + 4 * word_count()


def fix_crc(b: bytes) -> bytes:
    return b[:-4] + struct.pack("<I", zlib.crc32(b[:-4]))


def patched(base: bytes, *changes: tuple[str, int, int], crc: bool = True) -> bytes:
    """base with struct values written at offsets, the CRC recomputed unless crc is False."""
    b = bytearray(base)
    for fmt, off, value in changes:
        struct.pack_into(fmt, b, off, value)
    return fix_crc(bytes(b)) if crc else bytes(b)


def word(name: str, value: int, slot: int = 0) -> tuple[str, int, int]:
    return ("<i", CFG_AT[name] + 4 * slot, value)


PADDING_AT = BODY + sum(int(np.prod(s)) * np.dtype(d).itemsize for _, s, d in mf.layout(CFG))
ONE_RULE: dict[str, bytes] = {
    "ERBP_E_FILE_TRUNCATED": GOOD[:27],
    "ERBP_E_FILE_MAGIC": patched(GOOD, ("<4s", 0, b"ERBQ")),
    "ERBP_E_FILE_FORMAT": patched(GOOD, ("<H", 4, 2)),
    "ERBP_E_FILE_SEMANTICS": patched(GOOD, ("<H", 6, 1)),  # the version before
    "ERBP_E_FILE_TRAILING": GOOD + b"\0",
    "ERBP_E_FILE_CRC": patched(GOOD, ("<I", 16, 1), crc=False),
    "ERBP_E_FILE_WORDS": patched(GOOD, ("<I", 20, word_count() - 1)),
    "ERBP_E_FILE_SIZE": patched(GOOD, word("n_in", CFG.n_in - 1)),
    "ERBP_E_CONFIG_RANGE": patched(GOOD, word("label_period", 0)),
    "ERBP_E_CONFIG_SLOT": patched(GOOD, word("lr_mult", 1, slot=2)),
    "ERBP_E_CONFIG_THRESHOLD": patched(GOOD, word("state_bits", 8), word("threshold", 128)),
    "ERBP_E_CONFIG_ERR_W": patched(GOOD, word("err_pred_w", CFG.err_threshold + 1)),
    "ERBP_E_CONFIG_BURN_IN": patched(GOOD, word("burn_in", CFG.ticks_train + 1)),
    "ERBP_E_CONFIG_G_AMP": patched(GOOD, word("g_amp", 32767 // 6 + 1)),
    "ERBP_E_CONFIG_GATE": patched(GOOD, word("gate_lo", CFG.gate_hi[1], slot=1)),
    "ERBP_E_CONFIG_INIT_AMP": patched(GOOD, word("init_amp", 32, slot=1)),
    "ERBP_E_CONFIG_GAIN": patched(GOOD, word("n_in", 4096), word("w_shift", 15)),
    "ERBP_E_FILE_WEIGHT": patched(GOOD, ("<b", BODY + 7, 32)),
    "ERBP_E_FILE_PADDING": patched(GOOD, ("<B", PADDING_AT, 1)),
}
#: Files that break two rules: the reason reported is the first in section 9's order.
SEVERAL: dict[str, tuple[str, bytes]] = {
    "short beats everything": ("ERBP_E_FILE_TRUNCATED", patched(GOOD, ("<H", 4, 2))[:20]),
    "magic before semantics and length": (
        "ERBP_E_FILE_MAGIC", patched(GOOD, ("<4s", 0, b"PBRE"), ("<H", 6, 9))[:-1]),
    "semantics before length": (
        "ERBP_E_FILE_SEMANTICS", patched(GOOD, ("<H", 6, 0), crc=False)[:-3]),
    "a declared size below 28 bytes": ("ERBP_E_FILE_TRAILING", patched(GOOD, ("<I", 8, 27))),
    "CRC before the word count": ("ERBP_E_FILE_CRC", patched(GOOD, ("<I", 20, 3), crc=False)),
    "word count before the configuration": (
        "ERBP_E_FILE_WORDS", patched(GOOD, ("<I", 20, 0), word("n_hidden", 9))),
    "a size too small for the configuration": (
        "ERBP_E_FILE_SIZE", patched(patched(GOOD, ("<I", 8, BODY))[:BODY])),
    "n_hidden's range before the slots": (
        "ERBP_E_CONFIG_RANGE", patched(GOOD, word("n_hidden", 5), word("lr_mult", 1, slot=4))),
    "unused hidden_size slot before a later range": (
        "ERBP_E_CONFIG_SLOT", patched(GOOD, word("n_hidden", 0), word("label_period", 0))),
    "every unused slot before every range": (
        "ERBP_E_CONFIG_SLOT", patched(GOOD, word("n_in", 0), word("lr_mult", 1, slot=3))),
    "ranges in field order": (
        "ERBP_E_CONFIG_RANGE", patched(GOOD, word("threshold", 0), word("burn_in", 10**6))),
    "ranges before cross-field rules": (
        "ERBP_E_CONFIG_RANGE", patched(GOOD, word("burn_in", 99), word("p_transmit", 300))),
    "the gate before init_amp in a layer": (
        "ERBP_E_CONFIG_GATE", patched(GOOD, word("gate_hi", -9000), word("init_amp", 99))),
    "the configuration before the size": (
        "ERBP_E_CONFIG_INIT_AMP", patched(GOOD, word("init_amp", 99), word("n_in", 1))),
    "a weight before the padding": (
        "ERBP_E_FILE_WEIGHT", patched(GOOD, ("<b", BODY, -33), ("<B", PADDING_AT, 1))),
}


def test_the_base_file_is_accepted_and_has_padding(erbp_mp):
    assert assert_same_reason(GOOD, erbp_mp) == "ERBP_OK"
    assert PADDING_AT < len(GOOD) - 4


@pytest.mark.parametrize("want", list(ONE_RULE))
def test_each_rule_is_refused_for_its_reason_by_every_loader(erbp_mp, want):
    assert_same_reason(ONE_RULE[want], erbp_mp, want)


@pytest.mark.parametrize("what", list(SEVERAL))
def test_the_first_broken_rule_is_reported_by_every_loader(erbp_mp, what):
    want, data = SEVERAL[what]
    assert_same_reason(data, erbp_mp, want)


def test_micropython_itself_gives_the_same_reasons(tmp_path):
    """The files above under the MicroPython unix port, through erbp_mp.load (streamed from a
    file) and erbp_mp.loads."""
    try:
        exe = mpt.find_micropython()
    except mpt.ToolMissing as e:
        pytest.fail(str(e))
    files = list(ONE_RULE.items()) + list(SEVERAL.values())
    for i, (_, data) in enumerate(files):
        (tmp_path / f"{i}.erbp").write_bytes(data)
    code = (f"import sys; sys.path.insert(0, {str(mpt.module_dir())!r})\n"
            "import erbp_mp\n"
            f"for i in range({len(files)}):\n"
            f"    p = {str(tmp_path)!r} + '/%d.erbp' % i\n"
            "    for f in (lambda: erbp_mp.load(p, 'plain'),\n"
            "              lambda: erbp_mp.loads(open(p, 'rb').read(), 'plain')):\n"
            "        try:\n"
            "            f(); print('ERBP_OK')\n"
            "        except erbp_mp.ModelFileError as e:\n"
            "            print(e)\n")
    res = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 * len(files)
    for i, (want, _) in enumerate(files):
        for line in lines[2 * i:2 * i + 2]:
            assert reason_of(line) == want, (want, line)


def test_seed_samples_seen_and_g_take_any_value(erbp_mp):
    cfg = explicit_config((4, 3, 2), g_amp=5)
    good = mf.dumps(Network.create(cfg, 1))
    g_at = BODY + 4 * 3 + 3 * 2
    for b in (patched(good, ("<I", 12, 0xFFFFFFFF), ("<I", 16, 0xFFFFFFFF)),
              patched(good, ("<h", g_at, -32768), ("<h", g_at + 2, 32767))):
        assert assert_same_reason(b, erbp_mp) == "ERBP_OK"


def test_section_9_lists_every_file_and_configuration_status():
    names = {status_name(-i) for i in range(LIB.ERBP_STATUS_COUNT)}
    want = {n for n in names if n.startswith(("ERBP_E_FILE_", "ERBP_E_CONFIG_"))}
    text = DOC.read_text()
    section = text[text.index("## 9. Model file"):text.index("## 10.")]
    assert set(re.findall(r"`(ERBP_E_(?:FILE|CONFIG)_[A-Z_]+)`", section)) == want
    assert want == set(ONE_RULE)  # and each one is exercised above


# --- arbitrary edits ------------------------------------------------------------------------------
def edge_values() -> list[int]:
    out = {-(2**31), -1, 0, 1, 2**31 - 1, 2**32 - 1}
    for f in FIELDS:
        out |= {f.lo - 1, f.lo, f.hi, f.hi + 1}
    return sorted(v for v in out if -(2**31) <= v < 2**32)


EDGES = edge_values()
BASES = [mf.dumps(Network.create(NetConfig.default("12-5-3", weight_bits=wb, init_amp=(2, 2)),
                                 wb)) for wb in (3, 8, 12)] + [GOOD]


@given(st.data())
def test_every_loader_gives_the_same_reason_for_edited_files(erbp_mp, data):
    b = bytearray(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "append", "header", "config"]))
        if kind == "flip" and b:
            b[data.draw(st.integers(0, len(b) - 1))] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            b = b[: data.draw(st.integers(0, len(b)))]
        elif kind == "append":
            b += bytes(data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=8)))
        elif kind == "header" and len(b) >= 24:
            off = data.draw(st.sampled_from([4, 6, 8, 20]))
            fmt = "<H" if off < 8 else "<I"
            top = 0xFFFF if off < 8 else 0xFFFFFFFF
            v = data.draw(st.sampled_from([0, 1, 2, 27, 28, len(b) - 1, len(b), len(b) + 1,
                                           word_count(), top]))
            struct.pack_into(fmt, b, off, min(max(v, 0), top))
        elif kind == "config" and len(b) >= BODY:
            i = data.draw(st.integers(0, word_count() - 1))
            v = data.draw(st.sampled_from(EDGES))
            struct.pack_into("<I" if v >= 2**31 else "<i", b, mf.HEADER.size + 4 * i, v)
    if data.draw(st.booleans()) and len(b) >= 4:
        b = bytearray(fix_crc(bytes(b)))
    assert_same_reason(bytes(b), erbp_mp)


def test_the_reason_map_covers_config_errors():
    for values, code in ((dict(threshold=0), "ERBP_E_CONFIG_RANGE"),
                         (dict(burn_in=10**6), "ERBP_E_CONFIG_RANGE"),
                         (dict(gate_lo=(5, 5), gate_hi=(5, 5)), "ERBP_E_CONFIG_GATE")):
        with pytest.raises(ConfigError) as e:
            CFG.replace(**values)
        assert reason_of(f"invalid configuration: {e.value}") == code
