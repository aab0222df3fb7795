"""The C engine (cport via erbp.engines.c) against the reference, beyond the conformance suite
(tests/conformance: golden vectors and random networks, full state every tick): the fast paths
after arbitrary state writes, the configuration validator, the memory-size query, the integer
helpers, model files (bytes equal, every refusal with its code; the incremental loader fed in any
pieces judges every file as erbp_model_check does; the streaming writer's slices), state writes
and reads by range, the batch path and argument errors."""
from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from erbp.engines.c import engine as cengine
from erbp.engines.c.engine import (ARENA_ALIGN, BLOCK, STATUS_ERRORS, CEngineError, CNetwork,
                                  config_check, required_bytes, status_name, var_id)
from erbp.reference import INFER, TRAIN, ConfigError, NetConfig, Network, modelfile as mf
from erbp.reference import intmath, rng
from erbp.reference.golden import explicit_config
from erbp.reference.params import FIELDS, field_offsets, word_count

from conformance.strategies import Shape, layouts, networks
from conftest import GOLDEN, ROOT

LIB = cengine._load()[1]
#: The tick-by-tick comparisons get more examples than the profile's default (at least 60).
MORE = settings(max_examples=max(60, settings().max_examples))


# --- random networks (tests/conformance/strategies.py; tick by tick against the reference: the
# conformance suite) -----------------------------------------------------------------------------
def assert_same_state(ref: dict, c: dict, where: str) -> None:
    assert list(ref) == list(c), f"{where}: keys differ"
    for k in ref:
        a, b = ref[k], c[k]
        assert b.dtype == np.int64 and a.shape == b.shape, f"{where}: {k} shape/dtype"
        if not np.array_equal(a, b):
            i = int(np.flatnonzero(a.reshape(-1) != b.reshape(-1))[0])
            pytest.fail(f"{where}: {k}[{i}] reference {a.reshape(-1)[i]}, C {b.reshape(-1)[i]}")


@MORE
@given(networks(Shape(max_hidden=2)), st.data())
def test_fast_paths_match_after_arbitrary_state_writes(case, data):
    """Written state (any value within its width) breaks the invariants the fast paths rely on
    (e.g. zero pixels never in refractory); both engines must still agree tick by tick."""
    cfg, seed, samples = case
    ref = Network.create(cfg, seed)
    c = CNetwork.create(cfg, seed)
    mode, label, index, px = samples[0]
    ref.begin_sample(px, label, mode, index)
    c.begin_sample(px, label, mode, index)
    for _ in range(2):
        ref.tick()
        c.tick()
    g = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    snap = ref.snapshot()
    for k, v in snap.items():
        lo, hi = (cfg.w_min, cfg.w_max) if k.startswith("W") else \
            (-32768, 32767) if k.startswith("G") else \
            (cfg.s_min, cfg.s_max) if k[0] in "IVU" else \
            (0, cfg.err_threshold - 1) if k in ("ep", "en") else \
            (-(1 << 30), 1 << 30) if k == "R" else \
            (0, 255) if "ref" in k else (0, 50) if k.startswith("count") else (0, 1)
        snap[k] = g.integers(lo, hi + 1, v.shape).astype(np.int64)
    c.write_state(snap)
    for l in range(cfg.n_layers):
        ref.W[l][...] = snap[f"W{l}"]
    for h in range(cfg.n_hidden):
        ref.G[h][...] = snap[f"G{h}"]
    for p, pop in enumerate(ref.pops):
        for name in ("I", "V", "U", "ref", "count"):
            setattr(pop, name, snap[f"{name}{p}"].copy())
        pop.spk = snap[f"spk{p}"].astype(bool)
    ref.in_ref, ref.in_spk = snap["in_ref"].copy(), snap["in_spk"].astype(bool)
    ref.ep, ref.en = snap["ep"].copy(), snap["en"].copy()
    ref.ep_spk, ref.en_spk = snap["ep_spk"].astype(bool), snap["en_spk"].astype(bool)
    ref.R = snap["R"].copy()
    assert_same_state(ref.snapshot(), c.snapshot(), "after the write")
    for t in range(6):
        ref.tick()
        c.tick()
        assert_same_state(ref.snapshot(), c.snapshot(), f"tick {t} after the write")


