"""The int8 MLP anchor (erbp.research.int8_mlp, firmware/mlp/): the numpy model computes TFLite's
int8 arithmetic as TFLite writes it, the quantiser keeps the float network's outputs, and the
firmware's kernels (erbp_fc_s8: the portable C on the PC under ASan/UBSan, the DSP and the
portable paths on the boards whose board-table entry lists mlp; CMSIS-NN's
arm_fully_connected_s8, vendored unmodified, on the PC and on those boards) give every layer's
outputs of the numpy model, and erbp_fc_s8 refuses what it cannot compute exactly."""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from erbp.boards import table
from erbp.research.baselines import MLP
from erbp.research.int8_mlp import (KERNELS, Int8Layer, Int8MLP, QuantizationError,
                                    build_firmware, c_header, quantize, quantize_multiplier,
                                    random_int8_mlp, requantize, run_firmware)

from firmware_support import require_tools

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def tflite_mbqm(x: int, m: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier exactly as TFLite's reference code writes it (gemmlowp's
    SaturatingRoundingDoublingHighMul with its sign-dependent nudge and C's truncating division,
    then RoundingDivideByPOT), in Python integers."""
    assert shift <= 0
    ab = x * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    hi = abs(num) // (1 << 31) * (1 if num >= 0 else -1)  # C division truncates toward zero
    if x == m == INT32_MIN:
        hi = INT32_MAX
    e = -shift
    mask = (1 << e) - 1
    rem = hi & mask
    threshold = (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> e) + (1 if rem > threshold else 0)


def test_requantize_is_tflites_multiply_by_quantized_multiplier():
    rng = np.random.default_rng(5)
    cases = [(x, m, s) for x in (0, 1, -1, 2, -2, 3, -3, 5, -5, INT32_MAX, INT32_MIN, 1 << 20,
                                 -(1 << 20) - 1)
             for m in (1 << 30, (1 << 31) - 1, 1518500250) for s in (0, -1, -2, -7, -31)]
    # exact halves at both rounding steps: x * m = k * 2^31 + 2^30, and hi = odd * 2^(e-1)
    cases += [(3, 1 << 30, 0), (-3, 1 << 30, 0), (-1, 1 << 30, 0), (6, 1 << 30, -1),
              (-6, 1 << 30, -1), (-10, 1 << 30, -2), (10, 1 << 30, -2)]
    for _ in range(3000):
        cases.append((int(rng.integers(INT32_MIN, INT32_MAX, endpoint=True)),
                      int(rng.integers(0, 1 << 31)), -int(rng.integers(0, 32))))
    x = np.array([c[0] for c in cases])
    for i, (xi, m, s) in enumerate(cases):
        got = int(requantize(x[i:i + 1], m, s)[0])
        assert got == tflite_mbqm(xi, m, s), (xi, m, s)
    assert int(requantize(np.array([-3]), 1 << 30, 0)[0]) == -1  # -1.5 rounds half up: -1
    assert int(requantize(np.array([-6]), 1 << 30, -1)[0]) == -2  # -1.5 (POT): away from zero
    with pytest.raises(QuantizationError):
        requantize(np.array([1]), 1 << 30, 1)


def test_quantize_multiplier_is_tflites():
    for real in (1e-9, 3.7e-4, 0.25, 0.5, 0.75, 0.9999):
        m, shift = quantize_multiplier(real)
        assert 1 << 30 <= m < 1 << 31 and shift <= 0
        assert abs(m * 2.0 ** shift / 2 ** 31 - real) <= real * 2 ** -30
    assert quantize_multiplier(1 - 1e-12) == (1 << 30, 1)  # rounds up to 2^31: halved, shift + 1
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0 ** -40) == (0, 0)  # below 2^-32: flushed to zero
    with pytest.raises(QuantizationError):
        quantize_multiplier(-0.5)


def test_quantized_network_follows_the_float_network():
    rng = np.random.default_rng(2)
    model = MLP((64, 24, 10), activation="relu", seed=4)
    model.b[0][:] = rng.uniform(-0.3, 0.3, 24)
    model.b[1][:] = rng.uniform(-0.3, 0.3, 10)
    calib = rng.integers(0, 256, size=(500, 64))
    q = quantize(model, calib)
    x = rng.integers(0, 256, size=(200, 64))
    logits = model.logits(x / 255.0)
    out = q.layers[-1]
    deq = (q.forward(x)[-1].astype(np.float64) - out.output_offset) * out.output_scale
    span = logits.max() - logits.min()
    assert np.abs(deq - logits).max() < 0.05 * span  # int8 keeps the float outputs
    assert (q.predict(x) == logits.argmax(axis=1)).mean() > 0.9
    assert q.layers[0].act_min == q.layers[0].output_offset == -128  # the fused ReLU
    assert q.layers[0].input_offset == 128 and q.macs == 64 * 24 + 24 * 10
    with pytest.raises(QuantizationError, match="relu"):
        quantize(MLP((64, 24, 10), activation="tanh"), calib)


#: Shapes with inputs and outputs that are and are not multiples of the DSP path's 4 inputs and
#: 2 outputs.
SHAPES = [(37, 13, 6, 5), (64, 20, 10), (9, 3, 1)]


def _check(net: Int8MLP, board: str, tmp_path, cflags: str = "", n: int = 5,
           kernel: str = "erbp"):
    px = np.random.default_rng(len(net.sizes)).integers(0, 256, size=(n, net.sizes[0]))
    px[0] = 0  # pixels at both ends
    px[1] = 255
    image = build_firmware(net, px, board, tmp_path / f"{board}{cflags}", cflags=cflags,
                           kernel=kernel)
    run = run_firmware(image, board, net, n)
    outs = net.forward(px)
    np.testing.assert_array_equal(run.outputs, np.concatenate(outs[1:], axis=1))
    np.testing.assert_array_equal(run.predictions, outs[-1].argmax(axis=1))
    return run


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("sizes", SHAPES)
def test_the_portable_kernels_on_the_pc_equal_the_numpy_model(sizes, kernel, tmp_path):
    require_tools("make", table.board("host").arch.cc)
    clamped = 0
    for seed in (1, 2, 3):
        net = random_int8_mlp(sizes, seed=seed, relu=seed == 1)
        run = _check(net, "host", tmp_path, n=12, kernel=kernel)
        # outputs spread over the int8 range, some clamped: the check covers the rounding
        last = run.outputs[:, -net.sizes[-1]:]
        assert len(np.unique(run.outputs)) >= min(8, run.outputs.size // 4)
        clamped += int((last == -128).sum() + (last == 127).sum())
        clamped += int((run.outputs[:, :net.sizes[1]] == net.layers[0].act_min).sum())
    assert clamped > 0


def test_the_kernel_refuses_what_it_cannot_compute_exactly(tmp_path):
    require_tools("make", table.board("host").arch.cc)
    good = random_int8_mlp((8, 4, 2), seed=3)
    l0 = good.layers[0]
    for bad in (dict(shift=1), dict(shift=-32), dict(input_offset=129), dict(act_min=5, act_max=4),
                dict(bias=np.array([0, 1 << 30, 0, 0], np.int32))):
        layer = Int8Layer(**{**l0.__dict__, **bad})
        net = Int8MLP((layer, good.layers[1]))
        with pytest.raises(ValueError, match="X 0 0 -4"):  # ERBP_E_ARG, nothing else printed
            image = build_firmware(net, np.zeros((1, 8)), "host", tmp_path / "bad")
            run_firmware(image, "host", net, 1)


@pytest.mark.parametrize("board", [b.name for b in table.boards("mlp")])
def test_the_dsp_and_portable_kernels_on_the_board_equal_the_numpy_model(board, tmp_path):
    spec = table.board(board)
    require_tools("make", *spec.tools)
    ticks = {}
    for cflags in ("", "-DERBP_NO_DSP"):
        for sizes in SHAPES:
            for seed in (7, 8):
                _check(random_int8_mlp(sizes, seed=seed, relu=seed == 7), board,
                       tmp_path / f"{'-'.join(map(str, sizes))}-{seed}", cflags, n=12)
        ticks[cflags] = _check(random_int8_mlp((256, 32, 10), seed=8), board, tmp_path,
                               cflags).ticks.mean()
    # the default build runs the DSP path (four inputs per SMLAD pair): much fewer instructions
    assert ticks[""] < 0.5 * ticks["-DERBP_NO_DSP"], ticks


@pytest.mark.parametrize("board", [b.name for b in table.boards("mlp")])
def test_cmsis_nn_on_the_board_equals_the_numpy_model_and_erbp_fc_s8(board, tmp_path):
    """CMSIS-NN's arm_fully_connected_s8 (its DSP path on the Cortex-M4) gives every layer's
    outputs of the numpy model, hence of erbp_fc_s8, in about as many instructions."""
    spec = table.board(board)
    require_tools("make", *spec.tools)
    for sizes in SHAPES:
        net = random_int8_mlp(sizes, seed=9, relu=True)
        d = tmp_path / "-".join(map(str, sizes))
        ours, theirs = (_check(net, board, d, n=6, kernel=k) for k in KERNELS)
        np.testing.assert_array_equal(theirs.outputs, ours.outputs)
    net = random_int8_mlp((256, 32, 10), seed=8)
    ticks = {k: _check(net, board, tmp_path / "256", kernel=k).ticks.mean() for k in KERNELS}
    assert 0.8 * ticks["erbp"] < ticks["cmsis-nn"] < 1.2 * ticks["erbp"], ticks


@pytest.mark.parametrize("board", ["host"] + [b.name for b in table.boards("mlp")])
def test_every_build_of_the_app_is_warning_free(board, tmp_path):
    """Our files under -std=c99 -Wall -Wextra -Wconversion -Wshadow -pedantic, CMSIS-NN's with
    those but the -Wconversion family (firmware/mlp/mlp.mk)."""
    from erbp.boards.table import FIRMWARE

    spec = table.board(board)
    require_tools("make", *(spec.tools if spec.kind != "host" else [spec.arch.cc]))
    (tmp_path / "mlp_model.h").write_text(c_header(random_int8_mlp((9, 3, 1), seed=1),
                                                   np.zeros((1, 9))))
    for kernel, cflags in (("erbp", ""), ("erbp", "-DERBP_NO_DSP"), ("cmsis-nn", "")):
        r = subprocess.run(["make", "-B", "-C", str(FIRMWARE), "mlp", f"MLP_BOARD={board}",
                            f"MLP_MODEL={tmp_path}", f"MLP_KERNEL={kernel}",
                            f"MLP_CFLAGS={cflags}"], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "warning" not in r.stderr.lower(), r.stderr
        assert ("-Wconversion" in r.stdout) and ("-Wno-conversion" in r.stdout) == (
            kernel == "cmsis-nn"), r.stdout


CMSIS_NN = Path(__file__).resolve().parents[1] / "firmware" / "mlp" / "third_party" / "cmsis-nn"


def test_the_vendored_cmsis_nn_is_unmodified_and_licensed():
    """Every file of firmware/mlp/third_party/cmsis-nn is in its README's table with the git blob
    id of the pinned commit (what `git hash-object` prints), and the README and LICENSE say what
    it is."""
    readme = (CMSIS_NN / "README.md").read_text()
    table_ids = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{40})` \|$", readme, re.M))
    files = {p.relative_to(CMSIS_NN).as_posix() for p in CMSIS_NN.rglob("*") if p.is_file()}
    assert files - {"README.md"} == set(table_ids)
    for name, blob_id in table_ids.items():
        data = (CMSIS_NN / name).read_bytes()
        got = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert got == blob_id, f"{name} differs from CMSIS-NN's (blob {got}, README {blob_id})"
    assert re.search(r"^Version: `v7\.0\.0-43-g99f736a6`$", readme, re.M)
    assert "Apache License" in (CMSIS_NN / "LICENSE").read_text()[:200]
    for src in CMSIS_NN.rglob("*.[ch]"):
        assert "SPDX-License-Identifier: Apache-2.0" in src.read_text()[:500], src


def test_build_firmware_refuses_an_unknown_kernel(tmp_path):
    with pytest.raises(ValueError, match="kernel 'tflm': one of erbp, cmsis-nn"):
        build_firmware(random_int8_mlp((8, 4, 2), seed=1), np.zeros((1, 8)), "host", tmp_path,
                       kernel="tflm")
