"""The DSP kernels (cport, __ARM_FEATURE_DSP: SXTAB16 / QADD8) and the Helium kernels
(__ARM_FEATURE_MVE: VLDRB.S32 / VSTRB.32, on a board whose table entry says ``mve``) on the boards
whose board-table entry lists ``dsp`` in its ``ci`` (firmware/boards/boards.toml: a Cortex-M4, the
Cortex-M33 and the Cortex-M55) compute the PC's numbers where their bounds bite: a layer-tick of
more than 256 spiking rows (the DSP kernels' 16-bit accumulators: the portable kernels take over),
rows of a length not a multiple of 4 (the scalar tails), and 8-bit weights at both saturation
bounds; the images do contain the instructions (the golden vectors and random networks run on
them in the conformance suite, MNIST in test_firmware_qemu.py); and the table's ``dsp`` and
``mve`` say which cores and builds have them, as their compiler does.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from erbp.boards import table
from firmware_support import binutil, pc_results, require_tools

DSP_BOARDS = [b.name for b in table.boards("dsp")]


@pytest.mark.parametrize("name", [b.name for b in table.boards() if b.kind == "qemu"])
def test_the_table_says_which_cores_have_the_dsp_extension(name):
    spec = table.board(name)
    require_tools(spec.arch.cc)
    macros = subprocess.run([spec.arch.cc, *spec.cpu_flags, *spec.arch.cflags, "-dM", "-E",
                             "-x", "c", "/dev/null"], capture_output=True, text=True,
                            check=True).stdout
    assert ("__ARM_FEATURE_DSP" in macros) == spec.dsp, f"{name}: dsp = {spec.dsp} in the table"
    macros = subprocess.run([spec.arch.cc, *spec.cpu_flags, *spec.arch.cflags, *spec.extra_cflags,
                             "-dM", "-E", "-x", "c", "/dev/null"], capture_output=True, text=True,
                            check=True).stdout
    assert ("__ARM_FEATURE_MVE" in macros) == spec.mve, f"{name}: mve = {spec.mve} in the table"


@pytest.mark.parametrize("name", DSP_BOARDS)
def test_dsp_kernels_equal_the_pc_at_their_bounds(name, emulators):
    from erbp.boards.client import Board
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig

    spec = table.board(name)
    emu = emulators(name)  # built and booted once per session
    if spec.mve:  # the Helium kernels (objdump told the architecture: the image has no attributes)
        dis = subprocess.run([binutil(spec, "objdump"), "-d", "-m", "armv8.1-m.main",
                              str(spec.image_path())], capture_output=True, text=True,
                             check=True).stdout
        assert "vldrb.s32" in dis and "vstrb.32" in dis and "vldrh.s32" in dis
    else:
        dis = subprocess.run([binutil(spec, "objdump"), "-d", str(spec.image_path())],
                             capture_output=True, text=True, check=True).stdout
        assert "sxtab16" in dis and "qadd8" in dis
    # 300 inputs that nearly all spike every tick (> 256 rows), 23 and 10 post neurons (not
    # multiples of 4), large learning rates (weights pushed to -128 and 127)
    cfg = NetConfig.default("300-23-10", ticks_train=12, ticks_infer=12, burn_in=0, in_gain=257,
                            in_refractory=0, lr_mult=(200, 200), lr_shift=(2, 2))
    model = CNetwork.create(cfg, seed=5).dumps()
    g = np.random.default_rng(1)
    x = g.integers(0, 256, (8, 300)).astype(np.uint8)
    x[:3] = 255                                   # every pixel: > 256 spiking rows a tick
    x[3:6][g.random((3, 300)) < 0.5] = 0          # about 150: the DSP kernels
    y = g.integers(0, 10, 8)
    want_train, trained = pc_results(model, x, y, "train", 0)
    want_infer, _ = pc_results(trained, x, None, "infer", 0)
    w = CNetwork.loads(trained).W
    assert (w[0] == 127).any() and (w[0] == -128).any()  # both bounds reached
    with Board(emu.url, timeout=30) as board:
        board.deploy(model)
        for mode, want in (("train", want_train), ("infer", want_infer)):
            for i in range(len(x)):
                r = board.run(i, mode, int(y[i]) if mode == "train" else -1, x[i])
                assert {"prediction": r.prediction, "counts": r.counts, "events": r.events,
                        "ticks": r.ticks} == \
                    want[i], f"{name} {mode} sample {i}"
            if mode == "train":
                assert board.read_model() == trained


@pytest.mark.parametrize("name", DSP_BOARDS)
def test_inference_chooses_the_kernel_by_p_infer(name, emulators):
    """The kernel of a layer-tick follows the transmission of the sample's mode (docs/semantics.md
    7.1, phase 3): a peRBP network (p_transmit < 256) infers with p_infer 256, so its layers take
    the DSP kernels in inference (the Helium kernels on a board whose table says ``mve``), exactly
    as the same weights with p_transmit 256 do: the same results as the PC and the same
    instructions (within one tick of the board's counter). Choosing by p_transmit would run the
    portable blank-out kernels, thousands of instructions more per sample."""
    from erbp.boards.client import Board
    from erbp.engines.c import CNetwork
    from erbp.reference import NetConfig, modelfile

    emu = emulators(name)
    cfg = NetConfig.default("300-23-10", "perbp", ticks_infer=12, in_gain=257, in_refractory=0)
    assert max(cfg.p_transmit) < 256 == min(cfg.p_infer)
    perbp = modelfile.loads(CNetwork.create(cfg, seed=7).dumps())
    erbp = perbp.copy()
    erbp.cfg = perbp.cfg.replace(p_transmit=(256,) * cfg.n_layers)
    g = np.random.default_rng(2)
    x = g.integers(0, 256, (4, 300)).astype(np.uint8)
    x[g.random((4, 300)) < 0.5] = 0  # about 150 spiking rows a tick: the DSP kernels' range
    cycles = {}
    with Board(emu.url, timeout=30) as board:
        for kind, net in (("perbp", perbp), ("erbp", erbp)):
            model = modelfile.dumps(net)
            want, _ = pc_results(model, x, None, "infer", 0)
            board.deploy(model)
            rs = [board.run(i, "infer", -1, x[i], timeout=board.timeout) for i in range(len(x))]
            for i, r in enumerate(rs):
                assert {"prediction": r.prediction, "counts": r.counts, "events": r.events,
                        "ticks": r.ticks} == \
                    want[i], f"{name} {kind} sample {i}"
            assert all(r.events for r in rs)
            cycles[kind] = [r.cycles for r in rs]
    assert all(abs(a - b) <= 1 for a, b in zip(cycles["perbp"], cycles["erbp"])), cycles