@pytest.mark.parametrize("in_refractory", [0, 2])
@pytest.mark.parametrize("pixel", [0, 1, 255])
def test_written_input_refractory_counts_down_like_the_reference(in_refractory, pixel):
    """Regression: a refractory count written onto an input whose configuration has no input
    refractory period (the fast path assumes none) must still count down tick by tick."""
    cfg = explicit_config((3, 2), in_gain=257, in_refractory=in_refractory, noise_prob=0)
    ref, c = Network.create(cfg, 4), CNetwork.create(cfg, 4)
    px = np.array([pixel, 255, 0])
    ref.begin_sample(px, 0, TRAIN, 0)
    c.begin_sample(px, 0, TRAIN, 0)
    ref.in_ref = np.array([5, 0, 3], np.int64)
    c.write_state({"in_ref": ref.in_ref})
    for t in range(8):
        ref.tick()
        c.tick()
        assert_same_state(ref.snapshot(), c.snapshot(), f"tick {t}")


@pytest.mark.parametrize("first", [0, 5, 13])
def test_partial_input_refractory_write_keeps_the_other_counters(first):
    """The C engine keeps the input refractory counters of nonzero pixels packed while no one
    writes them; a range write of a few counters mid-sample must leave every other counter as
    it was (read back by range too) and the run must go on like the reference."""
    cfg = explicit_config((16, 6, 3), in_gain=257, in_refractory=4, noise_prob=0)
    ref, c = Network.create(cfg, 6), CNetwork.create(cfg, 6)
    px = np.array([0, 255, 40, 0, 255, 255, 0, 90, 200, 0, 0, 255, 17, 255, 0, 255])
    ref.begin_sample(px, 1, TRAIN, 3)
    c.begin_sample(px, 1, TRAIN, 3)
    for _ in range(3):
        ref.tick()
        c.tick()
    assert ref.in_ref.any(), "the test needs counters in refractory"
    ffi = c._ffi
    out = ffi.new("int32_t[]", 4)
    _check_ok(LIB.erbp_read_var_range(c._net, LIB.ERBP_VAR_IN_REF, 0, first, out, 3))
    assert list(out)[:3] == ref.in_ref[first:first + 3].tolist()
    ref.in_ref[first:first + 3] = [2, 0, 1]
    _check_ok(LIB.erbp_write_var_range(c._net, LIB.ERBP_VAR_IN_REF, 0, first,
                                       ffi.new("int32_t[]", [2, 0, 1]), 3))
    assert_same_state(ref.snapshot(), c.snapshot(), "after the range write")
    for t in range(10):
        ref.tick()
        c.tick()
        assert_same_state(ref.snapshot(), c.snapshot(), f"tick {t} after the range write")


def test_reset_state_restarts_the_sample_like_the_reference():
    cfg = NetConfig.default("16-8-4", ticks_train=12)
    ref, c = Network.create(cfg, 8), CNetwork.create(cfg, 8)
    px = np.arange(16) * 16
    for net in (ref, c):
        net.begin_sample(px, 2, TRAIN, 77)
        for _ in range(5):
            net.tick()
        net.reset_state()
    assert c.tick_no == 0 and c.events == 0
    assert_same_state(ref.snapshot(), c.snapshot(), "after reset_state")
    for t in range(12):
        ref.tick()
        c.tick()
        assert_same_state(ref.snapshot(), c.snapshot(), f"tick {t} after reset_state")
    assert ref.events == c.events > 0


def test_writes_outside_a_width_are_refused_and_change_nothing():
    cfg = explicit_config((6, 4, 3), weight_bits=5, state_bits=10, threshold=300, init_amp=(9, 9))
    c = CNetwork.create(cfg, 1)
    before = c.snapshot()
    for key, bad in (("W0", 16), ("W1", -17), ("I0", 512), ("U1", -513), ("ref0", 256),
                     ("spk1", 2), ("in_spk", -1), ("ep", cfg.err_threshold), ("count0", -1)):
        v = before[key].copy()
        v.reshape(-1)[0] = bad
        with pytest.raises(ValueError, match="ERBP_E_VALUE"):
            c.write_state({key: v})
    with pytest.raises(ValueError, match="ERBP_E_SIZE"):
        c.write_state({"V0": np.zeros(5, np.int64)})
    assert_same_state(before, c.snapshot(), "after refused writes")


# --- batch path, conversion, argument errors ------------------------------------------------------
def test_batch_path_equals_one_sample_at_a_time():
    cfg = NetConfig.default("30-12-5", "perbp", ticks_train=20, ticks_infer=15)
    g = np.random.default_rng(5)
    X = g.integers(0, 256, (7, 30)) * (g.random((7, 30)) < 0.5)
    y = g.integers(0, 5, 7)
    a, b = CNetwork.create(cfg, 9), CNetwork.create(cfg, 9)
    a.samples_seen = b.samples_seen = 100
    batch = a.run_samples(X, y, TRAIN, chunk=3)
    one = [b.run_sample(X[i], int(y[i]), TRAIN) for i in range(7)]
    assert batch.predictions.tolist() == [r.prediction for r in one]
    assert batch.events.tolist() == [r.events for r in one]
    assert batch.counts.tolist() == [r.counts.tolist() for r in one]
    assert a.samples_seen == b.samples_seen == 107
    assert all(np.array_equal(u, v) for u, v in zip(a.W, b.W))
    inf = a.run_samples(X, mode=INFER, start_index=3)
    one = [a.run_sample(X[i], sample=3 + i).prediction for i in range(7)]
    assert inf.predictions.tolist() == one


def test_conversion_to_and_from_the_reference():
    cfg = NetConfig.default("20-7-6-3", weight_bits=12)
    ref = Network.create(cfg, 77)
    ref.samples_seen = 5
    ref.run_sample(np.arange(20) * 12, 1, TRAIN)
    c = CNetwork.from_network(ref)
    assert (c.seed, c.samples_seen, c.cfg) == (77, 6, cfg)
    back = c.to_network()
    assert back.samples_seen == 6 and back.seed == 77
    assert all(np.array_equal(u, v) for u, v in zip(back.W + back.G, ref.W + ref.G))
    fresh = CNetwork.create(cfg, 77)  # weights and G generated in C from the seed
    r0 = Network.create(cfg, 77)
    assert all(np.array_equal(u, v) for u, v in zip(fresh.W + fresh.G, r0.W + r0.G))


def test_argument_errors_raise_like_the_reference():
    cfg = NetConfig.default("8-4-3")
    c, ref = CNetwork.create(cfg, 1), Network.create(cfg, 1)
    px = np.full(8, 100)
    for args in ((px, 3, TRAIN, 0), (px, -1, TRAIN, 0), (px[:7], 0, TRAIN, 0),
                 (px + 200, 0, TRAIN, 0), (px, 0, "learn", 0), (px, 0, INFER, 2**32)):
        for net in (ref, c):
            with pytest.raises(ValueError):
                net.begin_sample(*args)
    with pytest.raises(CEngineError, match="ERBP_E_STATE"):
        CNetwork.create(cfg, 1).tick()  # no sample begun
    with pytest.raises(ValueError):
        c.run_samples(np.zeros((2, 8)), [0, 3], TRAIN)
    with pytest.raises(ValueError):
        CNetwork.create(cfg, 2**32)


# --- configuration validator, memory size --------------------------------------------------------
#: C status -> what the reference's ConfigError message says for the same rule.
RULE_MESSAGES = {
    "ERBP_E_CONFIG_RANGE": r"outside \[",
    "ERBP_E_CONFIG_SLOT": r"unused slots must be 0",
    "ERBP_E_CONFIG_THRESHOLD": r"threshold .* exceeds the state range",
    "ERBP_E_CONFIG_ERR_W": r"err_label_w and err_pred_w",
    "ERBP_E_CONFIG_BURN_IN": r"burn_in exceeds",
    "ERBP_E_CONFIG_G_AMP": r"2 \* n_out \* g_amp",
    "ERBP_E_CONFIG_GATE": r"gate_lo must be < gate_hi",
    "ERBP_E_CONFIG_INIT_AMP": r"init_amp .* exceeds",
    "ERBP_E_CONFIG_GAIN": r"n_pre \* 2\^\(weight_bits-1\)",
}

BASES = [NetConfig.default(t) for t in ("784-100-10", "784-500-500-10", "9-7")] + \
    [NetConfig.default("64-30-20-10-5", "perbp", weight_bits=16, init_amp=(9,) * 4)]
EDGE_VALUES = [-(2**31), -32769, -32768, -1, 0, 1, 2, 7, 8, 15, 16, 17, 30, 31, 64, 65, 255, 256,
               257, 4096, 4097, 32767, 32768, 65535, 65536, 65537, 2**31 - 1]


@given(st.sampled_from(BASES),
       st.lists(st.tuples(st.integers(0, word_count() - 1), st.sampled_from(EDGE_VALUES)),
                min_size=1, max_size=3))
def test_config_validator_mirrors_the_reference(base, changes):
    words = base.to_words()
    for i, v in changes:
        words[i] = v
    status, where = config_check(words)
    try:
        cfg = NetConfig.from_words(words)
    except ConfigError as e:
        assert status != 0, f"C accepts a configuration the reference refuses: {e}"
        assert re.search(RULE_MESSAGES[status_name(status)], str(e)), (status_name(status), str(e))
        if status_name(status) in ("ERBP_E_CONFIG_RANGE", "ERBP_E_CONFIG_SLOT"):
            assert cengine._field_at(where).split("[")[0] in str(e)
        assert required_bytes_c_words(words) == 0
        return
    assert status == 0 and where == -1, f"C refuses ({status_name(status)}) a valid configuration"
    assert c_required_bytes(cfg) == required_bytes(cfg) > 0


def c_required_bytes(cfg: NetConfig) -> int:
    """erbp_net_required_bytes of a configuration, through the binding."""
    return required_bytes_c_words(cfg.to_words())


def required_bytes_c_words(words) -> int:
    ffi = cengine._load()[0]
    c = ffi.new("erbp_config_t *")
    LIB.erbp_config_from_words(c, ffi.new("int32_t[]", list(words)), len(words))
    return int(LIB.erbp_net_required_bytes(c))


@given(st.one_of(layouts(), networks().map(lambda net: net.cfg)))
def test_memory_size_is_the_same_in_c_and_python(cfg):
    n = required_bytes(cfg)
    assert c_required_bytes(cfg) == n
    w = sum(a * b for a, b in zip(cfg.sizes, cfg.sizes[1:])) * cfg.weight_bytes
    assert w < n < w + 2 * sum(cfg.n_out * h for h in cfg.sizes[1:-1]) + 64 * sum(cfg.sizes) + 1024


def test_memory_size_of_the_paper_topologies():
    for t in ("784-100-10", "784-200-10", "784-500-10", "784-200-200-10", "784-500-500-10"):
        for variant in ("erbp", "perbp"):
            cfg = NetConfig.default(t, variant)
            assert c_required_bytes(cfg) == required_bytes(cfg)


def test_the_layout_mirror_has_the_constants_of_c():
    assert ARENA_ALIGN == LIB.ERBP_ARENA_ALIGN
    internal = (ROOT / "cport" / "src" / "erbp_internal.h").read_text()
    assert int(re.search(r"#define ERBP_BLOCK (\d+)u", internal)[1]) == BLOCK


# --- integer helpers (erbp_intmath.h) ------------------------------------------------------------
@given(st.integers(-(2**31) + 2**15, 2**31 - 2**15 - 1), st.integers(0, 15), st.integers(0, 31))
def test_integer_helpers_equal_the_reference_rules(x, k, k31):
    a = np.array([x], np.int64)
    assert LIB.erbp_decay(x, k) == intmath.decay(a, k)[0]
    assert LIB.erbp_asr(x, k31) == intmath.asr(a, k31)[0]
    assert LIB.erbp_sat(x, -32768, 32767) == intmath.sat(a, -32768, 32767)[0]


@given(st.integers(-(2**30), 2**30), st.integers(0, 30), st.integers(0, 2**32 - 1),
       st.integers(0, 32767))
def test_rounding_and_random_helpers_equal_the_reference(q, k, r, amp):
    assert LIB.erbp_srs(q, k, r) == intmath.stochastic_round_shift(
        np.array([q], np.int64), k, np.array([r], np.uint32))[0]
    assert LIB.erbp_mix32(r) == rng.mix32(r)
    assert LIB.erbp_absorb(r, q & 0xFFFFFFFF) == rng.absorb(r, q)
    assert LIB.erbp_key(r, k, amp, q & 0xFFFF) == rng.key(r, k, amp, q & 0xFFFF)
    assert LIB.erbp_draw(r, amp) == rng.draw(r, amp)
    assert LIB.erbp_uniform(r, amp) == rng.uniform_int(np.array([r], np.uint32), amp)[0]


def test_crc32_check_value():
    assert LIB.erbp_crc32(0, b"123456789", 9) == 0xCBF43926
    data = bytes(range(256)) * 5
    assert LIB.erbp_crc32(0, data, len(data)) == zlib.crc32(data)


# --- model files ---------------------------------------------------------------------------------
@given(networks(Shape(max_hidden=2)))
def test_model_files_are_byte_identical_in_both_engines(case):
    cfg, seed, samples = case
    ref = Network.create(cfg, seed)
    mode, label, index, px = samples[0]
    ref.run_sample(px, max(label, 0), TRAIN, sample=index)  # trained weights
    data = mf.dumps(ref)
    c = CNetwork.loads(data)
    assert c.dumps() == data
    assert mf.dumps(c.to_network()) == data


def fix_crc(b: bytes) -> bytes:
    return b[:-4] + struct.pack("<I", zlib.crc32(b[:-4]))


@pytest.fixture(params=[("20-7-3", 8), ("9-4-4-2", 12), ("5-3", 3)])
def model(request) -> tuple[Network, bytes]:
    topo, wb = request.param
    cfg = NetConfig.default(topo, weight_bits=wb, init_amp=(3,) * topo.count("-"))
    net = Network.create(cfg, 77)
    net.samples_seen = 1234
    return net, mf.dumps(net)


def c_status(data: bytes) -> str:
    ffi = cengine._load()[0]
    return status_name(LIB.erbp_model_check(data, len(data), ffi.NULL, ffi.NULL, ffi.NULL))


def test_loader_round_trip_and_metadata(model):
    net, data = model
    c = CNetwork.loads(data)
    assert (c.seed, c.samples_seen, c.cfg) == (77, 1234, net.cfg)
    assert c_status(data) == "ERBP_OK"


def test_loader_refuses_truncated_files(model):
    _, data = model
    for n in sorted({0, 3, 10, 27, 28, len(data) // 2, len(data) - 5, len(data) - 1}):
        assert c_status(data[:n]) == "ERBP_E_FILE_TRUNCATED", n
        with pytest.raises(mf.ModelFileError, match="truncated"):
            CNetwork.loads(data[:n])


def test_loader_refuses_every_corruption(model):
    _, data = model
    for i in range(0, len(data), max(1, len(data) // 97)):
        c = bytearray(data)
        c[i] ^= 0x5A
        with pytest.raises(mf.ModelFileError):
            mf.loads(bytes(c))
        assert c_status(bytes(c)) != "ERBP_OK", i


def refusal_cases(net: Network, data: bytes) -> dict[str, bytes]:
    """A file refused for each reason the loader names (status name -> file)."""
    b = bytearray(data)

    def patched(fmt: str, off: int, value: int, crc: bool = True) -> bytes:
        c = bytearray(b)
        struct.pack_into(fmt, c, off, value)
        return fix_crc(bytes(c)) if crc else bytes(c)

    cfg_at = lambda name: mf.HEADER.size + 4 * field_offsets()[name]  # noqa: E731
    cases = {
        "ERBP_E_FILE_MAGIC": fix_crc(b"NOPE" + bytes(b[4:])),
        "ERBP_E_FILE_FORMAT": patched("<H", 4, 2),
        "ERBP_E_FILE_SEMANTICS": patched("<H", 6, 99),
        "ERBP_E_FILE_TRAILING": bytes(b) + b"\0\0\0\0",
        "ERBP_E_FILE_CRC": patched("<I", 12, 78, crc=False),
        "ERBP_E_FILE_WORDS": patched("<I", 20, word_count() + 1),
        "ERBP_E_FILE_SIZE": patched("<i", cfg_at("n_in"), net.cfg.n_in + 1),
        "ERBP_E_CONFIG_RANGE": patched("<i", cfg_at("threshold"), 0),
        "ERBP_E_CONFIG_SLOT": patched("<i", cfg_at("w_shift") + 4 * 4, 1),
        "ERBP_E_CONFIG_GATE": patched("<i", cfg_at("gate_hi"), net.cfg.gate_lo[0]),  # lo >= hi
    }
    if net.cfg.weight_bits < 8:  # an int8 byte outside a narrower width
        cases["ERBP_E_FILE_WEIGHT"] = patched("<b", mf.HEADER.size + 4 * word_count(), 127)
    body_end = mf.HEADER.size + 4 * word_count() + sum(
        int(np.prod(shape)) * np.dtype(dt).itemsize for _, shape, dt in mf.layout(net.cfg))
    if body_end < len(data) - 4:  # this configuration's file has padding bytes
        cases["ERBP_E_FILE_PADDING"] = patched("<B", body_end, 1)
    return cases


def test_loader_refusals_name_the_reason(model):
    net, data = model
    for code, bad in refusal_cases(net, data).items():
        assert c_status(bad) == code, code
        exc = ConfigError if code.startswith("ERBP_E_CONFIG") else mf.ModelFileError
        with pytest.raises(exc, match=code):
            CNetwork.loads(bad)
        with pytest.raises(mf.ModelFileError):  # the reference refuses the same file
            mf.loads(bad)


# --- the incremental loader and the streaming writer ----------------------------------------------
#: One arena for the streamed loads: larger than any network the tests below load.
_ARENA = np.zeros(1 << 20, np.uint8)


def stream_load(data: bytes, cuts: list[int], arena_bytes: int | None = None
                ) -> tuple[str, bytes | None]:
    """Feed data to erbp_loader_* in pieces at the offsets ``cuts`` (stopping at the first error
    feed returns, as a caller would); (erbp_loader_end's status, the loaded network's model file
    or None)."""
    ffi = cengine._load()[0]
    net, ld = ffi.new("erbp_net_t *"), ffi.new("erbp_loader_t *")
    arena = ffi.from_buffer(_ARENA)
    st = LIB.erbp_loader_begin(ld, net, arena, arena_bytes or _ARENA.size)
    bounds = sorted({0, len(data), *(c for c in cuts if 0 < c < len(data))})
    for a, b in zip(bounds, bounds[1:]):
        if st != 0:
            break
        st = LIB.erbp_loader_feed(ld, data[a:b], b - a)
        assert LIB.erbp_loader_status(ld) == st or st == 0
    st = LIB.erbp_loader_end(ld)
    if st != 0:
        assert LIB.erbp_net_config(net) == ffi.NULL  # a refused model never goes live
        return status_name(st), None
    n = LIB.erbp_model_bytes(LIB.erbp_net_config(net))
    out, written = ffi.new("uint8_t[]", n), ffi.new("size_t *")
    assert LIB.erbp_net_save(net, out, n, written) == 0
    return "ERBP_OK", bytes(ffi.buffer(out, written[0]))


def chunkings(n: int, seed: int) -> list[list[int]]:
    """Ways to cut n bytes: whole, single bytes, at the header's ends, random pieces."""
    g = np.random.default_rng(seed)
    ways = [[], list(range(1, n)), [mf.HEADER.size + 4, mf.HEADER.size + 4 * word_count()]]
    for top in (3, 40, 1500):
        ways.append(np.cumsum(g.integers(1, top + 1, n)).tolist())
    return ways


def assert_stream_agrees(data: bytes, seed: int = 0) -> str:
    want = c_status(data)
    for cuts in chunkings(len(data), seed):
        got, loaded = stream_load(data, cuts)
        assert got == want, (got, want, cuts[:5])
        assert loaded is None or loaded == data
    return want


def test_incremental_loader_agrees_with_model_check_on_every_refusal(model):
    """Every corruption of the loader-refusal tests above, fed in pieces of every size: the same
    status as erbp_model_check on the whole file."""
    net, data = model
    files = [data, data + b"\0", data[:-1]] + [data[:n] for n in range(0, 40)]
    files += list(refusal_cases(net, data).values())
    for i in range(0, len(data), max(1, len(data) // 97)):
        c = bytearray(data)
        c[i] ^= 0x5A
        files += [bytes(c), fix_crc(bytes(c))]
    seen = {assert_stream_agrees(f, seed) for seed, f in enumerate(files)}
    assert {"ERBP_OK", "ERBP_E_FILE_CRC", "ERBP_E_FILE_TRUNCATED", "ERBP_E_FILE_MAGIC",
            "ERBP_E_CONFIG_RANGE"} <= seen


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.erbp")))
def test_incremental_loader_loads_every_golden_model(name):
    data = (GOLDEN / f"{name}.erbp").read_bytes()
    assert assert_stream_agrees(data) == "ERBP_OK"
    cfg = mf.loads(data).cfg
    need = required_bytes(cfg)
    assert stream_load(data, list(range(0, len(data), 7)), need)[1] == data
    # an arena too small is refused as soon as the configuration is in
    ffi = cengine._load()[0]
    net, ld = ffi.new("erbp_net_t *"), ffi.new("erbp_loader_t *")
    LIB.erbp_loader_begin(ld, net, ffi.from_buffer(_ARENA), need - 16)
    body = mf.HEADER.size + 4 * word_count()
    assert LIB.erbp_loader_feed(ld, data[:body - 1], body - 1) == 0
    assert LIB.erbp_loader_file_bytes(ld) == len(data)
    assert status_name(LIB.erbp_loader_feed(ld, data[body - 1:], len(data) - body + 1)) == \
        "ERBP_E_SIZE"
    assert status_name(LIB.erbp_loader_end(ld)) == "ERBP_E_SIZE"


def save_range(c: CNetwork, offset: int, n: int) -> bytes:
    out = c._ffi.new("uint8_t[]", max(n, 1))
    _check_ok(LIB.erbp_net_save_range(c._net, offset, out, n))
    return bytes(c._ffi.buffer(out, n))


def _check_ok(status: int) -> None:
    assert status == 0, status_name(status)


@given(networks(Shape(max_hidden=2)), st.data())
def test_model_file_slices_equal_the_saved_file(case, data):
    cfg, seed, samples = case
    c = CNetwork.create(cfg, seed)
    mode, label, index, px = samples[0]
    c.run_sample(px, max(label, 0), TRAIN, sample=index)
    whole = c.dumps()
    n = len(whole)
    for off in [0, 1, n - 5, n - 4, n - 3, n - 1, n] + data.draw(st.lists(st.integers(0, n),
                                                                         max_size=20)):
        for length in {0, 1, 4, n - off, data.draw(st.integers(0, n - off))}:
            if length <= n - off:
                assert save_range(c, off, length) == whole[off:off + length], (off, length)
    # consecutive chunks, as a board sends its model
    step = data.draw(st.integers(1, 300))
    assert b"".join(save_range(c, o, min(step, n - o)) for o in range(0, n, step)) == whole
    out = c._ffi.new("uint8_t[]", 8)
    assert status_name(LIB.erbp_net_save_range(c._net, n - 3, out, 4)) == "ERBP_E_ARG"
    assert status_name(LIB.erbp_net_save_range(c._net, n + 1, out, 0)) == "ERBP_E_ARG"


def test_state_reads_and_writes_by_range():
    cfg = NetConfig.default("20-7-3", weight_bits=6, init_amp=(5, 5))
    c = CNetwork.create(cfg, 3)
    c.run_sample(np.arange(20) * 12, 1, TRAIN)
    ffi = c._ffi
    snap = c.snapshot()
    for key, (var, index) in {"W0": (LIB.ERBP_VAR_W, 0), "W1": (LIB.ERBP_VAR_W, 1),
                              "G0": (LIB.ERBP_VAR_G, 0), "V0": (LIB.ERBP_VAR_V, 0),
                              "count1": (LIB.ERBP_VAR_COUNT, 1), "in_ref": (LIB.ERBP_VAR_IN_REF, 0),
                              "en": (LIB.ERBP_VAR_EN, 0)}.items():
        want = snap[key].reshape(-1)
        for first in range(0, want.size + 1, 3):
            n = min(5, want.size - first)
            out = ffi.new("int32_t[]", max(n, 1))
            _check_ok(LIB.erbp_read_var_range(c._net, var, index, first, out, n))
            assert list(out)[:n] == want[first:first + n].tolist()
        out = ffi.new("int32_t[]", 2)
        assert status_name(LIB.erbp_read_var_range(c._net, var, index, want.size - 1, out, 2)) \
            == "ERBP_E_SIZE"
    vals = ffi.new("int32_t[]", [31, -32, 7])
    _check_ok(LIB.erbp_write_var_range(c._net, LIB.ERBP_VAR_W, 1, 4, vals, 3))
    assert c.W[1].reshape(-1)[4:7].tolist() == [31, -32, 7]
    vals[1] = -33  # outside weight_bits = 6: nothing written
    assert status_name(LIB.erbp_write_var_range(c._net, LIB.ERBP_VAR_W, 1, 4, vals, 3)) \
        == "ERBP_E_VALUE"
    assert c.W[1].reshape(-1)[4:7].tolist() == [31, -32, 7]


def test_every_status_has_a_name_and_the_table_is_complete():
    names = [status_name(-i) for i in range(LIB.ERBP_STATUS_COUNT)]
    assert names[0] == "ERBP_OK" and len(set(names)) == len(names)
    assert all(n.startswith("ERBP_") for n in names)
    assert status_name(-LIB.ERBP_STATUS_COUNT) == "unknown status"
    assert status_name(1) == "unknown status"


def test_every_c_status_has_its_name_in_c_and_an_exception_in_python():
    """erbp_status_t (through the binding) is the source: its string table (erbp_status_str) names
    each code as the enum does, and STATUS_ERRORS maps each error, and nothing else, to the
    exception _check raises."""
    codes = cengine.statuses()
    assert sorted(codes) == list(range(-(LIB.ERBP_STATUS_COUNT - 1), 1))
    assert codes[0] == "ERBP_OK"
    assert set(STATUS_ERRORS) == set(codes.values()) - {"ERBP_OK"}
    ffi = cengine._load()[0]
    for code, name in codes.items():
        assert getattr(LIB, name) == code
        assert ffi.string(LIB.erbp_status_str(code)).decode().startswith(name + ": ")
    cengine._check(LIB.ERBP_OK)
    for name, exc in STATUS_ERRORS.items():
        with pytest.raises(exc, match=f"^{name}: "):
            cengine._check(getattr(LIB, name))


def test_variable_ids_are_the_snapshot_keys():
    """erbp_var_t (through the binding) names exactly the variables of the reference's snapshot,
    and var_id finds each."""
    ffi = cengine._load()[0]
    ids = dict(ffi.typeof("erbp_var_t").relements)
    assert sorted(ids.values()) == list(range(LIB.ERBP_VAR_KINDS))
    heads = {k.rstrip("0123456789")
             for k in Network.create(NetConfig.default("6-4-3-2"), 1).snapshot()}
    assert {n.removeprefix("ERBP_VAR_") for n in ids} == {h.upper() for h in heads}
    for h in heads:
        assert var_id(h) == ids["ERBP_VAR_" + h.upper()]
    with pytest.raises(ValueError, match="no state variable"):
        var_id("weights")


@given(st.data())
def test_loader_agrees_with_the_reference_on_fuzzed_files(data):
    """Random edits of valid files (bytes flipped, cut, appended, header fields replaced, CRC
    recomputed or not): the C loader accepts exactly the files the reference accepts."""
    cfg = data.draw(st.sampled_from([NetConfig.default("12-5-3", weight_bits=wb, init_amp=(2, 2))
                                     for wb in (3, 8, 12)]))
    good = bytearray(mf.dumps(Network.create(cfg, data.draw(st.integers(0, 2**32 - 1)))))
    b = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "append", "word"]))
        if kind == "flip" and b:
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            b = b[: data.draw(st.integers(0, len(b)))]
        elif kind == "append":
            b += bytes(data.draw(st.lists(st.integers(0, 255), max_size=8)))
        elif len(b) >= 4:
            i = data.draw(st.integers(0, (len(b) - 4) // 4)) * 4
            struct.pack_into("<i", b, i, data.draw(st.sampled_from(EDGE_VALUES)))
    if data.draw(st.booleans()) and len(b) >= 4:
        b = bytearray(fix_crc(bytes(b)))
    try:
        mf.loads(bytes(b))
        ref_ok = True
    except (mf.ModelFileError, ConfigError):
        ref_ok = False
    status = c_status(bytes(b))
    assert (status == "ERBP_OK") == ref_ok, status
    if ref_ok:
        assert CNetwork.loads(bytes(b)).dumps() == bytes(b)
    # the incremental loader, fed in random pieces, judges it the same
    cuts = data.draw(st.lists(st.integers(0, len(b)), max_size=12))
    assert stream_load(bytes(b), cuts)[0] == status
